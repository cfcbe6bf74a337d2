"""Unit tests of apiserver_count in the sysconfig layout: the systemd unit read with
``systemctl show`` (a fake systemctl script, apiserver_count_harness.py), its ExecStart=
expanded as systemd expands it, drop-ins, EnvironmentFile=, User=, and the fallback
to sysconfig_vars where the unit cannot be read."""

from __future__ import annotations

import pytest
from apiserver_count_harness import (
    CENTOS7_ARGS,
    CENTOS7_CMDLINE,
    CENTOS7_EXEC,
    FakeMaster,
    cmdline,
    run_ok,
)

from ansible_collections.kubeha.control_plane.plugins.module_utils.kube_flags import mask_argv


@pytest.fixture
def master(tmp_path):
    return FakeMaster(tmp_path)


SHOW_ARGS = [
    "show", "kube-apiserver.service", "-p", "Id", "-p", "LoadState", "-p", "FragmentPath", "-p", "DropInPaths",
    "-p", "NeedDaemonReload", "-p", "User", "-p", "Group", "-p", "Environment", "-p", "EnvironmentFiles",
    "-p", "ExecStart",
]


def apiserver_file(master, text):
    (master.sysconfig_dir / "apiserver").write_text(text)


def fallback_note(master, why):
    return (
        "%s: its command line is taken to be the variables of sysconfig_vars (KUBE_LOGTOSTDERR KUBE_LOG_LEVEL "
        "KUBE_ETCD_SERVERS KUBE_API_ADDRESS KUBE_API_PORT KUBELET_PORT KUBE_ALLOW_PRIV KUBE_SERVICE_ADDRESSES "
        "KUBE_ADMISSION_CONTROL KUBE_API_ARGS) in %s and %s, as the distribution packages' unit passes them."
        % (why, master.sysconfig_dir / "config", master.sysconfig_dir / "apiserver")
    )


# -- the CentOS 7 unit --------------------------------------------------------------------


def test_centos7_unit_is_read_and_returned(master):
    master.sysconfig()
    master.process(1234, CENTOS7_CMDLINE)
    result = run_ok(master.args(expected=3, version="1.5.2"))
    assert result["problems"] == []
    assert result["notes"] == []
    assert result["restart_pending"] is False
    assert result["unit"] == {
        "name": "kube-apiserver.service",
        "fragment_path": str(master.unit_path),
        "drop_ins": [],
        "exec_start": CENTOS7_EXEC.split(" "),
        "environment_files": [
            {"path": str(master.sysconfig_dir / "config"), "ignore_errors": True, "exists": True},
            {"path": str(master.sysconfig_dir / "apiserver"), "ignore_errors": True, "exists": True},
        ],
        "user": "kube",
        "group": None,
    }
    sysconfig = result["sources"]["sysconfig"]
    assert sysconfig["files"] == [str(master.sysconfig_dir / "config"), str(master.sysconfig_dir / "apiserver")]
    # The words of the unit's command after the program, $KUBELET_PORT and $KUBE_API_PORT (unset) giving none.
    assert sysconfig["argv"][:2] == ["--logtostderr=true", "--v=0"]
    assert len(sysconfig["argv"]) == len(CENTOS7_ARGS)
    args, locale = master.systemctl_calls()
    assert args == SHOW_ARGS
    assert locale == ["C", "C"]


def test_unit_option_names_the_unit_to_show(master):
    master.sysconfig()
    master.unit(unit_id="kube-apiserver-custom.service")
    result = run_ok(master.args(version="1.5.2", unit="kube-apiserver-custom"))
    assert master.systemctl_calls()[0][:2] == ["show", "kube-apiserver-custom"]
    assert result["unit"]["name"] == "kube-apiserver-custom.service"


def test_unit_with_user_and_group(master):
    master.sysconfig()
    master.unit(user="kube", group="kube")
    result = run_ok(master.args(version="1.5.2"))
    assert (result["unit"]["user"], result["unit"]["group"]) == ("kube", "kube")
    master.unit(user="", group="")
    result = run_ok(master.args(version="1.5.2"))
    assert (result["unit"]["user"], result["unit"]["group"]) == (None, None)


