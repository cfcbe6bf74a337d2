"""The example inventories (playbooks/inventory/{modern,recipe}) pass site.yml's load-balancer
preflight as the README tells a new user to run them: a copy of the inventory directory, its
vault made from the vault.yml.example beside it and encrypted with ansible-vault, the vault
password given to ansible-playbook.

The example hosts cannot be reached from here, so the run is local (check mode, preflight
tags only: nothing on this machine changes) and each host's facts are those of this machine
with the network of the inventory: its ``ansible_host`` address (IPv4, as both examples have)
on eth0 (a /24), the default route there. A facts module per host (``ansible_facts_modules``,
made by this test in a temporary library) returns them. Checks that read or probe this
machine itself (the ARP probe for the VIP, firewalld, SELinux) are off; everything else the
load-balancer roles check is what the example inventory and its vault hold."""

from __future__ import annotations

import copy
import ipaddress
import json
import os
import shutil

import pytest
import yaml
from kubeha_functional import ROOT, run

SITE = os.path.join(ROOT, "playbooks", "site.yml")
EXAMPLES = os.path.join(ROOT, "playbooks", "inventory")
TAGS = "haproxy_preflight,keepalived_preflight"


def _run(cmd, env=None):
    proc = run(cmd, env=env, check=False)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def local_facts():
    """This machine's facts, as site.yml gathers them (min and network)."""
    rc, out = _run(["ansible", "localhost", "-c", "local", "-m", "ansible.builtin.setup",
                    "-a", "gather_subset=min,network", "-o"])
    assert rc == 0, out[-3000:]
    return json.JSONDecoder().raw_decode(out[out.index("{"):])[0]["ansible_facts"]


def _host_facts(facts, name, address):
    """``facts`` with the network of a host whose only interface besides lo is eth0, holding
    ``address`` in a /24, the default route there."""
    facts = copy.deepcopy(facts)
    for iface in facts.get("ansible_interfaces", []):
        if iface != "lo":
            facts.pop("ansible_" + iface.replace("-", "_"), None)
    net = ipaddress.ip_interface("%s/24" % address).network
    ipv4 = {"address": address, "broadcast": str(net.broadcast_address), "netmask": str(net.netmask),
            "network": str(net.network_address), "prefix": "24"}
    facts.update({
        "ansible_interfaces": ["lo", "eth0"],
        "ansible_eth0": {"device": "eth0", "active": True, "type": "ether", "mtu": 1500, "promisc": False,
                         "macaddress": "52:54:00:00:00:01", "ipv4": ipv4, "ipv6": []},
        "ansible_default_ipv4": dict(ipv4, interface="eth0", gateway=str(net.network_address + 1), type="ether",
                                     alias="eth0", macaddress="52:54:00:00:00:01", mtu=1500),
        "ansible_default_ipv6": {},
        "ansible_all_ipv4_addresses": [address],
        "ansible_all_ipv6_addresses": [],
        "ansible_hostname": name, "ansible_nodename": name, "ansible_fqdn": name,
    })
    return facts


def _inventory_hosts(path, password):
    """{host: ansible_host} of an inventory file."""
    rc, out = _run(["ansible-inventory", "-i", path, "--list", "--vault-password-file", password])
    assert rc == 0, out[-3000:]
    data = json.JSONDecoder().raw_decode(out[out.index("{"):])[0]
    return {host: hv["ansible_host"] for host, hv in data["_meta"]["hostvars"].items()}


@pytest.mark.parametrize("example", ["modern", "recipe"])
def test_an_example_inventory_with_its_vault_passes_preflight(example, tmp_path, local_facts):
    inventory_dir = tmp_path / example
    shutil.copytree(os.path.join(EXAMPLES, example), inventory_dir)
    vault = inventory_dir / "group_vars" / "all" / "vault.yml"
    shutil.copy(str(vault) + ".example", vault)
    password = tmp_path / "vault-password"
    password.write_text("a vault password for the test\n")
    rc, out = _run(["ansible-vault", "encrypt", "--vault-password-file", str(password), str(vault)])
    assert rc == 0, out
    assert vault.read_text().startswith("$ANSIBLE_VAULT;"), "the vault is encrypted"
    hosts_file = str(inventory_dir / "hosts.yml")
    library = tmp_path / "library"
    library.mkdir()
    (inventory_dir / "host_vars").mkdir(exist_ok=True)
    for index, (host, address) in enumerate(sorted(_inventory_hosts(hosts_file, str(password)).items())):
        module = "kubeha_test_facts_%d" % index
        (library / (module + ".py")).write_text(
            "#!/usr/bin/python\n# The facts of example host %s (tests/functional/test_example_inventories.py).\n"
            "import json\nprint(json.dumps({'changed': False, 'ansible_facts': json.loads(%r)}))\n"
            % (host, json.dumps(_host_facts(local_facts, host, address))))
        (inventory_dir / "host_vars" / (host + ".yml")).write_text(yaml.safe_dump({"ansible_facts_modules": [module]}))
    # Checks that read or probe this machine itself are off: the ARP probe for the VIP
    # (keepalived_vip_probe), firewalld and SELinux (the example hosts' own state).
    local = {"ansible_connection": "local", "ansible_become": False,
             "ansible_python_interpreter": "{{ ansible_playbook_python }}",
             "keepalived_vip_probe": False, "kubeha_firewalld": False, "kubeha_selinux": False}
    env = dict(os.environ, ANSIBLE_LIBRARY=str(library))
    rc, out = _run(["ansible-playbook", "-i", hosts_file, SITE, "--check", "--tags", TAGS,
                    "--vault-password-file", str(password), "-e", json.dumps(local)], env=env)
    assert rc == 0, out[-5000:]
    assert "Preflight | all nodes agree" in out, out[-3000:]
    assert " failed=0 " in out and " failed=1 " not in out
