"""Unit tests of the lab stand-ins' flag table (lab/standins/kubeha_standin/flags.yaml)
and parser (flags.py): every refusal pinned to the real binary's message for each
version of the support matrix (the recipe's 1.5.2, 1.23, 1.30, the newest 1.37), the
flags the roles write accepted where the version has them and refused where not, every
flag of the lab's files accepted at the version that file is for, a source for every
entry of the table.

No containers: parse_flags / check_flags / report and main() only.
"""

from __future__ import annotations

import ast
import base64
import builtins
import glob
import os
import re
import shlex
import sys

import jinja2
import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
STANDINS = os.path.join(ROOT, "lab", "standins")

sys.path.insert(0, STANDINS)
sys.dont_write_bytecode = True  # lab/prepare.yml copies the package directory to the hosts
import kubeha_standin  # noqa: E402
from kubeha_standin import core, flags  # noqa: E402

V152, V123, V130, V137 = (1, 5, 2), (1, 23, 17), (1, 30, 14), (1, 37, 0)
MATRIX = (V152, V123, V130, V137)
PROGRAM = {"apiserver": "kube-apiserver", "scheduler": "kube-scheduler",
           "controller-manager": "kube-controller-manager", "kubelet": "kubelet", "proxy": "kube-proxy"}
KLOG = r"[EF]\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ "
KEP_2845 = ("will be removed in a future release, see https://github.com/kubernetes/enhancements/tree/master/"
            "keps/sig-instrumentation/2845-deprecate-klog-specific-flags-in-k8s-components")
CONFIG_FILE_MSG = ("This parameter should be set via the config file specified by the Kubelet's --config flag. "
                   "See https://kubernetes.io/docs/tasks/administer-cluster/kubelet-config-file/ for more information.")
TABLE = flags.load_table()


def refusal(component, argv, version):
    """(stderr text, exit code) of the stand-in's refusal, as main() prints it
    (fixed time and pid for the klog lines)."""
    try:
        opts = flags.parse_flags(component, argv, version)
        flags.check_flags(component, opts, version)
    except core.FlagError as err:
        return flags.report(component, version, err, "/usr/bin/" + PROGRAM[component], now=0, pid=1)
    pytest.fail("%s %s accepted at %s" % (component, argv, version))


def accepted(component, argv, version):
    """The options of an accepted command line (and what it printed on stderr)."""
    opts = flags.parse_flags(component, argv, version)
    flags.check_flags(component, opts, version)
    return opts


def klog(site, err):
    return flags.klog_line("E", site, '"command failed" err=%s' % flags.go_quote(err), now=0, pid=1)


def run_main(component, argv, version, monkeypatch, tmp_path):
    path = tmp_path / "version"
    path.write_text("v%d.%d.%d\n" % version)
    monkeypatch.setattr(core, "VERSION_FILE", str(path))
    return kubeha_standin.main(["/usr/bin/" + PROGRAM[component], component] + argv)


# ---------------------------------------------------------------- the table itself
def _entries():
    for group, entries in TABLE["groups"].items():
        for name, entry in entries.items():
            yield "groups.%s.%s" % (group, name), entry
    for comp, data in TABLE["components"].items():
        for name, entry in data["flags"].items():
            yield "%s.%s" % (comp, name), entry


def _refs_resolve(where, refs):
    assert refs, "%s has no ref" % where
    for ref in refs if isinstance(refs, list) else [refs]:
        assert ref in TABLE["refs"] or str(ref).startswith("https://"), "%s: unknown ref %r" % (where, ref)


@pytest.mark.parametrize("where, entry", list(_entries()), ids=lambda x: x if isinstance(x, str) else "")
def test_every_flag_entry_cites_its_source(where, entry):
    _refs_resolve(where, entry.get("ref"))
    for key in ("deprecated", "constraints", "gaps"):
        for item in entry.get(key) or ():
            _refs_resolve("%s.%s" % (where, key), item.get("ref"))
            if key == "deprecated":
                assert item["message"].strip(), where
    assert entry["type"] in ("bool", "version", "int", "int32", "uint", "duration", "ip", "string",
                             "stringSlice", "stringArray", "mapStringString", "mapStringBool"), where


def test_every_error_style_and_syntax_rule_cites_its_source():
    for comp, styles in TABLE["errors"].items():
        assert comp in flags.FLAGS
        for style in styles:
            _refs_resolve("errors.%s" % comp, style.get("ref"))
            assert style["style"] in ("pflag", "cobra", "cli-run", "klog-fatal", "klog-usage")
    for rule in TABLE["syntax"]["invalid_argument"]:
        _refs_resolve("syntax.invalid_argument", rule.get("ref"))
    for key, value in TABLE["refs"].items():
        assert isinstance(value, str) and value.strip(), key


