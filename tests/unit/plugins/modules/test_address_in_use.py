"""Unit tests of the address_in_use module.

The packet builders and parsers are called directly. The probe itself runs as Ansible runs the
module (its arguments in a JSON file), with ``ip netns exec`` in one of two network namespaces
joined by a veth pair; the other namespace holds the addresses, so its kernel answers the probes
as a real host would. The namespaces are removed after every test, also when one fails. Without
root or network namespaces those tests are skipped, and say why.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import struct
import subprocess
import sys
import threading

import pytest

from ansible_collections.kubeha.control_plane.plugins.modules import address_in_use as m

HERE = os.path.dirname(os.path.abspath(__file__))
MODULE = os.path.join(HERE, "..", "..", "..", "..", "plugins", "modules", "address_in_use.py")

OWN = bytes.fromhex("020000000001")
OTHER = bytes.fromhex("020000000002")
V4 = ipaddress.ip_address("192.0.2.10")
V6 = ipaddress.ip_address("2001:db8::12:3456")


# --- packets -------------------------------------------------------------------------------------

def arp(op, sha, spa, tha=b"\x00" * 6, tpa="192.0.2.1", dst=OWN):
    return (dst + sha + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, op)
            + sha + ipaddress.ip_address(spa).packed + tha + ipaddress.ip_address(tpa).packed)


def test_arp_probe_is_rfc5227_probe():
    frame = m.arp_probe(OWN, V4)
    assert len(frame) == 60  # padded to the Ethernet minimum
    assert frame[:6] == b"\xff" * 6 and frame[6:12] == OWN and frame[12:14] == b"\x08\x06"
    assert struct.unpack("!HHBBH", frame[14:22]) == (1, 0x0800, 6, 4, 1)  # Ethernet/IPv4 request
    assert frame[22:28] == OWN
    assert frame[28:32] == b"\x00\x00\x00\x00"  # sender 0.0.0.0: nobody learns a mapping
    assert frame[32:38] == b"\x00" * 6
    assert frame[38:42] == V4.packed
    assert frame[42:] == b"\x00" * 18


@pytest.mark.parametrize("op", [2, 1])  # the owner's reply, or its gratuitous ARP / own request
def test_arp_from_the_address_means_in_use(op):
    assert m.arp_answer(arp(op, OTHER, str(V4)), V4, OWN) == "02:00:00:00:00:02"


@pytest.mark.parametrize("frame", [
    arp(1, OTHER, "0.0.0.0", tpa=str(V4)),  # another host probing the same address (a second load balancer)
    arp(2, OTHER, "192.0.2.11"),  # another address
    arp(2, OWN, str(V4)),  # our own
    arp(3, OTHER, str(V4)),  # RARP request
    arp(2, OTHER, str(V4))[:40],  # truncated
    arp(2, OTHER, str(V4))[:12] + b"\x86\xdd" + arp(2, OTHER, str(V4))[14:],  # not ARP
    arp(2, OTHER, str(V4))[:14] + b"\x00\x06" + arp(2, OTHER, str(V4))[16:],  # not Ethernet hardware
])
def test_arp_that_is_no_answer(frame):
    assert m.arp_answer(frame, V4, OWN) is None


def test_solicited_node_group():
    address, mac = m.solicited_node(V6)
    assert ipaddress.IPv6Address(address) == ipaddress.IPv6Address("ff02::1:ff12:3456")
    assert mac == bytes.fromhex("3333ff123456")


def test_icmpv6_checksum_known_value():
    # An echo request from ::1 to ::1 (type 128, id 0x1234, seq 1, payload "abcd"); checked with
    # the one's complement sum written out by hand.
    src = dst = ipaddress.IPv6Address("::1").packed
    message = bytes([128, 0, 0, 0, 0x12, 0x34, 0, 1]) + b"abcd"
    words = [0x0001, 0x0001, len(message), 58, 0x8000, 0x1234, 0x0001, 0x6162, 0x6364]
    total = sum(words)
    total = (total & 0xFFFF) + (total >> 16)
    assert m.icmpv6_checksum(src, dst, message) == ~total & 0xFFFF


def test_ns_probe_is_rfc4862_dad_solicitation():
    frame = m.ns_probe(OWN, V6)
    group, group_mac = m.solicited_node(V6)
    assert frame[:6] == group_mac and frame[6:12] == OWN and frame[12:14] == b"\x86\xdd"
    first, length, next_header, hop_limit = struct.unpack("!IHBB", frame[14:22])
    assert first == 6 << 28 and length == 24 and next_header == 58 and hop_limit == 255
    assert frame[22:38] == b"\x00" * 16  # from the unspecified address
    assert frame[38:54] == group
    message = frame[54:78]
    assert message[0] == 135 and message[1] == 0 and message[4:8] == b"\x00" * 4
    assert message[8:24] == V6.packed
    assert len(frame) == 78  # no source link-layer address option (forbidden from ::)
    # The checksum verifies: the sum over the message with its checksum is zero.
    assert m.icmpv6_checksum(frame[22:38], frame[38:54], message) == 0


def na(target=V6, src_mac=OTHER, option_mac=None, icmp_type=136, hop_limit=255, corrupt=False):
    src = ipaddress.IPv6Address("2001:db8::99").packed
    dst = ipaddress.IPv6Address("ff02::1").packed
    message = struct.pack("!BBHI", icmp_type, 0, 0, 0x20000000) + target.packed
    if option_mac:
        message += bytes([2, 1]) + option_mac
    checksum = m.icmpv6_checksum(src, dst, message) ^ (1 if corrupt else 0)
    message = message[:2] + struct.pack("!H", checksum) + message[4:]
    ipv6 = struct.pack("!IHBB", 6 << 28, len(message), 58, hop_limit) + src + dst
    return bytes.fromhex("333300000001") + src_mac + b"\x86\xdd" + ipv6 + message


def test_neighbor_advertisement_means_in_use():
    assert m.na_answer(na(), V6, OWN) == "02:00:00:00:00:02"


def test_neighbor_advertisement_names_its_target_link_layer_address():
    assert m.na_answer(na(option_mac=bytes.fromhex("0a0000000007")), V6, OWN) == "0a:00:00:00:00:07"


@pytest.mark.parametrize("frame", [
    na(target=ipaddress.ip_address("2001:db8::1")),  # another address
    na(icmp_type=135),  # a solicitation: another host's duplicate address detection
    na(hop_limit=64),  # routed: not from the link
    na(corrupt=True),  # bad checksum
    na(src_mac=OWN),  # our own
    na()[:70],  # truncated
])
def test_ipv6_that_is_no_answer(frame):
    assert m.na_answer(frame, V6, OWN) is None


@pytest.mark.parametrize("value, message", [
    ("10.0.0.300", "is not an IPv4 or IPv6 address"),
    ("vip.example.com", "is not an IPv4 or IPv6 address"),
    ("0.0.0.0", "not a unicast address"),
    ("::", "not a unicast address"),
    ("127.0.0.1", "not a unicast address"),
    ("224.0.0.18", "not a unicast address"),
    ("ff02::12", "not a unicast address"),
    ("255.255.255.255", "not a unicast address"),
])
def test_bad_addresses(value, message):
    with pytest.raises(m.ProbeError, match=message):
        m.parse_address(value)


def test_addresses_canonical():
    assert str(m.parse_address("[FD00:0::100]")) == "fd00::100"
    assert str(m.parse_address(" 10.0.0.5 ")) == "10.0.0.5"


# --- the module as Ansible runs it ---------------------------------------------------------------

def run_module(tmp_path, netns=None, prefix=(), **params):
    args = tmp_path / ("args-%d.json" % threading.get_ident())
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": dict(params, _ansible_check_mode=True)}))
    argv = ([] if netns is None else ["ip", "netns", "exec", netns]) + list(prefix) + [sys.executable, MODULE, str(args)]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    assert proc.stdout, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("params, message", [
    ({"count": 0}, "count is 0; it must be from 1 to 100"),
    ({"timeout": 0}, "timeout is 0.0; it must be more than 0"),
    ({"timeout": 61}, "at most 60 seconds"),
])
def test_option_ranges(tmp_path, params, message):
    res = run_module(tmp_path, address="192.0.2.1", interface="lo", **params)
    assert res["failed"] and message in res["msg"]
    assert res["changed"] is False


def test_interface_that_does_not_exist(tmp_path):
    res = run_module(tmp_path, address="192.0.2.1", interface="kubeha-none0")
    assert res["failed"]
    assert res["msg"].startswith("interface kubeha-none0 does not exist on this host (it has ")


def test_interface_that_is_not_ethernet(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root (a raw socket on lo)")
    res = run_module(tmp_path, address="192.0.2.1", interface="lo")
    assert res["failed"] and "interface lo is not an Ethernet interface (ARP hardware type 772)" in res["msg"]


# --- probes between two network namespaces ---------------------------------------------------------

OWNER_V4, FREE_V4 = "198.51.100.1", "198.51.100.77"
OWNER_V6, FREE_V6 = "fd00:5eed::1", "fd00:5eed::77"


def _ip(*args):
    return subprocess.run(["ip"] + list(args), capture_output=True, text=True, check=False)


@pytest.fixture()
def segment():
    """Namespaces ``owner`` and ``prober`` joined by a veth pair; ``owner`` holds OWNER_V4 and OWNER_V6."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("network namespaces need root and iproute2")
    owner, prober = "kubeha-t%d-own" % os.getpid(), "kubeha-t%d-prb" % os.getpid()
    created = []
    try:
        for ns in (owner, prober):
            res = _ip("netns", "add", ns)
            if res.returncode:
                pytest.skip("cannot create a network namespace here: %s" % res.stderr.strip())
            created.append(ns)
        steps = [
            ("link", "add", "kt-own", "netns", owner, "type", "veth", "peer", "name", "kt-prb", "netns", prober),
            ("-n", owner, "link", "set", "kt-own", "up"),
            ("-n", prober, "link", "set", "kt-prb", "up"),
            ("-n", owner, "addr", "add", OWNER_V4 + "/24", "dev", "kt-own"),
            # nodad: usable at once (a tentative address does not answer, and would give itself up).
            ("-n", owner, "addr", "add", OWNER_V6 + "/64", "dev", "kt-own", "nodad"),
        ]
        for step in steps:
            res = _ip(*step)
            assert res.returncode == 0, "ip %s: %s" % (" ".join(step), res.stderr)
        mac = _ip("-n", owner, "-j", "link", "show", "kt-own")
        yield {"owner": owner, "prober": prober, "owner_if": "kt-own", "prober_if": "kt-prb",
               "owner_mac": json.loads(mac.stdout)[0]["address"]}
    finally:
        for ns in created:
            _ip("netns", "del", ns)


