"""Unit tests of the kubeha.control_plane filter kube_manifest_flags (plugins/filter/kube_manifest.py)."""

from __future__ import annotations

import difflib
import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.kubeha.control_plane.plugins.filter import kube_manifest as m

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
    out = m.kube_manifest_flags(APISERVER, {"etcd-servers": ETCD})
    assert changed_lines(APISERVER, out) == (
        ["    - --etcd-servers=https://127.0.0.1:2379\n"],
        ["    - --etcd-servers=%s\n" % ETCD],
    )
    # The comment above the flag and the one after the last flag stay.
    assert "    # stacked etcd on this master; kubeha points it at the external cluster\n" in out
    assert "apiserver.key  # kubeadm certs renew rewrites this pair\n" in out
    assert out.endswith("status: {}\n")


def test_add_flags_after_last_flag_in_dict_order_with_same_indentation():
    out = m.kube_manifest_flags(APISERVER, {"profiling": False, "audit_log_maxage": 30, "audit-log-path": "/var/log/kubernetes/audit.log"})
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
    out = m.kube_manifest_flags(APISERVER, {}, remove=["enable_bootstrap_token_auth"])
    assert changed_lines(APISERVER, out) == (["    - --enable-bootstrap-token-auth=true\n"], [])
    out2 = m.kube_manifest_flags(APISERVER, {"enable-bootstrap-token-auth": None})
    assert out2 == out


