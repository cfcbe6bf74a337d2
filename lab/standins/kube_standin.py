# KUBEHA LAB STAND-IN -- NOT KUBERNETES.
#
# Real kube-apiserver, kube-scheduler, kube-controller-manager, kubelet and
# kube-proxy binaries cannot be installed on the machines this project is
# tested on. This small program stands in for them in the lab only, so that the
# real HAProxy, keepalived, etcd and systemd paths are exercised. It is never
# installed by a role of the collection.
#
#   kube_standin.py apiserver|scheduler|controller-manager|kubelet|proxy [FLAGS]
#
# The lab installs /usr/bin/kube-apiserver etc. as small Python scripts that
# import this module and call main(), so the process table shows the program
# names (/usr/bin/python3 /usr/bin/kube-apiserver --flags...).
#
# It parses the real flag syntax (--flag=value, --flag value, --bool, "_" or
# "-" as word separator) and exits non-zero on an unknown flag, as the real
# binaries do. See README.md, "Kubernetes stand-ins".
#
# Kubernetes version: /etc/kubeha-standin/version (written by lab/prepare.yml
# from kubeha_lab_kubernetes_version, default v1.30.0) is read at start. It sets
# what /version and --version report and the era's flag defaults
# (--endpoint-reconciler-type: lease from 1.11, master-count before, no such
# flag before 1.9; --insecure-port: 8080 before 1.20, 0 from 1.20).
#
# apiserver endpoint reconcilers: the "kubernetes" Endpoints object is stored
# in etcd (<prefix>/services/endpoints/default/kubernetes) and reconciled every
# RECONCILE_INTERVAL as the real master-count and lease reconcilers do
# (master_count_reconcile, lease_reconcile), so --apiserver-count=1 with three
# apiservers makes the list flip and "Resetting endpoints for master service"
# appear in the log, as it did in the recipe's era.
#
# kubelet: runs the static pods of --pod-manifest-path (or staticPodPath of
# --config) as host processes: each container's command + args, no images or
# volumes (the stand-in programs are installed on the host). See PodSupervisor.
#
# Lab fault injection (apiserver): while /run/kubeha-standin/readyz-delay holds
# a number of seconds, every GET /readyz and /healthz waits that long before
# answering (a slow apiserver). The file is read on every request, so tests and
# benchmarks toggle it at runtime: `echo 0.3 > /run/kubeha-standin/readyz-delay`,
# `rm /run/kubeha-standin/readyz-delay`. Other content is ignored (logged once).
# While /run/kubeha-standin/etcd-unreachable exists, this host's etcd client
# reaches no etcd member (a partition between the apiserver and etcd, without
# stopping etcd for the others): /readyz answers 500 within about a second.
"""Lab stand-in for the Kubernetes control-plane and node binaries."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

try:  # python3-yaml (kubeconfigs, KubeletConfiguration, static pod manifests)
    import yaml
except ImportError:  # pragma: no cover - JSON documents still work
    yaml = None

STATE_DIR = "/run/kubeha-standin"
READYZ_DELAY_FILE = os.path.join(STATE_DIR, "readyz-delay")
ETCD_PARTITION_FILE = os.path.join(STATE_DIR, "etcd-unreachable")
VERSION_FILE = "/etc/kubeha-standin/version"
DEFAULT_VERSION = "v1.30.0"
RECONCILE_INTERVAL = 2.0  # the real endpoint reconcilers run every 10 s; short for the lab

BOOL, STR, INT, DURATION = "bool", "str", "int", "duration"
COMMON = {
    "logtostderr": BOOL, "v": INT, "alsologtostderr": BOOL, "log-dir": STR, "kubeconfig": STR,
    "master": STR, "allow-privileged": BOOL, "feature-gates": STR, "profiling": BOOL, "version": BOOL,
}
SECURE_SERVING = {
    "authentication-kubeconfig": STR, "authorization-kubeconfig": STR, "client-ca-file": STR,
    "requestheader-client-ca-file": STR, "bind-address": STR, "secure-port": INT,
}
FLAGS = {
    "apiserver": {
        "etcd-servers": STR, "etcd-cafile": STR, "etcd-certfile": STR, "etcd-keyfile": STR,
        "etcd-prefix": STR, "apiserver-count": INT, "endpoint-reconciler-type": STR,
        "secure-port": INT, "insecure-port": INT, "port": INT, "bind-address": STR,
        "insecure-bind-address": STR, "address": STR, "advertise-address": STR,
        "tls-cert-file": STR, "tls-private-key-file": STR, "cert-dir": STR, "client-ca-file": STR,
        "shutdown-delay-duration": DURATION, "service-cluster-ip-range": STR,
        "admission-control": STR, "enable-admission-plugins": STR, "disable-admission-plugins": STR,
        "service-account-key-file": STR, "service-account-signing-key-file": STR,
        "service-account-issuer": STR, "authorization-mode": STR, "kubelet-port": INT,
        "kubelet-client-certificate": STR, "kubelet-client-key": STR, "anonymous-auth": BOOL,
        "runtime-config": STR, "storage-backend": STR, "audit-log-path": STR,
        "enable-bootstrap-token-auth": BOOL, "kubelet-preferred-address-types": STR,
        "proxy-client-cert-file": STR, "proxy-client-key-file": STR,
        "requestheader-allowed-names": STR, "requestheader-client-ca-file": STR,
        "requestheader-extra-headers-prefix": STR, "requestheader-group-headers": STR,
        "requestheader-username-headers": STR,
    },
    "scheduler": dict(SECURE_SERVING, **{
        "leader-elect": BOOL, "leader-elect-lease-duration": DURATION,
        "leader-elect-renew-deadline": DURATION, "leader-elect-retry-period": DURATION,
        "leader-elect-resource-lock": STR, "leader-elect-resource-name": STR,
        "port": INT, "address": STR, "config": STR,
    }),
    "kubelet": {
        "api-servers": STR, "address": STR, "port": INT, "hostname-override": STR,
        "pod-infra-container-image": STR, "config": STR, "cluster-dns": STR, "cluster-domain": STR,
        "pod-manifest-path": STR, "container-runtime-endpoint": STR, "node-ip": STR,
        "bootstrap-kubeconfig": STR,
    },
    "proxy": {"bind-address": STR, "hostname-override": STR, "proxy-mode": STR, "config": STR, "cluster-cidr": STR},
}
FLAGS["controller-manager"] = dict(FLAGS["scheduler"], **{
    "service-account-private-key-file": STR, "root-ca-file": STR, "cluster-cidr": STR,
    "cluster-name": STR, "cluster-signing-cert-file": STR, "cluster-signing-key-file": STR,
    "use-service-account-credentials": BOOL, "controllers": STR, "allocate-node-cidrs": BOOL,
    "service-cluster-ip-range": STR,
})
DEFAULTS = {
    "apiserver": {
        "etcd-servers": "", "etcd-prefix": "/registry", "apiserver-count": 1,
        "secure-port": 6443, "bind-address": "0.0.0.0", "insecure-bind-address": "127.0.0.1",
        "advertise-address": "", "tls-cert-file": "", "tls-private-key-file": "",
        "cert-dir": "/var/run/kubernetes", "shutdown-delay-duration": 0.0,
    },
    "scheduler": {
        "leader-elect": False, "leader-elect-lease-duration": 15.0, "leader-elect-renew-deadline": 10.0,
        "leader-elect-retry-period": 2.0,
    },
}
DEFAULTS["controller-manager"] = DEFAULTS["scheduler"]
RECONCILERS = ("master-count", "lease", "none")
LEGACY_MASTER = "http://127.0.0.1:8080"  # where the old packages' clients look without --master


def log(msg):
    sys.stderr.write("%s kubeha-standin: %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


class FlagError(Exception):
    pass


# ---------------------------------------------------------------- version and era defaults
def parse_version(text):
    """(major, minor, patch) of "v1.30.0" / "1.5.2" / "v1.30"."""
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?", text.strip())
    if not match:
        raise ValueError("not a Kubernetes version: %r" % text)
    return tuple(int(part or 0) for part in match.groups())


def read_version(path=None):
    """The configured Kubernetes version (VERSION_FILE); DEFAULT_VERSION without the file."""
    path = path or VERSION_FILE
    try:
        with open(path) as fh:
            text = fh.read().strip()
    except FileNotFoundError:
        text = DEFAULT_VERSION
    try:
        return parse_version(text)
    except ValueError as err:
        log("%s: %s; using %s" % (path, err, DEFAULT_VERSION))
        return parse_version(DEFAULT_VERSION)


def version_info(version):
    major, minor, patch = version
    return {"major": str(major), "minor": str(minor),
            "gitVersion": "v%d.%d.%d-kubeha-standin" % (major, minor, patch), "platform": "linux/amd64"}


def flag_spec(component, version):
    spec = dict(COMMON, **FLAGS[component])
    if component == "apiserver" and version < (1, 9, 0):
        del spec["endpoint-reconciler-type"]  # added in 1.9
    return spec


def flag_defaults(component, version):
    opts = dict(DEFAULTS.get(component, {}))
    if component == "apiserver":
        opts["endpoint-reconciler-type"] = "lease" if version >= (1, 11, 0) else "master-count"
        opts["insecure-port"] = 8080 if version < (1, 20, 0) else 0
    return opts


def parse_duration(text):
    match = re.fullmatch(r"((?:\d+(?:\.\d+)?(?:ms|s|m|h))+)", text)
    if not match:
        if re.fullmatch(r"\d+", text) and int(text) == 0:
            return 0.0
        raise FlagError("invalid duration %r" % text)
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text))


def parse_flags(component, argv, version=None):
    version = version or read_version()
    spec = flag_spec(component, version)
    opts = flag_defaults(component, version)
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if not arg.startswith("--"):
            raise FlagError("unexpected argument %r" % arg)
        name, has_value, value = arg[2:].partition("=")
        name = name.replace("_", "-")
        kind = spec.get(name)
        if kind is None:
            raise FlagError("unknown flag: --%s" % name)
        if kind == BOOL:
            if has_value and value.lower() not in ("true", "false", "1", "0"):
                raise FlagError("invalid boolean %r for --%s" % (value, name))
            opts[name] = (value.lower() in ("true", "1")) if has_value else True
            continue
        if not has_value:
            if i >= len(argv):
                raise FlagError("flag needs an argument: --%s" % name)
            value = argv[i]
            i += 1
        try:
            opts[name] = int(value) if kind == INT else parse_duration(value) if kind == DURATION else value
        except ValueError:
            raise FlagError("invalid argument %r for --%s" % (value, name)) from None
    return opts


def load_document(path):
    """A YAML (or JSON) file as Python data."""
    with open(path, "rb") as fh:
        data = fh.read()
    return yaml.safe_load(data) if yaml else json.loads(data)


def kubeconfig_server(path):
    """clusters[0].cluster.server of a kubeconfig."""
    try:
        return load_document(path)["clusters"][0]["cluster"]["server"].rstrip("/")
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError) as err:
        raise FlagError("invalid configuration: cannot read the server of kubeconfig %s: %s" % (path, err)) from None


def api_server_url(component, opts):
    """The API server a client component talks to: --master (or the kubelet's old
    --api-servers) wins over --kubeconfig, as in the real binaries."""
    explicit = opts.get("api-servers") if component == "kubelet" else opts.get("master")
    if explicit:
        return explicit.split(",")[0].rstrip("/")
    if opts.get("kubeconfig"):
        return kubeconfig_server(opts["kubeconfig"])
    return LEGACY_MASTER


def sd_notify(state):
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return
    if path.startswith("@"):
        path = "\0" + path[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(state.encode(), path)


def write_state(component, data, state_dir=STATE_DIR):
    os.makedirs(state_dir, exist_ok=True)
    tmp = os.path.join(state_dir, ".%s.tmp" % component)
    with open(tmp, "w") as fh:
        json.dump(dict(data, time=time.time()), fh)
    os.replace(tmp, os.path.join(state_dir, "%s.json" % component))


_INSECURE_CONTEXT = []


def _insecure_context():
    """One client context for the whole process: building one loads the system's CA
    bundle, which costs more CPU than the request (the stand-ins poll etcd and each
    other several times a second)."""
    if not _INSECURE_CONTEXT:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # lab stand-in: self-signed serving certificates
        _INSECURE_CONTEXT.append(context)
    return _INSECURE_CONTEXT[0]


def http_get(url, timeout=2.0, data=None, method=None, context=None):
    if context is None:
        context = _insecure_context() if url.startswith("https:") else None
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


# ---------------------------------------------------------------- etcd (v3 JSON gateway)
def _b64(text):
    return base64.b64encode(text.encode()).decode()


class Etcd:
    """Minimal etcd v3 client over the JSON gateway, trying each server in turn.

    With ``cafile``/``certfile``/``keyfile`` (--etcd-cafile etc.) https servers
    are verified against the CA and given the client certificate."""

    def __init__(self, servers, cafile="", certfile="", keyfile="", partition_file=ETCD_PARTITION_FILE):
        self.servers = [s.rstrip("/") for s in servers.split(",") if s]
        self.partition_file = partition_file
        self.context = None
        if cafile or certfile:
            self.context = ssl.create_default_context(cafile=cafile or None)
            if certfile:
                self.context.load_cert_chain(certfile, keyfile or None)

    def _get(self, url, **kwargs):
        if self.partition_file and os.path.exists(self.partition_file):
            raise OSError("%s unreachable (lab fault injection: %s exists)" % (url, self.partition_file))
        return http_get(url, context=self.context if url.startswith("https:") else None, **kwargs)

    def call(self, path, payload, timeout=1.0):
        last = None
        for server in self.servers:
            try:
                status, body = self._get(server + path, timeout=timeout, data=payload, method="POST")
                if status == 200:
                    return json.loads(body or "{}")
                last = "%s%s: HTTP %d %s" % (server, path, status, body[:200])
            except (OSError, ValueError) as err:
                last = "%s%s: %s" % (server, path, err)
        raise OSError(last or "no etcd servers")

    def healthy(self):
        """True when the etcd cluster answers through any of the servers (what the
        real apiserver's etcd check sees through its client, which fails over
        between endpoints): one dead member of three keeps the apiserver ready.
        A server that answers is tried first next time."""
        for server in list(self.servers):
            try:
                status, _body = self._get(server + "/version", timeout=1.0)
            except OSError:
                continue
            if status == 200:
                # A new list (other threads iterate the old one).
                self.servers = [server] + [s for s in self.servers if s != server]
                return True
        return False

    def grant(self, ttl):
        return self.call("/v3/lease/grant", {"TTL": ttl})["ID"]

    def keepalive(self, lease):
        return self.call("/v3/lease/keepalive", {"ID": lease})

    def revoke(self, lease):
        return self.call("/v3/lease/revoke", {"ID": lease})

    def put(self, key, value, lease=None):
        payload = {"key": _b64(key), "value": _b64(value)}
        if lease:
            payload["lease"] = lease
        return self.call("/v3/kv/put", payload)

    def get(self, key):
        """Value of ``key``, or None."""
        return self.get_revision(key)[0]

    def get_revision(self, key):
        """(value or None, mod_revision; 0 when absent)."""
        kvs = self.call("/v3/kv/range", {"key": _b64(key)}).get("kvs", [])
        if not kvs:
            return None, 0
        return base64.b64decode(kvs[0].get("value", "")).decode(), int(kvs[0].get("mod_revision", 0))

    def compare_and_swap(self, key, value, mod_revision):
        """Put ``key`` only if it was not modified since ``mod_revision`` (0: absent)."""
        txn = {
            "compare": [{"key": _b64(key), "target": "MOD", "result": "EQUAL", "mod_revision": str(mod_revision)}],
            "success": [{"requestPut": {"key": _b64(key), "value": _b64(value)}}],
        }
        return bool(self.call("/v3/kv/txn", txn).get("succeeded"))

    def get_prefix(self, prefix):
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        kvs = self.call("/v3/kv/range", {"key": _b64(prefix), "range_end": _b64(end)}).get("kvs", [])
        return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv.get("value", "")).decode() for kv in kvs}

    def acquire(self, key, holder, lease):
        """Create ``key`` for ``holder`` unless someone else holds it. Returns the holder."""
        txn = {
            "compare": [{"key": _b64(key), "target": "CREATE", "create_revision": "0"}],
            "success": [{"requestPut": {"key": _b64(key), "value": _b64(holder), "lease": lease}}],
            "failure": [{"requestRange": {"key": _b64(key)}}],
        }
        result = self.call("/v3/kv/txn", txn)
        if result.get("succeeded"):
            return holder
        kvs = result["responses"][0]["response_range"].get("kvs", [])
        return base64.b64decode(kvs[0]["value"]).decode() if kvs else ""


# ---------------------------------------------------------------- the "kubernetes" Endpoints object
def endpoints_object(ips, ports):
    return {"kind": "Endpoints", "apiVersion": "v1",
            "metadata": {"name": "kubernetes", "namespace": "default"},
            "subsets": [{"addresses": [{"ip": ip} for ip in ips], "ports": ports}] if ips is not None else []}


def _reset_message(ips):
    return 'Resetting endpoints for master service "kubernetes" to [%s]' % " ".join(ips)


def master_count_reconcile(stored, own_ip, count, ports):
    """One pass of Kubernetes' master-count endpoint reconciler
    (pkg/controlplane/reconcilers/mastercount.go), as a pure function.

    ``stored`` is the stored Endpoints object (None when absent). Returns
    (object to write or None, the warning the real one logs or None).
    """
    if stored is None:  # not found: simply create it with our own address, no warning
        return endpoints_object([own_ip], ports), None
    subsets = stored.get("subsets") or []
    if len(subsets) != 1:  # "something is egregiously wrong": re-make the record
        return endpoints_object([own_ip], ports), _reset_message([own_ip])
    ips = [addr.get("ip") for addr in subsets[0].get("addresses") or []]
    ports_ok = (subsets[0].get("ports") or []) == ports
    ip_ok = own_ip in ips and len(ips) <= count
    if ip_ok and ports_ok:
        return None, None
    if not ip_ok:
        # Always add our own address, keep lexicographic order, then, while too
        # many, remove the address after ours (wrapping around). As in the Go
        # code, the index of our address is taken once, before removing.
        ips = sorted(set(ips) | {own_ip})
        own = ips.index(own_ip)
        while len(ips) > count:
            del ips[(own + 1) % len(ips)]
    return endpoints_object(ips, ports), _reset_message(ips)


def lease_reconcile(stored, live_ips, ports):
    """One pass of the lease reconciler (lease.go): the stored object lists
    exactly the apiservers whose leases are live. Same return shape."""
    ips = sorted(set(live_ips))
    if not ips:
        return None, None
    if stored is None:
        return endpoints_object(ips, ports), None
    subsets = stored.get("subsets") or []
    if (len(subsets) == 1 and sorted(a.get("ip") for a in subsets[0].get("addresses") or []) == ips
            and (subsets[0].get("ports") or []) == ports):
        return None, None
    return endpoints_object(ips, ports), _reset_message(ips)


# ---------------------------------------------------------------- apiserver
class ProbeDelay:
    """Seconds GET /readyz and /healthz wait before answering (lab fault injection).

    The number of seconds in ``path``, read on every request so that it can be
    set and cleared while the apiserver runs; no file or an empty one means no
    delay. Content that is not a finite number >= 0 is ignored (no delay) and
    logged once per content.
    """

    def __init__(self, path=READYZ_DELAY_FILE):
        self.path = path
        self._lock = threading.Lock()
        self._reported = set()

    def seconds(self):
        try:
            with open(self.path) as fh:
                text = fh.read(256).strip()
        except FileNotFoundError:
            return 0.0
        except OSError as err:
            self._ignore("cannot read it (%s)" % err.strerror)
            return 0.0
        if not text:  # also what a request sees while `echo 0.3 > FILE` is writing it
            return 0.0
        try:
            delay = float(text)
        except ValueError:
            delay = None
        if delay is None or not math.isfinite(delay) or delay < 0:
            self._ignore("malformed content %r (want a number of seconds, e.g. 0.3)" % text[:40])
            return 0.0
        return delay

    def _ignore(self, reason):
        with self._lock:
            if reason in self._reported:
                return
            self._reported.add(reason)
        log("ignoring %s: %s" % (self.path, reason))


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Like the real apiserver (Go's net.Listen), the accept backlog is the
    # kernel's somaxconn, so a frozen apiserver keeps accepting connections.
    try:
        with open("/proc/sys/net/core/somaxconn") as _fh:
            request_queue_size = int(_fh.read())
    except (OSError, ValueError):
        request_queue_size = 4096

    def __init__(self, address, handler):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, handler)


class ApiServer:
    def __init__(self, opts, version):
        self.opts = opts
        self.version = version
        if opts["endpoint-reconciler-type"] not in RECONCILERS:
            raise FlagError("invalid --endpoint-reconciler-type %r (one of %s)"
                            % (opts["endpoint-reconciler-type"], ", ".join(RECONCILERS)))
        if opts["apiserver-count"] < 1:
            raise FlagError("--apiserver-count must be at least 1")
        if not opts["etcd-servers"]:
            raise FlagError("--etcd-servers must be specified")
        for flag in ("service-account-key-file", "service-account-signing-key-file"):
            if opts.get(flag) and not os.path.exists(opts[flag]):
                # The real apiserver refuses to start; the stand-in only warns, so the
                # package-default state runs until the collection distributes the key.
                log("WARNING: --%s=%s does not exist (the real kube-apiserver would not start)" % (flag, opts[flag]))
        try:
            self.etcd = Etcd(opts["etcd-servers"], opts.get("etcd-cafile", ""),
                             opts.get("etcd-certfile", ""), opts.get("etcd-keyfile", ""))
        except (OSError, ssl.SSLError) as err:
            raise FlagError("cannot load the etcd client TLS files: %s" % err) from None
        self.prefix = opts["etcd-prefix"].rstrip("/")
        self.endpoints_key = "%s/services/endpoints/default/kubernetes" % self.prefix
        self.address = opts["advertise-address"] or self._guess_address()
        self.ports = [{"name": "https", "port": opts["secure-port"], "protocol": "TCP"}]
        self.etcd_ok = False
        self.shutting_down = False
        self.probe_delay = ProbeDelay()
        self.stop = threading.Event()
        self.lease = None
        self.servers = []

    def _guess_address(self):
        try:
            return socket.gethostbyname(socket.gethostname())
        except OSError:
            return "127.0.0.1"

    def _tls_context(self):
        cert, key = self.opts["tls-cert-file"], self.opts["tls-private-key-file"]
        if not cert:
            # Like the real apiserver: a self-signed serving certificate in --cert-dir.
            os.makedirs(self.opts["cert-dir"], exist_ok=True)
            cert = os.path.join(self.opts["cert-dir"], "apiserver.crt")
            key = os.path.join(self.opts["cert-dir"], "apiserver.key")
            if not os.path.exists(cert):
                subprocess.run(
                    ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365",
                     "-subj", "/CN=%s@kubeha-standin" % socket.gethostname(), "-keyout", key, "-out", cert],
                    check=True, capture_output=True,
                )
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            ctx.load_cert_chain(cert, key or None)
        except (OSError, ssl.SSLError) as err:
            raise FlagError("unable to load server certificate %s: %s" % (cert, err)) from None
        return ctx

    def handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):  # quiet: probes every second
                pass

            def reply(self, code, body, ctype="text/plain"):
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", ctype if isinstance(body, str) else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                path = self.path.split("?")[0]
                if path in ("/healthz", "/readyz"):
                    delay = api.probe_delay.seconds()
                    if delay:
                        time.sleep(delay)  # a slow apiserver: the answer reflects the state after the wait
                if path in ("/healthz", "/livez"):
                    ok = api.etcd_ok or path == "/livez"
                    self.reply(200 if ok else 500, "ok" if ok else "[-]etcd failed: reason withheld\nhealthz check failed")
                elif path == "/readyz":
                    if api.shutting_down:
                        self.reply(500, "[-]shutdown failed: reason withheld\nreadyz check failed")
                    elif not api.etcd_ok:
                        self.reply(500, "[-]etcd failed: reason withheld\nreadyz check failed")
                    else:
                        self.reply(200, "ok")
                elif path == "/version":
                    self.reply(200, version_info(api.version))
                elif path == "/api/v1/namespaces/default/endpoints/kubernetes":
                    try:
                        self.reply(200, api.endpoints())
                    except OSError as err:
                        self.reply(503, {"kind": "Status", "status": "Failure", "message": str(err)})
                elif (path.startswith("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/")
                      or path.startswith("/api/v1/namespaces/kube-system/endpoints/")):
                    # The leader record: a Lease (1.14 and later), or the annotation of
                    # the component's Endpoints object (the older lock).
                    name = path.rsplit("/", 1)[1]
                    try:
                        holder = api.etcd.get(api.lease_key(name)) or ""
                    except OSError as err:
                        self.reply(503, {"kind": "Status", "message": str(err)})
                        return
                    meta = {"name": name, "namespace": "kube-system"}
                    if "/leases/" in path:
                        self.reply(200, {"kind": "Lease", "metadata": meta, "spec": {"holderIdentity": holder}})
                    else:
                        meta["annotations"] = {"control-plane.alpha.kubernetes.io/leader":
                                               json.dumps({"holderIdentity": holder})}
                        self.reply(200, {"kind": "Endpoints", "metadata": meta, "subsets": []})
                else:
                    self.reply(404, {"kind": "Status", "status": "Failure", "code": 404})

            def do_POST(self):  # noqa: N802  leader election: acquire or renew a lease
                path = self.path.split("?")[0]
                prefix = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/"
                if not path.startswith(prefix):
                    self.reply(404, {"kind": "Status", "code": 404})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    req = json.loads(self.rfile.read(length) or b"{}")
                    holder, lease = api.elect(path[len(prefix):], req["holderIdentity"],
                                              int(req.get("leaseDurationSeconds", 15)), req.get("etcdLease"))
                except (OSError, KeyError, ValueError) as err:
                    self.reply(503, {"kind": "Status", "message": str(err)})
                    return
                self.reply(200 if holder == req["holderIdentity"] else 409,
                           {"kind": "Lease", "spec": {"holderIdentity": holder}, "etcdLease": lease})

        return Handler

    def lease_key(self, name):
        return "%s/leases/kube-system/%s" % (self.prefix, name)

    def live_apiservers(self):
        """Addresses of the apiservers registered in etcd (their leases have not expired)."""
        return sorted(self.etcd.get_prefix("%s/masterleases/" % self.prefix).values())

    def elect(self, name, holder, ttl, lease):
        key = self.lease_key(name)
        current = self.etcd.get(key)
        if current == holder and lease:
            self.etcd.keepalive(lease)  # renew
            return holder, lease
        if current:
            return current, None  # held by another candidate
        lease = self.etcd.grant(ttl)
        return self.etcd.acquire(key, holder, lease), lease

    def stored_endpoints(self):
        """(stored Endpoints object or None, its mod_revision)."""
        raw, revision = self.etcd.get_revision(self.endpoints_key)
        if raw is None:
            return None, revision
        try:
            stored = json.loads(raw)
        except ValueError:
            stored = {}
        return (stored if isinstance(stored, dict) else {}), revision

    def endpoints(self):
        if self.opts["endpoint-reconciler-type"] == "lease":
            return endpoints_object(self.live_apiservers(), self.ports)
        stored, _revision = self.stored_endpoints()
        return stored if stored is not None else endpoints_object(None, self.ports)

    def register_loop(self):
        key = "%s/masterleases/%s" % (self.prefix, self.address)
        while not self.stop.is_set():
            self.etcd_ok = self.etcd.healthy()
            try:
                if self.lease is None:
                    self.lease = self.etcd.grant(15)
                else:
                    self.etcd.keepalive(self.lease)
                # Re-registered every second, so the key comes back if it was lost.
                self.etcd.put(key, self.address, self.lease)
            except (OSError, KeyError, ValueError) as err:
                log("etcd: %s" % err)
                self.lease = None
            self.stop.wait(1.0)

    def reconcile_loop(self):
        while not self.stop.wait(RECONCILE_INTERVAL):
            if self.shutting_down:
                continue
            try:
                self.reconcile()
            except (OSError, KeyError, ValueError) as err:
                log("endpoint reconciler: %s" % err)

    def reconcile(self):
        """Bring the stored "kubernetes" Endpoints object in line, as this
        apiserver's reconciler would; compare-and-swap so that concurrent
        apiservers do not lose each other's writes."""
        kind = self.opts["endpoint-reconciler-type"]
        if kind == "none":
            return
        for _attempt in range(3):
            stored, revision = self.stored_endpoints()
            if kind == "master-count":
                new, message = master_count_reconcile(stored, self.address, self.opts["apiserver-count"], self.ports)
            else:
                new, message = lease_reconcile(stored, self.live_apiservers(), self.ports)
            if new is None:
                return
            if self.etcd.compare_and_swap(self.endpoints_key, json.dumps(new), revision):
                if message:
                    log(message)
                return

    def serve(self):
        threading.Thread(target=self.register_loop, daemon=True).start()
        threading.Thread(target=self.reconcile_loop, daemon=True).start()
        listeners = [(self.opts["bind-address"], self.opts["secure-port"], self._tls_context())]
        if self.opts["insecure-port"]:
            listeners.append((self.opts["insecure-bind-address"], self.opts["insecure-port"], None))
        for host, port, ctx in listeners:
            srv = Server((host, port), self.handler())
            if ctx:
                srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
            self.servers.append(srv)
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            log("serving %s on %s:%d" % ("securely" if ctx else "insecurely", host, port))
        log("Kubernetes %s, etcd servers %s, apiserver-count %d, endpoint reconciler %s, advertise %s"
            % (version_info(self.version)["gitVersion"], self.etcd.servers, self.opts["apiserver-count"],
               self.opts["endpoint-reconciler-type"], self.address))
        write_state("apiserver", {"pid": os.getpid(), "flags": self.opts})
        sd_notify("READY=1")
        signal.signal(signal.SIGTERM, lambda *a: self.shutdown())
        signal.signal(signal.SIGINT, lambda *a: self.shutdown())
        while True:
            signal.pause()

    def shutdown(self):
        if self.shutting_down:
            return
        self.shutting_down = True  # /readyz fails at once
        delay = self.opts["shutdown-delay-duration"]
        log("received SIGTERM: /readyz now fails, listeners close in %.1fs" % delay)
        sd_notify("STOPPING=1")

        def finish():
            time.sleep(delay)
            for srv in self.servers:
                srv.shutdown()
                srv.server_close()
            self.stop.set()
            if self.lease:
                try:
                    self.etcd.revoke(self.lease)
                except OSError:
                    pass
            log("stopped")
            os._exit(0)

        threading.Thread(target=finish, daemon=True).start()


