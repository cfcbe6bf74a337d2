"""The node agents (nodeagent.py) against the in-process apiserver with node1's kubelet.conf:
the node Lease, the kube-proxy DaemonSet's pod run by the kubelet (its ConfigMap and
projected service-account token written at the mount paths, recreated when the template
changes, its status reported to the DaemonSet), and kube-proxy reaching the API with that
token. SA_DIR and the volume's mount path point at tmp_path."""

from __future__ import annotations

import copy
import time

import pytest
import yaml

from kubeha_standin import flags, kubeadm, kubelet, nodeagent
from standin_harness import patch_sleep  # noqa: E402

V130 = (1, 30, 0)
DS = "/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy"
CM = "/api/v1/namespaces/kube-system/configmaps/kube-proxy"
CLUSTER = kubeadm.cluster_defaults({"kubernetesVersion": "v1.30.0", "controlPlaneEndpoint": "10.213.50.100:8443"})
NODE = {"name": "node1", "address": "127.0.0.1", "port": 6443}


def test_node_name_is_the_lower_case_hostname_override():
    assert nodeagent.node_name({"hostname-override": "Node1"}) == "node1"
    assert nodeagent.node_name({}) == nodeagent.socket.gethostname().lower()


def test_the_kubelet_renews_its_node_lease(start_apiserver, pki_files):
    running = start_apiserver("--enable-admission-plugins=NodeRestriction")
    node1 = running.client(pki_files.kubelet)
    lease = nodeagent.NodeLease(node1, "node1")
    lease.renew()
    path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node1"
    first = node1.get(path)[1]
    assert first["spec"]["holderIdentity"] == "node1" and first["spec"]["leaseDurationSeconds"] == 40
    time.sleep(0.01)
    lease.renew()
    second = node1.get(path)[1]
    assert second["spec"]["renewTime"] > first["spec"]["renewTime"]
    assert second["metadata"]["uid"] == first["metadata"]["uid"], "updated, not re-created"
    with pytest.raises(nodeagent.ClientError) as err:
        nodeagent.NodeLease(node1, "node2").renew()  # a kubelet whose certificate names another node
    assert str(err.value) == (
        'failed to update lease "node2": leases.coordination.k8s.io "node2" is forbidden: User "system:node:node1" cannot get '
        'resource "leases" in API group "coordination.k8s.io" in the namespace "kube-node-lease": can only access node lease '
        "with the same name as the requesting node")


@pytest.fixture
def proxy_cluster(start_apiserver, pki_files, tmp_path, monkeypatch):
    """An apiserver with kubeadm's kube-proxy ConfigMap and DaemonSet; the DaemonSet's
    pod runs a shell that sleeps and mounts its ConfigMap in tmp_path; SA_DIR in tmp_path."""
    running = start_apiserver()
    admin = running.client(pki_files.admin)
    mount = tmp_path / "var-lib-kube-proxy"
    ds = kubeadm.proxy_daemonset(CLUSTER)
    spec = ds["spec"]["template"]["spec"]
    spec["terminationGracePeriodSeconds"] = 1
    spec["containers"][0]["command"] = ["/bin/sh", "-c", "while :; do sleep 1; done", "$(NODE_NAME)"]
    spec["containers"][0]["volumeMounts"][0]["mountPath"] = str(mount)
    assert admin.request("POST", "/api/v1/namespaces/kube-system/configmaps", kubeadm.proxy_configmap(CLUSTER, NODE))[0] == 201
    assert admin.request("POST", "/apis/apps/v1/namespaces/kube-system/daemonsets", ds)[0] == 201
    monkeypatch.setattr(nodeagent, "SA_DIR", str(tmp_path / "serviceaccount"))
    return running, admin, mount, tmp_path / "serviceaccount"


def _ready_now(supervisor, pod_name):
    for ctr in supervisor.pods[pod_name]["containers"].values():
        ctr.started -= 2.0  # ran for more than a second: ready


