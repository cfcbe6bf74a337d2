"""Verify the load-balancer layer (molecule/loadbalancer), before and after the failovers."""

from __future__ import annotations

import os
import re
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
from kubeha_testlib import LBS, MASTERS, PORT, VIP, haproxy_servers, holders, host, vrrp_states, wait_for  # noqa: E402


def test_exactly_one_vip_holder_and_it_is_master():
    held = holders()
    assert len(held) == 1, "VIP %s held by %s" % (VIP, held)
    assert vrrp_states()[held[0]] == "MASTER"


@pytest.mark.parametrize("name", LBS)
def test_every_backend_up(name):
    assert haproxy_servers(name) == {m: "UP" for m in MASTERS}


@pytest.mark.parametrize("name", LBS)
def test_api_answers_through_vip(name):
    assert host(name).check_output("curl -sk --max-time 5 https://%s:%s/readyz", VIP, PORT) == "ok"


def test_haproxy_config_health_checks_and_timeouts():
    cfg = host(LBS[0]).file("/etc/haproxy/haproxy.cfg").content_string
    assert re.search(r"^\s*bind \*:%s$" % PORT, cfg, re.M)
    assert "option httpchk GET /readyz" in cfg and "http-check expect status 200" in cfg
    assert "ssl-hello-chk" not in cfg
    servers = re.findall(r"^\s*server (\S+) (\S+) check check-ssl verify none$", cfg, re.M)
    assert [s[0] for s in servers] == MASTERS
    for key in ("timeout client", "timeout server", "timeout tunnel"):
        assert re.search(r"^\s*%s 1h$" % key, cfg, re.M), key
    assert "on-marked-down shutdown-sessions" in cfg and "option redispatch 1" in cfg and "option tcpka" in cfg
    assert re.search(r"^\s*bind 127\.0\.0\.1:9000$", cfg, re.M), "stats page must be bound to loopback"


def test_prometheus_endpoint_on_loopback():
    out = host(LBS[0]).check_output("curl -s --max-time 5 http://127.0.0.1:9000/metrics")
    assert "haproxy_backend_status" in out or "haproxy_process" in out


def test_http_check_really_runs():
    """A backend that accepts TLS but answers /readyz with 500 is marked down."""
    victim = MASTERS[-1]
    watcher = LBS[0]
    h = host(victim)
    # Without its etcd the stand-in still accepts TLS but its /readyz answers 500.
    h.run_test("systemctl stop etcd")
    try:
        code = wait_for(
            lambda: h.check_output("curl -sk -o /dev/null -w '%{http_code}' --max-time 5 https://127.0.0.1:6443/readyz"), "500"
        )
        assert code == "500"
        status = wait_for(lambda: haproxy_servers(watcher)[victim], "DOWN")
        assert status == "DOWN"
        stat = host(watcher).check_output("echo 'show stat' | nc -U /var/lib/haproxy/admin.sock")
        row = [r.split(",") for r in stat.splitlines() if r.startswith("kube-apiserver,%s," % victim)][0]
        assert row[36].startswith("L7STS"), row[36]  # check_status: layer-7 wrong status, not a TCP failure
    finally:
        h.run_test("systemctl start etcd")
    assert wait_for(lambda: haproxy_servers(watcher)[victim], "UP") == "UP"


@pytest.mark.parametrize("name", LBS)
def test_keepalived_config(name):
    cfg = host(name).file("/etc/keepalived/keepalived.conf")
    assert cfg.user == "root" and cfg.mode == 0o640
    text = cfg.content_string
    assert "pidof" not in text
    assert "state BACKUP" in text and "enable_script_security" in text and "script_user keepalived_script" in text
    peers = re.search(r"unicast_peer \{([^}]*)\}", text).group(1).split()
    assert len(peers) == len(LBS) - 1
    scripts = host(name).file("/usr/libexec/keepalived/kubeha-check-frontend")
    assert scripts.user == "root" and scripts.mode == 0o755


def test_priorities_follow_inventory_order():
    prios = [int(re.search(r"priority (\d+)", host(n).file("/etc/keepalived/keepalived.conf").content_string).group(1))
             for n in LBS]
    assert prios == sorted(prios, reverse=True) and len(set(prios)) == len(prios)
