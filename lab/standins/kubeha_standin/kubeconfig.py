# KUBEHA LAB STAND-IN -- NOT KUBERNETES. See lab/standins/kubeha_standin/__init__.py.
"""Kubeconfig files and the API server a client component talks to."""

from __future__ import annotations

import json

from .core import LEGACY_MASTER, FlagError

try:  # python3-yaml (kubeconfigs, KubeletConfiguration, static pod manifests)
    import yaml
except ImportError:  # pragma: no cover - JSON documents still work
    yaml = None


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


