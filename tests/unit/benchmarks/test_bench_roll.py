"""The roll benchmark's pure parts: which masters a site.yml run restarted, its options."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "benchmarks"))
import bench_roll  # noqa: E402
from failover.request import RequestRecord  # noqa: E402

OUTPUT = '''
TASK [kubeha.control_plane.apiserver : Roll | why: lb1] ************************
ok: [lb1] => {
    "msg": "lb1: configuration changed"
}
TASK [kubeha.control_plane.apiserver : Roll | why: lb2] ************************
ok: [lb1 -> lb2] => {
    "msg": "lb2: configuration changed, running with other flags than configured"
}
TASK [kubeha.control_plane.apiserver : Roll | why: lb3] ************************
ok: [lb1] => {
    "msg": "lb3: not running"
}
'''


def test_rolled_masters_are_read_from_the_roll_messages():
    # lb3 was only started (not running before), not restarted for a changed configuration.
    assert bench_roll.rolled_masters(OUTPUT) == ["lb1", "lb2"]


def test_options():
    args = bench_roll.parse_args(["--repeat", "2", "--layout", "static_pod"])
    assert args.repeat == 2 and args.layout == "static_pod"
    with pytest.raises(SystemExit):
        bench_roll.parse_args(["--repeat", "0"])


def test_failure_bursts_group_by_gap_and_count():
    rec = RequestRecord
    failed = [rec(10.0, 10.5, False, "eof"), rec(10.4, 10.9, False, "eof"), rec(11.3, 11.4, False, "eof"),
              rec(20.0, 20.2, False, "tls-eof")]
    bursts = bench_roll.failure_bursts(failed, wall_offset=0.0)
    assert [(b["count"], b["seconds"]) for b in bursts] == [(3, 1.4), (1, 0.2)]
    assert bench_roll.failure_bursts([], 0.0) == []
