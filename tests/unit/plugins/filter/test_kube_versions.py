"""Unit tests of the kube_flag_problems and kube_flag_aliases filters: every rule pinned for
the recipe's 1.5.2, 1.20.x, 1.23.x, 1.24.0, 1.30.x and the newest checked version (1.37),
with the flags the roles write, and the errors for what cannot be checked."""

from __future__ import annotations

import os
from collections import OrderedDict

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.kubeha.control_plane.plugins.filter import kube_versions as kv

FILTER_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "filter")
VERSIONS = ["1.5.2", "v1.20.15", "v1.23.17", "v1.24.0", "v1.30.2", "v1.37.0"]
VIP = "https://10.146.47.10:8443"
INSECURE_HINT = "(set apiserver_insecure_bind_address to '' and use the secure port)"

# roles/apiserver __apiserver_flags_managed as the recipe inventory renders it (sysconfig, master-count,
# the insecure port on a public address); None: the role does not set the flag.
APISERVER_RECIPE = OrderedDict([
    ("etcd-servers", "http://10.146.47.100:2379,http://10.146.47.110:2379,http://10.146.47.120:2379"),
    ("etcd-cafile", None), ("etcd-certfile", None), ("etcd-keyfile", None),
    ("advertise-address", "10.146.47.100"), ("secure-port", 6443), ("bind-address", None),
    ("insecure-bind-address", "0.0.0.0"), ("insecure-port", 8080), ("apiserver-count", 3),
    ("endpoint-reconciler-type", None),
    ("service-account-key-file", "/etc/kubernetes/serviceaccount.key"),
    ("tls-cert-file", None), ("tls-private-key-file", None),
])
# ... and as the modern inventory renders it (static_pod, TLS etcd, lease, no insecure port), as ansible-core
# before 2.19 renders None ('').
APISERVER_MODERN = OrderedDict([
    ("etcd-servers", "https://10.146.47.100:2379"), ("etcd-cafile", "/etc/kubernetes/pki/etcd/ca.crt"),
    ("etcd-certfile", "/etc/kubernetes/pki/apiserver-etcd-client.crt"),
    ("etcd-keyfile", "/etc/kubernetes/pki/apiserver-etcd-client.key"), ("advertise-address", "10.146.47.100"),
    ("secure-port", 6443), ("bind-address", ""), ("insecure-bind-address", ""), ("insecure-port", ""),
    ("apiserver-count", ""), ("endpoint-reconciler-type", "lease"), ("service-account-key-file", ""),
    ("tls-cert-file", "/etc/kubernetes/pki/apiserver.crt"), ("tls-private-key-file", "/etc/kubernetes/pki/apiserver.key"),
])
# roles/leader_election (sysconfig: with --master).
LEADER = OrderedDict([("leader-elect", True), ("leader-elect-lease-duration", "15s"),
                      ("leader-elect-renew-deadline", "10s"), ("leader-elect-retry-period", "2s"), ("master", VIP)])
CONTROLLER_MANAGER = OrderedDict(LEADER, **{"service-account-private-key-file": "/etc/kubernetes/serviceaccount.key"})
# The recipe's /etc/kubernetes/config, passed to every component.
RECIPE_CONFIG = OrderedDict([("logtostderr", "true"), ("v", "0"), ("allow-privileged", "false"),
                             ("master", "http://127.0.0.1:8080")])


def problems(flags, component, version):
    return kv.kube_flag_problems(flags, component, version)


def klog(component, version, flag="logtostderr"):
    return ("--%s is not a flag of %s %s (removed in 1.26): the components write their log to stderr only: remove "
            "it, and let systemd (or kube-log-runner) redirect the output" % (flag, component, version))


