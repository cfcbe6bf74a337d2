"""The kubeadm stand-in (kubeadm.py): static pod manifests generated from a
ClusterConfiguration as kubeadm v1.30 writes them (defaults, extraArgs in the v1beta3 map
and the v1beta4 list form, sorted flags, the node's advertise address in the annotation
and the probes; every flag accepted by the apiserver / scheduler / controller-manager
stand-ins at 1.30), --patches (strategic, merge and json patches in file-name order),
`kubeadm upgrade node|apply` against the in-process apiserver (manifests regenerated from
kubeadm-config, what lives only in a manifest reverted, the old manifests backed up, the
kube-proxy ConfigMap rewritten from controlPlaneEndpoint), the lab's init-objects.
KUBERNETES_DIR and MANIFESTS point at tmp_path."""

from __future__ import annotations

import base64
import glob
import json
import os
import socket

import pytest
import yaml

from kubeha_standin import flags, kubeadm, kubeadm_patches, kubeadm_upgrade, kubelet

V130 = (1, 30, 0)
NODE = {"name": "master1", "address": "10.213.50.11", "port": 6443}
COMPONENT_OF = {"kube-apiserver": "apiserver", "kube-scheduler": "scheduler", "kube-controller-manager": "controller-manager"}
CM = "/api/v1/namespaces/kube-system/configmaps"
WAIT_FOR_COMPONENT = kubeadm_upgrade.wait_for_component  # the real one (the restarted fixture replaces it)


@pytest.fixture
def kubeadm_log(monkeypatch):
    """The lines kubeadm prints."""
    logged = []
    for module in (kubeadm, kubeadm_patches, kubeadm_upgrade):
        monkeypatch.setattr(module, "log", logged.append)
    return logged


@pytest.fixture
def kube_dir(tmp_path, monkeypatch, kubeadm_log):
    """KUBERNETES_DIR (and its manifests/) in tmp_path."""
    root = tmp_path / "kubernetes"
    monkeypatch.setattr(kubeadm, "KUBERNETES_DIR", str(root))
    monkeypatch.setattr(kubeadm, "MANIFESTS", str(root / "manifests"))
    return root


def _cluster(**extra):
    return kubeadm.cluster_defaults(dict({"kubernetesVersion": "v1.30.0"}, **extra))


def _command(pod):
    (ctr,) = pod["spec"]["containers"]
    return ctr["command"] + ctr.get("args", [])


def _flags(pod):
    return dict(arg[2:].split("=", 1) for arg in _command(pod)[1:])


