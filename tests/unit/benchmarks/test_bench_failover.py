"""Unit tests of benchmarks/bench_failover.py: no podman, no lab.

The deadline request runs against small servers on 127.0.0.1 started here; the
analysis functions (takeover, all-ok-after, statistics, the VRRP bound and its
flag, move counting, admin-socket parsing, the table) run on synthetic data.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MODULE_PATH = os.path.join(ROOT, "benchmarks", "bench_failover.py")


def _load(name="bench_failover_under_test"):
    spec = importlib.util.spec_from_file_location(name, MODULE_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


bf = _load()


# ----------------------------------------------------------------------------- small local servers
def _read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def answer(status=200, body=b"ok"):
    def handler(conn, _stop):
        _read_request(conn)
        conn.sendall(b"HTTP/1.1 %d X\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (status, len(body), body))
    return handler


def silent(_conn, stop):
    """Accepts and never answers (not even the TLS handshake)."""
    stop.wait(10)


def trickle(conn, stop):
    """A complete 200 response, one byte every 0.1 s: every single read is fast, the whole is not."""
    _read_request(conn)
    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok":
        if stop.is_set():
            return
        conn.sendall(bytes([byte]))
        time.sleep(0.1)


class Server:
    """TCP server on 127.0.0.1: each accepted connection goes to handler(conn, stop) in its own thread."""

    def __init__(self, handler, tls_context=None):
        self.handler, self.tls_context = handler, tls_context
        self.stop = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stop.is_set():
            try:
                conn, _addr = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        conn.settimeout(10)
        try:
            if self.tls_context is not None:
                conn = self.tls_context.wrap_socket(conn, server_side=True)
            self.handler(conn, self.stop)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stop.set()
        self.sock.close()


@pytest.fixture
def serve():
    servers = []

    def start(handler, tls_context=None):
        server = Server(handler, tls_context)
        servers.append(server)
        return server.port

    yield start
    for server in servers:
        server.close()


@pytest.fixture(scope="module")
def server_tls(tmp_path_factory):
    """A server TLS context with a throw-away self-signed certificate (openssl)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    tmp = tmp_path_factory.mktemp("tls")
    cert, key = str(tmp / "cert.pem"), str(tmp / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "1", "-subj", "/CN=kubeha-bench-test", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.client_ca = cert  # what a client trusts to verify this server
    return ctx


def client_for(server_tls):
    """A client context that verifies the test server as the benchmark verifies the lab's."""
    return ssl.create_default_context(cafile=server_tls.client_ca)


def _closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


# ----------------------------------------------------------------------------- the deadline request
def test_fast_200_over_tls_is_ok(serve, server_tls):
    port = serve(answer(), server_tls)
    rec = bf.timed_request("127.0.0.1", port, 2.0, context=client_for(server_tls))
    assert (rec.ok, rec.error, rec.status) == (True, None, 200)
    assert rec.start < rec.end and rec.duration < 1.0


def test_fast_200_plain_is_ok(serve):
    rec = bf.timed_request("127.0.0.1", serve(answer()), 2.0, tls=False)
    assert (rec.ok, rec.error, rec.status) == (True, None, 200)


def test_non_200_is_a_failure_with_its_status(serve):
    rec = bf.timed_request("127.0.0.1", serve(answer(503, b"no")), 2.0, tls=False)
    assert (rec.ok, rec.error, rec.status) == (False, "http:503", 503)


def test_server_that_never_answers_tls_fails_at_the_deadline_not_later(serve):
    port = serve(silent)
    rec = bf.timed_request("127.0.0.1", port, 0.6)
    assert not rec.ok
    assert rec.error == "tls:timeout"
    assert 0.6 <= rec.duration < 0.8


def test_server_that_never_answers_http_fails_at_the_deadline_not_later(serve):
    rec = bf.timed_request("127.0.0.1", serve(silent), 0.6, tls=False)
    assert (rec.ok, rec.error) == (False, "response:timeout")
    assert 0.6 <= rec.duration < 0.8


def test_trickling_response_is_bounded_by_the_total_deadline(serve, server_tls):
    # Every recv returns within 0.1 s, so a per-operation timeout would wait the
    # whole 4 s for the response; one total deadline stops at 0.8 s.
    rec = bf.timed_request("127.0.0.1", serve(trickle, server_tls), 0.8, context=client_for(server_tls))
    assert (rec.ok, rec.error) == (False, "response:timeout")
    assert 0.8 <= rec.duration < 1.0


def test_closed_port_fails_fast():
    rec = bf.timed_request("127.0.0.1", _closed_port(), 2.0)
    assert (rec.ok, rec.error) == (False, "connect:refused")
    assert rec.duration < 0.2


def test_dropped_syn_fails_at_the_deadline_in_connect():
    # backlog 0 and one queued connection: the kernel drops further SYNs, so
    # the client retransmits its SYN (after 1 s) -- connect must not outlive the deadline.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname(), timeout=2)
    try:
        rec = bf.timed_request("127.0.0.1", listener.getsockname()[1], 0.5, tls=False)
    finally:
        filler.close()
        listener.close()
    assert (rec.ok, rec.error) == (False, "connect:timeout")
    assert 0.5 <= rec.duration < 0.7


def test_retransmitted_syn_can_succeed_late_and_takeover_started_ignores_it():
    """With a long deadline a request whose first SYN was dropped succeeds ~1 s later: its start is no recovery."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname(), timeout=2)

    def make_room_then_answer():
        time.sleep(0.3)  # the client's first SYN has been dropped by now
        queued, _addr = listener.accept()
        queued.close()
        listener.settimeout(5)
        conn, _addr = listener.accept()  # the retransmitted SYN
        with conn:
            answer()(conn, None)

    worker = threading.Thread(target=make_room_then_answer, daemon=True)
    worker.start()
    try:
        rec = bf.timed_request("127.0.0.1", listener.getsockname()[1], 3.0, tls=False)
    finally:
        worker.join(5)
        filler.close()
        listener.close()
    assert rec.ok
    assert rec.duration >= 0.9  # waited for the SYN retransmission
    t0 = rec.start - 0.1
    failed = bf.RequestRecord(rec.start - 0.05, rec.start + 0.85, False, "connect:timeout")
    assert bf.takeover_started([failed, rec], t0) is None  # its start time proves nothing
    assert bf.takeover_end([failed, rec], t0) == pytest.approx(rec.end - t0)


def test_traffic_sends_on_a_fixed_grid_and_returns_every_record(serve):
    traffic = bf.Traffic("127.0.0.1", serve(answer()), 0.02, 1.0, tls=False).start()
    time.sleep(0.5)
    records = traffic.stop()
    assert 15 <= len(records) <= 27
    assert all(r.ok for r in records)
    gaps = [b.start - a.start for a, b in zip(records, records[1:])]
    assert 0.015 < sum(gaps) / len(gaps) < 0.035


# ----------------------------------------------------------------------------- takeover and all-ok-after
def _rec(start, duration=0.01, ok=True):
    return bf.RequestRecord(start, start + duration, ok, None if ok else "connect:timeout")


def _crash_like(t0=100.0):
    """Requests every 50 ms: ok, failing (0.9 s) from 100.05 to 102.25 except one late success (start 101.2,
    1.05 s: a retransmitted SYN), ok from 102.30, one more failure at 103.00 (a dead backend), ok after."""
    records = []
    for k in range(140):
        start = round(t0 - 1.0 + k * 0.05, 4)
        if start == 101.2:
            records.append(_rec(start, 1.05, True))
        elif 100.05 <= start <= 102.25 or start == 103.0:
            records.append(_rec(start, 0.9, False))
        else:
            records.append(_rec(start))
    return records


def test_takeover_started_uses_the_first_fast_success_after_the_first_failure():
    records = _crash_like()
    assert bf.first_failure(records, 100.0).start == pytest.approx(100.05)
    assert bf.takeover_started(records, 100.0) == pytest.approx(2.30)  # not 1.20 (the late success)


def test_takeover_end_uses_the_earliest_end_of_a_success_after_the_first_failure():
    assert bf.takeover_end(_crash_like(), 100.0) == pytest.approx(2.25)  # the late success ended first


def test_all_ok_after_counts_from_the_last_failure():
    records = _crash_like()
    assert bf.all_ok_after_started(records, 100.0) == pytest.approx(3.05)
    assert bf.all_ok_after_end(records, 100.0) == pytest.approx(3.06)


def test_in_flight_failure_before_the_fault_counts_and_earlier_ones_do_not():
    records = [_rec(99.0, 0.5, False), _rec(99.95, 0.9, False), _rec(100.2), _rec(100.25), _rec(101.5)]
    assert bf.first_failure(records, 100.0).start == 99.95  # still running at the fault
    assert bf.takeover_started(records, 100.0) == pytest.approx(0.2)


def test_no_failure_means_zero_and_no_recovery_means_none():
    ok = [_rec(100 + k * 0.05) for k in range(40)]
    assert bf.takeover_started(ok, 100.0) == 0.0
    assert bf.takeover_end(ok, 100.0) == 0.0
    assert bf.all_ok_after_started(ok, 100.0) == 0.0
    failing = [_rec(100 + k * 0.05, 0.9, False) for k in range(40)]
    assert bf.takeover_started(failing, 100.0) is None
    assert bf.takeover_end(failing, 100.0) is None
    assert bf.all_ok_after_started(failing, 100.0) is None


def test_all_ok_after_needs_a_second_of_traffic_after_it():
    records = [_rec(100.0, 0.9, False)] + [_rec(100.5 + k * 0.05) for k in range(10)]  # 0.45 s of successes
    assert bf.takeover_started(records, 100.0) == pytest.approx(0.5)
    assert bf.all_ok_after_started(records, 100.0) is None


def test_counts_and_failure_span():
    records = _crash_like()
    failed, total, slow = bf.request_counts(records)
    assert (failed, total, slow) == (45, 140, 1)
    assert bf.failure_span_started(records) == pytest.approx(2.95)
    assert bf.failure_span_started(records[:5]) == 0.0


# ----------------------------------------------------------------------------- statistics and the bound
def test_summarize():
    assert bf.summarize([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 3, "missing": 0}
    assert bf.summarize([1.0, None, 4.0]) == {"median": 2.5, "min": 1.0, "max": 4.0, "n": 2, "missing": 1}
    assert bf.summarize([None]) == {"median": None, "min": None, "max": None, "n": 0, "missing": 1}


def test_vrrp_bound_formula():
    assert bf.vrrp_skew_time(190, 1.0) == pytest.approx(66 / 256)
    assert bf.master_down_interval(190, 1.0) == pytest.approx(3.2578125)
    assert bf.crash_takeover_bound(190, 1.0) == pytest.approx(2.2578125)  # the README's ~2.26 s
    assert bf.crash_takeover_bound(200, 1.0) == pytest.approx(2.21875)
    assert bf.crash_takeover_bound(180, 0.1) == pytest.approx(0.2296875)  # fast profile (VRRPv3, 0.1 s)


def test_below_bound_flag():
    bound = bf.crash_takeover_bound(190, 1.0)
    assert bf.below_bound(1.60, bound)  # the old README figure for a default-profile crash
    assert not bf.below_bound(2.30, bound)
    assert not bf.below_bound(None, bound)


def test_summary_leaves_out_excluded_values_but_counts_them():
    runs = [
        {"repetition": 1, "figures": {"takeover_started": 1.6, "moves": 1}, "excluded": {"takeover_started": "x"}},
        {"repetition": 2, "figures": {"takeover_started": 2.4, "moves": 1}, "excluded": {}},
        {"repetition": 3, "figures": {"takeover_started": 2.6, "moves": 2}, "excluded": {}},
        {"repetition": 4, "error": "RuntimeError: lab not healthy"},
    ]
    summary = bf.summarize_series(runs)
    assert summary["takeover_started"] == {"median": 2.5, "min": 2.4, "max": 2.6, "n": 2, "missing": 0,
                                           "excluded": 1}
    assert summary["moves"]["median"] == 1 and summary["moves"]["n"] == 3


def _observation(records, acquisitions, holder="lb1"):
    obs = bf.Observation(holder_before=holder, fault_time=100.0, fault_wall=1700000100.0, fault_done=100.1,
                         window_end=107.0)
    obs.requests, obs.acquisitions = records, acquisitions
    return obs


@pytest.mark.parametrize("shift, flagged", [(-1.0, True), (0.5, False)])
def test_crash_run_below_the_bound_is_flagged_printed_and_excluded(tmp_path, capsys, shift, flagged):
    bench = bf.ProfileBench("default", 1, ["node_crash"], str(tmp_path))
    # takeover 2.30 s (+ shift) and keepalived's MASTER entry on lb2 at 2.28 s (+ shift)
    records = [bf.RequestRecord(r.start + (shift if r.start > 101 else 0), r.end + (shift if r.start > 101 else 0),
                                r.ok, r.error) for r in _crash_like()]
    obs = _observation(records, [(2.28 + shift, "lb2")])
    bench._vip_fault = lambda *args: ("lb1", obs, "podman kill kubeha-bench-lb1")  # pylint: disable=protected-access
    run = bench.series_node_crash(1)
    assert run["new_holder"] == "lb2" and run["bound_priority"] == 190
    assert run["bound_s"] == pytest.approx(2.2578)
    assert run["figures"]["takeover_started"] == pytest.approx(2.30 + shift)
    assert run["figures"]["vrrp_takeover_log"] == pytest.approx(2.28 + shift)
    assert run["figures"]["moves"] == 1
    out = capsys.readouterr().out
    if flagged:
        assert set(run["excluded"]) == {"takeover_started", "takeover_end", "vrrp_takeover_log"}
        assert "BELOW PHYSICAL BOUND (1.300 s < 2.258 s): measurement bug, not a result" in out
        assert bf.summarize_series([run])["takeover_started"]["n"] == 0
    else:
        assert run["excluded"] == {}
        assert "BELOW PHYSICAL BOUND" not in out
        assert bf.summarize_series([run])["takeover_started"]["median"] == pytest.approx(2.8)
    assert run["requests"][0] == [-1.0, -0.99, True, None]


# ----------------------------------------------------------------------------- VIP moves from the journal
JOURNAL_LB2 = """\
-- Journal begins at Wed 2026-11-25 10:00:00 UTC. --
1700000100.200000 lb2 Keepalived_vrrp[812]: (VI_10_213_53_100) Entering BACKUP STATE
1700000102.480000 lb2 Keepalived_vrrp[812]: (VI_10_213_53_100) Entering MASTER STATE
1700000102.490000 lb2 Keepalived_vrrp[812]: (VI_10_213_53_100) Received advert from 10.213.53.13 with lower priority
1700000109.010000 lb2 Keepalived_vrrp[812]: (VI_10_213_53_100) Master received advert from 10.213.53.11 with higher priority 200, ours 190
1700000109.020000 lb2 Keepalived_vrrp[812]: (VI_10_213_53_100) Entering BACKUP STATE
"""
JOURNAL_LB1 = """\
-- Boot 3f2c --
1700000108.990000 lb1 Keepalived_vrrp[77]: (VI_10_213_53_100) Entering MASTER STATE
"""


def test_master_entries_from_journal_lines():
    assert bf.parse_master_entries(JOURNAL_LB2, "lb2") == [(1700000102.48, "lb2")]
    assert bf.parse_master_entries(JOURNAL_LB1, "lb1") == [(1700000108.99, "lb1")]
    assert bf.parse_master_entries("-- No entries --\n", "lb3") == []


def test_moves_count_acquisitions_by_another_node():
    acquisitions = bf.parse_master_entries(JOURNAL_LB1, "lb1") + bf.parse_master_entries(JOURNAL_LB2, "lb2")
    assert bf.count_moves(acquisitions, "lb1") == 2  # away to lb2, back to lb1 (time order, not input order)
    assert bf.count_moves(acquisitions, "lb2") == 1
    assert bf.count_moves([(1.0, "lb1"), (2.0, "lb1")], "lb1") == 0  # the holder re-entering MASTER is no move
    assert bf.count_moves([(1.0, "lb2"), (1.5, "lb2"), (3.0, "lb3")], "lb1") == 2
    assert bf.count_moves([], "lb1") == 0
    assert bf.first_acquisition(acquisitions, 0.0, exclude="lb1") == (1700000102.48, "lb2")


# ----------------------------------------------------------------------------- HAProxy admin socket
_STAT_HEADER = ("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,"
                "status,weight,act,bck,chkfail,chkdown,lastchg,downtime")


def _stat_row(px, sv, status, weight):
    return ",".join([px, sv] + ["0"] * 15 + [status, str(weight), "1", "0", "0", "0", "5", "0"])


ADMIN_OUTPUT = "\n".join([
    _STAT_HEADER,
    _stat_row("kube-apiserver", "FRONTEND", "OPEN", 0),
    _stat_row("kube-apiserver", "lb1", "UP", 1),
    _stat_row("kube-apiserver", "lb2", "DOWN 1/2", 0),
    _stat_row("kube-apiserver", "lb3", "UP", 1),
    _stat_row("kube-apiserver", "BACKEND", "UP", 2),
    _stat_row("stats", "FRONTEND", "OPEN", 0),
    "",
    "1",
    "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight",
    "3 kube-apiserver 1 lb1 10.213.53.11 2 0 1 1",
    "3 kube-apiserver 2 lb2 10.213.53.12 0 0 1 1",
    "3 kube-apiserver 3 lb3 10.213.53.13 1 0 1 1",
    "",
])


def test_parse_admin_output():
    servers = bf.parse_admin_output(ADMIN_OUTPUT)
    assert servers == {
        "lb1": {"status": "UP", "weight": 1, "op_state": 2},
        "lb2": {"status": "DOWN 1/2", "weight": 0, "op_state": 0},
        "lb3": {"status": "UP", "weight": 1, "op_state": 1},
    }
    assert bf.is_down(servers["lb2"]) and not bf.is_up(servers["lb2"])
    assert bf.is_up(servers["lb1"]) and not bf.is_down(servers["lb1"])
    assert not bf.is_up(None) and not bf.is_down({})


def test_parse_admin_output_falls_back_to_field_positions():
    rows = "\n".join([_stat_row("kube-apiserver", "lb1", "UP", 1), _stat_row("kube-apiserver", "lb2", "DOWN", 0)])
    assert bf.parse_admin_output(rows) == {}  # no header seen: not a show stat answer
    text = "# pxname,svname\n" + rows  # a header without the columns: status = index 17, weight = index 18
    assert bf.parse_admin_output(text) == {"lb1": {"status": "UP", "weight": 1}, "lb2": {"status": "DOWN", "weight": 0}}


def _samples(states):
    """[(t, {"lb2": state})] from [(t, status, weight, op_state)]."""
    return [(t, {"lb2": {"status": s, "weight": w, "op_state": o}}) for t, s, w, o in states]


def test_down_and_up_times_and_slowstart():
    samples = _samples([(-0.2, "UP", 1, 2), (0.5, "UP 1/2", 1, 2), (1.3, "DOWN", 0, 0), (4.1, "DOWN 1/2", 0, 0),
                        (5.3, "UP", 1, 1), (6.0, "UP", 1, 1), (9.0, "UP", 1, 2)])
    assert bf.first_time(samples, "lb2", bf.is_down, 0.0) == 1.3
    up_at = bf.first_time(samples, "lb2", bf.is_up, 4.0)
    assert up_at == 5.3
    in_effect, view = bf.slowstart_evidence(samples, "lb2", up_at, span=2.0)
    assert in_effect
    assert view == [[0.0, "UP", 1, 1], [0.7, "UP", 1, 1]]
    no_slowstart = _samples([(5.3, "UP", 1, 2), (6.0, "UP", 1, 2)])
    assert bf.slowstart_evidence(no_slowstart, "lb2", 5.3) == (False, [[0.0, "UP", 1, 2], [0.7, "UP", 1, 2]])
    ramp = _samples([(5.3, "UP", 25, None), (6.0, "UP", 60, None), (7.0, "UP", 100, None)])
    assert bf.slowstart_evidence(ramp, "lb2", 5.3)[0]
    assert bf.first_time(samples, "lb3", bf.is_down, 0.0) is None


# ----------------------------------------------------------------------------- reboots
def _probes(t0=100.0, answers_at=5.0):
    return [_rec(t0 + k * 0.1, 0.9 if t0 + k * 0.1 < t0 + answers_at else 0.01, t0 + k * 0.1 >= t0 + answers_at - 1e-9)
            for k in range(-5, 80)]


@pytest.mark.parametrize("entries, verdict", [
    ([], "no"), ([6.0], "no"), ([3.0], "yes"), ([4.95], "undetermined"), ([4.95, 6.0], "undetermined"),
])
def test_vip_before_frontend(entries, verdict):
    got, answered = bf.vip_before_frontend(entries, _probes(), 100.0)
    assert answered == pytest.approx(5.0)
    assert got == verdict


# ----------------------------------------------------------------------------- configuration, table, JSON, CLI
KEEPALIVED_CONF = """\
global_defs {
    router_id lb2
    vrrp_version 3
}

vrrp_script chk_frontend {
    interval 1
    weight -100
}

vrrp_instance VI_10_213_53_100 {
    state BACKUP
    version 3
    interface eth0
    virtual_router_id 51
    priority 190
    advert_int 0.1
    track_script {
        chk_frontend
    }
}
"""


def test_parse_keepalived_conf():
    assert bf.parse_keepalived_conf(KEEPALIVED_CONF) == {"version": 3, "priority": 190, "advert_int": 0.1,
                                                         "preempt": True}
    nopreempt = KEEPALIVED_CONF.replace("    priority 190\n", "    priority 190\n    nopreempt\n")
    assert bf.parse_keepalived_conf(nopreempt)["preempt"] is False


def test_cells():
    assert bf.seconds_cell({"median": 2.4, "min": 2.3, "max": 2.6, "n": 3, "missing": 0}) == \
        "2.40 s (2.30\u20132.60, n=3)"
    assert bf.seconds_cell({"median": 2.4, "min": 2.4, "max": 2.4, "n": 1, "missing": 0, "excluded": 2}) == \
        "2.40 s (2.40\u20132.40, n=1), 2 excluded below bound"
    assert bf.seconds_cell({"median": None, "min": None, "max": None, "n": 0, "missing": 3}).startswith(
        "not recovered")
    assert bf.seconds_cell({"median": None, "min": None, "max": None, "n": 0, "missing": 0, "excluded": 3}) == \
        "all 3 below the physical bound: measurement bug (n=0)"
    same = {"median": 0, "min": 0, "max": 0, "n": 3}
    assert bf.moves_failed_cell(same, same) == "0/0 (n=3)"
    moves = {"median": 1, "min": 1, "max": 2, "n": 3}
    failed = {"median": 12, "min": 9, "max": 15, "n": 3}
    assert bf.moves_failed_cell(moves, failed) == "1/12 (max 2/15, n=3)"
    assert bf.counts_cell({"counts": {"no": 3}, "n": 3}, "no", "never", "yes") == "never (n=3)"
    assert bf.counts_cell({"counts": {"no": 2, "yes": 1}, "n": 3}, "no", "never", "yes") == "yes in 1 of 3"


def test_markdown_table_rows():
    runs = [{"repetition": i, "figures": {"takeover_started": v, "moves": 1, "failed": f}, "excluded": {}}
            for i, (v, f) in enumerate([(2.4, 40), (2.3, 38), (2.6, 41)], 1)]
    results = {"default": {"series": {"node_crash": {"summary": bf.summarize_series(runs)}}}}
    table = bf.markdown_table(results).splitlines()
    assert table[0] == "| fault | default | fast | goal (default / fast) |"
    crash = next(line for line in table if line.startswith("| holder crashes (`podman kill`): takeover"))
    assert crash == ("| holder crashes (`podman kill`): takeover (first success started) | 2.40 s (2.30\u20132.60, n=3)"
                     " | not run | 4 s / 0.5 s |")
    moves = next(line for line in table if line.startswith("| holder crashes: moves/failed"))
    assert "| 1/40 (max 1/41, n=3) | not run |" in moves
    assert all(line.count("|") == 5 for line in table)


def test_dump_json_round_trips_with_one_line_per_request():
    data = {"series": {"x": {"runs": [{"requests": [[-0.5, -0.49, True, None], [0.1, 1.0, False, "connect:timeout"]],
                                       "figures": {"moves": 1}}]}}, "empty": {}}
    text = bf.dump_json(data)
    assert json.loads(text) == data
    lines = [line.strip() for line in text.splitlines()]
    assert '[-0.5, -0.49, true, null],' in lines
    assert '[0.1, 1.0, false, "connect:timeout"]' in lines


def test_cli_defaults_and_choices():
    args = bf.parse_args([])
    assert (args.profile, args.repeat, args.series) == (["default", "fast"], 3, list(bf.SERIES))
    args = bf.parse_args(["--profile", "fast", "--repeat", "1", "--series", "node_crash,slow_readyz"])
    assert (args.profile, args.repeat, args.series) == (["fast"], 1, ["node_crash", "slow_readyz"])
    assert bf.parse_args(["fast"]).profile == ["fast"]  # the former positional form
    for bad in (["--series", "nope"], ["--repeat", "0"], ["slow"]):
        with pytest.raises(SystemExit):
            bf.parse_args(bad)


def test_time_estimate_of_the_full_run_fits_the_budget():
    full = bf.estimate_s(["default", "fast"], 3, list(bf.SERIES))
    assert 15 * 60 < full <= 26 * 60
    assert bf.estimate_s(["fast"], 1, ["node_crash"]) < full


def test_import_does_no_lab_work(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the benchmark ran a command at import time: %r" % (args,))

    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)
    module = _load("bench_failover_import_check")
    assert module.VIP == "10.213.53.100" and module.NODES == ["lb1", "lb2", "lb3"]
    assert module.FAULT_DEADLINE_S < module.SYN_RTO_S


def test_profile_run_writes_raw_samples_and_summaries(tmp_path, monkeypatch, capsys):
    """The driver with the lab faked: every run and its requests land in failover-<profile>.json."""
    monkeypatch.setattr(bf, "ansible", lambda *args: None)
    bench = bf.ProfileBench("fast", 2, ["node_crash", "haproxy_reload_all"], str(tmp_path))
    monkeypatch.setattr(bench, "inspect_lab", lambda: bench.data.update(vrrp=bench.vrrp, bounds={}))
    monkeypatch.setattr(bench, "wait_healthy", lambda timeout=120: "lb1")
    crash = _observation(_crash_like(), [(0.3, "lb2")])  # fast profile: 2.3 s is well above the 0.23 s bound
    monkeypatch.setattr(bench, "_vip_fault", lambda *args: ("lb1", crash, "podman kill kubeha-bench-lb1"))
    calls = []

    def reload_run(rep):
        calls.append(rep)
        if rep == 2:
            raise RuntimeError("lab not healthy within 120 s")
        obs = _observation([_rec(100 + k * 0.02) for k in range(50)], [])
        return bench.record(rep, obs, None, "reload", bench.figures(obs))

    monkeypatch.setattr(bench, "series_haproxy_reload_all", reload_run)
    monkeypatch.setattr(bench, "restore_all", lambda: "lb1")
    bench.run()
    data = json.loads((tmp_path / "failover-fast.json").read_text())
    assert data["schema"] == "kubeha-bench-failover/1" and data["complete"] is True
    assert data["vrrp"]["advert_int"] == 0.1 and data["vrrp"]["priorities"] == {"lb1": 200, "lb2": 190, "lb3": 180}
    crash_runs = data["series"]["node_crash"]["runs"]
    assert [r["repetition"] for r in crash_runs] == [1, 2]
    assert len(crash_runs[0]["requests"]) == 140 and crash_runs[0]["excluded"] == {}
    assert data["series"]["node_crash"]["summary"]["takeover_started"]["median"] == pytest.approx(2.3)
    reload_runs = data["series"]["haproxy_reload_all"]["runs"]
    assert calls == [1, 2] and "error" in reload_runs[1]
    assert data["series"]["haproxy_reload_all"]["summary"]["failed"]["n"] == 1
    out = capsys.readouterr().out
    assert "raw samples:" in out and "ERROR RuntimeError: lab not healthy" in out
    table = bf.markdown_table({"fast": data})
    assert "| `systemctl reload haproxy` on every node: moves/failed | not run | 0/0 (n=1) | 0/0 |" in table


def test_a_server_the_client_does_not_trust_fails_in_tls(serve, server_tls):
    """The benchmark's client verifies, as the cluster's clients do."""
    rec = bf.timed_request("127.0.0.1", serve(answer(), server_tls), 2.0, context=ssl.create_default_context())
    assert not rec.ok and rec.error.startswith("tls:"), rec
