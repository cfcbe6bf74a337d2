"""Unit tests of kubeha.control_plane's module_utils/kube_flags (pure functions, called directly)."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.kubeha.control_plane.plugins.module_utils import kube_flags as kf
from ansible_collections.kubeha.control_plane.plugins.module_utils.kube_flags import KubeFlagsError

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "modules", "fixtures")
UNIT_VARS = [
    "KUBE_LOGTOSTDERR", "KUBE_LOG_LEVEL", "KUBE_ETCD_SERVERS", "KUBE_API_ADDRESS", "KUBE_API_PORT",
    "KUBELET_PORT", "KUBE_ALLOW_PRIV", "KUBE_SERVICE_ADDRESSES", "KUBE_ADMISSION_CONTROL", "KUBE_API_ARGS",
]


def fixture(name, mode="r"):
    with open(os.path.join(FIXTURES, name), mode) as fh:
        return fh.read()


# -- parse_env_file ---------------------------------------------------------------


def test_parse_env_file_centos7_files():
    config = kf.parse_env_file(fixture("centos7/config"))
    assert dict(config) == {
        "KUBE_LOGTOSTDERR": "--logtostderr=true",
        "KUBE_LOG_LEVEL": "--v=0",
        "KUBE_ALLOW_PRIV": "--allow-privileged=false",
        "KUBE_MASTER": "--master=http://127.0.0.1:8080",
    }
    apiserver = kf.parse_env_file(fixture("centos7/apiserver"))
    # Commented-out assignments (# KUBE_API_PORT=...) and ';' comments are not variables.
    assert list(apiserver) == [
        "KUBE_API_ADDRESS", "KUBE_ETCD_SERVERS", "KUBE_SERVICE_ADDRESSES", "KUBE_ADMISSION_CONTROL", "KUBE_API_ARGS",
    ]
    assert apiserver["KUBE_SERVICE_ADDRESSES"] == "--service-cluster-ip-range=10.254.0.0/16"  # single-quoted
    assert apiserver["KUBE_API_ARGS"].startswith("--apiserver-count=3 --service_account_key_file=")


def test_parse_env_file_bytes_are_accepted():
    assert dict(kf.parse_env_file(b'A="x"\n')) == {"A": "x"}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("A=plain value  \n", "plain value"),  # trailing whitespace dropped, interior kept
        ("A=   lead\n", "lead"),
        ("A = spaced\n", "spaced"),  # whitespace around '=' is allowed
        ("A=b # not a comment\n", "b # not a comment"),
        ("A=x\"y\"\n", 'x"y"'),  # quotes after the first character are kept
        ("A='single \"kept\" $HOME \\n'\n", 'single "kept" $HOME \\n'),
        ('A="esc \\" \\\\ \\$ \\` \\n"\n', 'esc " \\ $ ` \\n'),
        ('A="two\nlines"\n', "two\nlines"),
        ("A=continued\\\n  line\n", "continued  line"),
        ('A="--a=1 \\\n--b=2"\n', "--a=1 --b=2"),
        ('A="quoted"   \n', "quoted"),
        ('A=""\n', ""),
        ("A=\n", ""),
        ("A=last-line-without-newline", "last-line-without-newline"),
        ("A=crlf\r\n", "crlf"),
        ("A=esc\\ aped\\ \n", "esc aped "),
    ],
)
def test_parse_env_file_systemd_quoting(text, expected):
    assert kf.parse_env_file(text)["A"] == expected


def test_parse_env_file_later_assignment_wins_and_comments():
    text = "  # indented comment\n;semicolon comment\n\nA=1\nA=2\n"
    assert dict(kf.parse_env_file(text)) == {"A": "2"}


@pytest.mark.parametrize(
    "text, message",
    [
        ("A=1\nKUBE_API_ARGS=\"--apiserver-count=3\n", "line 2: 'KUBE_API_ARGS=\"--apiserver-count=3': the double quote is never closed"),
        ("A='open\nstill open\n", "line 1: \"A='open\": the single quote is never closed"),
        ("# c\n\n--apiserver-count=3\n", "line 3: '--apiserver-count=3': '--apiserver-count' is not a valid variable name"),
        ("A=1\nKUBE_API_ARGS\n", "line 2: 'KUBE_API_ARGS' is not a NAME=value assignment (systemd ignores this line)"),
        ("export A=1\n", "line 1: 'export A=1': 'export A' is not a valid variable name"),
    ],
)
def test_parse_env_file_malformed_lines_name_line_and_content(text, message):
    with pytest.raises(KubeFlagsError) as err:
        kf.parse_env_file(text)
    assert message in str(err.value)


def test_parse_env_file_unterminated_fixture():
    with pytest.raises(KubeFlagsError, match=r"^line 8: 'KUBE_API_ARGS=\"--apiserver-count=3 --service_account_key_file=/etc/"):
        kf.parse_env_file(fixture("apiserver-unterminated"))


def test_parse_env_file_rejects_non_text():
    with pytest.raises(KubeFlagsError):
        kf.parse_env_file(None)


# -- sysconfig_argv -------------------------------------------------------------


def test_sysconfig_argv_follows_unit_order_and_splits_words():
    env = dict(kf.parse_env_file(fixture("centos7/config")))
    env.update(kf.parse_env_file(fixture("centos7/apiserver")))
    argv = kf.sysconfig_argv(env, UNIT_VARS)
    # The same argv the apiserver_count tests use as the running process's cmdline.
    assert argv == fixture("centos7/argv").splitlines()
    assert "--master=http://127.0.0.1:8080" not in argv  # KUBE_MASTER is not in the apiserver unit
    assert argv[-6] == "--apiserver-count=3"


def test_sysconfig_argv_empty_and_missing_variables_give_no_words():
    assert kf.sysconfig_argv({"A": "", "B": "  ", "C": "-x\t--y=1 \n--z"}, ["A", "B", "MISSING", "C"]) == ["-x", "--y=1", "--z"]


def test_sysconfig_argv_quotes_in_a_value_group_words_as_systemd_does():
    # replace_env_argv splits $VAR with EXTRACT_UNQUOTE: quotes group and are removed.
    env = {"KUBE_API_ARGS": "--a='x y' --b=\"c\" d\\ e"}
    assert kf.sysconfig_argv(env, ["KUBE_API_ARGS"]) == ["--a=x y", "--b=c", "d e"]


@pytest.mark.parametrize(
    "word, expected",
    [("--apiserver-count=3", "apiserver-count"), ("--service_account_key_file", "service-account-key-file"),
     ("-v=2", "v"), ("value", None), ("-", None), ("--", None), ("---", None), (None, None)],
)
def test_flag_of_word(word, expected):
    assert kf.flag_of_word(word) == expected


# -- flags_from_argv -------------------------------------------------------------


def test_flags_from_argv_forms_and_normalisation():
    flags = kf.flags_from_argv([
        "--apiserver-count=3", "--service_account_key_file", "/etc/kubernetes/sa.key", "--profiling",
        "--v=0", "--insecure-port", "0", "-v=2", "--enable-admission-plugins=A,B=c", "--empty=",
    ])
    assert list(flags.items()) == [
        ("apiserver-count", "3"),
        ("service-account-key-file", "/etc/kubernetes/sa.key"),
        ("profiling", "true"),
        ("insecure-port", "0"),
        ("v", "2"),  # the later -v overrides --v=0
        ("enable-admission-plugins", "A,B=c"),
        ("empty", ""),
    ]


def test_flags_from_argv_later_flag_overrides_including_spelling():
    flags = kf.flags_from_argv(["--apiserver-count=1", "--x", "--apiserver_count=3"])
    assert flags == {"apiserver-count": "3", "x": "true"}
    assert list(flags) == ["x", "apiserver-count"]


def test_flags_from_argv_bare_flag_before_another_flag():
    assert kf.flags_from_argv(["--profiling", "--v=2"]) == {"profiling": "true", "v": "2"}


@pytest.mark.parametrize(
    "argv, message",
    [
        (["apiserver", "--v=2"], "unexpected argument 'apiserver'"),
        (["--v=2", "stray"], "unexpected argument 'stray'"),
        (["--a", "b", "c"], "unexpected argument 'c'"),
        (["--=x"], "malformed flag '--=x'"),
        (["--", "x"], "after '--'"),
        (["-"], "unexpected argument '-'"),
        ([1], "not a string"),
        ("--v=2", "expected a list"),
    ],
)
def test_flags_from_argv_errors(argv, message):
    with pytest.raises(KubeFlagsError) as err:
        kf.flags_from_argv(argv)
    assert message in str(err.value)


# -- flags_from_manifest / manifest_image ------------------------------------------------


def test_flags_from_manifest_kubeadm():
    data = yaml.safe_load(fixture("kubeadm-v1.30-kube-apiserver.yaml"))
    argv = kf.flags_from_manifest(data)
    assert argv[0] == "--advertise-address=10.146.47.100"  # the program name is dropped
    assert argv[-1] == "--tls-private-key-file=/etc/kubernetes/pki/apiserver.key"
    assert len(argv) == 27
    flags = kf.flags_from_argv(argv)
    assert "apiserver-count" not in flags
    assert flags["service-account-signing-key-file"] == "/etc/kubernetes/pki/sa.key"
    assert kf.manifest_image(data) == "registry.k8s.io/kube-apiserver:v1.30.2"


def test_flags_from_manifest_args_and_second_container():
    data = {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [
        {"name": "sidecar", "image": "busybox"},
        {"name": "apiserver", "image": "x", "command": ["/usr/local/bin/kube-apiserver", "--v=2"], "args": ["--apiserver-count=3"]},
        {"name": "entrypoint", "args": ["--secure-port=6443"]},
    ]}}
    assert kf.flags_from_manifest(data, "apiserver") == ["--v=2", "--apiserver-count=3"]
    assert kf.flags_from_manifest(data, "entrypoint") == ["--secure-port=6443"]  # image entrypoint is the program
    assert kf.manifest_image(data, "entrypoint") is None


@pytest.mark.parametrize(
    "data, message",
    [
        (yaml.safe_load(fixture("manifest-no-containers.yaml")), "the manifest has no spec.containers list"),
        (yaml.safe_load(fixture("manifest-list.yaml")), "the manifest is a list, not a Pod object"),
        (None, "the manifest is a empty document"),
        ({"kind": "Deployment", "spec": {}}, "kind is 'Deployment', not 'Pod'"),
        ({"kind": "Pod"}, "no spec mapping"),
        ({"kind": "Pod", "spec": {"containers": ["kube-apiserver"]}}, "holds a str, not a container mapping"),
        ({"kind": "Pod", "spec": {"containers": [{"name": "etcd"}]}}, "no container named 'kube-apiserver' (found: etcd)"),
        ({"kind": "Pod", "spec": {"containers": [{"name": "kube-apiserver", "command": "kube-apiserver --v=2"}]}},
         "command must be a list of strings"),
        ({"kind": "Pod", "spec": {"containers": [{"name": "kube-apiserver", "command": ["kube-apiserver", 3]}]}},
         "command must be a list of strings"),
        ({"kind": "Pod", "spec": {"containers": [{"name": "kube-apiserver"}]}}, "has neither command nor args"),
    ],
)
def test_flags_from_manifest_errors(data, message):
    with pytest.raises(KubeFlagsError) as err:
        kf.flags_from_manifest(data)
    assert message in str(err.value)


# -- parse_cmdline / program_matches -------------------------------------------------------


def test_parse_cmdline_nul_separated_with_trailing_nul():
    raw = b"/usr/bin/kube-apiserver\x00--logtostderr=true\x00--v=0\x00--apiserver-count=3\x00"
    assert kf.parse_cmdline(raw) == ["/usr/bin/kube-apiserver", "--logtostderr=true", "--v=0", "--apiserver-count=3"]


def test_parse_cmdline_edge_cases():
    assert kf.parse_cmdline(b"") == []  # kernel thread
    assert kf.parse_cmdline(b"kube-apiserver --v=2") == ["kube-apiserver --v=2"]  # setproctitle style, one word
    assert kf.parse_cmdline(b"a\x00\x00b\x00") == ["a", "", "b"]  # an empty argument survives
    garbage = kf.parse_cmdline(b"\xff\xfe\x00kube-\xc3apiserver\x00")
    assert garbage == ["\ufffd\ufffd", "kube-\ufffdapiserver"]
    with pytest.raises(KubeFlagsError):
        kf.parse_cmdline(None)


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["/usr/bin/kube-apiserver", "--v=0"], ["--v=0"]),
        (["kube-apiserver"], []),
        (["/usr/bin/python3", "/usr/bin/kube-apiserver", "--v=0"], ["--v=0"]),
        (["python3.11", "/usr/local/bin/kube-apiserver"], []),
        (["/bin/sh", "/usr/bin/kube-apiserver", "--a"], ["--a"]),
        (["/usr/bin/bash", "kube-apiserver"], []),
        (["/usr/bin/python3", "/usr/lib/kubeha-standin/kube_standin.py", "apiserver"], None),
        (["/usr/bin/python3", "-c", "kube-apiserver"], None),
        (["/usr/bin/kube-controller-manager", "--v=0"], None),
        (["/usr/bin/vim", "/usr/bin/kube-apiserver"], None),
        (["grep", "kube-apiserver"], None),
        ([], None),
    ],
)
def test_program_args_and_matches(argv, expected):
    assert kf.program_args(argv, "kube-apiserver") == expected
    assert kf.program_matches(argv, "kube-apiserver") is (expected is not None)


# -- parse_version / effective_reconciler --------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Kubernetes v1.10.13", (1, 10)),
        ("v1.30.0-kubeha-standin", (1, 30)),
        ("1.9", (1, 9)),
        ("  v1.11.0+k3s1\n", (1, 11)),
        ("registry.k8s.io/kube-apiserver:v1.30.2", (1, 30)),
        ("localhost:5000/kube-apiserver:v1.29.0@sha256:0123abcd", (1, 29)),
        ("gcr.io/google_containers/kube-apiserver-amd64:v1.10.13", (1, 10)),
    ],
)
def test_parse_version(text, expected):
    assert kf.parse_version(text) == expected


@pytest.mark.parametrize(
    "text", ["", "latest", "registry.k8s.io/kube-apiserver:latest", "localhost:5000/kube-apiserver", "v1", "1.x", "Kubernetes", None, 1.1]
)
def test_parse_version_rejects(text):
    with pytest.raises(KubeFlagsError):
        kf.parse_version(text)


@pytest.mark.parametrize(
    "flags, version, expected",
    [
        ({}, (1, 5), "master-count"),
        ({}, (1, 10), "master-count"),
        ({}, (1, 11), "lease"),
        ({}, (2, 0), "lease"),
        ({}, "v1.30.2", "lease"),
        ({}, None, "unknown"),
        ({"endpoint-reconciler-type": "master-count"}, (1, 30), "master-count"),
        ({"endpoint-reconciler-type": "lease"}, (1, 10), "lease"),
        ({"endpoint-reconciler-type": "none"}, None, "none"),
    ],
)
def test_effective_reconciler(flags, version, expected):
    assert kf.effective_reconciler(flags, version) == expected


def test_effective_reconciler_invalid_value():
    with pytest.raises(KubeFlagsError, match="--endpoint-reconciler-type=leases is not one of master-count, lease, none"):
        kf.effective_reconciler({"endpoint-reconciler-type": "leases"}, (1, 30))


# -- masking ----------------------------------------------------------------------------


def test_mask_argv_and_flags():
    argv = ["/usr/bin/kube-apiserver", "--token-auth-file=/etc/t.csv", "--etcd-password", "s3cret",
            "--client-key-data=abc", "--v=0", "--oidc_token", "--x=1"]
    assert kf.mask_argv(argv) == ["/usr/bin/kube-apiserver", "--token-auth-file=********", "--etcd-password", "********",
                                  "--client-key-data=********", "--v=0", "--oidc_token", "--x=1"]
    assert kf.mask_flags({"etcd-password": "s3cret", "tls-private-key-file": "/k"}) == {
        "etcd-password": "********", "tls-private-key-file": "/k"}
