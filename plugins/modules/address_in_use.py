#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: address_in_use
short_description: Tell whether an IP address already answers on a network segment (duplicate address detection)
version_added: 0.5.0
description:
  - Read-only check, run on the host that is to take O(address) (for example a load balancer before keepalived adds
    a VIP), of whether another host on the segment of O(interface) already uses that address.
  - For an IPv4 address it sends ARP probes, ARP requests from the sender address C(0.0.0.0) as RFC 5227 and
    C(arping -D) do, so that no host learns a wrong mapping. Any ARP reply or request whose sender address is
    O(address) means the address is in use.
  - For an IPv6 address it sends Neighbor Solicitations from the unspecified address C(::) to the solicited-node
    multicast group of O(address), as duplicate address detection does (RFC 4862). A Neighbor Advertisement for
    O(address) means the address is in use.
  - Sends O(count) probes spread over O(timeout) seconds and listens until O(timeout) has passed, through a raw
    C(AF_PACKET) socket of Python's standard library; it needs neither C(arping) nor C(ndisc6).
  - Only answers from other hosts count. The host does not answer its own probes, so an address configured on the
    host itself is not reported. Probes of other hosts for the same address (two hosts checking at once) are not
    answers, and are ignored.
  - Never changes anything.
author:
  - kubeha.control_plane contributors (@kubeha)
requirements:
  - Linux, and root or the capability C(CAP_NET_RAW) (raw packet socket), so usually run with C(become=true).
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: The module only sends probes and listens; it behaves the same in check mode.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
    details: Linux only (C(AF_PACKET) sockets), on an Ethernet interface (including bridges, bonds, VLANs and veth).
options:
  address:
    description:
      - The IPv4 or IPv6 address to look for, for example a VIP.
      - It must be a unicast address (not unspecified, loopback, multicast or the IPv4 broadcast address).
    type: str
    required: true
  interface:
    description:
      - The interface whose segment is probed, the one that is to carry O(address).
    type: str
    required: true
  count:
    description:
      - How many probes to send, the first at once and the others spread evenly over O(timeout).
      - From V(1) to V(100).
    type: int
    default: 3
  timeout:
    description:
      - Seconds to listen for answers, from the first probe on. More than V(0), at most V(60).
    type: float
    default: 1.0
seealso:
  - name: RFC 5227, IPv4 Address Conflict Detection
    description: The ARP probe, sent from C(0.0.0.0).
    link: https://www.rfc-editor.org/rfc/rfc5227
  - name: RFC 4862, IPv6 Stateless Address Autoconfiguration, section 5.4
    description: Duplicate address detection with Neighbor Solicitations from C(::).
    link: https://www.rfc-editor.org/rfc/rfc4862#section-5.4
notes:
  - A host that does not answer ARP or Neighbor Solicitations for the address (a firewall dropping them, a host
    that is down) is not found. An answer proves the address is in use; no answer does not prove it is free.
"""

EXAMPLES = r"""
- name: Is the VIP already taken on the segment of eth0?
  kubeha.control_plane.address_in_use:
    address: 10.146.47.90
    interface: eth0
  become: true
  register: vip_probe

- name: Refuse a VIP that another host answers for
  ansible.builtin.assert:
    that: not vip_probe.in_use
    fail_msg: "10.146.47.90 is in use on eth0 by {{ vip_probe.macs | join(', ') }}"

- name: IPv6, five probes over two seconds
  kubeha.control_plane.address_in_use:
    address: fd00:47::90
    interface: eth0
    count: 5
    timeout: 2
  become: true
"""

RETURN = r"""
in_use:
  description: Whether another host answered for RV(address).
  returned: success
  type: bool
  sample: true
macs:
  description:
    - The MAC addresses that answered for RV(address), lower case, in the order they first answered.
    - More than one means that several hosts claim the address.
  returned: success
  type: list
  elements: str
  sample: ['52:54:00:12:34:56']
address:
  description: The address probed, in canonical form.
  returned: always
  type: str
  sample: 10.146.47.90
family:
  description: The address family of RV(address), V(4) or V(6).
  returned: success
  type: int
  sample: 4
interface:
  description: The interface probed.
  returned: always
  type: str
  sample: eth0
interface_mac:
  description: The MAC address of RV(interface), the source of the probes.
  returned: success
  type: str
  sample: '52:54:00:ab:cd:ef'
probes:
  description: How many probes were sent.
  returned: success
  type: int
  sample: 3
