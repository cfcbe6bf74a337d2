"""Unit tests of the kubeha.control_plane.apiserver_count module, run end to end through main().

Each test builds a fake master in a temporary directory (sysconfig files with the
CentOS 7 unit as systemctl shows it, a static pod manifest, a process table with
/proc/<pid>/cmdline files), calls main() with module arguments, and catches what
exit_json/fail_json would have printed (harness: apiserver_count_harness.py). How the
unit itself is read is tested in test_apiserver_count_unit.py.
"""

from __future__ import annotations

import io
import json
import os
from unittest import mock
from urllib.error import HTTPError, URLError

import pytest
from apiserver_count_harness import (
    API,
    CENTOS7_ARGS,
    CENTOS7_CMDLINE,
    CENTOS7_STALE_CMDLINE,
    ENDPOINTS_URL,
    FIXTURES,
    GARBAGE_CMDLINE,
    KUBEADM_CMDLINE,
    PYTHON_CMDLINE,
    AnsibleExitJson,
    FakeMaster,
    _patched,
    cmdline,
    respond,
    run_fail,
    run_ok,
)

from ansible_collections.kubeha.control_plane.plugins.module_utils import _apiserver_config
from ansible_collections.kubeha.control_plane.plugins.modules import apiserver_count


@pytest.fixture
def master(tmp_path):
    return FakeMaster(tmp_path)


# -- sysconfig layout ----------------------------------------------------------------


def test_centos7_sysconfig_count_matches_and_process_is_current(master):
    master.sysconfig()
    master.process(1234, CENTOS7_CMDLINE)
    result = run_ok(master.args(expected=3, version="1.5.2"))
    assert result["changed"] is False
    assert result["problems"] == []
    assert result["layout"] == "sysconfig"
    assert result["apiserver_count"] == 3
    assert result["reconciler"] == "master-count"
    assert result["version"] == "1.5.2"
    assert result["running"] is True
    assert result["restart_pending"] is False
    assert result["endpoints"] is None
    assert result["expected"] == 3
    assert result["sources"]["static_pod"] is None
    sysconfig = result["sources"]["sysconfig"]
    assert sysconfig["path"] == str(master.sysconfig_dir / "apiserver")
    assert sysconfig["files"] == [str(master.sysconfig_dir / "config"), str(master.sysconfig_dir / "apiserver")]
    assert sysconfig["argv"][:2] == ["--logtostderr=true", "--v=0"]
    assert "--token-auth-file=********" in sysconfig["argv"]  # secret-looking values masked
    assert sysconfig["flags"]["service-account-key-file"] == "/etc/kubernetes/serviceaccount.key"
    assert sysconfig["flags"]["token-auth-file"] == "********"
    assert sysconfig["apiserver_count"] == 3
    assert sysconfig["reconciler"] == "master-count"
    assert sysconfig["error"] is None
    process = result["sources"]["process"]
    assert process["pid"] == 1234
    assert process["argv"][0] == "/usr/bin/kube-apiserver"
    assert process["apiserver_count"] == 3
    assert set(result["sources"]) == {"sysconfig", "static_pod", "process"}


def test_centos7_wrong_count_is_a_problem_sentence(master):
    master.sysconfig()
    master.process(1234, CENTOS7_CMDLINE)
    result = run_ok(master.args(expected=5, version="v1.10.13"))
    assert result["problems"] == [
        "kube-apiserver uses the master-count endpoint reconciler with --apiserver-count=3 in %s, but the inventory "
        "has 5 apiservers: set --apiserver-count=5 (or move to --endpoint-reconciler-type=lease on Kubernetes 1.11 "
        "or later)." % (master.sysconfig_dir / "apiserver")
    ]
    assert result["restart_pending"] is False


