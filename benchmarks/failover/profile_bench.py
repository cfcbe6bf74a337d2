"""One profile of the failover benchmark (ProfileBench): converge it, inspect the lab, run
every fault series ``repeat`` times with traffic through the VIP, keep the raw data.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import shlex
import subprocess
import tempfile
import time

from .analysis import (
    all_ok_after_end, all_ok_after_started, below_bound, count_moves, crash_takeover_bound, failure_span_started,
    first_acquisition, first_time, is_down, is_up, parse_admin_output, request_counts, slowstart_evidence, takeover_end,
    takeover_started, vip_before_frontend,
)
from .labctl import (
    NodeStatus, Observation, StatWatcher, ansible, exec_, hold_for, hold_until, parallel, parse_keepalived_conf,
    podman_exec, read_acquisitions, sh,
)
from .report import SERIES, _round, dump_json, request_rows, summarize_series
from .request import Traffic, timed_request
from .settings import (
    ADDRESSES, BACKEND_PORT, CONTAINERS, DEFAULT_ADMIN_SOCKET, DEFINITIONS, FAULT_DEADLINE_S, FAULT_INTERVAL_S,
    FREEZE_S, INVENTORY, LOAD_DEADLINE_S, LOAD_INTERVAL_S, NODES, PLAYBOOK_MAX_S, PORT, PRE_FAULT_S, PROBE_INTERVAL_S,
    PROFILE_VRRP, PROFILES, READYZ_DELAY_FILE, READYZ_DELAY_S, READYZ_WINDOW_S, REBOOT_MAX_S, RECOVER_S,
    RELOAD_GAP_S, ROOT, SCHEMA, SETTLE_S, STAT_PERIOD_S, SYN_RTO_S, UNITS, VIP,
)


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
        """The figures every run has (see bench_failover.py's docstring)."""
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
