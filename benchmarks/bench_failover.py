"""Failover benchmark of the load-balancer layer (HAProxy + keepalived): prints figures, never fails on time.

Brings up its own three-node lab (benchmarks/inventory.yml: own network and
subnet; lab/create.yml, lab/prepare.yml; torn down at the end), converges
playbooks/site.yml with the "default" and then the "fast" profile, and for each
profile repeats every fault series ``--repeat`` times (default 3), with traffic
through the VIP (only to the benchmark's own containers, bounded in count and
time). Every figure is reported as median, min, max and count (n); the raw
samples go to benchmarks/results/failover-<profile>.json.

    scripts/bench failover [--profile default|fast] [--repeat N] [--series a,b] [--estimate]

Measurements and their definitions
----------------------------------
Request (timed_request)
    One HTTPS GET /version (the server verified against the lab's CA, as clients do) with ONE
    total, wall-clock (monotonic) deadline covering the TCP connect (including
    the kernel's SYN retransmits: non-blocking connect + poll against the
    remaining time), the TLS handshake, the request and the whole response
    (socket timeout set to the remaining time before every TLS/read/write
    operation). ok = HTTP 200 with the complete body before the deadline.
    Each record keeps start, end (monotonic), ok and an error kind
    "<phase>:<reason>" (connect:refused, connect:timeout, tls:timeout,
    response:eof, http:503, ...).
Traffic
    VIP faults: one request every 50 ms, deadline 0.9 s. The deadline is below
    Linux's initial SYN retransmission timeout (1 s), so a request whose SYN was
    lost fails instead of succeeding late. Load and disruption series: 50
    requests/s, deadline 2 s (a patient client); "slow" counts the successes that
    took 1 s or more (they may have waited through a SYN retransmit).
Fault time t0
    Taken just before the fault command is issued; the command's own run time
    (fault_command_s in the raw data, a podman exec or podman CLI start) is part
    of every figure, so figures are upper bounds by at most that much.
takeover_started
    t0 -> START of the first request that started after the first failed request
    (the first failure among requests still running or started at t0 or later)
    and succeeded in less than 1 s (so it cannot have waited through a SYN
    retransmit). A request started then got its answer at once: service was back
    at that start time (resolution: one request interval). 0 when nothing failed.
takeover_end
    t0 -> END of the first request, started after the first failed one, that
    succeeded (whatever it waited for).
all_ok_after_started / all_ok_after_end
    t0 -> start (end) of the first request after the last failure that succeeded
    in less than 1 s; every later request succeeded and at least 1 s of traffic
    follows it, otherwise "not recovered within the window" (None).
failed / total / slow
    Requests of the run (from 0.5 s before the fault to the end of the window)
    that were not ok / all / ok but 1 s or longer. failure_span_started: start of
    the last failed minus start of the first failed request.
VIP moves
    Counted from keepalived's own log after the window: ``journalctl -u
    keepalived -o short-unix --since @t`` on every running node; each "Entering
    MASTER STATE" is an acquisition, a move is an acquisition by a node other
    than the previous holder (the initial holder comes from ``ip -o addr show``
    before the fault). A stopped or killed node's journal cannot be read; it
    cannot acquire the VIP while down. vrrp_takeover_log: t0 -> the first
    acquisition after t0 (keepalived's own view).
Physical bound of a crash takeover
    A backup takes over a killed master when its master-down timer expires:
    Master_Down_Interval = 3 x advert_int + skew after the last advert it got,
    skew = (256 - priority) x advert_int / 256 (VRRPv2; the same formula with
    the advert interval in seconds for VRRPv3), priority = that of the node
    that took over. The last advert left at most one advert_int before the
    kill, so no crash takeover can be shorter than 2 x advert_int + skew
    (2.26 s with 1 s adverts and priority 190). A crash takeover below it is a
    measurement bug: printed as "BELOW PHYSICAL BOUND", kept in the raw data
    (run "excluded") and left out of the figures.
Health checks (50 requests/s through the VIP, ``show stat`` and ``show servers
state`` polled every 0.1 s on every load balancer's admin socket)
    slow /readyz: the stand-in of one backend answers /readyz after 0.3 s
    (/run/kubeha-standin/readyz-delay) for 20 s: was it ever marked DOWN, and
    how many requests failed. Frozen backend (SIGSTOP): down_after = freeze ->
    first sample of the holder's HAProxy showing it DOWN; up_after = SIGCONT ->
    first sample showing it UP again; slowstart_in_effect: in the first seconds
    after UP the server is in HAProxy's STARTING state (srv_op_state 1, show
    servers state) or its weight ramps up; the weights seen are kept.
Reboots (podman restart -t 10)
    Requests also go straight to the rebooting node's frontend (every 0.1 s);
    vip_before_frontend is "yes" when the booting node entered MASTER before a
    failed request to its own frontend (so before its HAProxy answered), "no"
    when after the first answer, "undetermined" in between.

Raw data (JSON, one file per profile)
-------------------------------------
{"schema": "kubeha-bench-failover/1", "profile", "complete", "started", "finished",
 "repeat", "settings": {intervals, deadlines, windows}, "versions": {...},
 "vrrp": {"version", "advert_int", "priorities": {node: p}, "preempt", "source"},
 "haproxy": {"admin_socket", "default_server"}, "bounds": {node: crash bound s},
 "definitions": {figure: text}, "request_fields": ["start", "end", "ok", "error"],
 "series": {name: {"title", "runs": [run...], "summary": {figure: summary}}}}
run = {"repetition", "holder_before", "victim", "fault", "fault_wall" (epoch s),
       "window_s", "figures": {...}, "excluded": {figure: reason},
       "acquisitions": [[t, node]], "journal_unreadable": [node],
       "requests": [[start, end, ok, error]], optional "probes", "stat_samples",
       "error" when the run itself failed}; times in a run are seconds relative
to its fault time t0.
summary = {"median", "min", "max", "n", "missing", "excluded"} for numbers,
{"counts": {value: k}, "n"} for verdicts and flags.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import datetime
import errno
import json
import math
import os
import platform
import re
import select
import shlex
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INVENTORY = os.path.join(ROOT, "benchmarks", "inventory.yml")
RESULTS_DIR = os.path.join(ROOT, "benchmarks", "results")
with open(INVENTORY) as _fh:
    _INV = yaml.safe_load(_fh)
VARS = _INV["all"]["vars"]
HOSTS = _INV["all"]["children"]["kube_masters"]["hosts"]
NODES = list(HOSTS)  # inventory order
CONTAINERS = {name: h["kubeha_lab_container"] for name, h in HOSTS.items()}
ADDRESSES = {name: h["kubeha_address"] for name, h in HOSTS.items()}
VIP, PORT = VARS["kubeha_vip"], int(VARS["haproxy_frontend_port"])
BACKEND_PORT = int(VARS.get("haproxy_backend_port", 6443))
BACKEND = "kube-apiserver"  # HAProxy backend name; its servers are named after the inventory hosts
UNITS = ("etcd", "kube-apiserver", "haproxy", "keepalived")
DEFAULT_ADMIN_SOCKET = "/var/lib/haproxy/admin.sock"
READYZ_DELAY_FILE = "/run/kubeha-standin/readyz-delay"
SCHEMA = "kubeha-bench-failover/1"

PROFILES = {
    "default": [],
    # keepalived's fast profile plus HAProxy checks to match it.
    "fast": ["-e", '{"keepalived_profile": "fast", "haproxy_check_interval_ms": 200, "haproxy_check_fastinter_ms": 100,'
             ' "haproxy_check_downinter_ms": 200, "haproxy_check_timeout_ms": 300, "haproxy_connect_timeout_ms": 300}'],
}
# What the roles render when keepalived.conf cannot be read (role defaults).
PROFILE_VRRP = {"default": {"version": 2, "advert_int": 1.0}, "fast": {"version": 3, "advert_int": 0.1}}

SYN_RTO_S = 1.0  # Linux's initial SYN retransmission timeout (TCP_TIMEOUT_INIT)
FAULT_INTERVAL_S = 0.05  # VIP faults: 20 requests/s ...
FAULT_DEADLINE_S = 0.9  # ... each with a deadline below SYN_RTO_S
LOAD_INTERVAL_S = 0.02  # load and disruption series: 50 requests/s ...
LOAD_DEADLINE_S = 2.0  # ... each with a 2 s deadline
PROBE_INTERVAL_S = 0.1  # reboots: requests straight to the rebooting node's frontend
PRE_FAULT_S = 0.5  # traffic before the fault
SETTLE_S = 0.5  # a healthy lab must stay so (same holder) this long before a fault
MIN_TAIL_S = 1.0  # "every request succeeds again" needs this much traffic after it
STAT_PERIOD_S = 0.1  # admin socket polling period
READYZ_DELAY_S = 0.3
READYZ_WINDOW_S = 20.0
FREEZE_S = 4.0  # backend frozen this long ...
RECOVER_S = 5.0  # ... then watched this long after SIGCONT
SLOWSTART_VIEW_S = 4.0  # weights reported for the first seconds after UP
RELOAD_GAP_S = 0.5
REBOOT_MAX_S = 60.0
PLAYBOOK_MAX_S = 300.0
MAX_TRAFFIC_S = 400.0  # hard bound of any traffic run
SRV_ST_STARTING = 1  # HAProxy srv_op_state while a server warms up (slowstart)

# Rough wall-clock cost of one run of each series (waits and restores included), default profile.
SETUP_S = 120.0
CONVERGE_S = 60.0

DEFINITIONS = {
    "takeover_started": "fault -> start of the first request started after the first failed one that succeeded"
                        " in < 1 s (no SYN retransmit possible)",
    "takeover_end": "fault -> end of the first request started after the first failed one that succeeded",
    "all_ok_after_started": "fault -> start of the first request after the last failure that succeeded in < 1 s"
                            " (every later request succeeded, >= 1 s of traffic after it)",
    "all_ok_after_end": "fault -> end of that same request",
    "vrrp_takeover_log": "fault -> first 'Entering MASTER STATE' after the fault (keepalived's journal)",
    "failed": "requests of the run that got no HTTP 200 within their deadline",
    "total": "requests of the run",
    "slow": "requests that succeeded but took >= 1 s (may have waited through a SYN retransmit)",
    "failure_span_started": "start of the last failed minus start of the first failed request",
    "moves": "acquisitions of the VIP ('Entering MASTER STATE') by a node other than the previous holder",
    "fault_command_s": "run time of the fault command (included in every figure)",
    "down_after": "freeze -> first admin-socket sample of the holder's HAProxy showing the backend DOWN",
    "up_after": "SIGCONT -> first sample of the holder's HAProxy showing it UP again",
    "slowstart_in_effect": "STARTING state (srv_op_state 1) or a rising weight in the first seconds after UP",
    "ever_down": "the slow backend was shown DOWN in some sample of some load balancer",
    "readyz_latency_s": "one direct GET /readyz to the slow backend during the window (checks the injection)",
    "frontend_answered_after": "reboot -> start of the first successful request straight to the node's frontend",
    "vip_taken_after": "reboot -> first 'Entering MASTER STATE' of the rebooting node",
    "vip_before_frontend": "the rebooting node took the VIP before its own HAProxy answered (yes/no/undetermined)",
    "playbook_s": "run time of ansible-playbook",
}


# ----------------------------------------------------------------------------- one request with one deadline
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


# ----------------------------------------------------------------------------- analysis (pure functions)
def _concerned(records, t0):
    """Requests the fault at ``t0`` could touch (still running at t0 or later), by start."""
    return sorted((r for r in records if r.end > t0), key=lambda r: r.start)


def first_failure(records, t0):
    """The first failed request, by start, among those still running at the fault or started after it."""
    return next((r for r in _concerned(records, t0) if not r.ok), None)


def takeover_started(records, t0, max_duration=SYN_RTO_S):
    """Fault -> START of the first request started after the first failure that succeeded in < ``max_duration``.

    A success that took ``max_duration`` (the SYN retransmission timeout) or more
    may have waited through a SYN retransmit, so its start says nothing about
    when the service came back: it is skipped. 0.0 when no request failed,
    None when no request recovered.
    """
    first = first_failure(records, t0)
    if first is None:
        return 0.0
    for rec in _concerned(records, t0):
        if rec.start > first.start and rec.start >= t0 and rec.ok and rec.duration < max_duration:
            return rec.start - t0
    return None


def takeover_end(records, t0):
    """Fault -> END of the first request (started after the first failure) that succeeded; 0.0 / None as above."""
    first = first_failure(records, t0)
    if first is None:
        return 0.0
    ends = [r.end for r in _concerned(records, t0) if r.ok and r.start > first.start]
    return min(ends) - t0 if ends else None


def _recovery(records, t0, max_duration, min_tail):
    """The first request after the last failure that succeeded in < max_duration, if min_tail s of traffic follow."""
    recs = _concerned(records, t0)
    failures = [r for r in recs if not r.ok]
    if not failures:
        return None
    last = failures[-1]
    tail = [r for r in recs if r.start > last.start]
    for rec in tail:
        if rec.duration < max_duration:
            return rec if tail[-1].start - rec.start >= min_tail else None
    return None


def all_ok_after_started(records, t0, max_duration=SYN_RTO_S, min_tail=MIN_TAIL_S):
    """Fault -> start of the first request of the final all-successful run (see _recovery); 0.0 / None."""
    if first_failure(records, t0) is None:
        return 0.0
    rec = _recovery(records, t0, max_duration, min_tail)
    return None if rec is None else max(0.0, rec.start - t0)


def all_ok_after_end(records, t0, max_duration=SYN_RTO_S, min_tail=MIN_TAIL_S):
    """Fault -> end of the request all_ok_after_started starts at; 0.0 / None."""
    if first_failure(records, t0) is None:
        return 0.0
    rec = _recovery(records, t0, max_duration, min_tail)
    return None if rec is None else rec.end - t0


def failure_span_started(records):
    """Start of the last failed request minus start of the first failed one (0.0 with fewer than two)."""
    starts = [r.start for r in records if not r.ok]
    return max(starts) - min(starts) if len(starts) > 1 else 0.0


def request_counts(records, slow_s=SYN_RTO_S):
    """(failed, total, slow): not ok, all, ok but taking ``slow_s`` or more."""
    failed = sum(1 for r in records if not r.ok)
    slow = sum(1 for r in records if r.ok and r.duration >= slow_s)
    return failed, len(records), slow


def summarize(values):
    """Median, min, max and n of the numbers in ``values``; None entries are counted as missing."""
    numbers = [v for v in values if v is not None]
    missing = len(values) - len(numbers)
    if not numbers:
        return {"median": None, "min": None, "max": None, "n": 0, "missing": missing}
    return {"median": statistics.median(numbers), "min": min(numbers), "max": max(numbers), "n": len(numbers),
            "missing": missing}


def vrrp_skew_time(priority, advert_int):
    """VRRP skew time: (256 - priority) x advert_int / 256 (VRRPv2; VRRPv3 with the interval in seconds)."""
    return (256 - priority) * advert_int / 256.0


def master_down_interval(priority, advert_int):
    """VRRP master-down interval of a backup: 3 x advert_int + skew time."""
    return 3 * advert_int + vrrp_skew_time(priority, advert_int)


def crash_takeover_bound(priority, advert_int):
    """Shortest possible takeover after the master dies silently: master-down interval minus one advert.

    The backup's timer restarts with every advert; the last one left at most one
    advert_int before the crash, so the backup cannot become master earlier than
    master_down_interval - advert_int after it. ``priority``: the new holder's.
    """
    return master_down_interval(priority, advert_int) - advert_int


def below_bound(value, bound):
    """True when a measured crash takeover is shorter than the physical bound (a measurement bug)."""
    return value is not None and bound is not None and value < bound


_JOURNAL_TS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s")


def parse_master_entries(journal_text, node):
    """[(unix time, node)] of every "Entering MASTER STATE" line of ``journalctl -o short-unix`` output."""
    entries = []
    for line in journal_text.splitlines():
        match = _JOURNAL_TS.match(line)
        if match and "Entering MASTER STATE" in line:
            entries.append((float(match.group(1)), node))
    return entries


def count_moves(acquisitions, initial_holder):
    """VIP moves: acquisitions (time, node), in time order, by a node other than the previous holder."""
    moves, holder = 0, initial_holder
    for _time, node in sorted(acquisitions):
        if node != holder:
            moves += 1
            holder = node
    return moves


def first_acquisition(acquisitions, after, exclude=None):
    """(time, node) of the first acquisition at or after ``after`` by a node other than ``exclude``."""
    return next(((t, n) for t, n in sorted(acquisitions) if t >= after and n != exclude), None)


def parse_admin_output(text, backend=BACKEND):
    """Servers of ``backend`` from HAProxy ``show stat`` and ``show servers state`` output.

    Returns {server: {"status", "weight", "op_state"}}, the keys present that the
    output had. Columns are found by the header lines ("# pxname,svname,..." and
    "# be_id be_name ..."); show stat falls back to status = field 18 (index 17)
    and weight = index 18.
    """
    servers = {}
    mode, cols = None, []
    for line in text.splitlines():
        if line.startswith("# pxname,"):
            mode, cols = "stat", line[2:].split(",")
            continue
        if line.startswith("# be_id "):
            mode, cols = "state", line[2:].split()
            continue
        if not line.strip() or line.startswith("#"):
            continue
        if mode == "stat":
            fields = line.split(",")
            i_status = cols.index("status") if "status" in cols else 17
            i_weight = cols.index("weight") if "weight" in cols else 18
            if len(fields) <= max(i_status, i_weight) or fields[0] != backend or fields[1] in ("FRONTEND", "BACKEND"):
                continue
            weight = fields[i_weight]
            servers.setdefault(fields[1], {}).update(
                status=fields[i_status], weight=int(weight) if weight.isdigit() else None)
        elif mode == "state":
            fields = line.split()
            try:
                be_name, name = fields[cols.index("be_name")], fields[cols.index("srv_name")]
                op_state = int(fields[cols.index("srv_op_state")])
            except (ValueError, IndexError):
                continue
            if be_name == backend:
                servers.setdefault(name, {})["op_state"] = op_state
    return servers


def is_down(state):
    """HAProxy shows the server DOWN (also "DOWN 1/2": down, going up)."""
    return bool(state) and state.get("status", "").split(" ")[0] == "DOWN"


def is_up(state):
    """HAProxy shows the server UP (also "UP 1/2": up, going down)."""
    return bool(state) and state.get("status", "").split(" ")[0] == "UP"


def first_time(samples, server, predicate, after=-math.inf):
    """Time of the first sample (time, {server: state}) at or after ``after`` where predicate(state) holds."""
    return next((t for t, servers in samples if t >= after and predicate(servers.get(server))), None)


def slowstart_evidence(samples, server, up_at, span=SLOWSTART_VIEW_S):
    """(in_effect, view) for the first ``span`` s after ``up_at``.

    view: [[t - up_at, status, weight, op_state]]; in effect when HAProxy shows
    the server in its STARTING state (srv_op_state 1) or its weight rises.
    """
    view = [[round(t - up_at, 3), st.get("status"), st.get("weight"), st.get("op_state")]
            for t, servers in samples if up_at <= t <= up_at + span and (st := servers.get(server))]
    weights = [v[2] for v in view if v[2] is not None]
    ramp = bool(weights) and weights[0] < max(weights)
    return any(v[3] == SRV_ST_STARTING for v in view) or ramp, view


def vip_before_frontend(node_entries, probes, t0):
    """Did a booting node take the VIP before its own HAProxy frontend answered?

    ``node_entries``: times (relative to t0) at which the node entered MASTER;
    ``probes``: requests straight to its frontend (monotonic). The frontend
    answered at the latest at ``answered`` (takeover_started of the probes) and
    did not yet answer a request started at the last failed probe before that.
    Returns (verdict, answered): "yes" when an entry precedes that failed probe,
    "undetermined" when one falls between it and ``answered``, else "no".
    """
    answered = takeover_started(probes, t0)
    failed_before = [r.start - t0 for r in _concerned(probes, t0)
                     if not r.ok and (answered is None or r.start - t0 < answered)]
    not_answering_at = max(failed_before) if failed_before else -math.inf
    verdict = "no"
    for entry in sorted(node_entries):
        if entry < not_answering_at:
            return "yes", answered
        if answered is None or entry < answered:
            verdict = "undetermined"
    return verdict, answered


# ----------------------------------------------------------------------------- formatting
EN_DASH = "\u2013"


def _num(value):
    return "%.2f" % value if isinstance(value, float) else "%g" % value


def seconds_cell(summary):
    """Table cell "median s (min-max, n=N)" (en dash), or a note when nothing was measured."""
    if not summary or not summary.get("n"):
        if (summary or {}).get("excluded"):
            return "all %d below the physical bound: measurement bug (n=0)" % summary["excluded"]
        return "not recovered within the window (n=0)" if (summary or {}).get("missing") else "n/a"
    text = "%.2f s (%.2f%s%.2f, n=%d)" % (summary["median"], summary["min"], EN_DASH, summary["max"], summary["n"])
    if summary.get("missing"):
        text += ", %d not recovered" % summary["missing"]
    if summary.get("excluded"):
        text += ", %d excluded below bound" % summary["excluded"]
    return text


def moves_failed_cell(moves, failed):
    """Table cell "moves/failed" (medians), with the maxima when the runs differ."""
    if not moves or not moves.get("n") or not failed or not failed.get("n"):
        return "n/a"
    text = "%s/%s" % (_num(moves["median"]), _num(failed["median"]))
    if moves["min"] != moves["max"] or failed["min"] != failed["max"]:
        text += " (max %s/%s, n=%d)" % (_num(moves["max"]), _num(failed["max"]), moves["n"])
    else:
        text += " (n=%d)" % moves["n"]
    return text


def counts_cell(summary, good, label_good, label_bad):
    """Cell for a verdict or flag: "<label_good> (n=N)" when every run gave ``good``."""
    if not summary or not summary.get("n"):
        return "n/a"
    counts = summary["counts"]
    bad = summary["n"] - counts.get(str(good), 0)
    if not bad:
        return "%s (n=%d)" % (label_good, summary["n"])
    return "%s in %d of %d" % (label_bad, bad, summary["n"])


def dump_json(obj, indent=0):
    """JSON text with one line per list of scalars (a request record stays on one line)."""
    pad, inner = " " * indent, " " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = ["%s%s: %s" % (inner, json.dumps(str(k)), dump_json(v, indent + 1)) for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, (list, tuple)):
        if all(not isinstance(v, (dict, list, tuple)) for v in obj):
            return json.dumps(list(obj))
        return "[\n" + ",\n".join(inner + dump_json(v, indent + 1) for v in obj) + "\n" + pad + "]"
    return json.dumps(obj)


def _round(value, digits=4):
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: _round(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_round(v, digits) for v in value]
    return value


def request_rows(records, t0):
    """Raw request records relative to the fault time: [start, end, ok, error]."""
    return [[round(r.start - t0, 4), round(r.end - t0, 4), r.ok, r.error] for r in records]


# ----------------------------------------------------------------------------- series and the table
@dataclasses.dataclass(frozen=True)
class Series:
    """A fault series: its key, a label, what a run prints, and its nominal cost (s) for the time estimate."""

    name: str
    title: str
    show: tuple
    nominal_s: float


_VIP_SHOW = ("takeover_started", "takeover_end", "all_ok_after_started", "moves", "failed", "total")
_LOAD_SHOW = ("moves", "failed", "total", "slow", "failure_span_started")
SERIES = {s.name: s for s in (
    Series("haproxy_reload_all", "`systemctl reload haproxy` on every node", _LOAD_SHOW, 9),
    Series("config_change", "config change on every node (`site.yml`, `haproxy_maxconn`)",
           _LOAD_SHOW + ("playbook_s",), 43),
    Series("haproxy_kill", "HAProxy killed (SIGKILL) on the holder", _VIP_SHOW, 11),
    Series("keepalived_stop", "`systemctl stop keepalived` on the holder", _VIP_SHOW, 11),
    Series("haproxy_restart", "`systemctl restart haproxy` on the holder", _LOAD_SHOW, 10),
    Series("node_crash", "holder crashes (`podman kill`)", _VIP_SHOW + ("vrrp_takeover_log",), 21),
    Series("node_stop", "holder stops (`podman stop -t 10`)", _VIP_SHOW, 19),
    Series("reboot_low", "reboot (`podman restart -t 10`) of the lowest-priority node",
           _LOAD_SHOW + ("frontend_answered_after", "vip_before_frontend"), 18),
    Series("reboot_high", "reboot (`podman restart -t 10`) of the highest-priority node",
           _LOAD_SHOW + ("frontend_answered_after", "vip_taken_after", "vip_before_frontend"), 20),
    Series("backend_kill", "one apiserver killed under load", _LOAD_SHOW, 12),
    Series("backend_freeze", "one apiserver frozen (SIGSTOP) under load",
           _LOAD_SHOW + ("down_after", "up_after", "slowstart_in_effect"), 15),
    Series("slow_readyz", "one apiserver's /readyz answers after 0.3 s, under load",
           _LOAD_SHOW + ("ever_down", "readyz_latency_s"), 26),
)}

# (label, series, kind, figure, goal "default / fast"); kind: seconds, moves_failed, or counts:<good>:<ok>:<bad>
TABLE_ROWS = [
    ("HAProxy killed on the holder: takeover (first success started after the first failure)",
     "haproxy_kill", "seconds", "takeover_started", "1 s"),
    ("HAProxy killed on the holder: takeover (end of the first success)", "haproxy_kill", "seconds", "takeover_end", ""),
    ("HAProxy killed on the holder: VIP moves/failed requests", "haproxy_kill", "moves_failed", None, ""),
    ("`systemctl stop keepalived` on the holder: takeover (first success started)",
     "keepalived_stop", "seconds", "takeover_started", ""),
    ("`systemctl stop keepalived` on the holder: takeover (end of the first success)",
     "keepalived_stop", "seconds", "takeover_end", ""),
    ("`systemctl stop keepalived` on the holder: moves/failed", "keepalived_stop", "moves_failed", None, ""),
    ("holder crashes (`podman kill`): takeover (first success started)",
     "node_crash", "seconds", "takeover_started", "4 s / 0.5 s"),
    ("holder crashes: takeover (end of the first success)", "node_crash", "seconds", "takeover_end", ""),
    ("holder crashes: keepalived's MASTER entry (journal)", "node_crash", "seconds", "vrrp_takeover_log", ""),
    ("holder crashes: every request succeeds again after", "node_crash", "seconds", "all_ok_after_started",
     "4 s / 1 s"),
    ("holder crashes: moves/failed", "node_crash", "moves_failed", None, "1 move"),
    ("holder stops (`podman stop -t 10`): takeover (first success started)",
     "node_stop", "seconds", "takeover_started", ""),
    ("holder stops: every request succeeds again after", "node_stop", "seconds", "all_ok_after_started", "1.5 s"),
    ("holder stops: moves/failed", "node_stop", "moves_failed", None, "1 move"),
    ("`systemctl reload haproxy` on every node: moves/failed", "haproxy_reload_all", "moves_failed", None, "0/0"),
    ("`systemctl restart haproxy` on the holder: moves/failed", "haproxy_restart", "moves_failed", None,
     "at most 1 move"),
    ("config change on every node (`site.yml`, `haproxy_maxconn`): moves/failed",
     "config_change", "moves_failed", None, "0/0"),
    ("reboot of the lowest-priority node: moves/failed", "reboot_low", "moves_failed", None, "0/0"),
    ("reboot of the lowest-priority node: took the VIP before its HAProxy answered",
     "reboot_low", "counts:no:never:yes or undetermined", "vip_before_frontend", "never"),
    ("reboot of the highest-priority node: moves/failed", "reboot_high", "moves_failed", None,
     "2 moves (away, back once healthy)"),
    ("reboot of the highest-priority node: took the VIP before its HAProxy answered",
     "reboot_high", "counts:no:never:yes or undetermined", "vip_before_frontend", "never"),
    ("one apiserver killed under load: moves/failed", "backend_kill", "moves_failed", None, "0 failed"),
    ("one apiserver frozen (SIGSTOP) under load: moves/failed", "backend_freeze", "moves_failed", None, ""),
    ("one apiserver frozen: failures within", "backend_freeze", "seconds", "failure_span_started", "2 s"),
    ("frozen apiserver marked DOWN by the holder's HAProxy after", "backend_freeze", "seconds", "down_after", "2 s"),
    ("frozen apiserver UP again after SIGCONT", "backend_freeze", "seconds", "up_after", ""),
    ("slowstart after it is UP again", "backend_freeze", "counts:True:yes:no", "slowstart_in_effect", "yes"),
    ("/readyz answers after 0.3 s: marked DOWN", "slow_readyz", "counts:False:never:DOWN", "ever_down", "never"),
    ("/readyz answers after 0.3 s: moves/failed", "slow_readyz", "moves_failed", None, "0/0"),
]


def table_cell(series_data, kind, figure):
    """One cell of the final table from a series' summary."""
    summary = (series_data or {}).get("summary") or {}
    if kind == "seconds":
        return seconds_cell(summary.get(figure))
    if kind == "moves_failed":
        return moves_failed_cell(summary.get("moves"), summary.get("failed"))
    _kind, good, label_good, label_bad = kind.split(":")
    return counts_cell(summary.get(figure), good, label_good, label_bad)