def test_the_kubelet_runs_the_kube_proxy_daemonset_s_pod(proxy_cluster, pki_files, kubelet_supervisor):
    running, admin, mount, sa_dir = proxy_cluster
    node1 = running.client(pki_files.kubelet)
    nodeagent.NodeLease(node1, "node1").renew()
    sup = kubelet_supervisor()
    pod = nodeagent.DaemonSetPod(node1, "node1", "kube-system", "kube-proxy", sup)
    pod.sync()
    # the volumes, where the container mounts them
    cm = admin.get(CM)[1]
    for key in ("config.conf", "kubeconfig.conf"):
        assert (mount / key).read_text() == cm["data"][key]
    assert yaml.safe_load((mount / "kubeconfig.conf").read_text())["clusters"][0]["cluster"]["server"] == "https://10.213.50.100:8443"
    assert (sa_dir / "namespace").read_text() == "kube-system"
    assert (sa_dir / "ca.crt").read_text() == pki_files.ca_pem
    assert oct((sa_dir / "token").stat().st_mode & 0o777) == "0o600"
    token = (sa_dir / "token").read_text()
    proxy = running.token_client(token, ca_file=str(sa_dir / "ca.crt"))
    assert proxy.get("/api/v1/namespaces/default/endpoints/kubernetes")[0] == 200
    # the pod, from the template (NODE_NAME from spec.nodeName)
    sup.sync()
    ctr = sup.pods["kube-proxy-node1"]["containers"]["kube-proxy"]
    assert kubelet.process_argv(ctr.pid) == ["/bin/sh", "-c", "while :; do sleep 1; done", "node1"]
    assert ctr.env["KUBEHA_STANDIN_VERSION"] == "v1.30.0"
    pod.report()
    status = admin.get(DS)[1]["status"]
    assert (status["desiredNumberScheduled"], status["currentNumberScheduled"], status["numberReady"]) == (1, 1, 0)
    _ready_now(sup, "kube-proxy-node1")
    pod.report()
    reported = admin.get("/api/v1/namespaces/kube-system/pods/kube-proxy-node1")[1]
    assert reported["status"] == {"phase": "Running", "ready": True} and reported["spec"] == {"nodeName": "node1"}
    status = admin.get(DS)[1]["status"]
    assert (status["numberReady"], status["updatedNumberScheduled"], status["numberUnavailable"]) == (1, 1, 0)
    # the token is kept while it is fresh
    pod.sync()
    assert (sa_dir / "token").read_text() == token


