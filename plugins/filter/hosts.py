# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn inventory groups into endpoint lists (etcd client URLs, HAProxy servers),
and find the interface of a host that has its cluster address.

The documentation of each filter lives beside this file in ``<filter>.yml``
(``ansible-doc -t filter kubeha.control_plane.etcd_servers``).
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.kubeha.control_plane.plugins.plugin_utils import _inventory_address as addr

_SCHEMES = ("http", "https")


def etcd_servers(hosts, hostvars, scheme="https", port=2379):
    """List of etcd client URLs for ``hosts``, in inventory order."""
    if scheme not in _SCHEMES:
        raise AnsibleFilterError(
            "etcd_servers: the 'scheme' argument is %r; it must be one of %s"
            % (scheme, ", ".join(_SCHEMES))
        )
    return [
        "%s://%s:%d" % (scheme, addr.url_host(h["address"]), h["port"])
        for h in addr.resolve_hosts("etcd_servers", hosts, hostvars, port, "kubeha_etcd_port")
    ]


def haproxy_backends(hosts, hostvars, port=6443):
    """List of ``{'name', 'address', 'port'}`` dicts for HAProxy ``server`` lines."""
    return addr.resolve_hosts("haproxy_backends", hosts, hostvars, port, "kubeha_apiserver_port")


def _canonical_ip(value):
    text = to_text(value or "").strip().split("%")[0].strip("[]")
    if addr.netaddr.valid_ipv4(text, flags=addr.netaddr.INET_PTON) or addr.netaddr.valid_ipv6(text):
        return str(addr.netaddr.IPAddress(text))
    return None


def address_interface(facts, address=None):
    """The name of the interface in ``facts`` (a host's ``ansible_facts``) that has ``address``
    (primary or secondary IPv4, or IPv6), else of the default route's interface (IPv4, then
    IPv6); "" when there is neither. ``address`` may be bracketed, empty, or not an IP address
    (a DNS name: the default route's interface)."""
    filter_name = "address_interface"
    addr.require_netaddr(filter_name)
    if not isinstance(facts, Mapping):
        raise AnsibleFilterError("%s: expected a host's ansible_facts (gathered facts), got %r" % (filter_name, type(facts).__name__))
    wanted = _canonical_ip(address)
    if wanted:
        for name in sorted(to_text(n) for n in facts.get("interfaces") or []):
            iface = facts.get(name.replace("-", "_")) or {}
            if not isinstance(iface, Mapping):
                continue
            own = (([iface["ipv4"]] if isinstance(iface.get("ipv4"), Mapping) else [])
                   + list(iface.get("ipv4_secondaries") or []) + list(iface.get("ipv6") or []))
            if any(isinstance(a, Mapping) and _canonical_ip(a.get("address")) == wanted for a in own):
                return name
    for key in ("default_ipv4", "default_ipv6"):
        route = facts.get(key) or {}
        if isinstance(route, Mapping) and route.get("interface"):
            return to_text(route["interface"])
    return ""


class FilterModule:
    """kubeha.control_plane endpoint filters (etcd, HAProxy) and a host's interface for an address."""

    def filters(self):
        return {
            "etcd_servers": etcd_servers,
            "haproxy_backends": haproxy_backends,
            "address_interface": address_interface,
        }