# ---------------------------------------------------------------- scheduler / controller-manager
def run_elected(component, opts):
    name = "kube-" + component
    identity = "%s_%d" % (socket.gethostname(), os.getpid())
    master = api_server_url(component, opts)
    retry = opts["leader-elect-retry-period"]
    if not opts["leader-elect"]:
        log("%s: leader election disabled, active" % name)
        write_state(component, {"role": "active", "leader_elect": False, "identity": identity, "master": master})
        sd_notify("READY=1")
        while True:
            time.sleep(3600)
    log("%s: attempting to acquire leader lease kube-system/%s via %s" % (name, name, master))
    sd_notify("READY=1")
    lease, role = None, None
    ttl = max(1, int(opts["leader-elect-lease-duration"]))
    while True:
        try:
            status, body = http_get(
                "%s/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/%s" % (master, name),
                data={"holderIdentity": identity, "leaseDurationSeconds": ttl, "etcdLease": lease}, method="POST",
            )
            data = json.loads(body)
            lease = data.get("etcdLease") if status == 200 else None
            new_role = "leader" if status == 200 else "standby"
            holder = data.get("spec", {}).get("holderIdentity", "")
        except (OSError, ValueError) as err:
            new_role, holder, lease = "standby", "", None
            log("%s: error retrieving lease: %s" % (name, err))
        if new_role != role:
            log("%s: successfully acquired lease kube-system/%s" % (name, name) if new_role == "leader"
                else "%s: lease kube-system/%s is held by %r, standing by" % (name, name, holder))
            role = new_role
        write_state(component, {"role": role, "leader_elect": True, "identity": identity,
                                "holder": holder, "master": master})
        time.sleep(retry)


