"""Unit tests of module_utils/_kube_versions: the rules table itself (well formed, each
rule with its source beside it) and the pure functions the filters call."""

from __future__ import annotations

import inspect
import re
from collections import OrderedDict

import pytest

from ansible_collections.kubeha.control_plane.plugins.module_utils import _kube_versions as kvs
from ansible_collections.kubeha.control_plane.plugins.module_utils._kube_versions import (
    KubeVersion,
    KubeVersionsError,
)

SOURCE = re.compile(r"CHANGELOG-1\.\d+\.md|#\d{4,6}|https://kubernetes\.io/")


def test_every_rule_is_well_formed():
    assert kvs.RULES
    for rule in kvs.RULES:
        assert rule.kind in ("added", "removed", "refused", "inert"), rule
        assert set(rule.components) <= set(kvs.COMPONENTS) and rule.components, rule
        assert re.match(r"^[a-z0-9][a-z0-9-]*$", rule.flag), rule
        assert isinstance(rule.since, tuple) and len(rule.since) == 2, rule
        assert rule.since <= kvs.NEWEST_CHECKED, rule
        if rule.kind == "refused":
            assert callable(rule.accepts) and rule.why, rule
        if rule.kind == "inert":
            assert rule.until and rule.since < rule.until and rule.why, rule


def test_every_rule_cites_its_source_beside_it():
    """Each group of rules in RULES follows a comment naming a CHANGELOG entry, a pull request or a page."""
    lines = inspect.getsource(kvs).split("\nRULES = (", 1)[1].split("\nALIASES = ", 1)[0].splitlines()
    sourced = False
    rules = 0
    for line in lines:
        text = line.strip()
        if text.startswith("# ---"):
            sourced = False
        elif text.startswith("#"):
            sourced = sourced or bool(SOURCE.search(text))
        elif text.startswith("_rule("):
            rules += 1
            assert sourced, "no source above: %s" % text
    assert rules >= 10


@pytest.mark.parametrize(
    "value, expected",
    [
        ("1.5.2", KubeVersion(1, 5, "v1.5.2")),
        ("v1.30.2", KubeVersion(1, 30, "v1.30.2")),
        ("Kubernetes v1.10.13", KubeVersion(1, 10, "v1.10.13")),
        ("registry.k8s.io/kube-apiserver:v1.30.2@sha256:ab", KubeVersion(1, 30, "v1.30.2")),
        ("v1.24.0-rc.1", KubeVersion(1, 24, "v1.24.0-rc.1")),
    ],
)
def test_parse_kube_version(value, expected):
    assert kvs.parse_kube_version(value) == expected


@pytest.mark.parametrize("value", ["", "1", "latest", "v2", "nginx:latest", "nginx", 1.1, None, [1, 30]])
def test_parse_kube_version_refuses(value):
    with pytest.raises(KubeVersionsError):
        kvs.parse_kube_version(value)


def test_flag_problems_takes_a_parsed_version_and_checks_the_component():
    version = kvs.parse_kube_version("1.24.0")
    assert kvs.flag_problems(OrderedDict(port=0), "kube-apiserver", version) == [
        "--port is not a flag of kube-apiserver v1.24.0 (removed in 1.24): it was the deprecated alias of "
        "--insecure-port"]
    with pytest.raises(KubeVersionsError, match="component 'apiserver' is not one of"):
        kvs.flag_problems({}, "apiserver", version)


def test_flags_without_a_rule_are_not_reported():
    flags = OrderedDict((name, "x") for name in (
        "etcd-servers", "etcd-cafile", "advertise-address", "secure-port", "bind-address", "apiserver-count",
        "service-account-key-file", "tls-cert-file", "tls-private-key-file", "audit-log-path", "no-such-flag"))
    for version in ("1.5.2", "1.20.0", "1.37.0"):
        assert kvs.flag_problems(flags, "kube-apiserver", version) == []


@pytest.mark.parametrize("value, text", [(True, "true"), (False, "false"), (8080, "8080"), (1.5, "1.5"), ("x", "x")])
def test_flag_value_text(value, text):
    assert kvs.flag_value_text("f", value) == text


def test_flag_value_text_refuses_structures():
    with pytest.raises(KubeVersionsError, match="flag 'f' has the value \\[1\\] \\(list\\)"):
        kvs.flag_value_text("f", [1])


def test_flag_aliases_order_decides_the_effective_value():
    first = kvs.flag_aliases(OrderedDict([("insecure-port", "8080"), ("port", "0")]), "kube-apiserver")
    assert first[0]["effective"] == "0"
    last = kvs.flag_aliases(OrderedDict([("port", "0"), ("insecure-port", "8080")]), "kube-apiserver")
    assert last[0]["effective"] == "8080"
    assert kvs.flag_aliases({"port": "0"}, "kubelet") == []
