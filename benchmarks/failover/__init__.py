"""The failover benchmark's parts, one job each; benchmarks/bench_failover.py is the entry
point and its docstring explains the method and the figures.

- settings: the lab from benchmarks/inventory.yml, profiles, intervals, deadlines, windows
- request: one request with one deadline (timed_request), Traffic
- analysis: the figures of a run (pure functions)
- report: table cells, raw-data JSON, the series and the table, the time estimate
- labctl: podman and playbook helpers, StatWatcher, Observation
- profile_bench: ProfileBench, one profile's series and raw data
"""
