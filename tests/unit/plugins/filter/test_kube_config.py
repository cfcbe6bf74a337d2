"""Unit tests of the kubeha.control_plane filters kube_sysconfig, kube_args, kube_sysconfig_flags and
kube_kubeconfig_server (plugins/filter/kube_config.py); kube_manifest_flags is tested in test_kube_manifest.py."""

from __future__ import annotations

import difflib
import importlib
import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.kubeha.control_plane.plugins.filter import kube_config as k

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8", newline="") as handle:
        return handle.read()


def changed_lines(before, after):
    """(removed, added) lines of a line diff: everything else is byte-for-byte the same."""
    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(True), after.splitlines(True)):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


KUBELET_CONF = fixture("kubelet.conf")
SYSCONFIG_APISERVER = fixture("sysconfig-apiserver")
SYSCONFIG_CONFIG = fixture("sysconfig-config")

ETCD = "https://10.146.47.100:2379,https://10.146.47.110:2379,https://[fd00::10]:2379"


# --------------------------------------------------------------------------
# kube_sysconfig
# --------------------------------------------------------------------------

def test_sysconfig_replace_remove_append():
    values = {
        "KUBE_API_ADDRESS": "--bind-address=0.0.0.0",
        "KUBE_ETCD_SERVERS": "--etcd-servers=" + ETCD,
        "KUBE_ADMISSION_CONTROL": None,
        "KUBE_API_ARGS": "--secure-port=6443 --v=2",
        "KUBE_API_PORT": "--secure-port=6443",
    }
    out = k.kube_sysconfig(SYSCONFIG_APISERVER, values)
    assert changed_lines(SYSCONFIG_APISERVER, out) == (
        [
            'KUBE_API_ADDRESS="--insecure-bind-address=127.0.0.1"\n',
            'KUBE_ETCD_SERVERS="--etcd-servers=http://127.0.0.1:2379"\n',
            'KUBE_ADMISSION_CONTROL="--admission-control=NamespaceLifecycle,NamespaceExists,LimitRanger,'
            'SecurityContextDeny,ServiceAccount,ResourceQuota"\n',
            'KUBE_API_ARGS=""\n',
        ],
        [
            'KUBE_API_ADDRESS="--bind-address=0.0.0.0"\n',
            'KUBE_ETCD_SERVERS="--etcd-servers=%s"\n' % ETCD,
            'KUBE_API_ARGS="--secure-port=6443 --v=2"\n',
            'KUBE_API_PORT="--secure-port=6443"\n',
        ],
    )
    # The commented-out KUBE_API_PORT and every comment stay.
    assert '# KUBE_API_PORT="--port=8080"\n' in out
    assert "# default admission control policies\n" in out
    assert k.kube_sysconfig(out, values) is out


def test_sysconfig_identity_when_unchanged():
    values = {"KUBE_LOG_LEVEL": "--v=0", "KUBE_MASTER": "--master=http://127.0.0.1:8080", "KUBE_NOPE": None}
    assert k.kube_sysconfig(SYSCONFIG_CONFIG, values) is SYSCONFIG_CONFIG
    out = k.kube_sysconfig(SYSCONFIG_CONFIG, {"KUBE_MASTER": "--master=https://[fd00::1]:8443"})
    assert changed_lines(SYSCONFIG_CONFIG, out) == (
        ['KUBE_MASTER="--master=http://127.0.0.1:8080"\n'],
        ['KUBE_MASTER="--master=https://[fd00::1]:8443"\n'],
    )


def test_sysconfig_duplicates_removed_and_unquoted_assignment_rewritten():
    text = "# x\nKUBE_LOG_LEVEL=--v=0\nOTHER=1\n  KUBE_LOG_LEVEL = \"--v=1\"\n#KUBE_LOG_LEVEL=\"--v=9\"\n"
    out = k.kube_sysconfig(text, {"KUBE_LOG_LEVEL": "--v=2"})
    assert out == '# x\nKUBE_LOG_LEVEL="--v=2"\nOTHER=1\n#KUBE_LOG_LEVEL="--v=9"\n'


def test_sysconfig_multiline_values_as_systemd_reads_them():
    text = 'A="one\nKUBE_API_ARGS=inside-a"\nKUBE_API_ARGS="--v=1 \\\n --x=2"\n# comment \\\nKUBE_API_ARGS=commented\nB=2\n'
    out = k.kube_sysconfig(text, {"KUBE_API_ARGS": "--v=2"})
    assert out == 'A="one\nKUBE_API_ARGS=inside-a"\nKUBE_API_ARGS="--v=2"\n# comment \\\nKUBE_API_ARGS=commented\nB=2\n'


