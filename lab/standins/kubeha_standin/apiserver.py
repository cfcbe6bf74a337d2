# KUBEHA LAB STAND-IN -- NOT KUBERNETES. See lab/standins/kubeha_standin/__init__.py.
"""kube-apiserver: TLS and the legacy insecure port, authentication and authorization
(auth.py), health, version, the objects the lab's clients use (store.py), the "kubernetes"
endpoints (endpoints.py), service-account tokens (TokenRequest)."""

from __future__ import annotations

import json
import math
import re
import os
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

from .auth import UNSECURED, Authenticator, Authorizer, TokenSigner, forbidden_message, node_restriction
from .core import (READYZ_DELAY_FILE, RECONCILE_INTERVAL, FlagError, go_strerror, log, sd_notify, version_info,
                   write_state)
from .endpoints import endpoints_object, lease_reconcile, master_count_reconcile
from .etcd import Etcd
from .flags import RECONCILERS
from .store import RESOURCES, ApiError, Store, daemonset_status, now_rfc3339

# The apiserver's own key under masterleases/: its lease and how often it is renewed
# (kube-apiserver's DefaultEndpointReconcilerTTL and DefaultEndpointReconcilerInterval).
LEASE_TTL = 15
LEASE_RENEW_INTERVAL = 10.0
# How long requests under way may take to finish after SIGTERM (kube-apiserver's
# --request-timeout, 1m0s by default, bounds its http.Server.Shutdown).
REQUEST_TIMEOUT = 60


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

    def __init__(self, address, handler, context=None):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.context = context
        # Open connections, by the thread that serves each: [socket, state, since], state
        # "new" (TLS handshake, first request line), "active" (a request under way) or
        # "idle" (kept alive between requests). For drain().
        self.connections = {}
        self.connections_lock = threading.Lock()
        self.draining = False
        self._serving = threading.local()  # the connection a request thread serves
        super().__init__(address, handler)

    def connection_state(self, state, sock=None, key=None):
        """Record the state of a connection (by default the calling thread's; None: it is
        closed). A "new" connection keeps the time it was accepted (Go's 5 s count from
        there); ``sock`` replaces the socket to shut down (the TLS one once wrapped)."""
        key = key if key is not None else getattr(self._serving, "key", None)
        if key is None:
            return
        with self.connections_lock:
            if state is None:
                self.connections.pop(key, None)
            elif key in self.connections:
                entry = self.connections[key]
                if not (state == "new" and entry[1] == "new"):
                    entry[2] = time.monotonic()
                entry[1] = state
                if sock is not None:
                    entry[0] = sock
            else:
                self.connections[key] = [sock, state, time.monotonic()]

    def stop_listening(self):
        """Close the listener as Go's http.Server.Shutdown does first. serve_forever() only
        notices the stop at its next poll and accepts nothing in between: what queued up
        meanwhile is accepted and served here, where a plain close would reset it (HAProxy
        logs "SD", its client reads EOF). What comes after the close is refused, which a
        load balancer retries on another server."""
        self.shutdown()
        self.socket.setblocking(False)
        while True:
            try:
                request, client_address = self.socket.accept()
            except OSError:  # BlockingIOError: the queue is empty
                break
            request.setblocking(True)
            self.process_request(request, client_address)
        self.server_close()

    def drain(self, timeout):
        """What Go's http.Server.Shutdown does once the listener is closed (kube-apiserver
        calls it on SIGTERM, bounded by --request-timeout, 60 s by default: k8s.io/apiserver
        pkg/server/secure_serving.go RunServer): idle kept-alive connections are closed, and
        new ones that sent no request for 5 s (net/http closeIdleConns); a request under way
        is answered (with Connection: close) before its connection closes. True when every
        connection closed in time."""
        self.draining = True
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            with self.connections_lock:
                open_conns = list(self.connections.values())
            if not open_conns:
                return True
            if now >= deadline:
                return False
            for sock, state, since in open_conns:
                if state == "idle" or (state == "new" and now - since >= 5.0):
                    try:
                        # socket.socket's own shutdown: the thread reading it sees EOF (an
                        # SSLSocket's would also drop its TLS state under that thread).
                        socket.socket.shutdown(sock, socket.SHUT_RDWR)
                    except OSError:
                        pass
            time.sleep(0.05)

    def process_request(self, request, client_address):
        # Recorded by the accepting thread, before the request's thread starts: drain() never
        # misses a connection that was accepted (stop_listening() accepts the last ones).
        self.connection_state("new", request, key=id(request))
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        self._serving.key = id(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.connection_state(None)

    def handle_error(self, request, client_address):
        """A client that went away in the middle of its answer (HAProxy's health checks close
        once they read the status line) is no error of the server: Go's net/http says nothing
        either. Anything else is printed as socketserver does."""
        if isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError, socket.timeout)):
            return
        super().handle_error(request, client_address)

    def finish_request(self, request, client_address):
        """The TLS handshake happens here, in the request's own thread (not in accept(),
        where one slow or frozen client would hold up every other)."""
        if self.context is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(10)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        tls.settimeout(None)
        self.connection_state("new", tls)
        try:
            super().finish_request(tls, client_address)
        finally:
            tls.close()


