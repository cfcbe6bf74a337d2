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
# It parses the real flag syntax (--flag=value, --flag value, --bool, "_" or
# "-" as word separator) and exits non-zero on an unknown flag, as the real
# binaries do. See README.md, "Kubernetes stand-ins".
#
# Lab fault injection (apiserver): while /run/kubeha-standin/readyz-delay holds
# a number of seconds, every GET /readyz and /healthz waits that long before
# answering (a slow apiserver). The file is read on every request, so tests and
# benchmarks toggle it at runtime: `echo 0.3 > /run/kubeha-standin/readyz-delay`,
# `rm /run/kubeha-standin/readyz-delay`. Other content is ignored (logged once).
"""Lab stand-in for the Kubernetes control-plane and node binaries."""

from __future__ import annotations

import base64
import json
import math
import os
import re
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

VERSION = {"major": "1", "minor": "30", "gitVersion": "v1.30.0-kubeha-standin", "platform": "linux/amd64"}
STATE_DIR = "/run/kubeha-standin"
READYZ_DELAY_FILE = os.path.join(STATE_DIR, "readyz-delay")

BOOL, STR, INT, DURATION = "bool", "str", "int", "duration"
COMMON = {
    "logtostderr": BOOL, "v": INT, "alsologtostderr": BOOL, "log-dir": STR, "kubeconfig": STR,
    "master": STR, "allow-privileged": BOOL, "feature-gates": STR, "profiling": BOOL,
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
    },
    "scheduler": {
        "leader-elect": BOOL, "leader-elect-lease-duration": DURATION,
        "leader-elect-renew-deadline": DURATION, "leader-elect-retry-period": DURATION,
        "leader-elect-resource-lock": STR, "leader-elect-resource-name": STR,
        "port": INT, "secure-port": INT, "address": STR, "bind-address": STR, "config": STR,
        "authentication-kubeconfig": STR, "authorization-kubeconfig": STR,
    },
    "kubelet": {
        "api-servers": STR, "address": STR, "port": INT, "hostname-override": STR,
        "pod-infra-container-image": STR, "config": STR, "cluster-dns": STR, "cluster-domain": STR,
        "pod-manifest-path": STR, "container-runtime-endpoint": STR, "node-ip": STR,
    },
    "proxy": {"bind-address": STR, "hostname-override": STR, "proxy-mode": STR, "config": STR, "cluster-cidr": STR},
}
FLAGS["controller-manager"] = dict(FLAGS["scheduler"], **{
    "service-account-private-key-file": STR, "root-ca-file": STR, "cluster-cidr": STR,
    "cluster-name": STR, "cluster-signing-cert-file": STR, "cluster-signing-key-file": STR,
    "use-service-account-credentials": BOOL, "controllers": STR, "allocate-node-cidrs": BOOL,
})
DEFAULTS = {
    "apiserver": {
        "etcd-servers": "", "etcd-prefix": "/registry", "apiserver-count": 1,
        "endpoint-reconciler-type": "lease", "secure-port": 6443, "insecure-port": 8080,
        "bind-address": "0.0.0.0", "insecure-bind-address": "127.0.0.1", "advertise-address": "",
        "tls-cert-file": "", "tls-private-key-file": "", "cert-dir": "/var/run/kubernetes",
        "shutdown-delay-duration": 0.0,
    },
    "scheduler": {
        "leader-elect": False, "leader-elect-lease-duration": 15.0, "leader-elect-renew-deadline": 10.0,
        "leader-elect-retry-period": 2.0, "master": "http://127.0.0.1:8080",
    },
    "kubelet": {"api-servers": "http://127.0.0.1:8080"},
    "proxy": {"master": "http://127.0.0.1:8080"},
}
DEFAULTS["controller-manager"] = DEFAULTS["scheduler"]
RECONCILERS = ("master-count", "lease", "none")


def log(msg):
    sys.stderr.write("%s kubeha-standin: %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


class FlagError(Exception):
    pass


def parse_duration(text):
    match = re.fullmatch(r"((?:\d+(?:\.\d+)?(?:ms|s|m|h))+)", text)
    if not match:
        if re.fullmatch(r"\d+", text) and int(text) == 0:
            return 0.0
        raise FlagError("invalid duration %r" % text)
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text))


def parse_flags(component, argv):
    spec = dict(COMMON, **FLAGS[component])
    opts = dict(DEFAULTS.get(component, {}))
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


def sd_notify(state):
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return
    if path.startswith("@"):
        path = "\0" + path[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(state.encode(), path)


def write_state(component, data):
    os.makedirs(STATE_DIR, exist_ok=True)
    tmp = os.path.join(STATE_DIR, ".%s.tmp" % component)
    with open(tmp, "w") as fh:
        json.dump(dict(data, time=time.time()), fh)
    os.replace(tmp, os.path.join(STATE_DIR, "%s.json" % component))


def http_get(url, timeout=2.0, data=None, method=None):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # lab stand-in: self-signed serving certificates
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=ctx) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


# ---------------------------------------------------------------- etcd (v3 JSON gateway)
def _b64(text):
    return base64.b64encode(text.encode()).decode()


