"""Benchmark of the endpoint filters: prints the time of each filter on N hosts.

Goal (issue 2): 5,000 hosts in under 0.5 s per filter. This prints figures;
it is not a test and never fails on time. Run: scripts/bench filters
"""

from __future__ import annotations

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
# conftest makes the checkout importable as ansible_collections.kubeha.control_plane
import conftest  # noqa: E402,F401  pylint: disable=unused-import,wrong-import-position

from ansible_collections.kubeha.control_plane.plugins.filter import hosts, vrrp  # noqa: E402

GOAL_S = 0.5


def inventory(n):
    names = ["host-%05d" % i for i in range(n)]
    hostvars = {}
    for i, name in enumerate(names):
        if i % 3 == 0:
            hostvars[name] = {"ansible_host": "10.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255)}
        elif i % 3 == 1:
            hostvars[name] = {"kubeha_address": "fd00::%x" % i}
        else:
            hostvars[name] = {"ansible_host": "%s.masters.example.com" % name}
    return names, hostvars


def vrrp_inventory(n):
    """Load balancers of one address family, as VRRP needs (keepalived takes addresses):
    IPv4 given as the address Ansible connects to or as kubeha_address."""
    names = ["lb-%05d" % i for i in range(n)]
    hostvars = {}
    for i, name in enumerate(names):
        key = "ansible_host" if i % 2 == 0 else "kubeha_address"
        hostvars[name] = {key: "10.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255)}
    return names, hostvars


def best_of(fn, repeat=3):
    times = []
    for dummy in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(sizes=(100, 1000, 5000)):
    print("%-18s %8s %12s %s" % ("filter", "hosts", "seconds", "goal"))
    worst = 0.0
    for n in sizes:
        names, hv = inventory(n)
        lbs, lb_hv = vrrp_inventory(n)
        cases = {
            "etcd_servers": lambda: hosts.etcd_servers(names, hv, scheme="https", port=2379),
            "haproxy_backends": lambda: hosts.haproxy_backends(names, hv, port=6443),
            "vrrp_peers": lambda: vrrp.vrrp_peers(lbs, lb_hv, lbs[n // 2]),
        }
        for name, fn in cases.items():
            assert len(fn()) >= n - 1  # the work really happened
            secs = best_of(fn)
            goal = ""
            if n == 5000:
                worst = max(worst, secs)
                goal = "ok (< %.1f s)" % GOAL_S if secs < GOAL_S else "MISSED (>= %.1f s)" % GOAL_S
            print("%-18s %8d %12.4f %s" % (name, n, secs, goal))
    print("slowest filter on 5,000 hosts: %.4f s (goal < %.1f s)" % (worst, GOAL_S))


if __name__ == "__main__":
    main()