def test_count_unset_names_the_default(master):
    master.sysconfig()
    (master.sysconfig_dir / "apiserver").write_text('KUBE_API_ARGS="--advertise-address=10.146.47.100"\n')
    result = run_ok(master.args(expected=3, version="1.9"))
    assert result["apiserver_count"] == 1
    assert result["running"] is False
    assert result["restart_pending"] is None
    assert result["problems"] == [
        "kube-apiserver uses the master-count endpoint reconciler with --apiserver-count unset (default 1) in %s, "
        "but the inventory has 3 apiservers: set --apiserver-count=3 (or move to --endpoint-reconciler-type=lease "
        "on Kubernetes 1.11 or later)." % (master.sysconfig_dir / "apiserver")
    ]


def test_count_set_in_config_file_is_named(master):
    master.sysconfig()
    with open(master.sysconfig_dir / "config", "a") as fh:
        fh.write('KUBE_LOG_LEVEL="--v=2 --apiserver-count=2"\n')
    (master.sysconfig_dir / "apiserver").write_text("KUBE_API_ARGS=\n")
    result = run_ok(master.args(expected=3, version="1.10"))
    assert result["apiserver_count"] == 2
    assert "--apiserver-count=2 in %s," % (master.sysconfig_dir / "config") in result["problems"][0]


def test_restart_pending_names_flags_and_masks_secrets(master):
    master.sysconfig()
    master.process(4242, CENTOS7_STALE_CMDLINE)
    result = run_ok(master.args(expected=3, version="1.10"))
    assert result["restart_pending"] is True
    assert result["apiserver_count"] == 3  # on disk
    assert result["sources"]["process"]["apiserver_count"] == 1
    assert result["problems"] == [
        "the running kube-apiserver (pid 4242) was started with other flags than kube-apiserver.service with %s and %s "
        "sets now (--apiserver-count is 1 running, 3 in the configuration; --token-auth-file is ******** running, "
        "******** in the configuration): restart kube-apiserver (systemctl restart kube-apiserver.service) to apply them."
        % (master.sysconfig_dir / "config", master.sysconfig_dir / "apiserver")
    ]
    assert "old_tokens" not in json.dumps(result)


def test_restart_pending_flag_only_on_one_side(master):
    master.sysconfig()
    master.process(99, cmdline("/usr/bin/kube-apiserver", *(CENTOS7_ARGS + ["--profiling=false"])))
    result = run_ok(master.args(version="1.10"))
    assert result["restart_pending"] is True
    assert "(--profiling is false running, not set in the configuration)" in result["problems"][0]


def test_python_standin_process_is_found(master):
    master.sysconfig()
    master.process(310, PYTHON_CMDLINE)
    master.process(311, GARBAGE_CMDLINE)
    result = run_ok(master.args(expected=3, version="v1.30.0-kubeha-standin"))
    assert result["running"] is True
    assert result["sources"]["process"]["pid"] == 310
    assert result["sources"]["process"]["argv"][:2] == ["/usr/bin/python3", "/usr/bin/kube-apiserver"]
    assert result["restart_pending"] is False
    # 1.30 defaults to the lease reconciler: the count of 3 is only a note.
    assert result["reconciler"] == "lease"
    assert result["problems"] == []
    assert result["notes"] == [
        "--apiserver-count=3 in %s has no effect with the lease endpoint reconciler; it can be removed."
        % (master.sysconfig_dir / "apiserver")
    ]


def test_several_processes_lowest_pid_checked(master):
    master.sysconfig()
    master.process(900, CENTOS7_CMDLINE)
    master.process(120, CENTOS7_CMDLINE)
    result = run_ok(master.args(version="1.10"))
    assert result["sources"]["process"]["pid"] == 120
    assert "2 processes run kube-apiserver (pids 120, 900); pid 120 was checked." in result["notes"]


def test_garbage_cmdline_only_means_not_running(master):
    master.sysconfig()
    master.process(311, GARBAGE_CMDLINE)
    result = run_ok(master.args(expected=3, version="1.10"))
    assert result["running"] is False
    assert result["restart_pending"] is None
    assert result["sources"]["process"] is None
    assert result["problems"] == []


