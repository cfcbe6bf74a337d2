# KUBEHA LAB STAND-IN -- NOT KUBERNETES. See lab/standins/kubeha_standin/__init__.py.
"""kubeadm's --patches, as `kubeadm init phase control-plane` and `kubeadm upgrade` apply
them to the static pod manifests: files target[suffix][+patchtype].(yaml|json), patchtype
strategic (default), merge or json, applied in file-name order
(https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/control-plane-flags/#patches)."""

from __future__ import annotations

import copy
import glob
import os

from .core import KubeadmError, log
from .kubeconfig import yaml

PATCH_TARGETS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd", "kubeletconfiguration",
                 "corednsdeployment")


def patch_file_target(filename):
    """(target, patch type) of a --patches file named target[suffix][+patchtype].extension
    (kubeadm's parseFilename: the target is the known one the name starts with, patchtype
    strategic (default), merge or json, extension json or yaml), or None when kubeadm
    ignores the file."""
    base, ext = os.path.splitext(filename)
    parts = base.split("+")
    if ext not in (".json", ".yaml") or len(parts) > 2:
        return None
    kind = parts[1].lower() if len(parts) == 2 else "strategic"
    target = next((t for t in PATCH_TARGETS if parts[0].startswith(t)), None)
    if kind not in ("strategic", "merge", "json") or target is None:
        return None
    return target, kind


def strategic_merge(target, patch):
    """A strategic merge patch for Pods, as far as kubeadm patches use it: maps merge,
    lists of objects with a name (containers, volumes, volumeMounts, env) merge by name,
    other lists are replaced; null removes a key."""
    if not isinstance(patch, dict) or not isinstance(target, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and isinstance(result.get(key), list) and value and all(
                isinstance(i, dict) and "name" in i for i in value + result[key]):
            merged = {i["name"]: i for i in copy.deepcopy(result[key])}
            order = [i["name"] for i in result[key]]
            for item in value:
                merged[item["name"]] = strategic_merge(merged.get(item["name"], {}), item)
                if item["name"] not in order:
                    order.append(item["name"])
            result[key] = [merged[n] for n in order]
        else:
            result[key] = strategic_merge(result.get(key), value) if isinstance(value, dict) else copy.deepcopy(value)
    return result


def _pointer(doc, path):
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
    for part in parts[:-1]:
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc, parts[-1]


def json_patch(doc, ops):
    """RFC 6902 add, remove, replace, test."""
    doc = copy.deepcopy(doc)
    for op in ops:
        parent, last = _pointer(doc, op["path"])
        if op["op"] == "test":
            value = parent[int(last)] if isinstance(parent, list) else parent[last]
            if value != op["value"]:
                raise KubeadmError("json patch test failed at %s" % op["path"])
        elif op["op"] in ("add", "replace"):
            if isinstance(parent, list):
                if last == "-":
                    parent.append(op["value"])
                elif op["op"] == "add":
                    parent.insert(int(last), op["value"])
                else:
                    parent[int(last)] = op["value"]
            else:
                parent[last] = op["value"]
        elif op["op"] == "remove":
            del parent[int(last) if isinstance(parent, list) else last]
        else:
            raise KubeadmError("unsupported json patch operation %r" % op["op"])
    return doc


def apply_patches(component, obj, directory):
    if not directory:
        return obj
    if not os.path.isdir(directory):
        raise KubeadmError("could not list patch files for path %r: open %s: no such file or directory" % (directory, directory))
    for path in sorted(glob.glob(os.path.join(directory, "*"))):
        parsed = patch_file_target(os.path.basename(path))
        if parsed is None or parsed[0] != component or not os.path.isfile(path):
            continue
        with open(path) as fh:
            patch = yaml.safe_load(fh)
        kind = parsed[1]
        if kind == "json":
            obj = json_patch(obj, patch)
        elif kind == "merge":
            from .store import merge_patch  # noqa: PLC0415
            obj = merge_patch(obj, patch)
        else:
            obj = strategic_merge(obj, patch)
        log("[patches] Applied patch of type \"application/%s\" to target %r"
            % ({"json": "json-patch+json", "merge": "merge-patch+json"}.get(kind, "strategic-merge-patch+json"), component))
    return obj
