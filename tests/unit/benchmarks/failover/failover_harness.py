"""Synthetic request records and runs shared by the failover benchmark's unit tests (no podman, no lab)."""

from __future__ import annotations

from failover.labctl import Observation
from failover.request import RequestRecord


def record(start, duration=0.01, ok=True):
    """One request record: ``duration`` s from ``start``, failed as a connect timeout unless ``ok``."""
    return RequestRecord(start, start + duration, ok, None if ok else "connect:timeout")


def crash_like(t0=100.0):
    """Requests every 50 ms: ok, failing (0.9 s) from 100.05 to 102.25 except one late success (start 101.2,
    1.05 s: a retransmitted SYN), ok from 102.30, one more failure at 103.00 (a dead backend), ok after."""
    records = []
    for k in range(140):
        start = round(t0 - 1.0 + k * 0.05, 4)
        if start == 101.2:
            records.append(record(start, 1.05, True))
        elif 100.05 <= start <= 102.25 or start == 103.0:
            records.append(record(start, 0.9, False))
        else:
            records.append(record(start))
    return records


def observation(records, acquisitions, holder="lb1"):
    """A run around a fault at 100.0 (monotonic), its window ending at 107.0."""
    obs = Observation(holder_before=holder, fault_time=100.0, fault_wall=1700000100.0, fault_done=100.1,
                      window_end=107.0)
    obs.requests, obs.acquisitions = records, acquisitions
    return obs