def test_static_pod_layout_reads_no_unit(master):
    master.static_pod()
    master.sysconfig()
    result = run_ok(master.args(expected=3))
    assert result["layout"] == "static_pod"
    assert result["unit"] is None
    assert not (master.systemctl_dir / "args").exists()


# -- drop-ins -------------------------------------------------------------------------------


def test_drop_in_replaces_exec_start_and_keeps_words_with_spaces(master):
    master.sysconfig()
    drop_in = (
        "[Service]\n"
        "ExecStart=\n"
        "ExecStart=/usr/local/bin/kube-apiserver $KUBE_ETCD_SERVERS $KUBE_API_ARGS \\\n"
        '    "--audit-policy-file=/etc/kubernetes/audit policy.yaml"\n'
    )
    argv_text = ("/usr/local/bin/kube-apiserver $KUBE_ETCD_SERVERS $KUBE_API_ARGS "
                 "--audit-policy-file=/etc/kubernetes/audit policy.yaml")
    master.unit(exec_start=argv_text, drop_ins=[("10-local.conf", drop_in)])
    etcd = "--etcd-servers=https://10.146.47.100:2379,https://10.146.47.110:2379,https://10.146.47.120:2379"
    kept = ("--apiserver-count", "--service_account", "--tls", "--token", "--client-ca")
    api_args = [a for a in CENTOS7_ARGS if a.startswith(kept)]
    master.process(501, cmdline("/usr/local/bin/kube-apiserver", etcd, *api_args,
                                "--audit-policy-file=/etc/kubernetes/audit policy.yaml"))
    result = run_ok(master.args(expected=3, version="1.5.2"))
    assert result["unit"]["drop_ins"] == [str(master.drop_in_dir / "10-local.conf")]
    # The drop-in's words, one of them with a space (systemctl show alone would have split it).
    assert result["unit"]["exec_start"] == [
        "/usr/local/bin/kube-apiserver", "$KUBE_ETCD_SERVERS", "$KUBE_API_ARGS",
        "--audit-policy-file=/etc/kubernetes/audit policy.yaml",
    ]
    assert result["sources"]["sysconfig"]["argv"][-1] == "--audit-policy-file=/etc/kubernetes/audit policy.yaml"
    assert "logtostderr" not in result["sources"]["sysconfig"]["flags"]
    assert result["restart_pending"] is False
    assert result["problems"] == []
    assert result["notes"] == [
        "KUBE_API_ADDRESS, KUBE_SERVICE_ADDRESSES, KUBE_ADMISSION_CONTROL set in %s are not used by the ExecStart= "
        "of kube-apiserver.service: they have no effect." % (master.sysconfig_dir / "apiserver")
    ]


def test_drop_in_flag_and_restart_pending_from_the_unit(master):
    master.sysconfig()
    drop_in = "[Service]\nExecStart=\nExecStart=%s --profiling=false --apiserver-count=2\n" % CENTOS7_EXEC
    master.unit(exec_start=CENTOS7_EXEC + " --profiling=false --apiserver-count=2",
                drop_ins=[("20-flags.conf", drop_in)], pid=1234)
    master.process(1234, CENTOS7_CMDLINE)
    result = run_ok(master.args(expected=3, version="1.5.2"))
    where = "kube-apiserver.service with %s and %s" % (master.sysconfig_dir / "config", master.sysconfig_dir / "apiserver")
    assert result["restart_pending"] is True
    assert result["apiserver_count"] == 2
    assert result["problems"] == [
        # The count is named where it is set: the drop-in, whose literal flag comes after $KUBE_API_ARGS.
        "kube-apiserver uses the master-count endpoint reconciler with --apiserver-count=2 in %s, but the inventory "
        "has 3 apiservers: set --apiserver-count=3 (or upgrade to Kubernetes 1.11 or later, whose lease endpoint "
        "reconciler needs no count)." % (master.drop_in_dir / "20-flags.conf"),
        "the running kube-apiserver (pid 1234) was started with other flags than %s sets now (--profiling is not "
        "set running, false in the configuration; --apiserver-count is 3 running, 2 in the configuration): restart "
        "kube-apiserver (systemctl restart kube-apiserver.service) to apply them." % where,
    ]