def test_sysconfig_crlf_and_missing_final_newline():
    text = SYSCONFIG_CONFIG.replace("\n", "\r\n").rstrip("\r\n")
    out = k.kube_sysconfig(text, {"KUBE_LOG_LEVEL": "--v=2", "KUBE_PROXY_ARGS": "--v=2"})
    assert out == text.replace('KUBE_LOG_LEVEL="--v=0"', 'KUBE_LOG_LEVEL="--v=2"') + '\r\nKUBE_PROXY_ARGS="--v=2"\r\n'
    assert k.kube_sysconfig("", {"A": "b"}) == 'A="b"\n'


@pytest.mark.parametrize(
    "values, message",
    [
        ({"kube_api_args": "x"}, "invalid variable name 'kube_api_args': it must match ^[A-Z_][A-Z0-9_]*$"),
        ({"1A": "x"}, "invalid variable name '1A'"),
        ({"KUBE_API_ARGS\n": "x"}, "invalid variable name 'KUBE_API_ARGS\\n'"),
        ({"KUBE_API_ARGS": 'a"b'}, "KUBE_API_ARGS has value 'a\"b', which contains '\"'; systemd's EnvironmentFile"),
        ({"KUBE_API_ARGS": "--x=$HOME"}, "KUBE_API_ARGS has value '--x=$HOME', which contains '$'"),
        ({"KUBE_API_ARGS": "a\\b"}, "which contains '\\\\'"),
        ({"KUBE_API_ARGS": "a`b`"}, "which contains '`'"),
        ({"KUBE_API_ARGS": "a\nB=1"}, "KUBE_API_ARGS has value 'a\\nB=1', which contains '\\n'"),
        ({"KUBE_API_ARGS": "a\x00"}, "which contains '\\x00'"),
        ({"KUBE_API_ARGS": 5}, "KUBE_API_ARGS has value 5 (int); it must be a string (or None to remove it)"),
        (["KUBE_API_ARGS"], "the 'values' argument must be a dict of NAME -> value"),
    ],
)
def test_sysconfig_errors(values, message):
    with pytest.raises(AnsibleFilterError) as err:
        k.kube_sysconfig(SYSCONFIG_APISERVER, values)
    assert str(err.value).startswith("kube_sysconfig: ")
    assert message in str(err.value)


# --------------------------------------------------------------------------
# kube_args
# --------------------------------------------------------------------------

def test_kube_args_sorted_rendered_and_none_skipped():
    assert k.kube_args({"v": 2, "profiling": False, "audit_log_path": "/var/log/a.log", "insecure-port": None,
                        "anonymous-auth": True, "feature-gates": ""}) == [
        "--anonymous-auth=true",
        "--audit-log-path=/var/log/a.log",
        "--feature-gates=",
        "--profiling=false",
        "--v=2",
    ]
    assert k.kube_args({}) == []
    assert k.kube_args({"x": "a b"}) == ["--x=a b"]


@pytest.mark.parametrize(
    "flags, message",
    [
        ({"--v": 2}, "kube_args: invalid flag name '--v': write the name without leading dashes"),
        ({"v": "1\n"}, "kube_args: flag 'v' has value '1\\n', which contains a newline or NUL character"),
        ({"v": [1]}, "kube_args: flag 'v' has value [1]; a flag value must be a string, a number or a boolean, not a list"),
        ({"v": {"a": 1}}, "kube_args: flag 'v' has value {'a': 1}"),
        ("v=2", "kube_args: the input must be a dict of flag name -> value, got 'v=2'"),
    ],
)
def test_kube_args_errors(flags, message):
    with pytest.raises(AnsibleFilterError) as err:
        k.kube_args(flags)
    assert message in str(err.value)


@pytest.mark.parametrize("value", ["a b", "a\tb", 'a"b', "a'b", "a\\b", "$X", "a`b`"])
def test_kube_args_sysconfig_refuses_what_whitespace_splitting_breaks(value):
    assert k.kube_args({"x": "ok"}, sysconfig=True) == ["--x=ok"]
    with pytest.raises(AnsibleFilterError) as err:
        k.kube_args({"admission_control_config_file": value}, sysconfig=True)
    assert "flag 'admission_control_config_file' has value %r" % value in str(err.value)
    assert "the sysconfig layout splits values on whitespace" in str(err.value)


# --------------------------------------------------------------------------
# kube_kubeconfig_server
# --------------------------------------------------------------------------