class Etcd:
    """Minimal etcd v3 client over the JSON gateway, trying each server in turn."""

    def __init__(self, servers):
        self.servers = [s.rstrip("/") for s in servers.split(",") if s]

    def call(self, path, payload, timeout=1.0):
        last = None
        for server in self.servers:
            try:
                status, body = http_get(server + path, timeout=timeout, data=payload, method="POST")
                if status == 200:
                    return json.loads(body or "{}")
                last = "%s%s: HTTP %d %s" % (server, path, status, body[:200])
            except (OSError, ValueError) as err:
                last = "%s%s: %s" % (server, path, err)
        raise OSError(last or "no etcd servers")

    def healthy(self):
        """True when every etcd server answers (what /readyz checks): reachable, not
        necessarily with a leader at this instant (an election takes a second)."""
        if not self.servers:
            return False
        for server in self.servers:
            try:
                status, _body = http_get(server + "/version", timeout=1.0)
            except OSError:
                return False
            if status != 200:
                return False
        return True

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
        kvs = self.call("/v3/kv/range", {"key": _b64(key)}).get("kvs", [])
        return base64.b64decode(kvs[0].get("value", "")).decode() if kvs else None

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
    def __init__(self, opts):
        self.opts = opts
        if opts["endpoint-reconciler-type"] not in RECONCILERS:
            raise FlagError("invalid --endpoint-reconciler-type %r (one of %s)"
                            % (opts["endpoint-reconciler-type"], ", ".join(RECONCILERS)))
        if opts["apiserver-count"] < 1:
            raise FlagError("--apiserver-count must be at least 1")
        if not opts["etcd-servers"]:
            raise FlagError("--etcd-servers must be specified")
        self.etcd = Etcd(opts["etcd-servers"])
        self.prefix = opts["etcd-prefix"].rstrip("/")
        self.address = opts["advertise-address"] or self._guess_address()
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
        ctx.load_cert_chain(cert, key)
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
                    self.reply(200, VERSION)
                elif path == "/api/v1/namespaces/default/endpoints/kubernetes":
                    try:
                        self.reply(200, api.endpoints())
                    except OSError as err:
                        self.reply(503, {"kind": "Status", "status": "Failure", "message": str(err)})
                elif path.startswith("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/"):
                    name = path.rsplit("/", 1)[1]
                    try:
                        holder = api.etcd.get(api.lease_key(name)) or ""
                    except OSError as err:
                        self.reply(503, {"kind": "Status", "message": str(err)})
                        return
                    self.reply(200, {"kind": "Lease", "metadata": {"name": name, "namespace": "kube-system"},
                                     "spec": {"holderIdentity": holder}})
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

    def endpoints(self):
        live = self.live_apiservers()
        return {"kind": "Endpoints", "apiVersion": "v1",
                "metadata": {"name": "kubernetes", "namespace": "default"},
                "subsets": [{"addresses": [{"ip": ip} for ip in live],
                             "ports": [{"name": "https", "port": self.opts["secure-port"], "protocol": "TCP"}]}]}

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
                self.reconcile()
            except (OSError, KeyError, ValueError) as err:
                log("etcd: %s" % err)
                self.lease = None
            self.stop.wait(1.0)

    def reconcile(self):
        if self.opts["endpoint-reconciler-type"] != "master-count":
            return
        live = self.live_apiservers()
        if len(live) != self.opts["apiserver-count"]:
            # What the real master-count reconciler logs when --apiserver-count
            # does not match the number of apiservers.
            log('Resetting endpoints for master service "kubernetes" to %s' % live)

    def serve(self):
        threading.Thread(target=self.register_loop, daemon=True).start()
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
        log("etcd servers %s, apiserver-count %d, endpoint reconciler %s, advertise %s"
            % (self.etcd.servers, self.opts["apiserver-count"], self.opts["endpoint-reconciler-type"], self.address))
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
    master = opts["master"].rstrip("/")
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


# ---------------------------------------------------------------- kubelet / kube-proxy
def run_node_agent(component, opts):
    server = (opts.get("api-servers") if component == "kubelet" else None) or opts.get("master") or ""
    server = server.split(",")[0].rstrip("/")
    log("%s: using API server %s" % (component, server))
    sd_notify("READY=1")
    while True:
        try:
            status, _body = http_get(server + "/healthz")
            ok = status == 200
        except OSError:
            ok = False
        write_state(component, {"api_server": server, "api_ok": ok})
        time.sleep(2)


def main(argv):
    if len(argv) < 2 or argv[1] not in FLAGS:
        sys.stderr.write("usage: kube_standin.py {%s} [flags]\n" % "|".join(sorted(FLAGS)))
        return 2
    component = argv[1]
    try:
        opts = parse_flags(component, argv[2:])
        if component == "apiserver":
            ApiServer(opts).serve()
        elif component in ("scheduler", "controller-manager"):
            run_elected(component, opts)
        else:
            run_node_agent(component, opts)
    except FlagError as err:
        sys.stderr.write("Error: %s\n" % err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