def test_loaded_unit_wins_over_changed_files(master):
    # The drop-in on disk changed, systemd has not reloaded: what it loaded is what a restart runs.
    master.sysconfig()
    master.unit(drop_ins=[("20-new.conf", "[Service]\nExecStart=\nExecStart=/usr/bin/kube-apiserver --v=9\n")],
                need_daemon_reload="yes")
    master.process(1234, CENTOS7_CMDLINE)
    result = run_ok(master.args(expected=3, version="1.5.2"))
    assert result["restart_pending"] is False
    assert result["unit"]["exec_start"] == CENTOS7_EXEC.split(" ")
    assert result["notes"] == [
        "The unit files of kube-apiserver.service changed since systemd loaded them: the unit as loaded is checked, "
        "as a restart would run it until systemctl daemon-reload."
    ]


# -- expansion ---------------------------------------------------------------------------------


def test_dollar_var_splits_and_braced_var_is_one_word(master):
    master.sysconfig()
    apiserver_file(master, (
        'KUBE_API_ARGS="--apiserver-count=3 --v=2"\n'
        "KUBE_RANGE='--service-cluster-ip-range=10.254.0.0/16 --x'\n"
        "KUBE_QUOTED=\"--authorization-mode='Node,RBAC' --audit-log-path='/var/log/kube audit.log'\"\n"
        "KUBE_EMPTY=\n"
    ))
    argv_text = ("/usr/bin/kube-apiserver $KUBE_API_ARGS $KUBE_EMPTY $KUBE_UNSET --name=${KUBE_RANGE} "
                 "$KUBE_QUOTED --token-auth-file=$$HOME/tokens --literal=$KUBE_API_ARGS")
    master.unit(exec_start=argv_text, fragment=False)
    result = run_ok(master.args(version="1.30.2"))
    assert result["sources"]["sysconfig"]["argv"] == [
        "--apiserver-count=3", "--v=2",                           # $VAR: split on whitespace
        "--name=--service-cluster-ip-range=10.254.0.0/16 --x",   # ${VAR}: one word, spaces kept
        "--authorization-mode=Node,RBAC",                         # quotes in the value group and are removed
        "--audit-log-path=/var/log/kube audit.log",
        "--token-auth-file=********",                             # $$ is $ (masked: a token flag)
        "--literal=$KUBE_API_ARGS",                               # $VAR inside a word is not expanded
    ]
    assert result["unit"]["fragment_path"] is None


def test_empty_braced_var_is_an_empty_argument(master):
    master.sysconfig()
    master.unit(exec_start="/usr/bin/kube-apiserver $KUBE_API_ARGS ${KUBE_EMPTY}", fragment=False)
    result = run_ok(master.args(version="1.30.2"))
    assert result["sources"]["sysconfig"]["error"] == result["problems"][0]
    assert result["problems"][0].startswith(
        "the kube-apiserver arguments in kube-apiserver.service with %s and %s cannot be read: unexpected argument ''"
        % (master.sysconfig_dir / "config", master.sysconfig_dir / "apiserver")
    )


def test_environment_then_files_later_ones_override(master):
    master.sysconfig()
    (master.sysconfig_dir / "extra").write_text('KUBE_LOG_LEVEL="--v=5"\n')
    env_files = [(master.sysconfig_dir / "config", True), (master.sysconfig_dir / "apiserver", True),
                 (master.sysconfig_dir / "extra", False)]
    master.unit(environment="KUBE_LOG_LEVEL=--v=9 KUBE_AUDIT=--audit-log-maxage=7", env_files=env_files,
                exec_start=CENTOS7_EXEC + " $KUBE_AUDIT")
    result = run_ok(master.args(version="1.5.2"))
    flags = result["sources"]["sysconfig"]["flags"]
    assert flags["v"] == "5"                      # config says 0, extra (the last file) says 5, Environment= says 9
    assert flags["audit-log-maxage"] == "7"       # only in Environment=
    assert result["sources"]["sysconfig"]["files"][-1] == str(master.sysconfig_dir / "extra")


