"""Bad input fails before any host changes, with a message naming host, variable and value;
--check --diff on the converged hosts reports no change and prints no secret.

These runs exercise the inputs, not the hosts' state, so they run in the first
verify only (the second verify, after the failovers, checks the state again).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
from kubeha_testlib import LBS, VIP, VIPS, host  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
SITE = os.path.join(ROOT, "playbooks", "site.yml")
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
MARKER = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp"), "negative-tests-done")
CONFIGS = ["/etc/haproxy/haproxy.cfg", "/etc/keepalived/keepalived.conf"]

if os.path.exists(MARKER):
    pytest.skip("input checks already ran in this scenario's first verify", allow_module_level=True)


def playbook(*args, extra_inventory=None, tmp_path=None):
    cmd = ["ansible-playbook", "-i", INVENTORY]
    if extra_inventory:
        path = tmp_path / "extra.yml"
        path.write_text(extra_inventory)
        cmd += ["-i", str(path)]
    proc = subprocess.run(cmd + [SITE] + list(args), capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def checksums():
    return {(n, f): host(n).file(f).sha256sum for n in LBS for f in CONFIGS}


@pytest.fixture(scope="module")
def unchanged():
    before = checksums()
    yield before
    assert checksums() == before, "a failed run changed a configuration file"
    with open(MARKER, "w") as fh:
        fh.write("done\n")


LB1, LB2 = LBS[0], LBS[1]
LB1_ADDR = "10.213.52.11"

V6 = VIPS[1]
# Cases that need the real hosts (their facts, or several hosts at once). The
# inputs that a controller alone can judge are in tests/functional/test_preflight_inputs.py.
CASES = [
    # (id, extra vars (json), extra inventory, expected message regex)
    ("auth-pass-too-long", '{"keepalived_auth_pass": "somecomplexsecret"}', None,
     r"keepalived_auth_pass has 17 characters \(at most 8"),
    ("vip-outside-subnet", '{"keepalived_vips": ["192.0.2.10"]}', None,
     r"VIP 192\.0\.2\.10 is not inside any subnet of interface eth0 \(10\.213\.52\.0/24\)"),
    ("vip-is-host-address", '{"keepalived_vips": ["%s"]}' % LB1_ADDR, None,
     r"VIP 10\.213\.52\.11 is the address of a load balancer"),
    ("interface-missing", '{"keepalived_interface": "eth9"}', None,
     r"interface \"eth9\" for VIP %s \(keepalived_interface\) does not exist" % re.escape(VIP)),
    ("router-ids-collide", '{"keepalived_vips": [{"address": "10.213.52.100", "virtual_router_id": 9},'
     ' {"address": "10.213.52.101", "virtual_router_id": 9}]}', None,
     r"VIPs 10\.213\.52\.100 \(set in keepalived_vips\) and 10\.213\.52\.101 \(set in keepalived_vips\) both use virtual_router_id 9"),
    ("router-id-differs", None, "all:\n  hosts:\n    %s:\n      keepalived_virtual_router_id: 77\n" % LB2,
     r"must share the same VIPs, virtual_router_id and VRRP version"),
    # (molecule keeps kubeha_address and the IPv6 source addresses in host_vars
    # files, which an extra inventory cannot override: extra vars do)
    ("ipv6-vip-without-ipv6-peers", '{"keepalived_unicast_src_ip6": ""}', None,
     r"VIP %s is IPv6, but host '%s' has no IPv6 address for VRRP unicast: its address 10\.213\.52\.11 \(kubeha_address\) is IPv4"
     % (re.escape(V6), LB1)),
    ("nat-source-address", None, "all:\n  hosts:\n    %s:\n      keepalived_unicast_src_ip: 10.213.52.99\n" % LB2,
     r"keepalived on %s: the VRRP source address for VIP %s is 10\.213\.52\.99 \(from keepalived_unicast_src_ip\), "
     r"but interface eth0 has 10\.213\.52\.12" % (LB2, re.escape(VIP))),
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
    ("backend-address-invalid", '{"kubeha_address": "10.213.52.300"}', None,
     r"host '%s' has an invalid address '10\.213\.52\.300' in kubeha_address" % LB1),
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
            args += ["--tags", "haproxy_preflight,keepalived_preflight"]
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
    assert "PLAY [HAProxy in front of every apiserver]" not in out, out[-3000:]
    assert "somecomplexsecret" not in out.replace('"keepalived_auth_pass": "somecomplexsecret"', "")


def test_check_diff_reports_no_change(unchanged):
    rc, out = playbook("--check", "--diff")
    assert rc == 0, out[-4000:]
    recap = re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", out, re.M)
    assert sorted(name for name, changed in recap) == sorted(LBS), out[-2000:]
    assert all(changed == "0" for name, changed in recap), recap


def test_check_diff_never_prints_a_secret(unchanged):
    """Both templates really render the secrets (check mode reports them changed), and no secret is printed."""
    auth, stats = "Xy7Secr9", 'St4 ts#"pw\\'
    # Only the two roles that take the secrets (their preflights included): the rest of
    # site.yml never sees them, and test_check_diff_reports_no_change runs all of it.
    rc, out = playbook("--check", "--diff", "--tags", "haproxy,keepalived",
                       "-e", json.dumps({"keepalived_auth_pass": auth, "haproxy_stats_password": stats}))
    assert rc == 0, out[-4000:]
    for task in ("haproxy : Render haproxy.cfg", "keepalived : Render keepalived.conf"):
        section = out.split("TASK [kubeha.control_plane.%s" % task, 1)[1].split("TASK [", 1)[0]
        changed = re.findall(r"^changed: \[(\S+)\]", section, re.M)
        assert sorted(changed) == sorted(LBS), "the secret-bearing template did not render: %s" % section[-1500:]
    for secret in (auth, stats, "Secr9", "ts#"):
        assert secret not in out, [line for line in out.splitlines() if secret in line]