def _versions(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("since", "until", "removed", "version", "duration_quoted_since") and not isinstance(value, dict):
                yield "%s.%s" % (path, key), value
            yield from _versions(value, "%s.%s" % (path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _versions(value, "%s[%d]" % (path, i))


def test_versions_in_the_table_are_quoted_strings():
    """An unquoted 1.10 would be read as the float 1.1."""
    for where, value in _versions(TABLE):
        assert isinstance(value, str) and re.fullmatch(r"\d+\.\d+(\.\d+)?", value), (where, value)


def test_the_table_covers_the_support_matrix_and_names_the_newest_release():
    assert TABLE["covered"] == ["1.5.2", "1.23", "1.30", "1.37"]
    assert TABLE["newest_release"]["version"] == "1.37"
    assert set(TABLE["components"]) == set(flags.FLAGS) == set(TABLE["errors"])
    for comp in flags.FLAGS:
        assert flags.program(comp) == PROGRAM[comp]


def test_flags_py_imports_without_yaml_and_says_what_is_missing(monkeypatch):
    """The stand-ins run on Debian 12 hosts with python3-yaml; without it the module
    still imports (no module-level yaml import) and the first use says what is missing."""
    tree = ast.parse(open(flags.__file__).read())
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert not any(getattr(a, "name", "") == "yaml" for n in top for a in n.names)
    real_import = builtins.__import__

    def no_yaml(name, *args, **kwargs):
        if name == "yaml":
            raise ImportError("No module named 'yaml'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_yaml)
    monkeypatch.setattr(flags, "_TABLE", {})
    with pytest.raises(flags.FlagDataError, match="python3-yaml"):
        flags.parse_flags("apiserver", [], V130)


# ---------------------------------------------------------------- syntax (pflag)
def test_flag_syntax():
    opts = accepted("apiserver", ["--etcd_servers=http://a:2379", "--secure-port", "6443", "--allow-privileged",
                                  "--etcd-servers", "http://b:2379", "-v=4", "--", "ignored"], V152)
    assert opts["etcd-servers"] == "http://a:2379,http://b:2379"  # stringSlice: repeated values accumulate
    assert opts["secure-port"] == 6443 and opts["allow-privileged"] is True and opts["v"] == 4
    assert accepted("scheduler", ["--leader-elect=false", "--leader_elect_lease_duration=1m30s"], V130)[
        "leader-elect-lease-duration"] == 90.0
    assert accepted("scheduler", ["-v", "2"], V130)["v"] == 2


def test_an_alias_sets_the_flag_it_stands_for(capsys):
    opts = accepted("apiserver", ["--port=8081", "--address=0.0.0.0"], V152)
    assert (opts["insecure-port"], opts["insecure-bind-address"]) == (8081, "0.0.0.0")
    assert "port" not in opts and "address" not in opts
    assert capsys.readouterr().err == ("Flag --port has been deprecated, see --insecure-port instead.\n"
                                       "Flag --address has been deprecated, see --insecure-bind-address instead.\n")


def test_the_name_in_an_error_is_the_one_given():
    text, code = refusal("apiserver", ["--insecure_port=0"], V130)
    assert text == "Error: unknown flag: --insecure_port\n" and code == 1


@pytest.mark.parametrize("argv, version, message", [
    (["--secure-port"], V130, "flag needs an argument: --secure-port"),
    (["--secure-port=abc"], V130,
     'invalid argument "abc" for "--secure-port" flag: strconv.ParseInt: parsing "abc": invalid syntax'),
    (["--secure-port=abc"], V152,
     'invalid argument "abc" for --secure-port=abc: strconv.ParseInt: parsing "abc": invalid syntax'),
    (["--secure-port", "abc"], V152,
     'invalid argument "abc" for --secure-port: strconv.ParseInt: parsing "abc": invalid syntax'),
    (["--anonymous-auth=maybe"], V130,
     'invalid argument "maybe" for "--anonymous-auth" flag: strconv.ParseBool: parsing "maybe": invalid syntax'),
    (["--shutdown-delay-duration=5x"], V130,
     'invalid argument "5x" for "--shutdown-delay-duration" flag: time: unknown unit "x" in duration "5x"'),
    (["--bind-address=localhost"], V130,
     'invalid argument "localhost" for "--bind-address" flag: failed to parse IP: "localhost"'),
    (["-x"], V130, "unknown shorthand flag: 'x' in -x"),
    (["---secure-port=1"], V130, "bad flag syntax: ---secure-port=1"),
])
def test_bad_values_get_pflag_s_message(argv, version, message):
    text, code = refusal("apiserver", argv, version)
    first = text.splitlines()[0]
    assert first == (message if version == V152 else "Error: " + message)
    assert code == (2 if version == V152 else 1)


def test_durations_in_go_1_7_errors_are_not_quoted():
    """Kubernetes 1.5 was built with Go 1.7: time: unknown unit x in duration 5x."""
    text, code = refusal("controller-manager", ["--leader-elect-lease-duration=5x"], V152)
    assert text.splitlines()[0] == ('invalid argument "5x" for --leader-elect-lease-duration=5x: '
                                    "time: unknown unit x in duration 5x")


def test_positional_arguments():
    accepted("apiserver", ["stray"], V152)  # pflag 1.5: left to the program, which ignores them
    assert refusal("apiserver", ["stray"], V130) == ('Error: "kube-apiserver" does not take any arguments, got ["stray"]\n', 1)
    assert refusal("kubelet", ["stray"], V130)[0] == klog("run.go:74", "unknown command stray")


# ---------------------------------------------------------------- defaults per version
@pytest.mark.parametrize("version, reconciler, insecure", [
    ((1, 5, 2), "master-count", 8080), ((1, 9, 0), "master-count", 8080), ((1, 10, 13), "master-count", 8080),
    ((1, 11, 0), "lease", 8080), ((1, 19, 16), "lease", 8080), ((1, 20, 0), "lease", 0), ((1, 30, 0), "lease", 0),
])
def test_era_defaults(version, reconciler, insecure):
    opts = flags.parse_flags("apiserver", ["--etcd-servers=http://127.0.0.1:2379"], version)
    assert opts["endpoint-reconciler-type"] == reconciler
    assert opts["insecure-port"] == insecure


def test_parse_flags_reads_the_configured_version(tmp_path, monkeypatch):
    path = tmp_path / "version"
    path.write_text("v1.5.2\n")
    monkeypatch.setattr(core, "VERSION_FILE", str(path))
    assert flags.parse_flags("apiserver", [])["insecure-port"] == 8080


@pytest.mark.parametrize("version, elect", [(V152, True), ((1, 9, 3), False), ((1, 10, 0), True), (V130, True)])
def test_leader_election_defaults(version, elect):
    for comp in ("scheduler", "controller-manager"):
        opts = flags.flag_defaults(comp, version)
        assert (opts["leader-elect-lease-duration"], opts["leader-elect-renew-deadline"],
                opts["leader-elect-retry-period"]) == (15.0, 10.0, 2.0)
    assert flags.flag_defaults("scheduler", version)["leader-elect"] is elect
    assert flags.flag_defaults("controller-manager", version)["leader-elect"] is True


def test_every_table_flag_has_a_key_whatever_the_version():
    """Other modules read opts[...] without knowing the version: a flag the version
    lacks carries what that binary does without it."""
    assert flags.flag_defaults("apiserver", V130)["insecure-port"] == 0  # removed in 1.24: no insecure port
    assert flags.flag_defaults("apiserver", V152)["service-account-issuer"] == ""
    assert flags.flag_defaults("apiserver", V152)["shutdown-delay-duration"] == 0.0
    assert flags.flag_defaults("kubelet", V130)["api-servers"] == ""


# ---------------------------------------------------------------- refusals per version, real messages
def test_apiserver_insecure_port(capsys):
    assert accepted("apiserver", ["--insecure-port=8080", "--insecure-bind-address=0.0.0.0"], V152)["insecure-port"] == 8080
    assert capsys.readouterr().err == ""
    # 1.20-1.23: the flag parses (deprecated) but must be 0; checkNonZeroInsecurePort runs before Validate
    opts = accepted("apiserver", ["--insecure-port=0", "--service-account-issuer=https://k",
                                  "--service-account-signing-key-file=/k"], V123)
    assert capsys.readouterr().err == ("Flag --insecure-port has been deprecated, "
                                       "This flag has no effect now and will be removed in v1.24.\n")
    assert opts["insecure-port"] == 0
    assert refusal("apiserver", ["--insecure-port=8080"], V123) == (
        klog("run.go:120", "invalid port value 8080: only zero is allowed"), 1)
    assert refusal("apiserver", ["--port=6080"], V123) == (
        klog("run.go:120", "invalid port value 6080: only zero is allowed"), 1)
    for version in (V130, V137):
        for flag in ("--insecure-port=0", "--insecure-bind-address=127.0.0.1", "--address=127.0.0.1", "--port=0"):
            name = flag.split("=", 1)[0]
            assert refusal("apiserver", [flag], version) == ("Error: unknown flag: %s\n" % name, 1)


def test_apiserver_insecure_flags_deprecation_lines_in_1_23(capsys):
    accepted("apiserver", ["--insecure-bind-address=127.0.0.1", "--address=127.0.0.1", "--port=0",
                           "--service-account-issuer=https://k", "--service-account-signing-key-file=/k"], V123)
    msg = "This flag has no effect now and will be removed in v1.24."
    assert capsys.readouterr().err.splitlines() == [
        "Flag --insecure-bind-address has been deprecated, " + msg, "Flag --address has been deprecated, " + msg,
        "Flag --port has been deprecated, " + msg]


def test_endpoint_reconciler_flag_is_unknown_before_1_9():
    with pytest.raises(core.FlagError, match="unknown flag: --endpoint-reconciler-type"):
        flags.parse_flags("apiserver", ["--endpoint-reconciler-type=lease"], (1, 8, 15))
    assert flags.parse_flags("apiserver", ["--endpoint-reconciler-type=lease"], (1, 9, 0))["endpoint-reconciler-type"] == "lease"
    text, code = refusal("apiserver", ["--endpoint-reconciler-type=lease"], V152)
    lines = text.splitlines()
    assert lines[:2] == ["unknown flag: --endpoint-reconciler-type", "Usage of /usr/bin/kube-apiserver:"] and code == 2


@pytest.mark.parametrize("flag, version", [
    ("--enable-admission-plugins=NodeRestriction", V152), ("--disable-admission-plugins=X", V152),
    ("--service-account-issuer=https://k", V152), ("--service-account-signing-key-file=/k", V152),
    ("--enable-bootstrap-token-auth=true", V152), ("--proxy-client-cert-file=/c", V152),
    ("--requestheader-group-headers=X-Remote-Group", V152), ("--shutdown-delay-duration=5s", V152),
    ("--master=http://127.0.0.1:8080", V152), ("--kubeconfig=/k", V130), ("--master=http://127.0.0.1:8080", V137),
])
def test_apiserver_flags_a_version_does_not_have(flag, version):
    text, code = refusal("apiserver", [flag], version)
    name = flag.split("=")[0]
    if version == V152:
        assert text.splitlines()[0] == "unknown flag: " + name and code == 2
    else:
        assert (text, code) == ("Error: unknown flag: %s\n" % name, 1)


def test_apiserver_admission_control_is_deprecated_not_removed(capsys):
    accepted("apiserver", ["--admission-control=NamespaceLifecycle,ServiceAccount"], V152)
    assert capsys.readouterr().err == ""
    for version in (V123, V130, V137):
        opts = accepted("apiserver", ["--admission-control=NamespaceLifecycle", "--service-account-issuer=https://k",
                                      "--service-account-signing-key-file=/k"], version)
        assert opts["admission-control"] == "NamespaceLifecycle"
        assert capsys.readouterr().err == (
            "Flag --admission-control has been deprecated, Use --enable-admission-plugins or "
            "--disable-admission-plugins instead. Will be removed in a future version.\n")


@pytest.mark.parametrize("version, site", [(V123, "run.go:120"), (V130, "run.go:74"), (V137, "run.go:72")])
def test_apiserver_service_account_flags_are_required_from_1_20(version, site):
    both = "[service-account-issuer is a required flag, --service-account-signing-key-file and --service-account-issuer are required flags]"
    assert refusal("apiserver", [], version) == (klog(site, both), 1)
    assert refusal("apiserver", ["--service-account-issuer=https://k"], version) == (klog(site, (
        "--service-account-signing-key-file, --service-account-issuer, and --api-audiences should be specified together")), 1)
    assert refusal("apiserver", ["--service-account-signing-key-file=/k"], version) == (klog(site, (
        "[service-account-issuer is a required flag, --service-account-signing-key-file, --service-account-issuer, "
        "and --api-audiences should be specified together]")), 1)
    accepted("apiserver", ["--service-account-issuer=https://k", "--service-account-signing-key-file=/k"], version)
    accepted("apiserver", [], V152)  # no such requirement (nor flags) in 1.5


def test_apiserver_count_is_deprecated_from_1_24(capsys):
    for version in (V152, V123):
        assert flags.parse_flags("apiserver", ["--apiserver-count=3"], version)["apiserver-count"] == 3
    assert capsys.readouterr().err == ""
    for version in (V130, V137):
        assert flags.parse_flags("apiserver", ["--apiserver-count=3"], version)["apiserver-count"] == 3
        assert capsys.readouterr().err == ("Flag --apiserver-count has been deprecated, "
                                           "apiserver-count is deprecated and will be removed in a future version.\n")


@pytest.mark.parametrize("component", ["scheduler", "controller-manager"])
def test_scheduler_and_controller_manager_insecure_serving(component, capsys):
    opts = accepted(component, ["--address=0.0.0.0", "--port=10251"], V152)
    assert opts["port"] == 10251 and capsys.readouterr().err == ""
    for version in (V130, V137):
        for flag in ("--port=0", "--address=127.0.0.1"):
            text, code = refusal(component, [flag], version)
            lines = text.splitlines()
            # cli.Run re-enables the usage for flag errors: usage first, the error last
            assert (lines[0], lines[1], lines[-1], code) == (
                "Usage:", "  %s [flags]" % PROGRAM[component], "Error: unknown flag: %s" % flag.split("=", 1)[0], 1)


def test_scheduler_port_must_be_zero_in_1_23(capsys):
    accepted("scheduler", ["--port=0"], V123)
    assert capsys.readouterr().err == ("Flag --port has been deprecated, This flag has no effect now and will be "
                                       "removed in v1.24. You can use --secure-port instead.\n")
    assert refusal("scheduler", ["--port=10251"], V123) == (
        klog("run.go:120", "port: Required value: invalid port value 10251: only zero is allowed"), 1)


@pytest.mark.parametrize("component", ["scheduler", "controller-manager", "proxy"])
@pytest.mark.parametrize("version", MATRIX)
def test_master_and_kubeconfig_flags_of_the_clients(component, version, capsys):
    opts = accepted(component, ["--master=http://127.0.0.1:8080", "--kubeconfig=/etc/kubernetes/x.conf"], version)
    assert opts["master"] == "http://127.0.0.1:8080" and opts["kubeconfig"] == "/etc/kubernetes/x.conf"
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("component", ["scheduler", "controller-manager"])
def test_leader_election_flags(component, capsys):
    argv = ["--leader-elect=true", "--leader-elect-lease-duration=15s", "--leader-elect-renew-deadline=10s",
            "--leader-elect-retry-period=2s"]
    for version in MATRIX:
        opts = accepted(component, argv, version)
        assert (opts["leader-elect"], opts["leader-elect-lease-duration"]) == (True, 15.0)
    for flag in ("--leader-elect-resource-lock=leases", "--leader-elect-resource-name=x",
                 "--leader-elect-resource-namespace=kube-system"):
        assert refusal(component, [flag], V152)[0].splitlines()[0] == "unknown flag: " + flag.split("=", 1)[0]
        for version in (V123, V130, V137):
            accepted(component, [flag], version)
    assert capsys.readouterr().err == ""


def test_kubelet_api_servers(capsys):
    opts = accepted("kubelet", ["--api-servers=http://127.0.0.1:8080"], V152)
    assert opts["api-servers"] == "http://127.0.0.1:8080"
    assert capsys.readouterr().err == ("Flag --api-servers has been deprecated, "
                                       "Use --kubeconfig instead. Will be removed in a future version.\n")
    text, code = refusal("kubelet", ["--api-servers=http://127.0.0.1:8080"], V123)
    lines = text.splitlines()
    assert lines[0] == flags.klog_line(
        "E", "server.go:158", '"Failed to parse kubelet flag" err="unknown flag: --api-servers"', now=0, pid=1).rstrip()
    assert lines[1] == "Usage:" and code == 1
    for version, site in ((V130, "run.go:74"), (V137, "run.go:72")):
        assert refusal("kubelet", ["--api-servers=http://x"], version) == (
            klog(site, "failed to parse kubelet flag: unknown flag: --api-servers"), 1)


def test_kubelet_require_kubeconfig_config_and_manifest_path(capsys):
    opts = accepted("kubelet", ["--require-kubeconfig", "--config=/etc/kubernetes/manifests"], V152)
    assert opts["require-kubeconfig"] is True and opts["config"] == "/etc/kubernetes/manifests"
    assert capsys.readouterr().err == ("Flag --config has been deprecated, "
                                       "Use --pod-manifest-path instead. Will be removed in a future version.\n")
    for version, site in ((V130, "run.go:74"), (V137, "run.go:72")):
        assert refusal("kubelet", ["--require-kubeconfig"], version) == (
            klog(site, "failed to parse kubelet flag: unknown flag: --require-kubeconfig"), 1)
        opts = accepted("kubelet", ["--config=/var/lib/kubelet/config.yaml", "--pod-manifest-path=/m"], version)
        assert opts["config"] == "/var/lib/kubelet/config.yaml"
        assert capsys.readouterr().err == "Flag --pod-manifest-path has been deprecated, %s\n" % CONFIG_FILE_MSG
    with pytest.raises(core.FlagError, match="unknown flag: --config"):
        flags.parse_flags("kubelet", ["--config=/x"], (1, 8, 0))  # 1.6-1.9: no --config at all


def test_kubelet_allow_privileged(capsys):
    accepted("kubelet", ["--allow-privileged=false"], V152)
    assert capsys.readouterr().err == ""
    assert refusal("kubelet", ["--allow-privileged=true"], V130)[0] == klog(
        "run.go:74", "failed to parse kubelet flag: unknown flag: --allow-privileged")
    accepted("apiserver", ["--allow-privileged=true", "--service-account-issuer=https://k",
                           "--service-account-signing-key-file=/k"], V137)  # the apiserver keeps it


@pytest.mark.parametrize("component", sorted(PROGRAM))
def test_klog_flags_deprecated_in_1_23_removed_in_1_26(component, capsys):
    accepted(component, ["--logtostderr=true", "--v=0"], V152)
    assert capsys.readouterr().err == ""
    flags.parse_flags(component, ["--logtostderr=true", "--v=2"], V123)
    assert capsys.readouterr().err == "Flag --logtostderr has been deprecated, %s\n" % KEP_2845
    for version in (V130, V137):
        text, code = refusal(component, ["--logtostderr=true"], version)
        assert code == 1
        assert "unknown flag: --logtostderr" in text.splitlines()[-1]  # after the usage where one is printed
        assert flags.parse_flags(component, ["--v=2"], version)["v"] == 2


@pytest.mark.parametrize("flag", ["--anonymous-auth=false", "--token-auth-file=/t.csv", "--client-ca-file=/ca.crt",
                                  "--profiling=false", "--audit-log-path=/var/log/audit.log"])
@pytest.mark.parametrize("version", MATRIX)
def test_apiserver_flags_every_version_has(flag, version, capsys):
    argv = [flag] + (["--service-account-issuer=https://k", "--service-account-signing-key-file=/k"]
                     if version >= (1, 20, 0) else [])
    accepted("apiserver", argv, version)
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------- what main() prints
def test_main_prints_the_real_first_line_and_exits_with_the_real_code(tmp_path, monkeypatch, capsys):
    assert run_main("apiserver", ["--insecure-port=8080"], V130, monkeypatch, tmp_path) == 1
    assert capsys.readouterr().err == "Error: unknown flag: --insecure-port\n"
    assert run_main("apiserver", ["--enable-admission-plugins=NodeRestriction"], V152, monkeypatch, tmp_path) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[:2] == ["unknown flag: --enable-admission-plugins", "Usage of /usr/bin/kube-apiserver:"]
    assert run_main("scheduler", ["--port=0"], V137, monkeypatch, tmp_path) == 1
    err = capsys.readouterr().err.splitlines()
    assert (err[0], err[-1]) == ("Usage:", "Error: unknown flag: --port")
    assert run_main("apiserver", ["--insecure-port=8080"], V123, monkeypatch, tmp_path) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == ("Flag --insecure-port has been deprecated, "
                      "This flag has no effect now and will be removed in v1.24.")
    assert re.fullmatch(KLOG + r'run\.go:120\] "command failed" err="invalid port value 8080: only zero is allowed"',
                        err[1]), err


def test_unknown_flag_exits_non_zero(tmp_path, monkeypatch, capsys):
    assert run_main("apiserver", ["--no-such-flag=1"], V130, monkeypatch, tmp_path) == 1
    assert "unknown flag: --no-such-flag" in capsys.readouterr().err


def test_a_start_up_error_of_another_module_is_printed_as_a_run_error():
    err = core.FlagError("invalid configuration: no configuration has been provided")
    assert flags.report("scheduler", V130, err, now=0, pid=1) == (klog("run.go:74", str(err)), 1)
    assert flags.report("apiserver", V152, err) == (str(err) + "\n", 1)


# ---------------------------------------------------------------- every flag the roles write
def _role_flags():
    """(component, flag) of every flag roles/apiserver, leader_election and kube_clients can write."""
    with open(os.path.join(ROOT, "roles/apiserver/vars/main.yml")) as fh:
        apiserver = yaml.safe_load(fh)
    found = {("apiserver", f) for f in apiserver["__apiserver_flags_managed"]}
    found |= {("apiserver", f) for f in apiserver["__apiserver_managed_flags"]}
    with open(os.path.join(ROOT, "roles/leader_election/vars/main.yml")) as fh:
        text = fh.read()
    election = set(re.findall(r"'((?:leader-elect|master|service-account-private-key-file)[a-z-]*)'", text))
    assert {"leader-elect", "leader-elect-lease-duration", "master", "service-account-private-key-file"} <= election
    for flag in election:
        found.add(("scheduler", flag))
        found.add(("controller-manager", flag))
    found.discard(("scheduler", "service-account-private-key-file"))  # written for the controller-manager only
    with open(os.path.join(ROOT, "roles/kube_clients/vars/main.yml")) as fh:
        text = fh.read()
    clients = dict(re.findall(r"'flag': '([a-z-]+)', 'services': \['([a-z-]+)'\]", text))
    assert clients == {"master": "kube-proxy", "api-servers": "kubelet"}
    found |= {("proxy", "master"), ("kubelet", "api-servers")}
    # /etc/kubernetes/config's KUBE_MASTER (kube_clients) also reaches the scheduler and controller-manager units
    found |= {("scheduler", "master"), ("controller-manager", "master")}
    return sorted(found)


SA_FLAGS = ("service-account-issuer", "service-account-signing-key-file")
SAMPLE = {"bool": "true", "version": "false", "int": "0", "int32": "0", "uint": "0", "duration": "15s",
          "ip": "127.0.0.1"}
# Where the versions of the matrix have a role's flag (the table's facts, pinned).
ROLE_FLAG_VERSIONS = {
    ("apiserver", "insecure-bind-address"): (V152, V123), ("apiserver", "insecure-port"): (V152, V123),
    ("apiserver", "endpoint-reconciler-type"): (V123, V130, V137), ("kubelet", "api-servers"): (V152,),
}


@pytest.mark.parametrize("component, flag", _role_flags())
@pytest.mark.parametrize("version", MATRIX, ids=lambda v: "v%d.%d.%d" % v)
def test_every_flag_the_roles_write(component, flag, version):
    entry = flags.component_entries(component)[flag]
    value = SAMPLE.get(entry["type"], "/etc/kubernetes/x" if "file" in flag else "x")
    argv = ["--%s=%s" % (flag, value)]
    if component == "apiserver" and version >= (1, 20, 0) and flag not in SA_FLAGS:
        argv += ["--service-account-issuer=https://k", "--service-account-signing-key-file=/k"]
    expected = ROLE_FLAG_VERSIONS.get((component, flag), MATRIX)
    if version in expected:
        flags.check_flags(component, flags.parse_flags(component, argv, version), version)
    else:
        with pytest.raises(core.FlagError, match="^unknown flag: --%s$" % flag):
            flags.parse_flags(component, argv, version)


# ---------------------------------------------------------------- every flag of the lab's files
def _shell_vars(path):
    """VAR="value" assignments of a sysconfig file (EnvironmentFile syntax, as the lab writes them)."""
    values = {}
    with open(path) as fh:
        for line in fh:
            match = re.match(r'\s*([A-Z_][A-Z0-9_]*)="(.*)"\s*$', line)
            if match:
                values[match.group(1)] = match.group(2)
    return values


def _unit(path):
    """(program, [EnvironmentFile basenames], [ExecStart words]) of a lab unit."""
    with open(path) as fh:
        text = fh.read().replace("\\\n", " ")
    envs = [os.path.basename(p.lstrip("-")) for p in re.findall(r"^EnvironmentFile=(\S+)", text, re.M)]
    (start,) = re.findall(r"^ExecStart=(.*)$", text, re.M)
    words = start.split()
    return os.path.basename(words[0]), envs, words[1:]


def _expand(words, values):
    """systemd: an unquoted $VAR expands to its words, an empty one to nothing."""
    argv = []
    for word in words:
        argv += shlex.split(values.get(word[1:], "")) if word.startswith("$") else [word]
    return argv


COMPONENT_OF = {program: comp for comp, program in PROGRAM.items()}
UNITS = sorted(glob.glob(os.path.join(STANDINS, "units", "*.service")))


@pytest.mark.parametrize("unit", UNITS, ids=os.path.basename)
def test_the_package_sysconfig_files_are_accepted_at_the_recipe_s_version(unit, capsys):
    """lab/standins/sysconfig/* are the 1.5 packages' defaults (the recipe's CentOS 7 kubernetes 1.5.2)."""
    prog, envs, words = _unit(unit)
    values = {}
    for env in envs:
        path = os.path.join(STANDINS, "sysconfig", env)
        if os.path.exists(path):
            values.update(_shell_vars(path))
    argv = _expand(words, values)
    assert argv, unit
    accepted(COMPONENT_OF[prog], argv, V152)
    err = capsys.readouterr().err
    if prog == "kubelet":  # the package's KUBELET_API_SERVER: deprecated since 1.4, removed in 1.8
        assert err == "Flag --api-servers has been deprecated, Use --kubeconfig instead. Will be removed in a future version.\n"
    else:
        assert err == ""


def test_the_package_sysconfig_files_are_refused_by_a_modern_binary():
    """The same files at 1.30: the insecure flags, --api-servers and --logtostderr are gone."""
    config = _shell_vars(os.path.join(STANDINS, "sysconfig", "config"))
    with pytest.raises(core.FlagError, match="unknown flag: --logtostderr"):
        flags.parse_flags("apiserver", shlex.split(config["KUBE_LOGTOSTDERR"]), V130)
    api = _shell_vars(os.path.join(STANDINS, "sysconfig", "apiserver"))
    with pytest.raises(core.FlagError, match="unknown flag: --insecure-bind-address"):
        flags.parse_flags("apiserver", shlex.split(api["KUBE_API_ADDRESS"]), V130)
    kubelet = _shell_vars(os.path.join(STANDINS, "sysconfig", "kubelet"))
    with pytest.raises(core.FlagError, match="unknown flag: --api-servers"):
        flags.parse_flags("kubelet", shlex.split(kubelet["KUBELET_API_SERVER"]), V130)


STATIC_POD_FILES = sorted(p for p in glob.glob(os.path.join(STANDINS, "static_pod", "*")) if not p.endswith(".j2"))


@pytest.mark.parametrize("path", STATIC_POD_FILES, ids=os.path.basename)
def test_the_kubeadm_layout_sysconfig_files_are_accepted_at_1_30(path, capsys):
    """static_pod/kubelet (and proxy, if present): what a kubeadm v1.30 node's units get;
    /etc/kubernetes/config is not installed in that layout."""
    name = os.path.basename(path)
    prog, _envs, words = _unit(os.path.join(STANDINS, "units", ("kubelet" if name == "kubelet" else "kube-" + name)
                                            + ".service"))
    argv = _expand(words, _shell_vars(path))
    opts = accepted(COMPONENT_OF[prog], argv, V130)
    err = capsys.readouterr().err
    if "--pod-manifest-path" in " ".join(argv):
        assert opts["pod-manifest-path"] and err == "Flag --pod-manifest-path has been deprecated, %s\n" % CONFIG_FILE_MSG


def _render(name, **values):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(STANDINS), undefined=jinja2.StrictUndefined)
    env.filters["b64encode"] = lambda text: base64.b64encode(text.encode()).decode()
    return env.get_template(name).render(**values)


def _kubeadm_commands():
    """The control-plane commands the lab's kubeadm v1.30 writes: the stand-in kubeadm's
    manifests (kubeadm.manifest) or, before it, the static_pod/*.yaml.j2 templates."""
    commands = []
    kubeadm = getattr(kubeha_standin, "kubeadm", None)
    if kubeadm is not None and hasattr(kubeadm, "manifest") and hasattr(kubeadm, "cluster_defaults"):
        cluster = kubeadm.cluster_defaults({"kubernetesVersion": "v1.30.0",
                                            "etcd": {"external": {"endpoints": ["http://127.0.0.1:2379"]}}})
        node = {"name": "master1", "address": "10.213.50.11", "port": 6443}
        for prog in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
            pod = kubeadm.manifest(prog, cluster, node)
            (ctr,) = pod["spec"]["containers"]
            commands.append(ctr["command"] + ctr.get("args", []))
        if hasattr(kubeadm, "proxy_daemonset"):
            (ctr,) = kubeadm.proxy_daemonset(cluster)["spec"]["template"]["spec"]["containers"]
            commands.append(["kube-proxy"] + ctr["command"][1:])
    for path in sorted(glob.glob(os.path.join(STANDINS, "static_pod", "*.yaml.j2"))):
        text = _render("static_pod/" + os.path.basename(path), kubeha_address="10.213.50.11", __lab_version="v1.30.0")
        (ctr,) = yaml.safe_load(text)["spec"]["containers"]
        commands.append(ctr["command"] + ctr.get("args", []))
    return commands


def test_the_lab_s_kubeadm_v1_30_commands_are_accepted_at_1_30(capsys):
    commands = _kubeadm_commands()
    if not commands:
        pytest.skip("neither kubeadm.manifest nor static_pod/*.yaml.j2 in this checkout")
    seen = set()
    for command in commands:
        prog = os.path.basename(command[0])
        opts = accepted(COMPONENT_OF[prog], command[1:], V130)
        seen.add(prog)
        if prog == "kube-apiserver":
            assert opts["insecure-port"] == 0 and opts["endpoint-reconciler-type"] == "lease"
        elif prog in ("kube-scheduler", "kube-controller-manager"):
            assert opts["leader-elect"] is True and opts["bind-address"] == "127.0.0.1"
    assert {"kube-apiserver", "kube-controller-manager", "kube-scheduler"} <= seen
    assert capsys.readouterr().err == ""  # kubeadm v1.30 passes no deprecated flag


KUBEADM_V130_APISERVER = """
--advertise-address=10.0.0.11 --allow-privileged=true --authorization-mode=Node,RBAC
--client-ca-file=/etc/kubernetes/pki/ca.crt --enable-admission-plugins=NodeRestriction
--enable-bootstrap-token-auth=true --etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt
--etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt --etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key
--etcd-servers=https://127.0.0.1:2379 --kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt
--kubelet-client-key=/etc/kubernetes/pki/apiserver-kubelet-client.key
--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname
--proxy-client-cert-file=/etc/kubernetes/pki/front-proxy-client.crt
--proxy-client-key-file=/etc/kubernetes/pki/front-proxy-client.key --requestheader-allowed-names=front-proxy-client
--requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt --requestheader-extra-headers-prefix=X-Remote-Extra-
--requestheader-group-headers=X-Remote-Group --requestheader-username-headers=X-Remote-User --secure-port=6443
--service-account-issuer=https://kubernetes.default.svc.cluster.local --service-account-key-file=/etc/kubernetes/pki/sa.pub
--service-account-signing-key-file=/etc/kubernetes/pki/sa.key --service-cluster-ip-range=10.96.0.0/12
--tls-cert-file=/etc/kubernetes/pki/apiserver.crt --tls-private-key-file=/etc/kubernetes/pki/apiserver.key
"""


@pytest.mark.parametrize("version", (V130, V137))
def test_every_flag_of_a_kubeadm_v130_apiserver_is_accepted(version):
    opts = accepted("apiserver", KUBEADM_V130_APISERVER.split(), version)
    assert opts["etcd-cafile"] == "/etc/kubernetes/pki/etcd/ca.crt" and opts["secure-port"] == 6443
    assert opts["allow-privileged"] is True and opts["enable-bootstrap-token-auth"] is True


def test_controller_manager_accepts_the_kubeadm_flags():
    argv = ("--allocate-node-cidrs=true --authentication-kubeconfig=/a --authorization-kubeconfig=/a "
            "--bind-address=127.0.0.1 --client-ca-file=/c --cluster-cidr=10.244.0.0/16 --cluster-name=kubernetes "
            "--cluster-signing-cert-file=/c --cluster-signing-key-file=/k --controllers=*,bootstrapsigner,tokencleaner "
            "--kubeconfig=/a --leader-elect=true --requestheader-client-ca-file=/f --root-ca-file=/c "
            "--service-account-private-key-file=/s --service-cluster-ip-range=10.96.0.0/12 "
            "--use-service-account-credentials=true").split()
    for version in (V123, V130, V137):
        opts = accepted("controller-manager", argv, version)
        assert opts["allocate-node-cidrs"] is True and opts["controllers"] == "*,bootstrapsigner,tokencleaner"
    with pytest.raises(core.FlagError, match="unknown flag: --authentication-kubeconfig"):
        flags.parse_flags("controller-manager", argv, V152)  # 1.5 had no secure serving
