"""Verify the whole site on the lab topology (molecule/default)."""

from __future__ import annotations

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
from kubeha_testlib import API, LBS, MASTERS, NODES, RUNNER, VIP, haproxy_servers, holders, host, vrrp_states  # noqa: E402


@pytest.mark.parametrize("name", MASTERS)
@pytest.mark.parametrize("service", ["etcd", "kube-apiserver", "kube-scheduler", "kube-controller-manager", "haproxy", "keepalived"])
def test_master_services_run(name, service):
    svc = host(name).service(service)
    assert svc.is_running, "%s is not running on %s" % (service, name)
    assert svc.is_enabled, "%s is not enabled on %s" % (service, name)


def test_exactly_one_vip_holder():
    held = holders()
    assert len(held) == 1, "VIP %s held by %s" % (VIP, held)
    states = vrrp_states()
    assert sorted(states.values()) == ["BACKUP"] * (len(LBS) - 1) + ["MASTER"], states
    assert states[held[0]] == "MASTER", states


@pytest.mark.parametrize("name", NODES)
def test_api_answers_through_vip_from_worker(name):
    out = host(name).check_output("curl -sk --max-time 5 %s/version", API)
    assert json.loads(out)["major"] == "1"
    assert host(name).check_output("curl -sk --max-time 5 %s/healthz", API) == "ok"


@pytest.mark.parametrize("name", LBS)
def test_every_apiserver_is_up_in_haproxy(name):
    assert haproxy_servers(name) == {m: "UP" for m in MASTERS}


def test_etcd_cluster_healthy():
    out = host(MASTERS[0]).run("ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379 endpoint health --cluster")
    assert out.rc == 0, out.stderr
    assert (out.stdout + out.stderr).count("is healthy") == len(MASTERS)


def test_endpoints_list_every_apiserver():
    out = host(NODES[0]).check_output("curl -sk --max-time 5 %s/api/v1/namespaces/default/endpoints/kubernetes", API)
    ips = sorted(a["ip"] for a in json.loads(out)["subsets"][0]["addresses"])
    assert ips == sorted(RUNNER.get_variables(m)["kubeha_address"] for m in MASTERS)
