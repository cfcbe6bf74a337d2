"""Settings of the failover benchmark (bench_failover.py's docstring explains the method).

The lab as benchmarks/inventory.yml describes it (nodes, containers, addresses,
VIP and ports), the profiles, the request intervals and deadlines, the windows
and bounds of every run, and the definitions of the figures kept in the raw data.
Read by every other module of the package; nothing here runs a command.
"""

from __future__ import annotations

import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INVENTORY = os.path.join(ROOT, "benchmarks", "inventory.yml")
RESULTS_DIR = os.path.join(ROOT, "benchmarks", "results")
with open(INVENTORY) as _fh:
    _INV = yaml.safe_load(_fh)
VARS = _INV["all"]["vars"]
HOSTS = _INV["all"]["children"]["kube_masters"]["hosts"]
NODES = list(HOSTS)  # inventory order
CONTAINERS = {name: h["kubeha_lab_container"] for name, h in HOSTS.items()}
ADDRESSES = {name: h["kubeha_address"] for name, h in HOSTS.items()}
VIP, PORT = VARS["kubeha_vip"], int(VARS["haproxy_frontend_port"])
BACKEND_PORT = int(VARS.get("haproxy_backend_port", 6443))
BACKEND = "kube-apiserver"  # HAProxy backend name; its servers are named after the inventory hosts
UNITS = ("etcd", "kube-apiserver", "haproxy", "keepalived")
DEFAULT_ADMIN_SOCKET = "/var/lib/haproxy/admin.sock"
READYZ_DELAY_FILE = "/run/kubeha-standin/readyz-delay"
SCHEMA = "kubeha-bench-failover/1"

PROFILES = {
    "default": [],
    # keepalived's fast profile plus HAProxy checks to match it.
    "fast": ["-e", '{"keepalived_profile": "fast", "haproxy_check_interval_ms": 200, "haproxy_check_fastinter_ms": 100,'
             ' "haproxy_check_downinter_ms": 200, "haproxy_check_timeout_ms": 300, "haproxy_connect_timeout_ms": 300}'],
}
# What the roles render when keepalived.conf cannot be read (role defaults).
PROFILE_VRRP = {"default": {"version": 2, "advert_int": 1.0}, "fast": {"version": 3, "advert_int": 0.1}}

SYN_RTO_S = 1.0  # Linux's initial SYN retransmission timeout (TCP_TIMEOUT_INIT)
FAULT_INTERVAL_S = 0.05  # VIP faults: 20 requests/s ...
FAULT_DEADLINE_S = 0.9  # ... each with a deadline below SYN_RTO_S
LOAD_INTERVAL_S = 0.02  # load and disruption series: 50 requests/s ...
LOAD_DEADLINE_S = 2.0  # ... each with a 2 s deadline
PROBE_INTERVAL_S = 0.1  # reboots: requests straight to the rebooting node's frontend
PRE_FAULT_S = 0.5  # traffic before the fault
SETTLE_S = 0.5  # a healthy lab must stay so (same holder) this long before a fault
MIN_TAIL_S = 1.0  # "every request succeeds again" needs this much traffic after it
STAT_PERIOD_S = 0.1  # admin socket polling period
READYZ_DELAY_S = 0.3
READYZ_WINDOW_S = 20.0
FREEZE_S = 4.0  # backend frozen this long ...
RECOVER_S = 5.0  # ... then watched this long after SIGCONT
SLOWSTART_VIEW_S = 4.0  # weights reported for the first seconds after UP
RELOAD_GAP_S = 0.5
REBOOT_MAX_S = 60.0
PLAYBOOK_MAX_S = 300.0
MAX_TRAFFIC_S = 400.0  # hard bound of any traffic run
SRV_ST_STARTING = 1  # HAProxy srv_op_state while a server warms up (slowstart)

# Rough wall-clock cost of one run of each series (waits and restores included), default profile.
SETUP_S = 120.0
CONVERGE_S = 60.0

DEFINITIONS = {
    "takeover_started": "fault -> start of the first request started after the first failed one that succeeded"
                        " in < 1 s (no SYN retransmit possible)",
    "takeover_end": "fault -> end of the first request started after the first failed one that succeeded",
    "all_ok_after_started": "fault -> start of the first request after the last failure that succeeded in < 1 s"
                            " (every later request succeeded, >= 1 s of traffic after it)",
    "all_ok_after_end": "fault -> end of that same request",
    "vrrp_takeover_log": "fault -> first 'Entering MASTER STATE' after the fault (keepalived's journal)",
    "failed": "requests of the run that got no HTTP 200 within their deadline",
    "total": "requests of the run",
    "slow": "requests that succeeded but took >= 1 s (may have waited through a SYN retransmit)",
    "failure_span_started": "start of the last failed minus start of the first failed request",
    "moves": "acquisitions of the VIP ('Entering MASTER STATE') by a node other than the previous holder",
    "fault_command_s": "run time of the fault command (included in every figure)",
    "down_after": "freeze -> first admin-socket sample of the holder's HAProxy showing the backend DOWN",
    "up_after": "SIGCONT -> first sample of the holder's HAProxy showing it UP again",
    "slowstart_in_effect": "STARTING state (srv_op_state 1) or a rising weight in the first seconds after UP",
    "ever_down": "the slow backend was shown DOWN in some sample of some load balancer",
    "readyz_latency_s": "one direct GET /readyz to the slow backend during the window (checks the injection)",
    "frontend_answered_after": "reboot -> start of the first successful request straight to the node's frontend",
    "vip_taken_after": "reboot -> first 'Entering MASTER STATE' of the rebooting node",
    "vip_before_frontend": "the rebooting node took the VIP before its own HAProxy answered (yes/no/undetermined)",
    "playbook_s": "run time of ansible-playbook",
}
