"""Shared fixtures of the lab stand-in tests (lab/standins/kubeha_standin/).

- ``fake_etcd``: FakeEtcd, the etcd v3 calls the stand-ins make (etcd.Etcd's methods), in
  memory, with mod revisions, leases that expire on a clock the test moves, and a switch
  that makes every call fail as an unreachable cluster does.
- ``pki`` (session): the certificates and kubeconfig files kubeadm v1.30 makes for node
  "node1" at 127.0.0.1, made once by the stand-in's own kubeadm phases (pki.py): RSA key
  generation costs about 0.2 s a key, so a few more certificates reuse existing keys.
- ``start_apiserver``: an in-process kube-apiserver stand-in (ApiServer with its real TLS
  context and handler, served by apiserver.Server on 127.0.0.1 and a free port, its
  objects in a FakeEtcd), stopped at teardown.
- ``kubelet``: PodSupervisors on a temporary manifest directory; every process they
  started is killed at teardown.
- every test is checked for what it leaves behind: a child process, a thread or an open
  socket that was not there before fails it.
"""

from __future__ import annotations

import gc
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import types

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
STANDINS = os.path.join(ROOT, "lab", "standins")

if STANDINS not in sys.path:
    sys.path.insert(0, STANDINS)
sys.dont_write_bytecode = True  # lab/prepare.yml copies the package directory to the hosts
from kubeha_standin import apiserver, flags, kubeadm, kubeconfig, kubelet, pki  # noqa: E402
from kubeha_standin.store import Store  # noqa: E402

V130 = (1, 30, 0)
NODE = {"name": "node1", "address": "127.0.0.1", "port": 6443, "init": True}
ISSUER = "https://kubernetes.default.svc.cluster.local"


# ---------------------------------------------------------------- nothing left behind
def _children():
    pids = set()
    for path in glob.glob("/proc/self/task/*/children"):
        try:
            with open(path) as fh:
                pids.update(int(p) for p in fh.read().split())
        except OSError:
            pass
    return pids


def _sockets():
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink("/proc/self/fd/" + fd)
        except OSError:
            continue
        if target.startswith("socket:"):
            found.add(target)
    return found


@pytest.fixture(autouse=True)
def _leaves_nothing_behind():
    """Fail a test that leaves a child process, a thread or an open socket (a port) behind."""
    children, threads, sockets = _children(), set(threading.enumerate()), _sockets()
    yield
    for thread in set(threading.enumerate()) - threads:
        thread.join(timeout=2.0)
    new_threads = [t.name for t in set(threading.enumerate()) - threads if t.is_alive()]
    new_children = _children() - children
    if new_children:  # a child that exits right now (a reaped container) gets a moment
        time.sleep(0.2)
        new_children = {p for p in _children() - children if kubelet.process_state(p) not in ("", "Z")}
    new_sockets = _sockets() - sockets
    if new_sockets:
        gc.collect()  # an unreferenced socket in a reference cycle
        new_sockets = _sockets() - sockets
    problems = []
    if new_children:
        problems.append("child processes %s" % sorted(new_children))
    if new_threads:
        problems.append("threads %s" % sorted(new_threads))
    if new_sockets:
        problems.append("%d open socket(s)" % len(new_sockets))
    if problems:
        pytest.fail("the test left behind: %s" % "; ".join(problems))


@pytest.fixture(scope="session", autouse=True)
def _client_files_removed():
    """KubeClient writes the certificates of kubeconfigs with -data fields to one private
    temporary directory per process (kubeconfig._private_dir): removed after the session."""
    yield
    for path in kubeconfig._PRIVATE_DIR:  # noqa: SLF001
        shutil.rmtree(path, ignore_errors=True)
    kubeconfig._PRIVATE_DIR.clear()  # noqa: SLF001


