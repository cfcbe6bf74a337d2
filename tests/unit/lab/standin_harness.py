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
