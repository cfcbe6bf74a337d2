"""Unit tests of the kubeha.control_plane endpoint filters (called directly)."""

from __future__ import annotations

import importlib
import re
import sys

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kubeha.control_plane.plugins.filter import firewalld, hosts, vrrp
from ansible_collections.kubeha.control_plane.plugins.plugin_utils import _inventory_address as addr

HOSTVARS = {
    "m1": {"ansible_host": "10.146.47.100"},
    "m2": {"ansible_host": "10.146.47.110", "kubeha_address": "10.146.47.111"},
    "m3": {},
    "v6": {"kubeha_address": "FD00:0:0::10"},
    "dns": {"ansible_host": "master-3.example.com"},
}


def test_etcd_servers_inventory_order_and_address_precedence():
    assert hosts.etcd_servers(["m2", "m1", "v6"], HOSTVARS) == [
        "https://10.146.47.111:2379",  # kubeha_address wins over ansible_host
        "https://10.146.47.100:2379",
        "https://[fd00::10]:2379",  # IPv6 bracketed, canonical form
    ]


def test_etcd_servers_scheme_port_and_per_host_override():
    hv = {"a": {"ansible_host": "10.0.0.1"}, "b": {"ansible_host": "10.0.0.2", "kubeha_etcd_port": "2479"}}
    assert hosts.etcd_servers(["a", "b"], hv, scheme="http", port=4001) == [
        "http://10.0.0.1:4001",
        "http://10.0.0.2:2479",
    ]


def test_inventory_hostname_used_when_no_address_var():
    hv = {"etcd-1.lab": {}}
    assert hosts.etcd_servers(["etcd-1.lab"], hv) == ["https://etcd-1.lab:2379"]


def test_dns_names_accepted():
    assert hosts.haproxy_backends(["dns"], HOSTVARS, port=6443) == [
        {"name": "dns", "address": "master-3.example.com", "port": 6443}
    ]


def test_haproxy_backends_shape_and_port_override():
    hv = {
        "m1": {"ansible_host": "10.0.0.1"},
        "m2": {"ansible_host": "fd00::2", "kubeha_apiserver_port": 8443},
    }
    assert hosts.haproxy_backends(["m1", "m2"], hv, port=6443) == [
        {"name": "m1", "address": "10.0.0.1", "port": 6443},
        {"name": "m2", "address": "fd00::2", "port": 8443},
    ]
    assert isinstance(hosts.haproxy_backends(["m1"], hv, port="6443")[0]["port"], int)


def test_vrrp_peers_excludes_self():
    hv = {h: {"ansible_host": "10.0.0.%d" % i} for i, h in enumerate(["lb1", "lb2", "lb3"], 1)}
    assert vrrp.vrrp_peers(["lb1", "lb2", "lb3"], hv, "lb2") == ["10.0.0.1", "10.0.0.3"]
    assert vrrp.vrrp_peers(["lb1"], hv, "lb1") == []


def test_each_filter_file_exports_its_filters():
    assert set(hosts.FilterModule().filters()) == {"etcd_servers", "haproxy_backends", "address_interface"}
    assert set(vrrp.FilterModule().filters()) == {"vrrp_peers", "vrrp_instances", "vip_addresses", "lb_vips", "vip_url",
                                                  "vip_host_conflicts"}
    assert set(firewalld.FilterModule().filters()) == {"firewalld_rich_rules", "vrrp_rich_rules"}


