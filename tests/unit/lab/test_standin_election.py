"""Leader election of kube-scheduler / kube-controller-manager (election.py) as client-go
does it, against the in-process apiserver with kubeadm's scheduler.conf: election.Elector
is one candidate, step(now) one tryAcquireOrRenew at ``now`` on that candidate's own
clock (run_elected calls it every retry period with time.time()), so leaseDuration and
renewDeadline are stepped through without waiting."""

from __future__ import annotations

import json

import pytest

from kubeha_standin import election, flags
from standin_harness import patch_sleep  # noqa: E402

LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler"
DURATION, DEADLINE = 15, 10  # kube-scheduler's defaults (--leader-elect-lease-duration, -renew-deadline)


@pytest.fixture
def scheduler_api(start_apiserver, pki_files):
    running = start_apiserver()
    return running, lambda: running.client(pki_files.scheduler)


def _candidate(client, identity, kind="leases"):
    kinds = ["endpoints", "leases"] if kind == "endpointsleases" else [kind]
    locks = [election.Lock(client, k, "kube-scheduler") for k in kinds]
    return election.Elector("kube-scheduler", identity, locks, kind, DURATION, DEADLINE)


def _lease(client):
    status, body, _h = client.get(LEASES)
    assert status == 200
    return body["spec"]


@pytest.mark.parametrize("version, lock", [((1, 5, 2), "endpoints"), ((1, 16, 15), "endpoints"),
                                           ((1, 17, 0), "endpointsleases"), ((1, 19, 16), "endpointsleases"),
                                           ((1, 20, 0), "leases"), ((1, 30, 0), "leases")])
def test_the_default_lock_per_version(version, lock):
    assert election.default_lock(version) == lock


def test_two_candidates_one_leader(scheduler_api):
    _running, client = scheduler_api
    a, b = _candidate(client(), "master1_a"), _candidate(client(), "master2_b")
    assert a.step(0.0) is True and a.leader
    for now in (0.0, 2.0, 4.0):
        assert b.step(now) is False and not b.leader
        assert a.step(now) is True
    spec = _lease(client())
    assert spec["holderIdentity"] == "master1_a" and spec["leaseDurationSeconds"] == DURATION
    assert spec["leaseTransitions"] == 0 and spec["acquireTime"] <= spec["renewTime"]
    assert spec["renewTime"].endswith("Z") and "." in spec["renewTime"], "MicroTime"
    assert a.state()["role"] == "leader" and b.state() == {
        "role": "standby", "leader_elect": True, "identity": "master2_b", "holder": "master1_a", "lock": "leases",
        "last_error": "", "last_renew": 0.0}


def test_a_standby_takes_over_only_a_lease_duration_after_it_last_saw_a_renewal(scheduler_api):
    _running, client = scheduler_api
    a, b = _candidate(client(), "master1_a"), _candidate(client(), "master2_b")
    a.step(0.0)
    b.step(1.0)  # b first sees a's record at 1.0 (its own clock)
    # a stops renewing (killed): the record stays, naming it
    for now in (3.0, 9.0, 15.9):
        assert b.step(now) is False
        assert _lease(client())["holderIdentity"] == "master1_a"
    assert b.step(16.1) is True
    spec = _lease(client())
    assert spec["holderIdentity"] == "master2_b" and spec["leaseTransitions"] == 1
    assert spec["acquireTime"] == spec["renewTime"]
    assert b.step(18.0) is True and _lease(client())["leaseTransitions"] == 1, "a renewal is no transition"


def test_a_late_standby_judges_by_its_own_observation_not_by_renew_time(scheduler_api):
    _running, client = scheduler_api
    a = _candidate(client(), "master1_a")
    a.step(0.0)
    late = _candidate(client(), "master3_c")
    assert late.step(100.0) is False, "first sight of the record: it counts from now, whatever renewTime says"
    assert late.step(114.9) is False
    assert late.step(115.1) is True


def test_a_renewing_leader_is_never_replaced(scheduler_api):
    _running, client = scheduler_api
    a, b = _candidate(client(), "master1_a"), _candidate(client(), "master2_b")
    for now in range(0, 60, 2):
        assert a.step(float(now)) is True
        assert b.step(float(now) + 1) is False
    assert _lease(client())["leaseTransitions"] == 0


def test_a_leader_that_cannot_renew_within_the_deadline_exits_1(scheduler_api, capsys):
    running, client = scheduler_api
    a = _candidate(client(), "master1_a")
    assert a.step(0.0) is True
    running.etcd.down = True  # the apiserver answers 503
    assert a.step(2.0) is False and a.leader, "still the leader within renewDeadline"
    assert a.state()["last_error"].startswith("error retrieving resource lock kube-system/kube-scheduler: ")
    assert a.step(10.0) is False and a.leader
    with pytest.raises(SystemExit) as exited:
        a.step(10.5)
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "kube-scheduler: failed to renew lease kube-system/kube-scheduler: timed out waiting for the condition" in err
    assert err.rstrip().endswith("kube-scheduler: leaderelection lost")


def test_a_leader_that_lost_the_lock_exits_1_after_the_deadline(scheduler_api, capsys):
    """Partitioned from the apiserver longer than a lease duration, then back: someone
    else holds the lock; the old leader fails to renew and exits."""
    _running, client = scheduler_api
    a, b = _candidate(client(), "master1_a"), _candidate(client(), "master2_b")
    a.step(0.0)
    b.step(0.0)
    assert b.step(15.5) is True
    with pytest.raises(SystemExit) as exited:
        a.step(16.0)
    assert exited.value.code == 1 and "leaderelection lost" in capsys.readouterr().err


