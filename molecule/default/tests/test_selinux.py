"""SELinux against a real policy store (Debian's reference policy plus the test-only
module tests/fixtures/selinux/kubeha_test_types.te that declares EL's names).

No SELinux kernel here: nothing is enforced, but semanage, audit2allow, checkmodule
and semodule really run and really change the store. The scenario sets
kubeha_selinux: true (as on an EL host) and the recipe's boolean.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
from kubeha_testlib import LBS, RUNNER, host  # noqa: E402


ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
AVC = os.path.join(ROOT, "tests", "fixtures", "avc")
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
SITE = os.path.join(ROOT, "playbooks", "site.yml")
POLICY = "/etc/selinux/default/policy/policy.33"
TARGET = LBS[0]
MODULE = "kubeha_test_lb"
START = "01/01/16"  # ausearch's C-locale date (MM/DD/YY), before every fixture's records


def local_ports(name):
    """(type, port) of the local port customisations."""
    out = host(name).check_output("semanage port --list --locallist")
    # "http_port_t    tcp    19000, 18080": one line per type, the ports comma-separated
    return {(setype, port.strip()) for setype, ports in re.findall(r"^(\S+)\s+tcp\s+(\S.*)$", out, re.M)
            for port in ports.split(",")}


@pytest.mark.parametrize("name", LBS)
def test_haproxy_ports_without_a_usable_type_are_labelled(name):
    variables = RUNNER.get_variables(name)
    ports = [int(variables[v]) for v in ("haproxy_frontend_port", "haproxy_backend_port", "haproxy_stats_port")]
    assert ports == [18080, 8080, 19000]
    # 18080 and 19000 were unreserved_port_t: labelled http_port_t. 8080 (the backends)
    # is the policy's http_cache_port_t, which HAProxy may use: left alone.
    assert local_ports(name) == {("http_port_t", "18080"), ("http_port_t", "19000")}
    listed = host(name).check_output("semanage port --list")
    assert re.search(r"^http_cache_port_t\s+tcp\s+.*\b8080\b", listed, re.M), listed


def test_a_port_of_another_service_is_refused_before_any_change():
    """9000 is cslistener_port_t in Debian's policy: preflight refuses to take it away."""
    name = TARGET
    proc = subprocess.run(["ansible-playbook", "-i", INVENTORY, SITE, "--tags", "haproxy_preflight", "--limit", name,
                           "-e", "haproxy_stats_port=9000"], capture_output=True, text=True, check=False)
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0, out[-2000:]
    assert "haproxy on %s: port(s) 9000 of haproxy_selinux_ports have another service's type" % name in out, out[-2000:]
    assert "cslistener_port_t" in out, out[-2000:]
    assert ("http_port_t", "9000") not in local_ports(name)


@pytest.mark.parametrize("name", LBS)
def test_the_recipes_boolean_is_on_persistently(name):
    out = host(name).check_output("semanage boolean --list --locallist")
    assert re.search(r"^haproxy_connect_any\s+\(on\s*,\s*on\)", out, re.M), out


@pytest.mark.parametrize("name", LBS)
def test_selinux_stays_as_it_was(name):
    """Never disabled, never a permissive domain."""
    assert "SELINUX=permissive" in host(name).file("/etc/selinux/config").content_string  # Debian's default, untouched
    assert host(name).check_output("semanage permissive --list --noheading") == ""


# -- selinux_audit2allow on one load balancer, in order --------------------------------------

