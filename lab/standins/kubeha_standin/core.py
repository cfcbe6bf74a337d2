# KUBEHA LAB STAND-IN -- NOT KUBERNETES. See lab/standins/kubeha_standin/__init__.py.
"""What every stand-in component shares: logging, the Kubernetes version it plays,
flag errors, durations, systemd notification, state files and HTTP."""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import sys
import time
import urllib.error
import urllib.request

STATE_DIR = "/run/kubeha-standin"
READYZ_DELAY_FILE = os.path.join(STATE_DIR, "readyz-delay")
ETCD_PARTITION_FILE = os.path.join(STATE_DIR, "etcd-unreachable")
VERSION_FILE = "/etc/kubeha-standin/version"
DEFAULT_VERSION = "v1.30.0"
RECONCILE_INTERVAL = 2.0  # the real endpoint reconcilers run every 10 s; short for the lab

LEGACY_MASTER = "http://127.0.0.1:8080"  # where the old packages' clients look without --master


def log(msg):
    sys.stderr.write("%s kubeha-standin: %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


class FlagError(Exception):
    pass


class KubeadmError(FlagError):
    """What kubeadm prints as its error (the stand-in exits 1 with it)."""


def go_strerror(err):
    """What Go prints for the errno of an OSError (syscall.Errno.Error(): the C library's
    text with a lower-case first letter, "no such file or directory")."""
    if getattr(err, "errno", None):
        text = os.strerror(err.errno)
        return text[:1].lower() + text[1:]
    return str(err)


# ---------------------------------------------------------------- version and era defaults
def parse_version(text):
    """(major, minor, patch) of "v1.30.0" / "1.5.2" / "v1.30"."""
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?", text.strip())
    if not match:
        raise ValueError("not a Kubernetes version: %r" % text)
    return tuple(int(part or 0) for part in match.groups())


def read_version(path=None):
    """The Kubernetes version this program plays: KUBEHA_STANDIN_VERSION (the kubelet
    stand-in sets it from a static pod's image tag, so a manifest that names a new image
    runs that version, as after `kubeadm upgrade`), else VERSION_FILE (the version of
    the installed packages), else DEFAULT_VERSION."""
    text = None if path else os.environ.get("KUBEHA_STANDIN_VERSION")
    path = path or VERSION_FILE
    if not text:
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


def parse_duration(text):
    match = re.fullmatch(r"((?:\d+(?:\.\d+)?(?:ms|s|m|h))+)", text)
    if not match:
        if re.fullmatch(r"\d+", text) and int(text) == 0:
            return 0.0
        raise FlagError("invalid duration %r" % text)
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text))


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
