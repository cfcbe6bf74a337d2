# KUBEHA LAB STAND-IN -- NOT KUBERNETES. See lab/standins/kubeha_standin/__init__.py.
"""A minimal etcd v3 client over the JSON gateway."""

from __future__ import annotations

import base64
import http.client
import json
import os
import ssl
import threading
import urllib.parse

from .core import ETCD_PARTITION_FILE, _insecure_context


def _b64(text):
    return base64.b64encode(text.encode()).decode()


class Etcd:
    """Minimal etcd v3 client over the JSON gateway, trying each server in turn.

    With ``cafile``/``certfile``/``keyfile`` (--etcd-cafile etc.) https servers
    are verified against the CA and given the client certificate. Each thread keeps
    one open connection per server, as the real apiserver keeps its gRPC connections:
    a new TLS handshake for every request made etcd the busiest process of an idle lab."""

    def __init__(self, servers, cafile="", certfile="", keyfile="", partition_file=ETCD_PARTITION_FILE):
        self.servers = [s.rstrip("/") for s in servers.split(",") if s]
        self.partition_file = partition_file
        self.context = None
        if cafile or certfile:
            self.context = ssl.create_default_context(cafile=cafile or None)
            if certfile:
                self.context.load_cert_chain(certfile, keyfile or None)
        self._local = threading.local()

    def _connection(self, server, timeout):
        conns = self._local.__dict__.setdefault("conns", {})
        conn = conns.get(server)
        if conn is None:
            parts = urllib.parse.urlsplit(server)
            if parts.scheme == "https":
                # (without --etcd-cafile: the lab's unverified client context, as before)
                context = self.context or _insecure_context()
                conn = http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=timeout, context=context)
            else:
                conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
            conns[server] = conn
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def _drop(self, server):
        conn = self._local.__dict__.get("conns", {}).pop(server, None)
        if conn is not None:
            conn.close()

    def _get(self, url, timeout=2.0, data=None, method=None):
        """(status, body) of one request on this thread's connection to the server; a
        connection the server closed in between is opened again once."""
        if self.partition_file and os.path.exists(self.partition_file):
            raise OSError("%s unreachable (lab fault injection: %s exists)" % (url, self.partition_file))
        parts = urllib.parse.urlsplit(url)
        server, path = "%s://%s" % (parts.scheme, parts.netloc), parts.path or "/"
        body = json.dumps(data).encode() if data is not None else None
        for attempt in (1, 2):
            conn = self._connection(server, timeout)
            reused = conn.sock is not None
            sent = False
            try:
                conn.request(method or ("POST" if body is not None else "GET"), path, body=body,
                             headers={"Content-Type": "application/json"})
                sent = True
                resp = conn.getresponse()
                return resp.status, resp.read().decode()
            except (OSError, http.client.HTTPException) as err:
                self._drop(server)
                # A kept connection the server had closed fails when the request is written:
                # sent again once, on a new one. Once it was written, etcd may have acted on it
                # (a txn, a lease grant), so it is never repeated: the caller sees the failure.
                if reused and attempt == 1 and not sent and isinstance(err, ConnectionError):
                    continue
                if isinstance(err, http.client.HTTPException):
                    raise OSError("%s: %s" % (url, err)) from err
                raise
        raise OSError("%s: no answer" % url)

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
