"""Unit tests of the lab's Kubernetes stand-in (lab/standins/kubeha_standin/).

No containers, no etcd: the version and flag handling, the kubeadm-shaped
manifests and kubeconfigs the lab writes, the endpoint reconcilers (as pure
functions and against an in-memory etcd) and the kubelet's static pod
supervisor against a temporary manifest directory with /bin/sleep and /bin/sh
containers (every process started here is stopped again).
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time

import jinja2
import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
STANDINS = os.path.join(ROOT, "lab", "standins")


sys.path.insert(0, STANDINS)
sys.dont_write_bytecode = True  # lab/prepare.yml copies the package directory to the hosts
import kubeha_standin  # noqa: E402
from kubeha_standin import apiserver, core, election, endpoints, etcd, flags, kubeconfig  # noqa: E402
from kubeha_standin import kubelet as kubelet_mod  # noqa: E402


class _AllModules:
    """Every name of the stand-in package, whichever module defines it."""

    def __getattr__(self, name):
        for module in (core, flags, kubeconfig, etcd, endpoints, apiserver, election, kubelet_mod, kubeha_standin):
            if hasattr(module, name):
                return getattr(module, name)
        raise AttributeError(name)


ks = _AllModules()
V130, V152 = (1, 30, 0), (1, 5, 2)


def _render(name, **values):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(STANDINS), undefined=jinja2.StrictUndefined)
    env.filters["b64encode"] = lambda text: base64.b64encode(text.encode()).decode()
    return env.get_template(name).render(**values)


# ---------------------------------------------------------------- version and era defaults
@pytest.mark.parametrize("text, expected", [
    ("v1.30.0", (1, 30, 0)), ("1.5.2", (1, 5, 2)), ("v1.30", (1, 30, 0)), (" v1.9.11\n", (1, 9, 11)),
    ("v1.30.0-rc.1", (1, 30, 0)),
])
def test_parse_version(text, expected):
    assert ks.parse_version(text) == expected


@pytest.mark.parametrize("text", ["", "latest", "1", "v1.x.0"])
def test_parse_version_rejects(text):
    with pytest.raises(ValueError):
        ks.parse_version(text)


def test_read_version(tmp_path, capsys):
    assert ks.read_version(str(tmp_path / "missing")) == (1, 30, 0)
    path = tmp_path / "version"
    path.write_text("v1.5.2\n")
    assert ks.read_version(str(path)) == V152
    path.write_text("garbage\n")
    assert ks.read_version(str(path)) == (1, 30, 0)
    assert "garbage" in capsys.readouterr().err


def test_version_info():
    info = ks.version_info(V152)
    assert (info["major"], info["minor"], info["gitVersion"]) == ("1", "5", "v1.5.2-kubeha-standin")


@pytest.mark.parametrize("version, reconciler, insecure", [
    ((1, 5, 2), "master-count", 8080), ((1, 9, 0), "master-count", 8080), ((1, 10, 13), "master-count", 8080),
    ((1, 11, 0), "lease", 8080), ((1, 19, 16), "lease", 8080), ((1, 20, 0), "lease", 0), ((1, 30, 0), "lease", 0),
])
def test_era_defaults(version, reconciler, insecure):
    opts = ks.parse_flags("apiserver", ["--etcd-servers=http://127.0.0.1:2379"], version)
    assert opts["endpoint-reconciler-type"] == reconciler
    assert opts["insecure-port"] == insecure


def test_endpoint_reconciler_flag_is_unknown_before_1_9():
    with pytest.raises(ks.FlagError, match="unknown flag: --endpoint-reconciler-type"):
        ks.parse_flags("apiserver", ["--endpoint-reconciler-type=lease"], (1, 8, 15))
    assert ks.parse_flags("apiserver", ["--endpoint-reconciler-type=lease"], (1, 9, 0))["endpoint-reconciler-type"] == "lease"


def test_parse_flags_reads_the_configured_version(tmp_path, monkeypatch):
    path = tmp_path / "version"
    path.write_text("v1.5.2\n")
    monkeypatch.setattr(core, "VERSION_FILE", str(path))
    assert ks.parse_flags("apiserver", [])["insecure-port"] == 8080


@pytest.mark.parametrize("component", sorted(ks.FLAGS))
def test_every_component_prints_its_version(component, tmp_path, monkeypatch, capsys):
    path = tmp_path / "version"
    path.write_text("v1.5.2\n")
    monkeypatch.setattr(core, "VERSION_FILE", str(path))
    assert ks.main(["/usr/bin/kube-" + component, component, "--version"]) == 0
    assert capsys.readouterr().out == "Kubernetes v1.5.2-kubeha-standin\n"


def test_unknown_flag_exits_non_zero(capsys):
    assert ks.main(["kube-apiserver", "apiserver", "--no-such-flag=1"]) == 1
    assert "unknown flag: --no-such-flag" in capsys.readouterr().err


# ---------------------------------------------------------------- flags of the kubeadm manifests
KUBEADM_V130_APISERVER = """
--advertise-address=10.0.0.11 --allow-privileged=true --authorization-mode=Node,RBAC
--client-ca-file=/etc/kubernetes/pki/ca.crt --enable-admission-plugins=NodeRestriction
--enable-bootstrap-token-auth=true --etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt
--etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt --etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key
--etcd-servers=https://127.0.0.1:2379 --kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt
--kubelet-client-key=/etc/kubernetes/pki/apiserver-kubelet-client.key
--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname
--proxy-client-cert-file=/etc/kubernetes/pki/front-proxy-client.crt
--proxy-client-key-file=/etc/kubernetes/pki/front-proxy-client.key --requestheader-allowed-names=front-proxy-client
--requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt --requestheader-extra-headers-prefix=X-Remote-Extra-
--requestheader-group-headers=X-Remote-Group --requestheader-username-headers=X-Remote-User --secure-port=6443
--service-account-issuer=https://kubernetes.default.svc.cluster.local --service-account-key-file=/etc/kubernetes/pki/sa.pub
--service-account-signing-key-file=/etc/kubernetes/pki/sa.key --service-cluster-ip-range=10.96.0.0/12
--tls-cert-file=/etc/kubernetes/pki/apiserver.crt --tls-private-key-file=/etc/kubernetes/pki/apiserver.key
"""


def test_every_flag_of_a_kubeadm_v130_apiserver_is_accepted():
    opts = ks.parse_flags("apiserver", KUBEADM_V130_APISERVER.split(), V130)
    assert opts["etcd-cafile"] == "/etc/kubernetes/pki/etcd/ca.crt" and opts["secure-port"] == 6443
    assert opts["allow-privileged"] is True and opts["enable-bootstrap-token-auth"] is True


COMPONENT_OF = {"kube-apiserver": "apiserver", "kube-scheduler": "scheduler",
                "kube-controller-manager": "controller-manager"}


def _manifest(name):
    text = _render("static_pod/%s.yaml.j2" % name, kubeha_address="10.213.50.11", __lab_version="v1.30.0")
    return text, yaml.safe_load(text)


@pytest.mark.parametrize("name", sorted(COMPONENT_OF))
def test_the_lab_manifests_are_kubeadm_shaped_and_their_flags_accepted(name):
    text, pod = _manifest(name)
    assert "KUBEHA LAB STAND-IN" in text
    assert pod["kind"] == "Pod" and pod["metadata"]["name"] == name and pod["metadata"]["namespace"] == "kube-system"
    assert pod["metadata"]["labels"] == {"component": name, "tier": "control-plane"}
    spec = pod["spec"]
    assert spec["hostNetwork"] is True and spec["priorityClassName"] == "system-node-critical"
    assert spec["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}
    (ctr,) = spec["containers"]
    assert ctr["image"] == "registry.k8s.io/%s:v1.30.0" % name
    assert {"host", "port", "path", "scheme"} <= set(ctr["livenessProbe"]["httpGet"])
    assert ctr["resources"]["requests"]["cpu"]
    assert {m["name"] for m in ctr["volumeMounts"]} == {v["name"] for v in spec["volumes"]}
    command = ctr["command"] + ctr.get("args", [])
    assert command[0] == name
    opts = ks.parse_flags(COMPONENT_OF[name], command[1:], V130)
    # The kubelet stand-in accepts the manifest as a pod, with the same argv.
    pod_name, grace, containers = ks.parse_pod(text.encode())
    assert (pod_name, grace, containers[0][1]) == (name, 30, command)
    if name == "kube-apiserver":
        assert opts["etcd-servers"] == "http://127.0.0.1:2379" and opts["advertise-address"] == "10.213.50.11"
        assert opts["secure-port"] == 6443 and opts["insecure-port"] == 0 and opts["endpoint-reconciler-type"] == "lease"
        assert opts["tls-cert-file"] == "/etc/kubernetes/pki/apiserver.crt"
        assert opts["service-account-key-file"] == "/etc/kubernetes/pki/sa.pub"
        assert ctr["livenessProbe"]["httpGet"] == {"host": "10.213.50.11", "path": "/livez", "port": 6443, "scheme": "HTTPS"}
        assert pod["metadata"]["annotations"] == {
            "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint": "10.213.50.11:6443"}
    else:
        conf = "/etc/kubernetes/%s.conf" % name[len("kube-"):]
        assert opts["kubeconfig"] == conf and opts["leader-elect"] is True and opts["bind-address"] == "127.0.0.1"


def test_controller_manager_accepts_the_kubeadm_flags():
    flags = ("--allocate-node-cidrs=true --authentication-kubeconfig=/a --authorization-kubeconfig=/a "
             "--bind-address=127.0.0.1 --client-ca-file=/c --cluster-cidr=10.244.0.0/16 --cluster-name=kubernetes "
             "--cluster-signing-cert-file=/c --cluster-signing-key-file=/k --controllers=*,bootstrapsigner,tokencleaner "
             "--kubeconfig=/a --leader-elect=true --requestheader-client-ca-file=/f --root-ca-file=/c "
             "--service-account-private-key-file=/s --service-cluster-ip-range=10.96.0.0/12 "
             "--use-service-account-credentials=true")
    opts = ks.parse_flags("controller-manager", flags.split(), V130)
    assert opts["allocate-node-cidrs"] is True and opts["controllers"] == "*,bootstrapsigner,tokencleaner"


# ---------------------------------------------------------------- kubeconfigs
def _kubeconfig(tmp_path, server, **extra):
    text = _render("kubeconfig.j2", item=dict(user="system:kube-scheduler", server=server, **extra))
    assert "KUBEHA LAB STAND-IN" in text
    path = tmp_path / "kube.conf"
    path.write_text(text)
    return str(path), yaml.safe_load(text)


def test_kubeconfig_is_kubeadm_shaped(tmp_path):
    _path, conf = _kubeconfig(tmp_path, "https://10.0.0.11:6443")
    assert conf["kind"] == "Config" and conf["current-context"] == "system:kube-scheduler@kubernetes"
    assert conf["contexts"][0]["context"] == {"cluster": "kubernetes", "user": "system:kube-scheduler"}
    base64.b64decode(conf["clusters"][0]["cluster"]["certificate-authority-data"], validate=True)
    assert set(conf["users"][0]["user"]) == {"client-certificate-data", "client-key-data"}
    _path, conf = _kubeconfig(tmp_path, "https://10.0.0.11:6443", token_file="/t")
    assert conf["users"][0]["user"] == {"tokenFile": "/t"}


@pytest.mark.parametrize("component", ["scheduler", "controller-manager", "proxy", "kubelet"])
def test_api_server_from_kubeconfig_and_explicit_flag_wins(component, tmp_path):
    path, _conf = _kubeconfig(tmp_path, "https://10.0.0.11:6443")
    opts = ks.parse_flags(component, ["--kubeconfig=" + path], V130)
    assert ks.api_server_url(component, opts) == "https://10.0.0.11:6443"
    flag = "--api-servers" if component == "kubelet" else "--master"
    opts = ks.parse_flags(component, ["--kubeconfig=" + path, flag + "=http://127.0.0.1:8080"], V130)
    assert ks.api_server_url(component, opts) == "http://127.0.0.1:8080"
    assert ks.api_server_url(component, ks.parse_flags(component, [], V130)) == "http://127.0.0.1:8080"


def test_unreadable_kubeconfig_is_a_start_error(tmp_path):
    with pytest.raises(ks.FlagError, match="invalid configuration"):
        ks.api_server_url("scheduler", {"kubeconfig": str(tmp_path / "missing")})


def test_static_pod_path(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
                      "staticPodPath: /etc/kubernetes/manifests\n")
    assert ks.static_pod_path({"config": str(config)}, V130) == "/etc/kubernetes/manifests"
    assert ks.static_pod_path({"config": str(config), "pod-manifest-path": "/m"}, V130) == "/m"
    assert ks.static_pod_path({"config": "/etc/kubernetes/manifests"}, V152) == "/etc/kubernetes/manifests"
    assert ks.static_pod_path({}, V130) == ""


# ---------------------------------------------------------------- endpoint reconcilers
PORTS = [{"name": "https", "port": 6443, "protocol": "TCP"}]
IPS = ["10.0.0.11", "10.0.0.12", "10.0.0.13"]


def _ips(obj):
    return [a["ip"] for a in obj["subsets"][0]["addresses"]]


def _rounds(count, servers, rounds, stored=None):
    """Let each server reconcile in turn; the stored object and the messages after each pass."""
    history = []
    for _round in range(rounds):
        for ip in servers:
            new, message = ks.master_count_reconcile(stored, ip, count, PORTS)
            if new is not None:
                stored = new
            history.append((ip, _ips(stored), message))
    return stored, history


def test_master_count_creates_the_object_without_a_warning():
    new, message = ks.master_count_reconcile(None, "10.0.0.11", 1, PORTS)
    assert _ips(new) == ["10.0.0.11"] and new["subsets"][0]["ports"] == PORTS and message is None


def test_master_count_one_with_three_apiservers_keeps_flipping():
    _stored, history = _rounds(1, IPS, 4)
    later = history[3:]
    assert [h[1] for h in later] == [[ip] for ip, _l, _m in later], "each apiserver resets the list to itself"
    assert all(m == 'Resetting endpoints for master service "kubernetes" to [%s]' % ip for ip, _l, m in later)


def test_master_count_three_converges_to_all_three():
    stored, history = _rounds(3, IPS, 3)
    assert _ips(stored) == IPS
    assert [m for _ip, _l, m in history[len(IPS):]] == [None] * (len(history) - len(IPS))


def test_master_count_keeps_a_dead_apiserver_listed():
    stored, _history = _rounds(3, IPS, 2)
    stored, history = _rounds(3, IPS[:2], 3, stored)  # 10.0.0.13 died
    assert _ips(stored) == IPS and all(m is None for _ip, _l, m in history)


def test_master_count_removes_the_address_after_its_own():
    stored = ks.endpoints_object(["10.0.0.11", "10.0.0.12", "10.0.0.13"], PORTS)
    new, message = ks.master_count_reconcile(stored, "10.0.0.14", 3, PORTS)
    assert _ips(new) == ["10.0.0.12", "10.0.0.13", "10.0.0.14"] and message  # wrapped around: .11 removed
    new, _message = ks.master_count_reconcile(stored, "10.0.0.12", 2, PORTS)
    assert _ips(new) == ["10.0.0.11", "10.0.0.12"]


@pytest.mark.parametrize("subsets", [[], [{"addresses": [{"ip": "10.0.0.12"}], "ports": PORTS}] * 2])
def test_master_count_resets_wrong_subsets(subsets):
    stored = {"kind": "Endpoints", "subsets": subsets}
    new, message = ks.master_count_reconcile(stored, "10.0.0.11", 3, PORTS)
    assert _ips(new) == ["10.0.0.11"] and "Resetting endpoints" in message


def test_master_count_fixes_ports():
    stored = ks.endpoints_object(["10.0.0.11"], [{"name": "https", "port": 443, "protocol": "TCP"}])
    new, message = ks.master_count_reconcile(stored, "10.0.0.11", 1, PORTS)
    assert new["subsets"][0]["ports"] == PORTS and _ips(new) == ["10.0.0.11"] and message


def test_lease_reconcile():
    new, message = ks.lease_reconcile(None, IPS[::-1], PORTS)
    assert _ips(new) == IPS and message is None
    assert ks.lease_reconcile(new, IPS, PORTS) == (None, None)
    new, message = ks.lease_reconcile(new, IPS[:2], PORTS)
    assert _ips(new) == IPS[:2] and "Resetting endpoints" in message


class FakeEtcd:
    """The few etcd calls the reconcilers make, in memory, with mod revisions."""

    def __init__(self):
        self.data, self.revision, self.leases, self.lost_races = {}, 0, {}, 0

    def get_revision(self, key):
        return self.data.get(key, (None, 0))

    def compare_and_swap(self, key, value, mod_revision):
        if self.data.get(key, (None, 0))[1] != mod_revision:
            return False
        if self.lost_races:  # someone else wrote in between
            self.lost_races -= 1
            self.revision += 1
            self.data[key] = (self.data.get(key, ("{}", 0))[0], self.revision)
            return False
        self.revision += 1
        self.data[key] = (value, self.revision)
        return True

    def get_prefix(self, prefix):
        return dict(self.leases)


def _apiservers(etcd, count, kind="master-count"):
    servers = []
    for ip in IPS:
        opts = ks.parse_flags("apiserver", ["--etcd-servers=http://127.0.0.1:1", "--advertise-address=" + ip,
                                            "--endpoint-reconciler-type=" + kind, "--apiserver-count=%d" % count], V130)
        api = ks.ApiServer(opts, V130)
        api.etcd = etcd
        etcd.leases["/registry/masterleases/" + ip] = ip
        servers.append(api)
    return servers


def test_apiservers_with_master_count_one_fight_over_the_stored_object(capsys):
    etcd = FakeEtcd()
    servers = _apiservers(etcd, 1)
    seen = []
    for _attempt in range(3):
        for api in servers:
            api.reconcile()
            seen.append(_ips(api.endpoints()))
    assert seen[3:] == [[ip] for ip in IPS] * 2
    assert capsys.readouterr().err.count('Resetting endpoints for master service "kubernetes"') == 8
    key = "/registry/services/endpoints/default/kubernetes"
    assert json.loads(etcd.data[key][0])["metadata"] == {"name": "kubernetes", "namespace": "default"}


def test_apiservers_with_master_count_three_agree_and_retry_lost_writes():
    etcd = FakeEtcd()
    servers = _apiservers(etcd, 3)
    for api in servers:
        etcd.lost_races = 1
        api.reconcile()
    assert _ips(servers[0].endpoints()) == IPS


def test_endpoints_served_per_reconciler_type():
    etcd = FakeEtcd()
    lease = _apiservers(etcd, 1, "lease")
    assert _ips(lease[0].endpoints()) == IPS  # the live leases
    none = _apiservers(etcd, 1, "none")
    none[0].reconcile()
    assert none[0].endpoints()["subsets"] == []  # nothing stored
    lease[0].reconcile()  # the lease reconciler stores its list
    assert _ips(none[0].endpoints()) == IPS


def test_missing_service_account_key_only_warns(tmp_path, capsys):
    opts = ks.parse_flags("apiserver", ["--etcd-servers=http://127.0.0.1:1",
                                        "--service-account-key-file=" + str(tmp_path / "sa.pub")], V130)
    ks.ApiServer(opts, V130)
    assert "WARNING: --service-account-key-file" in capsys.readouterr().err


# ---------------------------------------------------------------- kubelet: static pods
def _pod(name="web", command=("/bin/sleep", "300"), grace=2, containers=None):
    containers = containers or [{"name": "main", "command": list(command[:1]), "args": list(command[1:])}]
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "kube-system"},
                           "spec": {"terminationGracePeriodSeconds": grace, "containers": containers}})


@pytest.fixture
def kubelet(tmp_path):
    """make() -> a PodSupervisor on tmp_path/manifests; every process is stopped afterwards."""
    manifests, state = tmp_path / "manifests", tmp_path / "pods"
    manifests.mkdir()
    made = []

    def make():
        sup = ks.PodSupervisor(str(manifests), str(state), journal=str(tmp_path / "no-journal"))
        made.append(sup)
        return sup

    make.manifests, make.state = manifests, state
    yield make
    procs = []
    for sup in made:
        for pod in sup.pods.values():
            procs.extend((c.pid, c.argv) for c in pod["containers"].values() if c.pid)
    for root, _dirs, files in os.walk(state):
        for name in files:
            if name.endswith(".json"):
                with open(os.path.join(root, name)) as fh:
                    record = json.load(fh)
                procs.append((record["pid"], record["argv"]))
    for pid, argv in procs:
        if not ks.argv_matches(pid, argv):  # gone (or only a zombie left): never signal a reused pid
            _alive(pid)
            continue
        os.killpg(pid, signal.SIGKILL)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def _alive(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    return ks.process_state(pid) not in ("", "Z")


def _until(predicate, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_kubelet_starts_a_static_pod_and_records_it(kubelet):
    (kubelet.manifests / "web.yaml").write_text(_pod())
    sup = kubelet()
    sup.sync()
    ctr = sup.pods["web"]["containers"]["main"]
    assert ctr.pid and _alive(ctr.pid)
    assert ks.process_argv(ctr.pid) == ["/bin/sleep", "300"]
    assert ks.argv_matches(ctr.pid, ["/bin/sleep", "300"])
    assert os.getpgid(ctr.pid) == ctr.pid, "containers run in their own session"
    record = json.loads((kubelet.state / "web" / "main.json").read_text())
    assert record["pid"] == ctr.pid and record["argv"] == ["/bin/sleep", "300"]
    assert record["hash"] == sup.pods["web"]["hash"]
    status = sup.status()["web"]["containers"]["main"]
    assert status["state"] == "running" and status["restarts"] == 0
    sup.sync()
    assert sup.pods["web"]["containers"]["main"].pid == ctr.pid  # left alone


def test_kubelet_restarts_an_exited_container_with_backoff(kubelet):
    (kubelet.manifests / "crash.yaml").write_text(_pod("crash", ["/bin/sh", "-c", "echo crashing; exit 1"]))
    sup = kubelet()
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
    sup._exited(ctr, 1)
    assert ctr.backoff == ks.BACKOFF_MAX == 10.0
    assert "crashing" in (kubelet.state / "crash" / "main.log").read_text()


def test_kubelet_replaces_a_pod_when_its_manifest_changes(kubelet):
    path = kubelet.manifests / "web.yaml"
    path.write_text(_pod())
    sup = kubelet()
    sup.sync()
    old = sup.pods["web"]["containers"]["main"].pid
    path.write_text(_pod(command=["/bin/sleep", "301"]))
    sup.sync()
    ctr = sup.pods["web"]["containers"]["main"]
    assert not _alive(old) and ctr.pid != old and ks.process_argv(ctr.pid) == ["/bin/sleep", "301"]


def test_kubelet_kills_after_the_grace_period(kubelet):
    path = kubelet.manifests / "stubborn.yaml"
    path.write_text(_pod("stubborn", ["/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"], grace=1))
    sup = kubelet()
    sup.sync()
    pid = sup.pods["stubborn"]["containers"]["main"].pid
    time.sleep(0.2)  # let the shell set its trap
    started = time.monotonic()
    path.unlink()
    sup.sync()
    assert 0.9 <= time.monotonic() - started < 3 and not _alive(pid)


def test_kubelet_stops_a_removed_pod(kubelet):
    path = kubelet.manifests / "web.yaml"
    path.write_text(_pod())
    sup = kubelet()
    sup.sync()
    pid = sup.pods["web"]["containers"]["main"].pid
    path.unlink()
    sup.sync()
    assert sup.pods == {} and not _alive(pid) and not (kubelet.state / "web").exists()


def test_kubelet_adopts_its_containers_after_a_restart(kubelet):
    (kubelet.manifests / "web.yaml").write_text(_pod())
    first = kubelet()
    first.sync()
    pid = first.pods["web"]["containers"]["main"].pid
    second = kubelet()  # the kubelet restarted: its pods kept running
    second.sync()
    ctr = second.pods["web"]["containers"]["main"]
    assert ctr.pid == pid and ctr.proc is None and ctr.running()
    assert second.status()["web"]["containers"]["main"]["restarts"] == 0
    os.kill(pid, signal.SIGKILL)  # an adopted container that dies is restarted too
    assert _until(lambda: not ctr.running())
    second.sync()
    assert ctr.pid is None and ctr.backoff == 1.0


def test_kubelet_replaces_containers_of_an_outdated_manifest_on_start(kubelet):
    path = kubelet.manifests / "web.yaml"
    path.write_text(_pod())
    kubelet().sync()
    old = json.loads((kubelet.state / "web" / "main.json").read_text())["pid"]
    (kubelet.manifests / "other.yaml").write_text(_pod("other"))
    path.write_text(_pod(command=["/bin/sleep", "302"]))  # edited while the kubelet was down
    second = kubelet()
    second.sync()
    assert not _alive(old)
    assert ks.process_argv(second.pods["web"]["containers"]["main"].pid) == ["/bin/sleep", "302"]
    assert set(second.pods) == {"web", "other"}


def test_kubelet_skips_malformed_manifests_and_stops_their_pod(kubelet, capsys):
    path = kubelet.manifests / "web.yaml"
    path.write_text(_pod())
    (kubelet.manifests / ".hidden.yaml").write_text(_pod("hidden"))
    (kubelet.manifests / "web.yaml~").write_text(_pod("backup"))
    (kubelet.manifests / "notes.txt").write_text(_pod("notes"))
    sup = kubelet()
    sup.sync()
    assert set(sup.pods) == {"web"}
    pid = sup.pods["web"]["containers"]["main"].pid
    path.write_text("kind: Pod\nmetadata: {name: web\n")
    sup.sync()
    sup.sync()
    assert sup.pods == {} and not _alive(pid)
    assert capsys.readouterr().err.count("skipping static pod manifest %s" % path) == 1
    (kubelet.manifests / "nocmd.json").write_text(json.dumps(
        {"kind": "Pod", "metadata": {"name": "nocmd"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}))
    sup.sync()
    assert "command must be a list" in capsys.readouterr().err and sup.pods == {}


def test_kubelet_treats_a_missing_program_as_a_crash(kubelet):
    (kubelet.manifests / "nope.yml").write_text(_pod("nope", ["/nonexistent/program"]))
    sup = kubelet()
    sup.sync()
    ctr = sup.pods["nope"]["containers"]["main"]
    assert ctr.pid is None and ctr.reason == "StartError" and ctr.backoff == 1.0


def test_argv_matches_through_an_interpreter(tmp_path):
    script = tmp_path / "kube-apiserver"
    script.write_text("#!%s\nimport time\ntime.sleep(30)\n" % sys.executable)
    script.chmod(0o755)
    proc = subprocess.Popen([str(script), "--secure-port=6443"])
    try:
        assert _until(lambda: ks.argv_matches(proc.pid, ["kube-apiserver", "--secure-port=6443"]))
        assert not ks.argv_matches(proc.pid, ["kube-apiserver", "--secure-port=6444"])
        assert not ks.argv_matches(proc.pid, ["kube-scheduler", "--secure-port=6443"])
    finally:
        proc.kill()
        proc.wait()


def test_etcd_partition_fault_reaches_no_member(tmp_path):
    """With the partition file present no server is even tried: healthy() is
    False and calls fail; without it a reachable server answers."""
    import http.server
    import threading

    class Version(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"etcdserver": "3.4.23"}')

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Version)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        fault = tmp_path / "etcd-unreachable"
        etcd = ks.Etcd("http://127.0.0.1:%d" % server.server_port, partition_file=str(fault))
        assert etcd.healthy() is True
        fault.write_text("")
        assert etcd.healthy() is False
        with pytest.raises(OSError, match="lab fault injection"):
            etcd.call("/v3/kv/range", {"key": "a2V5"})
        fault.unlink()
        assert etcd.healthy() is True
    finally:
        server.shutdown()
