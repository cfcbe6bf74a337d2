"""Helpers of the lab tests (tests/lab): the lab command, podman, site.yml against the lab.

The lab is shared by every test in tests/lab: `scripts/lab up` once (README command 1),
then the tests run against the converged lab, then `scripts/lab down` when the last test
of this directory has run (a lab that was already up is left up).

The load-balancer checks (test_lb_*.py) run here rather than in a scenario of their own,
so the suite converges one lab, not two. The lab is dual-stack with two VIPs."""

from __future__ import annotations

import os
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.path.join(ROOT, "scripts", "lab")
INVENTORY = os.path.join(ROOT, "lab", "inventory", "hosts.yml")
SITE = os.path.join(ROOT, "playbooks", "site.yml")
with open(INVENTORY) as _fh:
    LAB_VARS = yaml.safe_load(_fh)["all"]["vars"]
# molecule/shared/kubeha_testlib.py reads the hosts from this inventory.
os.environ.setdefault("KUBEHA_TEST_INVENTORY", INVENTORY)


def podman(*args):
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=False).stdout.split()


def lab_containers():
    return podman("ps", "-a", "--filter", "label=io.kubeha.lab=lab", "--format", "{{.Names}}")


def lab(*args):
    proc = subprocess.run([LAB, *args], capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def playbook(*args, inventory=INVENTORY, extra_inventory=None, tmp_path=None, playbook_path=SITE):
    """Run site.yml (or ``playbook_path``) against the lab; (rc, output)."""
    cmd = ["ansible-playbook", "-i", inventory]
    if extra_inventory:
        path = tmp_path / "extra.yml"
        path.write_text(extra_inventory)
        cmd += ["-i", str(path)]
    proc = subprocess.run(cmd + [playbook_path] + list(args), capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


# The molecule scenarios' test helpers (hosts, VIP holders, HAProxy's runtime API) serve the
# lab's tests too.
sys.path.insert(0, os.path.join(ROOT, "molecule", "shared"))
