"""Unit tests of benchmarks/bench_failover.py, the entry point (its options, what importing it does, running it
as ``scripts/bench failover`` does); its parts are tested in failover/ (one test file per module of
benchmarks/failover/). No podman, no lab.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MODULE_PATH = os.path.join(ROOT, "benchmarks", "bench_failover.py")


def _load(name="bench_failover_under_test"):
    spec = importlib.util.spec_from_file_location(name, MODULE_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


bf = _load()

PACKAGE_MODULES = ("settings", "request", "analysis", "report", "labctl", "profile_bench")


def test_cli_defaults_and_choices():
    args = bf.parse_args([])
    assert (args.profile, args.repeat, args.series) == (["default", "fast"], 3, list(bf.SERIES))
    args = bf.parse_args(["--profile", "fast", "--repeat", "1", "--series", "node_crash,slow_readyz"])
    assert (args.profile, args.repeat, args.series) == (["fast"], 1, ["node_crash", "slow_readyz"])
    assert bf.parse_args(["fast"]).profile == ["fast"]  # the former positional form
    for bad in (["--series", "nope"], ["--repeat", "0"], ["slow"]):
        with pytest.raises(SystemExit):
            bf.parse_args(bad)


def test_import_does_no_lab_work(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the benchmark ran a command at import time: %r" % (args,))

    before = sys.modules["failover.settings"]
    for name in [n for n in sys.modules if n == "failover" or n.startswith("failover.")]:
        monkeypatch.delitem(sys.modules, name)  # imported afresh below; put back at teardown
    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)
    module = _load("bench_failover_import_check")
    for name in PACKAGE_MODULES:
        importlib.import_module("failover." + name)
    settings = sys.modules["failover.settings"]
    assert settings is not before  # the package's modules were imported afresh too
    assert module.VIP == "10.213.53.100" and settings.NODES == ["lb1", "lb2", "lb3"]
    assert settings.FAULT_DEADLINE_S < settings.SYN_RTO_S


def test_runs_as_a_script_from_the_repository_root():
    """As scripts/bench runs it: ``python benchmarks/bench_failover.py ARGS`` from the checkout (--estimate: no lab)."""
    proc = subprocess.run([sys.executable, os.path.join("benchmarks", "bench_failover.py"), "--estimate",
                           "--profile", "fast", "--repeat", "1", "--series", "node_crash"],
                          cwd=ROOT, capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "failover benchmark: profiles fast, 1 repetitions, 1 series; estimated time ~3 min\n"