@pytest.mark.parametrize(
    "bad, var",
    [
        ("10.0.0.300", "ansible_host"),
        ("host name", "ansible_host"),
        ("-leading.example.com", "ansible_host"),
        ("10.1", "ansible_host"),
        ("fd00::zz", "ansible_host"),
        ("a" * 64 + ".example.com", "ansible_host"),
        ("10.0.0.1", "kubeha_address"),  # valid: control case, see below
    ],
)
def test_invalid_addresses_name_filter_host_variable_value(bad, var):
    hv = {"m1": {var: bad}}
    if bad == "10.0.0.1":
        assert hosts.etcd_servers(["m1"], hv) == ["https://10.0.0.1:2379"]
        return
    for call in (
        lambda: hosts.etcd_servers(["m1"], hv),
        lambda: hosts.haproxy_backends(["m1"], hv),
        lambda: vrrp.vrrp_peers(["m1"], hv, "m1"),
    ):
        with pytest.raises(AnsibleFilterError) as err:
            call()
        msg = str(err.value)
        assert "host 'm1'" in msg and var in msg and repr(bad) in msg
    assert str(err.value).startswith("vrrp_peers:")


def test_invalid_inventory_hostname_names_the_variable():
    with pytest.raises(AnsibleFilterError, match=r"etcd_servers: host 'bad_host' .*'bad_host' in inventory_hostname"):
        hosts.etcd_servers(["bad_host"], {"bad_host": {}})


@pytest.mark.parametrize("port", [0, 65536, -1, "http", True, "", 22.5])
def test_port_argument_out_of_range(port):
    with pytest.raises(AnsibleFilterError, match=r"^etcd_servers: the 'port' argument is .*1 to 65535"):
        hosts.etcd_servers(["m1"], HOSTVARS, port=port)
    with pytest.raises(AnsibleFilterError, match=r"^haproxy_backends: the 'port' argument"):
        hosts.haproxy_backends(["m1"], HOSTVARS, port=port)


def test_per_host_port_out_of_range_names_host_and_variable():
    hv = {"m1": {"ansible_host": "10.0.0.1", "kubeha_apiserver_port": 70000}}
    with pytest.raises(AnsibleFilterError, match=r"kubeha_apiserver_port of host 'm1' is 70000"):
        hosts.haproxy_backends(["m1"], hv)
    hv = {"m1": {"ansible_host": "10.0.0.1", "kubeha_etcd_port": "0"}}
    with pytest.raises(AnsibleFilterError, match=r"kubeha_etcd_port of host 'm1' is '0'"):
        hosts.etcd_servers(["m1"], hv)


@pytest.mark.parametrize("names", [[], "m1", None])
def test_empty_or_non_list_input(names):
    with pytest.raises(AnsibleFilterError, match=r"^haproxy_backends: the (host list is empty|input must be a list)"):
        hosts.haproxy_backends(names, HOSTVARS)


@pytest.mark.parametrize(
    "a, b",
    [("10.0.0.1", "10.0.0.1"), ("fd00::1", "FD00:0::1"), ("m.example.com", "M.Example.com."), ("[fd00::1]", "fd00::1")],
)
def test_duplicate_addresses(a, b):
    hv = {"x": {"ansible_host": a}, "y": {"kubeha_address": b}}
    with pytest.raises(AnsibleFilterError, match=r"^vrrp_peers: hosts 'x' and 'y' have the same address"):
        vrrp.vrrp_peers(["x", "y"], hv, "x")
    with pytest.raises(AnsibleFilterError, match=r"^etcd_servers: hosts 'x' and 'y' have the same address"):
        hosts.etcd_servers(["x", "y"], hv)


@pytest.mark.parametrize("scheme", ["ftp", "HTTPS", "", None])
def test_bad_scheme(scheme):
    with pytest.raises(AnsibleFilterError, match=r"^etcd_servers: the 'scheme' argument is .* must be one of http, https"):
        hosts.etcd_servers(["m1"], HOSTVARS, scheme=scheme)


def test_host_missing_from_hostvars():
    with pytest.raises(AnsibleFilterError, match=r"^haproxy_backends: host 'ghost' is not in hostvars"):
        hosts.haproxy_backends(["m1", "ghost"], HOSTVARS)


def test_vrrp_peers_self_not_in_list():
    with pytest.raises(AnsibleFilterError, match=r"^vrrp_peers: host 'm3' \(inventory_hostname\) is not in the host list \['m1', 'm2'\]"):
        vrrp.vrrp_peers(["m1", "m2"], HOSTVARS, "m3")


