"""The load-balancer layer of the converged lab (after the drill's failovers): one holder per VIP,
every backend up, the API through both VIPs, the rendered configurations and their files."""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess

import pytest

from .lablib import INVENTORY, SITE

from kubeha_testlib import API_CURL, LBS, MASTERS, PORT, RUNNER, VIPS, haproxy_servers, holders, host, vrrp_states, wait_for  # noqa: E402  (lablib puts it on sys.path)

pytestmark = [pytest.mark.lab, pytest.mark.usefixtures("lab_ready")]


def test_two_vips_one_per_family():
    assert [ipaddress.ip_address(v).version for v in VIPS] == [4, 6], VIPS


@pytest.mark.parametrize("vip", VIPS)
def test_exactly_one_vip_holder_and_it_is_master(vip):
    held = holders(vip)
    assert len(held) == 1, "VIP %s held by %s" % (vip, held)
    assert vrrp_states(vip)[held[0]] == "MASTER"


@pytest.mark.parametrize("name", LBS)
def test_every_backend_up(name):
    assert haproxy_servers(name) == {m: "UP" for m in MASTERS}


@pytest.mark.parametrize("name", LBS)
@pytest.mark.parametrize("vip", VIPS)
def test_api_answers_through_every_vip(name, vip):
    url = "https://%s:%s/readyz" % ("[%s]" % vip if ":" in vip else vip, PORT)
    assert host(name).check_output("%s --max-time 5 %s" % (API_CURL, url)) == "ok"


@pytest.mark.parametrize("vip", VIPS)
def test_anonymous_requests_are_refused_through_every_vip(vip):
    """The lab runs with --anonymous-auth=false: /readyz without credentials is 401, as on a hardened cluster."""
    url = "https://%s:%s/readyz" % ("[%s]" % vip if ":" in vip else vip, PORT)
    out = host(LBS[0]).check_output("curl -s --cacert /etc/kubernetes/pki/ca.crt -o /dev/null -w '%%{http_code}' --max-time 5 %s" % url)
    assert out == "401"


def test_haproxy_config_health_checks_and_timeouts():
    f = host(LBS[0]).file("/etc/haproxy/haproxy.cfg")
    assert (f.user, f.mode) == ("root", 0o600)
    cfg = f.content_string
    # The frontend listens on both VIP families.
    assert re.findall(r"^\s*bind (.*)$", cfg, re.M)[:2] == ["*:%s" % PORT, "[::]:%s v6only" % PORT]
    assert "balance leastconn" in cfg and "slowstart 10s" in cfg
    assert "option httpchk GET /readyz" in cfg and "http-check expect status 200" in cfg
    assert "ssl-hello-chk" not in cfg
    # Health checks verify the apiservers against the cluster CA and present a client certificate.
    servers = re.findall(r"^\s*server (\S+) (\S+) check check-ssl verify required ca-file /etc/kubernetes/pki/ca.crt "
                         r"crt /etc/haproxy/kubeha-check.pem$", cfg, re.M)
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
    # Cut off from every etcd member (the stand-in's partition fault: stopping only
    # the local etcd is not enough, the apiserver's client fails over to the other
    # members) the stand-in still accepts TLS but its /readyz answers 500.
    fault = "/run/kubeha-standin/etcd-unreachable"
    h.run_test("touch %s" % fault)
    try:
        code = wait_for(
            lambda: h.check_output("%s -o /dev/null -w '%%{http_code}' --max-time 5 https://%s:6443/readyz"
                                   % (API_CURL, RUNNER.get_variables(victim)["kubeha_address"])), "500"
        )
        assert code == "500"
        status = wait_for(lambda: haproxy_servers(watcher)[victim], "DOWN")
        assert status == "DOWN"
        stat = host(watcher).check_output("echo 'show stat' | nc -U /var/lib/haproxy/admin.sock")
        row = [r.split(",") for r in stat.splitlines() if r.startswith("kube-apiserver,%s," % victim)][0]
        assert row[36].startswith("L7STS"), row[36]  # check_status: layer-7 wrong status, not a TCP failure
    finally:
        h.run_test("rm -f %s" % fault)
    assert wait_for(lambda: haproxy_servers(watcher)[victim], "UP") == "UP"


