"""selinux_ports_to_label against the layout of a real `semanage port --list`."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kubeha.control_plane.plugins.filter import selinux as f

# The shape of `semanage port -l` (EL 9), a few lines of it.
LIST = """SELinux Port Type              Proto    Port Number

http_cache_port_t              tcp      8080, 8118, 8123, 10001-10010
http_cache_port_t              udp      3130
http_port_t                    tcp      80, 81, 443, 488, 8008, 8009, 8443, 9000
unreserved_port_t              tcp      61000-65535, 1024-32767
unreserved_port_t              udp      61000-65535, 1024-32767
"""


@pytest.mark.parametrize("ports, expected", [
    ([6443, 8443, 8080, 9000], [6443]),
    (["18080", 8080, "6443", 6443], [6443, 18080]),
    ([10005], []),        # inside a usable range
    ([5], [5]),           # no type at all
    (443, []),
])
def test_ports_to_label(ports, expected):
    assert f.selinux_ports_to_label(ports, LIST, ["http_port_t", "http_cache_port_t"]) == expected


def test_a_ports_own_entry_wins_over_a_range():
    local = LIST + "http_port_t                    tcp      6443\n"
    assert f.selinux_ports_to_label([6443], local, ["http_port_t"]) == []
    assert f.port_type(f.parse_semanage_ports(local), 6443) == "http_port_t"
    assert f.port_type(f.parse_semanage_ports(local), 6444) == "unreserved_port_t"


def test_protocol_matters():
    assert f.selinux_ports_to_label([3130], LIST, ["http_cache_port_t"]) == [3130]
    assert f.selinux_ports_to_label([3130], LIST, ["http_cache_port_t"], proto="udp") == []


@pytest.mark.parametrize("ports, usable, message", [
    ([0], ["http_port_t"], "0 is not a port"),
    (["x"], ["http_port_t"], "'x' is not a port"),
    ([80], "http_port_t", "usable_types must be a list"),
])
def test_errors(ports, usable, message):
    with pytest.raises(AnsibleFilterError, match=message):
        f.selinux_ports_to_label(ports, LIST, usable)


def test_malformed_list():
    with pytest.raises(AnsibleFilterError, match="not a port or a range"):
        f.selinux_ports_to_label([80], "http_port_t tcp 80, eighty\n", ["http_port_t"])


def test_port_types():
    expected = {6443: "unreserved_port_t", 8080: "http_cache_port_t", 9000: "http_port_t"}
    assert f.selinux_port_types([6443, "8080", 9000, 9000], LIST) == expected
    assert f.selinux_port_types([5], LIST) == {5: None}
    assert set(f.FilterModule().filters()) == {"selinux_ports_to_label", "selinux_port_types"}