def test_missing_netaddr_is_reported_only_when_called(monkeypatch):
    monkeypatch.setitem(sys.modules, "netaddr", None)  # "import netaddr" now raises ImportError
    try:
        importlib.reload(addr)
        # The plugins still load and export their filters ...
        assert addr.netaddr is None
        for plugin in (importlib.reload(hosts), importlib.reload(vrrp), importlib.reload(firewalld)):
            assert plugin.FilterModule().filters()
        # ... and only a call fails, with a clear message.
        for name, call in (
            ("etcd_servers", lambda: hosts.etcd_servers(["m1"], HOSTVARS)),
            ("haproxy_backends", lambda: hosts.haproxy_backends(["m1"], HOSTVARS)),
            ("vrrp_peers", lambda: vrrp.vrrp_peers(["m1"], HOSTVARS, "m1")),
            ("vrrp_instances", lambda: vrrp.vrrp_instances(["10.0.0.100"], HOSTVARS, ["m1"], "m1", "eth0")),
            ("firewalld_rich_rules", lambda: firewalld.firewalld_rich_rules(["m1"], HOSTVARS, [6443])),
        ):
            with pytest.raises(AnsibleFilterError, match=r"^%s: the Python library 'netaddr' is required" % name):
                call()
    finally:
        monkeypatch.undo()
        importlib.reload(addr)
    assert addr.netaddr is not None


# lb_vips: every VIP of a load balancer, from its variables.
@pytest.mark.parametrize("lb_vars, vips", [
    ({}, []),
    ({"kubeha_vip": "10.146.47.90"}, ["10.146.47.90"]),
    ({"kubeha_vip": "10.0.0.1", "keepalived_vips": [{"address": "FD00:0::100"}, "10.0.0.2"]}, ["fd00::100", "10.0.0.2"]),
    ({"kubeha_vip": "10.0.0.1", "keepalived_vips": []}, ["10.0.0.1"]),
])
def test_lb_vips(lb_vars, vips):
    assert vrrp.lb_vips(lb_vars) == vips


@pytest.mark.parametrize("lb_vars, message", [
    ({"kubeha_vip": "10.0.0.300"}, "10.0.0.300"),
    (["10.0.0.1"], "expected the variables of a load balancer"),
])
def test_lb_vips_errors(lb_vars, message):
    with pytest.raises(AnsibleFilterError, match=re.escape(message)):
        vrrp.lb_vips(lb_vars)


# vip_url: the API through the first VIP, from a load balancer's variables.
@pytest.mark.parametrize("lb_vars, url", [
    ({"kubeha_vip": "10.146.47.90"}, "https://10.146.47.90:8443"),
    ({"kubeha_vip": "10.146.47.90", "haproxy_frontend_port": 18080, "haproxy_backend_tls": False}, "http://10.146.47.90:18080"),
    ({"keepalived_vips": [{"address": "FD00:0::100"}, "10.0.0.100"], "haproxy_frontend_port": "6443"}, "https://[fd00::100]:6443"),
    ({"kubeha_vip": "10.0.0.1", "keepalived_vips": ["10.0.0.2"]}, "https://10.0.0.2:8443"),
])
def test_vip_url(lb_vars, url):
    assert vrrp.vip_url(lb_vars) == url


@pytest.mark.parametrize("lb_vars, message", [
    ({"inventory_hostname": "lb1"}, "the load balancer lb1 has no VIP; set kubeha_vip"),
    ({"inventory_hostname": "lb1", "kubeha_vip": "10.0.0.1", "haproxy_frontend_port": 70000}, "haproxy_frontend_port of lb1 is '70000'"),
    ({"kubeha_vip": "10.0.0.300"}, "10.0.0.300"),
    ("lb1", "expected the variables of a load balancer"),
])
def test_vip_url_errors(lb_vars, message):
    with pytest.raises(AnsibleFilterError, match=re.escape(message)):
        vrrp.vip_url(lb_vars)


