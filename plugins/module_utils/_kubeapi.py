# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A minimal Kubernetes API client for the collection's modules (private to the collection).

It authenticates and verifies as client-go does with a kubeconfig: the cluster's CA
(certificate-authority or -data), the server's name or address checked against the
certificate, a client certificate (client-certificate/-key or their -data) or a bearer
token (token, tokenFile). Embedded credentials are written to a private temporary
directory for the duration of the request only (open_url takes files) and never
returned. The server's clock (the Date header) is returned with every answer, so that
callers judge lease times by the apiserver's clock, not the managed host's.

Runs on the managed host: Python 3.8 or later, standard library and ansible's module_utils.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import shutil
import tempfile
from email.utils import parsedate_to_datetime

from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover - checked by the callers
    HAS_YAML = False


class KubeApiError(Exception):
    """No answer from the API (connection, TLS, a bad kubeconfig): the message says why."""


def api_argument_spec():
    """The connection options every module that talks to the API takes."""
    return dict(
        api_url=dict(type="str"),
        kubeconfig=dict(type="path"),
        token=dict(type="str", no_log=True),
        ca_file=dict(type="path"),
        client_cert=dict(type="path"),
        client_key=dict(type="path"),
        validate_certs=dict(type="bool", default=True),
        timeout=dict(type="int", default=10),
    )


def _section(doc, kind, name):
    for item in doc.get(kind + "s") or []:
        if isinstance(item, dict) and item.get("name") == name:
            return item.get(kind) or {}
    return None


def read_kubeconfig(path):
    """(server, cluster section, user section) of a kubeconfig's current context."""
    if not HAS_YAML:
        raise KubeApiError("reading %s needs PyYAML on this host (python3-yaml on Debian and Ubuntu, "
                           "python3-pyyaml on Enterprise Linux)" % path)
    try:
        with open(path, "rb") as fh:
            doc = yaml.safe_load(fh) or {}
        context = _section(doc, "context", doc.get("current-context")) if doc.get("current-context") else None
        cluster = _section(doc, "cluster", context.get("cluster")) if context else None
        user = _section(doc, "user", context.get("user")) if context else None
        if cluster is None:
            cluster = (doc["clusters"][0] or {}).get("cluster") or {}
        if user is None:
            users = doc.get("users") or []
            user = ((users[0] or {}).get("user") or {}) if users else {}
        return str(cluster["server"]).rstrip("/"), cluster, user
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError, yaml.YAMLError) as exc:
        raise KubeApiError("cannot read the kubeconfig %s: %s" % (path, to_native(exc)))


class KubeApi:
    """Requests to one API server with the credentials of the module's options."""

    def __init__(self, params):
        self.params = params
        self._tmp = None
        self.server = (params.get("api_url") or "").rstrip("/")
        self.ca_file = params.get("ca_file")
        self.client_cert, self.client_key = params.get("client_cert"), params.get("client_key")
        self.token = params.get("token")
        kubeconfig = params.get("kubeconfig")
        if kubeconfig:
            server, cluster, user = read_kubeconfig(kubeconfig)
            base = os.path.dirname(os.path.abspath(kubeconfig))

            def rel(value):
                return value if not value or os.path.isabs(value) else os.path.join(base, value)

            self.server = self.server or server
            if not self.ca_file:
                self.ca_file = rel(cluster.get("certificate-authority")) or self._data_file("ca.crt", cluster.get("certificate-authority-data"))
            if not (self.client_cert or self.token):
                self.client_cert = rel(user.get("client-certificate")) or self._data_file("client.crt", user.get("client-certificate-data"))
                self.client_key = rel(user.get("client-key")) or self._data_file("client.key", user.get("client-key-data"))
                self.token = user.get("token")
                if not self.token and user.get("tokenFile"):
                    try:
                        with open(rel(user["tokenFile"])) as fh:
                            self.token = fh.read().strip()
                    except OSError as exc:
                        raise KubeApiError("cannot read the token file of %s: %s" % (kubeconfig, to_native(exc)))
        if not self.server:
            raise KubeApiError("no API server: give api_url or a kubeconfig")

    def _data_file(self, name, data):
        if not data:
            return None
        if self._tmp is None:
            self._tmp = tempfile.mkdtemp(prefix="kubeha-kubeapi-")
        path = os.path.join(self._tmp, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(base64.b64decode(data))
        return path

    def close(self):
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def request(self, method, path, body=None, content_type="application/json"):
        """dict(status, json, body, server_time, url): an HTTP answer of any status; KubeApiError otherwise."""
        url = self.server + path
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = "Bearer %s" % self.token
        data = None
        if body is not None:
            data = json.dumps(body) if not isinstance(body, str) else body
            headers["Content-Type"] = content_type
        try:
            resp = open_url(url, method=method, data=data, headers=headers, validate_certs=self.params.get("validate_certs", True),
                            ca_path=self.ca_file, client_cert=self.client_cert, client_key=self.client_key,
                            timeout=self.params.get("timeout") or 10, follow_redirects="none")
            status, raw, resp_headers = resp.getcode(), resp.read(), resp.headers
        except HTTPError as exc:
            status, resp_headers = exc.code, exc.headers
            try:
                raw = exc.read()
            except Exception:  # pylint: disable=broad-except
                raw = b""
        except (URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise KubeApiError("%s %s: %s" % (method, url, to_native(reason)))
        text = to_text(raw, errors="surrogate_or_replace")
        try:
            parsed = json.loads(text) if text[:1] in ("{", "[") else None
        except ValueError:
            parsed = None
        server_time = None
        date = resp_headers.get("Date") if resp_headers is not None else None
        if date:
            try:
                server_time = parsedate_to_datetime(date).timestamp()
            except (TypeError, ValueError):
                server_time = None
        return dict(status=status, json=parsed, body=text if parsed is None else None, server_time=server_time, url=url)

    def get(self, path):
        return self.request("GET", path)


def status_message(answer):
    """The message of a Kubernetes Status answer, or the body."""
    data = answer.get("json")
    if isinstance(data, dict) and data.get("message"):
        return data["message"]
    return (answer.get("body") or "").strip()[:300] or "HTTP %s" % answer.get("status")


def auth_hint(answer):
    """What to do about a 401 or 403."""
    if answer.get("status") == 401:
        return ("the API refused the credentials or found none (HTTP 401): give a kubeconfig with a client certificate "
                "or a token (clusters with --anonymous-auth=false answer every anonymous request, /readyz included, so)")
    if answer.get("status") == 403:
        return "the credentials may not do this (HTTP 403: %s): use a user with the rights" % status_message(answer)
    return None
