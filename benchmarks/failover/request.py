"""One request with one deadline (timed_request) and a steady stream of them (Traffic).

See bench_failover.py's docstring ("Request", "Traffic") for what they measure.
"""

from __future__ import annotations

import dataclasses
import errno
import math
import os
import select
import socket
import ssl
import threading
import time

from .settings import MAX_TRAFFIC_S, VARS


@dataclasses.dataclass(frozen=True)
class RequestRecord:
    """One request: monotonic start and end, ok (HTTP 200 complete before the deadline), error kind otherwise."""

    start: float
    end: float
    ok: bool
    error: str | None = None
    status: int | None = None

    @property
    def duration(self):
        return self.end - self.start


class DeadlineExceeded(Exception):
    """The request's total deadline passed before the next operation could start."""


_TLS_CONTEXT = []
_ERRNO_KINDS = {
    errno.ECONNREFUSED: "refused", errno.ECONNRESET: "reset", errno.EHOSTUNREACH: "unreachable",
    errno.ENETUNREACH: "net-unreachable", errno.EPIPE: "broken-pipe", errno.ECONNABORTED: "aborted",
}


def lab_tls_context():
    """TLS client context of a real client of the benchmark's lab: the server verified against
    the lab's cluster CA and the address it is reached at, the lab's client certificate
    presented (lab/prepare.yml leaves both in $KUBEHA_CACHE_DIR/state/<lab>/). Before the lab
    exists (unit tests), a context that verifies against the system's CAs."""
    if not _TLS_CONTEXT:
        state = os.path.join(os.environ.get("KUBEHA_CACHE_DIR", "/var/cache/kubeha"), "state", VARS["kubeha_lab_name"])
        ca = os.path.join(state, "ca.crt")
        ctx = ssl.create_default_context(cafile=ca if os.path.exists(ca) else None)
        if os.path.exists(os.path.join(state, "admin.pem")):
            ctx.load_cert_chain(os.path.join(state, "admin.pem"))
        if os.path.exists(ca):
            _TLS_CONTEXT.append(ctx)
        return ctx
    return _TLS_CONTEXT[0]


def _errno_kind(code):
    return _ERRNO_KINDS.get(code) or errno.errorcode.get(code, str(code)).lower()


def _set_remaining(conn, deadline, clock):
    """Give the next socket operation only what is left of the deadline."""
    remaining = deadline - clock()
    if remaining <= 0:
        raise DeadlineExceeded()
    conn.settimeout(remaining)


def _wait_connected(sock, deadline, clock):
    """Wait for a non-blocking connect until the deadline (SYN retransmits included); return SO_ERROR."""
    poller = select.poll()
    poller.register(sock, select.POLLOUT)
    while True:
        remaining = deadline - clock()
        if remaining <= 0:
            raise DeadlineExceeded()
        if poller.poll(math.ceil(remaining * 1000)):
            return sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)


