# KUBEHA LAB STAND-IN -- NOT KUBERNETES. See lab/standins/kubeha_standin/__init__.py.
"""kube-apiserver: TLS and the legacy insecure port, health, version, endpoints, leases."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

from .core import READYZ_DELAY_FILE, RECONCILE_INTERVAL, FlagError, log, sd_notify, version_info, write_state
from .endpoints import endpoints_object, lease_reconcile, master_count_reconcile
from .etcd import Etcd
from .flags import RECONCILERS


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


