"""Unit tests of benchmarks/failover/request.py: the deadline request and Traffic, against small servers
on 127.0.0.1 started here (no podman, no lab)."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest

from failover.analysis import takeover_end, takeover_started
from failover.request import RequestRecord, Traffic, timed_request


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
    rec = timed_request("127.0.0.1", port, 2.0, context=client_for(server_tls))
    assert (rec.ok, rec.error, rec.status) == (True, None, 200)
    assert rec.start < rec.end and rec.duration < 1.0


def test_fast_200_plain_is_ok(serve):
    rec = timed_request("127.0.0.1", serve(answer()), 2.0, tls=False)
    assert (rec.ok, rec.error, rec.status) == (True, None, 200)


def test_non_200_is_a_failure_with_its_status(serve):
    rec = timed_request("127.0.0.1", serve(answer(503, b"no")), 2.0, tls=False)
    assert (rec.ok, rec.error, rec.status) == (False, "http:503", 503)


def test_server_that_never_answers_tls_fails_at_the_deadline_not_later(serve):
    port = serve(silent)
    rec = timed_request("127.0.0.1", port, 0.6)
    assert not rec.ok
    assert rec.error == "tls:timeout"
    assert 0.6 <= rec.duration < 0.8


def test_server_that_never_answers_http_fails_at_the_deadline_not_later(serve):
    rec = timed_request("127.0.0.1", serve(silent), 0.6, tls=False)
    assert (rec.ok, rec.error) == (False, "response:timeout")
    assert 0.6 <= rec.duration < 0.8


def test_trickling_response_is_bounded_by_the_total_deadline(serve, server_tls):
    # Every recv returns within 0.1 s, so a per-operation timeout would wait the
    # whole 4 s for the response; one total deadline stops at 0.8 s.
    rec = timed_request("127.0.0.1", serve(trickle, server_tls), 0.8, context=client_for(server_tls))
    assert (rec.ok, rec.error) == (False, "response:timeout")
    assert 0.8 <= rec.duration < 1.0


def test_closed_port_fails_fast():
    rec = timed_request("127.0.0.1", _closed_port(), 2.0)
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
        rec = timed_request("127.0.0.1", listener.getsockname()[1], 0.5, tls=False)
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
        rec = timed_request("127.0.0.1", listener.getsockname()[1], 3.0, tls=False)
    finally:
        worker.join(5)
        filler.close()
        listener.close()
    assert rec.ok
    assert rec.duration >= 0.9  # waited for the SYN retransmission
    t0 = rec.start - 0.1
    failed = RequestRecord(rec.start - 0.05, rec.start + 0.85, False, "connect:timeout")
    assert takeover_started([failed, rec], t0) is None  # its start time proves nothing
    assert takeover_end([failed, rec], t0) == pytest.approx(rec.end - t0)


def test_traffic_sends_on_a_fixed_grid_and_returns_every_record(serve):
    traffic = Traffic("127.0.0.1", serve(answer()), 0.02, 1.0, tls=False).start()
    time.sleep(0.5)
    records = traffic.stop()
    assert 15 <= len(records) <= 27
    assert all(r.ok for r in records)
    gaps = [b.start - a.start for a, b in zip(records, records[1:])]
    assert 0.015 < sum(gaps) / len(gaps) < 0.035


def test_a_server_the_client_does_not_trust_fails_in_tls(serve, server_tls):
    """The benchmark's client verifies, as the cluster's clients do."""
    rec = timed_request("127.0.0.1", serve(answer(), server_tls), 2.0, context=ssl.create_default_context())
    assert not rec.ok and rec.error.startswith("tls:"), rec
