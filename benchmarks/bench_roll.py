"""Rolling-change benchmark: site.yml changes one apiserver flag on every master
while 50 requests/s go through the VIP; prints the failed requests (goal 0) and
the time the roll took. Never fails on time: it prints figures.

Runs in its own lab (benchmarks/inventory.yml: three masters that are also the
load balancers, its own network; created, prepared and converged first, torn
down at the end). Each repetition flips ``--profiling`` through
apiserver_extra_args, so every master is restarted, one at a time, drained on
every load balancer first.

  scripts/bench roll [--repeat N] [--layout sysconfig|static_pod]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The failover benchmark's request timing, traffic and lab helpers (benchmarks/failover/).
from failover.analysis import summarize  # noqa: E402
from failover.labctl import ansible, sh  # noqa: E402
from failover.report import seconds_cell  # noqa: E402
from failover.request import Traffic  # noqa: E402
from failover.settings import CONTAINERS, INVENTORY, PORT, ROOT, VARS, VIP  # noqa: E402

RATE = 50  # requests per second
DEADLINE_S = 5.0  # a request that has no complete HTTP 200 within this is failed
RESULTS = os.path.join(ROOT, "benchmarks", "results", "roll-%s.json")  # per layout


# The recipe's layout, as lab/inventory/recipe.yml has it: Kubernetes 1.5 sysconfig files,
# the insecure port 8080 behind HAProxy's plain-HTTP 18080.
RECIPE = {"apiserver_layout": "sysconfig", "kubeha_lab_kubernetes_version": "v1.5.2", "apiserver_insecure_bind_address": "0.0.0.0",
          "apiserver_tls_health": False, "haproxy_frontend_port": 18080, "haproxy_backend_port": 8080, "haproxy_backend_tls": False,
          "haproxy_backend_plain_http_acknowledged": True}


def layout_vars(layout):
    """Extra variables of a layout, as ``-e`` arguments: the benchmark inventory is a kubeadm
    cluster (static_pod); the sysconfig layout is the recipe's."""
    return ["-e", json.dumps(RECIPE)] if layout == "sysconfig" else []


def frontend(layout):
    """(port, TLS) of the API through the VIP."""
    return (RECIPE["haproxy_frontend_port"], False) if layout == "sysconfig" else (PORT, True)


def playbook(layout, *extra):
    """Run site.yml; (seconds, stdout)."""
    began = time.monotonic()
    out = sh("ansible-playbook", "-i", INVENTORY, os.path.join(ROOT, "playbooks", "site.yml"),
             *layout_vars(layout), *extra, timeout=3600)
    return time.monotonic() - began, out


def rolled_masters(out):
    """Masters the apiserver role restarted (its "Roll | why" lines)."""
    return re.findall(r'"msg": "([^":]+): [^"]*configuration changed', out)


def failure_bursts(failed, wall_offset, gap=1.0):
    """Failed requests grouped into bursts (a gap of more than ``gap`` s starts a new one):
    wall-clock start and end (to line up with the playbook log's task times) and count."""
    bursts = []
    for record in sorted(failed, key=lambda r: r.start):
        if bursts and record.start - bursts[-1]["_last"] <= gap:
            bursts[-1].update(_last=record.start, end=record.end, count=bursts[-1]["count"] + 1)
        else:
            bursts.append({"_last": record.start, "start": record.start, "end": record.end, "count": 1})
    return [{"start": time.strftime("%H:%M:%S", time.localtime(b["start"] + wall_offset))
             + ("%.2f" % ((b["start"] + wall_offset) % 1))[1:],
             "seconds": round(b["end"] - b["start"], 2), "count": b["count"]} for b in bursts]


def one_roll(layout, value, log_path=None):
    extra = json.dumps({"apiserver_extra_args": {"profiling": value}})
    wall_offset = time.time() - time.monotonic()
    port, tls = frontend(layout)
    traffic = Traffic(VIP, port, 1.0 / RATE, DEADLINE_S, max_s=3000, tls=tls).start()
    try:
        seconds, out = playbook(layout, "-e", extra)
    finally:
        records = traffic.stop()
    if log_path:  # with the task times (profile_tasks) to line up with the bursts
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        with open(log_path, "w") as fh:
            fh.write(out)
    failed = [r for r in records if not r.ok]
    return {"value": value, "playbook_s": round(seconds, 1), "rolled": rolled_masters(out),
            "requests": len(records), "failed": len(failed),
            "errors": sorted({r.error or str(r.status) for r in failed}),
            "bursts": failure_bursts(failed, wall_offset)}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--layout", choices=["sysconfig", "static_pod"], default="static_pod")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    began = time.monotonic()
    image = sh(os.path.join(ROOT, "lab", "image", "build.sh"), timeout=1800).strip().splitlines()[-1]
    layout = layout_vars(args.layout)
    runs = []
    try:
        ansible("lab/create.yml", "-e", "kubeha_lab_image=%s" % image, *layout)
        ansible("lab/prepare.yml", *layout)
        baseline = playbook(args.layout, "-e", json.dumps({"apiserver_extra_args": {"profiling": "true"}}))[0]
        print("roll benchmark: %s layout, %d requests/s through %s:%d, %d repetitions (baseline converge %.0f s)"
              % (args.layout, RATE, VIP, frontend(args.layout)[0], args.repeat, baseline), flush=True)
        os.environ["ANSIBLE_CALLBACKS_ENABLED"] = "ansible.posix.profile_tasks"
        for i in range(args.repeat):
            run = one_roll(args.layout, "false" if i % 2 == 0 else "true",
                           log_path=os.path.join(os.path.dirname(RESULTS), "roll-%s-run-%d.log" % (args.layout, i + 1)))
            runs.append(run)
            print("  run %d: --profiling=%s rolled %s in a %.1f s site.yml run; %d of %d requests failed %s"
                  % (i + 1, run["value"], ", ".join(run["rolled"]) or "nothing", run["playbook_s"],
                     run["failed"], run["requests"], run["errors"] or ""), flush=True)
            for burst in run["bursts"]:
                print("    failures from %s for %.2f s: %d" % (burst["start"], burst["seconds"], burst["count"]), flush=True)
    finally:
        for container in CONTAINERS.values():
            subprocess.run(["podman", "rm", "-f", "-t", "5", container], capture_output=True, check=False)
        subprocess.run(["podman", "network", "rm", VARS["kubeha_lab_network"]], capture_output=True, check=False)
    if runs:
        summary = {"layout": args.layout, "rate": RATE, "deadline_s": DEADLINE_S, "runs": runs,
                   "failed": summarize([r["failed"] for r in runs]),
                   "playbook_s": summarize([r["playbook_s"] for r in runs])}
        os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
        with open(RESULTS % args.layout, "w") as fh:
            json.dump(summary, fh, indent=1)
        print("\n| layout | requests/s | failed requests (median, min-max) | site.yml run with the roll, s (median, min-max) |")
        print("| --- | --- | --- | --- |")
        failed = summary["failed"]
        print("| %s | %d | %d (%d-%d, n=%d) of ~%d | %s |"
              % (args.layout, RATE, failed["median"], failed["min"], failed["max"], failed["n"],
                 statistics.median(r["requests"] for r in runs), seconds_cell(summary["playbook_s"])))
    print("elapsed: %.1f min" % ((time.monotonic() - began) / 60), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
