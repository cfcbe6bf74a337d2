"""kube_leader: the holder of a leader election, from a Lease or an Endpoints/ConfigMap annotation."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kubeha.control_plane.plugins.filter.leader import FilterModule, kube_leader

LEASE = {
    "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
    "metadata": {"name": "kube-scheduler", "namespace": "kube-system", "resourceVersion": "1234"},
    "spec": {"holderIdentity": "master2_0c6a1f1e-58a5-4d6f-9c45-5c8b5d0f0a11", "leaseDurationSeconds": 15,
             "acquireTime": "2026-11-26T09:00:00.000000Z", "renewTime": "2026-11-26T09:10:00.000000Z",
             "leaseTransitions": 3},
}
ENDPOINTS = {
    "kind": "Endpoints", "apiVersion": "v1",
    "metadata": {"name": "kube-scheduler", "namespace": "kube-system", "annotations": {
        "control-plane.alpha.kubernetes.io/leader": json.dumps({
            "holderIdentity": "master1", "leaseDurationSeconds": 15, "acquireTime": "2016-11-26T09:00:00Z",
            "renewTime": "2016-11-26T09:10:00Z", "leaderTransitions": 0})}},
    "subsets": [],
}


def test_lease_holder():
    assert kube_leader(LEASE) == "master2_0c6a1f1e-58a5-4d6f-9c45-5c8b5d0f0a11"


def test_endpoints_annotation_holder():
    assert kube_leader(ENDPOINTS) == "master1"


def test_nobody_holds_it():
    assert kube_leader({"kind": "Lease", "metadata": {"name": "x"}, "spec": {}}) == ""
    assert kube_leader({"kind": "Endpoints", "metadata": {"name": "x"}}) == ""


@pytest.mark.parametrize("obj, message", [
    ([], "expected a Kubernetes object (dict), got list"),
    ({"kind": "Status", "code": 403}, "expected a Lease, Endpoints or ConfigMap object, got kind 'Status'"),
    ({"kind": "Lease", "spec": "x"}, "the Lease's spec is not a dict"),
    ({"kind": "ConfigMap", "metadata": {"annotations": {"control-plane.alpha.kubernetes.io/leader": "{not json"}}},
     "annotation of ConfigMap is not JSON"),
    ({"kind": "Endpoints", "metadata": {"annotations": {"control-plane.alpha.kubernetes.io/leader": "[1]"}}},
     "annotation is not a JSON object"),
])
def test_malformed_objects_fail_clearly(obj, message):
    with pytest.raises(AnsibleFilterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        kube_leader(obj)


def test_filter_is_registered():
    assert FilterModule().filters()["kube_leader"] is kube_leader
