"""Analysis of a run (pure functions): takeover and recovery times from request records,
counts and summaries, the VRRP bound of a crash takeover, VIP moves from keepalived's
journal, HAProxy's admin-socket output, and the reboot verdict.

See bench_failover.py's docstring for the definitions.
"""

from __future__ import annotations

import math
import re
import statistics

from .settings import BACKEND, MIN_TAIL_S, SLOWSTART_VIEW_S, SRV_ST_STARTING, SYN_RTO_S


def _concerned(records, t0):
    """Requests the fault at ``t0`` could touch (still running at t0 or later), by start."""
    return sorted((r for r in records if r.end > t0), key=lambda r: r.start)


def first_failure(records, t0):
    """The first failed request, by start, among those still running at the fault or started after it."""
    return next((r for r in _concerned(records, t0) if not r.ok), None)


def takeover_started(records, t0, max_duration=SYN_RTO_S):
    """Fault -> START of the first request started after the first failure that succeeded in < ``max_duration``.

    A success that took ``max_duration`` (the SYN retransmission timeout) or more
    may have waited through a SYN retransmit, so its start says nothing about
    when the service came back: it is skipped. 0.0 when no request failed,
    None when no request recovered.
    """
    first = first_failure(records, t0)
    if first is None:
        return 0.0
    for rec in _concerned(records, t0):
        if rec.start > first.start and rec.start >= t0 and rec.ok and rec.duration < max_duration:
            return rec.start - t0
    return None


def takeover_end(records, t0):
    """Fault -> END of the first request (started after the first failure) that succeeded; 0.0 / None as above."""
    first = first_failure(records, t0)
    if first is None:
        return 0.0
    ends = [r.end for r in _concerned(records, t0) if r.ok and r.start > first.start]
    return min(ends) - t0 if ends else None


def _recovery(records, t0, max_duration, min_tail):
    """The first request after the last failure that succeeded in < max_duration, if min_tail s of traffic follow."""
    recs = _concerned(records, t0)
    failures = [r for r in recs if not r.ok]
    if not failures:
        return None
    last = failures[-1]
    tail = [r for r in recs if r.start > last.start]
    for rec in tail:
        if rec.duration < max_duration:
            return rec if tail[-1].start - rec.start >= min_tail else None
    return None


def all_ok_after_started(records, t0, max_duration=SYN_RTO_S, min_tail=MIN_TAIL_S):
    """Fault -> start of the first request of the final all-successful run (see _recovery); 0.0 / None."""
    if first_failure(records, t0) is None:
        return 0.0
    rec = _recovery(records, t0, max_duration, min_tail)
    return None if rec is None else max(0.0, rec.start - t0)


def all_ok_after_end(records, t0, max_duration=SYN_RTO_S, min_tail=MIN_TAIL_S):
    """Fault -> end of the request all_ok_after_started starts at; 0.0 / None."""
    if first_failure(records, t0) is None:
        return 0.0
    rec = _recovery(records, t0, max_duration, min_tail)
    return None if rec is None else rec.end - t0


def failure_span_started(records):
    """Start of the last failed request minus start of the first failed one (0.0 with fewer than two)."""
    starts = [r.start for r in records if not r.ok]
    return max(starts) - min(starts) if len(starts) > 1 else 0.0


def request_counts(records, slow_s=SYN_RTO_S):
    """(failed, total, slow): not ok, all, ok but taking ``slow_s`` or more."""
    failed = sum(1 for r in records if not r.ok)
    slow = sum(1 for r in records if r.ok and r.duration >= slow_s)
    return failed, len(records), slow


def summarize(values):
    """Median, min, max and n of the numbers in ``values``; None entries are counted as missing."""
    numbers = [v for v in values if v is not None]
    missing = len(values) - len(numbers)
    if not numbers:
        return {"median": None, "min": None, "max": None, "n": 0, "missing": missing}
    return {"median": statistics.median(numbers), "min": min(numbers), "max": max(numbers), "n": len(numbers),
            "missing": missing}


def vrrp_skew_time(priority, advert_int):
    """VRRP skew time: (256 - priority) x advert_int / 256 (VRRPv2; VRRPv3 with the interval in seconds)."""
    return (256 - priority) * advert_int / 256.0


def master_down_interval(priority, advert_int):
    """VRRP master-down interval of a backup: 3 x advert_int + skew time."""
    return 3 * advert_int + vrrp_skew_time(priority, advert_int)


def crash_takeover_bound(priority, advert_int):
    """Shortest possible takeover after the master dies silently: master-down interval minus one advert.

    The backup's timer restarts with every advert; the last one left at most one
    advert_int before the crash, so the backup cannot become master earlier than
    master_down_interval - advert_int after it. ``priority``: the new holder's.
    """
    return master_down_interval(priority, advert_int) - advert_int


def below_bound(value, bound):
    """True when a measured crash takeover is shorter than the physical bound (a measurement bug)."""
    return value is not None and bound is not None and value < bound


