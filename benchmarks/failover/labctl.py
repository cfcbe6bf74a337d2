"""Lab helpers of the failover benchmark (podman): commands in the nodes' containers,
playbook runs, keepalived's journal and configuration, the admin-socket watcher
(StatWatcher) and one observed run (Observation) with its windows (hold_for, hold_until).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import math
import os
import re
import shlex
import subprocess
import threading
import time

from .analysis import parse_admin_output, parse_master_entries
from .settings import BACKEND, CONTAINERS, INVENTORY, NODES, ROOT, STAT_PERIOD_S


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
