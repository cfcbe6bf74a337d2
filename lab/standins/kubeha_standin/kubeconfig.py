# KUBEHA LAB STAND-IN -- NOT KUBERNETES. See lab/standins/kubeha_standin/__init__.py.
"""Kubeconfig files and an API client that verifies and authenticates as client-go does.

client-go (every Kubernetes component and kubectl) verifies the server's certificate
against the CA of its kubeconfig (certificate-authority or -data; the system roots when
neither is given) and the host of its `server:` URL: an IP address must be among the
certificate's IP SANs, a name among its DNS SANs; the Common Name is never used (Go 1.15
and later). It authenticates with the kubeconfig's client certificate (client-certificate
/-key or their -data) or bearer token (token, tokenFile). Failures read as Go prints them
(crypto/x509 HostnameError, UnknownAuthorityError; "tls: failed to verify certificate: "
in front from Go 1.20, i.e. Kubernetes 1.27), e.g.

  Get "https://10.0.0.100:8443/healthz": tls: failed to verify certificate: x509:
  certificate is valid for 10.96.0.1, 10.0.0.11, not 10.0.0.100
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import socket
import ssl
import tempfile
import threading
import urllib.parse

from .core import LEGACY_MASTER, FlagError

try:  # python3-yaml (kubeconfigs, KubeletConfiguration, static pod manifests)
    import yaml
except ImportError:  # pragma: no cover - JSON documents still work
    yaml = None


def load_document(path):
    """A YAML (or JSON) file as Python data; ValueError when it does not parse."""
    with open(path, "rb") as fh:
        data = fh.read()
    if yaml is None:
        return json.loads(data)
    try:
        return yaml.safe_load(data)
    except yaml.YAMLError as err:  # not a ValueError: the callers' start errors would miss it
        raise ValueError(" ".join(str(err).split())) from None


class ClientError(Exception):
    """A request that did not get an HTTP answer; the message is client-go's."""


# ---------------------------------------------------------------- Go's certificate errors
def _decode_der(der):
    """subjectAltName of a DER certificate as (DNS names, IP addresses)."""
    fd, path = tempfile.mkstemp(prefix="kubeha-peer-", suffix=".pem")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(ssl.DER_cert_to_PEM_cert(der))
        info = ssl._ssl._test_decode_cert(path)  # noqa: SLF001  (CPython's own decoder, no dependency)
    finally:
        os.unlink(path)
    dns = [v for k, v in info.get("subjectAltName", ()) if k == "DNS"]
    ips = [str(ipaddress.ip_address(v.strip())) for k, v in info.get("subjectAltName", ()) if k == "IP Address"]
    return dns, ips


def peer_certificate_names(host, port, timeout=3.0):
    """The SANs of the certificate a TLS server presents (read without verifying it)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=None if _is_ip(host) else host) as tls:
            return _decode_der(tls.getpeercert(binary_form=True))


def _is_ip(host):
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def go_hostname_error(host, dns, ips):
    """crypto/x509 HostnameError.Error() for a certificate with these SANs."""
    if _is_ip(host):
        if not ips:
            return "x509: cannot validate certificate for %s because it doesn't contain any IP SANs" % host
        valid = ", ".join(ips)
    else:
        valid = ", ".join(dns)
    if not valid:
        return "x509: certificate is not valid for any names, but wanted to match %s" % host
    return "x509: certificate is valid for %s, not %s" % (valid, str(ipaddress.ip_address(host)) if _is_ip(host) else host)


def go_verify_error(err, host, port, version):
    """The Go text of an OpenSSL verification error ``err`` (ssl.SSLCertVerificationError)."""
    code = getattr(err, "verify_code", None)
    if code in (62, 64):  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
        try:
            dns, ips = peer_certificate_names(host, port)
            text = go_hostname_error(host, dns, ips)
        except (OSError, ValueError, ssl.SSLError):
            text = "x509: certificate is not valid for %s" % host
    elif code in (9, 10):
        text = "x509: certificate has expired or is not yet valid"
    else:  # 2, 18, 19, 20, 21: the chain does not end at a CA of the kubeconfig
        text = "x509: certificate signed by unknown authority"
    # Go 1.20 (Kubernetes 1.27 and later) wraps verification errors.
    return ("tls: failed to verify certificate: " + text) if tuple(version or (1, 30, 0)) >= (1, 27, 0) else text


# ---------------------------------------------------------------- kubeconfig
def _current(doc, kind, name):
    for item in doc.get(kind + "s") or []:
        if isinstance(item, dict) and item.get("name") == name:
            return item.get(kind) or {}
    return None


class Kubeconfig:
    """The cluster and user of a kubeconfig's current context (or its first ones)."""

    def __init__(self, path):
        self.path = path
        try:
            doc = load_document(path) or {}
            ctx_name = doc.get("current-context")
            ctx = _current(doc, "context", ctx_name) if ctx_name else None
            cluster = _current(doc, "cluster", ctx["cluster"]) if ctx else None
            user = _current(doc, "user", ctx.get("user")) if ctx else None
            if cluster is None:
                cluster = (doc["clusters"][0] or {}).get("cluster") or {}
            if user is None:
                users = doc.get("users") or []
                user = (users[0] or {}).get("user") or {} if users else {}
            self.server = str(cluster["server"]).rstrip("/")
        except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError) as err:
            raise FlagError("invalid configuration: cannot read kubeconfig %s: %s" % (path, err)) from None
        base = os.path.dirname(os.path.abspath(path))

        def rel(value):
            return value if not value or os.path.isabs(value) else os.path.join(base, value)

        self.ca_data = cluster.get("certificate-authority-data")
        self.ca_file = rel(cluster.get("certificate-authority"))
        self.insecure = bool(cluster.get("insecure-skip-tls-verify"))
        self.cert_data, self.key_data = user.get("client-certificate-data"), user.get("client-key-data")
        self.cert_file, self.key_file = rel(user.get("client-certificate")), rel(user.get("client-key"))
        self.token, self.token_file = user.get("token"), rel(user.get("tokenFile"))

    def client(self, server=None, version=None):
        return KubeClient(server or self.server, ca_pem=_b64(self.ca_data), ca_file=self.ca_file,
                          cert_pem=_b64(self.cert_data), key_pem=_b64(self.key_data), cert_file=self.cert_file,
                          key_file=self.key_file, token=self.token, token_file=self.token_file,
                          insecure=self.insecure, version=version)


