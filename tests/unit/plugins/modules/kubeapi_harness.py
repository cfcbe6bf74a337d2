"""Shared harness of the unit tests of the modules that talk to the Kubernetes API over TLS
(test_kubeadm_config.py, test_kubeadm_clients.py, test_apiserver_certificate.py).

- Pki: certificates made with the openssl command in a temporary directory (CAs, server
  certificates with chosen SANs, client certificates).
- FakeKube: a real HTTPS server on 127.0.0.1, in a thread, that authenticates as the
  apiserver does (a client certificate of the cluster CA or a bearer token; 401 without,
  403 for a token that may not) and holds objects in memory with resourceVersions: a PUT
  with a stale one gets 409 Conflict, a PATCH is a JSON merge patch, and a DaemonSet whose
  pod template was patched rolls out one pod per GET.
- TlsServer: a bare TLS server presenting a chosen certificate (and recording the SNI).
- run_ok / run_fail: main() of a module with its arguments, what exit_json/fail_json would
  have printed caught (warnings included).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import pytest
from ansible.module_utils import basic

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core before 2.19

    @contextlib.contextmanager
    def patch_module_args(args):
        with mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()):
            yield


# -- running a module ---------------------------------------------------------------------


class AnsibleExitJson(Exception):
    pass


class AnsibleFailJson(Exception):
    pass


def _run(module, args, check_mode, diff):
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    warnings = []

    def exit_json(self, **kwargs):
        raise AnsibleExitJson(dict(kwargs, warnings=warnings))

    def fail_json(self, msg, **kwargs):
        raise AnsibleFailJson(dict(kwargs, msg=msg, failed=True, warnings=warnings))

    with patch_module_args(args), mock.patch.multiple(
        basic.AnsibleModule, exit_json=exit_json, fail_json=fail_json, warn=lambda self, text: warnings.append(text)
    ):
        with pytest.raises((AnsibleExitJson, AnsibleFailJson)) as caught:
            module.main()
    return caught.value


def run_ok(module, args, check_mode=False, diff=False):
    outcome = _run(module, args, check_mode, diff)
    assert isinstance(outcome, AnsibleExitJson), outcome.args[0]
    return outcome.args[0]


def run_fail(module, args, check_mode=False, diff=False):
    outcome = _run(module, args, check_mode, diff)
    assert isinstance(outcome, AnsibleFailJson), outcome.args[0]
    return outcome.args[0]


# -- certificates ---------------------------------------------------------------------------

_MIN_CNF = "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = x\n"


class Pki:
    """CAs and certificates (EC P-256, for speed) made with the openssl command in ``root``."""

    def __init__(self, root):
        self.root = str(root)
        self.cnf = os.path.join(self.root, "min.cnf")
        with open(self.cnf, "w") as fh:
            fh.write(_MIN_CNF)
        self._serial = 1000

    def _openssl(self, *argv):
        subprocess.run(["openssl"] + list(argv), check=True, capture_output=True)

    def _path(self, name, ext):
        return os.path.join(self.root, "%s.%s" % (name, ext))

    def ca(self, name, cn=None):
        crt, key = self._path(name, "crt"), self._path(name, "key")
        self._openssl("req", "-x509", "-config", self.cnf, "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                      "-nodes", "-keyout", key, "-out", crt, "-subj", "/CN=%s" % (cn or name), "-days", "3650",
                      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        return crt, key

    def cert(self, name, ca, cn, dns=(), ips=(), days=365, usage="serverAuth"):
        """A certificate issued by ``ca`` (the (crt, key) of ca()), with the SANs given (none at all when both are empty)."""
        crt, key, csr, ext = (self._path(name, e) for e in ("crt", "key", "csr", "ext"))
        self._openssl("req", "-new", "-config", self.cnf, "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                      "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=%s" % cn)
        sans = ["DNS:%s" % d for d in dns] + ["IP:%s" % i for i in ips]
        with open(ext, "w") as fh:
            fh.write("[ext]\nbasicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = %s\n" % usage)
            if sans:
                fh.write("subjectAltName = %s\n" % ", ".join(sans))
        self._serial += 1
        self._openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-set_serial", str(self._serial),
                      "-days", str(days), "-out", crt, "-extfile", ext, "-extensions", "ext")
        return crt, key


# -- a fake Kubernetes API ------------------------------------------------------------------


def _merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result


def object_path(obj):
    meta = obj["metadata"]
    if obj["kind"] == "ConfigMap":
        return "/api/v1/namespaces/%s/configmaps/%s" % (meta["namespace"], meta["name"])
    if obj["kind"] == "DaemonSet":
        return "/apis/apps/v1/namespaces/%s/daemonsets/%s" % (meta["namespace"], meta["name"])
    raise ValueError(obj["kind"])  # pragma: no cover


def configmap(namespace, name, data):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": dict(data)}


def daemonset(namespace, name, nodes=3, annotations=None, strategy="RollingUpdate"):
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": namespace, "generation": 1, "labels": {"k8s-app": name}},
        "spec": {
            "selector": {"matchLabels": {"k8s-app": name}},
            "updateStrategy": {"type": strategy},
            "template": {
                "metadata": {"labels": {"k8s-app": name}, **({"annotations": dict(annotations)} if annotations else {})},
                "spec": {"containers": [{"name": name, "image": "registry.k8s.io/%s:v1.30.0" % name}]},
            },
        },
        "status": {"observedGeneration": 1, "desiredNumberScheduled": nodes, "currentNumberScheduled": nodes,
                   "updatedNumberScheduled": nodes, "numberAvailable": nodes, "numberReady": nodes},
    }


class FakeKube:
    """Objects, requests and behaviour of the fake API server (the handler reads them under ``lock``)."""

    def __init__(self, token):
        self.token = token
        self.forbidden_token = "forbidden-" + token
        self.lock = threading.Lock()
        self.objects = {}
        self.requests = []        # (method, path with query, content type, parsed body)
        self.conflicts = 0        # that many PUTs find the object written by someone else just before
        self.on_conflict = None   # what that someone else changes: a function of the stored object
        self.rollout_stuck = False
        self._rv = 100
        self.url = None

    def add(self, obj):
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = self._next_rv()
        self.objects[object_path(obj)] = obj
        return obj

    def get(self, path):
        return self.objects[path]

    def writes(self):
        return [r for r in self.requests if r[0] in ("PUT", "PATCH", "POST", "DELETE")]

    def _next_rv(self):
        self._rv += 1
        return str(self._rv)

    # handler side (under the lock)

    def _status(self, code, reason, message):
        return code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                      "message": message, "reason": reason, "code": code}

    def handle(self, method, path, content_type, body):
        path = path.split("?", 1)[0]
        obj = self.objects.get(path)
        if obj is None:
            return self._status(404, "NotFound", "%s not found" % path.rsplit("/", 1)[-1])
        if method == "GET":
            if obj["kind"] == "DaemonSet":
                self._tick(obj)
            return 200, obj
        if method == "PUT":
            if self.conflicts:
                self.conflicts -= 1
                if self.on_conflict:
                    self.on_conflict(obj)
                obj["metadata"]["resourceVersion"] = self._next_rv()
            if (body.get("metadata") or {}).get("resourceVersion") != obj["metadata"]["resourceVersion"]:
                return self._status(409, "Conflict", "Operation cannot be fulfilled on %s: the object has been "
                                    "modified; please apply your changes to the latest version and try again" % path)
            new = copy.deepcopy(body)
            new["metadata"]["resourceVersion"] = self._next_rv()
            self.objects[path] = new
            return 200, new
        if method == "PATCH":
            if content_type != "application/merge-patch+json":
                return self._status(415, "UnsupportedMediaType", "the body of the request was in an unknown format")
            new = _merge_patch(obj, body)
            new["metadata"]["resourceVersion"] = self._next_rv()
            if new.get("spec") != obj.get("spec"):
                new["metadata"]["generation"] = obj["metadata"].get("generation", 1) + 1
            self.objects[path] = new
            return 200, new
        return self._status(405, "MethodNotAllowed", method)  # pragma: no cover

    def _tick(self, obj):
        """One step of the DaemonSet controller: see the new generation, then replace one pod per read."""
        status, generation = obj["status"], obj["metadata"]["generation"]
        if self.rollout_stuck:
            return
        if status["observedGeneration"] < generation:
            status.update(observedGeneration=generation, updatedNumberScheduled=0)
            status["numberAvailable"] = status["desiredNumberScheduled"] - 1
        elif status["updatedNumberScheduled"] < status["desiredNumberScheduled"]:
            status["updatedNumberScheduled"] += 1
            status["numberAvailable"] = min(status["desiredNumberScheduled"], status["updatedNumberScheduled"] + 2)
        else:
            status["numberAvailable"] = status["desiredNumberScheduled"]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _answer(self, code, payload):
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _serve(self):
        kube = self.server.kube
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type")
        body = json.loads(raw) if raw else None
        auth = self.headers.get("Authorization") or ""
        with kube.lock:
            kube.requests.append((self.command, self.path, content_type, body))
            if auth == "Bearer " + kube.forbidden_token:
                code, payload = kube._status(403, "Forbidden", 'configmaps "x" is forbidden: User "system:serviceaccount:'
                                             'default:nobody" cannot get resource "configmaps" in the namespace "kube-system"')
            elif not self.connection.getpeercert() and auth != "Bearer " + kube.token:
                code, payload = kube._status(401, "Unauthorized", "Unauthorized")
            else:
                code, payload = kube.handle(self.command, self.path, content_type, body)
        self._answer(code, payload)

    do_GET = do_PUT = do_PATCH = _serve


def _server_context(cert, ca=None):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*cert)
    if ca:
        context.verify_mode = ssl.CERT_OPTIONAL
        context.load_verify_locations(ca)
    return context


@contextlib.contextmanager
def fake_kube(pki_dir, server_cert, ca, token="s3cr3t-token"):
    """A running FakeKube on https://127.0.0.1:<port>; ``server_cert`` is (crt, key), ``ca`` the CA of client certificates."""
    kube = FakeKube(token)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.kube = kube
    httpd.socket = _server_context(server_cert, ca).wrap_socket(httpd.socket, server_side=True)
    kube.url = "https://127.0.0.1:%d" % httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs=dict(poll_interval=0.05), daemon=True)
    thread.start()
    try:
        yield kube
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def write_kubeconfig(path, server, ca, client=None, token=None):
    """A kubeconfig with file references (the module's credentials), as kubeadm's admin.conf has them embedded."""
    user = {}
    if client:
        user = {"client-certificate": client[0], "client-key": client[1]}
    elif token:
        user = {"token": token}
    doc = {
        "apiVersion": "v1", "kind": "Config", "current-context": "admin@kubernetes",
        "clusters": [{"name": "kubernetes", "cluster": {"server": server, "certificate-authority": ca}}],
        "contexts": [{"name": "admin@kubernetes", "context": {"cluster": "kubernetes", "user": "admin"}}],
        "users": [{"name": "admin", "user": user}],
    }
    with open(path, "w") as fh:
        json.dump(doc, fh)  # JSON is YAML
    return str(path)