@pytest.mark.parametrize("address", [OWNER_V4, OWNER_V6])
def test_address_held_on_the_segment_is_in_use(tmp_path, segment, address):
    res = run_module(tmp_path, segment["prober"], address=address, interface=segment["prober_if"])
    assert not res.get("failed"), res
    assert res["in_use"] is True
    assert res["macs"] == [segment["owner_mac"]]
    assert res["changed"] is False and res["probes"] == 3
    assert res["family"] == (6 if ":" in address else 4)


@pytest.mark.parametrize("address", [FREE_V4, FREE_V6])
def test_free_address_is_free(tmp_path, segment, address):
    res = run_module(tmp_path, segment["prober"], address=address, interface=segment["prober_if"], count=2, timeout=0.5)
    assert not res.get("failed"), res
    assert res["in_use"] is False and res["macs"] == [] and res["probes"] == 2


def test_ipv6_address_written_otherwise_is_found(tmp_path, segment):
    res = run_module(tmp_path, segment["prober"], address="FD00:5EED:0::1", interface=segment["prober_if"])
    assert res["address"] == OWNER_V6 and res["in_use"] is True


@pytest.mark.parametrize("address", [FREE_V4, FREE_V6])
def test_two_hosts_probing_at_once_do_not_see_each_other(tmp_path, segment, address):
    # Every load balancer probes the same VIP during preflight at the same moment.
    results = {}

    def probe(side):
        results[side] = run_module(tmp_path, segment[side], address=address, interface=segment[side + "_if"])

    threads = [threading.Thread(target=probe, args=(side,)) for side in ("owner", "prober")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[s]["in_use"] for s in ("owner", "prober")] == [False, False], results


