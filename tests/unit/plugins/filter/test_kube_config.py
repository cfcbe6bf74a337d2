"""Unit tests of the kubeha.control_plane filters that edit Kubernetes configuration text."""

from __future__ import annotations

import difflib
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


def command_of(text, container="kube-apiserver", key="command"):
    for item in yaml.safe_load(text)["spec"]["containers"]:
        if item["name"] == container:
            return item.get(key)
    raise AssertionError("no container %s" % container)


APISERVER = fixture("kube-apiserver.yaml")
SCHEDULER = fixture("kube-scheduler.yaml")
KUBELET_CONF = fixture("kubelet.conf")
SYSCONFIG_APISERVER = fixture("sysconfig-apiserver")
SYSCONFIG_CONFIG = fixture("sysconfig-config")

ETCD = "https://10.146.47.100:2379,https://10.146.47.110:2379,https://[fd00::10]:2379"


# --------------------------------------------------------------------------
# kube_manifest_flags
# --------------------------------------------------------------------------

def test_fixtures_are_what_they_claim():
    assert APISERVER.endswith("status: {}\n") and "\r" not in APISERVER
    doc = yaml.safe_load(APISERVER)
    assert doc["metadata"]["annotations"] == {
        "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint": "10.146.47.100:6443"
    }
    assert command_of(APISERVER)[0] == "kube-apiserver"


def test_change_one_flag_only_that_line_differs():
    out = k.kube_manifest_flags(APISERVER, {"etcd-servers": ETCD})
    assert changed_lines(APISERVER, out) == (
        ["    - --etcd-servers=https://127.0.0.1:2379\n"],
        ["    - --etcd-servers=%s\n" % ETCD],
    )
    # The comment above the flag and the one after the last flag stay.
    assert "    # stacked etcd on this master; kubeha points it at the external cluster\n" in out
    assert "apiserver.key  # kubeadm certs renew rewrites this pair\n" in out
    assert out.endswith("status: {}\n")


def test_add_flags_after_last_flag_in_dict_order_with_same_indentation():
    out = k.kube_manifest_flags(APISERVER, {"profiling": False, "audit_log_maxage": 30, "audit-log-path": "/var/log/kubernetes/audit.log"})
    removed, added = changed_lines(APISERVER, out)
    assert removed == []
    assert added == [
        "    - --profiling=false\n",
        "    - --audit-log-maxage=30\n",
        "    - --audit-log-path=/var/log/kubernetes/audit.log\n",
    ]
    lines = out.splitlines()
    last = lines.index("    - --tls-private-key-file=/etc/kubernetes/pki/apiserver.key  # kubeadm certs renew rewrites this pair")
    assert lines[last + 1:last + 5] == [
        "    - --profiling=false",
        "    - --audit-log-maxage=30",
        "    - --audit-log-path=/var/log/kubernetes/audit.log",
        "    image: registry.k8s.io/kube-apiserver:v1.30.2",
    ]


def test_remove_flag_deletes_its_line_only():
    out = k.kube_manifest_flags(APISERVER, {}, remove=["enable_bootstrap_token_auth"])
    assert changed_lines(APISERVER, out) == (["    - --enable-bootstrap-token-auth=true\n"], [])
    out2 = k.kube_manifest_flags(APISERVER, {"enable-bootstrap-token-auth": None})
    assert out2 == out


def test_change_add_and_remove_together_preserve_every_other_byte():
    out = k.kube_manifest_flags(
        APISERVER,
        {"etcd-servers": ETCD, "advertise-address": "10.146.47.100", "anonymous-auth": False},
        remove=["kubelet-preferred-address-types"],
    )
    removed, added = changed_lines(APISERVER, out)
    assert removed == [
        "    - --etcd-servers=https://127.0.0.1:2379\n",
        "    - --kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname\n",
    ]
    assert added == ["    - --etcd-servers=%s\n" % ETCD, "    - --anonymous-auth=false\n"]
    before, after = yaml.safe_load(APISERVER), yaml.safe_load(out)
    before["spec"]["containers"][0].pop("command")
    assert after["spec"]["containers"][0].pop("command")[-1] == "--anonymous-auth=false"
    assert before == after


