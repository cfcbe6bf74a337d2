"""Helpers shared by the molecule scenarios' testinfra tests and the lab's tests (tests/lab).

The inventory is molecule's (MOLECULE_INVENTORY_FILE) or, for the lab, the one named by
KUBEHA_TEST_INVENTORY; a host is reached through its podman container (the inventory
variable kubeha_lab_container, else the inventory name).
"""

from __future__ import annotations

import ipaddress
import os
import re
import time

import testinfra
import testinfra.utils.ansible_runner

INVENTORY = os.environ.get("MOLECULE_INVENTORY_FILE") or os.environ["KUBEHA_TEST_INVENTORY"]
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
MASTERS = RUNNER.get_hosts("kube_masters")
LBS = RUNNER.get_hosts("kube_lbs")
NODES = RUNNER.get_hosts("kube_nodes")
VARS = RUNNER.get_variables(LBS[0])
VIP = VARS["kubeha_vip"]
# Every VIP of the scenario, canonical (keepalived_vips may spell one differently).
VIPS = [str(ipaddress.ip_address(v if isinstance(v, str) else v["address"])) for v in VARS.get("keepalived_vips", [VIP])]
PORT = str(VARS["haproxy_frontend_port"])
# The API through the VIP: https, or http for the recipe's legacy port.
SCHEME = "https" if VARS.get("haproxy_backend_tls", True) else "http"
API = "%s://%s:%s" % (SCHEME, VIP, PORT)
# curl as a real client of the API from a master: the cluster CA verifies the server
# (through the VIP too: its certificate names the VIPs), and kubeadm's
# apiserver-kubelet-client certificate authenticates (clusters may refuse anonymous
# requests, /readyz included). Plain curl for the recipe's insecure HTTP port.
API_CURL = ("curl -s --cacert /etc/kubernetes/pki/ca.crt --cert /etc/kubernetes/pki/apiserver-kubelet-client.crt "
            "--key /etc/kubernetes/pki/apiserver-kubelet-client.key" if SCHEME == "https" else "curl -s")
# The lab's own client on this machine (lab/prepare.yml): the cluster CA and a client certificate.
LAB_STATE = os.path.join(os.environ.get("KUBEHA_CACHE_DIR", "/var/cache/kubeha"), "state", VARS.get("kubeha_lab_name", "lab"))


def state_file(vip=VIP):
    return "/run/kubeha-keepalived/VI_%s.state" % re.sub(r"[^0-9A-Za-z]", "_", vip)


STATE_FILE = state_file()


_CONTAINERS = {}


def host(name):
    """testinfra host of an inventory host's container (podman backend: fast)."""
    if name not in _CONTAINERS:
        _CONTAINERS[name] = RUNNER.get_variables(name).get("kubeha_lab_container", name)
    return testinfra.get_host("podman://" + _CONTAINERS[name])


def holders(vip=VIP):
    """Load balancers that have ``vip`` configured."""
    return [n for n in LBS if " %s/" % vip in host(n).run("ip -o addr show").stdout]


def vrrp_states(vip=VIP):
    return {n: host(n).file(state_file(vip)).content_string.strip() for n in LBS}


def haproxy_servers(name):
    """{server: status} of the kube-apiserver backend, from HAProxy's runtime API on ``name``."""
    stat = host(name).check_output("echo 'show stat' | nc -U /var/lib/haproxy/admin.sock")
    rows = [r.split(",") for r in stat.splitlines() if r.startswith("kube-apiserver,")]
    return {r[1]: r[17] for r in rows if r[1] not in ("FRONTEND", "BACKEND")}


def wait_for(read, wanted, seconds=20):
    """Call ``read`` every 0.5 s until it returns ``wanted`` (or a value ``wanted`` accepts
    when it is callable) or ``seconds`` pass; return the last value read."""
    accept = wanted if callable(wanted) else (lambda value: value == wanted)
    value = None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = read()
        if accept(value):
            break
        time.sleep(0.5)
    return value