def run_module(args, *flags):
    env = dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    proc = subprocess.run(
        ["ansible", TARGET, "-i", INVENTORY, "-m", "kubeha.control_plane.selinux_audit2allow", "-a", json.dumps(args)]
        + list(flags), capture_output=True, text=True, env=env, check=False)
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        pytest.fail("no JSON from ansible (rc=%d):\n%s\n%s" % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    return data["plays"][0]["tasks"][0]["hosts"][TARGET]


def installed_modules():
    return host(TARGET).check_output("semodule --list").split()


@pytest.fixture(scope="module")
def logs():
    """The fixtures copied to /root/avc, byte for byte (some hold the NUL bytes of a torn log), by relative path."""
    h = host(TARGET)
    paths = {}
    for dirpath, _dirnames, filenames in os.walk(AVC):
        for name in sorted(filenames):
            rel = os.path.relpath(os.path.join(dirpath, name), AVC)
            with open(os.path.join(AVC, rel), "rb") as fh:
                data = base64.b64encode(fh.read()).decode()
            path = "/root/avc/" + rel
            h.run_test("mkdir -p %s && echo %s | base64 -d > %s", os.path.dirname(path), data, path)
            paths[rel] = path
    h.run_test("semodule --remove=%s" % MODULE)  # a left-over of an interrupted run
    yield paths
    h.run_test("semodule --remove=%s" % MODULE)


def test_check_mode_installs_nothing_and_shows_the_rules(logs):
    res = run_module({"name": MODULE, "audit_log": logs["recipe-pidof.log"], "policy": POLICY, "start": START},
                     "--check", "--diff")
    assert res["changed"] is True, res
    assert res["rules"] == ["allow keepalived_t haproxy_t:file { open read };"], res
    assert MODULE not in installed_modules()


def test_installs_the_module_and_writes_the_te_for_review(logs):
    res = run_module({"name": MODULE, "audit_log": logs["recipe-pidof.log"], "policy": POLICY, "start": START,
                      "comm": ["pidof"], "te_path": "/root/%s.te" % MODULE})
    assert res["changed"] is True and res["denials"] == 2, res
    assert MODULE in installed_modules()
    assert host(TARGET).file("/root/%s.te" % MODULE).content_string == res["te"]
    extracted = host(TARGET).check_output("cd /tmp && semodule --cil --extract=%s && cat %s.cil && rm %s.cil",
                                          MODULE, MODULE, MODULE)
    assert "(allow keepalived_t haproxy_t (file (open read)))" in extracted


def test_a_second_run_changes_nothing(logs):
    res = run_module({"name": MODULE, "audit_log": logs["recipe-pidof.log"], "policy": POLICY, "start": START,
                      "comm": ["pidof"], "te_path": "/root/%s.te" % MODULE})
    assert res["changed"] is False, res
    assert res["new_rules"] == [] and res["rules"] == ["allow keepalived_t haproxy_t:file { open read };"], res


def test_a_new_denial_is_merged_with_the_installed_rules(logs):
    res = run_module({"name": MODULE, "audit_log": logs["haproxy-name-connect.log"], "policy": POLICY, "start": START},
                     "--diff")
    assert res["changed"] is True, res
    assert res["new_rules"] == ["allow haproxy_t unreserved_port_t:tcp_socket name_connect;"], res
    assert res["rules"] == ["allow haproxy_t unreserved_port_t:tcp_socket name_connect;",
                            "allow keepalived_t haproxy_t:file { open read };"], res
    assert "allow keepalived_t haproxy_t:file { open read };" in res["diff"]["before"], res["diff"]


def test_a_denial_of_an_unrelated_domain_is_left_aside_by_default(logs):
    res = run_module({"name": MODULE, "audit_log": logs["unrelated-domain.log"], "policy": POLICY, "start": START})
    assert res["changed"] is False and res["denials"] == 0 and res["ignored_denials"] == 1, res


def test_a_rule_for_an_unrelated_domain_fails_and_installs_nothing(logs):
    before = host(TARGET).check_output("semodule -lfull | grep -w %s" % MODULE)
    res = run_module({"name": MODULE, "audit_log": logs["unrelated-domain.log"], "policy": POLICY, "start": START,
                      "source_types": ["httpd_t"]})
    assert res.get("failed") is True, res
    assert "outside allowed_source_types" in res["msg"] and "allow httpd_t shadow_t:file read;" in res["msg"], res
    assert host(TARGET).check_output("semodule -lfull | grep -w %s" % MODULE) == before


def test_no_denial_found_is_no_change(logs):
    res = run_module({"name": MODULE, "audit_log": logs["recipe-pidof.log"], "policy": POLICY, "start": START,
                      "comm": ["sshd"]})
    assert res["changed"] is False and res["denials"] == 0 and "no denials of keepalived_t" in res["msg"], res


def test_absent_removes_the_module_once(logs):
    res = run_module({"name": MODULE, "state": "absent"})
    assert res["changed"] is True, res
    assert MODULE not in installed_modules()
    assert run_module({"name": MODULE, "state": "absent"})["changed"] is False