def test_identity_when_unchanged_and_second_application():
    same = k.kube_manifest_flags(APISERVER, {"secure-port": 6443, "allow-privileged": True, "insecure-port": None})
    assert same is APISERVER
    flags = {"etcd-servers": ETCD, "v": 2, "profiling": False}
    once = k.kube_manifest_flags(APISERVER, flags, remove=["enable-bootstrap-token-auth"])
    assert once != APISERVER
    twice = k.kube_manifest_flags(once, flags, remove=["enable-bootstrap-token-auth"])
    assert twice is once


def test_bare_flag_is_boolean_true():
    text = APISERVER.replace("    - --allow-privileged=true\n", "    - --allow-privileged\n")
    assert k.kube_manifest_flags(text, {"allow-privileged": True}) is text
    out = k.kube_manifest_flags(text, {"allow-privileged": False})
    assert changed_lines(text, out) == (["    - --allow-privileged\n"], ["    - --allow-privileged=false\n"])


def test_underscore_spelling_in_manifest_matches_and_is_normalized_when_changed():
    text = APISERVER.replace("--secure-port=6443", "--secure_port=6443")
    assert k.kube_manifest_flags(text, {"secure-port": "6443"}) is text
    out = k.kube_manifest_flags(text, {"secure_port": 8443})
    assert changed_lines(text, out) == (["    - --secure_port=6443\n"], ["    - --secure-port=8443\n"])


def test_duplicate_flag_items_reduced_to_one():
    text = APISERVER.replace("    - --secure-port=6443\n", "    - --v=1\n    - --secure-port=6443\n    - --v=3\n")
    out = k.kube_manifest_flags(text, {"v": 3})
    assert changed_lines(text, out) == (["    - --v=1\n", "    - --v=3\n"], ["    - --v=3\n"])
    assert [a for a in command_of(out) if a.startswith("--v=")] == ["--v=3"]


def test_values_needing_quotes_are_double_quoted_and_quoted_items_keep_their_style():
    out = k.kube_manifest_flags(APISERVER, {"x-note": "a: b", "y-note": "c #d", "z-note": "e:"})
    removed, added = changed_lines(APISERVER, out)
    assert removed == []
    assert added == ['    - "--x-note=a: b"\n', '    - "--y-note=c #d"\n', '    - "--z-note=e:"\n']
    assert command_of(out)[-3:] == ["--x-note=a: b", "--y-note=c #d", "--z-note=e:"]
    quoted = APISERVER.replace("    - --secure-port=6443\n", "    - '--secure-port=6443'\n")
    out = k.kube_manifest_flags(quoted, {"secure-port": 8443})
    assert changed_lines(quoted, out) == (["    - '--secure-port=6443'\n"], ["    - '--secure-port=8443'\n"])


def test_crlf_input_keeps_crlf():
    text = APISERVER.replace("\n", "\r\n")
    out = k.kube_manifest_flags(text, {"etcd-servers": ETCD, "v": 2}, remove=["enable-bootstrap-token-auth"])
    assert "\n" not in out.replace("\r\n", "")
    removed, added = changed_lines(text, out)
    assert removed == [
        "    - --enable-bootstrap-token-auth=true\r\n",
        "    - --etcd-servers=https://127.0.0.1:2379\r\n",
    ]
    assert added == ["    - --etcd-servers=%s\r\n" % ETCD, "    - --v=2\r\n"]
    assert k.kube_manifest_flags(out, {"etcd-servers": ETCD, "v": 2}, remove=["enable-bootstrap-token-auth"]) is out