# ---------------------------------------------------------------- etcd
class FakeEtcd:
    """etcd.Etcd's calls in memory: get, put (with a lease), get_revision, compare_and_swap
    (0: the key must be absent), get_prefix, grant / keepalive / revoke (a key put with a
    lease is gone once the lease expires on ``self.now``, which the test moves), acquire
    (create unless present: the holder), healthy. ``down = True`` makes every call fail
    as an unreachable etcd does (OSError); ``lost_races = n`` makes the next n
    compare-and-swaps lose to a concurrent writer."""

    TTL_CLOCK_START = 1000.0

    def __init__(self):
        self.data = {}  # key -> (value, mod_revision, create_revision, lease)
        self.revision = 0
        self.leases = {}  # id -> (ttl, expiry)
        self.next_lease = 7587000000000000000
        self.now = self.TTL_CLOCK_START
        self.down = False
        self.lost_races = 0
        self.lock = threading.RLock()
        self.servers = ["https://fake-etcd:2379"]

    def _check(self):
        if self.down:
            raise OSError("https://fake-etcd:2379/v3/kv/range: dial tcp 127.0.0.1:2379: connect: connection refused")
        for lease, (_ttl, expiry) in list(self.leases.items()):
            if expiry <= self.now:
                self._revoke(lease)

    def _revoke(self, lease):
        self.leases.pop(lease, None)
        for key in [k for k, v in self.data.items() if v[3] == lease]:
            del self.data[key]
            self.revision += 1

    def advance(self, seconds):
        with self.lock:
            self.now += seconds

    def healthy(self):
        return not self.down

    def grant(self, ttl):
        with self.lock:
            self._check()
            self.next_lease += 1
            self.leases[self.next_lease] = (ttl, self.now + ttl)
            return self.next_lease

    def keepalive(self, lease):
        with self.lock:
            self._check()
            if lease not in self.leases:
                raise OSError("etcdserver: requested lease not found")
            ttl, _expiry = self.leases[lease]
            self.leases[lease] = (ttl, self.now + ttl)
            return {"result": {"ID": lease, "TTL": ttl}}

    def revoke(self, lease):
        with self.lock:
            self._check()
            self._revoke(lease)

    def put(self, key, value, lease=None):
        with self.lock:
            self._check()
            if lease and lease not in self.leases:
                raise OSError("etcdserver: requested lease not found")
            self.revision += 1
            created = self.data[key][2] if key in self.data else self.revision
            self.data[key] = (value, self.revision, created, lease)
            return {"header": {"revision": self.revision}}

    def get(self, key):
        return self.get_revision(key)[0]

    def get_revision(self, key):
        with self.lock:
            self._check()
            if key not in self.data:
                return None, 0
            return self.data[key][0], self.data[key][1]

    def compare_and_swap(self, key, value, mod_revision):
        with self.lock:
            self._check()
            current = self.data[key][1] if key in self.data else 0
            if current != mod_revision:
                return False
            if self.lost_races:  # someone else wrote in between
                self.lost_races -= 1
                self.put(key, self.data[key][0] if key in self.data else "{}")
                return False
            self.put(key, value)
            return True

    def get_prefix(self, prefix):
        with self.lock:
            self._check()
            return {k: v[0] for k, v in sorted(self.data.items()) if k.startswith(prefix)}

    def acquire(self, key, holder, lease):
        with self.lock:
            self._check()
            if key in self.data:
                return self.data[key][0]
            self.put(key, holder, lease)
            return holder


@pytest.fixture
def fake_etcd():
    return FakeEtcd()


# ---------------------------------------------------------------- kubeadm's PKI
def _pem_of(*paths):
    return "".join(pki.pem(p) for p in paths)


@pytest.fixture(scope="session")
def pki_files(tmp_path_factory):
    """kubeadm v1.30's certificates and kubeconfig files for node1 (127.0.0.1), made
    by the stand-in's `kubeadm init phase certs all` and `kubeconfig all`, and:
    node2's kubelet client certificate (system:node:node2, O=system:nodes), serving
    certificates with only IP SANs and only DNS SANs, another service-account key."""
    base = tmp_path_factory.mktemp("kubeadm")
    kube_dir = base / "kubernetes"
    certs = kube_dir / "pki"
    cluster = kubeadm.cluster_defaults({"certificatesDir": str(certs), "kubernetesVersion": "v1.30.0"})
    logged = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(kubeadm, "KUBERNETES_DIR", str(kube_dir))
        mp.setattr(kubeadm, "MANIFESTS", str(kube_dir / "manifests"))
        mp.setattr(kubeadm, "KUBELET_CLIENT_PEM", str(base / "kubelet" / "kubelet-client-current.pem"))
        mp.setattr(kubeadm, "log", logged.append)
        kubeadm.phase_certs("all", cluster, NODE, V130)
        kubeadm.phase_kubeconfig(cluster, NODE, V130, init=True)
    ca, ca_key = str(certs / "ca.crt"), str(certs / "ca.key")
    # More certificates without more RSA keys: pki.sign keeps a key file that exists.
    shutil.copy(certs / "apiserver-etcd-client.key", base / "node2.key")
    pki.sign(str(base / "node2.crt"), str(base / "node2.key"), ca, ca_key, "system:node:node2", ["system:nodes"])
    (base / "node2.pem").write_text(_pem_of(base / "node2.crt", base / "node2.key"))
    pki.sign(str(base / "ip-only.crt"), str(certs / "apiserver.key"), ca, ca_key, "kube-apiserver",
             ips=["127.0.0.1"], usage=("serverAuth",))
    pki.sign(str(base / "dns-only.crt"), str(certs / "apiserver.key"), ca, ca_key, "kube-apiserver",
             dns=["node1"], usage=("serverAuth",))
    subprocess.run(["openssl", "pkey", "-in", str(certs / "front-proxy-ca.key"), "-pubout", "-out",
                    str(base / "other-sa.pub")], check=True, capture_output=True)
    return types.SimpleNamespace(
        base=base, kube_dir=kube_dir, certs=certs, cluster=cluster, node=dict(NODE), log=logged,
        ca=ca, ca_key=ca_key, ca_pem=pki.pem(ca), etcd_ca=str(certs / "etcd" / "ca.crt"),
        apiserver_crt=str(certs / "apiserver.crt"), apiserver_key=str(certs / "apiserver.key"),
        sa_key=str(certs / "sa.key"), sa_pub=str(certs / "sa.pub"), other_sa_pub=str(base / "other-sa.pub"),
        admin=str(kube_dir / "admin.conf"), super_admin=str(kube_dir / "super-admin.conf"),
        scheduler=str(kube_dir / "scheduler.conf"), controller_manager=str(kube_dir / "controller-manager.conf"),
        kubelet=str(kube_dir / "kubelet.conf"), node2_pem=str(base / "node2.pem"),
        ip_only_crt=str(base / "ip-only.crt"), dns_only_crt=str(base / "dns-only.crt"),
    )


