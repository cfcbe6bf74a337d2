"""Failover benchmark of the load-balancer layer (HAProxy + keepalived): prints figures, never fails on time.

Brings up its own three-node lab (benchmarks/inventory.yml: own network and
subnet; lab/create.yml, lab/prepare.yml; torn down at the end), converges
playbooks/site.yml with the "default" and then the "fast" profile, and for each
profile repeats every fault series ``--repeat`` times (default 3), with traffic
through the VIP (only to the benchmark's own containers, bounded in count and
time). Every figure is reported as median, min, max and count (n); the raw
samples go to benchmarks/results/failover-<profile>.json.

    scripts/bench failover [--profile default|fast] [--repeat N] [--series a,b] [--estimate]

This file parses the arguments and drives the run; its parts, one job each, are the
modules of the package benchmarks/failover/ (listed in its __init__.py).

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
import os
import subprocess
import sys
import time

# The failover package beside this file: run as ``python benchmarks/bench_failover.py`` or loaded by path.
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
from failover.labctl import ansible, sh  # noqa: E402
from failover.profile_bench import ProfileBench  # noqa: E402
from failover.report import SERIES, _round, estimate_s, markdown_table, summarize_series  # noqa: E402
from failover.settings import (  # noqa: E402
    CONTAINERS, FAULT_DEADLINE_S, FAULT_INTERVAL_S, LOAD_DEADLINE_S, LOAD_INTERVAL_S, PORT, PROFILES, RESULTS_DIR,
    ROOT, VARS, VIP,
)


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