def test_unreadable_process_arguments_are_a_problem(master):
    master.sysconfig()
    master.process(55, cmdline("/usr/bin/kube-apiserver", "apiserver", "--v=0"))
    result = run_ok(master.args(version="1.10"))
    assert result["running"] is True
    assert result["restart_pending"] is None
    assert result["sources"]["process"]["flags"] is None
    assert result["problems"] == [
        "the arguments of the running kube-apiserver (pid 55) cannot be read: unexpected argument 'apiserver': "
        "not a flag and not the value of a flag."
    ]


def test_version_from_binary(master):
    master.sysconfig()
    with _patched(master.args(expected=3), bin_path="/usr/bin/kube-apiserver",
                  version_run=(0, "Kubernetes v1.10.13\n", "")) as (run_command, _opener):
        with pytest.raises(AnsibleExitJson) as exc:
            apiserver_count.main()
    result = exc.value.args[0]
    # systemctl show, then the version (the runner's first argument is the module).
    assert [c[0][1] for c in run_command.call_args_list][1:] == [["/usr/bin/kube-apiserver", "--version"]]
    assert run_command.call_args_list[1][1] == dict(environ_update=dict(LANG="C", LC_ALL="C"))
    assert result["version"] == "v1.10.13"
    assert result["reconciler"] == "master-count"
    assert result["problems"] == []


def test_version_unknown_when_binary_refuses_version(master):
    # The lab stand-in does not know --version: the module carries on with an unknown version.
    master.sysconfig()
    result = run_ok(master.args(expected=3), bin_path="/usr/bin/kube-apiserver",
                    version_run=(1, "", "Error: unknown flag: --version\n"))
    assert result["version"] is None
    assert result["reconciler"] == "unknown"
    assert result["apiserver_count"] == 3
    assert result["problems"] == []
    assert result["notes"] == [
        "The Kubernetes version is unknown: '/usr/bin/kube-apiserver --version' exited with 1 "
        "(Error: unknown flag: --version); set the version option.",
        "The endpoint reconciler is unknown: the Kubernetes version is unknown and --endpoint-reconciler-type is not "
        "set; set the version option (master-count is the default before 1.11, lease from 1.11 on).",
    ]


def test_version_unknown_binary_missing_but_flag_decides(master):
    master.sysconfig()
    with open(master.sysconfig_dir / "apiserver", "a") as fh:
        fh.write('KUBE_API_ARGS="--apiserver-count=1 --endpoint-reconciler-type=master-count"\n')
    result = run_ok(master.args(expected=2))
    assert result["version"] is None
    assert result["reconciler"] == "master-count"
    assert result["notes"] == [
        "The Kubernetes version is unknown: kube-apiserver is not in the PATH; set the version option."
    ]
    assert result["problems"][0].startswith(
        "kube-apiserver uses the master-count endpoint reconciler with --apiserver-count=1 in"
    )


def test_explicit_master_count_on_new_version_suggests_removing_it(master):
    master.sysconfig()
    with open(master.sysconfig_dir / "apiserver", "a") as fh:
        fh.write('KUBE_API_ARGS="--endpoint-reconciler-type=master-count"\n')
    result = run_ok(master.args(expected=3, version="1.30"))
    assert result["problems"][0].endswith(
        "set --apiserver-count=3 (or remove --endpoint-reconciler-type=master-count: lease is the default from "
        "Kubernetes 1.11)."
    )


def test_reconciler_flag_on_old_version_and_invalid_values(master):
    master.sysconfig()
    with open(master.sysconfig_dir / "apiserver", "a") as fh:
        fh.write('KUBE_API_ARGS="--endpoint-reconciler-type=lease --apiserver-count=three"\n')
    result = run_ok(master.args(expected=3, version="1.8"))
    # Each problem names the file the flag comes from.
    path = master.sysconfig_dir / "apiserver"
    assert result["apiserver_count"] is None
    assert result["problems"] == [
        "--apiserver-count=three in %s is not a positive integer (kube-apiserver refuses to start): "
        "set --apiserver-count=3." % path,
        "--endpoint-reconciler-type is set in %s, but Kubernetes 1.8 does not know that flag (it appeared in 1.9) "
        "and refuses to start: remove it." % path,
    ]