# /api/v1/namespaces/<ns>/<resource>[/<name>[/<subresource>]] and /apis/<group>/<version>/namespaces/...
_RESOURCE_PATH = re.compile(r"^/(?:api/v1|apis/(?P<group>[^/]+)/[^/]+)/namespaces/(?P<ns>[^/]+)/(?P<resource>[^/]+)"
                            r"(?:/(?P<name>[^/]+)(?:/(?P<sub>[^/]+))?)?$")
_VERBS = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
UNAUTHORIZED = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized",
                "reason": "Unauthorized", "code": 401}


def _read_file(flag, path, what):
    """Read a file the apiserver needs at start, failing as kube-apiserver does."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as err:
        raise FlagError("%s: open %s: %s" % (what, path, go_strerror(err))) from None


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
        # Files are read now, as the process user (User= of the unit): an unreadable one stops it.
        if opts.get("client-ca-file"):
            _read_file("client-ca-file", opts["client-ca-file"], "unable to load client CA file")
        self.authn = Authenticator(opts)
        self.authz = Authorizer(opts)
        plugins = "%s,%s" % (opts.get("enable-admission-plugins") or "", opts.get("admission-control") or "")
        self.node_restriction = "NodeRestriction" in plugins.split(",")
        self.signer = None
        if opts.get("service-account-signing-key-file"):
            _read_file("service-account-signing-key-file", opts["service-account-signing-key-file"],
                       "failed to parse service-account-signing-key-file")
            self.signer = TokenSigner(opts["service-account-signing-key-file"],
                                      (opts.get("service-account-issuer") or "").split(",")[0])
        try:
            self.etcd = Etcd(opts["etcd-servers"], opts.get("etcd-cafile", ""),
                             opts.get("etcd-certfile", ""), opts.get("etcd-keyfile", ""))
        except (OSError, ssl.SSLError) as err:
            raise FlagError("cannot load the etcd client TLS files: %s" % err) from None
        self.prefix = opts["etcd-prefix"].rstrip("/")
        self.store = Store(self.etcd, self.prefix)
        self.endpoints_key = "%s/services/endpoints/default/kubernetes" % self.prefix
        self.address = opts["advertise-address"] or self._guess_address()
        self.ports = [{"name": "https", "port": opts["secure-port"], "protocol": "TCP"}]
        self.etcd_ok = False
        self.shutting_down = False
        self.probe_delay = ProbeDelay()
        self.stop = threading.Event()
        self.lease = None
        self.servers = []
        self.tls = self._tls_context()

    def _guess_address(self):
        try:
            return socket.gethostbyname(socket.gethostname())
        except OSError:
            return "127.0.0.1"

    def _tls_context(self):
        cert, key = self.opts["tls-cert-file"], self.opts["tls-private-key-file"]
        if not cert:
            # Like the real apiserver: a self-signed serving certificate in --cert-dir.
            cert = os.path.join(self.opts["cert-dir"], "apiserver.crt")
            key = os.path.join(self.opts["cert-dir"], "apiserver.key")
            if not os.path.exists(cert):
                try:
                    os.makedirs(self.opts["cert-dir"], exist_ok=True)
                    subprocess.run(
                        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365",
                         "-subj", "/CN=%s@kubeha-standin" % socket.gethostname(), "-keyout", key, "-out", cert],
                        check=True, capture_output=True,
                    )
                except (OSError, subprocess.CalledProcessError) as err:
                    raise FlagError("Unable to generate self signed cert: %s" % err) from None
        for path in (cert, key):
            _read_file("tls", path, "unable to load server certificate")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            ctx.load_cert_chain(cert, key or None)
        except (OSError, ssl.SSLError) as err:
            raise FlagError("unable to load server certificate %s: %s" % (cert, err)) from None
        if self.opts.get("client-ca-file"):
            # Ask for a client certificate; one signed by --client-ca-file authenticates.
            ctx.load_verify_locations(cafile=self.opts["client-ca-file"])
            ctx.verify_mode = ssl.CERT_OPTIONAL
        return ctx

    # -------------------------------------------------------------- requests
    def handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            secure = True
            # TCP_NODELAY, as Go sets it on every connection: without it the body, written
            # after the headers, waits for the client's delayed ACK (40 ms a request).
            disable_nagle_algorithm = True

            def log_message(self, fmt, *args):  # quiet: probes every second
                pass

            def handle(self):
                """Requests on this connection until it closes; between two it is idle (the
                server's drain() closes idle connections)."""
                self.close_connection = True
                self.handle_one_request()
                while not self.close_connection and not self.server.draining:
                    self.server.connection_state("idle")
                    self.handle_one_request()

            def parse_request(self):
                self.server.connection_state("active")  # its request line has come
                return super().parse_request()

            def reply(self, code, body, ctype="text/plain"):
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", ctype if isinstance(body, str) else "application/json")
                self.send_header("Content-Length", str(len(data)))
                if self.server.draining:
                    self.send_header("Connection", "close")  # Go's net/http once Shutdown began
                self.end_headers()
                self.wfile.write(data)

            def body(self):
                try:
                    return json.loads(self.raw_body or b"{}")
                except ValueError:
                    raise ApiError(400, "BadRequest", "the body of the request could not be decoded as JSON") from None

            def identity(self):
                if not self.secure:
                    return UNSECURED  # the legacy insecure port: no authentication, no authorization
                peer = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
                return api.authn.authenticate(peer, self.headers.get("Authorization"))

            def handle_any(self, method):
                path = self.path.split("?")[0]
                # The body is read whatever the answer: one left unread would be taken for the
                # next request on this (kept-alive) connection.
                length = int(self.headers.get("Content-Length") or 0)
                self.raw_body = self.rfile.read(length) if length else b""
                ident = self.identity()
                if ident is None:
                    self.reply(401, UNAUTHORIZED)
                    return
                verb = _VERBS.get(method, method.lower())
                match = _RESOURCE_PATH.match(path)
                try:
                    if match is None:
                        allowed, reason = api.authz.decide(ident, verb, path=path)
                        if not allowed:
                            raise ApiError(403, "Forbidden", forbidden_message(ident, verb, path=path, reason=reason))
                        if method != "GET":
                            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
                        self.non_resource(path)
                        return
                    group, ns, resource = match.group("group") or "", match.group("ns"), match.group("resource")
                    name, sub = match.group("name") or "", match.group("sub") or ""
                    allowed, reason = api.authz.decide(ident, verb, group=group, resource=resource, namespace=ns,
                                                       name=name, subresource=sub)
                    if not allowed:
                        raise ApiError(403, "Forbidden", forbidden_message(ident, verb, group=group, resource=resource,
                                                                           namespace=ns, name=name, subresource=sub,
                                                                           reason=reason),
                                       {"name": name, "group": group, "kind": resource})
                    body = self.body() if method in ("POST", "PUT", "PATCH") else None
                    refused = node_restriction(ident, group, resource, ns, name, body) if api.node_restriction else None
                    if refused:
                        raise ApiError(403, "Forbidden", refused, {"name": name or str(((body or {}).get("metadata") or {})
                                                                                       .get("name") or ""),
                                                                   "group": group, "kind": resource})
                    code, obj = api.resource(method, group, ns, resource, name, sub, body)
                    self.reply(code, obj)
                except ApiError as err:
                    self.reply(err.code, err.status())
                except (OSError, KeyError, ValueError) as err:
                    self.reply(503, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 503,
                                     "reason": "ServiceUnavailable", "message": str(err)})

            def non_resource(self, path):
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
                else:
                    self.reply(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404,
                                     "reason": "NotFound", "message": "the server could not find the requested resource"})

            def do_GET(self):  # noqa: N802
                self.handle_any("GET")

            def do_POST(self):  # noqa: N802
                self.handle_any("POST")

            def do_PUT(self):  # noqa: N802
                self.handle_any("PUT")

            def do_PATCH(self):  # noqa: N802
                self.handle_any("PATCH")

        return Handler

    def resource(self, method, group, ns, resource, name, sub, body):
        """(HTTP code, object) of a request on a namespaced resource."""
        if resource == "serviceaccounts" and sub == "token" and method == "POST":
            return 201, self.token_request(ns, name, body or {})
        if (group, resource) not in RESOURCES or sub:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if group == "" and resource == "endpoints" and ns == "default" and name == "kubernetes" and method == "GET":
            return 200, self.endpoints()
        if method == "GET":
            if not name:
                items = self.store.list_prefix(group, resource, ns)
                return 200, {"kind": RESOURCES[(group, resource)][0] + "List", "apiVersion": RESOURCES[(group, resource)][1],
                             "metadata": {}, "items": items}
            obj = self.store.get(group, resource, ns, name)
            if resource == "daemonsets":
                obj["status"] = daemonset_status(obj, self.store.list_prefix("", "pods", ns),
                                                 self.store.list_prefix("coordination.k8s.io", "leases", "kube-node-lease"))
            return 200, obj
        if method == "POST" and not name:
            return 201, self.store.create(group, resource, ns, body)
        if method == "PUT" and name:
            if (body.get("metadata") or {}).get("name", name) != name:
                raise ApiError(400, "BadRequest", "the name of the object (%s) does not match the name on the URL (%s)"
                               % (body["metadata"]["name"], name))
            return 200, self.store.update(group, resource, ns, name, body)
        if method == "PATCH" and name:
            return 200, self.store.patch(group, resource, ns, name, body)
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def token_request(self, ns, name, body):
        if self.signer is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        seconds = int((body.get("spec") or {}).get("expirationSeconds") or 3600)
        token, exp = self.signer.issue(ns, name, seconds, (body.get("spec") or {}).get("audiences"))
        return {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"name": name, "namespace": ns, "creationTimestamp": now_rfc3339()},
                "spec": body.get("spec") or {},
                "status": {"token": token, "expirationTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exp))}}

    # -------------------------------------------------------------- the kubernetes endpoints
    def live_apiservers(self):
        """Addresses of the apiservers registered in etcd (their leases have not expired)."""
        return sorted(self.etcd.get_prefix("%s/masterleases/" % self.prefix).values())

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
        """etcd's health every second (what /readyz reports), and this apiserver's address
        under masterleases/ at start and then every 10 s with a 15 s lease, as kube-apiserver
        does (pkg/controlplane/instance.go: DefaultEndpointReconcilerInterval 10 s,
        DefaultEndpointReconcilerTTL 15 s); a key that was lost comes back at the next renewal."""
        key = "%s/masterleases/%s" % (self.prefix, self.address)
        next_renewal = 0.0
        while not self.stop.is_set():
            self.etcd_ok = self.etcd.healthy()
            if time.monotonic() >= next_renewal or self.lease is None:
                try:
                    if self.lease is None:
                        self.lease = self.etcd.grant(LEASE_TTL)
                    else:
                        self.etcd.keepalive(self.lease)
                    self.etcd.put(key, self.address, self.lease)
                    next_renewal = time.monotonic() + LEASE_RENEW_INTERVAL
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

    # -------------------------------------------------------------- life cycle
    def serve(self):
        threading.Thread(target=self.register_loop, daemon=True).start()
        threading.Thread(target=self.reconcile_loop, daemon=True).start()
        listeners = [(self.opts["bind-address"], self.opts["secure-port"], self.tls)]
        if self.opts.get("insecure-port"):
            listeners.append((self.opts["insecure-bind-address"], self.opts["insecure-port"], None))
        for host, port, ctx in listeners:
            handler = self.handler()
            handler.secure = ctx is not None
            try:
                srv = Server((host, port), handler, ctx)
            except OSError as err:
                raise FlagError("failed to listen on %s:%d: %s" % (host, port, err)) from None
            self.servers.append(srv)
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            log("serving %s on %s:%d" % ("securely" if ctx else "insecurely", host, port))
        log("Kubernetes %s, etcd servers %s, apiserver-count %d, endpoint reconciler %s, advertise %s, anonymous auth %s"
            % (version_info(self.version)["gitVersion"], self.etcd.servers, self.opts["apiserver-count"],
               self.opts["endpoint-reconciler-type"], self.address, self.authn.anonymous))
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
            # kube-apiserver's pre-shutdown hooks run at once on SIGTERM: it leaves the
            # "kubernetes" endpoints (its masterlease revoked) before the shutdown delay
            # (k8s.io/apiserver pkg/server/genericapiserver.go RunPreShutdownHooks).
            self.stop.set()
            if self.lease:
                try:
                    self.etcd.revoke(self.lease)
                except OSError:
                    pass
            time.sleep(delay)
            for srv in self.servers:
                srv.stop_listening()
            for srv in self.servers:
                srv.draining = True
            deadline = time.monotonic() + REQUEST_TIMEOUT
            for srv in self.servers:
                if not srv.drain(max(0.0, deadline - time.monotonic())):
                    log("connections still open after %ds: closing them" % REQUEST_TIMEOUT)
            log("stopped")
            os._exit(0)

        threading.Thread(target=finish, daemon=True).start()