def test_a_new_template_recreates_the_pod(proxy_cluster, pki_files, kubelet_supervisor, capsys):
    running, admin, _mount, _sa_dir = proxy_cluster
    node1 = running.client(pki_files.kubelet)
    nodeagent.NodeLease(node1, "node1").renew()
    sup = kubelet_supervisor()
    pod = nodeagent.DaemonSetPod(node1, "node1", "kube-system", "kube-proxy", sup)
    pod.sync()
    sup.sync()
    old_pid = sup.pods["kube-proxy-node1"]["containers"]["kube-proxy"].pid
    _ready_now(sup, "kube-proxy-node1")
    pod.report()
    # `kubectl rollout restart`: an annotation of the template changes
    ds = admin.get(DS)[1]
    ds["spec"]["template"]["metadata"]["annotations"] = {"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}
    ds = admin.request("PUT", DS, ds)[1]
    assert ds["metadata"]["generation"] == 2
    assert admin.get(DS)[1]["status"]["updatedNumberScheduled"] == 0
    pod.sync()
    assert "has a new pod template" in capsys.readouterr().err
    sup.sync()
    ctr = sup.pods["kube-proxy-node1"]["containers"]["kube-proxy"]
    assert ctr.pid != old_pid and not kubelet.argv_matches(old_pid, ["/bin/sh", "-c", "while :; do sleep 1; done", "node1"])
    pod.report()
    status = admin.get(DS)[1]["status"]
    assert (status["observedGeneration"], status["updatedNumberScheduled"], status["numberReady"]) == (2, 1, 0)
    _ready_now(sup, "kube-proxy-node1")
    pod.report()
    assert admin.get(DS)[1]["status"]["numberReady"] == 1


def test_a_changed_configmap_is_written_again(proxy_cluster, pki_files, kubelet_supervisor):
    running, admin, mount, _sa_dir = proxy_cluster
    pod = nodeagent.DaemonSetPod(running.client(pki_files.kubelet), "node1", "kube-system", "kube-proxy", kubelet_supervisor())
    pod.sync()
    cm = admin.get(CM)[1]
    doc = yaml.safe_load(cm["data"]["kubeconfig.conf"])
    doc["clusters"][0]["cluster"]["server"] = "https://10.213.50.11:6443"
    cm["data"]["kubeconfig.conf"] = yaml.safe_dump(doc)
    admin.request("PUT", CM, cm)
    pod.sync()
    assert (mount / "kubeconfig.conf").read_text() == cm["data"]["kubeconfig.conf"]


def test_a_node_without_access_reports_the_apiserver_s_refusal(proxy_cluster, pki_files, kubelet_supervisor):
    running, _admin, _mount, _sa_dir = proxy_cluster
    pod = nodeagent.DaemonSetPod(running.client(pki_files.scheduler), "node1", "kube-system", "kube-proxy", kubelet_supervisor())
    with pytest.raises(nodeagent.ClientError) as err:
        pod.sync()
    assert str(err.value) == (
        'GET /apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy: daemonsets.apps "kube-proxy" is forbidden: User '
        '"system:kube-scheduler" cannot get resource "daemonsets" in API group "apps" in the namespace "kube-system"')


class _Stop(Exception):
    pass


def test_kube_proxy_reaches_the_api_with_the_projected_token(proxy_cluster, pki_files, kubelet_supervisor, tmp_path, monkeypatch):
    """kube-proxy's --config names clientConnection.kubeconfig: kubeadm's kubeconfig.conf (tokenFile and
    the CA in the service-account directory), here with that directory in tmp_path."""
    running, admin, mount, sa_dir = proxy_cluster
    pod = nodeagent.DaemonSetPod(running.client(pki_files.kubelet), "node1", "kube-system", "kube-proxy", kubelet_supervisor())
    pod.sync()
    conf = yaml.safe_load((mount / "kubeconfig.conf").read_text())
    conf["clusters"][0]["cluster"]["certificate-authority"] = str(sa_dir / "ca.crt")
    conf["users"][0]["user"]["tokenFile"] = str(sa_dir / "token")
    (tmp_path / "proxy.conf").write_text(yaml.safe_dump(conf))
    config = yaml.safe_load((mount / "config.conf").read_text())
    config["clientConnection"]["kubeconfig"] = str(tmp_path / "proxy.conf")
    (tmp_path / "config.conf").write_text(yaml.safe_dump(config))
    opts = flags.parse_flags("proxy", ["--config=" + str(tmp_path / "config.conf"), "--master=" + running.url], V130)
    client = nodeagent.proxy_client(opts, V130)
    assert client.server == running.url and client.token_file == str(sa_dir / "token")
    states = []
    monkeypatch.setattr(nodeagent, "write_state", lambda component, state: states.append(copy.deepcopy(state)))
    patch_sleep(monkeypatch, nodeagent, lambda seconds: (x for x in ()).throw(_Stop()))
    with pytest.raises(_Stop):
        nodeagent.run_proxy(opts, V130)
    assert states[-1]["api_ok"] is True and states[-1]["api_server"] == running.url
    (sa_dir / "token").write_text("expired-or-foreign")
    with pytest.raises(_Stop):
        nodeagent.run_proxy(opts, V130)
    assert states[-1]["api_ok"] is False and states[-1]["last_error"] == "Failed to list *v1.Endpoints: Unauthorized"
