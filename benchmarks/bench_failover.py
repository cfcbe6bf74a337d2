"""Failover benchmark of the load-balancer layer: prints figures, never fails on time.

Brings up its own three-node lab (benchmarks/inventory.yml, own network and
subnet), converges playbooks/site.yml with the default profile and then with
the fast one, and measures through the VIP:

- VIP takeover (fault -> first good answer through the VIP) after HAProxy
  death (SIGKILL), a graceful keepalived stop and a node crash (podman kill);
- the time until *every* request through the VIP succeeds again after a node
  crash and after a graceful node stop (podman stop);
- requests lost through the VIP under load (50 requests/s) when one backend
  apiserver is killed or frozen (SIGSTOP).

A request counts as failed when it gets no 200 within 1 s (fault runs) or
2 s (load runs); times are taken at the start of requests, sent every 50 ms.

Traffic goes only to the benchmark's own containers, bounded in count and
time. Run: scripts/bench failover  (about 10 minutes; tears the lab down).
"""

from __future__ import annotations

import http.client
import os
import ssl
import subprocess
import sys
import threading
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INVENTORY = os.path.join(ROOT, "benchmarks", "inventory.yml")
with open(INVENTORY) as _fh:
    _INV = yaml.safe_load(_fh)
VARS = _INV["all"]["vars"]
HOSTS = _INV["all"]["children"]["kube_masters"]["hosts"]
CONTAINERS = {name: h["kubeha_lab_container"] for name, h in HOSTS.items()}
VIP, PORT = VARS["kubeha_vip"], int(VARS["haproxy_frontend_port"])
STATE = "/run/kubeha-keepalived/VI_%s.state" % VIP.replace(".", "_")

PROFILES = {
    "default": [],
    # keepalived's fast profile plus HAProxy checks to match it.
    "fast": ["-e", '{"keepalived_profile": "fast", "haproxy_check_interval_ms": 200, "haproxy_check_fastinter_ms": 100,'
             ' "haproxy_check_downinter_ms": 200, "haproxy_check_timeout_ms": 300, "haproxy_connect_timeout_ms": 300}'],
}
GOALS = {
    ("default", "haproxy death"): 1.0, ("fast", "haproxy death"): 1.0,
    ("default", "node crash"): 4.0, ("fast", "node crash"): 0.5,
    ("default", "all ok after node crash"): 4.0, ("fast", "all ok after node crash"): 1.0,
    ("default", "all ok after node stop"): 1.5, ("fast", "all ok after node stop"): 1.5,
}
_CTX = ssl.create_default_context()
_CTX.check_hostname = False
_CTX.verify_mode = ssl.CERT_NONE  # the lab apiservers' self-signed certificates


def sh(*cmd, check=True):
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError("%s failed (rc=%d): %s%s" % (" ".join(cmd), proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:]))
    return proc.stdout


def ansible(playbook, *extra):
    sh("ansible-playbook", "-i", INVENTORY, os.path.join(ROOT, playbook), *extra)


def request(timeout):
    try:
        conn = http.client.HTTPSConnection(VIP, PORT, timeout=timeout, context=_CTX)
        conn.request("GET", "/version")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


class Poller:
    """Sends one request every ``interval`` s (each in its own thread) and records (start, ok)."""

    def __init__(self, interval, timeout):
        self.interval, self.timeout = interval, timeout
        self.results, self._stop = [], threading.Event()
        self._lock = threading.Lock()

    def _one(self, start):
        ok = request(self.timeout)
        with self._lock:
            self.results.append((start, ok))

    def _run(self):
        while not self._stop.is_set():
            threading.Thread(target=self._one, args=(time.monotonic(),), daemon=True).start()
            time.sleep(self.interval)

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        time.sleep(self.timeout + 0.2)  # let requests in flight finish
        self.results.sort()


def holders():
    out = []
    for name, container in CONTAINERS.items():
        addrs = subprocess.run(["podman", "exec", container, "ip", "-o", "addr", "show"],
                               capture_output=True, text=True, check=False).stdout
        if " %s/" % VIP in addrs:
            out.append(name)
    return out


def backends_up(on):
    out = subprocess.run(["podman", "exec", "-i", CONTAINERS[on], "nc", "-U", "/var/lib/haproxy/admin.sock"],
                         input="show stat\n", capture_output=True, text=True, check=False).stdout
    rows = [r.split(",") for r in out.splitlines() if r.startswith("kube-apiserver,")]
    return all(r[17] == "UP" for r in rows if r[1] not in ("FRONTEND", "BACKEND")) and len(rows) > 2