def test_kubeconfig_server_set_only_that_line():
    out = k.kube_kubeconfig_server(KUBELET_CONF, "https://[fd00::1]:8443")
    assert changed_lines(KUBELET_CONF, out) == (
        ["    server: https://10.146.47.100:6443\n"],
        ["    server: https://[fd00::1]:8443\n"],
    )
    assert k.kube_kubeconfig_server(out, "https://[fd00::1]:8443") is out
    assert k.kube_kubeconfig_server(KUBELET_CONF, "https://10.146.47.100:6443", cluster="kubernetes") is KUBELET_CONF


MULTI = (
    "apiVersion: v1\r\n"
    "kind: Config\r\n"
    "clusters:\r\n"
    "- name: a\r\n"
    "  cluster:\r\n"
    '    server: "https://10.0.0.1:6443"  # quoted\r\n'
    "- name: b\r\n"
    "  cluster: {server: https://10.0.0.2:6443, insecure-skip-tls-verify: true}\r\n"
    "users: []\r\n"
)


def test_kubeconfig_named_cluster_quoting_and_flow_mapping():
    out = k.kube_kubeconfig_server(MULTI, "https://lb.example.com:6443", cluster="a")
    assert out == MULTI.replace('"https://10.0.0.1:6443"', '"https://lb.example.com:6443"')
    out = k.kube_kubeconfig_server(MULTI, "https://[fd00::1]:8443")
    assert changed_lines(MULTI, out) == (
        ['    server: "https://10.0.0.1:6443"  # quoted\r\n',
         "  cluster: {server: https://10.0.0.2:6443, insecure-skip-tls-verify: true}\r\n"],
        ['    server: "https://[fd00::1]:8443"  # quoted\r\n',
         "  cluster: {server: \"https://[fd00::1]:8443\", insecure-skip-tls-verify: true}\r\n"],
    )
    assert [c["cluster"]["server"] for c in yaml.safe_load(out)["clusters"]] == ["https://[fd00::1]:8443"] * 2


@pytest.mark.parametrize(
    "text, server, cluster, message",
    [
        (KUBELET_CONF, "https://x:6443", "other", "the kubeconfig has no cluster named 'other' (its clusters: 'kubernetes')"),
        ("apiVersion: v1\nkind: Config\nclusters: []\n", "https://x", None, "the kubeconfig has no clusters"),
        ("apiVersion: v1\nkind: Config\nusers: []\n", "https://x", None, "the kubeconfig has no clusters"),
        ("kind: Pod\nspec: {}\n", "https://x", None, "the text is not a kubeconfig (kind is 'Pod')"),
        ("just text\n", "https://x", None, "the text is not a kubeconfig (its top level is not a mapping)"),
        ("kind: Config\nclusters: [\n", "https://x", None, "the kubeconfig is not valid YAML: "),
        ("kind: Config\n---\nkind: Config\n", "https://x", None, "the kubeconfig must hold exactly one YAML document, it holds 2"),
        ("kind: Config\nclusters:\n- name: a\n  cluster: {}\n", "https://x", None, "cluster 'a' of the kubeconfig has no cluster.server"),
        (KUBELET_CONF, "10.0.0.1:6443", None, "server '10.0.0.1:6443' is not an http(s) URL (the scheme must be https or http)"),
        (KUBELET_CONF, "ftp://10.0.0.1", None, "server 'ftp://10.0.0.1' is not an http(s) URL (the scheme must be https or http)"),
        (KUBELET_CONF, "https://fd00::1:8443", None, "server 'https://fd00::1:8443' is not an http(s) URL (an IPv6 address must be in brackets)"),
        (KUBELET_CONF, "https://[fd00::zz]:8443", None, "server 'https://[fd00::zz]:8443' is not an http(s) URL ("),
        (KUBELET_CONF, "https://a:99999", None, "server 'https://a:99999' is not an http(s) URL ("),
        (KUBELET_CONF, "https://", None, "server 'https://' is not an http(s) URL (it has no host)"),
        (KUBELET_CONF, "https://a b", None, "server 'https://a b' is not an http(s) URL (it contains whitespace"),
        (KUBELET_CONF, "https://a:6443/?x=1", None, "must not carry user information, a query or a fragment"),
        (KUBELET_CONF, 6443, None, "server 6443 is not an http(s) URL (it is not a string)"),
    ],
)
def test_kubeconfig_errors(text, server, cluster, message):
    with pytest.raises(AnsibleFilterError) as err:
        k.kube_kubeconfig_server(text, server, cluster=cluster)
    assert str(err.value).startswith("kube_kubeconfig_server: ")
    assert message in str(err.value)


def test_filter_module_exposes_the_filters():
    assert k.FilterModule().filters() == {
        "kube_sysconfig": k.kube_sysconfig,
        "kube_args": k.kube_args,
        "kube_sysconfig_flags": k.kube_sysconfig_flags,
        "kube_kubeconfig_server": k.kube_kubeconfig_server,
    }


