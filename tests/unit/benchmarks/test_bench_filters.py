"""The filter benchmark runs (it prints figures and never fails on time, but it must not
crash: a filter that became stricter broke it once, unnoticed, because nothing ran it)."""

from __future__ import annotations

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "benchmarks"))
import bench_filters  # noqa: E402


def test_every_filter_runs_on_a_small_inventory(capsys):
    bench_filters.main(sizes=(30,))
    out = capsys.readouterr().out
    for name in ("etcd_servers", "haproxy_backends", "vrrp_peers"):
        assert re.search(r"^%s\s+30\s+\d+\.\d{4}" % name, out, re.M), out


def test_the_vrrp_inventory_is_one_family_and_each_host_has_its_address():
    names, hostvars = bench_filters.vrrp_inventory(5)
    peers = bench_filters.vrrp.vrrp_peers(names, hostvars, names[0])
    assert len(peers) == 4 and all(p.startswith("10.") for p in peers)
