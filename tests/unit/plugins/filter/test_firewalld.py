"""Unit tests of the firewalld_rich_rules filter."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kubeha.control_plane.plugins.filter import firewalld
from ansible_collections.kubeha.control_plane.plugins.plugin_utils import _inventory_address as addr

HOSTS = ["lb1", "lb2", "node1"]


def hv(**extra):
    out = {"lb1": {"kubeha_address": "10.0.0.1", "keepalived_unicast_src_ip6": "FD00::1"},
           "lb2": {"kubeha_address": "10.0.0.2"},
           "node1": {"ansible_host": "[fd00::21]"}}
    for host, values in extra.items():
        out[host].update(values)
    return out


def test_port_rules_per_address_and_family_in_firewalld_form():
    rules = firewalld.firewalld_rich_rules(HOSTS, hv(), [6443])
    assert rules == [
        'rule family="ipv4" source address="10.0.0.1" port port="6443" protocol="tcp" accept',
        'rule family="ipv4" source address="10.0.0.2" port port="6443" protocol="tcp" accept',
        'rule family="ipv6" source address="fd00::21" port port="6443" protocol="tcp" accept',
    ]


def test_several_ports_and_no_duplicates():
    rules = firewalld.firewalld_rich_rules(["lb1", "lb1", "lb2"], hv(), ["2379", 2380], families=[4])
    assert rules == [
        'rule family="ipv4" source address="10.0.0.1" port port="2379" protocol="tcp" accept',
        'rule family="ipv4" source address="10.0.0.1" port port="2380" protocol="tcp" accept',
        'rule family="ipv4" source address="10.0.0.2" port port="2379" protocol="tcp" accept',
        'rule family="ipv4" source address="10.0.0.2" port port="2380" protocol="tcp" accept',
    ]


def test_protocol_rules_from_the_inventory_address_not_the_vrrp_source():
    # lb2 sends VRRP from a second interface: its etcd and HAProxy traffic still comes from
    # kubeha_address, so that is the address to allow.
    rules = firewalld.firewalld_rich_rules(["lb1", "lb2"], hv(lb2={"keepalived_unicast_src_ip": "192.168.9.2"}), [], "vrrp", [4], "lb1")
    assert rules == ['rule family="ipv4" source address="10.0.0.2" protocol value="vrrp" accept']


def test_a_dns_name_resolved_on_the_controller(monkeypatch):
    monkeypatch.setattr(addr, "resolve", lambda name, family: {("m1.example.com", 4): ["10.0.0.9"]}.get((name, family), []))
    rules = firewalld.firewalld_rich_rules(["m1"], {"m1": {"ansible_host": "m1.example.com"}}, [2379])
    assert rules == ['rule family="ipv4" source address="10.0.0.9" port port="2379" protocol="tcp" accept']


def test_a_host_without_an_address_of_the_families_is_named():
    with pytest.raises(AnsibleFilterError, match=r"host 'node1' has no IPv4 address to allow through firewalld: its address fd00::21 "
                                                 r"\(ansible_host\) is IPv6"):
        firewalld.firewalld_rich_rules(HOSTS, hv(), [6443], families=[4])


@pytest.mark.parametrize("kwargs, message", [
    ({"ports": [70000]}, r"a port is 70000"),
    ({"ports": [6443], "protocol": "vrrp"}, r"protocol must be tcp, udp, sctp or dccp, not 'vrrp'"),
    ({"ports": [], "protocol": "tcp"}, r"protocol tcp needs at least one port"),
    ({"ports": [], "protocol": "vrrp; drop"}, r"is not a protocol name"),
    ({"ports": [6443], "families": [5]}, r"the 'family' argument is 5"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(AnsibleFilterError, match=message):
        firewalld.firewalld_rich_rules(HOSTS, hv(), **kwargs)


def test_unknown_host_and_empty_list():
    with pytest.raises(AnsibleFilterError, match=r"host 'lb9' is not in hostvars"):
        firewalld.firewalld_rich_rules(["lb9"], hv(), [6443])
    with pytest.raises(AnsibleFilterError, match=r"the host list is empty"):
        firewalld.firewalld_rich_rules([], hv(), [6443])


def test_further_sources_addresses_and_networks_of_the_wanted_families():
    rules = firewalld.firewalld_rich_rules(["lb2"], hv(), [6443], sources=["10.244.0.0/16", "FD00:10::/64", "192.0.2.7"], families=[4, 6])
    assert rules == [
        'rule family="ipv4" source address="10.0.0.2" port port="6443" protocol="tcp" accept',
        'rule family="ipv4" source address="10.244.0.0/16" port port="6443" protocol="tcp" accept',
        'rule family="ipv6" source address="fd00:10::/64" port port="6443" protocol="tcp" accept',
        'rule family="ipv4" source address="192.0.2.7" port port="6443" protocol="tcp" accept',
    ]
    assert firewalld.firewalld_rich_rules(["lb2"], hv(), [6443], families=[4], sources=["fd00::/64"]) == [
        'rule family="ipv4" source address="10.0.0.2" port port="6443" protocol="tcp" accept']


@pytest.mark.parametrize("source, message", [
    ("10.244.1.0/16", r"source '10\.244\.1\.0/16' has host bits set; write the network, 10\.244\.0\.0/16"),
    ("pods", r"source 'pods' is not an IPv4 or IPv6 address or network"),
    ("10.0.0.300", r"source '10\.0\.0\.300' is not an IPv4 or IPv6 address"),
])
def test_bad_sources_are_named(source, message):
    with pytest.raises(AnsibleFilterError, match=message):
        firewalld.firewalld_rich_rules(["lb2"], hv(), [6443], sources=[source])


def test_vrrp_rules_from_unicast_peers_and_to_the_multicast_group():
    instances = [
        {"family": 4, "unicast": True, "peers": ["10.0.0.2", "10.0.0.3"]},
        {"family": 6, "unicast": True, "peers": ["fd00::2"]},
        {"family": 4, "unicast": False, "peers": []},
        {"family": 6, "unicast": False, "peers": []},
        {"family": 4, "unicast": True, "peers": ["10.0.0.2"]},
    ]
    assert firewalld.vrrp_rich_rules(instances) == [
        'rule family="ipv4" source address="10.0.0.2" protocol value="vrrp" accept',
        'rule family="ipv4" source address="10.0.0.3" protocol value="vrrp" accept',
        'rule family="ipv6" source address="fd00::2" protocol value="vrrp" accept',
        'rule family="ipv4" destination address="224.0.0.18" protocol value="vrrp" accept',
        'rule family="ipv6" destination address="ff02::12" protocol value="vrrp" accept',
    ]
    # A lone load balancer (unicast, no peers) hears nobody.
    assert firewalld.vrrp_rich_rules([{"family": 4, "unicast": True, "peers": []}]) == []


def test_vrrp_rules_refuse_what_is_not_an_instance_list():
    with pytest.raises(AnsibleFilterError, match=r"must be the list vrrp_instances returns"):
        firewalld.vrrp_rich_rules("10.0.0.1")
    with pytest.raises(AnsibleFilterError, match=r"is not a VRRP instance"):
        firewalld.vrrp_rich_rules([{"address": "10.0.0.1"}])
