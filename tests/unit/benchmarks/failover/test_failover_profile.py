"""Unit tests of benchmarks/failover/profile_bench.py with the lab faked: a crash run checked against
the physical bound, and the driver writing the raw samples and summaries."""

from __future__ import annotations

import json

import pytest

from failover import profile_bench
from failover.profile_bench import ProfileBench
from failover.report import markdown_table, summarize_series
from failover.request import RequestRecord
from failover_harness import crash_like, observation, record


@pytest.mark.parametrize("shift, flagged", [(-1.0, True), (0.5, False)])
def test_crash_run_below_the_bound_is_flagged_printed_and_excluded(tmp_path, capsys, shift, flagged):
    bench = ProfileBench("default", 1, ["node_crash"], str(tmp_path))
    # takeover 2.30 s (+ shift) and keepalived's MASTER entry on lb2 at 2.28 s (+ shift)
    records = [RequestRecord(r.start + (shift if r.start > 101 else 0), r.end + (shift if r.start > 101 else 0),
                             r.ok, r.error) for r in crash_like()]
    obs = observation(records, [(2.28 + shift, "lb2")])
    bench._vip_fault = lambda *args: ("lb1", obs, "podman kill kubeha-bench-lb1")  # pylint: disable=protected-access
    run = bench.series_node_crash(1)
    assert run["new_holder"] == "lb2" and run["bound_priority"] == 190
    assert run["bound_s"] == pytest.approx(2.2578)
    assert run["figures"]["takeover_started"] == pytest.approx(2.30 + shift)
    assert run["figures"]["vrrp_takeover_log"] == pytest.approx(2.28 + shift)
    assert run["figures"]["moves"] == 1
    out = capsys.readouterr().out
    if flagged:
        assert set(run["excluded"]) == {"takeover_started", "takeover_end", "vrrp_takeover_log"}
        assert "BELOW PHYSICAL BOUND (1.300 s < 2.258 s): measurement bug, not a result" in out
        assert summarize_series([run])["takeover_started"]["n"] == 0
    else:
        assert run["excluded"] == {}
        assert "BELOW PHYSICAL BOUND" not in out
        assert summarize_series([run])["takeover_started"]["median"] == pytest.approx(2.8)
    assert run["requests"][0] == [-1.0, -0.99, True, None]


def test_profile_run_writes_raw_samples_and_summaries(tmp_path, monkeypatch, capsys):
    """The driver with the lab faked: every run and its requests land in failover-<profile>.json."""
    monkeypatch.setattr(profile_bench, "ansible", lambda *args: None)  # the name ProfileBench.run calls
    bench = ProfileBench("fast", 2, ["node_crash", "haproxy_reload_all"], str(tmp_path))
    monkeypatch.setattr(bench, "inspect_lab", lambda: bench.data.update(vrrp=bench.vrrp, bounds={}))
    monkeypatch.setattr(bench, "wait_healthy", lambda timeout=120: "lb1")
    crash = observation(crash_like(), [(0.3, "lb2")])  # fast profile: 2.3 s is well above the 0.23 s bound
    monkeypatch.setattr(bench, "_vip_fault", lambda *args: ("lb1", crash, "podman kill kubeha-bench-lb1"))
    calls = []

    def reload_run(rep):
        calls.append(rep)
        if rep == 2:
            raise RuntimeError("lab not healthy within 120 s")
        obs = observation([record(100 + k * 0.02) for k in range(50)], [])
        return bench.record(rep, obs, None, "reload", bench.figures(obs))

    monkeypatch.setattr(bench, "series_haproxy_reload_all", reload_run)
    monkeypatch.setattr(bench, "restore_all", lambda: "lb1")
    bench.run()
    data = json.loads((tmp_path / "failover-fast.json").read_text())
    assert data["schema"] == "kubeha-bench-failover/1" and data["complete"] is True
    assert data["vrrp"]["advert_int"] == 0.1 and data["vrrp"]["priorities"] == {"lb1": 200, "lb2": 190, "lb3": 180}
    crash_runs = data["series"]["node_crash"]["runs"]
    assert [r["repetition"] for r in crash_runs] == [1, 2]
    assert len(crash_runs[0]["requests"]) == 140 and crash_runs[0]["excluded"] == {}
    assert data["series"]["node_crash"]["summary"]["takeover_started"]["median"] == pytest.approx(2.3)
    reload_runs = data["series"]["haproxy_reload_all"]["runs"]
    assert calls == [1, 2] and "error" in reload_runs[1]
    assert data["series"]["haproxy_reload_all"]["summary"]["failed"]["n"] == 1
    out = capsys.readouterr().out
    assert "raw samples:" in out and "ERROR RuntimeError: lab not healthy" in out
    table = markdown_table({"fast": data})
    assert "| `systemctl reload haproxy` on every node: moves/failed | not run | 0/0 (n=1) | 0/0 |" in table