# ---------------------------------------------------------------- kubelet: static pods
POD_STATE_DIR = os.path.join(STATE_DIR, "pods")
JOURNAL_STREAM = "/run/systemd/journal/stdout"
SYNC_INTERVAL = 1.0
BACKOFF_INITIAL, BACKOFF_MAX = 1.0, 10.0  # like CrashLoopBackOff (the real one: 10 s doubling to 5 min)
BACKOFF_RESET = 60.0  # a container that ran this long starts again at the initial backoff
DEFAULT_GRACE = 30
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")


def static_pod_path(opts, version):
    """--pod-manifest-path, else staticPodPath of the --config KubeletConfiguration
    (before 1.10 --config was itself the manifest path)."""
    if opts.get("pod-manifest-path"):
        return opts["pod-manifest-path"]
    if not opts.get("config"):
        return ""
    if version < (1, 10, 0):
        return opts["config"]
    try:
        config = load_document(opts["config"]) or {}
        return config.get("staticPodPath", "") if isinstance(config, dict) else ""
    except (OSError, ValueError) as err:
        raise FlagError("failed to load kubelet config file %s: %s" % (opts["config"], err)) from None


def parse_pod(data):
    """(name, grace seconds, [(container, argv, env)]) of a static pod manifest;
    ValueError when it is not a usable Pod."""
    try:
        pod = yaml.safe_load(data) if yaml else json.loads(data)
    except Exception as err:  # noqa: BLE001  any YAML error means "not a pod"
        raise ValueError("cannot decode: %s" % str(err).replace("\n", " ")) from None
    if not isinstance(pod, dict) or pod.get("kind") != "Pod":
        raise ValueError("not a Pod object (kind %r)" % (pod.get("kind") if isinstance(pod, dict) else None))
    name = (pod.get("metadata") or {}).get("name")
    if not isinstance(name, str) or not _DNS_LABEL.fullmatch(name):
        raise ValueError("invalid metadata.name %r" % (name,))
    spec = pod.get("spec") or {}
    grace = spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE)
    if not isinstance(grace, int) or grace < 0:
        raise ValueError("invalid terminationGracePeriodSeconds %r" % (grace,))
    containers = []
    for ctr in spec.get("containers") or []:
        cname = ctr.get("name") if isinstance(ctr, dict) else None
        if not isinstance(cname, str) or not _DNS_LABEL.fullmatch(cname) or cname in [c[0] for c in containers]:
            raise ValueError("invalid or duplicate container name %r" % (cname,))
        argv = list(ctr.get("command") or []) + list(ctr.get("args") or [])
        if not ctr.get("command") or not all(isinstance(a, str) for a in argv):
            raise ValueError("container %s: command must be a list of strings (the stand-in runs no images)" % cname)
        env = {str(e["name"]): str(e.get("value", "")) for e in ctr.get("env") or [] if isinstance(e, dict) and "name" in e}
        containers.append((cname, argv, env))
    if not containers:
        raise ValueError("spec.containers is empty")
    return name, grace, containers