def _b64(data):
    return base64.b64decode(data).decode() if data else None


def kubeconfig_server(path):
    """clusters[].cluster.server of a kubeconfig's current context."""
    return Kubeconfig(path).server


def api_server_url(component, opts):
    """The API server a client component talks to: --master (or the kubelet's old
    --api-servers) wins over --kubeconfig, as in the real binaries."""
    explicit = opts.get("api-servers") if component == "kubelet" else opts.get("master")
    if explicit:
        return explicit.split(",")[0].rstrip("/")
    if opts.get("kubeconfig"):
        return kubeconfig_server(opts["kubeconfig"])
    return LEGACY_MASTER


def component_client(component, opts, version):
    """The client a component builds from its flags: the kubeconfig's credentials and CA,
    its server unless --master (--api-servers) overrides it."""
    explicit = opts.get("api-servers") if component == "kubelet" else opts.get("master")
    server = explicit.split(",")[0].rstrip("/") if explicit else None
    if opts.get("kubeconfig"):
        return Kubeconfig(opts["kubeconfig"]).client(server=server, version=version)
    return KubeClient(server or LEGACY_MASTER, version=version)


# ---------------------------------------------------------------- client
_PRIVATE_DIR = []


def _private_dir():
    if not _PRIVATE_DIR:
        _PRIVATE_DIR.append(tempfile.mkdtemp(prefix="kubeha-standin-client-"))
    return _PRIVATE_DIR[0]


def _private_file(name, text):
    path = os.path.join(_private_dir(), name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    return path


class KubeClient:
    """HTTP(S) requests to one API server, as a client-go rest client makes them."""

    def __init__(self, server, ca_pem=None, ca_file=None, cert_pem=None, key_pem=None, cert_file=None,
                 key_file=None, token=None, token_file=None, insecure=False, version=None):
        self.server = server.rstrip("/")
        self.version = version
        self.token, self.token_file = token, token_file
        self._lock = threading.Lock()
        self._ctx = None
        self._ca_pem, self._ca_file, self._insecure = ca_pem, ca_file, insecure
        if cert_pem:
            cert_file = _private_file("client-%d.crt" % id(self), cert_pem)
            key_file = _private_file("client-%d.key" % id(self), key_pem or "")
        self.cert_file, self.key_file = cert_file, key_file
        parts = urllib.parse.urlsplit(self.server)
        self.scheme, self.host = parts.scheme, parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)

    def context(self):
        """One TLS context per client (loading a CA bundle costs more CPU than a request)."""
        with self._lock:
            if self._ctx is None:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.hostname_checks_common_name = False  # Go ignores the CN
                if self._insecure:
                    ctx.check_hostname = False
                    ctx.verify_mode = ssl.CERT_NONE
                elif self._ca_pem or self._ca_file:
                    ctx.load_verify_locations(cafile=self._ca_file or None, cadata=self._ca_pem or None)
                else:
                    ctx.load_default_certs()
                if self.cert_file:
                    ctx.load_cert_chain(self.cert_file, self.key_file or None)
                self._ctx = ctx
            return self._ctx

    def _bearer(self):
        if self.token:
            return self.token
        if self.token_file:  # re-read on every request: the kubelet rotates projected tokens
            with open(self.token_file) as fh:
                return fh.read().strip()
        return None

    def request(self, method, path, body=None, content_type="application/json", timeout=5.0):
        """(status, parsed JSON or text, headers); ClientError when no HTTP answer came."""
        import http.client  # noqa: PLC0415  (kept local: most stand-ins never need it)

        url = self.server + path
        verb = method.capitalize()
        try:
            if self.scheme == "https":
                conn = http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=self.context())
            else:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            headers = {"Accept": "application/json", "User-Agent": "kubeha-standin"}
            try:
                token = self._bearer()
            except OSError as err:
                raise ClientError("%s %s: %s" % (verb, json.dumps(url), err)) from None
            if token:
                headers["Authorization"] = "Bearer " + token
            data = None
            if body is not None:
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                headers["Content-Type"] = content_type
            try:
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read().decode(errors="replace")
            finally:
                conn.close()
        except ssl.SSLCertVerificationError as err:
            raise ClientError("%s %s: %s" % (verb, json.dumps(url), go_verify_error(err, self.host, self.port, self.version))) from None
        except ConnectionRefusedError:
            raise ClientError("%s %s: dial tcp %s:%d: connect: connection refused" % (verb, json.dumps(url), self.host, self.port)) from None
        except (OSError, ssl.SSLError, http.client.HTTPException) as err:
            raise ClientError("%s %s: %s" % (verb, json.dumps(url), err)) from None
        try:
            parsed = json.loads(raw) if raw[:1] in ("{", "[") else raw
        except ValueError:
            parsed = raw
        return resp.status, parsed, dict(resp.getheaders())

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)
