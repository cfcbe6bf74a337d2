"""Bad input fails before any host changes, with a message naming host, variable and value;
--check --diff with secrets renders them and prints none.

The inputs that a controller alone can judge are in tests/functional/test_preflight_inputs.py;
these need the lab's hosts (their facts, or several hosts at once).
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import json
import re

import pytest

from .lablib import LAB_VARS, playbook

from kubeha_testlib import LBS, RUNNER, VIP, VIPS, host  # noqa: E402  (lablib puts it on sys.path)

pytestmark = [pytest.mark.lab, pytest.mark.usefixtures("lab_ready")]
CONFIGS = ["/etc/haproxy/haproxy.cfg", "/etc/keepalived/keepalived.conf"]


def checksums():
    return {(n, f): host(n).file(f).sha256sum for n in LBS for f in CONFIGS}


@pytest.fixture(scope="module")
def unchanged():
    before = checksums()
    yield before
    assert checksums() == before, "a failed run changed a configuration file"


LB1, LB2 = LBS[0], LBS[1]
LB1_ADDR = RUNNER.get_variables(LB1)["kubeha_address"]
LB2_ADDR = RUNNER.get_variables(LB2)["kubeha_address"]
SUBNET = ipaddress.ip_network(LAB_VARS["kubeha_lab_subnet"])
# Addresses of the lab's subnet that belong to no host.
SPARE1, SPARE2 = str(SUBNET[199]), str(SUBNET[99])
V6 = VIPS[1]
E = re.escape
COLLIDING_IDS = json.dumps({"keepalived_vips": [{"address": VIP, "virtual_router_id": 9}, {"address": SPARE1, "virtual_router_id": 9}]})
# Cases that need the real hosts (their facts, or several hosts at once). The
# inputs that a controller alone can judge are in tests/functional/test_preflight_inputs.py.
CASES = [
    # (id, extra vars (json), extra inventory, expected message regex)
    ("auth-pass-too-long", '{"keepalived_auth_pass": "somecomplexsecret"}', None,
     r"keepalived_auth_pass has 17 characters \(at most 8"),
    ("vip-outside-subnet", '{"keepalived_vips": ["192.0.2.10"]}', None,
     r"VIP 192\.0\.2\.10 is not inside any subnet of interface eth0 \(%s\)" % E(str(SUBNET))),
    ("vip-is-host-address", '{"keepalived_vips": ["%s"]}' % LB1_ADDR, None,
     r"VIP %s is the address of a load balancer" % E(LB1_ADDR)),
    ("interface-missing", '{"keepalived_interface": "eth9"}', None,
     r"interface \"eth9\" for VIP %s \(keepalived_interface\) does not exist" % E(VIP)),
    ("router-ids-collide", COLLIDING_IDS, None,
     r"VIPs %s \(set in keepalived_vips\) and %s \(set in keepalived_vips\) both use virtual_router_id 9" % (E(VIP), E(SPARE1))),
    ("router-id-differs", None, "all:\n  hosts:\n    %s:\n      keepalived_virtual_router_id: 77\n" % LB2,
     r"must share the same VIPs, virtual_router_id and VRRP version"),
    # (extra vars override every host's value at once)
    ("ipv6-vip-without-ipv6-peers", '{"keepalived_unicast_src_ip6": ""}', None,
     r"VIP %s is IPv6, but host '%s' has no IPv6 address for VRRP unicast: its address %s \(kubeha_address\) is IPv4"
     % (E(V6), LB1, E(LB1_ADDR))),
    ("nat-source-address", None, "all:\n  hosts:\n    %s:\n      keepalived_unicast_src_ip: %s\n" % (LB2, SPARE2),
     r"keepalived on %s: the VRRP source address for VIP %s is %s \(from keepalived_unicast_src_ip\), "
     r"but interface eth0 has %s" % (LB2, E(VIP), E(SPARE2), E(LB2_ADDR))),
    # (the apiserver's advertised address stays valid, so keepalived's check is reached)
    ("dns-name-that-does-not-resolve", '{"kubeha_address": "{{ inventory_hostname }}.kubeha.invalid",'
     ' "apiserver_advertise_address": "{{ ansible_host }}"}', None,
     r"host '%s' has no IPv4 address for VRRP unicast: its name %s\.kubeha\.invalid \(kubeha_address\) does not resolve" % (LB1, LB1)),
    ("frontend-not-on-ipv6", '{"haproxy_frontend_bind_addresses": ["*"]}', None,
     r"haproxy on \S+: the VIPs are IPv4/IPv6 but haproxy_frontend_bind_addresses=\['\*'\] listens only on IPv4"),
    ("plain-http-not-acknowledged", '{"haproxy_backend_tls": false, "haproxy_backend_port": 8080}', None,
     r"haproxy_backend_tls=false publishes the apiservers' legacy insecure port 8080 on the VIP.*haproxy_backend_plain_http_acknowledged=true"),
    ("check-ca-file-missing", '{"haproxy_check_ca_file": "/etc/kubernetes/no-such-ca.pem"}', None,
     r"haproxy_check_ca_file=/etc/kubernetes/no-such-ca\.pem does not exist or is not a file"),
    ("priorities-not-unique", None, "all:\n  hosts:\n    %s:\n      keepalived_priority: 200\n" % LB2,
     r"have unique priorities"),
    ("frontend-equals-apiserver-port", '{"haproxy_frontend_port": 6443}', None,
     r"haproxy on \S+: haproxy_frontend_port=6443 is the port of the apiserver on this same host"),
    ("backend-address-invalid", '{"kubeha_address": "10.213.50.300"}', None,
     r"host '%s' has an invalid address '10\.213\.50\.300' in kubeha_address" % LB1),
]


FULL_RUN_CASE = "auth-pass-too-long"


@pytest.fixture(scope="module")
def bad_runs(unchanged, tmp_path_factory):
    """Run every bad-input case once, a few at a time (each is a full preflight over SSH)."""
    # Directories are made here, not in the threads: tmp_path_factory is not thread-safe
    # (concurrent first calls race to create the base directory).
    dirs = {case[0]: tmp_path_factory.mktemp(case[0]) for case in CASES}

    def one(case):
        name, extra_vars, extra_inventory, _expected = case
        args = ["-e", extra_vars] if extra_vars else []
        if name != FULL_RUN_CASE:
            # These are load-balancer inputs: the two roles' preflights judge them. One
            # case runs the whole site.yml, so its preflight play is exercised end to end.
            # (the load balancers only: the worker node has nothing to judge here)
            args += ["--tags", "haproxy_preflight,keepalived_preflight", "--limit", "kube_lbs"]
        return name, playbook(*args, extra_inventory=extra_inventory, tmp_path=dirs[name])
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(one, CASES))


@pytest.mark.parametrize("name, expected", [(c[0], c[3]) for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_fails_before_any_change(bad_runs, name, expected):
    rc, out = bad_runs[name]
    assert rc != 0, out[-3000:]
    flat = " ".join(out.split())
    assert re.search(expected, flat), "expected /%s/ in:\n%s" % (expected, out[-4000:])
    # Nothing past the preflight play ran.
    assert "PLAY [The etcd ports" not in out and "PLAY [HAProxy in front of every apiserver]" not in out, out[-3000:]
    assert "somecomplexsecret" not in out.replace('"keepalived_auth_pass": "somecomplexsecret"', "")


def test_check_diff_never_prints_a_secret(unchanged):
    """Both templates really render the secrets (check mode reports them changed), and no secret is printed."""
    auth, stats = "Xy7Secr9", 'St4 ts#"pw\\'
    # Only the two configurations that take the secrets: the rest of site.yml never sees them.
    rc, out = playbook("--check", "--diff", "--tags", "haproxy_config,keepalived_config",
                       "-e", json.dumps({"keepalived_auth_pass": auth, "haproxy_stats_password": stats}))
    assert rc == 0, out[-4000:]
    for task in ("haproxy : Render haproxy.cfg", "keepalived : Render keepalived.conf"):
        section = out.split("TASK [kubeha.control_plane.%s" % task, 1)[1].split("TASK [", 1)[0]
        changed = re.findall(r"^changed: \[(\S+)\]", section, re.M)
        assert sorted(changed) == sorted(LBS), "the secret-bearing template did not render: %s" % section[-1500:]
    for secret in (auth, stats, "Secr9", "ts#"):
        assert secret not in out, [line for line in out.splitlines() if secret in line]
