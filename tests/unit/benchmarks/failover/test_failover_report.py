"""Unit tests of benchmarks/failover/report.py: summaries, table cells, the table, the raw-data JSON,
the time estimate."""

from __future__ import annotations

import json

from failover.report import (
    SERIES, counts_cell, dump_json, estimate_s, markdown_table, moves_failed_cell, seconds_cell, summarize_series,
)


def test_summary_leaves_out_excluded_values_but_counts_them():
    runs = [
        {"repetition": 1, "figures": {"takeover_started": 1.6, "moves": 1}, "excluded": {"takeover_started": "x"}},
        {"repetition": 2, "figures": {"takeover_started": 2.4, "moves": 1}, "excluded": {}},
        {"repetition": 3, "figures": {"takeover_started": 2.6, "moves": 2}, "excluded": {}},
        {"repetition": 4, "error": "RuntimeError: lab not healthy"},
    ]
    summary = summarize_series(runs)
    assert summary["takeover_started"] == {"median": 2.5, "min": 2.4, "max": 2.6, "n": 2, "missing": 0,
                                           "excluded": 1}
    assert summary["moves"]["median"] == 1 and summary["moves"]["n"] == 3


def test_cells():
    assert seconds_cell({"median": 2.4, "min": 2.3, "max": 2.6, "n": 3, "missing": 0}) == \
        "2.40 s (2.30\u20132.60, n=3)"
    assert seconds_cell({"median": 2.4, "min": 2.4, "max": 2.4, "n": 1, "missing": 0, "excluded": 2}) == \
        "2.40 s (2.40\u20132.40, n=1), 2 excluded below bound"
    assert seconds_cell({"median": None, "min": None, "max": None, "n": 0, "missing": 3}).startswith(
        "not recovered")
    assert seconds_cell({"median": None, "min": None, "max": None, "n": 0, "missing": 0, "excluded": 3}) == \
        "all 3 below the physical bound: measurement bug (n=0)"
    same = {"median": 0, "min": 0, "max": 0, "n": 3}
    assert moves_failed_cell(same, same) == "0/0 (n=3)"
    moves = {"median": 1, "min": 1, "max": 2, "n": 3}
    failed = {"median": 12, "min": 9, "max": 15, "n": 3}
    assert moves_failed_cell(moves, failed) == "1/12 (max 2/15, n=3)"
    assert counts_cell({"counts": {"no": 3}, "n": 3}, "no", "never", "yes") == "never (n=3)"
    assert counts_cell({"counts": {"no": 2, "yes": 1}, "n": 3}, "no", "never", "yes") == "yes in 1 of 3"


def test_markdown_table_rows():
    runs = [{"repetition": i, "figures": {"takeover_started": v, "moves": 1, "failed": f}, "excluded": {}}
            for i, (v, f) in enumerate([(2.4, 40), (2.3, 38), (2.6, 41)], 1)]
    results = {"default": {"series": {"node_crash": {"summary": summarize_series(runs)}}}}
    table = markdown_table(results).splitlines()
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
    text = dump_json(data)
    assert json.loads(text) == data
    lines = [line.strip() for line in text.splitlines()]
    assert '[-0.5, -0.49, true, null],' in lines
    assert '[0.1, 1.0, false, "connect:timeout"]' in lines


def test_time_estimate_of_the_full_run_fits_the_budget():
    full = estimate_s(["default", "fast"], 3, list(SERIES))
    assert 15 * 60 < full <= 26 * 60
    assert estimate_s(["fast"], 1, ["node_crash"]) < full