# -- kube-apiserver ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "version, expected",
    [
        ("1.5.2", []),
        ("v1.20.15", [
            "--insecure-bind-address=0.0.0.0 has no effect in kube-apiserver v1.20.15: from 1.20 kube-apiserver "
            "serves no insecure port, and the flag is removed in 1.24 " + INSECURE_HINT,
            "--insecure-port=8080 is refused by kube-apiserver v1.20.15: from 1.20 the insecure port can only be 0 "
            + INSECURE_HINT,
        ]),
        ("v1.23.17", [
            "--insecure-bind-address=0.0.0.0 has no effect in kube-apiserver v1.23.17: from 1.20 kube-apiserver "
            "serves no insecure port, and the flag is removed in 1.24 " + INSECURE_HINT,
            "--insecure-port=8080 is refused by kube-apiserver v1.23.17: from 1.20 the insecure port can only be 0 "
            + INSECURE_HINT,
        ]),
        ("v1.24.0", [
            "--insecure-bind-address is not a flag of kube-apiserver v1.24.0 (removed in 1.24)",
            "--insecure-port is not a flag of kube-apiserver v1.24.0 (removed in 1.24)",
        ]),
        ("v1.30.2", [
            "--insecure-bind-address is not a flag of kube-apiserver v1.30.2 (removed in 1.24)",
            "--insecure-port is not a flag of kube-apiserver v1.30.2 (removed in 1.24)",
        ]),
        ("v1.37.0", [
            "--insecure-bind-address is not a flag of kube-apiserver v1.37.0 (removed in 1.24)",
            "--insecure-port is not a flag of kube-apiserver v1.37.0 (removed in 1.24)",
        ]),
    ],
)
def test_apiserver_recipe_flags(version, expected):
    assert problems(APISERVER_RECIPE, "kube-apiserver", version) == expected


def test_brief_examples_word_for_word():
    assert problems({"insecure-port": 8080}, "kube-apiserver", "1.21.3") == [
        "--insecure-port=8080 is refused by kube-apiserver v1.21.3: from 1.20 the insecure port can only be 0 "
        "(set apiserver_insecure_bind_address to '' and use the secure port)"]
    assert problems({"insecure-bind-address": "127.0.0.1"}, "kube-apiserver", "v1.30.0") == [
        "--insecure-bind-address is not a flag of kube-apiserver v1.30.0 (removed in 1.24)"]
    assert problems({"api-servers": VIP}, "kubelet", "v1.10") == [
        "--api-servers is not a flag of kubelet v1.10 (removed in 1.8): the kubelet reads the API server from its "
        "--kubeconfig"]
    assert problems({"endpoint-reconciler-type": "master-count"}, "kube-apiserver", "v1.8") == [
        "--endpoint-reconciler-type is not a flag of kube-apiserver v1.8 (added in 1.9)"]


@pytest.mark.parametrize("version", VERSIONS)
def test_apiserver_modern_flags(version):
    expected = ["--endpoint-reconciler-type is not a flag of kube-apiserver v1.5.2 (added in 1.9)"] \
        if version == "1.5.2" else []
    assert problems(APISERVER_MODERN, "kube-apiserver", version) == expected


@pytest.mark.parametrize(
    "version, expected",
    [
        ("1.5.2", []),
        ("v1.20.15", []),          # 0 is the one value 1.20-1.23 accept
        ("v1.23.17", []),
        ("v1.24.0", ["--insecure-port is not a flag of kube-apiserver v1.24.0 (removed in 1.24)"]),
        ("v1.30.2", ["--insecure-port is not a flag of kube-apiserver v1.30.2 (removed in 1.24)"]),
        ("v1.37.0", ["--insecure-port is not a flag of kube-apiserver v1.37.0 (removed in 1.24)"]),
    ],
)
def test_insecure_port_zero(version, expected):
    assert problems({"insecure-port": 0}, "kube-apiserver", version) == expected
    assert problems({"insecure_port": "0"}, "kube-apiserver", version) == expected


@pytest.mark.parametrize(
    "version, expected",
    [
        ("1.5.2", []),
        ("v1.20.15", [
            "--address=0.0.0.0 has no effect in kube-apiserver v1.20.15: from 1.20 kube-apiserver serves no insecure "
            "port (--address is the deprecated alias of --insecure-bind-address), and the flag is removed in 1.24 "
            "(remove --address and use the secure port)",
            "--port=8080 is refused by kube-apiserver v1.20.15: from 1.20 the insecure port can only be 0 (--port is "
            "the deprecated alias of --insecure-port) (remove --port and use the secure port)",
        ]),
        ("v1.24.0", [
            "--address is not a flag of kube-apiserver v1.24.0 (removed in 1.24): it was the deprecated alias of "
            "--insecure-bind-address",
            "--port is not a flag of kube-apiserver v1.24.0 (removed in 1.24): it was the deprecated alias of "
            "--insecure-port",
        ]),
    ],
)
def test_deprecated_aliases_follow_their_flags(version, expected):
    assert problems({"address": "0.0.0.0", "port": 8080}, "kube-apiserver", version) == expected