def test_probe_changes_nothing_on_the_owner(tmp_path, segment):
    run_module(tmp_path, segment["prober"], address=OWNER_V4, interface=segment["prober_if"])
    run_module(tmp_path, segment["prober"], address=OWNER_V6, interface=segment["prober_if"])
    # The owner learnt no neighbour from probes sent from 0.0.0.0 / ::, and kept its address.
    assert _ip("-n", segment["owner"], "neigh", "show", "dev", "kt-own").stdout.strip() == ""
    addrs = _ip("-n", segment["owner"], "-j", "addr", "show", "dev", "kt-own").stdout
    assert OWNER_V6 in addrs and "dadfailed" not in addrs


def test_interface_down_is_a_clear_error(tmp_path, segment):
    _ip("-n", segment["prober"], "link", "set", segment["prober_if"], "down")
    res = run_module(tmp_path, segment["prober"], address=OWNER_V4, interface=segment["prober_if"])
    assert res["failed"]
    assert "cannot send a probe for %s on interface kt-prb" % OWNER_V4 in res["msg"] and "(is the interface up?)" in res["msg"]


def test_without_cap_net_raw_is_a_clear_error(tmp_path, segment):
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) is needed to drop CAP_NET_RAW")
    res = run_module(tmp_path, segment["prober"], prefix=("setpriv", "--bounding-set", "-net_raw"),
                     address=OWNER_V4, interface=segment["prober_if"])
    assert res["failed"]
    assert res["msg"] == ("cannot open a raw packet socket (AF_PACKET) to probe on kt-prb: [Errno 1] Operation not "
                          "permitted (the module needs root or the capability CAP_NET_RAW: become: true)")