def cluster_pki(root):
    """The cluster CA, the fake apiserver's certificate (127.0.0.1, localhost) and an admin client certificate."""
    pki = Pki(root)
    pki.cluster_ca = pki.ca("ca", "kubernetes")
    pki.apiserver = pki.cert("apiserver", pki.cluster_ca, "kube-apiserver", dns=["localhost", "kubernetes"], ips=["127.0.0.1"])
    pki.admin = pki.cert("admin", pki.cluster_ca, "kubernetes-admin", usage="clientAuth")
    return pki


@contextlib.contextmanager
def running_kube(pki, tmp_path):
    """A running fake API (made by cluster_pki) with admin kubeconfigs for it: ``kubeconfig`` (client certificate),
    ``token_kubeconfig``, ``anonymous_kubeconfig`` (no credentials) and ``forbidden_kubeconfig`` (a token answered 403)."""
    with fake_kube(pki.root, pki.apiserver, pki.cluster_ca[0]) as api:
        api.kubeconfig = write_kubeconfig(tmp_path / "admin.conf", api.url, pki.cluster_ca[0], client=pki.admin)
        api.token_kubeconfig = write_kubeconfig(tmp_path / "token.conf", api.url, pki.cluster_ca[0], token=api.token)
        api.anonymous_kubeconfig = write_kubeconfig(tmp_path / "anonymous.conf", api.url, pki.cluster_ca[0])
        api.forbidden_kubeconfig = write_kubeconfig(tmp_path / "forbidden.conf", api.url, pki.cluster_ca[0], token=api.forbidden_token)
        yield api


# -- a bare TLS server ------------------------------------------------------------------------


class TlsServer:
    """Accepts TLS connections on ``host`` and presents ``cert`` ((crt, key)); records the SNI of each handshake."""

    def __init__(self, cert, host="127.0.0.1"):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.address = ("[%s]:%d" if ":" in host else "%s:%d") % (host, self.port)
        self.sni = []
        self.context = _server_context(cert)
        self.context.sni_callback = lambda tls, name, ctx: self.sni.append(name)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _peer = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(2)
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)  # until the client closes
            except (OSError, ssl.SSLError):
                pass
            finally:
                conn.close()

    def close(self):
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@contextlib.contextmanager
def tls_server(cert, host="127.0.0.1"):
    server = TlsServer(cert, host)
    try:
        yield server
    finally:
        server.close()


def closed_port():
    """A port of 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
