"""Helpers of the lab tests (tests/lab): the lab command, podman, site.yml against the lab.

The lab is shared by every test in tests/lab: `scripts/lab up` once (README command 1),
then the tests run against the converged lab, then `scripts/lab down` when the last test
of this directory has run (a lab that was already up is left up).

The load-balancer checks (test_lb_*.py) run here rather than in a scenario of their own,
so the suite converges one lab, not two. The lab is dual-stack with two VIPs."""

from __future__ import annotations

import os
import re
import shutil
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


def recap(out):
    """PLAY RECAP of a playbook's output: host -> {ok, changed, unreachable, failed}."""
    return {m.group(1): dict(zip(("ok", "changed", "unreachable", "failed"), map(int, m.groups()[1:])))
            for m in re.finditer(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", out, re.M)}


# What scripts/env.sh sets to find collections and a user's shell lacks. Its SSH settings
# (ANSIBLE_PRIVATE_KEY_FILE, ANSIBLE_REMOTE_USER, ANSIBLE_SSH_ARGS, ...) stay: they are how
# the lab's hosts are reached, as an inventory's connection settings would be.
COLLECTION_SETTINGS = ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS", "ANSIBLE_HOME",
                       "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH", "ANSIBLE_CONFIG")


def fresh_clone(dest):
    """Copy what a fresh clone holds (tracked and untracked-not-ignored files; symlinks
    such as playbooks/collections stay symlinks) to ``dest``."""
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                         capture_output=True, check=True).stdout
    for rel in (p for p in out.decode().split("\0") if p):
        src = os.path.join(ROOT, rel)
        if os.path.lexists(src):
            target = os.path.join(str(dest), rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(src, target, follow_symlinks=False)
    return dest


def readme_checkout_site(tmp_path):
    """The README's checkout command, `ansible-playbook -i lab/inventory/hosts.yml
    playbooks/site.yml`, run exactly so from a fresh clone in a shell without the scripts'
    collection settings (the roles come from the clone's playbooks/collections link); (rc, output)."""
    clone = fresh_clone(tmp_path / "clone")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in COLLECTION_SETTINGS}
    env["HOME"] = str(home)  # no ~/.ansible or ~/.ansible.cfg of this machine's user
    proc = subprocess.run(["ansible-playbook", "-i", "lab/inventory/hosts.yml", "playbooks/site.yml"],
                          cwd=str(clone), env=env, capture_output=True, text=True, check=False, timeout=1800)
    return proc.returncode, proc.stdout + proc.stderr


# The molecule scenarios' test helpers (hosts, VIP holders, HAProxy's runtime API) serve the
# lab's tests too.
sys.path.insert(0, os.path.join(ROOT, "molecule", "shared"))
