# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for firewalld rich rules: the cluster's hosts to a port, VRRP adverts of the peers.

The documentation of each filter lives beside this file in ``<filter>.yml``
(``ansible-doc -t filter kubeha.control_plane.firewalld_rich_rules``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.kubeha.control_plane.plugins.plugin_utils import _inventory_address as addr


def _firewalld_source(filter_name, value):
    """``(family, text)`` of an address or network for a rich rule's source, canonical."""
    text = to_text(value).strip()
    try:
        network = addr.netaddr.IPNetwork(text)
    except (addr.netaddr.AddrFormatError, ValueError, TypeError):
        network = None
    if network is None or ("/" not in text and not (addr.netaddr.valid_ipv4(text, flags=addr.netaddr.INET_PTON) or addr.netaddr.valid_ipv6(text))):
        raise AnsibleFilterError("%s: source %r is not an IPv4 or IPv6 address or network" % (filter_name, to_text(value)))
    if network.size == 1:
        return network.version, str(network.ip)
    if network.ip != network.network:
        raise AnsibleFilterError("%s: source %r has host bits set; write the network, %s" % (filter_name, text, network.cidr))
    return network.version, str(network.cidr)


def firewalld_rich_rules(hosts, hostvars, ports=None, protocol="tcp", families=(4, 6), exclude=None, sources=None):
    """firewalld rich rules that accept ``ports``/``protocol`` from every host of ``hosts``.

    One rule per source address and port, in the form ``firewall-cmd --list-rich-rules``
    prints, so a rule read back from firewalld compares equal. A host's address is its
    inventory address, the one the cluster's own connections use (``kubeha_address``,
    else ``ansible_host``, else the name, resolved on the controller), in each of
    ``families`` it is of; a host with none of ``families`` is an error naming it.
    Further addresses and networks go in ``sources``. ``protocol`` other than tcp/udp
    with no ports gives protocol rules (``protocol value="vrrp"``).
    """
    filter_name = "firewalld_rich_rules"
    addr.require_netaddr(filter_name)
    names = addr.host_names(filter_name, hosts, "the host list")
    families = [addr.family_arg(filter_name, f)
                for f in (families if hasattr(families, "__iter__") and not isinstance(families, str) else [families])]
    protocol = to_text(protocol).strip().lower()
    if not re.match(r"^[a-z][a-z0-9-]*$", protocol):
        raise AnsibleFilterError("%s: protocol %r is not a protocol name" % (filter_name, protocol))
    ports = [addr.validate_port(filter_name, p, "a port") for p in (ports or [])]
    if ports and protocol not in ("tcp", "udp", "sctp", "dccp"):
        raise AnsibleFilterError("%s: ports are given, so protocol must be tcp, udp, sctp or dccp, not %r" % (filter_name, protocol))
    if not ports and protocol in ("tcp", "udp", "sctp", "dccp"):
        raise AnsibleFilterError("%s: protocol %s needs at least one port" % (filter_name, protocol))
    skip = to_text(exclude) if exclude not in (None, "") else None
    if isinstance(sources, (str, bytes)):
        sources = [sources]
    extra = [_firewalld_source(filter_name, s) for s in (sources or [])]
    rules, seen = [], set()

    def add(family, address):
        head = 'rule family="ipv%d" source address="%s"' % (family, address)
        tails = (['port port="%d" protocol="%s" accept' % (p, protocol) for p in ports] if ports
                 else ['protocol value="%s" accept' % protocol])
        for tail in tails:
            rule = "%s %s" % (head, tail)
            if rule not in seen:
                seen.add(rule)
                rules.append(rule)

    for host in names:
        if host == skip:
            continue
        hvars = addr.host_vars(filter_name, hostvars, host)
        found, reasons = [], []
        for family in families:
            address, source = addr.inventory_address(filter_name, host, hvars, family)
            if address is None:
                reasons.append(source)
            else:
                found.append((family, address))
        if not found:
            raise AnsibleFilterError(
                "%s: host '%s' has no IPv%s address to allow through firewalld: %s; set kubeha_address"
                % (filter_name, host, "/IPv".join(str(f) for f in families), "; ".join(reasons))
            )
        for family, address in found:
            add(family, address)
    for family, address in extra:
        if family in families:
            add(family, address)
    return rules


VRRP_GROUPS = {4: "224.0.0.18", 6: "ff02::12"}


def vrrp_rich_rules(instances):
    """firewalld rich rules that accept the VRRP adverts of the instances' peers (the output
    of vrrp_instances): from each unicast peer's address, or, for a multicast instance
    (whose adverts come from the interface's own address, link-local for IPv6), to the
    VRRP multicast group of its family."""
    filter_name = "vrrp_rich_rules"
    if isinstance(instances, (str, bytes, Mapping)) or not hasattr(instances, "__iter__"):
        raise AnsibleFilterError("%s: the input must be the list vrrp_instances returns, got %r" % (filter_name, instances))
    rules = []
    for instance in instances:
        if not isinstance(instance, Mapping) or instance.get("family") not in (4, 6):
            raise AnsibleFilterError("%s: %r is not a VRRP instance of vrrp_instances" % (filter_name, instance))
        family = instance["family"]
        if instance.get("unicast"):
            heads = ['rule family="ipv%d" source address="%s"' % (family, peer) for peer in instance.get("peers", [])]
        else:
            heads = ['rule family="ipv%d" destination address="%s"' % (family, VRRP_GROUPS[family])]
        for head in heads:
            rule = head + ' protocol value="vrrp" accept'
            if rule not in rules:
                rules.append(rule)
    return rules


class FilterModule:
    """kubeha.control_plane firewalld filters."""

    def filters(self):
        return {
            "firewalld_rich_rules": firewalld_rich_rules,
            "vrrp_rich_rules": vrrp_rich_rules,
        }
