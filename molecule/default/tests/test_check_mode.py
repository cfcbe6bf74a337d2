"""On the converged recipe layout (the first verify tests: later ones change and restore
the hosts): --check --diff reports no change, and a real second run of site.yml changes
nothing (idempotence of the sysconfig layout; the static_pod layout's is the lab's,
tests/lab/test_lab_command.py). This scenario's check step runs site.yml --check on bare
hosts."""

from __future__ import annotations

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
from kubeha_testlib import RUNNER  # noqa: E402

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
SITE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "playbooks", "site.yml")


def assert_no_change(*args):
    proc = subprocess.run(["ansible-playbook", "-i", INVENTORY, SITE, *args],
                          capture_output=True, text=True, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    recap = dict(re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", out, re.M))
    # site.yml's first play checks the inventory on localhost.
    assert sorted(set(recap) - {"localhost"}) == sorted(RUNNER.get_hosts("all")), out[-2000:]
    assert set(recap.values()) == {"0"}, ({h: c for h, c in recap.items() if c != "0"}, out[-4000:])


def test_check_diff_reports_no_change_on_the_converged_hosts():
    assert_no_change("--check", "--diff")


def test_a_second_run_changes_nothing():
    assert_no_change()
