# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn inventory groups into endpoint lists.

The documentation of each filter lives beside this file in ``<filter>.yml``
(``ansible-doc -t filter kubeha.control_plane.etcd_servers``).
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
from collections.abc import Mapping

from ansible.errors import AnsibleError, AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

try:
    import netaddr
except ImportError:  # pragma: no cover - exercised by a unit test that hides netaddr
    netaddr = None

ADDRESS_VARS = ("kubeha_address", "ansible_host")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_SCHEMES = ("http", "https")
_IFACE = re.compile(r"^[A-Za-z0-9_.:@-]{1,15}$")


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


def _host_names(filter_name, hosts, what="the input"):
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
    _require_netaddr(filter_name)
    hosts = _host_names(filter_name, hosts)
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


VRRP_SRC_VARS = {4: "keepalived_unicast_src_ip", 6: "keepalived_unicast_src_ip6"}
_VIP_KEYS = ("address", "interface", "virtual_router_id")


def _resolve(name, family):
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
    resolver = resolver or _resolve
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


def vrrp_peers(hosts, hostvars, inventory_hostname, family=4):
    """IP addresses (of ``family``) of every host of ``hosts`` except ``inventory_hostname``.

    DNS names are resolved on the controller (keepalived takes only addresses);
    a host without an address of ``family`` is an error naming the variable to set.
    """
    filter_name = "vrrp_peers"
    resolved = resolve_hosts(filter_name, hosts, hostvars)
    me = to_text(inventory_hostname)
    if me not in [h["name"] for h in resolved]:
        raise AnsibleFilterError(
            "%s: host '%s' (inventory_hostname) is not in the host list %s"
            % (filter_name, me, [h["name"] for h in resolved])
        )
    family = _family_arg(filter_name, family)
    peers = []
    for h in resolved:
        if h["name"] == me:
            continue
        address, source = vrrp_address(filter_name, h["name"], hostvars[h["name"]], family)
        if address is None:
            raise AnsibleFilterError(
                "%s: host '%s' has no IPv%d address for VRRP: %s; set %s"
                % (filter_name, h["name"], family, source, VRRP_SRC_VARS[family])
            )
        peers.append(address)
    return peers


def _family_arg(filter_name, family):
    if family in (4, 6, "4", "6"):
        return int(family)
    raise AnsibleFilterError("%s: the 'family' argument is %r; it must be 4 or 6" % (filter_name, family))


