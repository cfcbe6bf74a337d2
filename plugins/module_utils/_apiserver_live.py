# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What runs on a master: the kube-apiserver process, and the endpoints of the kubernetes service
that the API serves (private to the collection).

``read_process`` reads the process table (``/proc/<pid>/cmdline``) into a source, as
``_apiserver_config`` reads the on-disk configuration; ``fetch_endpoints`` reads the Endpoints
object of the ``kubernetes`` service in the ``default`` namespace, with ``open_url`` (``api_url``
and the credentials of the options) or with a kubeconfig through ``_kubeapi``. What is wrong is a
sentence appended to the caller's list of problems, a remark one appended to its notes.

Runs on the managed host: Python 3.8 or later, standard library and ansible's module_utils.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
from http.client import HTTPException
from urllib.error import HTTPError, URLError

from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.urls import open_url

from ansible_collections.kubeha.control_plane.plugins.module_utils._apiserver_config import empty_source, source_error
from ansible_collections.kubeha.control_plane.plugins.module_utils._endpoint import parse_ip
from ansible_collections.kubeha.control_plane.plugins.module_utils._kubeapi import KubeApi, KubeApiError, auth_hint
from ansible_collections.kubeha.control_plane.plugins.module_utils.kube_flags import (
    KubeFlagsError,
    flags_from_argv,
    mask_argv,
    mask_flags,
    parse_cmdline,
    program_args,
)

ENDPOINTS_PATH = "/api/v1/namespaces/default/endpoints/kubernetes"


def address_key(text):
    """Sort key of an address: IP addresses first (by family, then value), then anything else by its text."""
    addr = parse_ip(text)
    if addr is None:
        return (1, 0, 0, text)
    return (0, addr.version, int(addr), text)


# -- running process --------------------------------------------------------------


def read_process(root, name, problems, notes):
    """The source of the running program ``name`` found in the process table ``root`` (the lowest pid
    when several run; its key ``pid``), or None when none runs."""
    try:
        entries = sorted((int(e) for e in os.listdir(root) if e.isdigit()))
    except OSError as exc:
        notes.append("%s cannot be listed (%s): running processes were not checked." % (root, to_native(exc)))
        return None
    found = []
    for pid in entries:
        try:
            with open(os.path.join(root, str(pid), "cmdline"), "rb") as fh:
                argv = parse_cmdline(fh.read())
        except (OSError, KubeFlagsError):
            continue  # gone meanwhile, or not ours to read
        args = program_args(argv, name)
        if args is not None:
            found.append((pid, argv, args))
    if not found:
        return None
    pid, argv, args = found[0]
    if len(found) > 1:
        notes.append("%d processes run %s (pids %s); pid %d was checked."
                     % (len(found), name, ", ".join(str(f[0]) for f in found), pid))
    source = empty_source(pid=pid)
    try:
        flags = flags_from_argv(args)
    except KubeFlagsError as exc:
        source["argv"] = mask_argv(argv)
        return source_error(
            problems, source, "the arguments of the running %s (pid %d) cannot be read: %s." % (name, pid, exc)
        )
    source["_flags"] = flags
    source["argv"] = mask_argv(argv)
    source["flags"] = mask_flags(flags)
    return source


# -- endpoints ----------------------------------------------------------------------


def fetch_endpoints(params, problems):
    """The addresses of the endpoints of the kubernetes service, read with the module's options (``api_url``,
    ``kubeconfig``, ``token``, ``ca_path``, ``client_cert``, ``client_key``, ``validate_certs``, ``timeout``),
    or None after a problem says why they could not be read."""
    if params["kubeconfig"]:
        return _fetch_with_kubeconfig(params, problems)
    url = params["api_url"].rstrip("/") + ENDPOINTS_PATH
    headers = {"Accept": "application/json"}
    if params["token"]:
        headers["Authorization"] = "Bearer %s" % params["token"]
    try:
        response = open_url(
            url,
            method="GET",
            headers=headers,
            validate_certs=params["validate_certs"],
            ca_path=params["ca_path"],
            client_cert=params["client_cert"],
            client_key=params["client_key"],
            timeout=params["timeout"],
        )
        body = response.read()
    except HTTPError as exc:
        detail = ""
        try:
            status = json.loads(to_text(exc.read(), errors="surrogate_or_replace"))
            if isinstance(status, dict) and isinstance(status.get("message"), str):
                detail = ": %s" % status["message"]
        except (AttributeError, TypeError, ValueError, OSError):  # the body of an error is only a detail
            pass
        hint = (
            "give token, or client_cert and client_key, of a user allowed to get endpoints in namespace default"
            if exc.code in (401, 403)
            else "check api_url"
        )
        problems.append("GET %s returned HTTP %s%s: %s." % (url, exc.code, detail, hint))
        return None
    except (URLError, HTTPException, ConnectionError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        problems.append("GET %s failed (%s): check api_url, ca_path and validate_certs." % (url, to_native(reason)))
        return None
    try:
        data = json.loads(to_text(body, errors="surrogate_or_replace"))
    except ValueError as exc:
        problems.append("GET %s did not return JSON (%s): check that api_url is the Kubernetes API." % (url, exc))
        return None
    return endpoint_addresses(url, data, problems)


def _fetch_with_kubeconfig(params, problems):
    """The endpoints read with a kubeconfig's CA and credentials (api_url, when given, replaces its server)."""
    api_params = dict(api_url=params["api_url"], kubeconfig=params["kubeconfig"], token=params["token"],
                      ca_file=params["ca_path"], client_cert=params["client_cert"],
                      client_key=params["client_key"], validate_certs=params["validate_certs"],
                      timeout=params["timeout"])
    api = None
    try:
        api = KubeApi(api_params)
        answer = api.get(ENDPOINTS_PATH)
    except KubeApiError as exc:
        problems.append("reading the kubernetes endpoints failed (%s): check api_url and kubeconfig." % exc)
        return None
    finally:
        if api is not None:
            api.close()
    if answer["status"] != 200:
        hint = auth_hint(answer) or "check api_url"
        problems.append("GET %s returned HTTP %s: %s." % (answer["url"], answer["status"], hint))
        return None
    if answer["json"] is None:
        problems.append("GET %s did not return JSON: check that api_url is the Kubernetes API." % answer["url"])
        return None
    return endpoint_addresses(answer["url"], answer["json"], problems)


def endpoint_addresses(url, data, problems):
    """The addresses of an Endpoints object, de-duplicated and sorted, or None after a problem says what else it is."""
    def wrong(what):
        problems.append("GET %s returned %s, not the Endpoints object of the kubernetes service: "
                        "check that api_url is the Kubernetes API." % (url, what))

    if not isinstance(data, dict):
        return wrong("a JSON %s" % type(data).__name__)
    if data.get("kind") not in (None, "Endpoints"):
        return wrong("an object of kind %r" % data.get("kind"))
    subsets = data.get("subsets") or []
    if not isinstance(subsets, list):
        return wrong("subsets that are not a list")
    ips = set()
    for subset in subsets:
        addresses = (subset.get("addresses") or []) if isinstance(subset, dict) else None
        if not isinstance(addresses, list):
            return wrong("a subset without an addresses list")
        for address in addresses:
            if not isinstance(address, dict) or not isinstance(address.get("ip"), str):
                return wrong("an address without an ip")
            ips.add(address["ip"])
    return sorted(ips, key=address_key)