# vip_host_conflicts: a VIP must be no host's address (issue 14: a master took a worker's address).
INVENTORY = {
    "m1": {"ansible_host": "10.0.0.11", "kubeha_address": "10.0.0.11"},
    "m2": {"ansible_host": "203.0.113.12", "kubeha_address": "10.0.0.12"},  # SSH through a NAT address
    "lb1": {"ansible_host": "10.0.0.21", "keepalived_unicast_src_ip6": "fd00::21"},
    "w1": {"ansible_host": "10.0.0.31"},
    "w2": {"kubeha_address": "worker-2.example.com", "ansible_host": "10.0.0.32"},
    "w3": {"ansible_host": "jump-alias"},  # an SSH alias, not an address: ignored
    "10.0.0.40": {},  # the inventory name is the address
    "etcd1": {"kubeha_address": "[FD00:0::51]"},
}
NAMES = {("worker-2.example.com", 4): ["10.0.0.99"], ("worker-2.example.com", 6): ["fd00::99"]}


def resolver(name, family):
    return NAMES.get((name, family), [])


def conflicts(vips, hostvars=None, hosts=None):
    hostvars = INVENTORY if hostvars is None else hostvars
    return vrrp.vip_host_conflicts(vips, hostvars, list(hostvars) if hosts is None else hosts, resolver=resolver)


def test_vip_host_conflicts_none_for_free_vips():
    assert conflicts(["10.0.0.100", "fd00::100"]) == []


@pytest.mark.parametrize("vip, host, variable, value, resolved", [
    ("10.0.0.31", "w1", "ansible_host", "10.0.0.31", False),  # a worker (the 0.4.0 failure)
    ("10.0.0.12", "m2", "kubeha_address", "10.0.0.12", False),
    ("203.0.113.12", "m2", "ansible_host", "203.0.113.12", False),  # even when kubeha_address wins elsewhere
    ("10.0.0.21", "lb1", "ansible_host", "10.0.0.21", False),
    ("fd00::21", "lb1", "keepalived_unicast_src_ip6", "fd00::21", False),
    ("10.0.0.40", "10.0.0.40", "inventory_hostname", "10.0.0.40", False),
    ("fd00::51", "etcd1", "kubeha_address", "[FD00:0::51]", False),  # canonical on both sides
    ("10.0.0.99", "w2", "kubeha_address", "worker-2.example.com", True),  # a name, resolved on the controller
    ("fd00::99", "w2", "kubeha_address", "worker-2.example.com", True),
])
def test_vip_host_conflicts_names_host_variable_and_value(vip, host, variable, value, resolved):
    assert conflicts(["10.0.0.100", vip]) == [
        {"vip": vip, "host": host, "variable": variable, "value": value, "resolved": resolved}]


def test_vip_host_conflicts_vips_written_otherwise_and_as_dicts():
    found = conflicts([{"address": "FD00::0:51", "virtual_router_id": 5}, " 10.0.0.31 "])
    assert [(c["vip"], c["host"]) for c in found] == [("10.0.0.31", "w1"), ("fd00::51", "etcd1")]  # host order
    assert conflicts("10.0.0.31")[0]["host"] == "w1"  # a single VIP (kubeha_vip)


def test_vip_host_conflicts_in_host_order_every_variable():
    hv = {"a": {"ansible_host": "10.0.0.5"}, "b": {"kubeha_address": "10.0.0.5", "ansible_host": "10.0.0.5"}}
    assert [(c["host"], c["variable"]) for c in conflicts(["10.0.0.5"], hv)] == [
        ("a", "ansible_host"), ("b", "kubeha_address"), ("b", "ansible_host")]


def test_vip_host_conflicts_only_the_given_hosts():
    assert conflicts(["10.0.0.31"], hosts=["m1", "m2"]) == []


