"""The Kubernetes stand-ins behave like the real binaries where the lab relies on it."""

from __future__ import annotations

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
from kubeha_testlib import MASTERS, NODES, host, wait_for  # noqa: E402


def test_unknown_flag_exits_non_zero():
    out = host(MASTERS[0]).run("/usr/bin/kube-apiserver --etcd-servers=http://127.0.0.1:2379 --no-such-flag=1")
    assert out.rc != 0 and "unknown flag: --no-such-flag" in out.stderr


def test_package_default_components_run_everywhere():
    for name in MASTERS:
        for unit in ("kube-apiserver", "kube-scheduler", "kube-controller-manager"):
            assert host(name).service(unit).is_running, (name, unit)
        # Without --leader-elect every scheduler is active.
        state = json.loads(host(name).file("/run/kubeha-standin/scheduler.json").content_string)
        assert state["role"] == "active" and state["leader_elect"] is False
    for name in NODES:
        assert host(name).service("kubelet").is_running and host(name).service("kube-proxy").is_running


def _scheduler_roles(names):
    roles = {}
    for name in names:
        f = host(name).file("/run/kubeha-standin/scheduler.json")
        state = json.loads(f.content_string) if f.exists else {}
        roles[name] = state.get("role") if state.get("leader_elect") else None
    return roles


def _sorted_roles(roles):
    return sorted(roles.values(), key=str)


def _unit(name, unit, cmd):
    host(name).run_test("systemd-run --unit=%s --collect " + cmd, unit)


def _stop(name, unit):
    host(name).run("systemctl stop %s", unit)


def test_leader_election_makes_exactly_one_active():
    unit = "standin-test-scheduler"
    for name in MASTERS:
        _unit(name, unit, "/usr/bin/kube-scheduler --leader-elect --leader-elect-retry-period=1s "
                          "--master=http://127.0.0.1:8080")
    try:
        roles = wait_for(lambda: _scheduler_roles(MASTERS), lambda r: _sorted_roles(r) == ["leader", "standby", "standby"])
        assert _sorted_roles(roles) == ["leader", "standby", "standby"], roles
        leader = [n for n, r in roles.items() if r == "leader"][0]
        # The lease stored through the API names the leader.
        lease = json.loads(host(MASTERS[0]).check_output(
            "curl -s http://127.0.0.1:8080/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler"))
        assert lease["spec"]["holderIdentity"].startswith(leader + "_"), lease
        # The leader goes away: another one takes over within the lease duration.
        _stop(leader, unit)
        others = [n for n in MASTERS if n != leader]
        roles = wait_for(lambda: _scheduler_roles(others), lambda r: _sorted_roles(r) == ["leader", "standby"], 30)
        assert _sorted_roles(roles) == ["leader", "standby"], roles
    finally:
        for name in MASTERS:
            _stop(name, unit)
        for name in MASTERS:  # restore the package-default scheduler's state file
            host(name).run("systemctl restart kube-scheduler")


def test_sigterm_fails_readyz_at_once_and_closes_after_the_delay():
    h = host(MASTERS[0])
    unit = "standin-test-apiserver"
    _unit(MASTERS[0], unit, "/usr/bin/kube-apiserver --etcd-servers=http://127.0.0.1:2379 --secure-port=16443 "
          "--insecure-port=0 --shutdown-delay-duration=4s --cert-dir=/run/standin-test")
    try:
        probe = "curl -sk -o /dev/null -w '%{http_code}' --max-time 2 https://127.0.0.1:16443/readyz"
        assert wait_for(lambda: h.run(probe).stdout, "200") == "200"
        h.run_test("systemctl kill -s TERM %s", unit)
        time.sleep(0.5)
        assert h.run(probe).stdout == "500", "readyz must fail at once on SIGTERM"
        assert h.run("curl -sk --max-time 2 https://127.0.0.1:16443/livez").stdout == "ok"
        time.sleep(5)
        assert h.run(probe).stdout == "000", "the listener must be closed after the delay"
    finally:
        _stop(MASTERS[0], unit)


def test_master_count_mismatch_is_logged():
    h = host(MASTERS[0])
    unit = "standin-test-mastercount"
    _unit(MASTERS[0], unit, "/usr/bin/kube-apiserver --etcd-servers=http://127.0.0.1:2379 --secure-port=16444 "
          "--insecure-port=0 --endpoint-reconciler-type=master-count --apiserver-count=2 "
          "--advertise-address=10.213.51.99 --cert-dir=/run/standin-test")
    try:
        log = wait_for(lambda: h.run("journalctl -u %s --no-pager", unit).stdout,
                       lambda text: "Resetting endpoints for master service" in text)
        # 4 live apiservers (3 package defaults and this one) but --apiserver-count=2.
        assert "Resetting endpoints for master service" in log, log[-2000:]
    finally:
        _stop(MASTERS[0], unit)


READYZ_DELAY_FILE = "/run/kubeha-standin/readyz-delay"


def _probe(h, path):
    """(HTTP status, seconds) of GET ``path`` on the master's own apiserver (curl's own timing)."""
    out = h.run("curl -sk -o /dev/null -w '%%{http_code} %%{time_total}' --max-time 5 https://127.0.0.1:6443%s", path)
    code, seconds = (out.stdout.split() + ["000", "-1"])[:2]
    return code, float(seconds)


def test_readyz_delay_file_slows_health_checks_at_runtime():
    h = host(MASTERS[0])
    assert _probe(h, "/readyz")[0] == "200"
    try:
        # Read on every request: no restart, the next probe is slow and still answers.
        h.run_test("echo 0.3 > %s", READYZ_DELAY_FILE)
        for path in ("/readyz", "/healthz"):
            code, seconds = _probe(h, path)
            assert code == "200" and seconds >= 0.3, (path, code, seconds)
        # Only the health checks wait.
        code, seconds = _probe(h, "/version")
        assert code == "200" and seconds < 0.3, ("/version", code, seconds)
    finally:
        h.run("rm -f %s", READYZ_DELAY_FILE)
    assert not h.file(READYZ_DELAY_FILE).exists
    code, seconds = wait_for(lambda: _probe(h, "/readyz"), lambda r: r[0] == "200" and r[1] < 0.3, 10)
    assert code == "200" and seconds < 0.3, ("fast again after rm", code, seconds)
