"""Helpers shared by the stand-in unit tests (tests/unit/lab)."""

from __future__ import annotations

import time


def until(predicate, timeout=3.0):
    """True once ``predicate()`` is, polling every 20 ms; False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


class _Clock:
    """The time module, but with its own ``sleep``."""

    def __init__(self, sleep):
        self.sleep = sleep

    def __getattr__(self, name):
        return getattr(time, name)


def patch_sleep(monkeypatch, module, sleep):
    """``module``'s ``time.sleep`` becomes ``sleep``, for that module only: patching the time
    module itself would reach every other thread of the test run (the stand-ins' servers,
    the molecule scenarios that run beside the suite, tests/molecule/conftest.py)."""
    monkeypatch.setattr(module, "time", _Clock(sleep))
