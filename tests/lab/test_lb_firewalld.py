"""firewalld on the converged lab, as an operator who turns it on later would: firewalld is
started on every host (the image has it, disabled), which cuts etcd, the apiservers and
VRRP off from each other; the roles' firewalld tasks open exactly what the cluster needs
(rich rules, permanent and applied at once), a second run (the whole site.yml, through
the new rules, as the README's checkout command from a fresh clone runs it) changes
nothing, VRRP from a
host that is not a load balancer is dropped while adverts of a peer pass, and the VIP still
moves between the load balancers. firewalld stays on for the lab's later checks."""

from __future__ import annotations

import re
import shlex
import time

import pytest

from .lablib import playbook, readme_checkout_site, recap

from kubeha_testlib import API, API_CURL, LBS, MASTERS, NODES, RUNNER, holders, host, wait_for  # noqa: E402  (lablib puts it on sys.path)

pytestmark = [pytest.mark.lab, pytest.mark.usefixtures("lab_ready")]

TAGS = "apiserver_firewalld,haproxy_firewalld,keepalived_firewalld"
HAND_MADE = 'rule family="ipv4" source address="192.0.2.10" port port="6443" protocol="tcp" accept'
ALL = MASTERS + [n for n in NODES if n not in MASTERS]


def v4(name):
    return RUNNER.get_variables(name)["kubeha_address"]


def v6(name):
    return RUNNER.get_variables(name).get("keepalived_unicast_src_ip6")


def port_rules(sources, port):
    """From each host's inventory address (IPv4 in the lab; the masters' IPv6 addresses are
    their VRRP sources only, which the apiserver and etcd rules do not use)."""
    return {'rule family="ipv4" source address="%s" port port="%d" protocol="tcp" accept' % (v4(name), port)
            for name in sources}


def rich_rules(name, permanent=True):
    out = host(name).check_output("firewall-cmd %s--list-rich-rules" % ("--permanent " if permanent else ""))
    return {line.strip() for line in out.splitlines() if line.strip()}


@pytest.fixture(scope="module")
def firewalled(tmp_path_factory):
    # From firewalld's defaults, as on a fresh lab (on a lab where this ran before, the
    # roles' rules are still in the zone files).
    for name in ALL:
        host(name).run_test("systemctl stop firewalld && rm -f /etc/firewalld/zones/*.xml /etc/firewalld/zones/*.xml.old")
    for name in ALL:
        host(name).run_test("systemctl start firewalld")
    assert all(host(name).check_output("firewall-cmd --state") == "running" for name in ALL)
    first = playbook("--tags", TAGS)
    # A rule an operator made by hand for the apiserver's port (a bastion): the roles keep it.
    for permanent in ("--permanent ", ""):
        host(MASTERS[0]).run_test("firewall-cmd " + permanent + "--add-rich-rule=" + shlex.quote(HAND_MADE))
    # The whole site.yml with firewalld running: every play (the roll's checks, the final
    # verification through the VIP, the leaders) passes through the rules, and changes
    # nothing. Run as README's checkout command from a fresh clone (one re-converge of the
    # lab proves both: a converge is the suite's most expensive step).
    second = readme_checkout_site(tmp_path_factory.mktemp("readme-checkout"))
    return first, second


def test_firewalld_converges_and_the_readme_checkout_command_then_changes_nothing(firewalled):
    (rc1, out1), (rc2, out2) = firewalled
    assert rc1 == 0, out1[-4000:]
    assert sum(row["changed"] for row in recap(out1).values()) > 0, "starting firewalld left nothing to open?\n" + out1[-3000:]
    assert rc2 == 0, out2[-4000:]
    rows = recap(out2)
    # (localhost: site.yml's first play, which checks the inventory on the controller)
    assert set(rows) - {"localhost"} == set(ALL), out2[-4000:]
    not_clean = {name: row for name, row in rows.items() if (row["changed"], row["unreachable"], row["failed"]) != (0, 0, 0)}
    assert not_clean == {}, (not_clean, out2[-5000:])