def test_no_trailing_newline_and_document_markers_kept():
    text = "---\n# scheduler\n" + SCHEDULER.rstrip("\n").replace("status: {}", "status: {}\n...")
    text = text.rstrip("\n")
    out = k.kube_manifest_flags(text, {"v": 4}, container="kube-scheduler")
    assert out.startswith("---\n# scheduler\n")
    assert out.endswith("\n...")
    assert changed_lines(text, out) == ([], ["    - --v=4\n"])


def test_scheduler_manifest_and_last_line_without_newline():
    out = k.kube_manifest_flags(SCHEDULER, {"bind_address": "0.0.0.0", "v": 3}, container="kube-scheduler")
    assert changed_lines(SCHEDULER, out) == (
        ["    - --bind-address=127.0.0.1\n"],
        ["    - --bind-address=0.0.0.0\n", "    - --v=3\n"],
    )
    # A manifest whose last line is the last flag item, without final newline.
    text = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: c\n    args:\n    - --a=1"
    assert k.kube_manifest_flags(text, {"b": 2}, container="c") == text + "\n    - --b=2"


FLOW = (
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: kube-apiserver, namespace: kube-system}  # flow style\n"
    "spec:\n"
    "  containers:\n"
    "  - name: kube-apiserver\n"
    "    image: registry.k8s.io/kube-apiserver:v1.30.2\n"
    "    command: [kube-apiserver, --secure-port=6443, '--v=2', --profiling=true]  # kept\n"
    "    resources: {requests: {cpu: 250m}}\n"
)


def test_flow_style_command_rewritten_as_one_flow_node():
    out = k.kube_manifest_flags(FLOW, {"secure-port": 8443, "etcd-servers": ETCD, "x": "a,b"}, remove=["profiling"])
    assert changed_lines(FLOW, out) == (
        ["    command: [kube-apiserver, --secure-port=6443, '--v=2', --profiling=true]  # kept\n"],
        ["    command: [kube-apiserver, --secure-port=8443, '--v=2', \"--etcd-servers=%s\", \"--x=a,b\"]  # kept\n"
         % ETCD],
    )
    assert command_of(out) == ["kube-apiserver", "--secure-port=8443", "--v=2", "--etcd-servers=" + ETCD, "--x=a,b"]
    assert k.kube_manifest_flags(out, {"secure-port": 8443, "etcd-servers": ETCD, "x": "a,b"}, remove=["profiling"]) is out


def test_unchanged_flow_list_is_left_as_written_and_flow_comments_refused():
    text = FLOW.replace("command: [kube-apiserver, --secure-port=6443, '--v=2', --profiling=true]",
                        "command: [kube-apiserver,--secure-port=6443]\n    args: [--v=2]")
    out = k.kube_manifest_flags(text, {"v": 3})
    assert changed_lines(text, out) == (["    args: [--v=2]  # kept\n"], ["    args: [--v=3]  # kept\n"])
    commented = FLOW.replace("'--v=2', --profiling=true]", "'--v=2',  # log level\n      --profiling=true]")
    assert command_of(commented)[-1] == "--profiling=true"
    with pytest.raises(AnsibleFilterError, match="command of container 'kube-apiserver' is a flow list with comments "
                                                 "inside .line 8.; it cannot be rewritten without losing them"):
        k.kube_manifest_flags(commented, {"v": 3})


ARGS = (
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata:\n"
    "  name: kube-controller-manager\n"
    "spec:\n"
    "  containers:\n"
    "  - name: sidecar\n"
    "    image: busybox\n"
    "    args:\n"
    "    - --v=1\n"
    "  - name: kube-controller-manager\n"
    "    image: registry.k8s.io/kube-controller-manager:v1.30.2\n"
    "    command:\n"
    "      - kube-controller-manager\n"
    "    args:\n"
    "      - --leader-elect=true    # HA\n"
    "      - --v=1\n"
    "\n"
    "    # probes follow\n"
    "    livenessProbe: {httpGet: {port: 10257}}\n"
)