def test_change_add_and_remove_together_preserve_every_other_byte():
    out = m.kube_manifest_flags(
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
    same = m.kube_manifest_flags(APISERVER, {"secure-port": 6443, "allow-privileged": True, "insecure-port": None})
    assert same is APISERVER
    flags = {"etcd-servers": ETCD, "v": 2, "profiling": False}
    once = m.kube_manifest_flags(APISERVER, flags, remove=["enable-bootstrap-token-auth"])
    assert once != APISERVER
    twice = m.kube_manifest_flags(once, flags, remove=["enable-bootstrap-token-auth"])
    assert twice is once


def test_bare_flag_is_boolean_true():
    text = APISERVER.replace("    - --allow-privileged=true\n", "    - --allow-privileged\n")
    assert m.kube_manifest_flags(text, {"allow-privileged": True}) is text
    out = m.kube_manifest_flags(text, {"allow-privileged": False})
    assert changed_lines(text, out) == (["    - --allow-privileged\n"], ["    - --allow-privileged=false\n"])


def test_underscore_spelling_in_manifest_matches_and_is_normalized_when_changed():
    text = APISERVER.replace("--secure-port=6443", "--secure_port=6443")
    assert m.kube_manifest_flags(text, {"secure-port": "6443"}) is text
    out = m.kube_manifest_flags(text, {"secure_port": 8443})
    assert changed_lines(text, out) == (["    - --secure_port=6443\n"], ["    - --secure-port=8443\n"])


def test_duplicate_flag_items_reduced_to_one():
    text = APISERVER.replace("    - --secure-port=6443\n", "    - --v=1\n    - --secure-port=6443\n    - --v=3\n")
    out = m.kube_manifest_flags(text, {"v": 3})
    assert changed_lines(text, out) == (["    - --v=1\n", "    - --v=3\n"], ["    - --v=3\n"])
    assert [a for a in command_of(out) if a.startswith("--v=")] == ["--v=3"]


def test_values_needing_quotes_are_double_quoted_and_quoted_items_keep_their_style():
    out = m.kube_manifest_flags(APISERVER, {"x-note": "a: b", "y-note": "c #d", "z-note": "e:"})
    removed, added = changed_lines(APISERVER, out)
    assert removed == []
    assert added == ['    - "--x-note=a: b"\n', '    - "--y-note=c #d"\n', '    - "--z-note=e:"\n']
    assert command_of(out)[-3:] == ["--x-note=a: b", "--y-note=c #d", "--z-note=e:"]
    quoted = APISERVER.replace("    - --secure-port=6443\n", "    - '--secure-port=6443'\n")
    out = m.kube_manifest_flags(quoted, {"secure-port": 8443})
    assert changed_lines(quoted, out) == (["    - '--secure-port=6443'\n"], ["    - '--secure-port=8443'\n"])


def test_crlf_input_keeps_crlf():
    text = APISERVER.replace("\n", "\r\n")
    out = m.kube_manifest_flags(text, {"etcd-servers": ETCD, "v": 2}, remove=["enable-bootstrap-token-auth"])
    assert "\n" not in out.replace("\r\n", "")
    removed, added = changed_lines(text, out)
    assert removed == [
        "    - --enable-bootstrap-token-auth=true\r\n",
        "    - --etcd-servers=https://127.0.0.1:2379\r\n",
    ]
    assert added == ["    - --etcd-servers=%s\r\n" % ETCD, "    - --v=2\r\n"]
    assert m.kube_manifest_flags(out, {"etcd-servers": ETCD, "v": 2}, remove=["enable-bootstrap-token-auth"]) is out


def test_no_trailing_newline_and_document_markers_kept():
    text = "---\n# scheduler\n" + SCHEDULER.rstrip("\n").replace("status: {}", "status: {}\n...")
    text = text.rstrip("\n")
    out = m.kube_manifest_flags(text, {"v": 4}, container="kube-scheduler")
    assert out.startswith("---\n# scheduler\n")
    assert out.endswith("\n...")
    assert changed_lines(text, out) == ([], ["    - --v=4\n"])


def test_scheduler_manifest_and_last_line_without_newline():
    out = m.kube_manifest_flags(SCHEDULER, {"bind_address": "0.0.0.0", "v": 3}, container="kube-scheduler")
    assert changed_lines(SCHEDULER, out) == (
        ["    - --bind-address=127.0.0.1\n"],
        ["    - --bind-address=0.0.0.0\n", "    - --v=3\n"],
    )
    # A manifest whose last line is the last flag item, without final newline.
    text = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: c\n    args:\n    - --a=1"
    assert m.kube_manifest_flags(text, {"b": 2}, container="c") == text + "\n    - --b=2"


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
    out = m.kube_manifest_flags(FLOW, {"secure-port": 8443, "etcd-servers": ETCD, "x": "a,b"}, remove=["profiling"])
    assert changed_lines(FLOW, out) == (
        ["    command: [kube-apiserver, --secure-port=6443, '--v=2', --profiling=true]  # kept\n"],
        ["    command: [kube-apiserver, --secure-port=8443, '--v=2', \"--etcd-servers=%s\", \"--x=a,b\"]  # kept\n"
         % ETCD],
    )
    assert command_of(out) == ["kube-apiserver", "--secure-port=8443", "--v=2", "--etcd-servers=" + ETCD, "--x=a,b"]
    assert m.kube_manifest_flags(out, {"secure-port": 8443, "etcd-servers": ETCD, "x": "a,b"}, remove=["profiling"]) is out


def test_unchanged_flow_list_is_left_as_written_and_flow_comments_refused():
    text = FLOW.replace("command: [kube-apiserver, --secure-port=6443, '--v=2', --profiling=true]",
                        "command: [kube-apiserver,--secure-port=6443]\n    args: [--v=2]")
    out = m.kube_manifest_flags(text, {"v": 3})
    assert changed_lines(text, out) == (["    args: [--v=2]  # kept\n"], ["    args: [--v=3]  # kept\n"])
    commented = FLOW.replace("'--v=2', --profiling=true]", "'--v=2',  # log level\n      --profiling=true]")
    assert command_of(commented)[-1] == "--profiling=true"
    with pytest.raises(AnsibleFilterError, match="command of container 'kube-apiserver' is a flow list with comments "
                                                 "inside .line 8.; it cannot be rewritten without losing them"):
        m.kube_manifest_flags(commented, {"v": 3})


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
    out = m.kube_manifest_flags(ARGS, {"v": 2, "cluster-name": "kubeha"}, container="kube-controller-manager")
    assert changed_lines(ARGS, out) == (
        ["      - --v=1\n"],
        ["      - --v=2\n", "      - --cluster-name=kubeha\n"],
    )
    assert command_of(out, "sidecar", "args") == ["--v=1"]
    assert command_of(out, "kube-controller-manager", "command") == ["kube-controller-manager"]


def test_removing_the_last_flag_item_puts_new_flags_in_its_place():
    out = m.kube_manifest_flags(ARGS, {"v": None, "node-monitor-grace-period": "40s"}, container="kube-controller-manager")
    assert changed_lines(ARGS, out) == (["      - --v=1\n"], ["      - --node-monitor-grace-period=40s\n"])


def test_removing_every_arg_leaves_an_empty_list_not_null():
    out = m.kube_manifest_flags(ARGS, {}, container="sidecar", remove=["v"])
    assert changed_lines(ARGS, out) == (["    args:\n", "    - --v=1\n"], ["    args: []\n"])
    assert command_of(out, "sidecar", "args") == []


def test_flags_in_command_without_flag_items_go_to_args():
    text = ARGS.replace("      - --leader-elect=true    # HA\n      - --v=1\n", "      - --leader-elect=true    # HA\n")
    out = m.kube_manifest_flags(text, {"v": 5}, container="kube-controller-manager")
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
        m.kube_manifest_flags(APISERVER if text is None else text, {"v": 2}, container=container)
    assert message in str(err.value)
    assert str(err.value).startswith("kube_manifest_flags: ")


def test_invalid_yaml_error_has_the_mark():
    with pytest.raises(AnsibleFilterError) as err:
        m.kube_manifest_flags("kind: Pod\nspec:\n\tcontainers: []\n", {"v": 2})
    assert str(err.value) == (
        "kube_manifest_flags: the manifest is not valid YAML: line 3, column 1: found character '\\t' that "
        "cannot start any token (while scanning for the next token)"
    )
    with pytest.raises(AnsibleFilterError, match="the manifest is not valid YAML: unacceptable character #x0000"):
        m.kube_manifest_flags("kind: Pod\x00\n", {"v": 2})


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
        m.kube_manifest_flags(APISERVER, flags)
    assert message in str(err.value)


def test_remove_argument_errors():
    with pytest.raises(AnsibleFilterError, match="'remove' argument must be a list of flag names, got 'v'"):
        m.kube_manifest_flags(APISERVER, {}, remove="v")
    with pytest.raises(AnsibleFilterError, match="invalid flag name '--v': write the name without leading dashes"):
        m.kube_manifest_flags(APISERVER, {}, remove=["--v"])
    with pytest.raises(AnsibleFilterError, match=r"flag 'v' is both set \(to '2'\) and listed in 'remove'"):
        m.kube_manifest_flags(APISERVER, {"v": 2}, remove=["v"])


def test_input_must_be_text():
    with pytest.raises(AnsibleFilterError, match="the input must be the text of a static pod manifest"):
        m.kube_manifest_flags(None, {"v": 2})


def test_verification_refuses_an_edit_that_changes_more_than_the_flags(monkeypatch):
    # Simulate a faulty edit: the verification must catch it and keep the text out.
    monkeypatch.setattr(m, "_apply", lambda text, edits: text.replace("cpu: 250m", "cpu: 500m") + "")
    with pytest.raises(AnsibleFilterError, match="editing container 'kube-apiserver' would change more than its flags"):
        m.kube_manifest_flags(APISERVER, {"v": 2})


def test_block_scalar_item_is_refused_when_edited():
    text = "kind: Pod\nspec:\n  containers:\n  - name: c\n    args:\n    - >-\n      --v=1\n    - --x=1\n"
    assert m.kube_manifest_flags(text, {"x": 1}, container="c") is text
    with pytest.raises(AnsibleFilterError, match="an item of args of container 'c' is a block scalar .line 6."):
        m.kube_manifest_flags(text, {"v": 2}, container="c")


def test_filter_module_exposes_the_filter():
    assert m.FilterModule().filters() == {"kube_manifest_flags": m.kube_manifest_flags}
