"""The Kubernetes stand-ins behave like the real binaries where the lab relies on it."""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
from kubeha_testlib import MASTERS, RUNNER, host, wait_for  # noqa: E402


def test_unknown_flag_exits_non_zero():
    out = host(MASTERS[0]).run("/usr/bin/kube-apiserver --etcd-servers=http://127.0.0.1:2379 --no-such-flag=1")
    assert out.rc != 0 and "unknown flag: --no-such-flag" in out.stderr


def _unit(name, unit, cmd, version=None):
    """A stand-in as a transient unit; ``version`` makes it play another Kubernetes version
    than the scenario's (KUBEHA_STANDIN_VERSION), with that version's flags."""
    env = "-E KUBEHA_STANDIN_VERSION=%s " % version if version else ""
    host(name).run_test("systemd-run --unit=%s --collect " + env + cmd, unit)


def _stop(name, unit):
    host(name).run("systemctl stop %s", unit)


def test_sigterm_fails_readyz_at_once_and_closes_after_the_delay():
    h = host(MASTERS[0])
    unit = "standin-test-apiserver"
    # --shutdown-delay-duration came with 1.16 (kubernetes PR 74416): the scenario's 1.5.2
    # refuses it, as the real 1.5 would, so this apiserver plays 1.16.
    _unit(MASTERS[0], unit, "/usr/bin/kube-apiserver --etcd-servers=http://127.0.0.1:2379 --secure-port=16443 "
          "--insecure-port=0 --shutdown-delay-duration=4s --cert-dir=/run/standin-test "
          # The site's master-count count, and master1's own address: the endpoints stay as they are.
          "--endpoint-reconciler-type=master-count --apiserver-count=3 --advertise-address=%s"
          % RUNNER.get_variables(MASTERS[0])["kubeha_address"], version="v1.16.15")
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
          "--insecure-port=0 --apiserver-count=2 "
          "--advertise-address=10.213.51.99 --cert-dir=/run/standin-test")
    try:
        log = wait_for(lambda: h.run("journalctl -u %s --no-pager", unit).stdout,
                       lambda text: "Resetting endpoints for master service" in text)
        # 4 live apiservers (the site's 3 and this one) but --apiserver-count=2.
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