def test_args_list_with_deeper_indentation_and_other_container_untouched():
    out = k.kube_manifest_flags(ARGS, {"v": 2, "cluster-name": "kubeha"}, container="kube-controller-manager")
    assert changed_lines(ARGS, out) == (
        ["      - --v=1\n"],
        ["      - --v=2\n", "      - --cluster-name=kubeha\n"],
    )
    assert command_of(out, "sidecar", "args") == ["--v=1"]
    assert command_of(out, "kube-controller-manager", "command") == ["kube-controller-manager"]


def test_removing_the_last_flag_item_puts_new_flags_in_its_place():
    out = k.kube_manifest_flags(ARGS, {"v": None, "node-monitor-grace-period": "40s"}, container="kube-controller-manager")
    assert changed_lines(ARGS, out) == (["      - --v=1\n"], ["      - --node-monitor-grace-period=40s\n"])


def test_removing_every_arg_leaves_an_empty_list_not_null():
    out = k.kube_manifest_flags(ARGS, {}, container="sidecar", remove=["v"])
    assert changed_lines(ARGS, out) == (["    args:\n", "    - --v=1\n"], ["    args: []\n"])
    assert command_of(out, "sidecar", "args") == []


def test_flags_in_command_without_flag_items_go_to_args():
    text = ARGS.replace("      - --leader-elect=true    # HA\n      - --v=1\n", "      - --leader-elect=true    # HA\n")
    out = k.kube_manifest_flags(text, {"v": 5}, container="kube-controller-manager")
    assert changed_lines(text, out) == ([], ["      - --v=5\n"])
    assert command_of(out, "kube-controller-manager", "args") == ["--leader-elect=true", "--v=5"]


@pytest.mark.parametrize(
    "text, container, message",
    [
        ("kind: Pod\nspec: [\n", "kube-apiserver", "kube_manifest_flags: the manifest is not valid YAML: "),
        ("kind: Pod\n---\nkind: Pod\n", "kube-apiserver", "the manifest must hold exactly one YAML document, it holds 2"),
        ("", "kube-apiserver", "the manifest must hold exactly one YAML document, it holds 0"),
        ("- a\n", "kube-apiserver", "the manifest is not a Kubernetes object (its top level is not a mapping); looking for container 'kube-apiserver'"),
        ("apiVersion: apps/v1\nkind: Deployment\nspec: {}\n", "kube-apiserver",
         "the manifest is not a Pod (kind is 'Deployment'); looking for container 'kube-apiserver'"),
        ("kind: Pod\nspec: {}\n", "etcd", "the Pod has no spec.containers list; looking for container 'etcd'"),
        (None, "etcd", "the Pod has no container 'etcd' (its containers: 'kube-apiserver')"),
        ("kind: Pod\nspec:\n  containers:\n  - name: c\n    command: kube-apiserver --v=1\n", "c", "command of container 'c' is not a list of strings"),
        ("kind: Pod\nspec:\n  containers:\n  - name: c\n    args: [--v=1, 5]\n", "c", "args of container 'c' is not a list of strings"),
        ("kind: Pod\nspec:\n  containers:\n  - name: c\n    image: x\n", "c", "container 'c' has neither a command nor an args list to hold the flags"),
        ("kind: Pod\nspec:\n  containers:\n  - name: c\n    args: [a]\n  - name: c\n    args: [b]\n", "c", "the Pod has 2 containers named 'c'"),
    ],
)
def test_manifest_errors(text, container, message):
    with pytest.raises(AnsibleFilterError) as err:
        k.kube_manifest_flags(APISERVER if text is None else text, {"v": 2}, container=container)
    assert message in str(err.value)
    assert str(err.value).startswith("kube_manifest_flags: ")


