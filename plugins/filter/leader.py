# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter that reads the leader of a Kubernetes leader election.

The documentation lives beside this file in ``kube_leader.yml``.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

# Annotation that held the leader record before the Lease API (Endpoints or
# ConfigMap locks, Kubernetes before 1.14, default lock before 1.20).
LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"


def _timestamp(value, what):
    """Seconds since the epoch of an RFC 3339 time (metav1.Time or MicroTime)."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    if "." in text:  # Python 3.10 parses at most 6 fraction digits
        head, dummy, rest = text.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits):]
        text = "%s.%s%s" % (head, (digits + "000000")[:6], zone)
    try:
        return datetime.datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise AnsibleFilterError("kube_leader: the %s %r is not an RFC 3339 time" % (what, value)) from None


def _answer(obj, now):
    """A result of kube_api_info (status, json, server_time) stands for its object, judged
    by the apiserver's clock when ``now`` is not given."""
    if isinstance(obj, Mapping) and "server_time" in obj and "json" in obj and "kind" not in obj:
        return obj.get("json"), (obj.get("server_time") if now is None else now)
    return obj, now


def _record(obj):
    """(holder, renewTime or None, leaseDurationSeconds or None) of a leader record."""
    if not isinstance(obj, Mapping):
        raise AnsibleFilterError("kube_leader: expected a Kubernetes object (dict), got %s" % type(obj).__name__)
    kind = obj.get("kind")
    if kind == "Lease":
        spec = obj.get("spec") or {}
        if not isinstance(spec, Mapping):
            raise AnsibleFilterError("kube_leader: the Lease's spec is not a dict: %r" % (spec,))
        return spec.get("holderIdentity") or "", spec.get("renewTime"), spec.get("leaseDurationSeconds")
    if kind in ("Endpoints", "ConfigMap"):
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        record = annotations.get(LEADER_ANNOTATION)
        if not record:
            return "", None, None
        try:
            data = json.loads(record)
        except ValueError as err:
            raise AnsibleFilterError("kube_leader: the %s annotation of %s is not JSON (%s): %r"
                                     % (LEADER_ANNOTATION, kind, err, record[:200])) from None
        if not isinstance(data, Mapping):
            raise AnsibleFilterError("kube_leader: the %s annotation is not a JSON object: %r" % (LEADER_ANNOTATION, record[:200]))
        return data.get("holderIdentity") or "", data.get("renewTime"), data.get("leaseDurationSeconds")
    raise AnsibleFilterError("kube_leader: expected a Lease, Endpoints or ConfigMap object, got kind %r" % (kind,))


def kube_leader(obj, now=None):
    """Holder identity of a Lease, or of an Endpoints/ConfigMap leader annotation ('' when none).

    With ``now`` (seconds since the epoch, by the apiserver's clock: kube_api_info's
    server_time), the holder counts only while renewTime + leaseDurationSeconds lies in
    the future: a record stays in the API after its holder died, and a component that
    stopped renewing is no leader. A result of kube_api_info may be given instead of the
    object: it is judged by its server_time."""
    obj, now = _answer(obj, now)
    holder, renew, duration = _record(obj)
    if not holder or now is None:
        return holder
    try:
        now = float(now)
    except (TypeError, ValueError):
        raise AnsibleFilterError("kube_leader: now must be seconds since the epoch, got %r" % (now,)) from None
    renewed = _timestamp(renew, "renewTime")
    if renewed is None or not isinstance(duration, int) or duration <= 0:
        return ""  # a record without a renewal time or a lease duration proves nothing
    return holder if renewed + duration > now else ""


def kube_leader_expiry(obj):
    """Seconds since the epoch at which the holder's claim runs out (renewTime +
    leaseDurationSeconds), or None when the record has no holder or no such times."""
    obj, _now = _answer(obj, None)
    holder, renew, duration = _record(obj)
    renewed = _timestamp(renew, "renewTime")
    if not holder or renewed is None or not isinstance(duration, int):
        return None
    return renewed + duration


class FilterModule(object):
    def filters(self):
        return {"kube_leader": kube_leader, "kube_leader_expiry": kube_leader_expiry}