def process_state(pid):
    """The state letter of ``pid`` (R, S, Z, ...), or "" when there is no such process."""
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return ""


def process_argv(pid):
    """argv of ``pid``; [] when it is gone or a zombie."""
    for _attempt in range(50):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as fh:
                raw = fh.read()
        except OSError:
            return []
        if raw or process_state(pid) in ("", "Z"):
            break
        time.sleep(0.01)  # right after an exec the command line reads empty for an instant
    return [part.decode(errors="replace") for part in raw.split(b"\0")[:-1]]


def argv_matches(pid, argv):
    """Is process ``pid`` (still) running ``argv``? The command may have gone
    through an interpreter (/usr/bin/python3 /usr/bin/kube-apiserver ...)."""
    cmd = process_argv(pid)
    args, program = argv[1:], os.path.basename(argv[0])
    if len(cmd) <= len(args) or (args and cmd[-len(args):] != args):
        return False
    return program in [os.path.basename(c) for c in cmd[:len(cmd) - len(args)][:2]]


class Container:
    def __init__(self, pod, name, argv, env):
        self.pod, self.name, self.argv, self.env = pod, name, argv, env
        self.proc = None  # a Popen for the processes this kubelet started
        self.pid = None
        self.started = 0.0
        self.starts = 0
        self.backoff = 0.0
        self.next_start = 0.0
        self.last_exit = None
        self.reason = "ContainerCreating"

    def running(self):
        if self.pid is None:
            return False
        if self.proc is not None:
            return self.proc.poll() is None
        try:  # adopted: reap it if it happens to be our child, then look at /proc
            os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            pass
        return argv_matches(self.pid, self.argv)

    def status(self):
        return {"state": "running" if self.pid else "waiting", "pid": self.pid, "argv": self.argv,
                "restarts": max(0, self.starts - 1), "reason": None if self.pid else self.reason,
                "last_exit_code": self.last_exit}


