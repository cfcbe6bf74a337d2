# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter that reads the leader of a Kubernetes leader election.

The documentation lives beside this file in ``kube_leader.yml``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

# Annotation that held the leader record before the Lease API (Endpoints or
# ConfigMap locks, Kubernetes before 1.14, default lock before 1.20).
LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"


def kube_leader(obj):
    """Holder identity of a Lease, or of an Endpoints/ConfigMap leader annotation ('' when none)."""
    if not isinstance(obj, Mapping):
        raise AnsibleFilterError("kube_leader: expected a Kubernetes object (dict), got %s" % type(obj).__name__)
    kind = obj.get("kind")
    if kind == "Lease":
        spec = obj.get("spec") or {}
        if not isinstance(spec, Mapping):
            raise AnsibleFilterError("kube_leader: the Lease's spec is not a dict: %r" % (spec,))
        return spec.get("holderIdentity") or ""
    if kind in ("Endpoints", "ConfigMap"):
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        record = annotations.get(LEADER_ANNOTATION)
        if not record:
            return ""
        try:
            data = json.loads(record)
        except ValueError as err:
            raise AnsibleFilterError("kube_leader: the %s annotation of %s is not JSON (%s): %r"
                                     % (LEADER_ANNOTATION, kind, err, record[:200])) from None
        if not isinstance(data, Mapping):
            raise AnsibleFilterError("kube_leader: the %s annotation is not a JSON object: %r" % (LEADER_ANNOTATION, record[:200]))
        return data.get("holderIdentity") or ""
    raise AnsibleFilterError("kube_leader: expected a Lease, Endpoints or ConfigMap object, got kind %r" % (kind,))


class FilterModule(object):
    def filters(self):
        return {"kube_leader": kube_leader}