def test_environment_with_spaces_on_systemd_252_and_239(master):
    master.sysconfig()
    unit = master.unit_path
    # systemd 252 quotes the value; 239 prints [unprintable] and the unit file gives it.
    master.unit(environment='"KUBE_AUDIT=--audit-log-maxage=7 --audit-log-maxbackup=2"',
                exec_start=CENTOS7_EXEC + " $KUBE_AUDIT")
    result = run_ok(master.args(version="1.5.2"))
    assert result["sources"]["sysconfig"]["flags"]["audit-log-maxbackup"] == "2"
    fragment = unit.read_text().replace(
        "User=kube\n", 'User=kube\nEnvironment="KUBE_AUDIT=--audit-log-maxage=7 --audit-log-maxbackup=2"\n')
    master.unit(environment="[unprintable]", exec_start=CENTOS7_EXEC + " $KUBE_AUDIT", fragment=fragment)
    result = run_ok(master.args(version="1.5.2"))
    assert result["sources"]["sysconfig"]["flags"]["audit-log-maxbackup"] == "2"
    assert result["notes"] == []
    # Without the file's word for it, the variable is taken as unset, and a note says so.
    master.unit(environment="[unprintable]", exec_start=CENTOS7_EXEC + " $KUBE_AUDIT")
    result = run_ok(master.args(version="1.5.2"))
    assert "audit-log-maxbackup" not in result["sources"]["sysconfig"]["flags"]
    assert result["notes"] == [
        "systemctl prints some Environment= entries of kube-apiserver.service as [unprintable] (values with spaces, "
        "older systemd): the variables they set are taken as unset."
    ]


# -- EnvironmentFile= -------------------------------------------------------------------------


def test_missing_environment_file_with_dash_is_ignored(master):
    master.sysconfig(config=None)
    result = run_ok(master.args(version="1.5.2"))
    assert result["problems"] == []
    assert result["sources"]["sysconfig"]["files"] == [str(master.sysconfig_dir / "apiserver")]
    assert result["unit"]["environment_files"][0] == {
        "path": str(master.sysconfig_dir / "config"), "ignore_errors": True, "exists": False}
    assert "logtostderr" not in result["sources"]["sysconfig"]["flags"]


def test_missing_environment_file_without_dash_is_a_problem(master):
    master.sysconfig(config=None)
    config = master.sysconfig_dir / "config"
    master.unit(env_files=[(config, False), (master.sysconfig_dir / "apiserver", True)])
    result = run_ok(master.args(version="1.5.2"))
    assert result["problems"] == [
        "kube-apiserver.service reads EnvironmentFile=%s, which does not exist: systemd refuses to start it; create "
        "the file, or write EnvironmentFile=-%s to let the unit start without it." % (config, config)
    ]


def test_environment_file_pattern_is_expanded_in_order(master):
    master.sysconfig()
    (master.sysconfig_dir / "apiserver.d").mkdir()
    (master.sysconfig_dir / "apiserver.d" / "b.env").write_text('KUBE_LOG_LEVEL="--v=3"\n')
    (master.sysconfig_dir / "apiserver.d" / "a.env").write_text('KUBE_LOG_LEVEL="--v=2"\n')
    env_files = [(master.sysconfig_dir / "config", True), (master.sysconfig_dir / "apiserver", True),
                 (master.sysconfig_dir / "apiserver.d" / "*.env", True)]
    master.unit(env_files=env_files)
    result = run_ok(master.args(version="1.5.2"))
    assert result["sources"]["sysconfig"]["files"][-2:] == [
        str(master.sysconfig_dir / "apiserver.d" / "a.env"), str(master.sysconfig_dir / "apiserver.d" / "b.env")]
    assert result["sources"]["sysconfig"]["flags"]["v"] == "3"
    assert result["unit"]["environment_files"][-1]["exists"] is True


def test_unit_that_does_not_read_the_apiserver_file(master):
    master.sysconfig()
    master.unit(env_files=[(master.sysconfig_dir / "config", True)])
    result = run_ok(master.args(version="1.5.2"))
    assert result["problems"] == [
        "kube-apiserver.service does not read %s (its EnvironmentFile= are %s): the flags set there have no effect; "
        "add EnvironmentFile=-%s to the unit (in a drop-in), or set sysconfig_dir to where its files are."
        % (master.sysconfig_dir / "apiserver", master.sysconfig_dir / "config", master.sysconfig_dir / "apiserver")
    ]
    assert result["apiserver_count"] == 1  # the count of the unread file is not counted


