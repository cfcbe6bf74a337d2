"""The control plane after site.yml, in the recipe's layout (molecule/default):
sysconfig files, Kubernetes 1.5 stand-ins, master-count reconciler, 18080 -> 8080."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
from kubeha_testlib import API, LBS, MASTERS, NODES, RUNNER, haproxy_servers, host, wait_for  # noqa: E402

ADDRESSES = sorted(RUNNER.get_variables(m)["kubeha_address"] for m in MASTERS)
ETCD = ",".join("http://%s:2379" % RUNNER.get_variables(m)["kubeha_address"] for m in MASTERS)
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
SITE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "playbooks", "site.yml")


def env_file(name, path):
    """NAME -> value of a sysconfig file on ``name``."""
    text = host(name).file(path).content_string
    return dict(re.findall(r'^([A-Z_]+)="(.*)"$', text, re.M))


def standin_flags(name, component="apiserver"):
    return json.loads(host(name).file("/run/kubeha-standin/%s.json" % component).content_string)


def apiserver_count(name, *args):
    """Run the apiserver_count module on ``name`` through Ansible; return its result."""
    proc = subprocess.run(
        ["ansible", "-i", INVENTORY, name, "-m", "kubeha.control_plane.apiserver_count", "-a", " ".join(args)],
        capture_output=True, text=True, check=False,
        env=dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json"))
    assert proc.stdout, proc.stderr[-2000:]
    return json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"][name]


@pytest.mark.parametrize("name", MASTERS)
def test_apiserver_sysconfig_has_every_etcd_member_and_the_count(name):
    values = env_file(name, "/etc/kubernetes/apiserver")
    assert values["KUBE_ETCD_SERVERS"] == "--etcd-servers=" + ETCD
    assert "--apiserver-count=3" in values["KUBE_API_ARGS"].split()
    assert values["KUBE_API_ADDRESS"] == "--insecure-bind-address=0.0.0.0"
    # Kubernetes 1.5 has no --endpoint-reconciler-type: master-count is its only one.
    assert "endpoint-reconciler-type" not in values["KUBE_API_ARGS"]
    # Lines the role does not manage are kept as the package shipped them.
    assert values["KUBE_SERVICE_ADDRESSES"] == "--service-cluster-ip-range=10.254.0.0/16"
    assert values["KUBE_ADMISSION_CONTROL"].startswith("--admission-control=NamespaceLifecycle")
    assert "KUBEHA LAB STAND-IN defaults" in host(name).file("/etc/kubernetes/apiserver").content_string


@pytest.mark.parametrize("name", MASTERS)
def test_running_apiserver_uses_the_configuration(name):
    flags = standin_flags(name)["flags"]
    assert flags["etcd-servers"] == ETCD and flags["apiserver-count"] == 3
    assert flags["endpoint-reconciler-type"] == "master-count"
    result = apiserver_count(name, "expected=3", "api_url=http://127.0.0.1:8080")
    assert result["problems"] == [], result
    assert result["apiserver_count"] == 3 and result["reconciler"] == "master-count"
    assert result["restart_pending"] is False and result["changed"] is False
    assert result["version"].startswith("v1.5.2")
    assert sorted(result["endpoints"]) == ADDRESSES


def test_service_account_key_is_shared_and_readable_by_the_kube_user_only():
    """The packages run kube-apiserver and kube-controller-manager as User=kube: the key is
    root:kube 0640 (the recipe made it root 0600, which they cannot read)."""
    sums = set()
    for name in MASTERS:
        f = host(name).file("/etc/kubernetes/serviceaccount.key")
        assert f.exists and (f.user, f.group, f.mode) == ("root", "kube", 0o640), (name, f.user, f.group, oct(f.mode))
        sums.add(f.sha256sum)
    assert len(sums) == 1, "the masters have different service-account keys"


@pytest.mark.parametrize("name", MASTERS)
@pytest.mark.parametrize("program, user", [("kube-apiserver", "kube"), ("kube-controller-manager", "kube"),
                                           ("kube-scheduler", "kube")])
def test_components_run_as_the_packages_user(name, program, user):
    pid = host(name).check_output("pgrep -o -f '^/usr/bin/python3 /usr/bin/%s '" % program)
    assert host(name).check_output("ps -o user= -p %s" % pid).strip() == user
    assert host(name).service(program).is_running


@pytest.mark.parametrize("component, file, var", [("scheduler", "scheduler", "KUBE_SCHEDULER_ARGS"),
                                                  ("controller-manager", "controller-manager", "KUBE_CONTROLLER_MANAGER_ARGS")])
def test_leader_election_flags_and_exactly_one_leader(component, file, var):
    for name in MASTERS:
        args = env_file(name, "/etc/kubernetes/" + file)[var].split()
        assert "--leader-elect=true" in args and "--leader-elect-lease-duration=15s" in args
        assert "--master=" + API in args
        assert host(name).service("kube-" + component).is_enabled
    roles = wait_for(lambda: sorted(standin_flags(n, component).get("role", "") for n in MASTERS),
                     ["leader", "standby", "standby"], 30)
    assert roles == ["leader", "standby", "standby"]
    if component == "controller-manager":
        assert "--service-account-private-key-file=/etc/kubernetes/serviceaccount.key" in args


@pytest.mark.parametrize("name", NODES + MASTERS)
def test_clients_use_the_vip(name):
    assert env_file(name, "/etc/kubernetes/config")["KUBE_MASTER"] == "--master=" + API
    if name in NODES:
        assert env_file(name, "/etc/kubernetes/kubelet")["KUBELET_API_SERVER"] == "--api-servers=" + API
        for component in ("kubelet", "proxy"):
            state = wait_for(lambda c=component: standin_flags(name, c), lambda s: s.get("api_ok") is True, 20)
            assert state["api_server"] == API and state["api_ok"] is True, state


def test_scheduler_leader_lost_another_takes_over():
    leader = [n for n in MASTERS if standin_flags(n, "scheduler").get("role") == "leader"][0]
    host(leader).run_test("systemctl stop kube-scheduler")
    try:
        others = [n for n in MASTERS if n != leader]
        roles = wait_for(lambda: sorted(standin_flags(n, "scheduler").get("role", "") for n in others),
                         ["leader", "standby"], 40)
        assert roles == ["leader", "standby"], roles
    finally:
        host(leader).run_test("systemctl start kube-scheduler")


DROP_IN = "/etc/systemd/system/kube-apiserver.service.d/kubeha-test.conf"


@pytest.fixture(scope="module")
def repaired():
    """Two masters out of line at once, one tagged run of site.yml puts both right.

    COUNT_VICTIM: the recipe's classic mistake, --apiserver-count=1 in its sysconfig file
    (restarted with it). UNIT_VICTIM: a drop-in that adds a flag (daemon-reload, no
    restart): apiserver_count reads the unit as systemd does (ExecStart, EnvironmentFile,
    drop-ins), not a fixed list of variables, so the running apiserver differs from its
    configuration. What the module says of each before the fix is kept for the tests; the
    fix is what an operator runs: site.yml, limited to the apiserver role's tags (one run for
    both, so that the roll is seen to restart exactly these two masters, each in its turn)."""
    count_victim, unit_victim = MASTERS[1], MASTERS[2]
    h, u = host(count_victim), host(unit_victim)
    try:
        h.run_test("sed -i 's/--apiserver-count=3/--apiserver-count=1/' /etc/kubernetes/apiserver")
        h.run_test("systemctl restart kube-apiserver")
        u.run_test("mkdir -p /etc/systemd/system/kube-apiserver.service.d")
        u.run_test("printf '[Service]\\nExecStart=\\nExecStart=/usr/bin/kube-apiserver $KUBE_LOGTOSTDERR $KUBE_LOG_LEVEL $KUBE_ETCD_SERVERS "
                   "$KUBE_API_ADDRESS $KUBE_API_PORT $KUBELET_PORT $KUBE_ALLOW_PRIV $KUBE_SERVICE_ADDRESSES $KUBE_ADMISSION_CONTROL "
                   "$KUBE_API_ARGS --profiling=false\\n' > %s" % DROP_IN)
        u.run_test("systemctl daemon-reload")
        before = {
            "count": apiserver_count(count_victim, "expected=3"),
            "count_failed": apiserver_count(count_victim, "expected=3", "fail_on_mismatch=true"),
            "reset_log": wait_for(lambda: h.run("journalctl -u kube-apiserver --no-pager -n 50").stdout,
                                  lambda text: "Resetting endpoints for master service" in text, 20),
            "unit": apiserver_count(unit_victim, "expected=3"),
        }
        proc = subprocess.run(["ansible-playbook", "-i", INVENTORY, SITE, "--tags", "apiserver"],
                              capture_output=True, text=True, check=False)
        yield {"count_victim": count_victim, "unit_victim": unit_victim, "before": before, "proc": proc}
    finally:
        # Both masters as site.yml left them before the fault, whatever failed on the way (each
        # step on its own; the modules after this one read every apiserver UP and the endpoints
        # at once). A roll that stopped half-way leaves a master drained: it is enabled again.
        h.run("grep -q -- '--apiserver-count=1' /etc/kubernetes/apiserver"
              " && sed -i 's/--apiserver-count=1/--apiserver-count=3/' /etc/kubernetes/apiserver && systemctl restart kube-apiserver")
        u.run("rm -f %s; systemctl daemon-reload && systemctl restart kube-apiserver" % DROP_IN)
        for lb in LBS:
            for victim in (count_victim, unit_victim):
                host(lb).run("rm -f /run/kubeha-apiserver/drained/kube-apiserver/%s; printf 'enable server kube-apiserver/%s\\n"
                             "enable health kube-apiserver/%s\\n' | nc -U /var/lib/haproxy/admin.sock" % (victim, victim, victim))
        states = {(lb, v): wait_for(lambda lb=lb, v=v: haproxy_servers(lb).get(v), "UP", 30)
                  for lb in LBS for v in (count_victim, unit_victim)}
        assert set(states.values()) == {"UP"}, "not every apiserver is UP again after the test: %s" % states


def test_wrong_apiserver_count_is_reported(repaired):
    """The module names the recipe's classic mistake, fails on it when asked, and the
    apiserver logs the endpoint resets it causes."""
    before = repaired["before"]
    result = before["count"]
    assert result["apiserver_count"] == 1, result
    assert any("--apiserver-count=1" in p and "3 apiservers" in p and "--apiserver-count=3" in p
               for p in result["problems"]), result["problems"]
    failed = before["count_failed"]
    assert failed.get("failed") is True and "--apiserver-count=3" in failed["msg"]
    assert "Resetting endpoints for master service" in before["reset_log"]


def test_a_flag_a_unit_drop_in_adds_is_seen(repaired):
    result = repaired["before"]["unit"]
    assert result["restart_pending"] is True, result
    assert any("--profiling" in p for p in result["problems"]), result["problems"]


def test_site_restarts_exactly_the_masters_out_of_line_each_drained_first(repaired):
    """One run of site.yml --tags apiserver restarts the two masters, each for its own
    reason, and no other; each is drained on every load balancer with its health checks off
    while it restarts, then put back with its checks on: HAProxy judges it again (UP, not
    "no check")."""
    proc, count_victim, unit_victim = repaired["proc"], repaired["count_victim"], repaired["unit_victim"]
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert '"%s: configuration changed"' % count_victim in proc.stdout, proc.stdout[-5000:]
    assert '"%s: running with other flags than configured"' % unit_victim in proc.stdout, proc.stdout[-5000:]
    assert proc.stdout.count("Roll | why") == 2, "only the two masters out of line are restarted"
    flat = " ".join(proc.stdout.split())
    for victim in (count_victim, unit_victim):
        for task in ("drain it on every load balancer (no new connections; open ones stay)",
                     "stop its health checks there until it is back (no DOWN, no cut sessions)",
                     "put it back into every load balancer once its health check passes"):
            assert re.search(r"TASK \[kubeha\.control_plane\.apiserver : Roll \| %s: %s\](?:(?!TASK \[).)*? changed: \[%s"
                             % (re.escape(task), victim, victim), flat), (task, victim, proc.stdout[-5000:])
        for lb in LBS:
            assert wait_for(lambda lb=lb, v=victim: haproxy_servers(lb).get(v), "UP", 20) == "UP", (lb, victim, haproxy_servers(lb))


def test_after_the_fix_the_apiservers_run_as_configured(repaired):
    count_victim, unit_victim = repaired["count_victim"], repaired["unit_victim"]
    assert repaired["proc"].returncode == 0, repaired["proc"].stdout[-5000:]
    assert apiserver_count(count_victim, "expected=3")["problems"] == []
    assert standin_flags(count_victim)["flags"]["apiserver-count"] == 3
    assert standin_flags(unit_victim)["flags"]["profiling"] is False
    assert apiserver_count(unit_victim, "expected=3")["restart_pending"] is False