def test_vip_host_conflicts_resolves_only_the_address_the_filters_use():
    calls = []

    def recording(name, family):
        calls.append((name, family))
        return ["10.0.0.31"]
    hv = {"n1": {"kubeha_address": "10.0.0.1", "ansible_host": "ssh.example.com"}, "n2.example.com": {}}
    found = vrrp.vip_host_conflicts(["10.0.0.31"], hv, list(hv), resolver=recording)
    # n1's ansible_host is not its address (kubeha_address is): never resolved; n2's name is, in the VIPs' family only.
    assert calls == [("n2.example.com", 4)]
    assert found == [{"vip": "10.0.0.31", "host": "n2.example.com", "variable": "inventory_hostname",
                      "value": "n2.example.com", "resolved": True}]


@pytest.mark.parametrize("vips, hostvars, hosts, message", [
    (["10.0.0.300"], {}, ["m1"], 'vip_host_conflicts: keepalived_vips has "10.0.0.300", which is not a valid IPv4 or IPv6 address'),
    (["10.0.0.5"], {"m1": {"kubeha_address": "10.0.0.300"}}, ["m1"],
     "vip_host_conflicts: host 'm1' has an invalid address '10.0.0.300' in kubeha_address"),
    (["10.0.0.5"], {}, ["m1"], "vip_host_conflicts: host 'm1' is not in hostvars"),
    (["10.0.0.5"], {}, "m1", "vip_host_conflicts: the 'hosts' argument must be a list of inventory hostnames"),
])
def test_vip_host_conflicts_errors(vips, hostvars, hosts, message):
    with pytest.raises(AnsibleFilterError, match=re.escape(message)):
        vrrp.vip_host_conflicts(vips, hostvars, hosts, resolver=resolver)


def test_vip_host_conflicts_unresolvable_name_is_no_conflict():
    assert conflicts(["10.0.0.5"], {"m1": {"kubeha_address": "nowhere.invalid"}}) == []


# address_interface: the interface with a host's cluster address, from its facts.
FACTS = {
    "interfaces": ["lo", "eth0", "eth1", "br-lab"],
    "lo": {"ipv4": {"address": "127.0.0.1"}},
    "eth0": {"ipv4": {"address": "192.0.2.10"}, "ipv6": [{"address": "fe80::1", "scope": "link"}]},
    "eth1": {"ipv4": {"address": "10.0.0.11"}, "ipv4_secondaries": [{"address": "10.0.0.100"}],
             "ipv6": [{"address": "fd00::11", "scope": "global"}]},
    "br_lab": {"ipv4": {"address": "172.16.0.1"}},
    "default_ipv4": {"interface": "eth0", "address": "192.0.2.10"},
    "default_ipv6": {"interface": "eth1"},
}


@pytest.mark.parametrize("address, interface", [
    ("10.0.0.11", "eth1"),
    ("10.0.0.100", "eth1"),  # a secondary address
    ("fd00:0::11", "eth1"),  # IPv6, written another way
    ("[fd00::11]", "eth1"),
    ("172.16.0.1", "br-lab"),  # its facts are under br_lab
    ("198.51.100.7", "eth0"),  # no interface has it: the default route's
    ("master1.example.com", "eth0"),  # a name
    ("", "eth0"),
    (None, "eth0"),
])
def test_address_interface(address, interface):
    assert hosts.address_interface(FACTS, address) == interface


def test_address_interface_without_a_default_route():
    facts = {k: v for k, v in FACTS.items() if k != "default_ipv4"}
    assert hosts.address_interface(facts, "198.51.100.7") == "eth1"  # the IPv6 default route's
    assert hosts.address_interface({"interfaces": []}, "10.0.0.11") == ""


def test_address_interface_needs_facts():
    with pytest.raises(AnsibleFilterError, match=r"^address_interface: expected a host's ansible_facts \(gathered facts\), got 'str'"):
        hosts.address_interface("eth0", "10.0.0.11")
