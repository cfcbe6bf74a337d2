# KUBEHA LAB STAND-IN -- NOT KUBERNETES. See lab/standins/kubeha_standin/__init__.py.
"""API objects kept in etcd, as kube-apiserver keeps them.

Each object is JSON at kube-apiserver's key (/registry/configmaps/<ns>/<name>,
/registry/leases/<ns>/<name>, /registry/daemonsets/<ns>/<name>, /registry/pods/...,
/registry/services/endpoints/<ns>/<name>); its metadata.resourceVersion is the key's
etcd mod_revision, so an update that carries an older resourceVersion is refused with
409 Conflict (optimistic concurrency, what leader election and `kubectl apply` rely on).
Verbs: get, create (POST), update (PUT), patch (merge patch; a strategic merge patch is
applied as a merge patch, enough for maps such as annotations). A DaemonSet's
metadata.generation grows when its spec changes, and its status is computed from the
pods the kubelets report (see daemonset_status).
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
import uuid

# (group, resource) -> (kind, apiVersion, etcd key segment)
RESOURCES = {
    ("", "configmaps"): ("ConfigMap", "v1", "configmaps"),
    ("", "endpoints"): ("Endpoints", "v1", "services/endpoints"),
    ("", "pods"): ("Pod", "v1", "pods"),
    ("coordination.k8s.io", "leases"): ("Lease", "coordination.k8s.io/v1", "leases"),
    ("apps", "daemonsets"): ("DaemonSet", "apps/v1", "daemonsets"),
}


class ApiError(Exception):
    """An answer other than 2xx: (code, reason, message)."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": self.message,
                "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


def _qualified(group, resource):
    return "%s.%s" % (resource, group) if group else resource


def not_found(group, resource, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (_qualified(group, resource), name),
                    {"name": name, "group": group, "kind": resource})


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def now_rfc3339(micro=False):
    t = time.time()
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
    return base + (".%06dZ" % int((t % 1) * 1e6) if micro else "Z")


def template_hash(daemonset):
    spec = (daemonset.get("spec") or {}).get("template") or {}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:10]


class Store:
    def __init__(self, etcd, prefix):
        self.etcd, self.prefix = etcd, prefix.rstrip("/")

    def key(self, group, resource, namespace, name):
        return "%s/%s/%s/%s" % (self.prefix, RESOURCES[(group, resource)][2], namespace, name)

    def _read(self, key):
        raw, revision = self.etcd.get_revision(key)
        if raw is None:
            return None, 0
        obj = json.loads(raw)
        obj.setdefault("metadata", {})["resourceVersion"] = str(revision)
        return obj, revision

    def get(self, group, resource, namespace, name):
        obj, _rev = self._read(self.key(group, resource, namespace, name))
        if obj is None:
            raise not_found(group, resource, name)
        return obj

    def _write(self, key, obj, revision):
        data = copy.deepcopy(obj)
        data["metadata"].pop("resourceVersion", None)
        if not self.etcd.compare_and_swap(key, json.dumps(data), revision):
            return None
        stored, _rev = self._read(key)
        return stored

    def create(self, group, resource, namespace, obj):
        kind, api_version, _seg = RESOURCES[(group, resource)]
        meta = obj.setdefault("metadata", {})
        name = meta.get("name")
        if not name:
            raise ApiError(422, "Invalid", "%s is invalid: metadata.name: Required value: name is required"
                           % (kind,))
        if meta.get("namespace", namespace) != namespace:
            raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request")
        obj["kind"], obj["apiVersion"] = kind, api_version
        meta.update(namespace=namespace, uid=str(uuid.uuid4()), creationTimestamp=now_rfc3339())
        if resource == "daemonsets":
            meta["generation"] = 1
        stored = self._write(self.key(group, resource, namespace, name), obj, 0)
        if stored is None:
            raise ApiError(409, "AlreadyExists", '%s "%s" already exists' % (_qualified(group, resource), name),
                           {"name": name, "group": group, "kind": resource})
        return stored

    def update(self, group, resource, namespace, name, obj):
        key = self.key(group, resource, namespace, name)
        current, revision = self._read(key)
        if current is None:
            raise not_found(group, resource, name)
        wanted = (obj.get("metadata") or {}).get("resourceVersion")
        conflict = ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                            "please apply your changes to the latest version and try again"
                            % (_qualified(group, resource), name), {"name": name, "group": group, "kind": resource})
        if wanted and str(wanted) != str(revision):
            raise conflict
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        for field in ("uid", "creationTimestamp", "namespace", "name"):
            meta[field] = current["metadata"].get(field)
        obj["kind"], obj["apiVersion"] = current.get("kind"), current.get("apiVersion")
        if resource == "daemonsets":
            generation = current["metadata"].get("generation", 1)
            meta["generation"] = generation + (1 if obj.get("spec") != current.get("spec") else 0)
        stored = self._write(key, obj, revision)
        if stored is None:
            raise conflict
        return stored

    def patch(self, group, resource, namespace, name, patch):
        for _attempt in range(5):
            current = self.get(group, resource, namespace, name)
            new = merge_patch(current, patch)
            new.setdefault("metadata", {})["resourceVersion"] = current["metadata"]["resourceVersion"]
            try:
                return self.update(group, resource, namespace, name, new)
            except ApiError as err:
                if err.code != 409:
                    raise
        raise ApiError(409, "Conflict", "too many concurrent updates of %s %s" % (resource, name))

    def list_prefix(self, group, resource, namespace):
        prefix = "%s/%s/%s/" % (self.prefix, RESOURCES[(group, resource)][2], namespace)
        return [json.loads(v) for v in self.etcd.get_prefix(prefix).values()]


def daemonset_status(daemonset, pods, nodes):
    """status of a DaemonSet from the pods the kubelets report (one per node) and the
    nodes known (their kube-node-lease Leases), as the DaemonSet controller fills it."""
    current = template_hash(daemonset)
    mine = [p for p in pods if (p.get("metadata") or {}).get("labels", {}).get("kubeha.lab/daemonset")
            == daemonset["metadata"]["name"]]
    ready = [p for p in mine if (p.get("status") or {}).get("phase") == "Running"
             and (p.get("status") or {}).get("ready")]
    updated = [p for p in mine if (p.get("metadata") or {}).get("annotations", {}).get("kubeha.lab/template-hash") == current]
    desired = len(nodes)
    return {
        "observedGeneration": daemonset["metadata"].get("generation", 1),
        "desiredNumberScheduled": desired,
        "currentNumberScheduled": len(mine),
        "updatedNumberScheduled": len(updated),
        "numberReady": len(ready),
        "numberAvailable": len(ready),
        "numberUnavailable": max(0, desired - len(ready)),
        "numberMisscheduled": 0,
    }
