"""Unit tests of benchmarks/failover/analysis.py on synthetic data: takeover, all-ok-after, statistics,
the VRRP bound and its flag, move counting, admin-socket parsing, the reboot verdict."""

from __future__ import annotations

import pytest

from failover.analysis import (
    all_ok_after_end, all_ok_after_started, below_bound, count_moves, crash_takeover_bound, failure_span_started,
    first_acquisition, first_failure, first_time, is_down, is_up, master_down_interval, parse_admin_output,
    parse_master_entries, request_counts, slowstart_evidence, summarize, takeover_end, takeover_started,
    vip_before_frontend, vrrp_skew_time,
)
from failover_harness import crash_like, record


# ----------------------------------------------------------------------------- takeover and all-ok-after
def test_takeover_started_uses_the_first_fast_success_after_the_first_failure():
    records = crash_like()
    assert first_failure(records, 100.0).start == pytest.approx(100.05)
    assert takeover_started(records, 100.0) == pytest.approx(2.30)  # not 1.20 (the late success)


def test_takeover_end_uses_the_earliest_end_of_a_success_after_the_first_failure():
    assert takeover_end(crash_like(), 100.0) == pytest.approx(2.25)  # the late success ended first


def test_all_ok_after_counts_from_the_last_failure():
    records = crash_like()
    assert all_ok_after_started(records, 100.0) == pytest.approx(3.05)
    assert all_ok_after_end(records, 100.0) == pytest.approx(3.06)


def test_in_flight_failure_before_the_fault_counts_and_earlier_ones_do_not():
    records = [record(99.0, 0.5, False), record(99.95, 0.9, False), record(100.2), record(100.25), record(101.5)]
    assert first_failure(records, 100.0).start == 99.95  # still running at the fault
    assert takeover_started(records, 100.0) == pytest.approx(0.2)


def test_no_failure_means_zero_and_no_recovery_means_none():
    ok = [record(100 + k * 0.05) for k in range(40)]
    assert takeover_started(ok, 100.0) == 0.0
    assert takeover_end(ok, 100.0) == 0.0
    assert all_ok_after_started(ok, 100.0) == 0.0
    failing = [record(100 + k * 0.05, 0.9, False) for k in range(40)]
    assert takeover_started(failing, 100.0) is None
    assert takeover_end(failing, 100.0) is None
    assert all_ok_after_started(failing, 100.0) is None


def test_all_ok_after_needs_a_second_of_traffic_after_it():
    records = [record(100.0, 0.9, False)] + [record(100.5 + k * 0.05) for k in range(10)]  # 0.45 s of successes
    assert takeover_started(records, 100.0) == pytest.approx(0.5)
    assert all_ok_after_started(records, 100.0) is None


def test_counts_and_failure_span():
    records = crash_like()
    failed, total, slow = request_counts(records)
    assert (failed, total, slow) == (45, 140, 1)
    assert failure_span_started(records) == pytest.approx(2.95)
    assert failure_span_started(records[:5]) == 0.0


