"""A component counts as working only when it does its job, judged by the apiserver's clock:
a leader only while its lease's renewTime + leaseDurationSeconds lies in the future (the
record keeps the name of a holder that died or froze), a restarted kubelet only once it
renews its node Lease again, a restarted standby only once its own kubeconfig reaches the
API. On 0.4.0 a frozen leader still passed the verification and a kubelet that could not
reach the API after its restart went unnoticed; a node that cannot reach the VIP is now
refused before any client moves."""

from __future__ import annotations

import json
import re
import shlex
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


def test_a_node_that_cannot_reach_the_vip_is_refused_before_any_change():
    """The worker cannot reach the IPv6 VIP: preflight asks the URL from every host before
    any kubelet or kube-proxy is moved, and fails naming it; nothing changed."""
    node = NODES[0]
    v6 = "https://[%s]:8443" % VIPS[1]
    h = host(node)
    before = h.check_output("sha256sum /etc/kubernetes/kubelet.conf")
    h.run_test("nft add table inet kubeha_block && nft add chain inet kubeha_block out '{ type filter hook output priority 0; }' "
               "&& nft add rule inet kubeha_block out ip6 daddr %s tcp dport 8443 drop" % VIPS[1])
    try:
        rc, out = playbook("-e", json.dumps({"kubeha_api_url": v6}), "--tags", "kube_clients")
    finally:
        h.run("nft delete table inet kubeha_block")
    assert rc != 0, out[-3000:]
    flat = " ".join(out.split())
    assert re.search(r"kube_clients on %s: %s does not answer from this host" % (node, re.escape(v6)), flat), out[-3000:]
    assert h.check_output("sha256sum /etc/kubernetes/kubelet.conf") == before


def test_a_kubelet_that_cannot_reach_the_api_after_its_restart_fails_the_run():
    """The worker's kubelet is moved to the IPv6 VIP with a client certificate of another
    CA: the way is open, but the restarted kubelet cannot authenticate. The run waits for
    its node Lease and fails, naming it; with its certificate back, it reports again."""
    node = NODES[0]
    v6 = "https://[%s]:8443" % VIPS[1]
    pem = "/var/lib/kubelet/pki/kubelet-client-current.pem"
    h = host(node)
    h.run_test("cp -p %s /root/kubelet-client.test-saved" % pem)
    try:
        h.run_test("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /O=system:nodes/CN=system:node:%s "
                   "-keyout /root/k.pem -out /root/c.pem 2>/dev/null && cat /root/c.pem /root/k.pem > %s && rm -f /root/k.pem /root/c.pem"
                   % (node, pem))
        rc, out = playbook("-e", json.dumps({"kubeha_api_url": v6, "kube_clients_ready_timeout": 15}), "--tags", "kube_clients")
    finally:
        # The certificate back, and the kubelet restarted to load it, as an operator would:
        # until then it cannot update its kube-proxy pod, and the next run's kube-proxy
        # rollout would wait for it (as a real DaemonSet rollout waits for a broken node).
        h.run_test("cp -p /root/kubelet-client.test-saved %s && rm -f /root/kubelet-client.test-saved && systemctl restart kubelet" % pem)
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


FOREIGN_CLIENT = r"""
import base64, subprocess, sys, tempfile, yaml
path = sys.argv[1]
doc = yaml.safe_load(open(path))
with tempfile.TemporaryDirectory() as tmp:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=system:kube-scheduler", "-keyout", tmp + "/k", "-out", tmp + "/c"], check=True, capture_output=True)
    user = doc["users"][0]["user"]
    user["client-certificate-data"] = base64.b64encode(open(tmp + "/c", "rb").read()).decode()
    user["client-key-data"] = base64.b64encode(open(tmp + "/k", "rb").read()).decode()
yaml.safe_dump(doc, open(path, "w"))
"""


def test_a_restarted_standby_that_cannot_reach_the_api_fails_the_run():
    """A leader elsewhere keeps renewing whatever a restarted standby does: the role asks the
    API with each restarted component's own kubeconfig. master2's scheduler is given a client
    certificate of another CA, then the leader election timing changes everywhere: master2's
    turn fails naming it, and master3 is not changed."""
    victim, conf = MASTERS[1], "/etc/kubernetes/scheduler.conf"
    h = host(victim)
    h.run_test("cp -p %s %s.test-saved" % (conf, conf))
    try:
        h.run_test("python3 -c %s %s" % (shlex.quote(FOREIGN_CLIENT), conf))
        rc, out = playbook("-e", json.dumps({"leader_election_renew_deadline": "9s"}), "--tags", "leader_election")
        untouched = host(MASTERS[2]).check_output("grep -c -- '--leader-elect-renew-deadline=9s' "
                                                  "/etc/kubernetes/manifests/kube-scheduler.yaml || true")
    finally:
        h.run_test("mv -f %s.test-saved %s" % (conf, conf))
    back_rc, back = playbook("--tags", "leader_election")
    assert rc != 0, out[-3000:]
    flat = " ".join(out.split())
    assert re.search(r"leader_election on %s: kube-scheduler cannot reach the API as it is configured \(%s\)"
                     % (victim, re.escape(conf)), flat), out[-3000:]
    assert untouched == "0", "the master after the failed one was changed"
    assert back_rc == 0, back[-3000:]
