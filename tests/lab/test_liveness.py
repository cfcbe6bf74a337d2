"""A component counts as working only when it does its job, judged by the apiserver's clock:
a leader only while its lease's renewTime + leaseDurationSeconds lies in the future (the
record keeps the name of a holder that died or froze), a restarted kubelet only once it
renews its node Lease again. On 0.4.0 a frozen leader still passed the verification and a
kubelet that could not reach the API after its restart went unnoticed."""

from __future__ import annotations

import json
import re
import time

import pytest

from .lablib import playbook

from kubeha_testlib import MASTERS, NODES, VIPS, host, wait_for  # noqa: E402  (lablib puts it on sys.path)

pytestmark = [pytest.mark.lab, pytest.mark.usefixtures("lab_ready")]

SCHEDULER = "^/usr/bin/python3 /usr/bin/kube-scheduler"


def roles():
    return [json.loads(host(m).check_output("cat /run/kubeha-standin/scheduler.json"))["role"] for m in MASTERS]


def test_a_leader_that_stopped_renewing_is_no_leader():
    for master in MASTERS:
        host(master).run_test("pkill -STOP -f '%s'" % SCHEDULER)
    try:
        time.sleep(15 + 3)  # the lease duration, and a little
        rc, out = playbook("--tags", "leader_election_verify")
    finally:
        for master in MASTERS:
            host(master).run("pkill -CONT -f '%s'" % SCHEDULER)
    assert rc != 0, out[-3000:]
    flat = " ".join(out.split())
    assert re.search(r"kube-scheduler: the record names master[123]_[0-9a-f-]+, whose claim ran out [0-9.]+ s ago by the apiserver's clock", flat), \
        out[-3000:]
    assert "no leader is known for kube-scheduler" in flat, out[-3000:]
    # (the leader that froze past its renew deadline exits; the kubelet starts it again)
    assert wait_for(roles, lambda r: r.count("leader") == 1, 60).count("leader") == 1


def test_a_kubelet_that_cannot_reach_the_api_after_its_restart_fails_the_run():
    """The worker's kubelet is moved to the IPv6 VIP, which it cannot reach: the run waits for
    its node Lease and fails, naming it; moved back, it reports again."""
    node = NODES[0]
    v6 = "https://[%s]:8443" % VIPS[1]
    h = host(node)
    h.run_test("nft add table inet kubeha_block && nft add chain inet kubeha_block out '{ type filter hook output priority 0; }' "
               "&& nft add rule inet kubeha_block out ip6 daddr %s tcp dport 8443 drop" % VIPS[1])
    try:
        rc, out = playbook("-e", json.dumps({"kubeha_api_url": v6, "kube_clients_ready_timeout": 15}), "--tags", "kube_clients")
    finally:
        h.run("nft delete table inet kubeha_block")
    back_rc, back = playbook("--tags", "kube_clients")
    assert rc != 0, out[-3000:]
    flat = " ".join(out.split())
    assert re.search(r"kube_clients on %s: the kubelet restarted with %s but has not renewed its node Lease within 15 s"
                     % (node, re.escape(v6)), flat), out[-3000:]
    assert back_rc == 0, back[-3000:]

    def kubelet_state():
        return json.loads(h.check_output("cat /run/kubeha-standin/kubelet.json"))
    state = wait_for(kubelet_state, lambda s: s["api_ok"], 30)
    assert state["api_ok"] and state["api_server"].startswith("https://%s:" % VIPS[0]), state
