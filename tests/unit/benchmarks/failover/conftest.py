"""The failover benchmark's package (benchmarks/failover/) importable as ``failover`` by its unit tests,
as benchmarks/bench_failover.py and bench_roll.py import it."""

from __future__ import annotations

import os
import sys

BENCHMARKS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "benchmarks"))
if BENCHMARKS not in sys.path:
    sys.path.insert(0, BENCHMARKS)
