"""selinux_audit2allow end to end through main(), with the SELinux tools replaced by a recorder.

The recorder keeps the tools' contracts where the module depends on them: ausearch reads the
file given with --input and narrows it by --comm (rc 1 and '<no matches>' when nothing is left);
audit2allow reads the denials given with -i and proposes one allow rule per source, target and
class, as the real one does; semodule lists, extracts, installs and removes modules.
The helpers (log scanning, time window, judgement of rules) are tested in
tests/unit/plugins/module_utils/test_selinux_audit.py; the module against the real tools runs in
molecule/default (tests/test_selinux.py), in a container with Debian's SELinux userspace.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
from unittest import mock

import pytest
import yaml
from ansible.module_utils import basic

from ansible_collections.kubeha.control_plane.plugins.module_utils import _selinux_audit as sa
from ansible_collections.kubeha.control_plane.plugins.modules import selinux_audit2allow as m

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core before 2.19

    @contextlib.contextmanager
    def patch_module_args(args):
        with mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()):
            yield


AVC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "fixtures", "avc")
PIDOF_RULE = "allow keepalived_t haproxy_t:file { open read };"
START = "01/01/16"  # before every fixture
DROP = object()  # an argument left out


def avc(name):
    with open(os.path.join(AVC, name)) as fh:
        return fh.read()


class AnsibleExit(Exception):
    pass


class AnsibleFail(Exception):
    pass


DENIED_RE = re.compile(r"avc:\s+denied\s+\{([^}]*)\}.*?\bscontext=[^:\s]+:[^:\s]+:([^:\s]+)\S*\s.*?"
                       r"\btcontext=[^:\s]+:[^:\s]+:([^:\s]+)\S*\s+tclass=([a-z0-9_]+)")


def audit2allow(text):
    """What audit2allow -i FILE proposes for denial lines: one allow rule per source, target and class."""
    grouped = {}
    for line in text.splitlines():
        match = DENIED_RE.search(line)
        if match:
            perms, src, tgt, cls = match.groups()
            grouped.setdefault((src, "self" if tgt == src else tgt, cls), set()).update(perms.split())
    out = ["", "module x 1.0;", ""]
    for (src, tgt, cls), perms in sorted(grouped.items()):
        perms = sorted(perms)
        out.append("allow %s %s:%s %s;" % (src, tgt, cls, perms[0] if len(perms) == 1 else "{ %s }" % " ".join(perms)))
    return "\n".join(out) + "\n"


class Host:
    """The SELinux tools of a host, as the module calls them."""

    def __init__(self, installed=(), extracted="", answers=None, tools=True):
        self.installed, self.extracted = list(installed), extracted
        self.answers = answers or {}  # tool -> (rc, out, err), instead of the emulation
        self.tools = tools
        self.calls, self.ausearch_inputs, self.warnings = [], [], []

    def get_bin_path(self, name, *args, **kwargs):
        return "/usr/bin/" + name if self.tools else None

    def run_command(self, argv, cwd=None, **kwargs):
        tool = os.path.basename(argv[0])
        self.calls.append([tool] + list(argv[1:]))
        if tool in self.answers:
            return self.answers[tool]
        if tool == "ausearch":
            with open(argv[argv.index("--input") + 1]) as fh:
                text = fh.read()
            self.ausearch_inputs.append(text)
            lines = text.splitlines()
            if "--comm" in argv:
                lines = [line for line in lines if 'comm="%s"' % argv[argv.index("--comm") + 1] in line]
            return (0, "\n".join(lines) + "\n", "") if lines else (1, "", "<no matches>\n")
        if tool == "audit2allow":
            with open(argv[argv.index("-i") + 1]) as fh:
                return 0, audit2allow(fh.read()), ""
        if tool == "semodule" and argv[1] == "-l":
            return 0, "".join("%s\t1.0\n" % n for n in self.installed), ""
        if tool == "semodule" and argv[1] == "--cil":
            with open(os.path.join(cwd, argv[-1] + ".cil"), "w") as fh:
                fh.write(self.extracted)
            return 0, "", ""
        return 0, "", ""

    def ran(self, tool, *prefix):
        return [c for c in self.calls if c[0] == tool and c[1:1 + len(prefix)] == list(prefix)]


def run(args, host=None, check_mode=False, diff=False):
    """main() with these arguments; (result, host). The result has 'failed' when fail_json was called."""
    host = host or Host()
    args = dict(args)
    args.setdefault("name", "kubeha_lb")
    if args.get("state", "present") == "present":
        args.setdefault("start", START)
        args.setdefault("policy", None)
    args = {k: v for k, v in args.items() if v is not DROP}
    args.update(_ansible_check_mode=check_mode, _ansible_diff=diff)

    def exit_json(module, **kwargs):
        raise AnsibleExit(kwargs)

    def fail_json(module, **kwargs):
        kwargs["failed"] = True
        raise AnsibleFail(kwargs)

    with contextlib.ExitStack() as stack:
        stack.enter_context(patch_module_args(args))
        stack.enter_context(mock.patch.multiple(
            basic.AnsibleModule, exit_json=exit_json, fail_json=fail_json,
            get_bin_path=lambda module, name, *a, **k: host.get_bin_path(name),
            run_command=lambda module, argv, **k: host.run_command(argv, **k),
            warn=lambda module, text: host.warnings.append(text)))
        try:
            m.main()
        except (AnsibleExit, AnsibleFail) as end:
            return end.args[0], host
    raise AssertionError("main() returned without exit_json or fail_json")


def installs(host):
    return host.ran("semodule", "-i")


# -- reading the denials --------------------------------------------------------------------------

def test_present_installs_what_the_denials_need():
    res, host = run({"avc": avc("recipe-pidof.log"), "start": "11/26/26 10:00:00", "end": "today"})
    assert res["changed"] is True and res["rules"] == [PIDOF_RULE] and res["denials"] == 2, res
    assert res["unparsed_count"] == 0 and res["logs"] == [] and host.warnings == []
    assert len(host.ran("checkmodule")) == 1 and len(installs(host)) == 1
    (ausearch,) = host.ran("ausearch")
    assert ausearch[1] == "--input" and ausearch[2].endswith("/input.log")
    assert ausearch[3:] == ["--message", "AVC,USER_AVC", "--raw", "--start", "11/26/26", "10:00:00", "--end", "today"]
    # ausearch is given the complete denial records only (the SYSCALL record is not needed)
    assert host.ausearch_inputs == ["\n".join(line for line in avc("recipe-pidof.log").splitlines() if "type=AVC" in line) + "\n"]


def test_comm_runs_ausearch_once_per_command():
    res, host = run({"avc": avc("recipe-pidof.log") + avc("haproxy-name-connect.log"), "comm": ["pidof", "haproxy"]})
    assert [c[c.index("--comm") + 1] for c in host.ran("ausearch")] == ["pidof", "haproxy"]
    assert res["denials"] == 3 and len(res["rules"]) == 2


def test_rotated_logs_in_a_directory_are_read_oldest_first_and_torn_records_are_reported(tmp_path):
    logs = tmp_path / "audit"
    shutil.copytree(os.path.join(AVC, "rotated"), str(logs))
    res, host = run({"audit_log": str(logs)})
    assert res["logs"] == [str(logs / n) for n in ("audit.log.2", "audit.log.1", "audit.log")]
    assert res["changed"] is True and res["denials"] == 8, res
    assert res["rules"] == [
        "allow haproxy_t unreserved_port_t:tcp_socket { name_bind name_connect };",
        "allow keepalived_t haproxy_t:file { open read };",
        "allow keepalived_t haproxy_t:process signull;",
        "allow keepalived_t haproxy_unit_file_t:service status;",
        "allow keepalived_t var_run_t:file { open read };",
    ]
    assert res["unparsed_count"] == 3
    assert [(os.path.basename(u["file"]), u["line"]) for u in res["unparsed"]] == [
        ("audit.log.1", 4), ("audit.log.1", 9), ("audit.log", 5)]
    (warning,) = host.warnings
    assert warning.startswith("3 line(s) of the audit input could not be parsed") and "audit.log.1 line 4" in warning


def test_the_system_logs_are_found_through_auditd_conf(tmp_path, monkeypatch):
    shutil.copytree(os.path.join(AVC, "rotated"), str(tmp_path / "log"))
    conf = tmp_path / "auditd.conf"
    conf.write_text("local_events = yes\nlog_file = %s\nlog_format = ENRICHED\n" % (tmp_path / "log" / "audit.log"))
    monkeypatch.setattr(m, "AUDITD_CONF", str(conf))
    res, _host = run({})
    assert [os.path.basename(f) for f in res["logs"]] == ["audit.log.2", "audit.log.1", "audit.log"]
    assert res["denials"] == 8 and res["unparsed_count"] == 3


def test_an_unreadable_log_file_fails_naming_it(tmp_path, monkeypatch):
    shutil.copytree(os.path.join(AVC, "rotated"), str(tmp_path / "log"))
    locked = str(tmp_path / "log" / "audit.log.1")
    real_access = os.access
    monkeypatch.setattr(m.os, "access", lambda path, mode: path != locked and real_access(path, mode))
    res, host = run({"audit_log": str(tmp_path / "log")})
    assert res["failed"] is True and "cannot read %s (become root" % locked in res["msg"], res
    assert not host.ran("ausearch")


@pytest.mark.parametrize("setup, message", [
    (lambda d: None, "audit_log: {d}/nope does not exist or is not a file"),
    (lambda d: os.mkdir(os.path.join(d, "nope")), "audit_log {d}/nope: {d}/nope/audit.log does not exist"),
])
def test_a_missing_log_fails_naming_it(tmp_path, setup, message):
    setup(str(tmp_path))
    res, _host = run({"audit_log": str(tmp_path / "nope")})
    assert res["failed"] is True and message.format(d=tmp_path) in res["msg"], res


def test_the_system_log_missing_fails_saying_where_it_was_looked_for(tmp_path, monkeypatch):
    conf = tmp_path / "auditd.conf"
    conf.write_text("log_file = %s/audit.log\n" % tmp_path)
    monkeypatch.setattr(m, "AUDITD_CONF", str(conf))
    res, _host = run({})
    assert res["failed"] is True and "the system's audit log (log_file of %s): %s/audit.log does not exist" % (
        conf, tmp_path) in res["msg"], res


def test_a_log_file_given_is_read_alone(tmp_path):
    shutil.copytree(os.path.join(AVC, "rotated"), str(tmp_path / "log"))
    res, _host = run({"audit_log": str(tmp_path / "log" / "audit.log")})
    assert res["logs"] == [str(tmp_path / "log" / "audit.log")] and res["denials"] == 2, res


def test_pasted_records_with_torn_and_foreign_lines_are_read_not_fatal():
    res, host = run({"avc": avc("torn-records.log")})
    assert res["changed"] is True and res["denials"] == 2, res
    assert res["rules"] == ["allow keepalived_t haproxy_t:unix_stream_socket connectto;",
                            "allow keepalived_t var_run_t:file getattr;"]
    assert [u["line"] for u in res["unparsed"]] == [2, 3, 4, 5] and res["unparsed_count"] == 4
    assert all(u["file"] == "avc" for u in res["unparsed"]) and len(host.warnings) == 1


def test_nothing_but_unparsed_lines_is_no_change_and_says_so():
    res, host = run({"avc": "----\ntime->Wed Nov 18 09:05:01 2026\n"})
    assert res["changed"] is False and res["denials"] == 0 and "2 line(s) not parsed" in res["msg"], res
    assert not host.ran("ausearch") and not host.ran("audit2allow") and len(host.warnings) == 1


def test_no_denials_is_no_change():
    res, host = run({"avc": avc("recipe-pidof.log"), "comm": ["sshd"]})
    assert res["changed"] is False and res["denials"] == 0 and res["msg"].startswith("no denials of keepalived_t")
    assert not host.ran("audit2allow") and not host.ran("checkmodule")


def test_an_ausearch_error_is_reported():
    host = Host(answers={"ausearch": (1, "", "Invalid start date (13/40/26). Month, Day, and Year are required.")})
    res, _host = run({"avc": avc("recipe-pidof.log"), "start": "13/40/26"}, host)
    assert res["failed"] is True and re.search(r"(?s)ausearch failed \(rc=1\).*Invalid start date", res["msg"]), res


def test_denials_of_other_domains_are_left_aside_by_default():
    res, _host = run({"avc": avc("unrelated-domain.log")})
    assert res["changed"] is False and res["ignored_denials"] == 1 and res["denials"] == 0


# -- the time window --------------------------------------------------------------------------

def test_start_is_required_to_install():
    res, host = run({"avc": avc("recipe-pidof.log"), "start": DROP})
    assert res["failed"] is True and "state is present but all of the following are missing: start" in res["msg"], res
    res, host = run({"avc": avc("recipe-pidof.log"), "start": None})
    assert res["failed"] is True and res["msg"].startswith("start is required with state=present"), res
    assert host.calls == []


def test_absent_needs_no_start():
    res, _host = run({"state": "absent"}, Host(installed=[]))
    assert res["changed"] is False, res


@pytest.mark.parametrize("option, value, message", [
    ("start", "11/26/2026", "start '11/26/2026' is not a time ausearch takes (the C locale's dates have a two-digit year"),
    ("start", "36000", "start '36000' is not a time ausearch takes (a number: an unquoted time"),
    ("end", "tomorrow", "end 'tomorrow' is not a time ausearch takes: use a keyword"),
])
def test_a_bad_window_fails_before_anything_runs(option, value, message):
    res, host = run({"avc": avc("recipe-pidof.log"), option: value})
    assert res["failed"] is True and message in res["msg"], res
    assert host.calls == []


# -- refusals, each pinned to a real-looking denial ---------------------------------------------

KA, HA = "system_u:system_r:keepalived_t:s0", "system_u:system_r:haproxy_t:s0"


def denial(serial, perm, comm, tcontext, tclass, scontext=KA, extra=""):
    """A kernel AVC record as auditd writes it."""
    fields = (serial % 1000, serial, perm, 3000 + serial, comm, extra, scontext, tcontext, tclass)
    return ('type=AVC msg=audit(1795000700.%03d:%d): avc:  denied  { %s } for  pid=%d comm="%s" %sscontext=%s '
            'tcontext=%s tclass=%s permissive=0\n' % fields)


REFUSED = [
    (denial(1, "setenforce", "keepalived", "system_u:object_r:security_t:s0", "security"),
     "allow keepalived_t security_t:security setenforce;", "class security controls SELinux itself"),
    (avc("capability2.log"), "allow keepalived_t self:capability2 mac_admin;", "class capability2"),
    (denial(2, "sys_module", "keepalived", KA, "capability", extra="capability=16  "),
     "allow keepalived_t self:capability sys_module;", "capability sys_module loads kernel modules"),
    (denial(3, "module_request", "keepalived", "system_u:system_r:kernel_t:s0", "system", extra='kmod="ip_vs" '),
     "allow keepalived_t kernel_t:system module_request;", "system module_request loads kernel modules"),
    (denial(4, "audit_control", "keepalived", KA, "capability", extra="capability=30  "),
     "allow keepalived_t self:capability audit_control;", "turns auditing off"),
    (avc("unconfined-transition.log"), "allow keepalived_t unconfined_t:process transition;",
     "process transition enters unconfined_t, which is unconfined"),
    (denial(5, "transition", "keepalived", "system_u:system_r:semanage_t:s0", "process",
            extra='path="/usr/sbin/semanage" dev="dm-0" ino=3311 '),
     "allow keepalived_t semanage_t:process transition;", "which manages the SELinux policy or file labels"),
    (denial(6, "transition", "keepalived", "system_u:system_r:setfiles_t:s0", "process",
            extra='path="/usr/sbin/restorecon" dev="dm-0" ino=3312 '),
     "allow keepalived_t setfiles_t:process transition;", "which manages the SELinux policy"),
    (denial(7, "transition", "keepalived", "system_u:system_r:initrc_t:s0", "process",
            extra='path="/etc/rc.d/init.d/network" dev="dm-0" ino=3313 '),
     "allow keepalived_t initrc_t:process transition;", "enters initrc_t, which is unconfined"),
    (denial(8, "transition", "keepalived", "system_u:system_r:keepalived_unconfined_script_t:s0", "process",
            extra='path="/tmp/notify.sh" dev="tmpfs" ino=3314 '),
     "allow keepalived_t keepalived_unconfined_script_t:process transition;",
     "enters keepalived_unconfined_script_t, which is unconfined"),
    (denial(9, "entrypoint", "keepalived", "system_u:object_r:tmp_t:s0", "file",
            scontext="system_u:system_r:keepalived_unconfined_script_t:s0", extra='path="/tmp/notify.sh" dev="tmpfs" ino=3314 '),
     "allow keepalived_unconfined_script_t tmp_t:file entrypoint;", "an entry point into keepalived_unconfined_script_t"),
    (denial(10, "dyntransition", "keepalived", "unconfined_u:unconfined_r:unconfined_t:s0", "process"),
     "allow keepalived_t unconfined_t:process dyntransition;", "which is unconfined"),
    (denial(11, "setexec", "keepalived", KA, "process"),
     "allow keepalived_t self:process setexec;", "choose its own or its programs' context"),
    (denial(12, "relabelto", "keepalived", "system_u:object_r:etc_t:s0", "file", extra='name="keepalived.conf" '),
     "allow keepalived_t etc_t:file relabelto;", "relabelto changes SELinux labels"),
    (denial(13, "write", "keepalived", "system_u:object_r:selinux_config_t:s0", "file", extra='name="config" '),
     "allow keepalived_t selinux_config_t:file write;", "changes the SELinux policy or its configuration"),
    (denial(14, "append", "haproxy", "system_u:object_r:auditd_log_t:s0", "file", scontext=HA, extra='name="audit.log" '),
     "allow haproxy_t auditd_log_t:file append;", "tampers with the audit trail"),
    (denial(15, "nlmsg_write", "keepalived", KA, "netlink_audit_socket"),
     "allow keepalived_t self:netlink_audit_socket nlmsg_write;", "changes the audit rules"),
    (avc("shadow-read.log"), "allow keepalived_t shadow_t:file { open read };",
     "shadow_t holds password hashes or authentication secrets"),
    (denial(16, "open", "haproxy", "system_u:object_r:auth_cache_t:s0", "file", scontext=HA,
            extra='path="/var/cache/coolkey/cache" dev="dm-0" ino=411 '),
     "allow haproxy_t auth_cache_t:file open;", "auth_cache_t holds password hashes"),
    (denial(17, "write", "keepalived", "system_u:object_r:passwd_file_t:s0", "file", extra='name="passwd" '),
     "allow keepalived_t passwd_file_t:file write;", "changes accounts or login records"),
]


@pytest.mark.parametrize("log, rule, why", REFUSED, ids=[r[1] for r in REFUSED])
def test_a_refused_rule_fails_installs_nothing_and_cannot_be_widened(log, rule, why):
    src, tgt_cls, perms = rule[len("allow "):-1].replace("{ ", "").replace(" }", "").split(" ", 2)
    tgt, cls = tgt_cls.split(":")
    widened = dict(extra_permissions=[{"class": cls, "permissions": perms.split(), "targets": [tgt]}],
                   allowed_source_types=list(m.DEFAULT_ALLOWED) + [src])
    for args in ({}, widened):
        res, host = run(dict(args, avc=log))
        assert res["failed"] is True, res
        assert "rule(s) the denials need are refused; nothing was installed" in res["msg"]
        assert rule in res["msg"] and why in res["msg"], res["msg"]
        assert rule in [r["rule"] for r in res["refused"]]
        assert all(any(why in reason for reason in r["reasons"]) for r in res["refused"]), res["refused"]
        assert not host.ran("checkmodule") and not installs(host)


def test_a_rule_outside_the_allow_list_fails_until_it_is_allowed_after_review():
    log = denial(20, "write", "haproxy", "system_u:object_r:etc_t:s0", "file", scontext=HA, extra='name="haproxy.cfg" ')
    res, host = run({"avc": log})
    assert res["failed"] is True and "allow haproxy_t etc_t:file write;  # file write on etc_t is outside the allow-list" \
        in res["msg"], res
    assert not installs(host)
    res, host = run({"avc": log, "extra_permissions": [{"class": "file", "permissions": ["write"], "targets": ["etc_t"]}]})
    assert res["changed"] is True and res["rules"] == ["allow haproxy_t etc_t:file write;"] and installs(host)


def test_a_rule_for_an_unrelated_domain_fails_naming_every_reason():
    res, host = run({"avc": avc("unrelated-domain.log"), "source_types": ["httpd_t"]})
    assert res["failed"] is True
    assert ("allow httpd_t shadow_t:file read;  # source type httpd_t is outside allowed_source_types; never allowed: "
            "shadow_t holds password hashes or authentication secrets") in res["msg"], res["msg"]
    assert not host.ran("checkmodule")


def test_one_refused_rule_stops_the_allowed_ones_too():
    res, host = run({"avc": avc("recipe-pidof.log") + avc("shadow-read.log")})
    assert res["failed"] is True and [r["rule"] for r in res["refused"]] == ["allow keepalived_t shadow_t:file { open read };"]
    assert not installs(host)


@pytest.mark.parametrize("entry, bad", [
    ({"class": "file", "permissions": ["write"], "targets": ["etc_t s0"]}, "extra_permissions: target 'etc_t s0'"),
    ({"class": "file"}, "missing required arguments: permissions, targets found in extra_permissions"),
])
def test_bad_extra_permissions_fail_naming_the_value(entry, bad):
    res, host = run({"avc": avc("recipe-pidof.log"), "extra_permissions": [entry]})
    assert res["failed"] is True and bad in res["msg"], res
    assert host.calls == []


# -- review, then install exactly what was reviewed ---------------------------------------------

def test_install_false_writes_the_review_file_and_returns_its_checksum(tmp_path):
    review = tmp_path / "kubeha.te"
    args = {"avc": avc("recipe-pidof.log"), "install": False, "te_path": str(review)}
    res, _host = run(args, check_mode=True)
    assert res["changed"] is True and not review.exists()  # check mode: would write
    res, host = run(args)
    assert res["changed"] is True and review.read_text() == res["te"] and "not installed" in res["msg"]
    assert res["te_checksum"] == hashlib.sha256(review.read_bytes()).hexdigest() and res["te_checksum"] in res["msg"]
    assert not installs(host)
    assert run(args)[0]["changed"] is False


def test_te_checksum_installs_exactly_the_reviewed_source(tmp_path):
    review = tmp_path / "kubeha.te"
    reviewed = run({"avc": avc("recipe-pidof.log"), "install": False, "te_path": str(review)})[0]["te_checksum"]
    sha256sum = hashlib.sha256(review.read_bytes()).hexdigest()
    res, host = run({"avc": avc("recipe-pidof.log"), "te_checksum": "sha256:" + sha256sum.upper()})
    assert res["changed"] is True and res["te_checksum"] == reviewed == sha256sum and installs(host)
    assert host.warnings == []


@pytest.mark.parametrize("check_mode", [False, True])
def test_te_checksum_refuses_rules_that_changed_since_review(check_mode):
    reviewed = run({"avc": avc("recipe-pidof.log"), "install": False})[0]["te_checksum"]
    # a new denial since review: the module would now hold another rule
    res, host = run({"avc": avc("recipe-pidof.log") + avc("haproxy-name-connect.log"), "te_checksum": reviewed},
                    check_mode=check_mode)
    assert res["failed"] is True and res["msg"].startswith(
        "selinux_audit2allow kubeha_lb: the rules changed since review: te_checksum is %s" % reviewed), res
    assert "allow haproxy_t unreserved_port_t:tcp_socket name_connect;" in res["msg"]  # the new .te is shown
    assert res["te_checksum"] != reviewed and res["te_checksum"] == sa.te_checksum(res["te"])
    assert res["new_rules"] == ["allow haproxy_t unreserved_port_t:tcp_socket name_connect;", PIDOF_RULE]
    assert not installs(host) and not host.ran("checkmodule")


def test_te_checksum_of_an_installed_module_that_needs_nothing_is_a_warning_only():
    cil = "(typeattributeset cil_gen_require haproxy_t)\n(allow keepalived_t haproxy_t (file (open read)))\n"
    res, host = run({"avc": avc("recipe-pidof.log"), "te_checksum": "0" * 64},
                    Host(installed=["kubeha_lb"], extracted=cil))
    assert res["changed"] is False and not installs(host)
    (warning,) = host.warnings
    assert warning.startswith("te_checksum %s is not the checksum of module kubeha_lb's source" % ("0" * 64))
    assert "nothing needs installing" in warning


def test_a_bad_te_checksum_fails_naming_it():
    res, host = run({"avc": avc("recipe-pidof.log"), "te_checksum": "d41d8cd98f00b204e9800998ecf8427e"})
    assert res["failed"] is True and "te_checksum 'd41d8cd98f00b204e9800998ecf8427e' is not a sha256" in res["msg"]
    assert host.calls == []


# -- idempotence, check mode, diff, absent ------------------------------------------------------

def test_check_mode_builds_but_installs_nothing_and_diff_shows_the_source():
    res, host = run({"avc": avc("recipe-pidof.log")}, check_mode=True, diff=True)
    assert res["changed"] is True and "would install" in res["msg"]
    assert len(host.ran("semodule_package")) == 1 and not installs(host)
    assert res["diff"]["before"] == "" and PIDOF_RULE in res["diff"]["after"] and res["diff"]["after"] == res["te"]


def test_installed_rules_are_kept_and_nothing_is_reinstalled():
    cil = "(typeattributeset cil_gen_require haproxy_t)\n(allow keepalived_t haproxy_t (file (open read)))\n"
    res, host = run({"avc": avc("recipe-pidof.log")}, Host(installed=["kubeha_lb"], extracted=cil))
    assert res["changed"] is False and res["new_rules"] == [] and res["rules"] == [PIDOF_RULE]
    assert res["te_checksum"] == sa.te_checksum(res["te"])
    assert not host.ran("checkmodule")


def test_a_new_denial_is_merged_with_the_installed_rules():
    cil = "(typeattributeset cil_gen_require haproxy_t)\n(allow keepalived_t haproxy_t (file (open read)))\n"
    res, host = run({"avc": avc("haproxy-name-connect.log")}, Host(installed=["kubeha_lb"], extracted=cil), diff=True)
    assert res["changed"] is True and res["new_rules"] == ["allow haproxy_t unreserved_port_t:tcp_socket name_connect;"]
    assert res["rules"] == ["allow haproxy_t unreserved_port_t:tcp_socket name_connect;", PIDOF_RULE]
    assert PIDOF_RULE in res["diff"]["before"] and installs(host)


def test_a_missing_tool_names_its_packages():
    res, _host = run({"avc": avc("recipe-pidof.log")}, Host(tools=False))
    assert res["failed"] is True and "ausearch not found on this host; install package audit (EL) or auditd (Debian)" \
        in res["msg"]


def test_absent():
    res, host = run({"state": "absent"}, Host(installed=["kubeha_lb"], extracted="(allow keepalived_t haproxy_t (file (read)))\n"),
                    diff=True)
    assert res["changed"] is True and "allow keepalived_t haproxy_t:file read;" in res["diff"]["before"]
    assert host.ran("semodule", "-r") == [["semodule", "-r", "kubeha_lb"]]
    res, host = run({"state": "absent"}, Host(installed=["kubeha_lb"]), check_mode=True)
    assert res["changed"] is True and not host.ran("semodule", "-r")
    assert run({"state": "absent"})[0]["changed"] is False


@pytest.mark.parametrize("name", ["my-pidof", "kubeha_keepalived", "a"])
def test_valid_names(name):
    assert m.NAME_RE.match(name)


@pytest.mark.parametrize("name", ["", "1abc", "a b", "a;rm", "../x", "a.b", "x" * 64])
def test_invalid_names(name):
    assert not m.NAME_RE.match(name)
    res, host = run({"name": name, "avc": avc("recipe-pidof.log")})
    assert res["failed"] is True and "is not a valid policy module name" in res["msg"] and host.calls == []


# -- the documentation says what the code does -----------------------------------------------------

def test_the_documented_allow_list_is_the_allow_list():
    doc = yaml.safe_load(m.DOCUMENTATION)
    rows = [d for d in doc["description"] if d.startswith("Allow-list ")]
    assert len(rows) == 12
    text = " ".join(rows)
    documented = set()
    for row in rows:
        for classes, perms in re.findall(r"C\(([a-z0-9_ ]+)\) C\(([a-z0-9_ ]+)\)", row):
            documented |= {(c, p) for c in classes.split() for p in perms.split()}
    listed = {(c, p) for classes, perms, _groups, _why in sa.ALLOW_LIST for c in classes for p in perms}
    assert documented == listed
    for _classes, _perms, groups, _why in sa.ALLOW_LIST:
        assert all(g in text for g in groups)
    groups_paragraph = " ".join(d for d in doc["description"] if d.startswith("B(Allow-list.)"))
    for group in sa.GROUPS:
        assert "C(%s)" % group in groups_paragraph
    for name in sa.CONFIG_TYPES | sa.SYSTEM_STATE_TYPES | sa.LOGGING_TYPES:
        assert "C(%s)" % name in groups_paragraph
    for suffix in sa.STATE_SUFFIXES:
        assert "C(%s)" % suffix in groups_paragraph


def test_the_documented_refusals_name_every_listed_type():
    doc = yaml.safe_load(m.DOCUMENTATION)
    text = " ".join(d for d in doc["description"] if d.startswith("Refused "))
    for name in sa.SECRET_TYPES | sa.ACCOUNT_TYPES | {"auditd_log_t", "auditd_etc_t"}:
        assert "C(%s)" % name in text, name
    for why, names in sa.PRIVILEGED_DOMAINS.items():
        if why != "is unconfined":
            assert all("C(%s)" % n in text for n in names if n not in ("sysadm_passwd_t", "groupadd_t", "insmod_t")), why