def wait_healthy(timeout=90):
    """Every node's services active, exactly one holder, every backend up everywhere."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        active = all(
            set(subprocess.run(["podman", "exec", c, "systemctl", "is-active", "etcd", "kube-apiserver", "haproxy",
                                "keepalived"], capture_output=True, text=True, check=False).stdout.split()) == {"active"}
            for c in CONTAINERS.values()
        )
        if active and len(holders()) == 1 and all(backends_up(n) for n in CONTAINERS) and request(2):
            time.sleep(1)
            return holders()[0]
        time.sleep(0.5)
    raise RuntimeError("lab did not become healthy within %d s (holders: %s)" % (timeout, holders()))


def restore(victim):
    container = CONTAINERS[victim]
    state = sh("podman", "inspect", "-f", "{{.State.Running}}", container).strip()
    if state != "true":
        sh("podman", "start", container)
    for unit in ("haproxy", "keepalived", "kube-apiserver"):
        subprocess.run(["podman", "exec", container, "systemctl", "start", unit], capture_output=True, check=False)
    return wait_healthy()


def takeover(results, t0):
    """Fault -> first good answer after the first failure (0 when nothing failed)."""
    after = [(t, ok) for t, ok in results if t >= t0]
    first_fail = next((t for t, ok in after if not ok), None)
    if first_fail is None:
        return 0.0
    first_ok = next((t for t, ok in after if ok and t > first_fail), None)
    return None if first_ok is None else first_ok - t0


def all_ok_after(results, t0):
    """Fault -> start of the first request after which every request succeeded."""
    after = [(t, ok) for t, ok in results if t >= t0]
    last_fail = max((t for t, ok in after if not ok), default=None)
    if last_fail is None:
        return 0.0
    nxt = next((t for t, ok in after if t > last_fail), None)
    return None if nxt is None else nxt - t0


def fault_run(fault, measure, window=12.0, interval=0.05, timeout=1.0):
    holder = wait_healthy()
    with Poller(interval, timeout) as poller:
        time.sleep(1.0)
        t0 = time.monotonic()
        fault(holder)
        time.sleep(window)
    restore(holder)
    return measure(poller.results, t0)


def load_run(fault, undo, window=12.0):
    holder = wait_healthy()
    victim = next(n for n in CONTAINERS if n != holder)
    with Poller(0.02, 2.0) as poller:  # 50 requests/s
        time.sleep(2.0)
        fault(victim)
        time.sleep(window - 4.0)
        undo(victim)
        time.sleep(2.0)
    wait_healthy()
    failed = [t for t, ok in poller.results if not ok]
    span = (max(failed) - min(failed)) if failed else 0.0
    return len(failed), len(poller.results), span


def exec_(name, *cmd):
    sh("podman", "exec", CONTAINERS[name], *cmd)


def fmt(value, goal=None):
    if value is None:
        return "no answer within the window"
    text = "%.2f s" % value
    if goal is not None:
        text += "  (goal <= %.1f s: %s)" % (goal, "met" if value <= goal else "MISSED")
    return text


def bench_profile(profile):
    print("\n== profile %s" % profile, flush=True)
    ansible("playbooks/site.yml", *PROFILES[profile])
    rows = [
        ("haproxy death", lambda h: exec_(h, "systemctl", "kill", "-s", "KILL", "haproxy"), takeover),
        ("keepalived stop", lambda h: exec_(h, "systemctl", "stop", "keepalived"), takeover),
        ("node crash", lambda h: sh("podman", "kill", CONTAINERS[h]), takeover),
        ("all ok after node crash", lambda h: sh("podman", "kill", CONTAINERS[h]), all_ok_after),
        ("all ok after node stop", lambda h: sh("podman", "stop", "-t", "10", CONTAINERS[h]), all_ok_after),
    ]
    for label, fault, measure in rows:
        value = fault_run(fault, measure)
        print("%-28s %s" % (label, fmt(value, GOALS.get((profile, label)))), flush=True)
    failed, total, span = load_run(lambda v: exec_(v, "systemctl", "kill", "-s", "KILL", "kube-apiserver"),
                                   lambda v: exec_(v, "systemctl", "start", "kube-apiserver"))
    verdict = "met" if failed == 0 else "MISSED"
    print("%-28s %d of %d requests failed (goal 0: %s)" % ("backend kill under load", failed, total, verdict), flush=True)
    failed, total, span = load_run(lambda v: exec_(v, "systemctl", "kill", "-s", "STOP", "kube-apiserver"),
                                   lambda v: exec_(v, "systemctl", "kill", "-s", "CONT", "kube-apiserver"))
    print("%-28s %d of %d requests failed, all within %.2f s (goal <= 2 s: %s)"
          % ("backend freeze under load", failed, total, span, "met" if span <= 2.0 else "MISSED"), flush=True)


def main():
    image = sh(os.path.join(ROOT, "lab", "image", "build.sh")).strip().splitlines()[-1]
    print("bench lab: %s, VIP %s:%d, image %s" % (", ".join(CONTAINERS.values()), VIP, PORT, image), flush=True)
    try:
        ansible("lab/create.yml", "-e", "kubeha_lab_image=%s" % image)
        ansible("lab/prepare.yml")
        for profile in sys.argv[1:] or list(PROFILES):
            bench_profile(profile)
    finally:
        for container in CONTAINERS.values():
            subprocess.run(["podman", "rm", "-f", "-t", "5", container], capture_output=True, check=False)
        subprocess.run(["podman", "network", "rm", VARS["kubeha_lab_network"]], capture_output=True, check=False)


if __name__ == "__main__":
    main()
