"""README command 1 (scripts/lab): up, drill, down (nothing left). The README's checkout
command from a fresh clone against the running lab (changed=0) is test_lb_firewalld.py's
second run, with firewalld on."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from .lablib import LAB_VARS, ROOT, lab, lab_containers

pytestmark = pytest.mark.lab


def test_lab_up_prints_vip_holder_and_api_answer(lab_up):
    rc, out = lab_up
    assert rc == 0, out[-5000:]
    assert "VIP:            %s" % LAB_VARS["kubeha_vip"] in out
    assert re.search(r"held by:\s+master[123]\"", out), out[-3000:]
    assert re.search(r"GET /readyz:\s+ok", out) and "v1.30.0-kubeha-standin" in out
    # The real components' identity: <hostname>_<uuid>.
    assert re.search(r"leaders:\s+kube-scheduler -> master[123]_[0-9a-f-]{36}, kube-controller-manager -> master[123]_[0-9a-f-]{36}", out), out[-3000:]
    assert re.search(r"apiservers:\s+10\.213\.50\.11, 10\.213\.50\.12, 10\.213\.50\.13", out)
    assert "layout:         static_pod, Kubernetes v1.30.0" in out
    assert "./scripts/lab drill" in out and "./scripts/lab down" in out
    assert sorted(lab_containers()) == ["kubeha-lab-master1", "kubeha-lab-master2", "kubeha-lab-master3", "kubeha-lab-node1"]


def container_ids():
    proc = subprocess.run(["podman", "ps", "-a", "--filter", "label=io.kubeha.lab=lab", "--format", "{{.Names}} {{.ID}}"],
                          capture_output=True, text=True, check=True)
    return sorted(proc.stdout.split("\n"))


def test_a_second_checkout_does_not_take_over_a_running_lab(lab_ready, tmp_path):
    """Another checkout's `lab up` (a CI clone on the same machine) is refused before it
    touches the containers a running lab's tests use."""
    before = container_ids()
    image = subprocess.run([os.path.join(ROOT, "lab", "image", "build.sh")], capture_output=True, text=True,
                           check=True).stdout.strip()
    other = str(tmp_path / "other-checkout")
    proc = subprocess.run(["ansible-playbook", "-i", os.path.join(ROOT, "lab", "inventory", "hosts.yml"),
                           os.path.join(ROOT, "lab", "create.yml"), "-e", "kubeha_lab_image=" + image],
                          capture_output=True, text=True, check=False, env=dict(os.environ, KUBEHA_ROOT=other))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "lab container kubeha-lab-master1 belongs to the lab of %s, not of %s" % (ROOT, other) in out, out[-3000:]
    assert container_ids() == before


def test_a_second_checkout_does_not_destroy_a_running_lab(lab_ready, tmp_path):
    """molecule's test sequence starts with its destroy playbook: another checkout's is refused
    too, and removes nothing."""
    before = container_ids()
    other = str(tmp_path / "other-checkout")
    proc = subprocess.run(["ansible-playbook", "-i", os.path.join(ROOT, "lab", "inventory", "hosts.yml"),
                           os.path.join(ROOT, "lab", "destroy.yml")],
                          capture_output=True, text=True, check=False, env=dict(os.environ, KUBEHA_ROOT=other))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "lab container kubeha-lab-master1 belongs to the lab of %s, not of %s" % (ROOT, other) in out, out[-3000:]
    assert container_ids() == before


def drill_failure(out):
    """What a failed drill says about its failure (the rescue's message and the fatal lines),
    then the tail of its output."""
    lines = [ln for ln in out.splitlines() if "Drill step" in ln or ln.startswith(("fatal:", "failed:"))]
    return "\n".join(lines)[:6000] + "\n...\n" + out[-3000:]


def test_failover_drill(lab_up):
    rc, out = lab("drill")
    assert rc == 0, drill_failure(out)
    flat = " ".join(out.split())
    for master in ("master1", "master2", "master3"):
        for how in ("stop", "kill"):
            assert re.search(r"%s down \(%s\): 20/20 requests answered; VIP on kubeha-lab-master\d; "
                             r"scheduler led on kubeha-lab-master\d; controller-manager led on kubeha-lab-master\d"
                             % (master, how), flat), flat[-3000:]
    # The lease reconciler dropped each dead apiserver from the endpoints, and it came back.
    assert flat.count("TASK [Drill | the kubernetes endpoints drop the dead apiserver (lease reconciler)") == 6
    assert "failed=0" in flat