class PodSupervisor:
    """What the kubelet does with static pods, on the host: every manifest in
    ``manifest_path`` is a pod whose containers' command + args run as child
    processes (own session, so they outlive a kubelet restart), restarted with
    a backoff when they exit, replaced when the manifest changes, stopped when
    it goes away or no longer parses. Each container is recorded in
    ``state_dir/<pod>/<container>.json`` so a restarted kubelet adopts it."""

    def __init__(self, manifest_path, state_dir=POD_STATE_DIR, journal=JOURNAL_STREAM):
        self.manifest_path = manifest_path
        self.state_dir = state_dir
        self.journal = journal
        self.pods = {}  # name -> {"file", "hash", "grace", "containers": {name: Container}}
        self._reported = set()
        self._adopted = False

    def _report(self, key, message):
        if key not in self._reported:
            self._reported.add(key)
            log(message)

    # -- manifests
    def manifest_files(self):
        path = self.manifest_path
        if path and os.path.isdir(path):
            return [os.path.join(path, f) for f in sorted(os.listdir(path))
                    if not f.startswith(".") and not f.endswith("~") and f.endswith(MANIFEST_SUFFIXES)]
        return [path] if path and os.path.isfile(path) else []

    def desired_pods(self):
        desired = {}
        for path in self.manifest_files():
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError:
                continue  # removed while listing
            digest = hashlib.sha256(data).hexdigest()[:16]
            try:
                name, grace, containers = parse_pod(data)
            except ValueError as err:
                self._report((path, digest), "kubelet: skipping static pod manifest %s: %s" % (path, err))
                continue
            if name in desired:
                self._report((path, digest), "kubelet: %s: pod %s is already defined in %s, skipped"
                             % (path, name, desired[name]["file"]))
                continue
            desired[name] = {"file": path, "hash": digest, "grace": grace, "containers": containers}
        return desired

    # -- processes
    def _record_path(self, pod, container):
        return os.path.join(self.state_dir, pod, container + ".json")

    def _output(self, ctr):
        """A journal stream named <pod>/<container> (what journalctl shows as the
        line prefix; it outlives the kubelet, like a container's log), else a file."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.journal)
            sock.shutdown(socket.SHUT_RD)
            sock.sendall(("%s/%s\n\n6\n0\n0\n0\n0\n" % (ctr.pod, ctr.name)).encode())
            return sock.detach()
        except OSError:
            sock.close()
            return os.open(os.path.join(self.state_dir, ctr.pod, ctr.name + ".log"),
                           os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    @staticmethod
    def _scoped(ctr):
        """Under systemd, each container runs in a scope of its own (systemd-run execs the
        command: the pid stays), as containerd's are: the kubelet unit keeps KillMode=process
        (containers outlive a kubelet restart), and a shutdown of the host stops the
        containers with SIGTERM like any unit instead of leaving them to the last stage."""
        if not (os.path.isdir("/run/systemd/system") and shutil.which("systemd-run")):
            return []
        return ["systemd-run", "--scope", "--quiet", "--collect",
                "--description=static pod %s container %s (kubeha lab stand-in)" % (ctr.pod, ctr.name)]

    def _start(self, ctr, pod):
        os.makedirs(os.path.join(self.state_dir, ctr.pod), exist_ok=True)
        env = dict(os.environ, **ctr.env)
        env.pop("NOTIFY_SOCKET", None)  # the kubelet unit's notifications are the kubelet's
        out = self._output(ctr)
        ctr.starts += 1
        ctr.started = time.monotonic()
        try:
            ctr.proc = subprocess.Popen(self._scoped(ctr) + ctr.argv, stdin=subprocess.DEVNULL, stdout=out,
                                        stderr=out, env=env, cwd="/", start_new_session=True, close_fds=True)
        except OSError as err:
            log("kubelet: pod %s: container %s failed to start: %s" % (ctr.pod, ctr.name, err))
            self._exited(ctr, 128, "StartError")
            return
        finally:
            os.close(out)
        ctr.pid = ctr.proc.pid
        log("kubelet: pod %s: started container %s (pid %d)" % (ctr.pod, ctr.name, ctr.pid))
        record = {"pod": ctr.pod, "container": ctr.name, "pid": ctr.pid, "hash": pod["hash"],
                  "argv": ctr.argv, "started": time.time()}
        tmp = self._record_path(ctr.pod, "." + ctr.name)
        with open(tmp, "w") as fh:
            json.dump(record, fh)
        os.replace(tmp, self._record_path(ctr.pod, ctr.name))

    def _exited(self, ctr, code, reason="CrashLoopBackOff"):
        now = time.monotonic()
        if now - ctr.started >= BACKOFF_RESET:
            ctr.backoff = 0.0
        ctr.backoff = min(ctr.backoff * 2, BACKOFF_MAX) if ctr.backoff else BACKOFF_INITIAL
        ctr.next_start = now + ctr.backoff
        ctr.proc, ctr.pid, ctr.last_exit, ctr.reason = None, None, code, reason
        if reason == "CrashLoopBackOff":
            log("kubelet: pod %s: container %s exited with code %s, restarting in %.0fs"
                % (ctr.pod, ctr.name, code, ctr.backoff))

    @staticmethod
    def _terminate(procs, grace):
        """SIGTERM ``procs`` [(pid, argv, Popen or None)], SIGKILL what is left after ``grace`` s."""
        def alive(pid, argv, proc):
            if proc is not None:
                return proc.poll() is None
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            return argv_matches(pid, argv)

        def send(pid, sig):
            try:
                os.killpg(pid, sig) if os.getpgid(pid) == pid else os.kill(pid, sig)
            except ProcessLookupError:
                pass

        procs = [p for p in procs if alive(*p)]
        for pid, _argv, _proc in procs:
            send(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while procs and time.monotonic() < deadline:
            time.sleep(0.05)
            procs = [p for p in procs if alive(*p)]
        for pid, _argv, proc in procs:
            send(pid, signal.SIGKILL)
            if proc is not None:
                proc.wait()

    def stop_pod(self, name):
        pod = self.pods.pop(name)
        ctrs = pod["containers"].values()
        self._terminate([(c.pid, c.argv, c.proc) for c in ctrs if c.pid], pod["grace"])
        shutil.rmtree(os.path.join(self.state_dir, name), ignore_errors=True)
        log("kubelet: stopped pod %s" % name)

    def stop_all(self):
        for name in list(self.pods):
            self.stop_pod(name)

    # -- adoption after a kubelet restart
    def _adopt(self, desired):
        stale = []
        names = os.listdir(self.state_dir) if os.path.isdir(self.state_dir) else []
        for pod_name in names:
            if not os.path.isdir(os.path.join(self.state_dir, pod_name)):
                continue
            want = desired.get(pod_name)
            for entry in os.listdir(os.path.join(self.state_dir, pod_name)):
                if entry.startswith(".") or not entry.endswith(".json"):
                    continue
                path = os.path.join(self.state_dir, pod_name, entry)
                try:
                    with open(path) as fh:
                        rec = json.load(fh)
                    pid, argv, digest = int(rec["pid"]), list(rec["argv"]), rec["hash"]
                except (OSError, ValueError, KeyError, TypeError):
                    os.unlink(path)
                    continue
                if not argv_matches(pid, argv):
                    os.unlink(path)
                    continue
                spec = [c for c in (want or {}).get("containers", []) if c[0] == entry[:-5]]
                if want and digest == want["hash"] and spec and spec[0][1] == argv:
                    pod = self._pod(pod_name, want)
                    ctr = pod["containers"][spec[0][0]]
                    ctr.pid, ctr.starts, ctr.started = pid, 1, time.monotonic()
                    log("kubelet: pod %s: adopted running container %s (pid %d)" % (pod_name, ctr.name, pid))
                else:
                    stale.append((pid, argv, None))
                    os.unlink(path)
            if want is None:
                shutil.rmtree(os.path.join(self.state_dir, pod_name), ignore_errors=True)
        if stale:
            log("kubelet: stopping %d container(s) of outdated or removed pods" % len(stale))
            self._terminate(stale, DEFAULT_GRACE)

    def _pod(self, name, want):
        if name not in self.pods:
            self.pods[name] = {"file": want["file"], "hash": want["hash"], "grace": want["grace"],
                               "containers": {c: Container(name, c, argv, env) for c, argv, env in want["containers"]}}
        return self.pods[name]

    # -- one pass
    def sync(self):
        desired = self.desired_pods()
        if not self._adopted:
            self._adopted = True
            self._adopt(desired)
        for name in list(self.pods):
            want = desired.get(name)
            if want is None or want["hash"] != self.pods[name]["hash"]:
                log("kubelet: static pod %s %s" % (name, "removed" if want is None else "changed, recreating it"))
                self.stop_pod(name)
        now = time.monotonic()
        for name, want in desired.items():
            pod = self._pod(name, want)
            for ctr in pod["containers"].values():
                if ctr.pid is not None:
                    if not ctr.running():
                        self._exited(ctr, ctr.proc.returncode if ctr.proc else None)
                elif now >= ctr.next_start:
                    self._start(ctr, pod)

    def status(self):
        return {name: {"file": pod["file"], "hash": pod["hash"],
                       "containers": {c.name: c.status() for c in pod["containers"].values()}}
                for name, pod in self.pods.items()}


# ---------------------------------------------------------------- kubelet / kube-proxy
def run_node_agent(component, opts, version):
    server = api_server_url(component, opts)
    supervisor = PodSupervisor(static_pod_path(opts, version)) if component == "kubelet" else None
    log("%s: using API server %s%s" % (component, server, ", static pods from %s" % supervisor.manifest_path
                                       if supervisor and supervisor.manifest_path else ""))
    api = {"ok": False}

    def poll_api():
        while True:
            try:
                status, _body = http_get(server + "/healthz")
                api["ok"] = status == 200
            except OSError:
                api["ok"] = False
            time.sleep(2)

    threading.Thread(target=poll_api, daemon=True).start()
    sd_notify("READY=1")
    while True:
        state = {"api_server": server, "api_ok": api["ok"]}
        if supervisor:
            try:
                supervisor.sync()
            except OSError as err:
                log("kubelet: sync: %s" % err)
            state.update(manifest_path=supervisor.manifest_path, pods=supervisor.status())
        write_state(component, state)
        time.sleep(SYNC_INTERVAL if supervisor else 2)


def main(argv):
    if len(argv) < 2 or argv[1] not in FLAGS:
        sys.stderr.write("usage: kube_standin.py {%s} [flags]\n" % "|".join(sorted(FLAGS)))
        return 2
    component = argv[1]
    version = read_version()
    try:
        opts = parse_flags(component, argv[2:], version)
        if opts.get("version"):
            print("Kubernetes %s" % version_info(version)["gitVersion"])
            return 0
        if component == "apiserver":
            ApiServer(opts, version).serve()
        elif component in ("scheduler", "controller-manager"):
            run_elected(component, opts)
        else:
            run_node_agent(component, opts, version)
    except FlagError as err:
        sys.stderr.write("Error: %s\n" % err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
