"""A wrong or empty inventory fails site.yml instead of exiting 0.

ansible-playbook only warns about an -i path it cannot parse and goes on with an empty
inventory: every play then matches no host and the run "succeeds", which a CI job or a
cron reads as a converged cluster."""

from __future__ import annotations

import os

import pytest
from kubeha_functional import ROOT, run

SITE = os.path.join(ROOT, "playbooks", "site.yml")


@pytest.mark.parametrize("inventory", ["/nonexistent/kubeha/inventory.yml", "empty"])
def test_site_fails_without_the_groups(inventory, tmp_path):
    if inventory == "empty":
        path = tmp_path / "inventory.yml"
        path.write_text("all:\n  hosts: {}\n")
        inventory = str(path)
    proc = run(["ansible-playbook", "-i", inventory, SITE], check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "site.yml: the inventory group kube_masters is empty or missing" in out, out[-3000:]
    assert "is the -i path right?" in out
