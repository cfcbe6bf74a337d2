"""Unit tests of the VRRP filters: vrrp_instances, vrrp_peers, vip_addresses."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kubeha.control_plane.plugins.filter import vrrp

LBS = ["lb1", "lb2", "lb3"]


def hv(**extra):
    out = {h: {"kubeha_address": "10.0.0.%d" % i} for i, h in enumerate(LBS, 1)}
    for host, values in extra.items():
        out[host].update(values)
    return out


def no_dns(name, family):
    return []


def inst(vips, hostvars=None, me="lb1", **kw):
    kw.setdefault("resolver", no_dns)
    return vrrp.vrrp_instances(vips, hostvars or hv(), LBS, me, "eth0", **kw)


def test_ipv4_vip_unicast_from_inventory_addresses():
    (vi,) = inst(["10.0.0.100"], me="lb2")
    assert vi["address"] == "10.0.0.100" and vi["family"] == 4 and vi["prefix"] == 32 and vi["version"] == 2
    assert vi["src_ip"] == "10.0.0.2" and vi["src_source"] == "kubeha_address"
    assert vi["peers"] == ["10.0.0.1", "10.0.0.3"] and vi["unicast"] is True
    assert vi["name"] == "VI_10_0_0_100" and vi["interface"] == "eth0"


def test_non_canonical_ipv6_vip_is_canonicalised_and_uses_vrrpv3():
    v6 = {h: {"keepalived_unicast_src_ip6": "FD00:0::%d" % i} for i, h in enumerate(LBS, 1)}
    (vi,) = inst(["FD00:0::100"], hv(**v6))
    assert vi["address"] == "fd00::100" and vi["family"] == 6 and vi["prefix"] == 128 and vi["version"] == 3
    assert vi["src_ip"] == "fd00::1" and vi["peers"] == ["fd00::2", "fd00::3"]
    assert vi["name"] == "VI_fd00__100"


def test_ipv6_vip_without_ipv6_peers_fails_instead_of_multicast():
    with pytest.raises(AnsibleFilterError, match=r"VIP fd00::100 is IPv6, but host 'lb1' has no IPv6 address.*"
                                                 r"its address 10\.0\.0\.1 \(kubeha_address\) is IPv4.*keepalived_unicast_src_ip6"):
        inst(["fd00::100"])
    # Multicast was asked for explicitly: no peers needed.
    (vi,) = inst(["fd00::100"], unicast=False)
    assert vi["unicast"] is False and vi["peers"] == [] and vi["src_ip"] is None


def test_dns_names_are_resolved_on_the_controller_never_passed_on():
    names = {h: {"kubeha_address": "%s.example.com" % h} for h in LBS}
    table = {("lb1.example.com", 4): ["10.1.0.1"], ("lb2.example.com", 4): ["10.1.0.2"], ("lb3.example.com", 4): ["10.1.0.3"]}
    (vi,) = inst(["10.1.0.100"], hv(**names), resolver=lambda n, fam: table.get((n, fam), []))
    assert vi["src_ip"] == "10.1.0.1" and vi["peers"] == ["10.1.0.2", "10.1.0.3"]
    assert "resolved on the controller" in vi["src_source"]
    with pytest.raises(AnsibleFilterError, match=r"host 'lb1'.*lb1\.example\.com \(kubeha_address\) does not resolve to an IPv4"):
        inst(["10.1.0.100"], hv(**names))
    with pytest.raises(AnsibleFilterError, match=r"resolves to several IPv4 addresses"):
        inst(["10.1.0.100"], hv(**names), resolver=lambda n, fam: ["10.1.0.1", "10.1.0.9"])


def test_explicit_source_address_wins_over_a_nat_ansible_host():
    nat = {h: {"kubeha_address": "", "ansible_host": "203.0.113.%d" % i, "keepalived_unicast_src_ip": "10.0.0.%d" % i}
           for i, h in enumerate(LBS, 1)}
    (vi,) = inst(["10.0.0.100"], hv(**nat))
    assert vi["src_ip"] == "10.0.0.1" and vi["src_source"] == "keepalived_unicast_src_ip"
    with pytest.raises(AnsibleFilterError, match=r"host 'lb2' has keepalived_unicast_src_ip='fd00::2', which is not an IPv4 address"):
        inst(["10.0.0.100"], hv(lb2={"keepalived_unicast_src_ip": "fd00::2"}))


def test_router_ids_derived_stable_per_vip_and_settable_per_vip():
    a, b = inst(["10.0.0.100", {"address": "10.0.0.101", "virtual_router_id": 77}])
    assert a["virtual_router_id"] == vrrp.derived_router_id("10.0.0.100") == inst(["10.0.0.100"])[0]["virtual_router_id"]
    assert b["virtual_router_id"] == 77
    first, second = inst(["10.0.0.100", "10.0.0.101"], router_id=51)
    assert first["virtual_router_id"] == 51 and second["virtual_router_id"] == vrrp.derived_router_id("10.0.0.101")
    # The same VIP written two ways derives the same id.
    assert vrrp.derived_router_id("fd00::100") == inst(["FD00:0::100"], unicast=False)[0]["virtual_router_id"]


def test_colliding_router_ids_are_refused():
    with pytest.raises(AnsibleFilterError, match=r"VIPs 10\.0\.0\.100 \(set in keepalived_vips\) and 10\.0\.0\.101 "
                                                 r"\(set in keepalived_vips\) both use virtual_router_id 9 on interface eth0"):
        inst([{"address": "10.0.0.100", "virtual_router_id": 9}, {"address": "10.0.0.101", "virtual_router_id": 9}])
    # Find two VIPs whose derived ids collide: the filter must refuse them too.
    seen, pair = {}, None
    for i in range(1, 250):
        for j in range(0, 250):
            vip = "10.9.%d.%d" % (i, j)
            rid = vrrp.derived_router_id(vip)
            if rid in seen:
                pair = (seen[rid], vip)
                break
            seen[rid] = vip
        if pair:
            break
    with pytest.raises(AnsibleFilterError, match=r"derived from the VIP.*both use virtual_router_id"):
        inst(list(pair))
    # Different interfaces may reuse an id.
    a, b = inst([{"address": "10.0.0.100", "virtual_router_id": 9}, {"address": "10.0.0.101", "virtual_router_id": 9, "interface": "eth1"}])
    assert a["virtual_router_id"] == b["virtual_router_id"] == 9


@pytest.mark.parametrize("vips, message", [
    (["10.0.0.300"], r'keepalived_vips has "10\.0\.0\.300", which is not a valid IPv4 or IPv6 address'),
    (["vip.example.com"], r"which is not a valid IPv4 or IPv6 address"),
    ([{"address": "10.0.0.100", "vrid": 3}], r"keepalived_vips\[0\] has unknown keys vrid"),
    ([{"address": "10.0.0.100", "virtual_router_id": 300}], r"virtual_router_id of VIP 10\.0\.0\.100 is 300 \(set in keepalived_vips\)"),
    ([{"address": "10.0.0.100", "virtual_router_id": "x"}], r"virtual_router_id of VIP 10\.0\.0\.100 is 'x'; it must be an integer"),
    (["10.0.0.100", "10.0.0.0100"], r"not a valid"),
    (["fd00::100", "FD00:0::100"], r"VIP fd00::100 is listed twice"),
    ([], r"no VIP; set kubeha_vip or keepalived_vips"),
    ([{"address": "10.0.0.100", "interface": "eth 0"}], r"interface 'eth 0'"),
])
def test_bad_vips_fail_with_the_value(vips, message):
    with pytest.raises(AnsibleFilterError, match=message):
        inst(vips, unicast=False)


def test_duplicate_vrrp_addresses_and_unknown_host_fail():
    with pytest.raises(AnsibleFilterError, match=r"VRRP addresses for VIP 10\.0\.0\.100 are not unique: 10\.0\.0\.1"):
        inst(["10.0.0.100"], hv(lb2={"kubeha_address": "10.0.0.1"}))
    with pytest.raises(AnsibleFilterError, match=r"not unique: 10\.0\.0\.9"):
        inst(["10.0.0.100"], hv(lb2={"keepalived_unicast_src_ip": "10.0.0.9"}, lb3={"keepalived_unicast_src_ip": "10.0.0.9"}))
    with pytest.raises(AnsibleFilterError, match=r"host 'lb9' \(inventory_hostname\) is not in the load balancer list"):
        inst(["10.0.0.100"], me="lb9")
    with pytest.raises(AnsibleFilterError, match=r"keepalived_vrrp_version is 4"):
        inst(["10.0.0.100"], version=4)


def test_a_lone_load_balancer_has_no_peers():
    (vi,) = vrrp.vrrp_instances(["10.0.0.100"], hv(), ["lb1"], "lb1", "eth0", resolver=no_dns)
    assert vi["peers"] == [] and vi["unicast"] is False


def test_vrrp_peers_returns_addresses_of_the_family():
    both = {h: {"keepalived_unicast_src_ip6": "fd00::%d" % i} for i, h in enumerate(LBS, 1)}
    assert vrrp.vrrp_peers(LBS, hv(**both), "lb2") == ["10.0.0.1", "10.0.0.3"]
    assert vrrp.vrrp_peers(LBS, hv(**both), "lb2", family=6) == ["fd00::1", "fd00::3"]
    with pytest.raises(AnsibleFilterError, match=r"vrrp_peers: host 'lb1' has no IPv6 address for VRRP"):
        vrrp.vrrp_peers(LBS, hv(), "lb2", family=6)
    with pytest.raises(AnsibleFilterError, match=r"'family' argument is 5"):
        vrrp.vrrp_peers(LBS, hv(), "lb2", family=5)


def test_vip_addresses_canonical():
    assert vrrp.vip_addresses(["10.0.0.1", {"address": "FD00:0::1"}]) == ["10.0.0.1", "fd00::1"]
    assert vrrp.vip_addresses("10.0.0.1") == ["10.0.0.1"]
    with pytest.raises(AnsibleFilterError, match=r"vip_addresses: keepalived_vips has \"nope\""):
        vrrp.vip_addresses(["nope"])


def test_load_balancers_behind_one_nat_address():
    nat = {h: {"kubeha_address": "", "ansible_host": "203.0.113.5", "ansible_port": 2200 + i,
               "keepalived_unicast_src_ip": "10.0.0.1%d" % i} for i, h in enumerate(LBS, 1)}
    (vi,) = inst(["10.0.0.100"], hv(**nat), me="lb3")
    assert vi["src_ip"] == "10.0.0.13" and vi["peers"] == ["10.0.0.11", "10.0.0.12"]