# ---------------------------------------------------------------- manifests
def test_the_apiserver_manifest_is_kubeadm_v1_30_s():
    pod = kubeadm.manifest("kube-apiserver", _cluster(), NODE)
    assert pod["kind"] == "Pod" and pod["apiVersion"] == "v1"
    assert pod["metadata"]["name"] == "kube-apiserver" and pod["metadata"]["namespace"] == "kube-system"
    assert pod["metadata"]["labels"] == {"component": "kube-apiserver", "tier": "control-plane"}
    assert pod["metadata"]["annotations"] == {kubeadm.ADVERTISE_ANNOTATION: "10.213.50.11:6443"}
    spec = pod["spec"]
    assert spec["hostNetwork"] is True and spec["priorityClassName"] == "system-node-critical"
    assert spec["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}
    (ctr,) = spec["containers"]
    assert ctr["image"] == "registry.k8s.io/kube-apiserver:v1.30.0" and ctr["resources"] == {"requests": {"cpu": "250m"}}
    assert _command(pod)[0] == "kube-apiserver"
    assert _command(pod)[1:] == sorted(_command(pod)[1:]), "flags sorted by name"
    d = "/etc/kubernetes/pki"
    assert _flags(pod) == {
        "advertise-address": "10.213.50.11", "allow-privileged": "true", "authorization-mode": "Node,RBAC",
        "client-ca-file": d + "/ca.crt", "enable-admission-plugins": "NodeRestriction", "enable-bootstrap-token-auth": "true",
        "etcd-cafile": d + "/etcd/ca.crt", "etcd-certfile": d + "/apiserver-etcd-client.crt",
        "etcd-keyfile": d + "/apiserver-etcd-client.key", "etcd-servers": "https://127.0.0.1:2379",
        "kubelet-client-certificate": d + "/apiserver-kubelet-client.crt", "kubelet-client-key": d + "/apiserver-kubelet-client.key",
        "kubelet-preferred-address-types": "InternalIP,ExternalIP,Hostname",
        "proxy-client-cert-file": d + "/front-proxy-client.crt", "proxy-client-key-file": d + "/front-proxy-client.key",
        "requestheader-allowed-names": "front-proxy-client", "requestheader-client-ca-file": d + "/front-proxy-ca.crt",
        "requestheader-extra-headers-prefix": "X-Remote-Extra-", "requestheader-group-headers": "X-Remote-Group",
        "requestheader-username-headers": "X-Remote-User", "secure-port": "6443",
        "service-account-issuer": "https://kubernetes.default.svc.cluster.local",
        "service-account-key-file": d + "/sa.pub", "service-account-signing-key-file": d + "/sa.key",
        "service-cluster-ip-range": "10.96.0.0/12", "tls-cert-file": d + "/apiserver.crt", "tls-private-key-file": d + "/apiserver.key"}
    probe = {"host": "10.213.50.11", "port": 6443, "scheme": "HTTPS"}
    assert ctr["livenessProbe"] == {"failureThreshold": 8, "httpGet": dict(probe, path="/livez"), "initialDelaySeconds": 10,
                                    "periodSeconds": 10, "timeoutSeconds": 15}
    assert ctr["readinessProbe"] == {"failureThreshold": 3, "httpGet": dict(probe, path="/readyz"), "periodSeconds": 1,
                                     "timeoutSeconds": 15}
    assert ctr["startupProbe"]["failureThreshold"] == 24 and ctr["startupProbe"]["httpGet"]["path"] == "/livez"
    assert {m["name"] for m in ctr["volumeMounts"]} == {v["name"] for v in spec["volumes"]}
    assert {"mountPath": "/etc/kubernetes/pki", "name": "k8s-certs", "readOnly": True} in ctr["volumeMounts"]


@pytest.mark.parametrize("component, conf, port", [("kube-scheduler", "scheduler.conf", 10259),
                                                   ("kube-controller-manager", "controller-manager.conf", 10257)])
def test_the_scheduler_and_controller_manager_manifests(component, conf, port):
    pod = kubeadm.manifest(component, _cluster(), NODE)
    args = _flags(pod)
    assert args["kubeconfig"] == args["authentication-kubeconfig"] == "/etc/kubernetes/" + conf
    assert args["leader-elect"] == "true" and args["bind-address"] == "127.0.0.1"
    (ctr,) = pod["spec"]["containers"]
    assert ctr["livenessProbe"]["httpGet"] == {"host": "127.0.0.1", "path": "/healthz", "port": port, "scheme": "HTTPS"}
    assert "annotations" not in pod["metadata"]
    if component == "kube-controller-manager":
        assert args["cluster-signing-key-file"] == "/etc/kubernetes/pki/ca.key"
        assert args["service-account-private-key-file"] == "/etc/kubernetes/pki/sa.key"
        assert args["controllers"] == "*,bootstrapsigner,tokencleaner"


@pytest.mark.parametrize("external", [False, True], ids=["stacked-etcd", "external-etcd"])
@pytest.mark.parametrize("component", sorted(COMPONENT_OF))
def test_every_flag_of_the_generated_manifests_is_accepted_at_1_30(component, external, capsys):
    etcd = {"external": {"endpoints": ["https://10.0.0.21:2379", "https://10.0.0.22:2379"], "caFile": "/etc/etcd/ca.crt",
                         "certFile": "/etc/etcd/client.crt", "keyFile": "/etc/etcd/client.key"}} if external else {}
    cluster = _cluster(etcd=etcd, apiServer={"extraArgs": {"anonymous-auth": "false", "endpoint-reconciler-type": "lease"}})
    pod = kubeadm.manifest(component, cluster, NODE)
    argv = _command(pod)
    opts = flags.parse_flags(COMPONENT_OF[component], argv[1:], V130)
    flags.check_flags(COMPONENT_OF[component], opts, V130)
    assert capsys.readouterr().err == "", "kubeadm v1.30 writes no deprecated flag"
    if component == "kube-apiserver":
        assert opts["anonymous-auth"] is False and opts["insecure-port"] == 0 and opts["secure-port"] == 6443
        assert opts["etcd-servers"] == ("https://10.0.0.21:2379,https://10.0.0.22:2379" if external else "https://127.0.0.1:2379")
        if external:
            assert opts["etcd-cafile"] == "/etc/etcd/ca.crt" and opts["etcd-keyfile"] == "/etc/etcd/client.key"
    else:
        assert opts["leader-elect"] is True and opts["kubeconfig"].startswith("/etc/kubernetes/")
    # the kubelet stand-in runs the written manifest with the same argv, as that image's version
    name, grace, containers = kubelet.parse_pod(kubeadm.dump(pod).encode(), "master1")
    assert (name, grace) == (component, 30) and containers[0][1] == argv
    assert containers[0][2]["KUBEHA_STANDIN_VERSION"] == "v1.30.0"


def test_extra_args_override_and_add_flags_and_stay_sorted():
    cluster = _cluster(apiServer={"extraArgs": {"authorization-mode": "Node,RBAC,AlwaysAllow", "anonymous-auth": "false",
                                                "advertise-address": "10.213.50.99", "secure-port": "8443"}},
                       scheduler={"extraArgs": {"bind-address": "0.0.0.0"}},
                       controllerManager={"extraArgs": {"allocate-node-cidrs": "true", "cluster-cidr": "10.244.0.0/16"}})
    api = kubeadm.manifest("kube-apiserver", cluster, NODE)
    args = _flags(api)
    assert args["authorization-mode"] == "Node,RBAC,AlwaysAllow" and args["anonymous-auth"] == "false"
    assert _command(api)[1:] == sorted(_command(api)[1:])
    assert [a for a in _command(api) if a.startswith("--authorization-mode=")] == ["--authorization-mode=Node,RBAC,AlwaysAllow"]
    # the probes follow the flags; the annotation names the node's endpoint (what kubeadm upgrade reads back)
    (ctr,) = api["spec"]["containers"]
    assert ctr["readinessProbe"]["httpGet"]["host"] == "10.213.50.99" and ctr["readinessProbe"]["httpGet"]["port"] == 8443
    assert api["metadata"]["annotations"][kubeadm.ADVERTISE_ANNOTATION] == "10.213.50.11:6443"
    assert _flags(kubeadm.manifest("kube-scheduler", cluster, NODE))["bind-address"] == "0.0.0.0"
    cm = _flags(kubeadm.manifest("kube-controller-manager", cluster, NODE))
    assert cm["allocate-node-cidrs"] == "true" and cm["cluster-cidr"] == "10.244.0.0/16"


def test_v1beta4_extra_args_are_a_list_of_name_and_value():
    as_map = _cluster(apiServer={"extraArgs": {"anonymous-auth": "false", "profiling": "false"}})
    as_list = _cluster(apiVersion="kubeadm.k8s.io/v1beta4",
                       apiServer={"extraArgs": [{"name": "profiling", "value": "false"}, {"name": "anonymous-auth", "value": "false"}]})
    assert kubeadm.extra_args(as_list["apiServer"]) == {"profiling": "false", "anonymous-auth": "false"}
    assert _command(kubeadm.manifest("kube-apiserver", as_list, NODE)) == _command(kubeadm.manifest("kube-apiserver", as_map, NODE))


def test_cluster_settings_reach_the_flags_and_the_image():
    cluster = _cluster(kubernetesVersion="v1.30.2", imageRepository="registry.example/k8s", clusterName="lab",
                       networking={"dnsDomain": "lab.local", "serviceSubnet": "10.32.0.0/16"}, certificatesDir="/srv/pki")
    api = kubeadm.manifest("kube-apiserver", cluster, NODE)
    assert api["spec"]["containers"][0]["image"] == "registry.example/k8s/kube-apiserver:v1.30.2"
    args = _flags(api)
    assert args["service-cluster-ip-range"] == "10.32.0.0/16" and args["client-ca-file"] == "/srv/pki/ca.crt"
    assert args["service-account-issuer"] == "https://kubernetes.default.svc.lab.local"
    assert _flags(kubeadm.manifest("kube-controller-manager", cluster, NODE))["cluster-name"] == "lab"


def test_load_config_reads_the_node_and_the_cluster(tmp_path):
    path = tmp_path / "kubeadm.yaml"
    path.write_text(yaml.safe_dump_all([
        {"apiVersion": "kubeadm.k8s.io/v1beta3", "kind": "InitConfiguration", "nodeRegistration": {"name": "master1"},
         "localAPIEndpoint": {"advertiseAddress": "10.213.50.11", "bindPort": 6443}},
        {"apiVersion": "kubeadm.k8s.io/v1beta3", "kind": "ClusterConfiguration", "controlPlaneEndpoint": "10.213.50.100:8443"}]))
    node, cluster = kubeadm.load_config(str(path))
    assert node == {"name": "master1", "address": "10.213.50.11", "port": 6443, "init": True}
    assert cluster["controlPlaneEndpoint"] == "10.213.50.100:8443" and cluster["networking"]["serviceSubnet"] == "10.96.0.0/12"
    path.write_text(yaml.safe_dump({"kind": "JoinConfiguration", "nodeRegistration": {"name": "master2"},
                                    "controlPlane": {"localAPIEndpoint": {"advertiseAddress": "10.213.50.12"}}}))
    with pytest.raises(kubeadm.KubeadmError, match="holds no ClusterConfiguration"):
        kubeadm.load_config(str(path))


@pytest.mark.parametrize("endpoint, url", [("", "https://10.213.50.11:6443"), ("10.213.50.100:8443", "https://10.213.50.100:8443"),
                                           ("cp.example", "https://cp.example:6443"), ("[fd00::100]:8443", "https://[fd00::100]:8443"),
                                           ("fd00::100", "https://[fd00::100]:6443")])
def test_control_plane_url(endpoint, url):
    assert kubeadm.control_plane_url({"controlPlaneEndpoint": endpoint}, NODE) == url


def test_the_apiserver_certificate_names():
    cluster = _cluster(controlPlaneEndpoint="cp.example:8443", apiServer={"certSANs": ["10.213.50.100", "vip.example"]})
    dns, ips = kubeadm.apiserver_names(cluster, NODE)
    assert dns == ["master1", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
                   "cp.example", "vip.example"]
    assert ips == ["10.96.0.1", "10.213.50.11", "10.213.50.100"]


# ---------------------------------------------------------------- patches
def _write_patches(directory, files):
    directory.mkdir(exist_ok=True)
    for name, content in files.items():
        (directory / name).write_text(content if isinstance(content, str) else json.dumps(content))
    return str(directory)


def _manifest_on_disk(kube_dir, component):
    return yaml.safe_load((kube_dir / "manifests" / (component + ".yaml")).read_text())


def test_a_strategic_merge_patch_merges_containers_by_name(kube_dir, tmp_path, kubeadm_log):
    patches = _write_patches(tmp_path / "patches", {"kube-apiserver.yaml": yaml.safe_dump({"spec": {"containers": [
        {"name": "kube-apiserver", "resources": {"requests": {"cpu": "500m"}},
         "env": [{"name": "GOMAXPROCS", "value": "2"}]}]}})})
    kubeadm.write_manifests(_cluster(), NODE, patches)
    pod = _manifest_on_disk(kube_dir, "kube-apiserver")
    (ctr,) = pod["spec"]["containers"]
    assert ctr["resources"] == {"requests": {"cpu": "500m"}} and ctr["env"] == [{"name": "GOMAXPROCS", "value": "2"}]
    assert _command(pod) == _command(kubeadm.manifest("kube-apiserver", _cluster(), NODE)), "the rest of the container kept"
    assert '[patches] Applied patch of type "application/strategic-merge-patch+json" to target \'kube-apiserver\'' in kubeadm_log
    assert _manifest_on_disk(kube_dir, "kube-scheduler") == kubeadm.manifest("kube-scheduler", _cluster(), NODE)
    assert oct(os.stat(kube_dir / "manifests" / "kube-apiserver.yaml").st_mode & 0o777) == "0o600"


def test_a_merge_patch_replaces_lists(kube_dir, tmp_path):
    patches = _write_patches(tmp_path / "patches", {"kube-scheduler+merge.yaml": yaml.safe_dump(
        {"metadata": {"labels": {"tier": None, "lab": "yes"}}, "spec": {"containers": [{"name": "kube-scheduler", "command": ["x"]}]}})})
    kubeadm.write_manifests(_cluster(), NODE, patches)
    pod = _manifest_on_disk(kube_dir, "kube-scheduler")
    assert pod["metadata"]["labels"] == {"component": "kube-scheduler", "lab": "yes"}
    assert pod["spec"]["containers"] == [{"name": "kube-scheduler", "command": ["x"]}]


def test_a_json_patch(kube_dir, tmp_path):
    patches = _write_patches(tmp_path / "patches", {"kube-controller-manager+json.json": [
        {"op": "test", "path": "/spec/containers/0/name", "value": "kube-controller-manager"},
        {"op": "add", "path": "/spec/containers/0/command/-", "value": "--v=2"},
        {"op": "replace", "path": "/spec/priority", "value": 1},
        {"op": "remove", "path": "/spec/securityContext"}]})
    kubeadm.write_manifests(_cluster(), NODE, patches)
    pod = _manifest_on_disk(kube_dir, "kube-controller-manager")
    assert _command(pod)[-1] == "--v=2" and pod["spec"]["priority"] == 1 and "securityContext" not in pod["spec"]
    bad = _write_patches(tmp_path / "bad", {"kube-controller-manager+json.json": [
        {"op": "test", "path": "/spec/containers/0/name", "value": "other"}]})
    with pytest.raises(kubeadm.KubeadmError, match="json patch test failed at /spec/containers/0/name"):
        kubeadm.write_manifests(_cluster(), NODE, bad)


def test_patches_apply_in_file_name_order_and_only_to_their_target(kube_dir, tmp_path):
    patches = _write_patches(tmp_path / "patches", {
        "kube-apiserver1+merge.yaml": yaml.safe_dump({"metadata": {"annotations": {"order": "second"}}}),
        "kube-apiserver0+merge.yaml": yaml.safe_dump({"metadata": {"annotations": {"order": "first", "first": "yes"}}}),
        "kube-apiserver.yml": yaml.safe_dump({"metadata": {"annotations": {"ignored": "yml is not an extension kubeadm reads"}}}),
        "kube-apiserver+merge+json.yaml": yaml.safe_dump({"metadata": {"annotations": {"ignored": "two patch types"}}}),
        "kube-apiserver+replace.yaml": yaml.safe_dump({"metadata": {"annotations": {"ignored": "unknown patch type"}}}),
        "etcd.yaml": yaml.safe_dump({"metadata": {"annotations": {"ignored": "another target"}}}),
        "notes.txt": "not a patch"})
    kubeadm.write_manifests(_cluster(), NODE, patches)
    annotations = _manifest_on_disk(kube_dir, "kube-apiserver")["metadata"]["annotations"]
    assert annotations == {kubeadm.ADVERTISE_ANNOTATION: "10.213.50.11:6443", "order": "second", "first": "yes"}


@pytest.mark.parametrize("name, parsed", [
    ("kube-apiserver.yaml", ("kube-apiserver", "strategic")), ("kube-apiserver0+merge.yaml", ("kube-apiserver", "merge")),
    ("kube-scheduler-late+JSON.json", ("kube-scheduler", "json")), ("etcd.json", ("etcd", "strategic")),
    ("kube-controller-manager.yaml", ("kube-controller-manager", "strategic")),
    ("kube-apiserver.yml", None), ("kube-proxy.yaml", None), ("a+b+c.yaml", None), ("kube-apiserver+replace.yaml", None),
])
def test_patch_file_names(name, parsed):
    assert kubeadm_patches.patch_file_target(name) == parsed


def test_a_missing_patches_directory_fails(kube_dir, tmp_path):
    missing = str(tmp_path / "nope")
    with pytest.raises(kubeadm.KubeadmError) as err:
        kubeadm.write_manifests(_cluster(), NODE, missing)
    assert str(err.value) == "could not list patch files for path %r: open %s: no such file or directory" % (missing, missing)


# ---------------------------------------------------------------- kubeadm upgrade against an apiserver
@pytest.fixture
def restarted(monkeypatch):
    """The components `kubeadm upgrade` waited for, in order; the wait itself stands for a
    kubelet that replaces the pod at once (it checks that the manifest on disk is the one
    kubeadm hashed). ``restarted.fail`` = {component: error} makes the wait fail there."""
    class Restarted(list):
        fail = {}

    seen = Restarted()

    def wait(component, new_hash, node, kubernetes_dir, version, timeout):
        with open(os.path.join(kubernetes_dir, "manifests", component + ".yaml"), "rb") as fh:
            assert kubelet.manifest_hash(fh.read()) == new_hash
        assert timeout == kubeadm_upgrade.UPGRADE_MANIFEST_TIMEOUT
        if component in seen.fail:
            raise kubeadm.KubeadmError(seen.fail[component])
        seen.append(component)

    monkeypatch.setattr(kubeadm_upgrade, "wait_for_component", wait)
    return seen


@pytest.fixture
def cluster_api(start_apiserver, pki_files, kube_dir, restarted):
    """An apiserver and an admin.conf for it in KUBERNETES_DIR (kubeadm's, its server
    replaced); the client kubeadm itself builds from it."""
    running = start_apiserver()
    doc = yaml.safe_load(open(pki_files.admin))
    doc["clusters"][0]["cluster"]["server"] = running.url
    kube_dir.mkdir(exist_ok=True)
    (kube_dir / "admin.conf").write_text(yaml.safe_dump(doc))
    return running, kubeadm.admin_client(V130)


def _init(client, cluster, node=None):
    node = node or NODE
    kubeadm.upload_config(client, cluster, update=False)
    kubeadm.proxy_addon(client, cluster, node, update=False)
    kubeadm.write_manifests(cluster, node)


def _edit_manifest(kube_dir, component, edit):
    path = kube_dir / "manifests" / (component + ".yaml")
    pod = yaml.safe_load(path.read_text())
    pod["spec"]["containers"][0]["command"] = edit(pod["spec"]["containers"][0]["command"])
    path.write_text(yaml.safe_dump(pod))


def test_upgrade_node_regenerates_the_manifests_from_kubeadm_config(cluster_api, kube_dir, kubeadm_log, restarted):
    _running, client = cluster_api
    cluster = _cluster(apiServer={"extraArgs": {"anonymous-auth": "false", "endpoint-reconciler-type": "lease"}},
                       scheduler={"extraArgs": {"bind-address": "0.0.0.0"}})
    _init(client, cluster)
    # edits that live only in the manifests: a flag added, an extraArgs flag removed
    _edit_manifest(kube_dir, "kube-apiserver", lambda cmd: [a for a in cmd if not a.startswith("--anonymous-auth=")]
                   + ["--apiserver-count=3"])
    _edit_manifest(kube_dir, "kube-scheduler", lambda cmd: [a for a in cmd if not a.startswith("--bind-address=")])
    edited = (kube_dir / "manifests" / "kube-apiserver.yaml").read_text()
    assert kubeadm.main(["upgrade", "node"], V130) == 0
    api = _manifest_on_disk(kube_dir, "kube-apiserver")
    assert "--apiserver-count=3" not in _command(api), "a flag only in the manifest is reverted"
    assert _flags(api)["anonymous-auth"] == "false" and _flags(api)["endpoint-reconciler-type"] == "lease"
    assert _flags(_manifest_on_disk(kube_dir, "kube-scheduler"))["bind-address"] == "0.0.0.0"
    assert api == kubeadm.manifest("kube-apiserver", cluster, dict(NODE, name=os.uname().nodename))
    # One component at a time, each waited for; the controller-manager, whose manifest would
    # not change, is left running and not backed up.
    assert restarted == ["kube-apiserver", "kube-scheduler"]
    (backup,) = glob.glob(str(kube_dir / "tmp" / "kubeadm-backup-manifests-*"))
    assert sorted(os.listdir(backup)) == ["kube-apiserver.yaml", "kube-scheduler.yaml"]
    assert open(os.path.join(backup, "kube-apiserver.yaml")).read() == edited
    assert "[upgrade/staticpods] Current and new manifests of kube-controller-manager are equal, skipping upgrade" in kubeadm_log
    assert "[upgrade/staticpods] Component 'kube-scheduler' upgraded successfully!" in kubeadm_log
    assert "[upgrade] The control plane instance for this node was successfully upgraded!" in kubeadm_log


def test_upgrade_at_the_same_configuration_restarts_nothing(cluster_api, kube_dir, kubeadm_log, restarted):
    """A manifest written in another layout or key order is the same Pod: kubeadm compares
    decoded Pods and skips it (the kubelet would not replace it either)."""
    _running, client = cluster_api
    _init(client, _cluster())
    path = kube_dir / "manifests" / "kube-apiserver.yaml"
    path.write_text(json.dumps(yaml.safe_load(path.read_text()), indent=1))
    before = {p.name: p.read_text() for p in (kube_dir / "manifests").iterdir()}
    assert kubeadm.main(["upgrade", "node"], V130) == 0
    assert restarted == []
    assert {p.name: p.read_text() for p in (kube_dir / "manifests").iterdir()} == before
    assert not glob.glob(str(kube_dir / "tmp" / "kubeadm-backup-manifests-*" / "*"))
    assert sum("are equal, skipping upgrade" in line for line in kubeadm_log) == 3


def test_a_component_that_does_not_come_back_rolls_the_upgrade_back(cluster_api, kube_dir, restarted):
    """kubeadm puts back every manifest it moved and fails; `upgrade apply` has not touched the
    configuration in the API (it uploads it only after the control plane came up)."""
    _running, client = cluster_api
    _init(client, _cluster())
    before = {p.name: p.read_text() for p in (kube_dir / "manifests").iterdir()}
    restarted.fail["kube-scheduler"] = "static Pod hash for component kube-scheduler on Node master1 did not change after 5m0s"
    with pytest.raises(kubeadm.KubeadmError) as err:
        kubeadm.main(["upgrade", "apply", "v1.30.1", "-y"], V130)
    assert str(err.value) == ("couldn't upgrade control plane. kubeadm has tried to recover everything into the earlier "
                              "state. Errors faced: static Pod hash for component kube-scheduler on Node master1 did "
                              "not change after 5m0s")
    assert restarted == ["kube-apiserver", "kube-controller-manager"]
    assert {p.name: p.read_text() for p in (kube_dir / "manifests").iterdir()} == before, "every manifest put back"
    config = yaml.safe_load(client.get(CM + "/kubeadm-config")[1]["data"]["ClusterConfiguration"])
    assert config["kubernetesVersion"] == "v1.30.0"


def _record(state_dir, component, text, pid, argv):
    os.makedirs(state_dir / component, exist_ok=True)
    (state_dir / component / (component + ".json")).write_text(json.dumps(
        {"pid": pid, "hash": kubelet.manifest_hash(text.encode()), "argv": argv}))


def test_the_wait_reads_the_kubelets_record_of_the_pod(cluster_api, kube_dir, tmp_path, monkeypatch):
    """Until the kubelet's record of the pod has the new manifest's hash, kubeadm waits, and
    fails after the timeout naming the component and node. A started pod is enough: kubeadm
    does not wait for it to stay up or be ready."""
    monkeypatch.setattr(kubelet, "POD_STATE_DIR", str(tmp_path / "pods"))
    monkeypatch.setattr(kubeadm_upgrade, "POLL", 0.05)
    node = dict(NODE, name="master1")
    new_text = kubeadm.dump(kubeadm.manifest("kube-scheduler", _cluster(), NODE))
    new_hash = kubelet.manifest_hash(new_text.encode())
    message = ("^static Pod hash for component kube-scheduler on Node master1 did not change after 0s: "
               "timed out waiting for the condition$")
    with pytest.raises(kubeadm.KubeadmError, match=message):
        WAIT_FOR_COMPONENT("kube-scheduler", new_hash, node, str(kube_dir), V130, 0.3)
    _record(tmp_path / "pods", "kube-scheduler", "old: manifest\n", os.getpid(), ["kube-scheduler"])
    with pytest.raises(kubeadm.KubeadmError, match=message):
        WAIT_FOR_COMPONENT("kube-scheduler", new_hash, node, str(kube_dir), V130, 0.3)
    _record(tmp_path / "pods", "kube-scheduler", new_text, 999999, ["kube-scheduler"])  # started, gone since
    WAIT_FOR_COMPONENT("kube-scheduler", new_hash, node, str(kube_dir), V130, 5)


def test_the_wait_needs_an_answer_through_admin_conf(cluster_api, kube_dir, tmp_path, monkeypatch):
    """kubeadm reads the mirror pods through admin.conf's server: with no apiserver answering
    there, the new hash is never seen."""
    monkeypatch.setattr(kubelet, "POD_STATE_DIR", str(tmp_path / "pods"))
    monkeypatch.setattr(kubeadm_upgrade, "POLL", 0.05)
    text = "new: manifest\n"
    _record(tmp_path / "pods", "kube-apiserver", text, os.getpid(), ["kube-apiserver"])
    node = dict(NODE, name="master1")
    WAIT_FOR_COMPONENT("kube-apiserver", kubelet.manifest_hash(text.encode()), node, str(kube_dir), V130, 5)
    doc = yaml.safe_load((kube_dir / "admin.conf").read_text())
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        doc["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:%d" % unused.getsockname()[1]
        (kube_dir / "admin.conf").write_text(yaml.safe_dump(doc))
        with pytest.raises(kubeadm.KubeadmError, match="did not change after 0s"):
            WAIT_FOR_COMPONENT("kube-apiserver", kubelet.manifest_hash(text.encode()), node, str(kube_dir), V130, 0.5)


def test_upgrade_node_takes_the_advertise_address_from_the_manifest(cluster_api, kube_dir):
    _running, client = cluster_api
    _init(client, _cluster(), dict(NODE, address="10.213.50.12", port=8443))
    kubeadm.main(["upgrade", "node"], V130)
    api = _manifest_on_disk(kube_dir, "kube-apiserver")
    assert _flags(api)["advertise-address"] == "10.213.50.12" and _flags(api)["secure-port"] == "8443"
    os.remove(kube_dir / "manifests" / "kube-apiserver.yaml")
    with pytest.raises(kubeadm.KubeadmError, match="failed to get APIEndpoint information for this node"):
        kubeadm.main(["upgrade", "node"], V130)


def test_upgrade_node_with_patches(cluster_api, kube_dir, tmp_path):
    _running, client = cluster_api
    _init(client, _cluster())
    patches = _write_patches(tmp_path / "patches", {"kube-apiserver+merge.yaml": yaml.safe_dump(
        {"metadata": {"annotations": {"patched": "yes"}}})})
    assert kubeadm.main(["upgrade", "node", "--patches", patches], V130) == 0
    assert _manifest_on_disk(kube_dir, "kube-apiserver")["metadata"]["annotations"]["patched"] == "yes"


def _proxy_kubeconfig(client):
    cm = client.get(CM + "/kube-proxy")[1]
    return yaml.safe_load(cm["data"]["kubeconfig.conf"])


def test_upgrade_apply_rewrites_the_kube_proxy_configmap_from_control_plane_endpoint(cluster_api, kube_dir, tmp_path):
    _running, client = cluster_api
    cluster = _cluster(controlPlaneEndpoint="10.213.50.100:8443")
    _init(client, cluster)
    assert _proxy_kubeconfig(client)["clusters"][0]["cluster"]["server"] == "https://10.213.50.100:8443"
    ds = client.get("/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy")[1]
    assert ds["metadata"]["generation"] == 1
    # the server changed in the ConfigMap only (not in ClusterConfiguration)
    cm = client.get(CM + "/kube-proxy")[1]
    doc = yaml.safe_load(cm["data"]["kubeconfig.conf"])
    doc["clusters"][0]["cluster"]["server"] = "https://10.213.50.11:6443"
    cm["data"]["kubeconfig.conf"] = yaml.safe_dump(doc)
    assert client.request("PUT", CM + "/kube-proxy", cm)[0] == 200
    patches = _write_patches(tmp_path / "patches", {})
    assert kubeadm.main(["upgrade", "apply", "--patches", patches, "v1.30.1", "-y"], V130) == 0
    proxy = _proxy_kubeconfig(client)
    assert proxy["clusters"][0]["cluster"]["server"] == "https://10.213.50.100:8443", "reverted"
    assert proxy["users"] == [{"name": "default", "user": {"tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token"}}]
    config = yaml.safe_load(client.get(CM + "/kubeadm-config")[1]["data"]["ClusterConfiguration"])
    assert config["kubernetesVersion"] == "v1.30.1" and config["controlPlaneEndpoint"] == "10.213.50.100:8443"
    ds = client.get("/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy")[1]
    assert ds["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.k8s.io/kube-proxy:v1.30.1"
    assert ds["metadata"]["generation"] == 2
    assert _manifest_on_disk(kube_dir, "kube-apiserver")["spec"]["containers"][0]["image"] == "registry.k8s.io/kube-apiserver:v1.30.1"


def test_upgrade_apply_follows_a_new_control_plane_endpoint(cluster_api):
    _running, client = cluster_api
    _init(client, _cluster(controlPlaneEndpoint="10.213.50.100:8443"))
    kubeadm.upload_config(client, _cluster(controlPlaneEndpoint="cp.example:6443"), update=True)
    kubeadm.main(["upgrade", "apply", "v1.30.0"], V130)
    assert _proxy_kubeconfig(client)["clusters"][0]["cluster"]["server"] == "https://cp.example:6443"


def test_upgrade_refusals(cluster_api, kube_dir):
    _running, client = cluster_api
    with pytest.raises(kubeadm.KubeadmError, match="unable to fetch the kubeadm-config ConfigMap: GET .*kubeadm-config: HTTP 404"):
        kubeadm.main(["upgrade", "node"], V130)
    _init(client, _cluster())
    with pytest.raises(kubeadm.KubeadmError, match=r"missing one or more required arguments. Required arguments: \[version\]"):
        kubeadm.main(["upgrade", "apply"], V130)
    os.remove(kube_dir / "admin.conf")
    with pytest.raises(kubeadm.KubeadmError, match="couldn't read the admin kubeconfig in %s" % kube_dir):
        kubeadm.main(["upgrade", "node"], V130)
    with pytest.raises(kubeadm.KubeadmError, match="unknown command 'reset' for \"kubeadm\""):
        kubeadm.main(["reset", "-f"], V130)


def test_the_commands_take_option_values_after_a_space(kube_dir, tmp_path, pki_files):
    config = tmp_path / "kubeadm.yaml"
    config.write_text(yaml.safe_dump_all([
        {"kind": "InitConfiguration", "nodeRegistration": {"name": "master1"}, "localAPIEndpoint": {"advertiseAddress": "10.213.50.11"}},
        {"kind": "ClusterConfiguration", "kubernetesVersion": "v1.30.0", "certificatesDir": str(pki_files.certs)}]))
    patches = _write_patches(tmp_path / "patches", {"kube-scheduler+merge.yaml": yaml.safe_dump({"metadata": {"labels": {"p": "1"}}})})
    assert kubeadm.main(["init", "phase", "control-plane", "all", "--config", str(config), "--patches", patches], V130) == 0
    assert _manifest_on_disk(kube_dir, "kube-scheduler")["metadata"]["labels"]["p"] == "1"
    with pytest.raises(kubeadm.KubeadmError, match="unknown phase 'preflight'"):
        kubeadm.main(["init", "phase", "preflight", "--config=" + str(config)], V130)


def test_init_objects_creates_kubeadm_s_objects_once(cluster_api, kube_dir, tmp_path, pki_files, capsys):
    running, client = cluster_api
    config = tmp_path / "kubeadm.yaml"
    config.write_text(yaml.safe_dump_all([
        {"kind": "InitConfiguration", "nodeRegistration": {"name": "master1"}, "localAPIEndpoint": {"advertiseAddress": "127.0.0.1"}},
        {"kind": "ClusterConfiguration", "kubernetesVersion": "v1.30.0", "certificatesDir": str(pki_files.certs),
         "controlPlaneEndpoint": "10.213.50.100:8443"}]))
    assert kubeadm.lab_main(["init-objects", "--config", str(config)], V130) == 0
    assert capsys.readouterr().out.count("created ") == 4
    assert kubeadm.lab_main(["init-objects", "--config", str(config)], V130) == 0
    assert capsys.readouterr().out.count("kept ") == 4
    # cluster-info, readable without credentials: the cluster CA and controlPlaneEndpoint
    nobody = running.token_client(ca_file=pki_files.ca)
    info = yaml.safe_load(nobody.get("/api/v1/namespaces/kube-public/configmaps/cluster-info")[1]["data"]["kubeconfig"])
    cluster = info["clusters"][0]["cluster"]
    assert cluster["server"] == "https://10.213.50.100:8443"
    assert base64.b64decode(cluster["certificate-authority-data"]).decode() == pki_files.ca_pem
