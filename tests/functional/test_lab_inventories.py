"""`scripts/lab up recipe` (lab/inventory/recipe.yml) is the layout molecule/default
converges, verifies and re-converges in every run of the test command: the two must not
drift apart (same settings that make the layout, same topology)."""

from __future__ import annotations

import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAYOUT_KEYS = ["kubeha_lab_kubernetes_version", "apiserver_layout", "apiserver_insecure_bind_address",
               "apiserver_tls_health", "haproxy_frontend_port", "haproxy_backend_port", "haproxy_backend_tls",
               "haproxy_backend_plain_http_acknowledged"]


def load(path):
    with open(os.path.join(ROOT, path)) as fh:
        # molecule.yml holds ${VAR:-default} strings; they are plain strings to YAML.
        return yaml.safe_load(fh)


def test_the_lab_recipe_layout_is_the_one_molecule_default_tests():
    lab = load("lab/inventory/recipe.yml")["all"]["vars"]
    molecule = load("molecule/default/molecule.yml")["provisioner"]["inventory"]["group_vars"]["all"]
    assert {k: lab.get(k) for k in LAYOUT_KEYS} == {k: molecule.get(k) for k in LAYOUT_KEYS}
    assert lab["apiserver_layout"] == "sysconfig" and re.match(r"^v1\.[0-9]\.", lab["kubeha_lab_kubernetes_version"])


def test_the_lab_recipe_topology_is_the_one_molecule_default_tests():
    lab = load("lab/inventory/recipe.yml")["all"]["children"]
    platforms = load("molecule/default/molecule.yml")["platforms"]
    groups = {}
    for platform in platforms:
        for group in platform["groups"]:
            groups[group] = groups.get(group, 0) + 1
    assert len(lab["kube_masters"]["hosts"]) == groups["kube_masters"] == groups["etcd"] == groups["kube_lbs"] == 3
    assert lab["etcd"]["children"] == {"kube_masters": None} and lab["kube_lbs"]["children"] == {"kube_masters": None}
    assert len(lab["kube_nodes"]["hosts"]) == groups["kube_nodes"] == 1


def test_both_lab_inventories_are_the_same_hosts():
    modern = load("lab/inventory/hosts.yml")["all"]
    recipe = load("lab/inventory/recipe.yml")["all"]

    def hosts(inv):
        return {name: (h["ansible_host"], h["kubeha_lab_container"])
                for group in ("kube_masters", "kube_nodes") for name, h in inv["children"][group]["hosts"].items()}
    assert hosts(modern) == hosts(recipe)
    assert modern["vars"]["kubeha_lab_network"] == recipe["vars"]["kubeha_lab_network"]