# ---------------------------------------------------------------- an in-process apiserver
class RunningApiServer:
    """An ApiServer served on ``url``; ``client(kubeconfig)`` talks to it with a kubeconfig's
    credentials and CA (its server replaced by ``url``)."""

    def __init__(self, api, server, url, etcd, threads):
        self.api, self.server, self.url, self.etcd, self.threads = api, server, url, etcd, threads

    def client(self, kubeconfig_path, version=V130, url=None):
        return kubeconfig.Kubeconfig(kubeconfig_path).client(server=url or self.url, version=version)

    def token_client(self, token=None, token_file=None, ca_file=None, version=V130):
        return kubeconfig.KubeClient(self.url, ca_file=ca_file, token=token, token_file=token_file, version=version)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()  # joins the request threads
        self.api.stop.set()
        for thread in self.threads:
            thread.join(timeout=5)
        if self.api.authn._tmp:  # noqa: SLF001  public keys derived from private ones
            shutil.rmtree(self.api.authn._tmp, ignore_errors=True)  # noqa: SLF001


def apiserver_flags(pki_files, *extra):
    return ["--etcd-servers=https://127.0.0.1:2379", "--advertise-address=127.0.0.1",
            "--authorization-mode=Node,RBAC", "--client-ca-file=" + pki_files.ca,
            "--tls-cert-file=" + pki_files.apiserver_crt, "--tls-private-key-file=" + pki_files.apiserver_key,
            "--service-account-issuer=" + ISSUER, "--service-account-key-file=" + pki_files.sa_pub,
            "--service-account-signing-key-file=" + pki_files.sa_key, *extra]


@pytest.fixture
def start_apiserver(pki_files, tmp_path):
    """start(*flags, etcd=None, host="127.0.0.1", version=V130) -> RunningApiServer: kubeadm's
    flags (Node,RBAC, the cluster CA, service-account keys) plus ``flags`` (a later one
    wins), its objects in ``etcd`` (a new FakeEtcd by default). Every one is stopped at
    teardown."""
    running = []

    def start(*extra, etcd=None, host="127.0.0.1", version=V130, base_flags=True):
        argv = apiserver_flags(pki_files, *extra) if base_flags else list(extra)
        opts = flags.parse_flags("apiserver", argv, version)
        api = apiserver.ApiServer(opts, version)
        fake = etcd or FakeEtcd()
        api.etcd, api.store = fake, Store(fake, api.prefix)
        api.etcd_ok = fake.healthy()
        api.probe_delay = apiserver.ProbeDelay(str(tmp_path / "no-readyz-delay"))
        server = apiserver.Server((host, 0), api.handler(), api.tls)
        threads = [threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                                    name="test-apiserver-%d" % server.server_address[1]),
                   threading.Thread(target=api.register_loop, daemon=True, name="test-apiserver-register")]
        for thread in threads:
            thread.start()
        url = "https://%s:%d" % (host, server.server_address[1])
        running.append(RunningApiServer(api, server, url, fake, threads))
        return running[-1]

    yield start
    for server in running:
        server.stop()


# ---------------------------------------------------------------- kubelet: static pods
def process_alive(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    return kubelet.process_state(pid) not in ("", "Z")


@pytest.fixture
def kubelet_supervisor(tmp_path):
    """make() -> a PodSupervisor on tmp_path/manifests (state in tmp_path/pods, no
    journal); every process a supervisor started is killed afterwards."""
    manifests, state = tmp_path / "manifests", tmp_path / "pods"
    manifests.mkdir()
    made = []

    def make():
        sup = kubelet.PodSupervisor(str(manifests), str(state), journal=str(tmp_path / "no-journal"))
        made.append(sup)
        return sup

    make.manifests, make.state = manifests, state
    yield make
    procs = {}
    for root, _dirs, files in os.walk(state):
        for name in files:
            if name.endswith(".json") and not name.startswith("."):
                with open(os.path.join(root, name)) as fh:
                    record = json.load(fh)
                procs[record["pid"]] = (record["argv"], None)
    for sup in made:
        for pod in sup.pods.values():
            procs.update((c.pid, (c.argv, c.proc)) for c in pod["containers"].values() if c.pid)
    for pid, (argv, proc) in procs.items():
        # A child not yet reaped is ours whatever it runs now (its pid cannot be reused);
        # another process only while it still runs the container's argv.
        ours = proc is not None and proc.poll() is None
        if not ours and not kubelet.argv_matches(pid, argv):
            process_alive(pid)  # reap it if it is a zombie child
            continue
        try:
            os.killpg(pid, signal.SIGKILL)  # the container's session: what it started too
        except ProcessLookupError:
            continue
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