def test_invalid_reconciler_value(master):
    master.sysconfig()
    with open(master.sysconfig_dir / "apiserver", "a") as fh:
        fh.write('KUBE_API_ARGS="--endpoint-reconciler-type=leases"\n')
    result = run_ok(master.args(version="1.30"))
    assert result["reconciler"] == "unknown"
    assert result["problems"][0].startswith("--endpoint-reconciler-type=leases is not one of master-count, lease, none in ")


# -- static pod layout ---------------------------------------------------------------


def test_kubeadm_static_pod(master):
    master.static_pod()
    master.process(2001, KUBEADM_CMDLINE)
    result = run_ok(master.args(expected=3))
    assert result["layout"] == "static_pod"
    assert result["version"] == "v1.30.2"  # the image tag
    assert result["reconciler"] == "lease"
    assert result["apiserver_count"] == 1
    assert result["restart_pending"] is False
    assert result["problems"] == []
    assert result["notes"] == []
    assert result["sources"]["sysconfig"] is None
    static_pod = result["sources"]["static_pod"]
    assert static_pod["path"] == str(master.manifest)
    assert static_pod["image"] == "registry.k8s.io/kube-apiserver:v1.30.2"
    assert static_pod["flags"]["advertise-address"] == "10.146.47.100"
    assert len(static_pod["argv"]) == 27


def test_static_pod_wins_over_sysconfig_leftovers(master):
    master.sysconfig()
    master.static_pod()
    result = run_ok(master.args(expected=3))
    assert result["layout"] == "static_pod"
    assert result["sources"]["sysconfig"]["apiserver_count"] == 3
    assert result["notes"] == [
        "%s also exists but is not the effective configuration (layout static_pod): remove it to avoid confusion."
        % (master.sysconfig_dir / "apiserver")
    ]
    forced = run_ok(master.args(expected=3, layout="sysconfig", version="1.10"))
    assert forced["layout"] == "sysconfig"
    assert forced["apiserver_count"] == 3


def test_static_pod_restart_pending(master):
    master.static_pod()
    master.process(2001, KUBEADM_CMDLINE.replace(b"--secure-port=6443", b"--secure-port=443"))
    result = run_ok(master.args(expected=3))
    assert result["restart_pending"] is True
    assert result["problems"] == [
        "the running kube-apiserver (pid 2001) was started with other flags than %s sets now (--secure-port is 443 "
        "running, 6443 in the configuration): the kubelet restarts a static pod when its manifest changes: if it has "
        "not, check the kubelet (journalctl -u kubelet)." % master.manifest
    ]


@pytest.mark.parametrize(
    "fixture, error",
    [
        ("manifest-no-containers.yaml", "is not a usable static pod manifest: the manifest has no spec.containers list; "
                                        "correct the manifest."),
        ("manifest-list.yaml", "is not a usable static pod manifest: the manifest is a list, not a Pod object "
                               "(a YAML mapping); correct the manifest."),
        ("manifest-bad-yaml.yaml.txt", "is not valid YAML (while parsing a flow sequence"),
    ],
)
def test_malformed_manifest_is_a_problem_not_a_traceback(master, fixture, error):
    master.static_pod(fixture)
    result = run_ok(master.args(expected=3))
    assert result["layout"] == "static_pod"
    assert result["apiserver_count"] is None
    assert result["reconciler"] == "unknown"
    assert result["sources"]["static_pod"]["flags"] is None
    assert result["sources"]["static_pod"]["error"] == result["problems"][0]
    assert len(result["problems"]) == 1
    assert result["problems"][0].startswith(str(master.manifest) + " ")
    assert error in result["problems"][0]


