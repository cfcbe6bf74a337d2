"""What the failover benchmark prints and writes: table cells, the raw-data JSON, the
fault series (Series, SERIES), the README's table and the summaries it is made of,
and the time estimate.
"""

from __future__ import annotations

import dataclasses
import json

from .analysis import summarize
from .settings import CONVERGE_S, SETUP_S


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
