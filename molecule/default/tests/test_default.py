"""Verify the whole site on the lab topology (molecule/default)."""

from __future__ import annotations

import json
import os

import pytest
import testinfra
import testinfra.utils.ansible_runner

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
VARS = RUNNER.get_variables(RUNNER.get_hosts("kube_masters")[0])
VIP = VARS["kubeha_vip"]
PORT = VARS["haproxy_frontend_port"]
MASTERS = RUNNER.get_hosts("kube_masters")
LBS = RUNNER.get_hosts("kube_lbs")
NODES = RUNNER.get_hosts("kube_nodes")


def host(name):
    return testinfra.get_host("podman://" + name)


@pytest.mark.parametrize("name", MASTERS)
@pytest.mark.parametrize("service", ["etcd", "kube-apiserver", "haproxy", "keepalived"])
def test_master_services_run(name, service):
    svc = host(name).service(service)
    assert svc.is_running, "%s is not running on %s" % (service, name)
    assert svc.is_enabled, "%s is not enabled on %s" % (service, name)


def test_exactly_one_vip_holder():
    holders = [n for n in LBS if host(n).run("ip -o addr show").stdout.count(" %s/" % VIP) == 1]
    assert len(holders) == 1, "VIP %s held by %s" % (VIP, holders)
    states = {n: host(n).file("/run/kubeha-keepalived/VI_%s.state" % VIP.replace(".", "_")).content_string.strip()
              for n in LBS}
    assert sorted(states.values()) == ["BACKUP", "BACKUP", "MASTER"], states
    assert states[holders[0]] == "MASTER", states


@pytest.mark.parametrize("name", NODES)
def test_api_answers_through_vip_from_worker(name):
    out = host(name).check_output("curl -sk --max-time 5 https://%s:%s/version", VIP, PORT)
    assert json.loads(out)["major"] == "1"
    assert host(name).check_output("curl -sk --max-time 5 https://%s:%s/readyz", VIP, PORT) == "ok"


def test_every_apiserver_is_up_in_haproxy():
    for name in LBS:
        stat = host(name).check_output("echo 'show stat' | nc -U /var/lib/haproxy/admin.sock")
        rows = [r.split(",") for r in stat.splitlines() if r.startswith("kube-apiserver,")]
        servers = {r[1]: r[17] for r in rows if r[1] not in ("FRONTEND", "BACKEND")}
        assert servers == {m: "UP" for m in MASTERS}, (name, servers)


def test_etcd_cluster_healthy():
    out = host(MASTERS[0]).run("ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379 endpoint health --cluster")
    assert out.rc == 0, out.stderr
    assert out.stdout.count("is healthy") + out.stderr.count("is healthy") == len(MASTERS)


def test_endpoints_list_every_apiserver():
    out = host(NODES[0]).check_output(
        "curl -sk --max-time 5 https://%s:%s/api/v1/namespaces/default/endpoints/kubernetes", VIP, PORT
    )
    ips = sorted(a["ip"] for a in json.loads(out)["subsets"][0]["addresses"])
    expected = sorted(RUNNER.get_variables(m)["kubeha_address"] for m in MASTERS)
    assert ips == expected