@pytest.mark.parametrize(
    "version, value, expected",
    [
        ("1.5.2", "lease", ["--endpoint-reconciler-type is not a flag of kube-apiserver v1.5.2 (added in 1.9)"]),
        ("v1.8.15", "none", ["--endpoint-reconciler-type is not a flag of kube-apiserver v1.8.15 (added in 1.9)"]),
        ("v1.9.0", "lease", []),
        ("v1.20.15", "master-count", []),
        ("v1.37.0", "master-count", []),   # deprecated since 1.24 (#108062), still accepted
        ("v1.30.2", "leases", [
            "--endpoint-reconciler-type=leases is refused by kube-apiserver v1.30.2: the endpoint reconciler is "
            "master-count, lease or none (set apiserver_endpoint_reconciler to auto, master-count, lease or none)"]),
    ],
)
def test_endpoint_reconciler_type(version, value, expected):
    assert problems({"endpoint-reconciler-type": value}, "kube-apiserver", version) == expected


@pytest.mark.parametrize("version", VERSIONS)
def test_apiserver_extra_args_of_the_recipe(version):
    # The recipe's /etc/kubernetes/config reaches kube-apiserver too: --logtostderr is refused from 1.26 on,
    # --allow-privileged is still a kube-apiserver flag (only the kubelet's was removed).
    expected = [klog("kube-apiserver", version)] if version in ("v1.30.2", "v1.37.0") else []
    assert problems(RECIPE_CONFIG, "kube-apiserver", version) == expected


# -- leader election ------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_leader_election_flags_are_known_everywhere(version):
    assert problems(LEADER, "kube-scheduler", version) == []
    assert problems(CONTROLLER_MANAGER, "kube-controller-manager", version) == []


@pytest.mark.parametrize("component", ["kube-scheduler", "kube-controller-manager", "kubelet", "kube-proxy"])
@pytest.mark.parametrize("version", ["v1.24.0", "v1.30.2", "v1.37.0"])
def test_klog_flags_removed_in_1_26_for_every_component(component, version):
    flags = OrderedDict((f, "x") for f in ("log-dir", "logtostderr", "alsologtostderr", "v", "vmodule"))
    removed = ("log-dir", "logtostderr", "alsologtostderr")
    expected = [] if version == "v1.24.0" else [klog(component, version, f) for f in removed]
    assert problems(flags, component, version) == expected


# -- kube_clients ----------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_kube_proxy_master(version):
    assert problems({"master": VIP}, "kube-proxy", version) == []


@pytest.mark.parametrize(
    "version, expected",
    [
        ("1.5.2", []),
        ("v1.7.16", []),
        ("v1.8.0", ["--api-servers is not a flag of kubelet v1.8.0 (removed in 1.8): the kubelet reads the API server "
                    "from its --kubeconfig"]),
        ("v1.20.15", ["--api-servers is not a flag of kubelet v1.20.15 (removed in 1.8): the kubelet reads the API "
                      "server from its --kubeconfig"]),
        ("v1.37.0", ["--api-servers is not a flag of kubelet v1.37.0 (removed in 1.8): the kubelet reads the API "
                     "server from its --kubeconfig"]),
    ],
)
def test_kubelet_api_servers(version, expected):
    assert problems({"api-servers": VIP}, "kubelet", version) == expected


@pytest.mark.parametrize("version", VERSIONS[1:])
def test_kubelet_kubeconfig_alone_from_1_8(version):
    assert problems({"kubeconfig": "/etc/kubernetes/kubelet.conf"}, "kubelet", version) == []


def test_kubelet_kubeconfig_alone_before_1_8_is_standalone():
    assert problems({"kubeconfig": "/etc/kubernetes/kubelet.conf"}, "kubelet", "1.5.2") == [
        "--kubeconfig=/etc/kubernetes/kubelet.conf does not connect kubelet v1.5.2 to an API server: before 1.8 the "
        "kubelet runs standalone unless --api-servers is set, or --require-kubeconfig=true makes it read the server "
        "from the kubeconfig"]
    assert problems({"kubeconfig": "/k.conf", "require-kubeconfig": True}, "kubelet", "1.5.2") == []
    assert problems({"kubeconfig": "/k.conf", "api-servers": VIP}, "kubelet", "1.5.2") == []
    assert problems({"kubeconfig": "/k.conf", "api-servers": None}, "kubelet", "1.5.2") != []