@pytest.mark.parametrize("name", MASTERS)
def test_only_what_the_cluster_needs_is_open(firewalled, name):
    others = [m for m in LBS if m != name]
    vrrp = {'rule family="ipv4" source address="%s" protocol value="vrrp" accept' % v4(o) for o in others}
    vrrp |= {'rule family="ipv6" source address="%s" protocol value="vrrp" accept' % v6(o) for o in others}
    frontend = {'rule family="ipv%d" port port="8443" protocol="tcp" accept' % f for f in (4, 6)}
    wanted = (vrrp | frontend | port_rules(ALL, 6443)
              | port_rules(MASTERS, 2379) | port_rules(MASTERS, 2380) | ({HAND_MADE} if name == MASTERS[0] else set()))
    assert rich_rules(name) == wanted
    assert rich_rules(name, permanent=False) == wanted, "the running firewall differs from the permanent one"
    # Nothing opened to everyone besides the frontend: no plain ports, the zone's own services only.
    assert host(name).check_output("firewall-cmd --list-ports") == ""
    # Each role's rules are a recorded set (only recorded rules are ever removed).
    records = host(name).check_output("ls /var/lib/kubeha/firewalld").split()
    assert records == ["kubeha-apiserver.json", "kubeha-etcd.json", "kubeha-haproxy-frontend.json", "kubeha-keepalived-vrrp.json"]


def test_node_rules_are_unchanged(firewalled):
    """A node is neither a load balancer, a master nor an etcd member: nothing is opened there."""
    for name in NODES:
        if name not in MASTERS:
            assert rich_rules(name) == set()


def _counters(name):
    """{chain: {source: packets}} of the test table's VRRP counters on ``name``."""
    out = host(name).check_output("nft list table inet kubeha_test")
    counts = {}
    for chain, body in re.findall(r"chain (\w+) \{(.*?)\n\t\}", out, re.S):
        counts[chain] = {src: int(n) for src, n in re.findall(r"ip saddr (\S+) ip protocol vrrp counter packets (\d+)", body)}
    return counts


def test_vrrp_from_a_non_peer_is_dropped_and_adverts_of_a_peer_pass(firewalled):
    holder = wait_for(holders, lambda h: len(h) == 1, 30)
    assert len(holder) == 1, holder
    holder = holder[0]
    target = [m for m in LBS if m != holder][0]
    outsider = [n for n in NODES if n not in LBS][0]
    t = host(target)
    t.run_test("nft add table inet kubeha_test")
    try:
        # Before firewalld's input chain (priority filter+10) and after it: a packet
        # firewalld drops is counted only before.
        for chain, prio in (("before", -300), ("after", 300)):
            t.run_test("nft 'add chain inet kubeha_test %s { type filter hook input priority %d; }'" % (chain, prio))
            for src in (v4(outsider), v4(holder)):
                t.run_test("nft add rule inet kubeha_test %s ip saddr %s ip protocol vrrp counter" % (chain, src))
        # Ten VRRP packets from the node (raw IP protocol 112; the holder's adverts flow meanwhile).
        host(outsider).run_test(
            "python3 -c \"import socket; s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112); "
            "[s.sendto(bytes([0x21, 1, 1, 1, 0, 1, 0, 0]) + bytes(12), ('%s', 0)) for _ in range(10)]\"" % v4(target))
        time.sleep(3)
        counts = _counters(target)
        assert counts["before"][v4(outsider)] == 10, counts
        assert counts["after"][v4(outsider)] == 0, "VRRP from the non-peer %s passed firewalld: %s" % (outsider, counts)
        assert counts["after"][v4(holder)] > 0, "the holder's adverts did not pass firewalld: %s" % counts
    finally:
        t.run("nft delete table inet kubeha_test")


def test_the_vip_still_moves_between_the_load_balancers(firewalled):
    holder = wait_for(holders, lambda h: len(h) == 1, 30)
    assert len(holder) == 1, holder
    holder = holder[0]
    host(holder).run_test("systemctl stop haproxy")
    try:
        moved = wait_for(holders, lambda h: len(h) == 1 and h[0] != holder, 15)
        assert len(moved) == 1 and moved[0] != holder, moved
        assert host(moved[0]).check_output("%s --max-time 5 %s/readyz" % (API_CURL, API)) == "ok"
    finally:
        host(holder).run_test("systemctl start haproxy")
    # Back to one holder, and etcd is healthy through the firewall.
    assert len(wait_for(holders, lambda h: len(h) == 1, 30)) == 1
    # (the lab's etcd speaks TLS with client certificates, as kubeadm's external etcd)
    health = host(MASTERS[0]).run("ETCDCTL_API=3 etcdctl --cacert /etc/kubernetes/pki/etcd/ca.crt "
                                  "--cert /etc/kubernetes/pki/etcd/healthcheck-client.crt "
                                  "--key /etc/kubernetes/pki/etcd/healthcheck-client.key --endpoints=%s endpoint health",
                                  ",".join("https://%s:2379" % v4(m) for m in MASTERS))
    # (etcdctl 3.4 prints the endpoints' health on stderr)
    assert health.rc == 0 and (health.stdout + health.stderr).count("is healthy") == len(MASTERS), health.stdout + health.stderr