def test_manifest_tag_that_is_not_a_version(master):
    master.static_pod()
    text = master.manifest.read_text().replace("kube-apiserver:v1.30.2", "kube-apiserver:latest")
    master.manifest.write_text(text)
    result = run_ok(master.args(expected=3))
    assert result["version"] is None
    assert result["reconciler"] == "unknown"
    assert result["notes"] == [
        "The Kubernetes version is unknown: 'registry.k8s.io/kube-apiserver:latest' is not a Kubernetes version "
        "(expected e.g. v1.30.2); set the version option.",
        "The endpoint reconciler is unknown: the Kubernetes version is unknown and --endpoint-reconciler-type is not "
        "set; set the version option (master-count is the default before 1.11, lease from 1.11 on).",
    ]


def test_pyyaml_missing_fails_only_when_the_manifest_is_needed(master):
    master.static_pod()
    master.sysconfig()
    with mock.patch.object(_apiserver_config, "yaml", None):  # the manifest is read in module_utils/_apiserver_config
        result = run_fail(master.args(expected=3))
        assert "Failed to import the required Python library (PyYAML)" in result["msg"]
        assert "python3-yaml on Debian and Ubuntu, python3-pyyaml on Enterprise Linux" in result["msg"]
        # With the sysconfig layout the manifest is not needed: only a note.
        ok = run_ok(master.args(expected=3, layout="sysconfig", version="1.10"))
    assert ok["problems"] == []
    assert ok["sources"]["static_pod"]["error"] == "PyYAML is not installed: %s was not read" % master.manifest


# -- nothing or broken on disk ----------------------------------------------------------


def test_neither_layout(master):
    result = run_ok(master.args(expected=3))
    assert result["layout"] == "sysconfig"
    assert result["apiserver_count"] is None
    assert result["reconciler"] == "unknown"
    assert result["sources"] == {"sysconfig": None, "static_pod": None, "process": None}
    assert result["problems"] == [
        "kube-apiserver is configured in neither layout: neither %s nor %s exists: install kube-apiserver's "
        "configuration (or set sysconfig_dir or manifest to where it is)."
        % (master.sysconfig_dir / "apiserver", master.manifest)
    ]


def test_forced_layout_without_its_file(master):
    master.sysconfig()
    result = run_ok(master.args(layout="static_pod", version="1.10"))
    assert result["layout"] == "static_pod"
    assert result["problems"] == [
        "layout is static_pod but %s does not exist, while %s does: set layout=auto (or sysconfig)."
        % (master.manifest, master.sysconfig_dir / "apiserver")
    ]


def test_unterminated_quote_names_path_and_line(master):
    master.sysconfig(apiserver="apiserver-unterminated")
    master.process(1234, CENTOS7_CMDLINE)
    result = run_ok(master.args(expected=3, version="1.10"))
    path = master.sysconfig_dir / "apiserver"
    assert result["apiserver_count"] is None
    assert result["restart_pending"] is None
    assert result["running"] is True
    assert result["sources"]["sysconfig"]["argv"] is None
    assert result["problems"] == [
        "%s cannot be read as systemd's EnvironmentFile= reads it (line 8: 'KUBE_API_ARGS=\"--apiserver-count=3 "
        "--service_account_key_file=/etc/kubernetes...': the double quote is never closed): correct that line." % path
    ]


def test_unreadable_file_is_a_problem(master):
    master.sysconfig()
    with mock.patch("builtins.open", side_effect=PermissionError(13, "Permission denied")):
        result = run_ok(master.args(version="1.10"))
    assert result["problems"][0] == (
        "%s cannot be read: [Errno 13] Permission denied: fix its permissions." % (master.sysconfig_dir / "config")
    )


# -- endpoints ----------------------------------------------------------------------------