def test_invalid_yaml_error_has_the_mark():
    with pytest.raises(AnsibleFilterError) as err:
        k.kube_manifest_flags("kind: Pod\nspec:\n\tcontainers: []\n", {"v": 2})
    assert str(err.value) == (
        "kube_manifest_flags: the manifest is not valid YAML: line 3, column 1: found character '\\t' that "
        "cannot start any token (while scanning for the next token)"
    )
    with pytest.raises(AnsibleFilterError, match="the manifest is not valid YAML: unacceptable character #x0000"):
        k.kube_manifest_flags("kind: Pod\x00\n", {"v": 2})


@pytest.mark.parametrize(
    "flags, message",
    [
        ({"--etcd-servers": "x"}, "invalid flag name '--etcd-servers': write the name without leading dashes"),
        ({"v 2": "x"}, "invalid flag name 'v 2': write the name without leading dashes"),
        ({"v\n": "x"}, "invalid flag name 'v\\n': write the name without leading dashes"),
        ({"Etcd": "x"}, "invalid flag name 'Etcd'"),
        ({"": "x"}, "invalid flag name ''"),
        ({"v": "2\n--x=y"}, "flag 'v' has value '2\\n--x=y', which contains a newline or NUL character"),
        ({"v": "2\x00"}, "flag 'v' has value '2\\x00', which contains a newline or NUL character"),
        ({"v": {"a": 1}}, "flag 'v' of container 'kube-apiserver' has value {'a': 1}; a flag value must be a string, a number or a boolean, not a dict"),
        ({"v": [1, 2]}, "flag 'v' of container 'kube-apiserver' has value [1, 2]; a flag value must be a string, a number or a boolean, not a list"),
        ({"a_b": 1, "a-b": 2}, "flags 'a_b' and 'a-b' are the same flag (--a-b); give it once"),
        (["v"], "the 'flags' argument must be a dict of flag name -> value, got ['v']"),
    ],
)
def test_flag_errors(flags, message):
    with pytest.raises(AnsibleFilterError) as err:
        k.kube_manifest_flags(APISERVER, flags)
    assert message in str(err.value)


def test_remove_argument_errors():
    with pytest.raises(AnsibleFilterError, match="'remove' argument must be a list of flag names, got 'v'"):
        k.kube_manifest_flags(APISERVER, {}, remove="v")
    with pytest.raises(AnsibleFilterError, match="invalid flag name '--v': write the name without leading dashes"):
        k.kube_manifest_flags(APISERVER, {}, remove=["--v"])
    with pytest.raises(AnsibleFilterError, match=r"flag 'v' is both set \(to '2'\) and listed in 'remove'"):
        k.kube_manifest_flags(APISERVER, {"v": 2}, remove=["v"])


def test_input_must_be_text():
    with pytest.raises(AnsibleFilterError, match="the input must be the text of a static pod manifest"):
        k.kube_manifest_flags(None, {"v": 2})


def test_verification_refuses_an_edit_that_changes_more_than_the_flags(monkeypatch):
    # Simulate a faulty edit: the verification must catch it and keep the text out.
    monkeypatch.setattr(k, "_apply", lambda text, edits: text.replace("cpu: 250m", "cpu: 500m") + "")
    with pytest.raises(AnsibleFilterError, match="editing container 'kube-apiserver' would change more than its flags"):
        k.kube_manifest_flags(APISERVER, {"v": 2})


def test_block_scalar_item_is_refused_when_edited():
    text = "kind: Pod\nspec:\n  containers:\n  - name: c\n    args:\n    - >-\n      --v=1\n    - --x=1\n"
    assert k.kube_manifest_flags(text, {"x": 1}, container="c") is text
    with pytest.raises(AnsibleFilterError, match="an item of args of container 'c' is a block scalar .line 6."):
        k.kube_manifest_flags(text, {"v": 2}, container="c")


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
        "kube_manifest_flags": k.kube_manifest_flags,
        "kube_sysconfig": k.kube_sysconfig,
        "kube_args": k.kube_args,
        "kube_sysconfig_flags": k.kube_sysconfig_flags,
        "kube_kubeconfig_server": k.kube_kubeconfig_server,
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
