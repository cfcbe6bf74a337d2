"""The "kubernetes" Endpoints object: the master-count and lease reconcilers of
endpoints.py as pure functions, then several ApiServer instances reconciling one
FakeEtcd (the apiserver registrations are etcd keys with leases that expire)."""

from __future__ import annotations

import json
import time

import pytest

from kubeha_standin import apiserver, endpoints, flags
from standin_harness import until as _until  # noqa: E402

V130 = (1, 30, 0)
PORTS = [{"name": "https", "port": 6443, "protocol": "TCP"}]
IPS = ["10.0.0.11", "10.0.0.12", "10.0.0.13"]
KEY = "/registry/services/endpoints/default/kubernetes"


def _ips(obj):
    return [a["ip"] for a in obj["subsets"][0]["addresses"]]


def _rounds(count, servers, rounds, stored=None):
    """Let each server reconcile in turn; the stored object and the messages after each pass."""
    history = []
    for _round in range(rounds):
        for ip in servers:
            new, message = endpoints.master_count_reconcile(stored, ip, count, PORTS)
            if new is not None:
                stored = new
            history.append((ip, _ips(stored), message))
    return stored, history


# ---------------------------------------------------------------- pure functions
def test_master_count_creates_the_object_without_a_warning():
    new, message = endpoints.master_count_reconcile(None, "10.0.0.11", 1, PORTS)
    assert _ips(new) == ["10.0.0.11"] and new["subsets"][0]["ports"] == PORTS and message is None


def test_master_count_one_with_three_apiservers_keeps_flipping():
    _stored, history = _rounds(1, IPS, 4)
    later = history[3:]
    assert [h[1] for h in later] == [[ip] for ip, _l, _m in later], "each apiserver resets the list to itself"
    assert all(m == 'Resetting endpoints for master service "kubernetes" to [%s]' % ip for ip, _l, m in later)


def test_master_count_three_converges_to_all_three():
    stored, history = _rounds(3, IPS, 3)
    assert _ips(stored) == IPS
    assert [m for _ip, _l, m in history[len(IPS):]] == [None] * (len(history) - len(IPS))


def test_master_count_keeps_a_dead_apiserver_listed():
    stored, _history = _rounds(3, IPS, 2)
    stored, history = _rounds(3, IPS[:2], 3, stored)  # 10.0.0.13 died
    assert _ips(stored) == IPS and all(m is None for _ip, _l, m in history)


def test_master_count_removes_the_address_after_its_own():
    stored = endpoints.endpoints_object(["10.0.0.11", "10.0.0.12", "10.0.0.13"], PORTS)
    new, message = endpoints.master_count_reconcile(stored, "10.0.0.14", 3, PORTS)
    assert _ips(new) == ["10.0.0.12", "10.0.0.13", "10.0.0.14"] and message  # wrapped around: .11 removed
    new, _message = endpoints.master_count_reconcile(stored, "10.0.0.12", 2, PORTS)
    assert _ips(new) == ["10.0.0.11", "10.0.0.12"]


@pytest.mark.parametrize("subsets", [[], [{"addresses": [{"ip": "10.0.0.12"}], "ports": PORTS}] * 2])
def test_master_count_resets_wrong_subsets(subsets):
    stored = {"kind": "Endpoints", "subsets": subsets}
    new, message = endpoints.master_count_reconcile(stored, "10.0.0.11", 3, PORTS)
    assert _ips(new) == ["10.0.0.11"] and message == 'Resetting endpoints for master service "kubernetes" to [10.0.0.11]'


def test_master_count_fixes_ports():
    stored = endpoints.endpoints_object(["10.0.0.11"], [{"name": "https", "port": 443, "protocol": "TCP"}])
    new, message = endpoints.master_count_reconcile(stored, "10.0.0.11", 1, PORTS)
    assert new["subsets"][0]["ports"] == PORTS and _ips(new) == ["10.0.0.11"] and message


def test_lease_reconcile():
    new, message = endpoints.lease_reconcile(None, IPS[::-1], PORTS)
    assert _ips(new) == IPS and message is None
    assert endpoints.lease_reconcile(new, IPS, PORTS) == (None, None)
    new, message = endpoints.lease_reconcile(new, IPS[:2], PORTS)
    assert _ips(new) == IPS[:2] and message == 'Resetting endpoints for master service "kubernetes" to [10.0.0.11 10.0.0.12]'
    assert endpoints.lease_reconcile(new, [], PORTS) == (None, None), "no live apiserver: the object is left alone"