def _int_arg(filter_name, what, value):
    if isinstance(value, bool):
        raise AnsibleFilterError("%s: %s is %r; it must be an integer" % (filter_name, what, value))
    try:
        return int(to_text(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise AnsibleFilterError("%s: %s is %r; it must be an integer" % (filter_name, what, value)) from None


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
    if netaddr.valid_ipv4(text, flags=netaddr.INET_PTON):
        address = netaddr.IPAddress(text)
    elif netaddr.valid_ipv6(text):
        address = netaddr.IPAddress(text, 6)
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
    _require_netaddr("vip_addresses")
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
    _require_netaddr(filter_name)
    if isinstance(vips, (str, bytes, Mapping)) or not hasattr(vips, "__iter__"):
        vips = [vips]
    vips = list(vips)
    if not vips:
        raise AnsibleFilterError("%s: no VIP; set kubeha_vip or keepalived_vips" % filter_name)
    # Only the VRRP addresses must be unique (checked below): load balancers
    # reached through one NAT address (ansible_host) are fine.
    names = _host_names(filter_name, hosts, "the 'hosts' argument")
    for name in names:
        _host_vars(filter_name, hostvars, name)
    me = to_text(inventory_hostname)
    if me not in names:
        raise AnsibleFilterError(
            "%s: host '%s' (inventory_hostname) is not in the load balancer list %s" % (filter_name, me, names)
        )
    router_id = _int_arg(filter_name, "keepalived_virtual_router_id", router_id)
    version = _int_arg(filter_name, "keepalived_vrrp_version", version)
    if version not in (2, 3):
        raise AnsibleFilterError("%s: keepalived_vrrp_version is %r; it must be 2 or 3" % (filter_name, version))
    addresses = {}

    def address_of(host, family):
        if (host, family) not in addresses:
            addresses[(host, family)] = vrrp_address(filter_name, host, hostvars[host], family, resolver)
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
            vrid, origin = _int_arg(filter_name, "virtual_router_id of VIP %s" % canonical, vrid), "set in keepalived_vips"
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
                        % (filter_name, canonical, family, host, family, source, VRRP_SRC_VARS[family])
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


def _firewalld_source(filter_name, value):
    """``(family, text)`` of an address or network for a rich rule's source, canonical."""
    text = to_text(value).strip()
    try:
        network = netaddr.IPNetwork(text)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        network = None
    if network is None or ("/" not in text and not (netaddr.valid_ipv4(text, flags=netaddr.INET_PTON) or netaddr.valid_ipv6(text))):
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
    _require_netaddr(filter_name)
    names = _host_names(filter_name, hosts, "the host list")
    families = [_family_arg(filter_name, f) for f in (families if hasattr(families, "__iter__") and not isinstance(families, str)
                                                      else [families])]
    protocol = to_text(protocol).strip().lower()
    if not re.match(r"^[a-z][a-z0-9-]*$", protocol):
        raise AnsibleFilterError("%s: protocol %r is not a protocol name" % (filter_name, protocol))
    ports = [validate_port(filter_name, p, "a port") for p in (ports or [])]
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
        hvars = _host_vars(filter_name, hostvars, host)
        found, reasons = [], []
        for family in families:
            address, source = inventory_address(filter_name, host, hvars, family)
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


HOST_ADDRESS_VARS = ADDRESS_VARS + (VRRP_SRC_VARS[4], VRRP_SRC_VARS[6])


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
    _require_netaddr(filter_name)
    if isinstance(vips, (str, bytes, Mapping)) or not hasattr(vips, "__iter__"):
        vips = [vips]
    wanted = [str(_parse_vip(filter_name, i, item, "-")[0]) for i, item in enumerate(vips)]
    families = sorted({netaddr.IPAddress(v).version for v in wanted})
    names = _host_names(filter_name, hosts, "the 'hosts' argument")
    resolver = resolver or _resolve
    conflicts = []

    def add(vip, host, var, value, resolved):
        entry = {"vip": vip, "host": host, "variable": var, "value": to_text(value), "resolved": resolved}
        if entry not in conflicts:
            conflicts.append(entry)

    for host in names:
        hvars = _host_vars(filter_name, hostvars, host)
        values = []
        for var in HOST_ADDRESS_VARS:
            try:
                value = hvars.get(var)
                if value not in (None, ""):
                    values.append((var, to_text(value)))
            except AnsibleError as exc:
                raise AnsibleFilterError("%s: host '%s': %s cannot be evaluated: %s" % (filter_name, host, var, to_text(exc))) from None
        values.append(("inventory_hostname", host))
        # The address the other filters give the host: the first of ADDRESS_VARS set, else its name.
        effective = next(((var, value) for var, value in values if var in ADDRESS_VARS + ("inventory_hostname",)))
        for var, value in values:
            text = value.strip()
            if text.startswith("[") and text.endswith("]"):
                text = text[1:-1]
            if netaddr.valid_ipv4(text, flags=netaddr.INET_PTON) or netaddr.valid_ipv6(text):
                address = str(netaddr.IPAddress(text))
                if address in wanted:
                    add(address, host, var, value, False)
            elif (var, value) == effective:
                if var != "kubeha_address" and not _is_dns_name(text):
                    continue  # not an address (an SSH alias?); the filters that need one say so
                name, _key = normalize_address(filter_name, host, var, value)
                for family in families:
                    for address in resolver(name, family):
                        if address in wanted:
                            add(address, host, var, value, True)
    return conflicts


class FilterModule:
    """kubeha.control_plane endpoint filters."""

    def filters(self):
        return {
            "etcd_servers": etcd_servers,
            "haproxy_backends": haproxy_backends,
            "vrrp_peers": vrrp_peers,
            "vrrp_instances": vrrp_instances,
            "vip_addresses": vip_addresses,
            "lb_vips": lb_vips,
            "vip_url": vip_url,
            "firewalld_rich_rules": firewalld_rich_rules,
            "vrrp_rich_rules": vrrp_rich_rules,
            "vip_host_conflicts": vip_host_conflicts,
        }