def markdown_table(results):
    """The README's table: fault | default | fast | goal; ``results``: {profile: data} (a missing one: "not run")."""
    lines = ["| fault | default | fast | goal (default / fast) |", "| --- | --- | --- | --- |"]
    for label, series, kind, figure, goal in TABLE_ROWS:
        cells = []
        for profile in ("default", "fast"):
            data = results.get(profile)
            if data is None or series not in data["series"]:
                cells.append("not run")
            else:
                cells.append(table_cell(data["series"][series], kind, figure))
        lines.append("| %s | %s | %s | %s |" % (label, cells[0], cells[1], goal))
    return "\n".join(lines)


def summarize_series(runs):
    """Summary of every figure over the runs without an error; figures a run "excluded" are left out."""
    good = [r for r in runs if "error" not in r]
    names = []
    for run in good:
        names += [k for k in run["figures"] if k not in names]
    summary = {}
    for name in names:
        values = [r["figures"].get(name) for r in good if name not in r.get("excluded", {})]
        excluded = sum(1 for r in good if name in r.get("excluded", {}))
        if any(isinstance(v, (bool, str)) for v in values):
            counts = {}
            for value in values:
                counts[str(value)] = counts.get(str(value), 0) + 1
            summary[name] = {"counts": counts, "n": len(values)}
        else:
            summary[name] = dict(summarize(values), excluded=excluded)
    return summary