# ---------------------------------------------------------------- apiservers sharing one etcd
@pytest.fixture
def apiservers(pki_files, fake_etcd):
    """make(count, kind) -> three ApiServers (10.0.0.11-13) on one FakeEtcd, each registered
    under /registry/masterleases/ with a 15 s lease, as register_loop does."""

    def make(count, kind="master-count", ips=None):
        ips = ips or IPS
        servers = []
        for ip in ips:
            opts = flags.parse_flags("apiserver", [
                "--etcd-servers=https://127.0.0.1:2379", "--advertise-address=" + ip,
                "--endpoint-reconciler-type=" + kind, "--apiserver-count=%d" % count,
                "--tls-cert-file=" + pki_files.apiserver_crt, "--tls-private-key-file=" + pki_files.apiserver_key], V130)
            api = apiserver.ApiServer(opts, V130)
            api.etcd = fake_etcd
            api.lease = fake_etcd.grant(15)
            fake_etcd.put("/registry/masterleases/" + ip, ip, api.lease)
            servers.append(api)
        return servers

    return make


def test_apiservers_with_master_count_one_fight_over_the_stored_object(apiservers, fake_etcd, capsys):
    servers = apiservers(1)
    seen = []
    for _attempt in range(3):
        for api in servers:
            api.reconcile()
            seen.append(_ips(api.endpoints()))
    assert seen[3:] == [[ip] for ip in IPS] * 2
    assert capsys.readouterr().err.count('Resetting endpoints for master service "kubernetes"') == 8
    assert json.loads(fake_etcd.get(KEY))["metadata"] == {"name": "kubernetes", "namespace": "default"}


def test_apiservers_with_master_count_three_agree_and_retry_lost_writes(apiservers, fake_etcd):
    servers = apiservers(3)
    for api in servers:
        fake_etcd.lost_races = 1
        api.reconcile()
    assert _ips(servers[0].endpoints()) == IPS


def test_endpoints_served_per_reconciler_type(apiservers):
    lease = apiservers(1, "lease")
    assert _ips(lease[0].endpoints()) == IPS  # the live registrations
    none = apiservers(1, "none", ips=["10.0.0.21"])
    none[0].reconcile()
    assert none[0].endpoints()["subsets"] == []  # nothing stored
    lease[0].reconcile()  # the lease reconciler stores its list
    assert _ips(none[0].endpoints()) == sorted(IPS + ["10.0.0.21"])


def test_an_apiserver_whose_lease_expired_drops_out(apiservers, fake_etcd, capsys):
    servers = apiservers(1, "lease")
    servers[0].reconcile()
    assert _ips(json.loads(fake_etcd.get(KEY))) == IPS
    fake_etcd.advance(10)
    for api in servers[:2]:  # 10.0.0.13 stopped renewing (killed)
        fake_etcd.keepalive(api.lease)
    fake_etcd.advance(10)
    assert servers[0].live_apiservers() == IPS[:2]
    servers[1].reconcile()
    assert _ips(json.loads(fake_etcd.get(KEY))) == IPS[:2]
    assert 'Resetting endpoints for master service "kubernetes" to [10.0.0.11 10.0.0.12]' in capsys.readouterr().err


def test_a_reconciler_that_cannot_reach_etcd_changes_nothing(apiservers, fake_etcd):
    servers = apiservers(1, "lease")
    servers[0].reconcile()
    before = fake_etcd.get_revision(KEY)
    fake_etcd.down = True
    with pytest.raises(OSError, match="connection refused"):
        servers[1].reconcile()  # reconcile_loop logs it and tries again
    fake_etcd.down = False
    assert fake_etcd.get_revision(KEY) == before


def test_the_masterlease_is_renewed_every_ten_seconds_with_a_fifteen_second_lease(start_apiserver):
    """As kube-apiserver (DefaultEndpointReconcilerInterval 10 s, TTL 15 s): registered at
    start, then left alone between renewals (a write every second kept etcd busy)."""
    running = start_apiserver()
    key = "/registry/masterleases/127.0.0.1"
    assert _until(lambda: running.etcd.get(key) == "127.0.0.1")
    written = running.etcd.get_revision(key)
    assert running.etcd.data[key][3] is not None and running.etcd.leases[running.etcd.data[key][3]][0] == 15
    time.sleep(1.5)
    assert running.etcd.get_revision(key) == written, "renewed within 1.5 s"


def test_a_served_apiserver_registers_itself_and_lists_itself(start_apiserver, pki_files):
    running = start_apiserver()
    admin = running.client(pki_files.admin)
    assert _until(lambda: running.etcd.get_prefix("/registry/masterleases/") == {"/registry/masterleases/127.0.0.1": "127.0.0.1"})
    status, body, _h = admin.get("/api/v1/namespaces/default/endpoints/kubernetes")
    assert status == 200 and _ips(body) == ["127.0.0.1"] and body["subsets"][0]["ports"] == [
        {"name": "https", "port": 6443, "protocol": "TCP"}]
