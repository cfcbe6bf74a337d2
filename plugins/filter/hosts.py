# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn inventory groups into endpoint lists.

The documentation of each filter lives beside this file in ``<filter>.yml``
(``ansible-doc -t filter kubeha.control_plane.etcd_servers``).
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

try:
    import netaddr
except ImportError:  # pragma: no cover - exercised by a unit test that hides netaddr
    netaddr = None

ADDRESS_VARS = ("kubeha_address", "ansible_host")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_SCHEMES = ("http", "https")


def _require_netaddr(filter_name):
    if netaddr is None:
        raise AnsibleFilterError(
            "%s: the Python library 'netaddr' is required by this filter; "
            "install it on the Ansible controller (pip install netaddr)" % filter_name
        )


def _is_dns_name(value):
    name = value[:-1] if value.endswith(".") else value
    if not name or len(name) > 253:
        return False
    labels = name.split(".")
    if not all(_LABEL.match(label) for label in labels):
        return False
    # A name whose last label is all digits is a mistyped IPv4 address
    # ("10.0.0.300"), never a DNS name (RFC 3696, section 2).
    return not labels[-1].isdigit()


def normalize_address(filter_name, host, var, value):
    """Return (address, key) for a host address, or raise AnsibleFilterError.

    ``address`` is what goes into configuration (IPv6 without brackets,
    canonical form); ``key`` is used to detect two hosts sharing an address.
    """
    text = to_text(value).strip() if value is not None else ""
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if text:
        if netaddr.valid_ipv4(text, flags=netaddr.INET_PTON):
            address = str(netaddr.IPAddress(text))
            return address, address
        if netaddr.valid_ipv6(text):
            address = str(netaddr.IPAddress(text, 6))
            return address, address
        if _is_dns_name(text):
            return text, text.rstrip(".").lower()
    raise AnsibleFilterError(
        "%s: host '%s' has an invalid address %r in %s: it is neither a valid "
        "IPv4 or IPv6 address nor a valid DNS name" % (filter_name, host, to_text(value), var)
    )


def validate_port(filter_name, value, where):
    """Return ``value`` as an int in 1-65535, or raise AnsibleFilterError naming ``where``."""
    if isinstance(value, bool):
        port = None
    elif isinstance(value, int):
        port = value
    else:
        text = to_text(value).strip()
        port = int(text) if text.isdigit() else None
    if port is None or not 1 <= port <= 65535:
        raise AnsibleFilterError(
            "%s: %s is %r; a port must be an integer from 1 to 65535" % (filter_name, where, value)
        )
    return port


def _host_vars(filter_name, hostvars, host):
    try:
        known = host in hostvars
    except TypeError:
        known = False
    if not known:
        raise AnsibleFilterError(
            "%s: host '%s' is not in hostvars (is it in the inventory?)" % (filter_name, host)
        )
    return hostvars[host]


def resolve_hosts(filter_name, hosts, hostvars, port=None, port_var=None):
    """Validate ``hosts`` and return a list of dicts name/address/port (port if asked).

    The address of a host is ``kubeha_address`` if set, else ``ansible_host``,
    else the inventory hostname. Raises AnsibleFilterError on the first bad
    value, naming the filter, the host, the variable and the value.
    """
    _require_netaddr(filter_name)
    if isinstance(hosts, (str, bytes)) or not hasattr(hosts, "__iter__"):
        raise AnsibleFilterError(
            "%s: the input must be a list of inventory hostnames, got %r" % (filter_name, hosts)
        )
    hosts = [to_text(h) for h in hosts]
    if not hosts:
        raise AnsibleFilterError(
            "%s: the host list is empty; the inventory group it came from has no hosts" % filter_name
        )
    if port is not None:
        port = validate_port(filter_name, port, "the 'port' argument")
    seen = {}
    resolved = []
    for host in hosts:
        hvars = _host_vars(filter_name, hostvars, host)
        var, value = "inventory_hostname", host
        for candidate in ADDRESS_VARS:
            candidate_value = hvars.get(candidate)
            if candidate_value not in (None, ""):
                var, value = candidate, candidate_value
                break
        address, key = normalize_address(filter_name, host, var, value)
        if key in seen:
            raise AnsibleFilterError(
                "%s: hosts '%s' and '%s' have the same address '%s'; every host needs its own "
                "(set kubeha_address or ansible_host)" % (filter_name, seen[key], host, address)
            )
        seen[key] = host
        entry = {"name": host, "address": address}
        if port is not None:
            override = hvars.get(port_var)
            entry["port"] = port if override in (None, "") else validate_port(
                filter_name, override, "%s of host '%s'" % (port_var, host)
            )
        resolved.append(entry)
    return resolved


def url_host(address):
    """Bracket an IPv6 address for use in a URL or host:port."""
    return "[%s]" % address if ":" in address else address


def etcd_servers(hosts, hostvars, scheme="https", port=2379):
    """List of etcd client URLs for ``hosts``, in inventory order."""
    if scheme not in _SCHEMES:
        raise AnsibleFilterError(
            "etcd_servers: the 'scheme' argument is %r; it must be one of %s"
            % (scheme, ", ".join(_SCHEMES))
        )
    return [
        "%s://%s:%d" % (scheme, url_host(h["address"]), h["port"])
        for h in resolve_hosts("etcd_servers", hosts, hostvars, port, "kubeha_etcd_port")
    ]


def haproxy_backends(hosts, hostvars, port=6443):
    """List of ``{'name', 'address', 'port'}`` dicts for HAProxy ``server`` lines."""
    return resolve_hosts("haproxy_backends", hosts, hostvars, port, "kubeha_apiserver_port")


def vrrp_peers(hosts, hostvars, inventory_hostname):
    """Addresses of every host of ``hosts`` except ``inventory_hostname``."""
    resolved = resolve_hosts("vrrp_peers", hosts, hostvars)
    me = to_text(inventory_hostname)
    if me not in [h["name"] for h in resolved]:
        raise AnsibleFilterError(
            "vrrp_peers: host '%s' (inventory_hostname) is not in the host list %s"
            % (me, [h["name"] for h in resolved])
        )
    return [h["address"] for h in resolved if h["name"] != me]


class FilterModule:
    """kubeha.control_plane endpoint filters."""

    def filters(self):
        return {
            "etcd_servers": etcd_servers,
            "haproxy_backends": haproxy_backends,
            "vrrp_peers": vrrp_peers,
        }