def estimate_s(profiles, repeat, series):
    """Nominal wall-clock time of a run (setup, converge, the series' nominal costs)."""
    per_rep = sum(SERIES[s].nominal_s for s in series)
    return SETUP_S + len(profiles) * (CONVERGE_S + repeat * per_rep)


# ----------------------------------------------------------------------------- lab helpers (podman)
def sh(*cmd, check=True, timeout=600):
    """Run a command; its stdout. Raises RuntimeError with the output tail when it fails and ``check``."""
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError("%s failed (rc=%d): %s%s"
                           % (" ".join(cmd), proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:]))
    return proc.stdout


def podman_exec(node, *cmd, stdin_text=None, timeout=30):
    """``podman exec`` in a node's container; the CompletedProcess (never raises on failure)."""
    args = ["podman", "exec"] + (["-i"] if stdin_text is not None else []) + [CONTAINERS[node], *cmd]
    try:
        return subprocess.run(args, input=stdin_text, capture_output=True, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        return subprocess.CompletedProcess(args, 124, exc.stdout or "", "timeout")


def exec_(node, *cmd):
    """``podman exec`` that must succeed."""
    sh("podman", "exec", CONTAINERS[node], *cmd, timeout=60)


def ansible(playbook, *extra):
    sh("ansible-playbook", "-i", INVENTORY, os.path.join(ROOT, playbook), *extra, timeout=1800)


def parallel(function, items):
    """[function(item)] for the items, run in threads."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(items))) as pool:
        return list(pool.map(function, items))


def read_acquisitions(since_wall, until_wall):
    """([(unix time, node)] of MASTER entries between the two times, [nodes whose journal could not be read])."""

    def read(node):
        proc = podman_exec(node, "journalctl", "-u", "keepalived", "-o", "short-unix", "--no-pager",
                           "--since", "@%d" % int(since_wall - 1))
        return None if proc.returncode != 0 else parse_master_entries(proc.stdout, node)

    entries, unreadable = [], []
    for node, found in zip(NODES, parallel(read, NODES)):
        if found is None:
            unreadable.append(node)
        else:
            entries += [(t, n) for t, n in found if since_wall <= t <= until_wall]
    return sorted(entries), unreadable


def parse_keepalived_conf(text):
    """VRRP parameters of the first vrrp_instance: version, advert_int, priority, preempt, preempt_delay."""
    params = {}
    match = re.search(r"^\s*vrrp_version\s+(\d+)", text, re.M)
    if match:
        params["version"] = int(match.group(1))
    start = text.find("vrrp_instance")
    body = text[start:] if start >= 0 else ""
    for key, conv in (("version", int), ("priority", int), ("advert_int", float), ("preempt_delay", float)):
        match = re.search(r"^\s*%s\s+([0-9.]+)\s*$" % key, body, re.M)
        if match:
            params[key] = conv(match.group(1))
    if body:
        params["preempt"] = re.search(r"^\s*nopreempt\s*$", body, re.M) is None
    return params


@dataclasses.dataclass
class NodeStatus:
    """What one podman exec tells about a node: running, units active, VIP held, its HAProxy's view of servers."""

    running: bool
    units_active: bool = False
    has_vip: bool = False
    servers: dict = dataclasses.field(default_factory=dict)


class StatWatcher:
    """Polls ``show stat; show servers state`` on one load balancer's admin socket every STAT_PERIOD_S.

    The loop runs inside the container (one podman exec, bounded by ``duration``)
    and prints a unix timestamp after each answer, so a sample's time is when
    the state had been read (an upper bound for the change it shows).
    samples: [(unix time, {server: state})].
    """

    def __init__(self, node, admin_socket, duration):
        self.node, self.admin_socket, self.duration = node, admin_socket, duration
        self.samples = []
        self._proc = None
        self._reader = None

    def _script(self):
        return ('end=$(( $(date +%%s) + %d )); while [ "$(date +%%s)" -lt "$end" ]; do '
                'echo "show stat; show servers state %s" | timeout 1 nc -U %s; '
                'echo "@T $(date +%%s.%%N)"; sleep %s; done'
                % (math.ceil(self.duration), BACKEND, shlex.quote(self.admin_socket), STAT_PERIOD_S))

    def _read(self):
        block = []
        for line in self._proc.stdout:
            if line.startswith("@T "):
                try:
                    self.samples.append((float(line.split()[1]), parse_admin_output("".join(block))))
                except (ValueError, IndexError):
                    pass
                block = []
            else:
                block.append(line)

    def start(self):
        self._proc = subprocess.Popen(["podman", "exec", CONTAINERS[self.node], "sh", "-c", self._script()],
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def stop(self):
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.terminate()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._reader.join(5)


@dataclasses.dataclass
class Observation:
    """One run around one fault: fault time (monotonic and unix), window end, requests, VIP acquisitions."""

    holder_before: str
    fault_time: float = 0.0
    fault_wall: float = 0.0
    fault_done: float = 0.0
    window_end: float = 0.0
    requests: list = dataclasses.field(default_factory=list)
    probes: list = dataclasses.field(default_factory=list)
    acquisitions: list = dataclasses.field(default_factory=list)  # [(t relative to the fault, node)]
    unreadable: list = dataclasses.field(default_factory=list)
    stat_samples: dict = dataclasses.field(default_factory=dict)  # node: [(t relative, {server: state})]
    marks: dict = dataclasses.field(default_factory=dict)  # other event times, relative


def _sleep_until(moment):
    delay = moment - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def hold_for(seconds, *steps):
    """Window: ``seconds`` after the fault command returned; ``steps``: (at s after it, mark, action) on the way."""

    def hold(obs):
        for at, mark, action in steps:
            _sleep_until(obs.fault_done + at)
            obs.marks[mark] = time.monotonic() - obs.fault_time
            action()
        _sleep_until(obs.fault_done + seconds)

    return hold


def hold_until(done, settle, max_s):
    """Window: until done() (polled every 0.5 s) plus ``settle`` s, at most ``max_s`` s after the fault."""

    def hold(obs):
        limit = obs.fault_time + max_s
        obs.marks["recovered"] = None
        while time.monotonic() < limit:
            if done():
                obs.marks["recovered"] = time.monotonic() - obs.fault_time
                _sleep_until(min(limit, time.monotonic() + settle))
                return
            time.sleep(0.5)

    return hold


# ----------------------------------------------------------------------------- one profile
class ProfileBench:
    """Converges one profile and runs every series ``repeat`` times; keeps the raw data in ``self.data``."""

    def __init__(self, profile, repeat, series, results_dir):
        self.profile, self.repeat, self.series = profile, repeat, list(series)
        self.path = os.path.join(results_dir, "failover-%s.json" % profile)
        self.admin_socket = DEFAULT_ADMIN_SOCKET
        self.vrrp = dict(PROFILE_VRRP[profile], priorities={n: 200 - 10 * i for i, n in enumerate(NODES)},
                         preempt=True, source="role defaults")
        self.data = {
            "schema": SCHEMA, "profile": profile, "complete": False,
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "repeat": repeat, "profile_extra_vars": PROFILES[profile],
            "settings": {
                "fault_interval_s": FAULT_INTERVAL_S, "fault_deadline_s": FAULT_DEADLINE_S,
                "load_interval_s": LOAD_INTERVAL_S, "load_deadline_s": LOAD_DEADLINE_S,
                "probe_interval_s": PROBE_INTERVAL_S, "syn_rto_s": SYN_RTO_S, "pre_fault_s": PRE_FAULT_S,
                "readyz_delay_s": READYZ_DELAY_S, "readyz_window_s": READYZ_WINDOW_S, "freeze_s": FREEZE_S,
                "recover_s": RECOVER_S, "stat_period_s": STAT_PERIOD_S, "windows_s": self.windows(),
            },
            "definitions": DEFINITIONS, "request_fields": ["start", "end", "ok", "error"],
            "series": {name: {"title": SERIES[name].title, "runs": []} for name in self.series},
        }

    # -- lab state
    def windows(self):
        """Seconds after the fault command returned that each fixed-window series watches."""
        advert = self.vrrp["advert_int"]
        return {"haproxy_kill": 4.0, "keepalived_stop": 3.0, "haproxy_restart": 4.0, "node_crash": 3.0 + 4 * advert,
                "node_stop": 4.0, "haproxy_reload_all": 2.0, "backend_kill": 4.0}

    def top_node(self):
        priorities = self.vrrp["priorities"]
        return max(NODES, key=lambda n: priorities.get(n, 0))

    def bottom_node(self):
        priorities = self.vrrp["priorities"]
        return min(NODES, key=lambda n: priorities.get(n, 0))

    def node_status(self, node):
        script = ('systemctl is-active %s; echo @@; ip -o addr show; echo @@; echo "show stat" | timeout 2 nc -U %s'
                  % (" ".join(UNITS), shlex.quote(self.admin_socket)))
        proc = podman_exec(node, "sh", "-c", script, timeout=15)
        parts = re.split(r"^@@$", proc.stdout, flags=re.M)
        if len(parts) < 3:
            return NodeStatus(running=False)
        return NodeStatus(running=True, units_active=set(parts[0].split()) == {"active"},
                          has_vip=(" %s/" % VIP) in parts[1], servers=parse_admin_output(parts[2]))

    def holders(self):
        """Nodes that have the VIP configured (``ip -o addr show``)."""
        return [n for n, st in zip(NODES, parallel(self.node_status, NODES)) if st.has_vip]

    def healthy_now(self):
        """(healthy, holder, why): every unit active, one holder (the top node with preemption), all servers UP."""
        statuses = dict(zip(NODES, parallel(self.node_status, NODES)))
        holders = [n for n, st in statuses.items() if st.has_vip]
        for node, st in statuses.items():
            if not st.running or not st.units_active:
                return False, None, "%s: not running or a unit inactive" % node
            down = [s for s in NODES if not is_up(st.servers.get(s))]
            if down:
                return False, None, "%s's HAProxy: %s not UP" % (node, ", ".join(down))
        if len(holders) != 1:
            return False, None, "VIP holders: %s" % (holders or "none")
        if self.vrrp.get("preempt", True) and holders[0] != self.top_node():
            return False, None, "VIP on %s, not yet back on %s" % (holders[0], self.top_node())
        if not timed_request(VIP, PORT, LOAD_DEADLINE_S).ok:
            return False, None, "no answer through the VIP"
        return True, holders[0], ""

    def wait_healthy(self, timeout=120):
        """Wait until the lab is healthy and stays so (same holder) SETTLE_S later; return the holder."""
        deadline = time.monotonic() + timeout
        why = ""
        while time.monotonic() < deadline:
            ok, holder, why = self.healthy_now()
            if ok:
                time.sleep(SETTLE_S)
                if self.holders() == [holder]:
                    return holder
            time.sleep(0.3)
        raise RuntimeError("lab not healthy within %d s: %s" % (timeout, why))

    def restore(self, node):
        """Start the node's container if it is down, undo the faults on it (SIGCONT, readyz delay, units)."""
        container = CONTAINERS[node]
        if sh("podman", "inspect", "-f", "{{.State.Running}}", container).strip() != "true":
            sh("podman", "start", container)
        script = ("rm -f %s; systemctl kill -s CONT kube-apiserver 2>/dev/null; systemctl start %s"
                  % (READYZ_DELAY_FILE, " ".join(UNITS)))
        limit = time.monotonic() + 60
        while podman_exec(node, "sh", "-c", script).returncode != 0 and time.monotonic() < limit:
            time.sleep(0.5)  # systemd still booting ("Failed to connect to bus")

    def restore_all(self):
        for node in NODES:
            self.restore(node)
        return self.wait_healthy()

    def inspect_lab(self):
        """VRRP parameters, HAProxy admin socket and default-server line, versions (into self.data)."""
        confs = parallel(lambda n: podman_exec(n, "cat", "/etc/keepalived/keepalived.conf").stdout, NODES)
        parsed = {n: parse_keepalived_conf(text) for n, text in zip(NODES, confs)}
        if all("priority" in p and "advert_int" in p for p in parsed.values()):
            first = parsed[NODES[0]]
            self.vrrp = {"version": first.get("version", PROFILE_VRRP[self.profile]["version"]),
                         "advert_int": first["advert_int"],
                         "priorities": {n: p["priority"] for n, p in parsed.items()},
                         "preempt": first.get("preempt", True), "preempt_delay": first.get("preempt_delay", 0),
                         "source": "keepalived.conf"}
        else:
            print("WARNING: keepalived.conf unreadable, VRRP parameters from the role defaults", flush=True)
        haproxy_cfg = podman_exec(NODES[0], "cat", "/etc/haproxy/haproxy.cfg").stdout
        match = re.search(r"^\s*stats socket\s+(\S+)", haproxy_cfg, re.M)
        self.admin_socket = match.group(1) if match else DEFAULT_ADMIN_SOCKET
        default_server = re.search(r"^\s*default-server\s+(.*)$", haproxy_cfg, re.M)
        inside = podman_exec(NODES[0], "sh", "-c", "haproxy -v | head -1; keepalived --version 2>&1 | head -1; "
                                                   "cat /etc/debian_version; uname -r").stdout.splitlines()
        ansible_version = sh("ansible-playbook", "--version", check=False).splitlines()
        self.data["vrrp"] = self.vrrp
        self.data["haproxy"] = {"admin_socket": self.admin_socket,
                                "default_server": default_server.group(1).strip() if default_server else None}
        self.data["bounds"] = {n: round(crash_takeover_bound(p, self.vrrp["advert_int"]), 4)
                               for n, p in self.vrrp["priorities"].items()}
        self.data["settings"]["windows_s"] = self.windows()
        self.data["versions"] = {
            "haproxy": inside[0] if len(inside) > 0 else None, "keepalived": inside[1] if len(inside) > 1 else None,
            "debian": inside[2] if len(inside) > 2 else None, "kernel": inside[3] if len(inside) > 3 else None,
            "podman": sh("podman", "--version", check=False).strip(),
            "ansible": ansible_version[0] if ansible_version else None,
            "python": platform.python_version(), "host": platform.platform(), "cpus": os.cpu_count(),
        }

    # -- one observed run
    def observe(self, holder, fault, hold, *, interval, deadline, probe_node=None, watch_s=0.0):
        """Traffic through the VIP from PRE_FAULT_S before fault() until hold() returns; journals read after."""
        watchers = {n: StatWatcher(n, self.admin_socket, watch_s).start() for n in NODES} if watch_s else {}
        if watchers:
            time.sleep(0.5)  # the loops' first samples
        traffic = Traffic(VIP, PORT, interval, deadline)
        probes = Traffic(ADDRESSES[probe_node], PORT, PROBE_INTERVAL_S, FAULT_DEADLINE_S) if probe_node else None
        obs = Observation(holder_before=holder)
        begin_wall = time.time()
        traffic.start()
        if probes:
            probes.start()
        try:
            time.sleep(PRE_FAULT_S)
            obs.fault_time, obs.fault_wall = time.monotonic(), time.time()
            fault()
            obs.fault_done = time.monotonic()
            hold(obs)
            obs.window_end = time.monotonic()
        finally:
            obs.requests = traffic.stop()
            obs.probes = probes.stop() if probes else []
            for watcher in watchers.values():
                watcher.stop()
        end_wall = time.time()
        obs.stat_samples = {n: [(t - obs.fault_wall, s) for t, s in w.samples] for n, w in watchers.items()}
        entries, obs.unreadable = read_acquisitions(begin_wall, end_wall)
        obs.acquisitions = [(t - obs.fault_wall, n) for t, n in entries]
        return obs

    def figures(self, obs):
        """The figures every run has (see the module docstring)."""
        t0 = obs.fault_time
        failed, total, slow = request_counts(obs.requests)
        first = first_acquisition(obs.acquisitions, 0.0, exclude=None)
        return {
            "takeover_started": takeover_started(obs.requests, t0), "takeover_end": takeover_end(obs.requests, t0),
            "all_ok_after_started": all_ok_after_started(obs.requests, t0),
            "all_ok_after_end": all_ok_after_end(obs.requests, t0),
            "failed": failed, "total": total, "slow": slow,
            "failure_span_started": failure_span_started(obs.requests),
            "moves": count_moves(obs.acquisitions, obs.holder_before),
            "vrrp_takeover_log": first[0] if first else None,
            "fault_command_s": obs.fault_done - t0,
        }

    def record(self, rep, obs, victim, fault, figures, excluded=None, **extra):
        run = {
            "repetition": rep, "holder_before": obs.holder_before, "victim": victim, "fault": fault,
            "fault_wall": round(obs.fault_wall, 3), "window_s": round(obs.window_end - obs.fault_time, 3),
            "figures": _round(figures), "excluded": excluded or {}, "marks": _round(obs.marks),
            "acquisitions": [[round(t, 4), n] for t, n in obs.acquisitions], "journal_unreadable": obs.unreadable,
            "requests": request_rows(obs.requests, obs.fault_time),
        }
        if obs.probes:
            run["probes"] = request_rows(obs.probes, obs.fault_time)
        run.update(extra)
        return run

    # -- the series
    def _vip_fault(self, fault_args, window, fault_text):
        holder = self.wait_healthy()
        try:
            obs = self.observe(holder, lambda: sh(*fault_args(holder)), hold_for(window),
                               interval=FAULT_INTERVAL_S, deadline=FAULT_DEADLINE_S)
        finally:
            self.restore(holder)
        return holder, obs, fault_text % CONTAINERS[holder]

    def series_haproxy_kill(self, rep):
        holder, obs, text = self._vip_fault(
            lambda h: ("podman", "exec", CONTAINERS[h], "systemctl", "kill", "-s", "KILL", "haproxy"),
            self.windows()["haproxy_kill"], "podman exec %s systemctl kill -s KILL haproxy")
        return self.record(rep, obs, holder, text, self.figures(obs))

    def series_keepalived_stop(self, rep):
        holder, obs, text = self._vip_fault(
            lambda h: ("podman", "exec", CONTAINERS[h], "systemctl", "stop", "keepalived"),
            self.windows()["keepalived_stop"], "podman exec %s systemctl stop keepalived")
        return self.record(rep, obs, holder, text, self.figures(obs))

    def series_node_crash(self, rep):
        """Crash takeover, checked against the physical bound of the node that took over."""
        holder, obs, text = self._vip_fault(lambda h: ("podman", "kill", CONTAINERS[h]),
                                            self.windows()["node_crash"], "podman kill %s")
        figures = self.figures(obs)
        first = first_acquisition(obs.acquisitions, 0.0, exclude=holder)
        new_holder = first[1] if first else None
        if new_holder is None:
            others = [n for n in NODES if n != holder]
            new_holder = max(others, key=lambda n: self.vrrp["priorities"].get(n, 0))
        priority = self.vrrp["priorities"].get(new_holder, 200 - 10 * NODES.index(new_holder))
        bound = crash_takeover_bound(priority, self.vrrp["advert_int"])
        figures["vrrp_takeover_log"] = first[0] if first else None
        excluded = {}
        for name in ("takeover_started", "takeover_end", "vrrp_takeover_log"):
            if below_bound(figures[name], bound):
                excluded[name] = "below physical bound %.3f s" % bound
                print("  BELOW PHYSICAL BOUND (%.3f s < %.3f s): measurement bug, not a result [%s, run %d]"
                      % (figures[name], bound, name, rep), flush=True)
        return self.record(rep, obs, holder, text, figures, excluded, new_holder=new_holder,
                           bound_priority=priority, bound_s=round(bound, 4))

    def series_node_stop(self, rep):
        holder, obs, text = self._vip_fault(lambda h: ("podman", "stop", "-t", "10", CONTAINERS[h]),
                                            self.windows()["node_stop"], "podman stop -t 10 %s")
        return self.record(rep, obs, holder, text, self.figures(obs))

    def series_haproxy_reload_all(self, rep):
        holder = self.wait_healthy()

        def reload_everywhere():
            for i, node in enumerate(NODES):
                if i:
                    time.sleep(RELOAD_GAP_S)
                exec_(node, "systemctl", "reload", "haproxy")

        obs = self.observe(holder, reload_everywhere, hold_for(self.windows()["haproxy_reload_all"]),
                           interval=LOAD_INTERVAL_S, deadline=LOAD_DEADLINE_S)
        return self.record(rep, obs, None, "systemctl reload haproxy on %s, %.1f s apart"
                           % (", ".join(NODES), RELOAD_GAP_S), self.figures(obs))

    def series_haproxy_restart(self, rep):
        holder = self.wait_healthy()
        obs = self.observe(holder, lambda: exec_(holder, "systemctl", "restart", "haproxy"),
                           hold_for(self.windows()["haproxy_restart"]),
                           interval=LOAD_INTERVAL_S, deadline=LOAD_DEADLINE_S)
        return self.record(rep, obs, holder, "podman exec %s systemctl restart haproxy" % CONTAINERS[holder],
                           self.figures(obs))

    def series_config_change(self, rep):
        """site.yml with haproxy_maxconn alternating (4001, 4000, ...): HAProxy reloads on every node."""
        holder = self.wait_healthy()
        maxconn = 4001 if rep % 2 else 4000
        cmd = ["ansible-playbook", "-i", INVENTORY, os.path.join(ROOT, "playbooks", "site.yml"),
               *PROFILES[self.profile], "-e", json.dumps({"haproxy_maxconn": maxconn})]
        log = tempfile.TemporaryFile(mode="w+")
        procs = []
        try:
            obs = self.observe(
                holder, lambda: procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True)),
                hold_until(lambda: procs[0].poll() is not None, 3.0, PLAYBOOK_MAX_S),
                interval=LOAD_INTERVAL_S, deadline=LOAD_DEADLINE_S)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.terminate()
                    proc.wait(30)
        rc = procs[0].returncode if procs else None
        log.seek(0)
        output = log.read()
        log.close()
        figures = self.figures(obs)
        figures["playbook_s"] = obs.marks.get("recovered")
        if rc != 0:
            print("  WARNING: the config-change playbook failed (rc=%s)" % rc, flush=True)
        return self.record(rep, obs, None, " ".join(shlex.quote(c) for c in cmd), figures, playbook_rc=rc,
                           playbook_tail=output[-3000:] if rc != 0 else "")

    def _reboot(self, rep, node):
        """podman restart -t 10 of ``node``; the window lasts until the lab is healthy again (VIP on the top node)."""
        holder = self.wait_healthy()
        obs = self.observe(holder, lambda: sh("podman", "restart", "-t", "10", CONTAINERS[node]),
                           hold_until(lambda: self.healthy_now()[0], 2.0, REBOOT_MAX_S),
                           interval=LOAD_INTERVAL_S, deadline=LOAD_DEADLINE_S, probe_node=node)
        figures = self.figures(obs)
        entries = [t for t, n in obs.acquisitions if n == node and t >= 0]
        verdict, answered = vip_before_frontend(entries, obs.probes, obs.fault_time)
        figures.update(frontend_answered_after=answered, vip_taken_after=min(entries) if entries else None,
                       vip_before_frontend=verdict, recovered_after=obs.marks.get("recovered"))
        if verdict != "no":
            print("  %s took the VIP before its own HAProxy answered: %s" % (node, verdict), flush=True)
        return self.record(rep, obs, node, "podman restart -t 10 %s" % CONTAINERS[node], figures)

    def series_reboot_low(self, rep):
        return self._reboot(rep, self.bottom_node())

    def series_reboot_high(self, rep):
        return self._reboot(rep, self.top_node())

    def series_backend_kill(self, rep):
        holder = self.wait_healthy()
        victim = next(n for n in NODES if n != holder)
        window = self.windows()["backend_kill"]
        obs = self.observe(holder, lambda: exec_(victim, "systemctl", "kill", "-s", "KILL", "kube-apiserver"),
                           hold_for(window + 2.0, (window, "restarted",
                                                   lambda: exec_(victim, "systemctl", "start", "kube-apiserver"))),
                           interval=LOAD_INTERVAL_S, deadline=LOAD_DEADLINE_S)
        return self.record(rep, obs, victim, "podman exec %s systemctl kill -s KILL kube-apiserver"
                           % CONTAINERS[victim], self.figures(obs))

    def series_backend_freeze(self, rep):
        """SIGSTOP one apiserver: time until the holder's HAProxy marks it DOWN; after SIGCONT: UP, slowstart."""
        holder = self.wait_healthy()
        victim = next(n for n in NODES if n != holder)

        def cont():
            exec_(victim, "systemctl", "kill", "-s", "CONT", "kube-apiserver")

        try:
            obs = self.observe(holder, lambda: exec_(victim, "systemctl", "kill", "-s", "STOP", "kube-apiserver"),
                               hold_for(FREEZE_S + RECOVER_S, (FREEZE_S, "cont", cont)),
                               interval=LOAD_INTERVAL_S, deadline=LOAD_DEADLINE_S,
                               watch_s=PRE_FAULT_S + FREEZE_S + RECOVER_S + 5)
        finally:
            podman_exec(victim, "systemctl", "kill", "-s", "CONT", "kube-apiserver")
        figures = self.figures(obs)
        cont_at = obs.marks.get("cont")
        down_by = {n: first_time(s, victim, is_down, 0.0) for n, s in obs.stat_samples.items()}
        samples = obs.stat_samples.get(holder, [])
        down_at = down_by.get(holder)
        up_at = None
        if down_at is not None and cont_at is not None:
            up_at = first_time(samples, victim, is_up, max(cont_at, down_at))
        slowstart, view = (None, []) if up_at is None else slowstart_evidence(samples, victim, up_at)
        figures.update(down_after=down_at, up_after=None if up_at is None else up_at - cont_at,
                       slowstart_in_effect=slowstart)
        return self.record(rep, obs, victim, "podman exec %s systemctl kill -s STOP kube-apiserver; SIGCONT after"
                           " %.1f s" % (CONTAINERS[victim], FREEZE_S), figures,
                           down_after_by_lb=_round(down_by), weights_after_up=view,
                           stat_samples=self._victim_samples(obs, victim))

    def series_slow_readyz(self, rep):
        """One apiserver's /readyz answers after READYZ_DELAY_S for READYZ_WINDOW_S: ever DOWN? failed requests?"""
        holder = self.wait_healthy()
        victim = next(n for n in NODES if n != holder)
        latency = []
        write = "mkdir -p %s && echo %s > %s" % (os.path.dirname(READYZ_DELAY_FILE), READYZ_DELAY_S, READYZ_DELAY_FILE)

        def probe_readyz():
            rec = timed_request(ADDRESSES[victim], BACKEND_PORT, LOAD_DEADLINE_S, "/readyz")
            latency.append(rec.duration if rec.ok else None)

        try:
            obs = self.observe(holder, lambda: exec_(victim, "sh", "-c", write),
                               hold_for(READYZ_WINDOW_S, (1.0, "readyz_probe", probe_readyz)),
                               interval=LOAD_INTERVAL_S, deadline=LOAD_DEADLINE_S,
                               watch_s=PRE_FAULT_S + READYZ_WINDOW_S + 5)
        finally:
            podman_exec(victim, "rm", "-f", READYZ_DELAY_FILE)
        figures = self.figures(obs)
        window = obs.window_end - obs.fault_time
        down_by = {n: first_time(s, victim, is_down, 0.0) for n, s in obs.stat_samples.items()}
        down_by = {n: t for n, t in down_by.items() if t is not None and t <= window}
        figures.update(ever_down=bool(down_by), readyz_latency_s=latency[0] if latency else None)
        if figures["readyz_latency_s"] is not None and figures["readyz_latency_s"] < READYZ_DELAY_S * 0.8:
            print("  WARNING: /readyz of %s answered in %.3f s: is the readyz-delay injection in effect?"
                  % (victim, figures["readyz_latency_s"]), flush=True)
        return self.record(rep, obs, victim, "echo %s > %s on %s" % (READYZ_DELAY_S, READYZ_DELAY_FILE,
                                                                     CONTAINERS[victim]),
                           figures, first_down_by_lb=_round(down_by), stat_samples=self._victim_samples(obs, victim))

    @staticmethod
    def _victim_samples(obs, victim):
        """Raw admin-socket samples of the victim server per load balancer: [t, status, weight, op_state]."""
        return {n: [[round(t, 3), st.get("status"), st.get("weight"), st.get("op_state")]
                    for t, servers in samples if (st := servers.get(victim))]
                for n, samples in obs.stat_samples.items()}

    # -- driver
    def describe(self, name, run):
        if "error" in run:
            return "  %-20s #%d ERROR %s" % (name, run["repetition"], run["error"])
        parts = []
        for key in SERIES[name].show:
            value = run["figures"].get(key)
            # every float figure is a time in seconds; counts are ints, verdicts and flags str/bool
            text = "-" if value is None else ("%.3f s" % value if isinstance(value, float) else str(value))
            if key in run.get("excluded", {}):
                text += " (EXCLUDED)"
            parts.append("%s %s" % (key, text))
        return "  %-20s #%d %s" % (name, run["repetition"], ", ".join(parts))

    def save(self):
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        tmp = self.path + ".tmp"
        with open(tmp, "w") as fh:
            fh.write(dump_json(self.data) + "\n")
        os.replace(tmp, self.path)

    def run(self):
        print("\n== profile %s (%d repetitions)" % (self.profile, self.repeat), flush=True)
        ansible("playbooks/site.yml", *PROFILES[self.profile])
        self.inspect_lab()
        print("VRRP v%s, advert_int %g s, priorities %s (%s); crash takeover bound by new holder: %s"
              % (self.vrrp["version"], self.vrrp["advert_int"], self.vrrp["priorities"], self.vrrp["source"],
                 ", ".join("%s %.3f s" % kv for kv in self.data["bounds"].items())), flush=True)
        self.wait_healthy()
        try:
            for rep in range(1, self.repeat + 1):
                for name in self.series:
                    try:
                        run = getattr(self, "series_" + name)(rep)
                    except (RuntimeError, OSError, subprocess.SubprocessError, ValueError, StopIteration) as exc:
                        run = {"repetition": rep, "error": "%s: %s" % (type(exc).__name__, exc)}
                        print(self.describe(name, run), flush=True)
                        self.data["series"][name]["runs"].append(run)
                        self.restore_all()
                        continue
                    self.data["series"][name]["runs"].append(run)
                    print(self.describe(name, run), flush=True)
                    self.save()
            self.data["complete"] = True
        finally:
            for name in self.series:
                self.data["series"][name]["summary"] = _round(summarize_series(self.data["series"][name]["runs"]))
            self.data["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
            self.save()
            shown = os.path.relpath(self.path)
            print("raw samples: %s" % (self.path if shown.startswith("..") else shown), flush=True)
        return self.data


# ----------------------------------------------------------------------------- main
def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--profile", action="append", choices=list(PROFILES),
                        help="profile to run (repeatable; default: default and fast)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of every series (default 3)")
    parser.add_argument("--series", default=",".join(SERIES),
                        help="comma-separated series to run, in this order (default: all: %(default)s)")
    parser.add_argument("--results-dir", default=RESULTS_DIR, help="where failover-<profile>.json goes")
    parser.add_argument("--estimate", action="store_true", help="print the time estimate and exit (no lab)")
    parser.add_argument("profiles", nargs="*", help=argparse.SUPPRESS)  # the former form: bench_failover.py fast
    args = parser.parse_args(argv)
    unknown = [p for p in args.profiles if p not in PROFILES]
    if unknown:
        parser.error("unknown profile %s (known: %s)" % (", ".join(unknown), ", ".join(PROFILES)))
    args.profile = list(dict.fromkeys(args.profile or args.profiles or list(PROFILES)))
    args.series = [s.strip() for s in args.series.split(",") if s.strip()]
    unknown = [s for s in args.series if s not in SERIES]
    if unknown:
        parser.error("unknown series %s (known: %s)" % (", ".join(unknown), ", ".join(SERIES)))
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    estimate = estimate_s(args.profile, args.repeat, args.series)
    print("failover benchmark: profiles %s, %d repetitions, %d series; estimated time ~%.0f min"
          % (", ".join(args.profile), args.repeat, len(args.series), estimate / 60), flush=True)
    if args.estimate:
        return 0
    began = time.monotonic()
    results = {}
    image = sh(os.path.join(ROOT, "lab", "image", "build.sh"), timeout=1800).strip().splitlines()[-1]
    print("bench lab: %s, VIP %s:%d, image %s" % (", ".join(CONTAINERS.values()), VIP, PORT, image), flush=True)
    try:
        ansible("lab/create.yml", "-e", "kubeha_lab_image=%s" % image)
        ansible("lab/prepare.yml")
        for profile in args.profile:
            bench = ProfileBench(profile, args.repeat, args.series, args.results_dir)
            results[profile] = bench.data  # the table shows what a profile measured even if it was cut off
            bench.run()
    finally:
        for container in CONTAINERS.values():
            subprocess.run(["podman", "rm", "-f", "-t", "5", container], capture_output=True, check=False)
        subprocess.run(["podman", "network", "rm", VARS["kubeha_lab_network"]], capture_output=True, check=False)
        for data in results.values():
            for series in data["series"].values():
                series.setdefault("summary", _round(summarize_series(series["runs"])))
        if results:
            print("\n" + markdown_table(results), flush=True)
            print("\nTakeover (first success started): fault -> start of the first request, started after the first"
                  " failed one, that succeeded in < 1 s; (end of the first success): fault -> its end. Requests every"
                  " %g s with a %g s deadline (VIP faults) or %d/s with %g s (load, disruption)."
                  % (FAULT_INTERVAL_S, FAULT_DEADLINE_S, round(1 / LOAD_INTERVAL_S), LOAD_DEADLINE_S))
        print("elapsed: %.1f min (estimated %.0f min)" % ((time.monotonic() - began) / 60, estimate / 60), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
