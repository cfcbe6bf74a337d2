"""The kubelet stand-in's static pods (kubelet.py): manifests parsed as the kubelet reads
them, then PodSupervisor against a temporary manifest directory with /bin/sleep and
/bin/sh containers (conftest.kubelet_supervisor kills every process it started)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from kubeha_standin import core, kubelet
from standin_harness import until as _until  # noqa: E402

V130, V152 = (1, 30, 0), (1, 5, 2)


def _pod(name="web", command=("/bin/sleep", "300"), grace=2, containers=None):
    containers = containers or [{"name": "main", "command": list(command[:1]), "args": list(command[1:])}]
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "kube-system"},
                           "spec": {"terminationGracePeriodSeconds": grace, "containers": containers}})


def _alive(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    return kubelet.process_state(pid) not in ("", "Z")


# ---------------------------------------------------------------- manifests
def test_static_pod_path(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
                      "staticPodPath: /etc/kubernetes/manifests\n")
    assert kubelet.static_pod_path({"config": str(config)}, V130) == "/etc/kubernetes/manifests"
    assert kubelet.static_pod_path({"config": str(config), "pod-manifest-path": "/m"}, V130) == "/m"
    assert kubelet.static_pod_path({"config": "/etc/kubernetes/manifests"}, V152) == "/etc/kubernetes/manifests"
    assert kubelet.static_pod_path({}, V130) == ""
    config.write_text("staticPodPath: [unbalanced\n")
    with pytest.raises(core.FlagError, match="failed to load kubelet config file %s" % config):
        kubelet.static_pod_path({"config": str(config)}, V130)


def test_a_pod_s_containers_run_their_command_and_args_with_env_and_the_image_version():
    pod = {"kind": "Pod", "metadata": {"name": "kube-proxy-node1"}, "spec": {"containers": [{
        "name": "kube-proxy", "image": "registry.k8s.io/kube-proxy:v1.30.2",
        "command": ["/usr/local/bin/kube-proxy", "--hostname-override=$(NODE_NAME)"], "args": ["--v=$(LEVEL)", "$(UNSET)"],
        "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}, {"name": "LEVEL", "value": "2"}]}]}}
    name, grace, ((cname, argv, env),) = kubelet.pod_spec(pod, "node1")
    assert (name, grace, cname) == ("kube-proxy-node1", 30, "kube-proxy")
    assert argv == ["/usr/local/bin/kube-proxy", "--hostname-override=node1", "--v=2", "$(UNSET)"]
    assert env == {"NODE_NAME": "node1", "LEVEL": "2", "KUBEHA_STANDIN_VERSION": "v1.30.2"}


@pytest.mark.parametrize("image, version", [("registry.k8s.io/kube-apiserver:v1.30.0", "v1.30.0"),
                                            ("localhost:5000/kube-apiserver:v1.29.4-rc.1", "v1.29.4-rc.1"),
                                            ("registry.k8s.io/kube-apiserver:latest", ""), ("kube-apiserver", ""),
                                            ("registry.k8s.io/kube-apiserver:v1.30.0@sha256:abc", "v1.30.0")])
def test_image_version(image, version):
    assert kubelet.image_version(image) == version


@pytest.mark.parametrize("pod, message", [
    ({"kind": "Deployment", "metadata": {"name": "x"}}, "not a Pod object (kind 'Deployment')"),
    ({"kind": "Pod", "metadata": {"name": "Web_1"}}, "invalid metadata.name 'Web_1'"),
    ({"kind": "Pod", "metadata": {"name": "web"}, "spec": {"terminationGracePeriodSeconds": -1}},
     "invalid terminationGracePeriodSeconds -1"),
    ({"kind": "Pod", "metadata": {"name": "web"}, "spec": {"containers": []}}, "spec.containers is empty"),
    ({"kind": "Pod", "metadata": {"name": "web"}, "spec": {"containers": [{"name": "c", "command": ["/bin/true"]}] * 2}},
     "invalid or duplicate container name 'c'"),
    ({"kind": "Pod", "metadata": {"name": "web"}, "spec": {"containers": [{"name": "c", "image": "x"}]}},
     "container c: command must be a list of strings (the stand-in runs no images)"),
])
def test_pods_the_kubelet_refuses(pod, message):
    with pytest.raises(ValueError) as err:
        kubelet.pod_spec(pod)
    assert str(err.value) == message


# ---------------------------------------------------------------- the supervisor
def test_kubelet_starts_a_static_pod_and_records_it(kubelet_supervisor):
    (kubelet_supervisor.manifests / "web.yaml").write_text(_pod())
    sup = kubelet_supervisor()
    sup.sync()
    ctr = sup.pods["web"]["containers"]["main"]
    assert ctr.pid and _alive(ctr.pid)
    assert kubelet.process_argv(ctr.pid) == ["/bin/sleep", "300"]
    assert kubelet.argv_matches(ctr.pid, ["/bin/sleep", "300"])
    assert os.getpgid(ctr.pid) == ctr.pid, "containers run in their own session"
    record = json.loads((kubelet_supervisor.state / "web" / "main.json").read_text())
    assert record["pid"] == ctr.pid and record["argv"] == ["/bin/sleep", "300"]
    assert record["hash"] == sup.pods["web"]["hash"]
    status = sup.status()["web"]["containers"]["main"]
    assert status["state"] == "running" and status["restarts"] == 0
    sup.sync()
    assert sup.pods["web"]["containers"]["main"].pid == ctr.pid  # left alone


def test_kubelet_restarts_an_exited_container_with_backoff(kubelet_supervisor):
    (kubelet_supervisor.manifests / "crash.yaml").write_text(_pod("crash", ["/bin/sh", "-c", "echo crashing; exit 1"]))
    sup = kubelet_supervisor()
    sup.sync()
    ctr = sup.pods["crash"]["containers"]["main"]
    first = ctr.pid
    assert _until(lambda: ctr.proc.poll() is not None)
    sup.sync()
    assert ctr.pid is None and ctr.last_exit == 1 and ctr.backoff == 1.0 and ctr.reason == "CrashLoopBackOff"
    sup.sync()
    assert ctr.pid is None, "not before the backoff"
    assert _until(lambda: (sup.sync(), ctr.pid)[1] is not None, 2.0)
    assert ctr.pid != first and ctr.starts == 2 and sup.status()["crash"]["containers"]["main"]["restarts"] == 1
    assert _until(lambda: ctr.proc.poll() is not None)
    sup.sync()
    assert ctr.backoff == 2.0
    ctr.backoff = 8.0
    ctr.started = time.monotonic()
    sup._exited(ctr, 1)  # noqa: SLF001
    assert ctr.backoff == kubelet.BACKOFF_MAX == 10.0
    assert "crashing" in (kubelet_supervisor.state / "crash" / "main.log").read_text()


def test_kubelet_replaces_a_pod_when_its_manifest_changes(kubelet_supervisor):
    path = kubelet_supervisor.manifests / "web.yaml"
    path.write_text(_pod())
    sup = kubelet_supervisor()
    sup.sync()
    old = sup.pods["web"]["containers"]["main"].pid
    path.write_text(_pod(command=["/bin/sleep", "301"]))
    sup.sync()
    ctr = sup.pods["web"]["containers"]["main"]
    assert not _alive(old) and ctr.pid != old and kubelet.process_argv(ctr.pid) == ["/bin/sleep", "301"]


def test_a_manifest_rewritten_with_the_same_pod_keeps_it_running(kubelet_supervisor):
    """The kubelet hashes the decoded Pod (the mirror pod's config hash): another layout, key
    order, JSON for YAML or an empty status leave the pod alone; the order of the command's
    items is content, and replaces it."""
    path = kubelet_supervisor.manifests / "web.yaml"
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "kube-system"},
           "spec": {"terminationGracePeriodSeconds": 2,
                    "containers": [{"name": "main", "command": ["/bin/sleep"], "args": ["300", "301"]}]}}
    path.write_text(yaml.safe_dump(pod))
    sup = kubelet_supervisor()
    sup.sync()
    first = sup.pods["web"]["containers"]["main"].pid
    path.write_text(json.dumps(dict(pod, status={}, metadata=dict(pod["metadata"], creationTimestamp=None)), indent=3))
    sup.sync()
    assert sup.pods["web"]["containers"]["main"].pid == first and _alive(first)
    pod["spec"]["containers"][0]["args"] = ["301", "300"]
    path.write_text(yaml.safe_dump(pod))
    sup.sync()
    ctr = sup.pods["web"]["containers"]["main"]
    assert ctr.pid != first and not _alive(first) and kubelet.process_argv(ctr.pid) == ["/bin/sleep", "301", "300"]


def test_kubelet_kills_after_the_grace_period(kubelet_supervisor):
    path = kubelet_supervisor.manifests / "stubborn.yaml"
    path.write_text(_pod("stubborn", ["/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"], grace=1))
    sup = kubelet_supervisor()
    sup.sync()
    pid = sup.pods["stubborn"]["containers"]["main"].pid
    time.sleep(0.2)  # let the shell set its trap
    started = time.monotonic()
    path.unlink()
    sup.sync()
    assert 0.9 <= time.monotonic() - started < 3 and not _alive(pid)


def test_kubelet_stops_a_removed_pod(kubelet_supervisor):
    path = kubelet_supervisor.manifests / "web.yaml"
    path.write_text(_pod())
    sup = kubelet_supervisor()
    sup.sync()
    pid = sup.pods["web"]["containers"]["main"].pid
    path.unlink()
    sup.sync()
    assert sup.pods == {} and not _alive(pid) and not (kubelet_supervisor.state / "web").exists()


def test_kubelet_adopts_its_containers_after_a_restart(kubelet_supervisor):
    (kubelet_supervisor.manifests / "web.yaml").write_text(_pod())
    first = kubelet_supervisor()
    first.sync()
    pid = first.pods["web"]["containers"]["main"].pid
    second = kubelet_supervisor()  # the kubelet restarted: its pods kept running
    second.sync()
    ctr = second.pods["web"]["containers"]["main"]
    assert ctr.pid == pid and ctr.proc is None and ctr.running()
    assert second.status()["web"]["containers"]["main"]["restarts"] == 0
    os.kill(pid, signal.SIGKILL)  # an adopted container that dies is restarted too
    assert _until(lambda: not ctr.running())
    second.sync()
    assert ctr.pid is None and ctr.backoff == 1.0


def test_kubelet_replaces_containers_of_an_outdated_manifest_on_start(kubelet_supervisor):
    path = kubelet_supervisor.manifests / "web.yaml"
    path.write_text(_pod())
    kubelet_supervisor().sync()
    old = json.loads((kubelet_supervisor.state / "web" / "main.json").read_text())["pid"]
    (kubelet_supervisor.manifests / "other.yaml").write_text(_pod("other"))
    path.write_text(_pod(command=["/bin/sleep", "302"]))  # edited while the kubelet was down
    second = kubelet_supervisor()
    second.sync()
    assert not _alive(old)
    assert kubelet.process_argv(second.pods["web"]["containers"]["main"].pid) == ["/bin/sleep", "302"]
    assert set(second.pods) == {"web", "other"}


def test_kubelet_skips_malformed_manifests_and_stops_their_pod(kubelet_supervisor, capsys):
    path = kubelet_supervisor.manifests / "web.yaml"
    path.write_text(_pod())
    (kubelet_supervisor.manifests / ".hidden.yaml").write_text(_pod("hidden"))
    (kubelet_supervisor.manifests / "web.yaml~").write_text(_pod("backup"))
    (kubelet_supervisor.manifests / "notes.txt").write_text(_pod("notes"))
    sup = kubelet_supervisor()
    sup.sync()
    assert set(sup.pods) == {"web"}
    pid = sup.pods["web"]["containers"]["main"].pid
    path.write_text("kind: Pod\nmetadata: {name: web\n")
    sup.sync()
    sup.sync()
    assert sup.pods == {} and not _alive(pid)
    assert capsys.readouterr().err.count("skipping static pod manifest %s" % path) == 1
    (kubelet_supervisor.manifests / "nocmd.json").write_text(json.dumps(
        {"kind": "Pod", "metadata": {"name": "nocmd"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}))
    sup.sync()
    assert "command must be a list" in capsys.readouterr().err and sup.pods == {}


def test_two_manifests_of_one_pod_the_first_wins(kubelet_supervisor, capsys):
    (kubelet_supervisor.manifests / "a.yaml").write_text(_pod("web"))
    (kubelet_supervisor.manifests / "b.yaml").write_text(_pod("web", ["/bin/sleep", "303"]))
    sup = kubelet_supervisor()
    sup.sync()
    assert kubelet.process_argv(sup.pods["web"]["containers"]["main"].pid) == ["/bin/sleep", "300"]
    assert "pod web is already defined in %s, skipped" % (kubelet_supervisor.manifests / "a.yaml") in capsys.readouterr().err


def test_kubelet_treats_a_missing_program_as_a_crash(kubelet_supervisor):
    (kubelet_supervisor.manifests / "nope.yaml").write_text(_pod("nope", ["/nonexistent/program"]))
    sup = kubelet_supervisor()
    sup.sync()
    ctr = sup.pods["nope"]["containers"]["main"]
    assert ctr.pid is None and ctr.reason == "StartError" and ctr.backoff == 1.0


def test_argv_matches_through_an_interpreter(tmp_path):
    script = tmp_path / "kube-apiserver"
    script.write_text("#!%s\nimport time\ntime.sleep(30)\n" % sys.executable)
    script.chmod(0o755)
    proc = subprocess.Popen([str(script), "--secure-port=6443"])
    try:
        assert _until(lambda: kubelet.argv_matches(proc.pid, ["kube-apiserver", "--secure-port=6443"]))
        assert not kubelet.argv_matches(proc.pid, ["kube-apiserver", "--secure-port=6444"])
        assert not kubelet.argv_matches(proc.pid, ["kube-scheduler", "--secure-port=6443"])
    finally:
        proc.kill()
        proc.wait()
    assert kubelet.process_argv(proc.pid) == [] and kubelet.process_state(proc.pid) == ""
