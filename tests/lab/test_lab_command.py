"""README command 1 (scripts/lab): up, up again (changed=0), drill, down (nothing left)."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.path.join(ROOT, "scripts", "lab")
with open(os.path.join(ROOT, "lab", "inventory", "hosts.yml")) as _fh:
    LAB_VARS = yaml.safe_load(_fh)["all"]["vars"]

pytestmark = pytest.mark.lab


def podman(*args):
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=False).stdout.split()


def lab_containers():
    return podman("ps", "-a", "--filter", "label=io.kubeha.lab=lab", "--format", "{{.Names}}")


def lab(*args):
    proc = subprocess.run([LAB, *args], capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def lab_up():
    existed = bool(lab_containers())
    rc, out = lab("up")
    yield rc, out
    if not existed:
        rc, down = lab("down")
        assert rc == 0, down[-3000:]
        assert lab_containers() == [], "lab down left containers behind"
        assert LAB_VARS["kubeha_lab_network"] not in podman("network", "ls", "--format", "{{.Name}}")


def recaps(out):
    return re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", out, re.M)


def test_lab_up_prints_vip_holder_and_api_answer(lab_up):
    rc, out = lab_up
    assert rc == 0, out[-5000:]
    assert "VIP:            %s" % LAB_VARS["kubeha_vip"] in out
    assert re.search(r"held by:\s+master[123]\"", out), out[-3000:]
    assert re.search(r"GET /readyz:\s+ok", out) and "v1.30.0-kubeha-standin" in out
    assert "./scripts/lab drill" in out and "./scripts/lab down" in out
    assert sorted(lab_containers()) == ["kubeha-lab-master1", "kubeha-lab-master2", "kubeha-lab-master3", "kubeha-lab-node1"]


def test_lab_up_again_changes_nothing(lab_up):
    rc, out = lab("up")
    assert rc == 0, out[-5000:]
    rows = recaps(out)
    assert rows, out[-3000:]
    changed = [r for r in rows if r[1] != "0" or r[2] != "0" or r[3] != "0"]
    # The report play runs a probe on localhost only; every host play must be changed=0.
    assert changed == [], changed


def test_failover_drill(lab_up):
    rc, out = lab("drill")
    assert rc == 0, out[-5000:]
    for master in ("master1", "master2", "master3"):
        assert re.search(r"%s down: VIP held by master\d, 20/20 requests answered" % master, out), out[-3000:]