# -- the fallback ------------------------------------------------------------------------------


def test_systemctl_missing_falls_back_to_sysconfig_vars(master):
    master.sysconfig(unit=False)
    master.process(1234, CENTOS7_CMDLINE)
    result = run_ok(master.args(expected=3, version="1.5.2"))
    assert result["unit"] is None
    assert result["restart_pending"] is False
    assert result["apiserver_count"] == 3
    assert result["problems"] == []
    assert result["notes"] == [fallback_note(
        master, "systemctl is not in the PATH, so the unit kube-apiserver.service was not read")]


def test_unknown_unit_falls_back(master):
    master.sysconfig()
    master.systemctl(out="Id=kube-apiserver.service\nLoadState=not-found\nFragmentPath=\nExecStart=\nUser=\n")
    result = run_ok(master.args(version="1.5.2"))
    assert result["unit"] is None
    assert result["notes"] == [fallback_note(
        master, "systemd does not know the unit kube-apiserver.service (LoadState=not-found)")]
    assert result["sources"]["sysconfig"]["argv"] == mask_argv(CENTOS7_ARGS)


def test_systemctl_failing_falls_back_and_says_why(master):
    master.sysconfig()
    master.systemctl(err="System has not been booted with systemd as init system (PID 1). Can't operate.\n"
                         "Failed to connect to bus: Host is down\n", rc=1)
    result = run_ok(master.args(version="1.5.2"))
    assert result["unit"] is None
    assert result["notes"] == [fallback_note(
        master, "'systemctl show kube-apiserver.service' exited with 1 (System has not been booted with systemd as "
                "init system (PID 1). Can't operate. Failed to connect to bus: Host is down), so the unit was not read")]


def test_masked_unit_falls_back(master):
    master.sysconfig()
    master.unit(load_state="masked", fragment=False)
    result = run_ok(master.args(version="1.5.2"))
    assert result["unit"] is None
    assert result["notes"][0].startswith("the unit kube-apiserver.service is not loaded (LoadState=masked): ")


def test_unit_without_exec_start_is_a_problem(master):
    master.sysconfig()
    master.unit(exec_start=None)
    result = run_ok(master.args(version="1.5.2"))
    assert result["unit"]["exec_start"] is None
    assert result["sources"]["sysconfig"]["error"] == (
        "the unit kube-apiserver.service has no ExecStart= command: check it with systemctl cat kube-apiserver.service.")
    assert result["problems"] == [result["sources"]["sysconfig"]["error"]]
    assert result["restart_pending"] is None


def test_unreadable_exec_start_is_a_problem(master):
    master.sysconfig()
    master.systemctl(out="Id=kube-apiserver.service\nLoadState=loaded\nExecStart=/usr/bin/kube-apiserver\n")
    result = run_ok(master.args(version="1.5.2"))
    assert result["problems"][0].startswith(
        "'systemctl show kube-apiserver.service' printed what this module cannot read (ExecStart='/usr/bin/kube-apiserver'"
    )


def test_exec_start_of_another_program(master):
    master.sysconfig()
    master.unit(exec_start="/usr/bin/hyperkube apiserver $KUBE_API_ARGS", fragment=False)
    result = run_ok(master.args(version="1.5.2"))
    assert (
        "The ExecStart= of kube-apiserver.service runs /usr/bin/hyperkube, not kube-apiserver: its arguments after "
        "the program are checked."
    ) in result["notes"]
    assert result["problems"][0].endswith("unexpected argument 'apiserver': not a flag and not the value of a flag; "
                                          "correct them.")


def test_check_mode_reads_the_unit_too(master):
    master.sysconfig()
    normal = run_ok(master.args(version="1.5.2"))
    checked = run_ok(master.args(version="1.5.2", _ansible_check_mode=True))
    assert checked["changed"] is False
    assert checked["unit"] == normal["unit"]