def test_endpoints_read_with_token_and_certificates(master):
    master.static_pod()
    master.process(2001, KUBEADM_CMDLINE)
    args = master.args(expected=3, api_url=API + "/", token="abc.0123456789abcdef", ca_path="/etc/kubernetes/pki/ca.crt",
                       client_cert="/c.crt", client_key="/c.key", timeout=3)
    with _patched(args, urlopen=respond("endpoints-3.json")) as (_run, opener):
        with pytest.raises(AnsibleExitJson) as exc:
            apiserver_count.main()
    result = exc.value.args[0]
    assert result["endpoints"] == ["10.146.47.100", "10.146.47.110", "10.146.47.120"]  # notReadyAddresses left out
    assert result["problems"] == []
    opener.assert_called_once()
    assert opener.call_args[0][0] == ENDPOINTS_URL
    kwargs = opener.call_args[1]
    assert kwargs["headers"]["Authorization"] == "Bearer abc.0123456789abcdef"
    assert kwargs["method"] == "GET"
    assert (kwargs["ca_path"], kwargs["client_cert"], kwargs["client_key"]) == ("/etc/kubernetes/pki/ca.crt", "/c.crt", "/c.key")
    assert kwargs["validate_certs"] is True
    assert kwargs["timeout"] == 3
    assert "abc.0123456789abcdef" not in json.dumps(result)


def test_lease_endpoints_without_this_apiserver(master):
    master.static_pod()
    master.process(2001, KUBEADM_CMDLINE.replace(b"10.146.47.100", b"10.146.47.140"))
    text = master.manifest.read_text().replace("10.146.47.100", "10.146.47.140")
    master.manifest.write_text(text)
    result = run_ok(master.args(expected=3, api_url=API), urlopen=respond("endpoints-3.json"))
    assert result["problems"] == [
        "the kubernetes service endpoints (10.146.47.100, 10.146.47.110, 10.146.47.120) do not include this "
        "apiserver's --advertise-address 10.146.47.140 although it runs with the lease endpoint reconciler: check "
        "that it is healthy and reaches etcd (it renews its address under /registry/masterleases/) and that "
        "--advertise-address is an address of this host."
    ]


def test_lease_endpoints_not_checked_without_process(master):
    master.static_pod()
    text = master.manifest.read_text().replace("10.146.47.100", "10.146.47.140")
    master.manifest.write_text(text)
    result = run_ok(master.args(expected=3, api_url=API), urlopen=respond("endpoints-3.json"))
    assert result["running"] is False
    assert result["problems"] == []


def test_master_count_stale_endpoints(master):
    master.sysconfig()
    master.process(1234, CENTOS7_CMDLINE)
    result = run_ok(master.args(expected=3, version="1.10", api_url=API), urlopen=respond("endpoints-stale.json"))
    # de-duplicated across subsets, sorted by address (10.146.47.9 before 10.146.47.100)
    assert result["endpoints"] == ["10.146.47.9", "10.146.47.100", "10.146.47.110", "10.146.47.120"]
    assert result["problems"] == [
        "the kubernetes service lists 4 endpoints (10.146.47.9, 10.146.47.100, 10.146.47.110, 10.146.47.120) but the "
        "inventory has 3 apiservers: with the master-count endpoint reconciler an apiserver that is gone stays listed "
        "while --apiserver-count allows it; set --apiserver-count=3 on every master (or move to "
        "--endpoint-reconciler-type=lease on Kubernetes 1.11 or later)."
    ]


def test_endpoints_http_403(master):
    master.static_pod()

    def forbidden(url, **kwargs):
        with open(os.path.join(FIXTURES, "status-403.json"), "rb") as fh:
            raise HTTPError(url, 403, "Forbidden", {}, io.BytesIO(fh.read()))

    result = run_ok(master.args(expected=3, api_url=API), urlopen=forbidden)
    assert result["endpoints"] is None
    assert result["problems"] == [
        'GET %s returned HTTP 403: endpoints "kubernetes" is forbidden: User "system:anonymous" cannot get resource '
        '"endpoints" in API group "" in the namespace "default": give token, or client_cert and client_key, of a user '
        "allowed to get endpoints in namespace default." % ENDPOINTS_URL
    ]


def test_endpoints_http_error_without_body(master):
    master.static_pod()

    def unavailable(url, **kwargs):
        raise HTTPError(url, 503, "Service Unavailable", {}, None)

    result = run_ok(master.args(api_url=API), urlopen=unavailable)
    assert result["problems"] == ["GET %s returned HTTP 503: check api_url." % ENDPOINTS_URL]