"""

import errno
import ipaddress
import select
import socket
import struct
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native, to_text

ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
ARPHRD_ETHER = 1
ARPOP_REQUEST = 1
ARPOP_REPLY = 2
IPPROTO_ICMPV6 = 58
ND_NEIGHBOR_SOLICIT = 135
ND_NEIGHBOR_ADVERT = 136
ND_OPT_TARGET_LL_ADDR = 2
# <linux/if_packet.h>; the socket module does not export them all.
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_MULTICAST = 0
PACKET_OUTGOING = 4
BROADCAST_MAC = b"\xff" * 6
ZERO_MAC = b"\x00" * 6
# Link-local all-nodes group ff02::1, where a node answering duplicate address detection sends its advert.
ALL_NODES_MAC = b"\x33\x33\x00\x00\x00\x01"
# Ethernet frames shorter than 60 bytes (without FCS) are padded.
ETH_MIN_FRAME = 60


class ProbeError(Exception):
    """A probe that cannot be made; the message says why and what to do."""


def parse_address(value):
    """The ``ipaddress`` object of ``value``, a unicast IPv4 or IPv6 address, or raise ProbeError."""
    text = to_text(value).strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise ProbeError("address %r is not an IPv4 or IPv6 address" % to_text(value)) from None
    if (address.is_unspecified or address.is_loopback or address.is_multicast
            or (address.version == 4 and address == ipaddress.IPv4Address("255.255.255.255"))):
        raise ProbeError("address %s is not a unicast address another host could hold; nothing to probe" % address)
    return address


def mac_text(raw):
    """``aa:bb:cc:dd:ee:ff`` for 6 raw bytes."""
    return ":".join("%02x" % b for b in bytearray(raw))


def _pad(frame):
    return frame + b"\x00" * max(0, ETH_MIN_FRAME - len(frame))


def arp_probe(own_mac, target):
    """An ARP probe (RFC 5227) for IPv4 ``target`` from ``own_mac``: a broadcast ARP request whose sender
    address is 0.0.0.0 and whose target hardware address is zero."""
    ether = BROADCAST_MAC + own_mac + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH", ARPHRD_ETHER, ETH_P_IP, 6, 4, ARPOP_REQUEST)
    arp += own_mac + b"\x00\x00\x00\x00" + ZERO_MAC + target.packed
    return _pad(ether + arp)


def arp_answer(frame, target, own_mac):
    """The sender MAC (text) of an ARP packet that shows ``target`` in use, or None.

    Any ARP reply or request whose sender address is ``target`` counts (the owner's reply to the
    probe, its gratuitous ARP, or a request it makes); probes (sender 0.0.0.0) and our own frames do not.
    """
    if len(frame) < 42 or frame[12:14] != struct.pack("!H", ETH_P_ARP):
        return None
    htype, ptype, hlen, plen, oper = struct.unpack("!HHBBH", frame[14:22])
    if (htype, ptype, hlen, plen) != (ARPHRD_ETHER, ETH_P_IP, 6, 4) or oper not in (ARPOP_REQUEST, ARPOP_REPLY):
        return None
    sha, spa = frame[22:28], frame[28:32]
    if spa != target.packed or sha == own_mac:
        return None
    return mac_text(sha)


def solicited_node(target):
    """The solicited-node multicast address (16 bytes) of IPv6 ``target`` and its Ethernet group MAC."""
    low = target.packed[13:]
    return ipaddress.IPv6Address("ff02::1:ff00:0").packed[:13] + low, b"\x33\x33\xff" + low


def icmpv6_checksum(src, dst, message):
    """The ICMPv6 checksum (RFC 4443) of ``message`` (checksum field zero) from ``src`` to ``dst`` (16 bytes each)."""
    data = src + dst + struct.pack("!I3xB", len(message), IPPROTO_ICMPV6) + message
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ns_probe(own_mac, target):
    """A duplicate address detection Neighbor Solicitation (RFC 4862 5.4.2) for IPv6 ``target``: from ::
    to the solicited-node group, hop limit 255, without a source link-layer address option."""
    src = ipaddress.IPv6Address("::").packed
    dst, dst_mac = solicited_node(target)
    message = struct.pack("!BBH4x", ND_NEIGHBOR_SOLICIT, 0, 0) + target.packed
    message = message[:2] + struct.pack("!H", icmpv6_checksum(src, dst, message)) + message[4:]
    ipv6 = struct.pack("!IHBB", 6 << 28, len(message), IPPROTO_ICMPV6, 255) + src + dst
    return _pad(dst_mac + own_mac + struct.pack("!H", ETH_P_IPV6) + ipv6 + message)


def na_answer(frame, target, own_mac):
    """The MAC (text) of a Neighbor Advertisement for ``target`` in ``frame``, or None.

    The MAC is the advert's target link-layer address option, else the frame's source. Neighbor
    Solicitations (another node's duplicate address detection) and our own frames do not count.
    """
    if len(frame) < 14 + 40 + 24 or frame[12:14] != struct.pack("!H", ETH_P_IPV6):
        return None
    first, length, next_header, hop_limit = struct.unpack("!IHBB", frame[14:22])
    if first >> 28 != 6 or next_header != IPPROTO_ICMPV6 or hop_limit != 255 or length < 24:
        return None
    src, dst = frame[22:38], frame[38:54]
    message = frame[54:54 + length]
    if len(message) != length or message[0] != ND_NEIGHBOR_ADVERT or message[1] != 0:
        return None
    if icmpv6_checksum(src, dst, message[:2] + b"\x00\x00" + message[4:]) != struct.unpack("!H", message[2:4])[0]:
        return None
    if message[8:24] != target.packed or frame[6:12] == own_mac:
        return None
    mac, options = frame[6:12], message[24:]
    while len(options) >= 8 and options[1]:
        size = options[1] * 8
        if options[0] == ND_OPT_TARGET_LL_ADDR and size >= 8:
            mac = options[2:8]
            break
        options = options[size:]
    return mac_text(mac)


def open_socket(interface, family):
    """A raw packet socket bound to ``interface`` for ARP (``family`` 4) or IPv6 (6), and the interface's MAC."""
    try:
        socket.if_nametoindex(interface)
    except (OSError, ValueError):
        names = sorted(name for _index, name in socket.if_nameindex())
        raise ProbeError("interface %s does not exist on this host (it has %s)" % (interface, ", ".join(names))) from None
    proto = ETH_P_ARP if family == 4 else ETH_P_IPV6
    try:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(proto))
    except OSError as exc:
        hint = (" (the module needs root or the capability CAP_NET_RAW: become: true)"
                if exc.errno in (errno.EPERM, errno.EACCES) else "")
        raise ProbeError("cannot open a raw packet socket (AF_PACKET) to probe on %s: %s%s"
                         % (interface, to_native(exc), hint)) from None
    try:
        sock.bind((interface, proto))
        hatype, own_mac = sock.getsockname()[3:5]
    except OSError as exc:
        sock.close()
        raise ProbeError("cannot bind a raw packet socket to interface %s: %s" % (interface, to_native(exc))) from None
    if hatype != ARPHRD_ETHER or len(own_mac) != 6:
        sock.close()
        raise ProbeError("interface %s is not an Ethernet interface (ARP hardware type %d); duplicate address "
                         "detection needs ARP or Neighbor Discovery on an Ethernet segment" % (interface, hatype))
    if family == 6:
        # The adverts go to ff02::1; make sure the interface accepts that group even where IPv6 is off.
        mreq = struct.pack("iHH8s", socket.if_nametoindex(interface), PACKET_MR_MULTICAST, 6, ALL_NODES_MAC)
        try:
            sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
        except OSError:
            pass
    return sock, own_mac