def _parse_head(head):
    """(status, content_length) of an HTTP/1.x response head; status None when malformed."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        return None, None
    length = None
    for line in lines[1:]:
        name, _sep, value = line.partition(":")
        if name.strip().lower() == "content-length" and value.strip().isdigit():
            length = int(value.strip())
    return int(parts[1]), length


def _read_response(conn, deadline, clock):
    """Read one response until its Content-Length (or EOF); return (got_head, status, complete).

    status is None when the head is malformed; complete: the whole body arrived.
    """
    buf = b""
    head_end, status, length = -1, None, None
    while True:
        _set_remaining(conn, deadline, clock)
        chunk = conn.recv(65536)
        if not chunk:
            break
        buf += chunk
        if head_end < 0:
            head_end = buf.find(b"\r\n\r\n")
            if head_end >= 0:
                status, length = _parse_head(buf[:head_end])
        if head_end >= 0 and length is not None and len(buf) - head_end - 4 >= length:
            return True, status, True
    if head_end < 0:
        return False, None, False
    return True, status, status is not None and (length is None or len(buf) - head_end - 4 >= length)


def timed_request(host, port, deadline_s, path="/version", *, tls=True, context=None, clock=time.monotonic):
    """GET ``path`` with ONE total deadline of ``deadline_s`` seconds; return a RequestRecord.

    The deadline (start + deadline_s on ``clock``) covers everything: a
    non-blocking connect polled against the remaining time (so the kernel's SYN
    retransmits count), then before every TLS handshake, write and read the
    socket timeout is set to what remains. ok: HTTP 200 with the complete body
    before the deadline. The error kind is "<phase>:<reason>" with phase
    connect, tls, request or response (or "http:<status>").
    """
    start = clock()
    deadline = start + deadline_s
    phase = "connect"
    sock = conn = None

    def failed(kind, status=None):
        return RequestRecord(start, clock(), False, kind, status)

    try:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        err = sock.connect_ex((host, port))
        if err in (errno.EINPROGRESS, errno.EALREADY, errno.EWOULDBLOCK):
            err = _wait_connected(sock, deadline, clock)
        if err:
            return failed("connect:" + _errno_kind(err))
        conn = sock
        if tls:
            phase = "tls"
            conn = (context or lab_tls_context()).wrap_socket(sock, do_handshake_on_connect=False, server_hostname=host)
            _set_remaining(conn, deadline, clock)
            conn.do_handshake()
        phase = "request"
        hostport = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
        _set_remaining(conn, deadline, clock)
        conn.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: kubeha-bench-failover\r\nAccept: */*\r\n"
                      "Connection: close\r\n\r\n" % (path, hostport)).encode())
        phase = "response"
        got_head, status, complete = _read_response(conn, deadline, clock)
        end = clock()
        if status is None:
            return RequestRecord(start, end, False, "response:malformed" if got_head else "response:eof")
        if not complete:
            return RequestRecord(start, end, False, "response:eof", status)
        if status != 200:
            return RequestRecord(start, end, False, "http:%d" % status, status)
        if end > deadline:
            return RequestRecord(start, end, False, "response:late", status)
        return RequestRecord(start, end, True, None, status)
    except (DeadlineExceeded, TimeoutError):
        return failed(phase + ":timeout")
    except ssl.SSLError as exc:
        reason = "eof" if isinstance(exc, ssl.SSLEOFError) else (exc.reason or type(exc).__name__)
        return failed("%s:tls-%s" % (phase, str(reason).lower()))
    except OSError as exc:
        return failed("%s:%s" % (phase, _errno_kind(exc.errno) if exc.errno else type(exc).__name__.lower()))
    finally:
        for item in (conn, sock):
            if item is not None:
                try:
                    item.close()
                except OSError:
                    pass


class Traffic:
    """Starts one timed_request every ``interval`` s (each in its own thread) until stopped.

    Requests are scheduled on a fixed grid (no drift; slots missed while the
    machine was busy are skipped, not bunched) and bounded by ``max_s``.
    ``stop()`` waits for the requests in flight (each ends by its deadline) and
    returns every RequestRecord sorted by start.
    """

    def __init__(self, host, port, interval, deadline, path="/version", max_s=MAX_TRAFFIC_S, tls=True):
        self.host, self.port, self.interval, self.deadline = host, port, interval, deadline
        self.path, self.max_s, self.tls = path, max_s, tls
        self.records = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers = []
        self._thread = None

    def _one(self):
        record = timed_request(self.host, self.port, self.deadline, self.path, tls=self.tls)
        with self._lock:
            self.records.append(record)

    def _schedule(self):
        begin = time.monotonic()
        slot = 0
        while not self._stop.is_set() and time.monotonic() - begin < self.max_s:
            worker = threading.Thread(target=self._one, daemon=True)
            worker.start()
            self._workers.append(worker)
            slot += 1
            now = time.monotonic()
            if begin + slot * self.interval < now - self.interval:  # fell behind: skip the missed slots
                slot = int((now - begin) / self.interval) + 1
            self._stop.wait(max(0.0, begin + slot * self.interval - time.monotonic()))

    def start(self):
        self._thread = threading.Thread(target=self._schedule, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        for worker in self._workers:
            worker.join(self.deadline + 2.0)
        with self._lock:
            return sorted(self.records, key=lambda r: r.start)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
