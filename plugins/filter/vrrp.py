# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the VIPs and keepalived's VRRP: peers, instances, the API URL through a VIP,
hosts that already have a VIP's address.

The documentation of each filter lives beside this file in ``<filter>.yml``
(``ansible-doc -t filter kubeha.control_plane.vrrp_instances``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping

from ansible.errors import AnsibleError, AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.kubeha.control_plane.plugins.plugin_utils import _inventory_address as addr

_IFACE = re.compile(r"^[A-Za-z0-9_.:@-]{1,15}$")
_VIP_KEYS = ("address", "interface", "virtual_router_id")


def vrrp_peers(hosts, hostvars, inventory_hostname, family=4):
    """IP addresses (of ``family``) of every host of ``hosts`` except ``inventory_hostname``.

    DNS names are resolved on the controller (keepalived takes only addresses);
    a host without an address of ``family`` is an error naming the variable to set.
    """
    filter_name = "vrrp_peers"
    resolved = addr.resolve_hosts(filter_name, hosts, hostvars)
    me = to_text(inventory_hostname)
    if me not in [h["name"] for h in resolved]:
        raise AnsibleFilterError(
            "%s: host '%s' (inventory_hostname) is not in the host list %s"
            % (filter_name, me, [h["name"] for h in resolved])
        )
    family = addr.family_arg(filter_name, family)
    peers = []
    for h in resolved:
        if h["name"] == me:
            continue
        address, source = addr.vrrp_address(filter_name, h["name"], hostvars[h["name"]], family)
        if address is None:
            raise AnsibleFilterError(
                "%s: host '%s' has no IPv%d address for VRRP: %s; set %s"
                % (filter_name, h["name"], family, source, addr.VRRP_SRC_VARS[family])
            )
        peers.append(address)
    return peers


def derived_router_id(address):
    """A stable virtual_router_id (1-255) derived from a canonical VIP."""
    return int(hashlib.sha1(address.encode()).hexdigest()[:8], 16) % 255 + 1


def _parse_vip(filter_name, index, item, interface):
    if isinstance(item, Mapping):
        unknown = sorted(set(item) - set(_VIP_KEYS))
        if unknown:
            raise AnsibleFilterError(
                "%s: keepalived_vips[%d] has unknown keys %s; allowed: %s"
                % (filter_name, index, ", ".join(unknown), ", ".join(_VIP_KEYS))
            )
        raw, iface, vrid = item.get("address"), item.get("interface") or interface, item.get("virtual_router_id")
    else:
        raw, iface, vrid = item, interface, None
    text = to_text(raw).strip() if raw is not None else ""
    if addr.netaddr.valid_ipv4(text, flags=addr.netaddr.INET_PTON):
        address = addr.netaddr.IPAddress(text)
    elif addr.netaddr.valid_ipv6(text):
        address = addr.netaddr.IPAddress(text, 6)
    else:
        raise AnsibleFilterError(
            "%s: keepalived_vips has %s, which is not a valid IPv4 or IPv6 address"
            % (filter_name, json.dumps(to_text(raw) if raw is not None else None))
        )
    if not iface or not _IFACE.match(to_text(iface)):
        raise AnsibleFilterError(
            "%s: VIP %s has interface %r (keepalived_interface); it must be an interface name" % (filter_name, address, iface)
        )
    return address, to_text(iface), vrid


def vip_addresses(vips, interface="-"):
    """Canonical addresses of a VIP list (addresses or dicts with ``address``), validated."""
    if isinstance(vips, (str, bytes, Mapping)) or not hasattr(vips, "__iter__"):
        vips = [vips]
    addr.require_netaddr("vip_addresses")
    return [str(_parse_vip("vip_addresses", i, item, interface)[0]) for i, item in enumerate(vips)]


def _lb_vars(filter_name, lb_vars):
    if not isinstance(lb_vars, Mapping):
        raise AnsibleFilterError("%s: expected the variables of a load balancer (hostvars[...]), got %r" % (filter_name, lb_vars))
    return lb_vars


def lb_vips(lb_vars):
    """Canonical addresses of a load balancer's VIPs (``keepalived_vips``, else
    ``kubeha_vip``), validated; an empty list when it has none."""
    lb_vars = _lb_vars("lb_vips", lb_vars)
    vips = lb_vars.get("keepalived_vips") or ([lb_vars["kubeha_vip"]] if lb_vars.get("kubeha_vip") else [])
    return vip_addresses(vips) if vips else []


def vip_url(lb_vars):
    """The API URL through the first VIP, from a load balancer's variables.

    ``lb_vars`` are the variables of a load balancer (``hostvars[lb]``): the VIP
    (``keepalived_vips`` / ``kubeha_vip``), ``haproxy_frontend_port`` (8443)
    and ``haproxy_backend_tls`` (true: https). Masters and nodes read them
    there, so they may live in group_vars of the load balancers only.
    """
    filter_name = "vip_url"
    vips = lb_vips(_lb_vars(filter_name, lb_vars))
    if not vips:
        raise AnsibleFilterError(
            "%s: the load balancer %s has no VIP; set kubeha_vip (or keepalived_vips) for the load balancers, "
            "or the API URL itself in kubeha_api_url" % (filter_name, lb_vars.get("inventory_hostname", "?")))
    address = vips[0]
    port = to_text(lb_vars.get("haproxy_frontend_port", 8443))
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise AnsibleFilterError("%s: haproxy_frontend_port of %s is %r; a port must be an integer from 1 to 65535"
                                 % (filter_name, lb_vars.get("inventory_hostname", "?"), port))
    tls = lb_vars.get("haproxy_backend_tls", True)
    scheme = "http" if (tls is False or to_text(tls).lower() in ("false", "no", "0", "off")) else "https"
    host = "[%s]" % address if ":" in address else address
    return "%s://%s:%d" % (scheme, host, int(port))


def vrrp_instances(vips, hostvars, hosts, inventory_hostname, interface, router_id=0, version=2, unicast=True,
                   resolver=None):
    """The keepalived VRRP instances of ``inventory_hostname``: one per VIP.

    See vrrp_instances.yml for the returned keys. Everything the load balancers
    must agree on (VIPs, router ids, versions) depends only on the inputs that
    are the same on every node; the source address and peers are per node.
    """
    filter_name = "vrrp_instances"
    addr.require_netaddr(filter_name)
    if isinstance(vips, (str, bytes, Mapping)) or not hasattr(vips, "__iter__"):
        vips = [vips]
    vips = list(vips)
    if not vips:
        raise AnsibleFilterError("%s: no VIP; set kubeha_vip or keepalived_vips" % filter_name)
    # Only the VRRP addresses must be unique (checked below): load balancers
    # reached through one NAT address (ansible_host) are fine.
    names = addr.host_names(filter_name, hosts, "the 'hosts' argument")
    for name in names:
        addr.host_vars(filter_name, hostvars, name)
    me = to_text(inventory_hostname)
    if me not in names:
        raise AnsibleFilterError(
            "%s: host '%s' (inventory_hostname) is not in the load balancer list %s" % (filter_name, me, names)
        )
    router_id = addr.int_arg(filter_name, "keepalived_virtual_router_id", router_id)
    version = addr.int_arg(filter_name, "keepalived_vrrp_version", version)
    if version not in (2, 3):
        raise AnsibleFilterError("%s: keepalived_vrrp_version is %r; it must be 2 or 3" % (filter_name, version))
    addresses = {}

    def address_of(host, family):
        if (host, family) not in addresses:
            addresses[(host, family)] = addr.vrrp_address(filter_name, host, hostvars[host], family, resolver)
        return addresses[(host, family)]

    instances, seen_vips, seen_ids = [], {}, {}
    for index, item in enumerate(vips):
        address, iface, vrid = _parse_vip(filter_name, index, item, interface)
        canonical = str(address)
        if canonical in seen_vips:
            raise AnsibleFilterError(
                "%s: VIP %s is listed twice in keepalived_vips (%s and %s)" % (filter_name, canonical, seen_vips[canonical],
                                                                               to_text(item if not isinstance(item, Mapping) else item.get("address")))
            )
        seen_vips[canonical] = to_text(item if not isinstance(item, Mapping) else item.get("address"))
        family = address.version
        if vrid not in (None, ""):
            vrid, origin = addr.int_arg(filter_name, "virtual_router_id of VIP %s" % canonical, vrid), "set in keepalived_vips"
        elif index == 0 and router_id > 0:
            vrid, origin = router_id, "keepalived_virtual_router_id"
        else:
            vrid, origin = derived_router_id(canonical), "derived from the VIP"
        if not 1 <= vrid <= 255:
            raise AnsibleFilterError(
                "%s: virtual_router_id of VIP %s is %d (%s); it must be from 1 to 255" % (filter_name, canonical, vrid, origin)
            )
        key = (iface, family, vrid)
        if key in seen_ids:
            other, other_origin = seen_ids[key]
            raise AnsibleFilterError(
                "%s: VIPs %s (%s) and %s (%s) both use virtual_router_id %d on interface %s; give one of them its own "
                "virtual_router_id in keepalived_vips" % (filter_name, other, other_origin, canonical, origin, vrid, iface)
            )
        seen_ids[key] = (canonical, origin)
        instance = {
            "name": "VI_" + re.sub(r"[^0-9A-Za-z]", "_", canonical),
            "address": canonical,
            "family": family,
            "prefix": 32 if family == 4 else 128,
            # VRRPv2 has no IPv6: IPv6 VIPs always use VRRPv3.
            "version": 3 if family == 6 else version,
            "interface": iface,
            "virtual_router_id": vrid,
            "unicast": bool(unicast),
            "src_ip": None,
            "src_source": None,
            "peers": [],
        }
        if unicast:
            for host in names:
                found, source = address_of(host, family)
                if found is None:
                    raise AnsibleFilterError(
                        "%s: VIP %s is IPv%d, but host '%s' has no IPv%d address for VRRP unicast: %s. Set %s for every "
                        "load balancer (or keepalived_unicast: false for multicast)"
                        % (filter_name, canonical, family, host, family, source, addr.VRRP_SRC_VARS[family])
                    )
                if host == me:
                    instance["src_ip"], instance["src_source"] = found, source
                else:
                    instance["peers"].append(found)
            # A lone load balancer has nobody to advertise to.
            instance["unicast"] = bool(instance["peers"])
            duplicates = sorted({a for a in instance["peers"] if instance["peers"].count(a) > 1 or a == instance["src_ip"]})
            if duplicates:
                raise AnsibleFilterError(
                    "%s: VRRP addresses for VIP %s are not unique: %s is used by more than one load balancer"
                    % (filter_name, canonical, ", ".join(duplicates))
                )
        instances.append(instance)
    return instances


HOST_ADDRESS_VARS = addr.ADDRESS_VARS + (addr.VRRP_SRC_VARS[4], addr.VRRP_SRC_VARS[6])


def vip_host_conflicts(vips, hostvars, hosts, resolver=None):
    """The hosts of ``hosts`` whose address is one of ``vips``: a list of dicts ``vip``, ``host``,
    ``variable``, ``value`` and ``resolved``, in host order.

    A host's addresses are the IP addresses among its ``kubeha_address``, ``ansible_host``,
    ``keepalived_unicast_src_ip``, ``keepalived_unicast_src_ip6`` and inventory hostname, and the
    address the other filters use for it (``kubeha_address``, else ``ansible_host``, else the
    inventory hostname) when that is a DNS name: every address it resolves to on the controller
    in the VIPs' families (``resolved`` is then true). An invalid ``kubeha_address`` is an error
    naming the host, as in the other filters; other values that are not addresses are ignored.
    """
    filter_name = "vip_host_conflicts"
    addr.require_netaddr(filter_name)
    if isinstance(vips, (str, bytes, Mapping)) or not hasattr(vips, "__iter__"):
        vips = [vips]
    wanted = [str(_parse_vip(filter_name, i, item, "-")[0]) for i, item in enumerate(vips)]
    families = sorted({addr.netaddr.IPAddress(v).version for v in wanted})
    names = addr.host_names(filter_name, hosts, "the 'hosts' argument")
    resolver = resolver or addr.resolve
    conflicts = []

    def add(vip, host, var, value, resolved):
        entry = {"vip": vip, "host": host, "variable": var, "value": to_text(value), "resolved": resolved}
        if entry not in conflicts:
            conflicts.append(entry)

    for host in names:
        hvars = addr.host_vars(filter_name, hostvars, host)
        values = []
        for var in HOST_ADDRESS_VARS:
            try:
                value = hvars.get(var)
                if value not in (None, ""):
                    values.append((var, to_text(value)))
            except AnsibleError as exc:
                raise AnsibleFilterError("%s: host '%s': %s cannot be evaluated: %s" % (filter_name, host, var, to_text(exc))) from None
        values.append(("inventory_hostname", host))
        # The address the other filters give the host: the first of addr.ADDRESS_VARS set, else its name.
        effective = next(((var, value) for var, value in values if var in addr.ADDRESS_VARS + ("inventory_hostname",)))
        for var, value in values:
            text = value.strip()
            if text.startswith("[") and text.endswith("]"):
                text = text[1:-1]
            if addr.netaddr.valid_ipv4(text, flags=addr.netaddr.INET_PTON) or addr.netaddr.valid_ipv6(text):
                address = str(addr.netaddr.IPAddress(text))
                if address in wanted:
                    add(address, host, var, value, False)
            elif (var, value) == effective:
                if var != "kubeha_address" and not addr.is_dns_name(text):
                    continue  # not an address (an SSH alias?); the filters that need one say so
                name, _key = addr.normalize_address(filter_name, host, var, value)
                for family in families:
                    for address in resolver(name, family):
                        if address in wanted:
                            add(address, host, var, value, True)
    return conflicts


class FilterModule:
    """kubeha.control_plane VIP and VRRP filters."""

    def filters(self):
        return {
            "vrrp_peers": vrrp_peers,
            "vrrp_instances": vrrp_instances,
            "vip_addresses": vip_addresses,
            "lb_vips": lb_vips,
            "vip_url": vip_url,
            "vip_host_conflicts": vip_host_conflicts,
        }