def test_each_filter_of_the_collection_is_exposed_by_one_file_only():
    # kube_manifest_flags moved to kube_manifest.py: no filter name may be
    # exposed by two filter plugin files (Ansible would pick one of them).
    owners = {}
    for name in sorted(os.listdir(os.path.dirname(k.__file__))):
        if name.endswith(".py"):
            module = importlib.import_module(
                "ansible_collections.kubeha.control_plane.plugins.filter." + name[:-3])
            for filter_name in module.FilterModule().filters():
                owners.setdefault(filter_name, []).append(name)
    assert {f: o for f, o in owners.items() if len(o) > 1} == {}
    assert {f: owners[f] for f in ("kube_manifest_flags", "kube_sysconfig", "kube_args", "kube_sysconfig_flags",
                                   "kube_kubeconfig_server")} == {
        "kube_manifest_flags": ["kube_manifest.py"],
        "kube_sysconfig": ["kube_config.py"],
        "kube_args": ["kube_config.py"],
        "kube_sysconfig_flags": ["kube_config.py"],
        "kube_kubeconfig_server": ["kube_config.py"],
    }


# --------------------------------------------------------------------------
# kube_sysconfig_flags
# --------------------------------------------------------------------------

SYSCONFIG_WITH_FLAGS = '''# kubernetes apiserver, as an operator left it
KUBE_API_ADDRESS="--insecure-bind-address=127.0.0.1"
KUBE_ETCD_SERVERS="--etcd-servers=http://127.0.0.1:2379"
KUBE_ADMISSION_CONTROL="--admission-control=NamespaceLifecycle,ServiceAccount"
KUBE_API_ARGS="--authorization-mode=RBAC --service_account_key_file=/old.key --apiserver-count 1 --token-auth-file=/etc/kubernetes/tokens.csv"
'''


ASSIGNMENTS = {
    "KUBE_ETCD_SERVERS": {"etcd-servers": "http://10.0.0.1:2379,http://10.0.0.2:2379"},
    "KUBE_API_ADDRESS": {}, "KUBE_API_PORT": {"secure-port": 6443},
    "KUBE_API_ARGS": {"apiserver-count": 3, "service-account-key-file": "/etc/kubernetes/serviceaccount.key"}}


def test_sysconfig_flags_keep_the_operators_flags():
    out = k.kube_sysconfig_flags(SYSCONFIG_WITH_FLAGS, ASSIGNMENTS)
    assert ('KUBE_API_ARGS="--authorization-mode=RBAC --token-auth-file=/etc/kubernetes/tokens.csv '
            '--apiserver-count=3 --service-account-key-file=/etc/kubernetes/serviceaccount.key"') in out
    assert 'KUBE_ETCD_SERVERS="--etcd-servers=http://10.0.0.1:2379,http://10.0.0.2:2379"' in out
    # Untouched: a listed variable without flags, other variables, comments; a new one appended.
    assert 'KUBE_API_ADDRESS="--insecure-bind-address=127.0.0.1"' in out
    assert 'KUBE_ADMISSION_CONTROL="--admission-control=NamespaceLifecycle,ServiceAccount"' in out
    assert out.startswith("# kubernetes apiserver, as an operator left it\n")
    assert out.endswith('KUBE_API_PORT="--secure-port=6443"\n')
    # Idempotent.
    assert k.kube_sysconfig_flags(out, ASSIGNMENTS) == out


def test_sysconfig_flags_remove_and_move_between_variables():
    out = k.kube_sysconfig_flags(SYSCONFIG_WITH_FLAGS, {"KUBE_API_ADDRESS": {"bind-address": "0.0.0.0"},
                                                        "KUBE_API_ARGS": {}}, remove=["apiserver-count", "insecure-bind-address"])
    assert 'KUBE_API_ADDRESS="--bind-address=0.0.0.0"' in out
    assert "apiserver-count" not in out and "--token-auth-file=/etc/kubernetes/tokens.csv" in out


def test_sysconfig_flags_refuse_what_the_unit_cannot_carry():
    with pytest.raises(AnsibleFilterError, match="splits values on whitespace"):
        k.kube_sysconfig_flags(SYSCONFIG_WITH_FLAGS, {"KUBE_API_ARGS": {"audit-log-path": "/var/log/my log"}})
    with pytest.raises(AnsibleFilterError, match="cannot be read as an EnvironmentFile"):
        k.kube_sysconfig_flags('KUBE_API_ARGS="--unterminated\n', {"KUBE_API_ARGS": {}})