@pytest.mark.parametrize(
    "version, expected",
    [
        ("v1.3.10", ["--require-kubeconfig is not a flag of kubelet v1.3.10 (added in 1.4)"]),
        ("1.5.2", []),
        ("v1.9.11", []),
        ("v1.10.0", ["--require-kubeconfig is not a flag of kubelet v1.10.0 (removed in 1.10): from 1.8 --kubeconfig "
                     "alone connects the kubelet to the API server"]),
    ],
)
def test_kubelet_require_kubeconfig(version, expected):
    assert problems({"kubeconfig": "/k.conf", "require-kubeconfig": "true"}, "kubelet", version) == expected


@pytest.mark.parametrize(
    "version, expected",
    [
        ("1.5.2", []),
        ("v1.14.10", []),
        ("v1.20.15", ["--allow-privileged is not a flag of kubelet v1.20.15 (removed in 1.15): remove it (the "
                      "recipe's KUBE_ALLOW_PRIV in /etc/kubernetes/config)"]),
        ("v1.30.2", ["--allow-privileged is not a flag of kubelet v1.30.2 (removed in 1.15): remove it (the "
                     "recipe's KUBE_ALLOW_PRIV in /etc/kubernetes/config)", klog("kubelet", "v1.30.2")]),
    ],
)
def test_kubelet_with_the_recipe_config(version, expected):
    flags = OrderedDict([("allow-privileged", False), ("logtostderr", True), ("api-servers", None)])
    assert problems(flags, "kubelet", version) == expected


# -- inputs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "version",
    ["v1.30.2", "1.30", "1.30.2", "Kubernetes v1.30.2", "registry.k8s.io/kube-apiserver:v1.30.2",
     "registry.k8s.io/kube-apiserver:v1.30.2@sha256:0123abcd", "localhost:5000/kube-apiserver:v1.30.2",
     "v1.30.0-kubeha-standin", " v1.30.2 "],
)
def test_version_forms(version):
    assert problems({"insecure-port": 0}, "kube-apiserver", version)[0].startswith(
        "--insecure-port is not a flag of kube-apiserver v1.30")


def test_version_shown_as_given_with_a_v():
    assert "kube-apiserver v1.24.0-alpha.1 (removed" in problems({"port": 0}, "kube-apiserver", "1.24.0-alpha.1")[0]
    assert "kube-apiserver v1.30.2 (removed" in problems(
        {"port": 0}, "kube-apiserver", "registry.k8s.io/kube-apiserver:v1.30.2")[0]


def test_values_none_and_empty_are_not_checked_and_order_is_kept():
    flags = OrderedDict([("logtostderr", None), ("log-dir", ""), ("stderrthreshold", 2), ("one_output", True)])
    assert problems(flags, "kube-proxy", "v1.30.2") == [
        klog("kube-proxy", "v1.30.2", "stderrthreshold"), klog("kube-proxy", "v1.30.2", "one-output")]


@pytest.mark.parametrize(
    "version, message",
    [
        ("latest", "kube_flag_problems: version: 'latest' is not a Kubernetes version (expected e.g. v1.30.2, 1.5.2 "
                   "or registry.k8s.io/kube-apiserver:v1.30.2)"),
        ("1", "'1' is not a Kubernetes version"),
        ("v1.x", "'v1.x' is not a Kubernetes version"),
        ("", "'' is not a Kubernetes version"),
        ("registry.k8s.io/kube-apiserver", "the image 'registry.k8s.io/kube-apiserver' has no version tag"),
        ("registry.k8s.io/kube-apiserver:latest", "'registry.k8s.io/kube-apiserver:latest' is not a Kubernetes version"),
        (1.1, "kube_flag_problems: version: 1.1 is a number, not a version string: quote the version in YAML "
              "('1.10', not 1.10, which is 1.1)"),
        (130, "130 is a number"),
        (None, "a Kubernetes version must be a string, got NoneType None"),
        (True, "a Kubernetes version must be a string, got bool True"),
    ],
)
def test_bad_version(version, message):
    with pytest.raises(AnsibleFilterError) as exc:
        problems({"insecure-port": 0}, "kube-apiserver", version)
    assert message in str(exc.value)