# ----------------------------------------------------------------------------- statistics and the bound
def test_summarize():
    assert summarize([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 3, "missing": 0}
    assert summarize([1.0, None, 4.0]) == {"median": 2.5, "min": 1.0, "max": 4.0, "n": 2, "missing": 1}
    assert summarize([None]) == {"median": None, "min": None, "max": None, "n": 0, "missing": 1}


def test_vrrp_bound_formula():
    assert vrrp_skew_time(190, 1.0) == pytest.approx(66 / 256)
    assert master_down_interval(190, 1.0) == pytest.approx(3.2578125)
    assert crash_takeover_bound(190, 1.0) == pytest.approx(2.2578125)  # the README's ~2.26 s
    assert crash_takeover_bound(200, 1.0) == pytest.approx(2.21875)
    assert crash_takeover_bound(180, 0.1) == pytest.approx(0.2296875)  # fast profile (VRRPv3, 0.1 s)


def test_below_bound_flag():
    bound = crash_takeover_bound(190, 1.0)
    assert below_bound(1.60, bound)  # the old README figure for a default-profile crash
    assert not below_bound(2.30, bound)
    assert not below_bound(None, bound)


# ----------------------------------------------------------------------------- VIP moves from the journal
JOURNAL_LB2 = """\
-- Journal begins at Wed 2026-11-25 10:00:00 UTC. --
1700000100.200000 lb2 Keepalived_vrrp[812]: (VI_10_213_53_100) Entering BACKUP STATE
1700000102.480000 lb2 Keepalived_vrrp[812]: (VI_10_213_53_100) Entering MASTER STATE
1700000102.490000 lb2 Keepalived_vrrp[812]: (VI_10_213_53_100) Received advert from 10.213.53.13 with lower priority
1700000109.010000 lb2 Keepalived_vrrp[812]: (VI_10_213_53_100) Master received advert from 10.213.53.11 with higher priority 200, ours 190
1700000109.020000 lb2 Keepalived_vrrp[812]: (VI_10_213_53_100) Entering BACKUP STATE
"""
JOURNAL_LB1 = """\
-- Boot 3f2c --
1700000108.990000 lb1 Keepalived_vrrp[77]: (VI_10_213_53_100) Entering MASTER STATE
"""


def test_master_entries_from_journal_lines():
    assert parse_master_entries(JOURNAL_LB2, "lb2") == [(1700000102.48, "lb2")]
    assert parse_master_entries(JOURNAL_LB1, "lb1") == [(1700000108.99, "lb1")]
    assert parse_master_entries("-- No entries --\n", "lb3") == []


def test_moves_count_acquisitions_by_another_node():
    acquisitions = parse_master_entries(JOURNAL_LB1, "lb1") + parse_master_entries(JOURNAL_LB2, "lb2")
    assert count_moves(acquisitions, "lb1") == 2  # away to lb2, back to lb1 (time order, not input order)
    assert count_moves(acquisitions, "lb2") == 1
    assert count_moves([(1.0, "lb1"), (2.0, "lb1")], "lb1") == 0  # the holder re-entering MASTER is no move
    assert count_moves([(1.0, "lb2"), (1.5, "lb2"), (3.0, "lb3")], "lb1") == 2
    assert count_moves([], "lb1") == 0
    assert first_acquisition(acquisitions, 0.0, exclude="lb1") == (1700000102.48, "lb2")


# ----------------------------------------------------------------------------- HAProxy admin socket
_STAT_HEADER = ("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,"
                "status,weight,act,bck,chkfail,chkdown,lastchg,downtime")


def _stat_row(px, sv, status, weight):
    return ",".join([px, sv] + ["0"] * 15 + [status, str(weight), "1", "0", "0", "0", "5", "0"])


ADMIN_OUTPUT = "\n".join([
    _STAT_HEADER,
    _stat_row("kube-apiserver", "FRONTEND", "OPEN", 0),
    _stat_row("kube-apiserver", "lb1", "UP", 1),
    _stat_row("kube-apiserver", "lb2", "DOWN 1/2", 0),
    _stat_row("kube-apiserver", "lb3", "UP", 1),
    _stat_row("kube-apiserver", "BACKEND", "UP", 2),
    _stat_row("stats", "FRONTEND", "OPEN", 0),
    "",
    "1",
    "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight",
    "3 kube-apiserver 1 lb1 10.213.53.11 2 0 1 1",
    "3 kube-apiserver 2 lb2 10.213.53.12 0 0 1 1",
    "3 kube-apiserver 3 lb3 10.213.53.13 1 0 1 1",
    "",
])


def test_parse_admin_output():
    servers = parse_admin_output(ADMIN_OUTPUT)
    assert servers == {
        "lb1": {"status": "UP", "weight": 1, "op_state": 2},
        "lb2": {"status": "DOWN 1/2", "weight": 0, "op_state": 0},
        "lb3": {"status": "UP", "weight": 1, "op_state": 1},
    }
    assert is_down(servers["lb2"]) and not is_up(servers["lb2"])
    assert is_up(servers["lb1"]) and not is_down(servers["lb1"])
    assert not is_up(None) and not is_down({})


def test_parse_admin_output_falls_back_to_field_positions():
    rows = "\n".join([_stat_row("kube-apiserver", "lb1", "UP", 1), _stat_row("kube-apiserver", "lb2", "DOWN", 0)])
    assert parse_admin_output(rows) == {}  # no header seen: not a show stat answer
    text = "# pxname,svname\n" + rows  # a header without the columns: status = index 17, weight = index 18
    assert parse_admin_output(text) == {"lb1": {"status": "UP", "weight": 1}, "lb2": {"status": "DOWN", "weight": 0}}


def _samples(states):
    """[(t, {"lb2": state})] from [(t, status, weight, op_state)]."""
    return [(t, {"lb2": {"status": s, "weight": w, "op_state": o}}) for t, s, w, o in states]


def test_down_and_up_times_and_slowstart():
    samples = _samples([(-0.2, "UP", 1, 2), (0.5, "UP 1/2", 1, 2), (1.3, "DOWN", 0, 0), (4.1, "DOWN 1/2", 0, 0),
                        (5.3, "UP", 1, 1), (6.0, "UP", 1, 1), (9.0, "UP", 1, 2)])
    assert first_time(samples, "lb2", is_down, 0.0) == 1.3
    up_at = first_time(samples, "lb2", is_up, 4.0)
    assert up_at == 5.3
    in_effect, view = slowstart_evidence(samples, "lb2", up_at, span=2.0)
    assert in_effect
    assert view == [[0.0, "UP", 1, 1], [0.7, "UP", 1, 1]]
    no_slowstart = _samples([(5.3, "UP", 1, 2), (6.0, "UP", 1, 2)])
    assert slowstart_evidence(no_slowstart, "lb2", 5.3) == (False, [[0.0, "UP", 1, 2], [0.7, "UP", 1, 2]])
    ramp = _samples([(5.3, "UP", 25, None), (6.0, "UP", 60, None), (7.0, "UP", 100, None)])
    assert slowstart_evidence(ramp, "lb2", 5.3)[0]
    assert first_time(samples, "lb3", is_down, 0.0) is None


# ----------------------------------------------------------------------------- reboots
def _probes(t0=100.0, answers_at=5.0):
    return [record(t0 + k * 0.1, 0.9 if t0 + k * 0.1 < t0 + answers_at else 0.01, t0 + k * 0.1 >= t0 + answers_at - 1e-9)
            for k in range(-5, 80)]


@pytest.mark.parametrize("entries, verdict", [
    ([], "no"), ([6.0], "no"), ([3.0], "yes"), ([4.95], "undetermined"), ([4.95, 6.0], "undetermined"),
])
def test_vip_before_frontend(entries, verdict):
    got, answered = vip_before_frontend(entries, _probes(), 100.0)
    assert answered == pytest.approx(5.0)
    assert got == verdict
