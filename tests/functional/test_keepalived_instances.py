"""The keepalived role's VRRP instances for IPv4 and IPv6 VIPs (computed on the controller)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

FILES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "files")


def instances(tmp_path, self_address, vips, **extra):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"kube_lbs": {"hosts": {
        "lb1": {"kubeha_address": self_address},
        "lb2": {"kubeha_address": "fd00::2" if ":" in self_address else "10.0.0.2"},
    }, "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                "keepalived_interface": "lo"}}}))
    result = tmp_path / "instances.json"
    extra_vars = dict(extra, keepalived_vips=vips, result_file=str(result))
    proc = subprocess.run(
        ["ansible-playbook", "-i", str(inventory), os.path.join(FILES, "keepalived-instances.yml"), "-e", json.dumps(extra_vars)],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {i["address"]: i for i in json.loads(result.read_text())}


def test_ipv4_and_ipv6_vips_each_get_an_instance(tmp_path):
    got = instances(tmp_path, "10.0.0.1", ["10.0.0.100", {"address": "fd00::100", "virtual_router_id": 61}])
    v4, v6 = got["10.0.0.100"], got["fd00::100"]
    assert (v4["family"], v4["prefix"], v4["version"], v4["unicast"]) == (4, 32, 2, True)
    # IPv6 needs VRRPv3; unicast needs peers of the same family (these hosts have IPv4 addresses).
    assert (v6["family"], v6["prefix"], v6["version"], v6["unicast"]) == (6, 128, 3, False)
    assert v6["virtual_router_id"] == 61 and v6["name"] == "VI_fd00__100"
    assert 1 <= v4["virtual_router_id"] <= 255 and v4["interface"] == "lo"


def test_router_id_is_derived_from_the_vip_and_stable(tmp_path):
    first = instances(tmp_path, "10.0.0.1", ["10.0.0.100"])["10.0.0.100"]["virtual_router_id"]
    again = instances(tmp_path, "10.0.0.1", ["10.0.0.100"])["10.0.0.100"]["virtual_router_id"]
    other = instances(tmp_path, "10.0.0.1", ["10.0.0.101"])["10.0.0.101"]["virtual_router_id"]
    assert first == again and first != other


@pytest.mark.parametrize("profile, version", [("default", 2), ("fast", 3)])
def test_ipv6_hosts_use_unicast_for_ipv6_vips(tmp_path, profile, version):
    got = instances(tmp_path, "fd00::1", ["fd00::100", "10.0.0.100"], keepalived_profile=profile)
    assert got["fd00::100"]["unicast"] is True and got["fd00::100"]["version"] == 3
    assert got["10.0.0.100"]["unicast"] is False and got["10.0.0.100"]["version"] == version