def test_endpoints_connection_refused(master):
    master.static_pod()

    def refused(url, **kwargs):
        raise URLError(ConnectionRefusedError(111, "Connection refused"))

    result = run_ok(master.args(api_url=API), urlopen=refused)
    assert result["endpoints"] is None
    assert result["problems"] == [
        "GET %s failed ([Errno 111] Connection refused): check api_url, ca_path and validate_certs." % ENDPOINTS_URL
    ]


def test_endpoints_invalid_json(master):
    master.static_pod()
    result = run_ok(master.args(api_url=API), urlopen=respond("endpoints-truncated.json"))
    assert result["endpoints"] is None
    assert len(result["problems"]) == 1
    assert result["problems"][0].startswith("GET %s did not return JSON (" % ENDPOINTS_URL)


@pytest.mark.parametrize(
    "body, what",
    [
        (b"[]", "a JSON list"),
        (b'{"kind": "Status", "status": "Success"}', "an object of kind 'Status'"),
        (b'{"kind": "Endpoints", "subsets": {"addresses": []}}', "subsets that are not a list"),
        (b'{"kind": "Endpoints", "subsets": [{"addresses": [{"hostname": "m1"}]}]}', "an address without an ip"),
        (b'{"kind": "Endpoints", "subsets": ["10.0.0.1"]}', "a subset without an addresses list"),
    ],
)
def test_endpoints_wrong_shape(master, body, what):
    master.static_pod()
    result = run_ok(master.args(api_url=API), urlopen=lambda url, **kw: io.BytesIO(body))
    assert result["endpoints"] is None
    assert result["problems"] == [
        "GET %s returned %s, not the Endpoints object of the kubernetes service: check that api_url is the "
        "Kubernetes API." % (ENDPOINTS_URL, what)
    ]


def test_endpoints_empty_object(master):
    master.static_pod()
    result = run_ok(master.args(api_url=API), urlopen=lambda url, **kw: io.BytesIO(b'{"kind": "Endpoints", "metadata": {}}'))
    assert result["endpoints"] == []


# -- failing, options, check mode ------------------------------------------------------------


def test_fail_on_mismatch_fails_with_all_values(master):
    master.sysconfig()
    master.process(4242, CENTOS7_STALE_CMDLINE)
    result = run_fail(master.args(expected=5, version="1.10", fail_on_mismatch=True))
    assert len(result["problems"]) == 2
    assert result["msg"] == " ".join(result["problems"])
    assert result["apiserver_count"] == 3
    assert result["restart_pending"] is True
    assert result["changed"] is False


def test_fail_on_mismatch_without_problems_exits(master):
    master.sysconfig()
    result = run_ok(master.args(expected=3, version="1.10", fail_on_mismatch=True))
    assert result["problems"] == []


@pytest.mark.parametrize(
    "args, msg",
    [
        (dict(expected=0), "expected must be at least 1 (the number of apiservers), got 0."),
        (dict(expected=-2), "expected must be at least 1 (the number of apiservers), got -2."),
        (dict(timeout=0), "timeout must be at least 1 second, got 0."),
        (dict(version="latest"), "version: 'latest' is not a Kubernetes version (expected e.g. v1.30.2)."),
        (dict(expected="three"), "argument 'expected' is of type"),
        (dict(layout="kubeadm"), "value of layout must be one of: auto, sysconfig, static_pod, got: kubeadm"),
        (dict(client_key="/c.key"), "missing parameter(s) required by 'client_key': client_cert"),
    ],
)
def test_bad_options_fail(master, args, msg):
    master.sysconfig()
    result = run_fail(master.args(**args))
    assert msg in result["msg"]


def test_check_mode_same_result(master):
    master.sysconfig()
    master.process(1234, CENTOS7_CMDLINE)
    normal = run_ok(master.args(expected=5, version="1.10"))
    checked = run_ok(master.args(expected=5, version="1.10", _ansible_check_mode=True))
    assert checked["changed"] is False
    assert checked["problems"] == normal["problems"]
    assert checked["sources"] == normal["sources"]