@pytest.mark.parametrize("component", ["kube-apisever", "etcd", "", None, "KUBE-APISERVER"])
def test_bad_component(component):
    with pytest.raises(AnsibleFilterError) as exc:
        problems({"insecure-port": 0}, component, "v1.30.2")
    assert str(exc.value) == (
        "kube_flag_problems: component %r is not one of kube-apiserver, kube-scheduler, kube-controller-manager, "
        "kubelet, kube-proxy" % (component,))


@pytest.mark.parametrize(
    "flags, message",
    [
        (["insecure-port"], "kube_flag_problems: the input must be a dict of flag name (without dashes) -> value, "
                            "got list ['insecure-port']"),
        ({"--insecure-port": 0}, "kube_flag_problems: invalid flag name '--insecure-port': write the name without "
                                 "leading dashes"),
        ({"Insecure-Port": 0}, "invalid flag name 'Insecure-Port'"),
        ({1: 0}, "invalid flag name 1"),
        ({"insecure_port": 0, "insecure-port": 0}, "kube_flag_problems: flags 'insecure_port' and 'insecure-port' are "
                                                   "the same flag (--insecure-port); give it once"),
        ({"insecure-port": {"a": 1}}, "kube_flag_problems: flag 'insecure-port' has the value {'a': 1} (dict): a flag "
                                      "value is a string, a number or a boolean"),
    ],
)
def test_bad_flags(flags, message):
    with pytest.raises(AnsibleFilterError) as exc:
        problems(flags, "kube-apiserver", "v1.30.2")
    assert message in str(exc.value)


# -- kube_flag_aliases --------------------------------------------------------------------------


def test_alias_alone():
    assert kv.kube_flag_aliases({"address": "0.0.0.0", "secure-port": 6443}) == [dict(
        alias="address", flag="insecure-bind-address", alias_value="0.0.0.0", flag_value=None, effective="0.0.0.0",
        message="--address=0.0.0.0 is the deprecated alias of --insecure-bind-address (kube-apiserver accepts it "
                "before 1.24): write --insecure-bind-address=0.0.0.0 instead",
    )]


def test_alias_together_with_its_flag_the_last_one_wins():
    flags = OrderedDict([("port", 8080), ("insecure-bind-address", "127.0.0.1"), ("insecure-port", 18080),
                         ("address", "0.0.0.0")])
    assert kv.kube_flag_aliases(flags, "kube-apiserver") == [
        dict(alias="address", flag="insecure-bind-address", alias_value="0.0.0.0", flag_value="127.0.0.1",
             effective="0.0.0.0",
             message="--address=0.0.0.0 is the deprecated alias of --insecure-bind-address, which is set too "
                     "(--insecure-bind-address=127.0.0.1): kube-apiserver uses the one given last, --address=0.0.0.0; "
                     "remove --address and keep --insecure-bind-address only"),
        dict(alias="port", flag="insecure-port", alias_value="8080", flag_value="18080", effective="18080",
             message="--port=8080 is the deprecated alias of --insecure-port, which is set too (--insecure-port=18080): "
                     "kube-apiserver uses the one given last, --insecure-port=18080; remove --port and keep "
                     "--insecure-port only"),
    ]


def test_aliases_none_unset_and_other_components():
    assert kv.kube_flag_aliases({"address": None, "port": "", "insecure-port": 8080}) == []
    assert kv.kube_flag_aliases({"address": "0.0.0.0", "port": 10251}, "kube-scheduler") == []
    with pytest.raises(AnsibleFilterError, match="kube_flag_aliases: component 'etcd' is not one of"):
        kv.kube_flag_aliases({}, "etcd")
    with pytest.raises(AnsibleFilterError, match="kube_flag_aliases: invalid flag name '--port'"):
        kv.kube_flag_aliases({"--port": 1})
    with pytest.raises(AnsibleFilterError, match="kube_flag_aliases: flag 'port' has the value"):
        kv.kube_flag_aliases({"port": [1]})


# -- plugin and documentation ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["kube_flag_problems", "kube_flag_aliases"])
def test_filters_are_registered_and_documented(name):
    assert kv.FilterModule().filters()[name] is getattr(kv, name)
    with open(os.path.join(FILTER_DIR, name + ".yml"), encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    assert doc["DOCUMENTATION"]["name"] == name
    yaml.safe_load(doc["EXAMPLES"])
    assert doc["RETURN"]["_value"]["type"] == "list"
