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


# ---- the claim judged by the apiserver's clock (0.5.0)
RENEWED = 1795684200.0  # 2026-11-26T09:10:00Z


def test_renew_time_is_read_as_utc():
    from ansible_collections.kubeha.control_plane.plugins.filter.leader import kube_leader_expiry
    assert kube_leader_expiry(LEASE) == RENEWED + 15
    assert kube_leader_expiry(ENDPOINTS) == 1480151400.0 + 15  # 2016-11-26T09:10:00Z


@pytest.mark.parametrize("now, holder", [
    (RENEWED, "master2_0c6a1f1e-58a5-4d6f-9c45-5c8b5d0f0a11"),
    (RENEWED + 14.9, "master2_0c6a1f1e-58a5-4d6f-9c45-5c8b5d0f0a11"),
    (RENEWED + 15, ""),  # the claim ran out: the record still names it, it leads no more
    (RENEWED + 3600, ""),
])
def test_a_holder_leads_only_while_its_claim_lasts(now, holder):
    assert kube_leader(LEASE, now=now) == holder


def test_a_record_without_renewal_time_proves_nothing():
    lease = dict(LEASE, spec={"holderIdentity": "master1_x"})
    assert kube_leader(lease) == "master1_x"
    assert kube_leader(lease, now=RENEWED) == ""


def test_a_kube_api_info_result_is_judged_by_its_server_time():
    answer = {"status": 200, "json": LEASE, "server_time": RENEWED + 20, "body": None, "url": "https://x/leases/kube-scheduler"}
    assert kube_leader(answer) == ""
    assert kube_leader(dict(answer, server_time=RENEWED + 1)) == LEASE["spec"]["holderIdentity"]
    assert kube_leader(answer, now=RENEWED) == LEASE["spec"]["holderIdentity"]  # an explicit now wins


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01T00:00:00Z"])
def test_a_malformed_renew_time_is_named(bad):
    with pytest.raises(AnsibleFilterError, match=r"kube_leader: the renewTime %r is not an RFC 3339 time" % bad):
        kube_leader(dict(LEASE, spec=dict(LEASE["spec"], renewTime=bad)), now=RENEWED)


def test_now_must_be_a_number():
    with pytest.raises(AnsibleFilterError, match="now must be seconds since the epoch"):
        kube_leader(LEASE, now="soon")