_JOURNAL_TS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s")


def parse_master_entries(journal_text, node):
    """[(unix time, node)] of every "Entering MASTER STATE" line of ``journalctl -o short-unix`` output."""
    entries = []
    for line in journal_text.splitlines():
        match = _JOURNAL_TS.match(line)
        if match and "Entering MASTER STATE" in line:
            entries.append((float(match.group(1)), node))
    return entries


def count_moves(acquisitions, initial_holder):
    """VIP moves: acquisitions (time, node), in time order, by a node other than the previous holder."""
    moves, holder = 0, initial_holder
    for _time, node in sorted(acquisitions):
        if node != holder:
            moves += 1
            holder = node
    return moves


def first_acquisition(acquisitions, after, exclude=None):
    """(time, node) of the first acquisition at or after ``after`` by a node other than ``exclude``."""
    return next(((t, n) for t, n in sorted(acquisitions) if t >= after and n != exclude), None)


def parse_admin_output(text, backend=BACKEND):
    """Servers of ``backend`` from HAProxy ``show stat`` and ``show servers state`` output.

    Returns {server: {"status", "weight", "op_state"}}, the keys present that the
    output had. Columns are found by the header lines ("# pxname,svname,..." and
    "# be_id be_name ..."); show stat falls back to status = field 18 (index 17)
    and weight = index 18.
    """
    servers = {}
    mode, cols = None, []
    for line in text.splitlines():
        if line.startswith("# pxname,"):
            mode, cols = "stat", line[2:].split(",")
            continue
        if line.startswith("# be_id "):
            mode, cols = "state", line[2:].split()
            continue
        if not line.strip() or line.startswith("#"):
            continue
        if mode == "stat":
            fields = line.split(",")
            i_status = cols.index("status") if "status" in cols else 17
            i_weight = cols.index("weight") if "weight" in cols else 18
            if len(fields) <= max(i_status, i_weight) or fields[0] != backend or fields[1] in ("FRONTEND", "BACKEND"):
                continue
            weight = fields[i_weight]
            servers.setdefault(fields[1], {}).update(
                status=fields[i_status], weight=int(weight) if weight.isdigit() else None)
        elif mode == "state":
            fields = line.split()
            try:
                be_name, name = fields[cols.index("be_name")], fields[cols.index("srv_name")]
                op_state = int(fields[cols.index("srv_op_state")])
            except (ValueError, IndexError):
                continue
            if be_name == backend:
                servers.setdefault(name, {})["op_state"] = op_state
    return servers


def is_down(state):
    """HAProxy shows the server DOWN (also "DOWN 1/2": down, going up)."""
    return bool(state) and state.get("status", "").split(" ")[0] == "DOWN"


def is_up(state):
    """HAProxy shows the server UP (also "UP 1/2": up, going down)."""
    return bool(state) and state.get("status", "").split(" ")[0] == "UP"


def first_time(samples, server, predicate, after=-math.inf):
    """Time of the first sample (time, {server: state}) at or after ``after`` where predicate(state) holds."""
    return next((t for t, servers in samples if t >= after and predicate(servers.get(server))), None)


def slowstart_evidence(samples, server, up_at, span=SLOWSTART_VIEW_S):
    """(in_effect, view) for the first ``span`` s after ``up_at``.

    view: [[t - up_at, status, weight, op_state]]; in effect when HAProxy shows
    the server in its STARTING state (srv_op_state 1) or its weight rises.
    """
    view = [[round(t - up_at, 3), st.get("status"), st.get("weight"), st.get("op_state")]
            for t, servers in samples if up_at <= t <= up_at + span and (st := servers.get(server))]
    weights = [v[2] for v in view if v[2] is not None]
    ramp = bool(weights) and weights[0] < max(weights)
    return any(v[3] == SRV_ST_STARTING for v in view) or ramp, view


def vip_before_frontend(node_entries, probes, t0):
    """Did a booting node take the VIP before its own HAProxy frontend answered?

    ``node_entries``: times (relative to t0) at which the node entered MASTER;
    ``probes``: requests straight to its frontend (monotonic). The frontend
    answered at the latest at ``answered`` (takeover_started of the probes) and
    did not yet answer a request started at the last failed probe before that.
    Returns (verdict, answered): "yes" when an entry precedes that failed probe,
    "undetermined" when one falls between it and ``answered``, else "no".
    """
    answered = takeover_started(probes, t0)
    failed_before = [r.start - t0 for r in _concerned(probes, t0)
                     if not r.ok and (answered is None or r.start - t0 < answered)]
    not_answering_at = max(failed_before) if failed_before else -math.inf
    verdict = "no"
    for entry in sorted(node_entries):
        if entry < not_answering_at:
            return "yes", answered
        if answered is None or entry < answered:
            verdict = "undetermined"
    return verdict, answered