def test_concurrent_writers_one_wins_by_resource_version(scheduler_api):
    _running, client = scheduler_api
    first, second = election.Lock(client(), "leases", "kube-scheduler"), election.Lock(client(), "leases", "kube-scheduler")
    _candidate(client(), "old").step(0.0)
    assert first.get()["holderIdentity"] == "old" and second.get()["holderIdentity"] == "old"
    record = {"holderIdentity": "x", "leaseDurationSeconds": 15, "acquireTime": "t", "renewTime": "t", "leaderTransitions": 1}
    assert first.write(record) is True
    assert second.write(dict(record, holderIdentity="y")) is False, "409: its resourceVersion is stale"
    assert _lease(client())["holderIdentity"] == "x"


def test_the_endpoints_annotation_lock_of_old_versions(scheduler_api):
    _running, client = scheduler_api
    a, b = _candidate(client(), "master1_a", "endpoints"), _candidate(client(), "master2_b", "endpoints")
    assert a.step(0.0) is True and b.step(0.0) is False
    status, body, _h = client().get("/api/v1/namespaces/kube-system/endpoints/kube-scheduler")
    assert status == 200
    record = json.loads(body["metadata"]["annotations"][election.LEADER_ANNOTATION])
    assert record["holderIdentity"] == "master1_a" and record["leaseDurationSeconds"] == DURATION
    assert "." not in record["renewTime"], "the annotation holds RFC 3339 seconds"
    assert b.step(15.5) is True


def test_endpointsleases_keeps_both_records(scheduler_api):
    _running, client = scheduler_api
    a = _candidate(client(), "master1_a", "endpointsleases")
    assert a.step(0.0) is True
    assert _lease(client())["holderIdentity"] == "master1_a"
    body = client().get("/api/v1/namespaces/kube-system/endpoints/kube-scheduler")[1]
    assert json.loads(body["metadata"]["annotations"][election.LEADER_ANNOTATION])["holderIdentity"] == "master1_a"


def test_a_candidate_without_rights_on_the_lock_stays_standby(start_apiserver, pki_files):
    running = start_apiserver()
    node = _candidate(running.client(pki_files.kubelet), "node1_x")
    assert node.step(0.0) is False and not node.leader
    assert node.state()["last_error"] == (
        'error retrieving resource lock kube-system/kube-scheduler: leases.coordination.k8s.io "kube-scheduler" is forbidden: '
        'User "system:node:node1" cannot get resource "leases" in API group "coordination.k8s.io" in the namespace '
        '"kube-system": can only access leases in the "kube-node-lease" system namespace')


class _Stop(Exception):
    pass


def test_run_elected_steps_every_retry_period_and_reports_its_state(start_apiserver, pki_files, monkeypatch):
    running = start_apiserver()
    states, sleeps = [], []

    def sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 2:
            raise _Stop

    monkeypatch.setattr(election, "write_state", lambda component, data: states.append((component, data)))
    patch_sleep(monkeypatch, election, sleep)
    opts = flags.parse_flags("scheduler", ["--kubeconfig=" + pki_files.scheduler, "--master=" + running.url], (1, 30, 0))
    with pytest.raises(_Stop):
        election.run_elected("scheduler", opts, (1, 30, 0))
    assert sleeps == [2.0, 2.0], "--leader-elect-retry-period"
    component, state = states[-1]
    assert component == "scheduler" and state["role"] == "leader" and state["master"] == running.url
    assert state["lock"] == "leases" and state["holder"] == state["identity"]
    assert _lease(running.client(pki_files.scheduler))["holderIdentity"] == state["identity"]


def test_without_leader_election_a_component_is_active_at_once(start_apiserver, pki_files, monkeypatch):
    running = start_apiserver()
    states = []
    monkeypatch.setattr(election, "write_state", lambda component, data: states.append(data))
    patch_sleep(monkeypatch, election, lambda seconds: (x for x in ()).throw(_Stop()))
    opts = flags.parse_flags("controller-manager", ["--kubeconfig=" + pki_files.controller_manager, "--master=" + running.url,
                                                    "--leader-elect=false"], (1, 30, 0))
    with pytest.raises(_Stop):
        election.run_elected("controller-manager", opts, (1, 30, 0))
    assert states[-1]["role"] == "active" and states[-1]["leader_elect"] is False
    assert running.client(pki_files.admin).get(LEASES.replace("kube-scheduler", "kube-controller-manager"))[0] == 404


def test_the_controller_manager_without_its_service_account_key_exits_1(pki_files, tmp_path, capsys, monkeypatch):
    missing = str(tmp_path / "sa.key")
    opts = flags.parse_flags("controller-manager", ["--kubeconfig=" + pki_files.controller_manager,
                                                    "--service-account-private-key-file=" + missing], (1, 30, 0))
    with pytest.raises(SystemExit) as exited:
        election.run_elected("controller-manager", opts, (1, 30, 0))
    assert exited.value.code == 1
    assert capsys.readouterr().err.rstrip().endswith(
        "error reading key for service account token controller: open %s: no such file or directory" % missing)