def probe(address, interface, count=3, timeout=1.0, clock=time.monotonic):
    """Probe ``address`` on ``interface``: the module's result without ``changed``. Raises ProbeError."""
    target = parse_address(address)
    family = target.version
    sock, own_mac = open_socket(interface, family)
    frame = arp_probe(own_mac, target) if family == 4 else ns_probe(own_mac, target)
    answer = arp_answer if family == 4 else na_answer
    macs, sent = [], 0
    try:
        start = clock()
        deadline, interval = start + timeout, float(timeout) / count
        while True:
            now = clock()
            if sent < count and now >= start + sent * interval:
                try:
                    sock.send(frame)
                except OSError as exc:
                    hint = " (is the interface up?)" if exc.errno in (errno.ENETDOWN, errno.ENXIO) else ""
                    raise ProbeError("cannot send a probe for %s on interface %s: %s%s"
                                     % (target, interface, to_native(exc), hint)) from None
                sent += 1
                continue
            if now >= deadline:
                break
            wake = min(deadline, start + sent * interval) if sent < count else deadline
            readable = select.select([sock], [], [], max(0.0, wake - now))[0]
            if not readable:
                continue
            data, where = sock.recvfrom(65535)
            if where[2] == PACKET_OUTGOING:
                continue
            mac = answer(data, target, own_mac)
            if mac and mac not in macs:
                macs.append(mac)
    finally:
        sock.close()
    return dict(address=str(target), family=family, interface=interface, interface_mac=mac_text(own_mac),
                in_use=bool(macs), macs=macs, probes=sent)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            address=dict(type="str", required=True),
            interface=dict(type="str", required=True),
            count=dict(type="int", default=3),
            timeout=dict(type="float", default=1.0),
        ),
        supports_check_mode=True,
    )
    params = module.params
    base = dict(changed=False, address=params["address"], interface=params["interface"])
    if not 1 <= params["count"] <= 100:
        module.fail_json(msg="count is %d; it must be from 1 to 100" % params["count"], **base)
    if not 0 < params["timeout"] <= 60:
        module.fail_json(msg="timeout is %s; it must be more than 0 and at most 60 seconds" % params["timeout"], **base)
    try:
        result = probe(params["address"], params["interface"], params["count"], params["timeout"])
    except ProbeError as exc:
        module.fail_json(msg=to_native(exc), **base)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
