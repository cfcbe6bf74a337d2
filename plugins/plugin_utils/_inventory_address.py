# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host addresses as the kubeha.control_plane filters read them from the inventory
(``kubeha_address``, else ``ansible_host``, else the inventory hostname), shared by the
filters in ``plugins/filter/hosts.py``, ``vrrp.py`` and ``firewalld.py``.

Private to the collection: not a public API, it may change without notice. Errors are
raised as AnsibleFilterError messages prefixed with the name of the calling filter.
"""

from __future__ import annotations

import re
import socket

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

try:
    import netaddr
except ImportError:  # pragma: no cover - exercised by a unit test that hides netaddr
    netaddr = None


ADDRESS_VARS = ("kubeha_address", "ansible_host")


_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def require_netaddr(filter_name):
    """Raise the error a filter gives when netaddr is missing on the controller."""
    if netaddr is None:
        raise AnsibleFilterError(
            "%s: the Python library 'netaddr' is required by this filter; "
            "install it on the Ansible controller (pip install netaddr)" % filter_name
        )


def is_dns_name(value):
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
        if is_dns_name(text):
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


def host_vars(filter_name, hostvars, host):
    try:
        known = host in hostvars
    except TypeError:
        known = False
    if not known:
        raise AnsibleFilterError(
            "%s: host '%s' is not in hostvars (is it in the inventory?)" % (filter_name, host)
        )
    return hostvars[host]


def host_names(filter_name, hosts, what="the input"):
    """``hosts`` as a non-empty list of inventory hostnames, or raise AnsibleFilterError."""
    if isinstance(hosts, (str, bytes)) or not hasattr(hosts, "__iter__"):
        raise AnsibleFilterError(
            "%s: %s must be a list of inventory hostnames, got %r" % (filter_name, what, hosts)
        )
    hosts = [to_text(h) for h in hosts]
    if not hosts:
        raise AnsibleFilterError(
            "%s: the host list is empty; the inventory group it came from has no hosts" % filter_name
        )
    return hosts


def resolve_hosts(filter_name, hosts, hostvars, port=None, port_var=None):
    """Validate ``hosts`` and return a list of dicts name/address/port (port if asked).

    The address of a host is ``kubeha_address`` if set, else ``ansible_host``,
    else the inventory hostname. Raises AnsibleFilterError on the first bad
    value, naming the filter, the host, the variable and the value.
    """
    require_netaddr(filter_name)
    hosts = host_names(filter_name, hosts)
    if port is not None:
        port = validate_port(filter_name, port, "the 'port' argument")
    seen = {}
    resolved = []
    for host in hosts:
        hvars = host_vars(filter_name, hostvars, host)
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


VRRP_SRC_VARS = {4: "keepalived_unicast_src_ip", 6: "keepalived_unicast_src_ip6"}


def resolve(name, family):
    """IP addresses of ``family`` that ``name`` resolves to on the controller (sorted, unique)."""
    try:
        infos = socket.getaddrinfo(name, None, socket.AF_INET if family == 4 else socket.AF_INET6, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return sorted({str(netaddr.IPAddress(info[4][0].split("%")[0])) for info in infos})


def vrrp_address(filter_name, host, hvars, family, resolver=None):
    """Return ``(address, source)``: the IPv4/IPv6 address ``host`` uses for VRRP, or ``(None, reason)``.

    ``keepalived_unicast_src_ip`` (IPv4) / ``keepalived_unicast_src_ip6`` (IPv6)
    win; otherwise the host's inventory address (``kubeha_address``,
    ``ansible_host``, inventory hostname) when it is an address of that family,
    or a DNS name that resolves to exactly one address of that family on the
    controller. keepalived takes only IP addresses, so a name is never passed on.
    """
    var = VRRP_SRC_VARS[family]
    explicit = hvars.get(var)
    if explicit not in (None, ""):
        text = to_text(explicit).strip().strip("[]")
        if (family == 4 and netaddr.valid_ipv4(text, flags=netaddr.INET_PTON)) or (family == 6 and netaddr.valid_ipv6(text)):
            return str(netaddr.IPAddress(text)), var
        raise AnsibleFilterError(
            "%s: host '%s' has %s=%r, which is not an IPv%d address" % (filter_name, host, var, to_text(explicit), family)
        )
    return inventory_address(filter_name, host, hvars, family, resolver)


def inventory_address(filter_name, host, hvars, family, resolver=None):
    """Return ``(address, source)``: the host's inventory address (``kubeha_address``,
    ``ansible_host``, inventory hostname) when it is an IPv4/IPv6 (``family``) address, or a
    DNS name that resolves to exactly one address of that family on the controller; else
    ``(None, reason)``."""
    resolver = resolver or resolve
    src_var, value = "inventory_hostname", host
    for candidate in ADDRESS_VARS:
        if hvars.get(candidate) not in (None, ""):
            src_var, value = candidate, hvars.get(candidate)
            break
    address, _key = normalize_address(filter_name, host, src_var, value)
    if netaddr.valid_ipv4(address, flags=netaddr.INET_PTON) or netaddr.valid_ipv6(address):
        if netaddr.IPAddress(address).version == family:
            return address, src_var
        return None, "its address %s (%s) is IPv%d" % (address, src_var, 10 - family)
    found = resolver(address, family)
    if len(found) == 1:
        return found[0], "%s %s, resolved on the controller" % (src_var, address)
    if not found:
        return None, "its name %s (%s) does not resolve to an IPv%d address on the controller" % (address, src_var, family)
    return None, "its name %s (%s) resolves to several IPv%d addresses (%s)" % (
        address, src_var, family, ", ".join(found))


def family_arg(filter_name, family):
    if family in (4, 6, "4", "6"):
        return int(family)
    raise AnsibleFilterError("%s: the 'family' argument is %r; it must be 4 or 6" % (filter_name, family))


def int_arg(filter_name, what, value):
    if isinstance(value, bool):
        raise AnsibleFilterError("%s: %s is %r; it must be an integer" % (filter_name, what, value))
    try:
        return int(to_text(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise AnsibleFilterError("%s: %s is %r; it must be an integer" % (filter_name, what, value)) from None