@pytest.mark.parametrize("name", LBS)
def test_keepalived_config(name):
    cfg = host(name).file("/etc/keepalived/keepalived.conf")
    assert cfg.user == "root" and cfg.mode == 0o600
    text = cfg.content_string
    assert "pidof" not in text
    assert "state BACKUP" in text and "enable_script_security" in text and "script_user keepalived_script" in text
    assert "vrrp_check_unicast_src" in text and "init_fail" in text
    assert "file /run/kubeha-haproxy/state" in text
    # Peers by address, per family: the other load balancers' addresses, never a name.
    me = RUNNER.get_variables(name)
    others = [RUNNER.get_variables(n) for n in LBS if n != name]
    v4, v6 = re.findall(r"unicast_src_ip (\S+)\s+unicast_peer \{([^}]*)\}", text)
    assert v4[0] == me["kubeha_address"] and v4[1].split() == [o["kubeha_address"] for o in others]
    assert v6[0] == me["keepalived_unicast_src_ip6"] and v6[1].split() == [o["keepalived_unicast_src_ip6"] for o in others]
    assert re.search(r"version 3\s+interface eth0", text), "the IPv6 VIP uses VRRPv3"
    scripts = host(name).file("/usr/libexec/keepalived/kubeha-check-frontend")
    assert scripts.user == "root" and scripts.mode == 0o755


def test_priorities_follow_inventory_order():
    prios = [int(re.search(r"priority (\d+)", host(n).file("/etc/keepalived/keepalived.conf").content_string).group(1))
             for n in LBS]
    assert prios == sorted(prios, reverse=True) and len(set(prios)) == len(prios)


@pytest.mark.parametrize("name", LBS)
def test_state_files_are_root_owned_and_script_user_writes_only_its_own(name):
    h = host(name)
    d = h.file("/run/kubeha-haproxy")
    assert (d.user, d.group, d.mode) == ("root", "root", 0o755)
    state = h.file("/run/kubeha-haproxy/state")
    assert (state.user, state.mode, state.content_string.strip()) == ("root", 0o644, "0")
    drop_in = h.file("/etc/systemd/system/haproxy.service.d/kubeha.conf").content_string
    assert "ExecStopPost=/usr/libexec/kubeha/haproxy-state down /run/kubeha-haproxy/state" in drop_in
    assert not h.file("/etc/systemd/system/haproxy.service.d/kubeha-keepalived-track.conf").exists
    # Only the notify script's files live in the script user's directory.
    names = h.check_output("ls -A /run/kubeha-keepalived").split()
    assert names and all(n.endswith(".state") for n in names), names
    assert h.run("su -s /bin/sh -c 'touch /run/kubeha-haproxy/x' keepalived_script").rc != 0


@pytest.mark.parametrize("name", LBS)
def test_no_secret_backup_readable_by_others(name):
    out = host(name).check_output("find /etc/haproxy /etc/keepalived \\( -name '*.cfg*~' -o -name '*.conf*~' \\) -perm /077")
    assert out == "", out


def test_metrics_need_the_stats_credentials_when_set():
    """Converge lb1 with a stats password full of quoting traps: /metrics and /stats ask for it."""
    secret = 'a b#c"d\\e$f\'g'
    inventory, site = INVENTORY, SITE
    extra = json.dumps({"haproxy_stats_password": secret})
    try:
        proc = subprocess.run(["ansible-playbook", "-i", inventory, site, "--limit", LBS[0], "--tags", "haproxy_config,haproxy_service",
                               "-e", extra], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        assert secret not in proc.stdout + proc.stderr
        h = host(LBS[0])
        assert h.check_output("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9000/metrics") == "401"
        assert h.check_output("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9000/stats") == "401"
        creds = "admin:" + secret
        code = h.run("curl -s -o /dev/null -w '%%{http_code}' -u %s http://127.0.0.1:9000/metrics", creds).stdout
        assert code == "200", code
    finally:
        proc = subprocess.run(["ansible-playbook", "-i", inventory, site, "--limit", LBS[0], "--tags", "haproxy_config,haproxy_service"],
                              capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout[-3000:]
