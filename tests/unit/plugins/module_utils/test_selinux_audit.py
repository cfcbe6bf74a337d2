"""module_utils/_selinux_audit: log reading, the time window, policy source, and the judgement of rules.

The module that drives the tools with these helpers is tested in
tests/unit/plugins/modules/test_selinux_audit2allow.py.
"""

from __future__ import annotations

import hashlib
import os

import pytest

from ansible_collections.kubeha.control_plane.plugins.module_utils import _selinux_audit as sa

AVC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "fixtures", "avc")
ROTATED = os.path.join(AVC, "rotated")
DOMAINS = ["keepalived_t", "keepalived_unconfined_script_t", "haproxy_t"]
CLEAN_FIXTURES = ["recipe-pidof.log", "haproxy-name-connect.log", "unrelated-domain.log", "capability2.log",
                  "shadow-read.log", "unconfined-transition.log"]


def scan_files(*paths):
    scan = sa.LogScan()
    for path in paths:
        with open(path, "rb") as fh:
            scan.feed(os.path.basename(path), fh)
    return scan


def scan_text(text, name="avc"):
    scan = sa.LogScan()
    scan.feed(name, text.encode("utf-8").splitlines())
    return scan


# -- which files make up a log ----------------------------------------------------------------

@pytest.mark.parametrize("conf, log_file", [
    ("", "/var/log/audit/audit.log"),
    ("# log_file = /nope\nlocal_events = yes\nlog_file = /srv/audit/audit.log\nlog_format = ENRICHED\n",
     "/srv/audit/audit.log"),
    ("log_file=/a/b.log # moved\n", "/a/b.log"),
    ("log_file =\n", "/var/log/audit/audit.log"),
])
def test_auditd_log_file(conf, log_file):
    assert sa.auditd_log_file(conf) == log_file


def test_rotated_logs_are_read_oldest_first_and_stop_at_the_first_gap(tmp_path):
    base = tmp_path / "audit.log"
    for name in ("audit.log", "audit.log.1", "audit.log.2", "audit.log.4", "audit.log.1.gz"):
        (tmp_path / name).write_text("")
    assert sa.rotated_logs(str(base)) == [str(base) + ".2", str(base) + ".1", str(base)]
    assert sa.rotated_logs(os.path.join(ROTATED, "audit.log")) == [
        os.path.join(ROTATED, n) for n in ("audit.log.2", "audit.log.1", "audit.log")]


# -- which lines are denials ------------------------------------------------------------------

@pytest.mark.parametrize("name", CLEAN_FIXTURES)
def test_clean_fixtures_parse_without_a_remainder(name):
    scan = scan_files(os.path.join(AVC, name))
    assert scan.unparsed_count == 0 and scan.denials
    assert all(sa.HEADER_RE.match(d).group(1) in ("AVC", "USER_AVC") for d in scan.denials)


def test_rotated_logs_torn_by_a_crash_are_read_and_what_is_torn_is_named():
    scan = scan_files(*sa.rotated_logs(os.path.join(ROTATED, "audit.log")))
    assert scan.files == ["audit.log.2", "audit.log.1", "audit.log"]
    serials = [d.split(":", 2)[1].split(")")[0] for d in scan.denials]
    # oldest file first; interleaved events 231/232 both kept; the torn 340 and the live log's unfinished 521 are not
    assert serials == ["231", "232", "233", "301", "412", "413", "480", "497"]
    assert scan.unparsed_count == 3
    assert [(u["file"], u["line"]) for u in scan.unparsed] == [("audit.log.1", 4), ("audit.log.1", 9), ("audit.log", 5)]
    reasons = [u["reason"] for u in scan.unparsed]
    assert reasons[0].startswith("binary data (NUL bytes") and reasons[1] == "binary data (not UTF-8 text)"
    assert reasons[2].startswith("incomplete denial (a torn record")
    assert scan.unparsed[0]["text"].startswith("type=AVC msg=audit(1795000150.900:340): avc:  denied  { read }")
    assert scan.unparsed[1]["text"].startswith("\\xc3(\\xa0\\xa1")  # escaped, printable
    summary = scan.summary()
    assert summary.startswith("3 line(s) of the audit input could not be parsed and were left aside")
    assert "audit.log.1 line 4 (binary data" in summary and "audit.log line 5 (incomplete denial" in summary


def test_enriched_records_keep_their_denial():
    scan = scan_files(os.path.join(ROTATED, "audit.log"))
    user_avc = [d for d in scan.denials if d.startswith("type=USER_AVC")]
    assert len(user_avc) == 1 and sa.ENRICHED_SEPARATOR in user_avc[0]
    assert sa.source_type(user_avc[0]) == "keepalived_t"


def test_pasted_text_keeps_its_denials_and_names_the_rest():
    with open(os.path.join(AVC, "torn-records.log")) as fh:
        scan = scan_text(fh.read())
    assert [d.split(":", 2)[1].split(")")[0] for d in scan.denials] == ["601", "612"]
    assert [(u["line"], u["reason"].split(" (")[0]) for u in scan.unparsed] == [
        (2, "not a raw audit record"), (3, "not a raw audit record"), (4, "not a raw audit record"),
        (5, "incomplete denial")]
    assert scan.unparsed[2]["text"].startswith("[ 8123.456789] audit: type=1400 audit(")


def test_a_complete_last_record_without_line_break_is_used():
    with open(os.path.join(AVC, "recipe-pidof.log")) as fh:
        text = fh.read().rstrip("\n")
    scan = scan_text(text)
    assert len(scan.denials) == 2 and scan.unparsed_count == 0
    assert len(scan_text(text.replace("\n", "\r\n")).denials) == 2  # copied through Windows


@pytest.mark.parametrize("line", [
    # auditallow (granted), policy notices, records of other types: passed over, not counted
    "type=AVC msg=audit(1795000000.100:1): avc:  granted  { setsecparam } for  pid=1 comm=\"x\" "
    "scontext=system_u:system_r:kernel_t:s0 tcontext=system_u:object_r:security_t:s0 tclass=security",
    "type=USER_AVC msg=audit(1795000000.100:2): pid=1 uid=0 auid=4294967295 ses=4294967295 "
    "subj=system_u:system_r:init_t:s0 msg='avc:  received policyload notice (seqno=2)  exe=\"/usr/lib/systemd/systemd\" "
    "sauid=0 hostname=? addr=? terminal=?'",
    "type=MAC_STATUS msg=audit(1795000000.100:3): enforcing=1 old_enforcing=0 auid=0 ses=1 enabled=1 old-enabled=1 "
    "lsm=selinux res=1",
    "type=UNKNOWN[1334] msg=audit(1795000000.100:4): prog-id=41 op=LOAD",
])
def test_records_that_are_no_denials_are_passed_over(line):
    scan = scan_text(line + "\n")
    assert scan.denials == [] and scan.unparsed_count == 0


def test_node_prefixed_and_unknown_type_records_are_records():
    line = ("node=lb1 type=AVC msg=audit(1795000000.100:5): avc:  denied  { read } for  pid=2 comm=\"pidof\" "
            "scontext=system_u:system_r:keepalived_t:s0 tcontext=system_u:system_r:haproxy_t:s0 tclass=file permissive=0")
    assert scan_text(line).denials == [line]


def test_only_the_first_unparsed_lines_are_listed_all_are_counted():
    scan = scan_text("garbage\n" * (sa.UNPARSED_LISTED + 5))
    assert scan.unparsed_count == sa.UNPARSED_LISTED + 5 and len(scan.unparsed) == sa.UNPARSED_LISTED
    assert scan.summary().endswith(", and 5 more")
    assert sa.LogScan().summary() == ""


def test_select_denials_keeps_avc_lines_of_the_wanted_source_types_once():
    lines = []
    for name in ("recipe-pidof.log", "haproxy-name-connect.log", "unrelated-domain.log"):
        with open(os.path.join(AVC, name)) as fh:
            lines += fh.read().splitlines()
    lines.append(lines[0])  # the same record twice (two ausearch runs) is one denial
    everything, ignored = sa.select_denials(lines, ["keepalived_t", "haproxy_t", "httpd_t"])
    assert len(everything) == 4 and ignored == 0
    keepalived, ignored = sa.select_denials(lines, ["keepalived_t"])
    assert [sa.source_type(line) for line in keepalived] == ["keepalived_t", "keepalived_t"] and ignored == 2
    assert all("type=AVC" in line for line in keepalived)
    assert sa.select_denials(lines, ["sshd_t"]) == ([], 4)


# -- the time window --------------------------------------------------------------------------

@pytest.mark.parametrize("value, words", [
    ("today", ["today"]),
    ("recent", ["recent"]),
    ("week-ago", ["week-ago"]),
    ("11/26/26", ["11/26/26"]),
    ("1/2/26", ["1/2/26"]),
    ("10:00", ["10:00"]),
    ("10:00:00", ["10:00:00"]),
    ("11/26/26 10:00:00", ["11/26/26", "10:00:00"]),
    ("  today   08:00 ", ["today", "08:00"]),
    ("10:00:00 11/26/26", ["10:00:00", "11/26/26"]),  # ausearch swaps them
])
def test_when_args_takes_what_ausearch_takes(value, words):
    assert sa.when_args("start", value) == words


@pytest.mark.parametrize("value, hint", [
    ("11/26/2026", r"two-digit year: 11/26/26\)"),
    ("11/26/2026 10:00", r"two-digit year: 11/26/26 10:00\)"),
    ("checkpoint", r"needs ausearch's --checkpoint"),
    ("36000", r"unquoted time such as 10:00:00 is read by YAML as a number"),
    ("2026-11-26", r"not an ISO date"),
    ("tomorrow", r"use a keyword \(now, recent"),
    ("today yesterday", r"use a keyword"),
    ("11/26/26 10:00 extra", r"use a keyword"),
    ("", r"use a keyword"),
])
def test_when_args_refuses_naming_the_value(value, hint):
    with pytest.raises(sa.PolicyError, match=r"^end %r is not a time ausearch takes.*%s" % (value, hint)):
        sa.when_args("end", value)


# -- policy source ----------------------------------------------------------------------------

AUDIT2ALLOW_OUT = """
module x 1.0;

require {
\ttype tmp_t;
\ttype keepalived_t;
\ttype haproxy_t;
\ttype sshd_t;
\tclass file { read open };
\tclass dir write;
}

#============= keepalived_t ==============
allow keepalived_t haproxy_t:file { read open };

#!!!! This avc can be allowed using the boolean 'haproxy_connect_any'
allow haproxy_t unreserved_port_t:tcp_socket name_connect;

#============= sshd_t ==============

#!!!! This avc is allowed in the current policy
allow sshd_t tmp_t:dir write;
allow keepalived_t self:capability net_admin;
"""


def test_parse_te_splits_permissions_skips_what_the_policy_allows_and_keeps_hints():
    rules, hints = sa.parse_te(AUDIT2ALLOW_OUT)
    assert rules == {
        ("keepalived_t", "haproxy_t", "file", "read"),
        ("keepalived_t", "haproxy_t", "file", "open"),
        ("haproxy_t", "unreserved_port_t", "tcp_socket", "name_connect"),
        ("keepalived_t", "self", "capability", "net_admin"),
    }
    assert hints == ["This avc can be allowed using the boolean 'haproxy_connect_any'"]


def test_parse_te_reads_every_note_of_a_rule():
    out = """
#============= haproxy_t ==============

#!!!! This avc can be allowed using one of the these booleans:
#     haproxy_connect_any, nis_enabled
allow haproxy_t unreserved_port_t:tcp_socket name_connect;

#!!!! This avc is a constraint violation.  You would need to modify the attributes of either the source or target types to allow this access.
#Constraint rule:
allow haproxy_t keepalived_t:process signal;

#!!!! This avc is allowed in the current policy
#!!!! This av rule may have been overridden by an extended permission av rule
allow haproxy_t haproxy_t:tcp_socket ioctl;
"""
    rules, hints = sa.parse_te(out)
    assert rules == {("haproxy_t", "unreserved_port_t", "tcp_socket", "name_connect")}
    assert hints[0] == "This avc can be allowed using one of the these booleans: haproxy_connect_any, nis_enabled"
    assert any("constraint violation" in h for h in hints)


@pytest.mark.parametrize("line", ["allowxperm haproxy_t self:tcp_socket ioctl { 0x8912 };", "dontaudit a_t b_t:file read;"])
def test_parse_te_refuses_what_it_does_not_handle(line):
    with pytest.raises(sa.PolicyError, match="does not handle"):
        sa.parse_te("module x 1.0;\n\nrequire {\n\ttype a_t;\n}\n\n%s\n" % line)


def test_render_te_is_deterministic_and_round_trips():
    rules, _hints = sa.parse_te(AUDIT2ALLOW_OUT)
    te = sa.render_te("kubeha_lb", rules)
    assert te == sa.render_te("kubeha_lb", set(reversed(sorted(rules))))
    assert te.startswith("module kubeha_lb 1.0;\n")
    assert "\ttype self;" not in te and "\ttype unreserved_port_t;" in te
    assert "\tclass file { open read };" in te
    assert "allow keepalived_t haproxy_t:file { open read };" in te
    assert sa.parse_te(te) == (rules, [])
    assert sa.render_te("kubeha_lb", set()) == ""


CIL = """(typeattributeset cil_gen_require haproxy_t)
(typeattributeset cil_gen_require keepalived_t)
(allow keepalived_t haproxy_t (file (open read)))
(allow haproxy_t unreserved_port_t (tcp_socket (name_connect)))
"""


def test_parse_cil_reads_the_installed_rules():
    assert sa.parse_cil(CIL, "kubeha_lb") == {
        ("keepalived_t", "haproxy_t", "file", "open"),
        ("keepalived_t", "haproxy_t", "file", "read"),
        ("haproxy_t", "unreserved_port_t", "tcp_socket", "name_connect"),
    }


def test_parse_cil_refuses_a_module_with_more_than_allow_rules():
    with pytest.raises(sa.PolicyError, match=r"holds more than allow rules .*choose another name"):
        sa.parse_cil(CIL + "(typepermissive haproxy_t)\n", "kubeha_lb")


def test_rule_lines_group_permissions():
    rules = {("a_t", "b_t", "file", "read"), ("a_t", "b_t", "file", "open"), ("a_t", "c_t", "dir", "search")}
    assert sa.rule_lines(rules) == ["allow a_t b_t:file { open read };", "allow a_t c_t:dir search;"]


def test_te_checksum_is_what_sha256sum_prints_for_the_review_file(tmp_path):
    te = sa.render_te("kubeha_lb", {("keepalived_t", "haproxy_t", "file", "read")})
    review = tmp_path / "kubeha_lb.te"
    review.write_text(te)
    assert sa.te_checksum(te) == hashlib.sha256(review.read_bytes()).hexdigest()
    assert sa.te_checksum(te) != sa.te_checksum(te.replace("read", "open"))


def test_normal_checksum():
    digest = "ab" * 32
    assert sa.normal_checksum(digest.upper()) == digest
    assert sa.normal_checksum(" sha256:%s\n" % digest) == digest
    for bad in ("ab" * 31, "md5:" + "ab" * 16, "zz" * 32, "sha256:"):
        with pytest.raises(sa.PolicyError, match=r"te_checksum %r is not a sha256 checksum" % bad):
            sa.normal_checksum(bad)


# -- never installed --------------------------------------------------------------------------

@pytest.mark.parametrize("rule, why", [
    (("keepalived_t", "security_t", "security", "setenforce"), "class security controls SELinux itself"),
    (("haproxy_t", "self", "capability2", "syslog"), "class capability2"),
    (("keepalived_t", "self", "capability2", "mac_admin"), "class capability2"),
    (("keepalived_t", "self", "capability2", "block_suspend"), "class capability2"),
    (("keepalived_t", "self", "cap2_userns", "mac_override"), "class cap2_userns"),
    (("haproxy_t", "self", "capability", "sys_module"), "loads kernel modules"),
    (("haproxy_t", "self", "cap_userns", "sys_module"), "loads kernel modules"),
    (("keepalived_t", "kernel_t", "system", "module_request"), "loads kernel modules"),
    (("keepalived_t", "modules_object_t", "system", "module_load"), "loads kernel modules"),
    (("keepalived_t", "init_t", "system", "reboot"), "controls the whole system"),
    (("keepalived_t", "self", "capability", "audit_control"), "turns auditing off"),
    (("keepalived_t", "self", "netlink_audit_socket", "nlmsg_write"), "turns auditing off"),
    (("keepalived_t", "unconfined_t", "process", "transition"), "enters unconfined_t, which is unconfined"),
    (("keepalived_t", "unconfined_service_t", "process", "transition"), "which is unconfined"),
    (("keepalived_t", "keepalived_unconfined_script_t", "process", "transition"), "which is unconfined"),
    (("keepalived_t", "initrc_t", "process", "transition"), "enters initrc_t, which is unconfined"),
    (("keepalived_t", "sysadm_t", "process", "dyntransition"), "which is unconfined"),
    (("keepalived_t", "spc_t", "process2", "nnp_transition"), "which is unconfined"),
    (("keepalived_t", "semanage_t", "process", "transition"), "manages the SELinux policy"),
    (("keepalived_t", "load_policy_t", "process", "transition"), "manages the SELinux policy"),
    (("keepalived_t", "setfiles_t", "process2", "nosuid_transition"), "manages the SELinux policy"),
    (("keepalived_t", "auditctl_t", "process", "transition"), "controls the audit trail"),
    (("keepalived_t", "chkpwd_t", "process", "transition"), "reads or writes password hashes"),
    (("keepalived_t", "kmod_t", "process", "transition"), "loads kernel modules"),
    (("keepalived_unconfined_script_t", "tmp_t", "file", "entrypoint"),
     "makes tmp_t an entry point into keepalived_unconfined_script_t, which is unconfined"),
    (("unconfined_t", "haproxy_exec_t", "file", "entrypoint"), "entry point into unconfined_t"),
    (("keepalived_t", "self", "process", "setexec"), "choose its own or its programs' context"),
    (("keepalived_t", "self", "process", "setcurrent"), "choose its own"),
    (("keepalived_t", "etc_t", "file", "relabelto"), "relabelto changes SELinux labels"),
    (("keepalived_t", "selinux_config_t", "file", "write"), "changes the SELinux policy"),
    (("keepalived_t", "file_context_t", "file", "append"), "changes the SELinux policy"),
    (("keepalived_t", "auditd_log_t", "file", "unlink"), "tampers with the audit trail"),
    (("keepalived_t", "auditd_etc_t", "file", "write"), "tampers with the audit trail"),
    (("keepalived_t", "shadow_t", "file", "read"), "shadow_t holds password hashes"),
    (("keepalived_t", "shadow_t", "file", "getattr"), "shadow_t holds password hashes"),
    (("haproxy_t", "auth_cache_t", "file", "open"), "auth_cache_t holds password hashes or authentication secrets"),
    (("haproxy_t", "krb5_keytab_t", "file", "read"), "authentication secrets"),
    (("haproxy_t", "sshd_key_t", "file", "read"), "authentication secrets"),
    (("keepalived_t", "passwd_file_t", "file", "write"), "changes accounts or login records"),
    (("keepalived_t", "wtmp_t", "file", "append"), "changes accounts or login records"),
    (("keepalived_t", "ssh_home_t", "file", "create"), "changes accounts or login records"),
])
def test_refusals_name_why(rule, why):
    reasons = sa.refusals(rule)
    assert any(why in r for r in reasons), reasons


@pytest.mark.parametrize("rule", [
    ("keepalived_t", "haproxy_t", "file", "read"),
    ("keepalived_t", "haproxy_exec_t", "process", "transition"),  # confined, as far as its name tells
    ("haproxy_t", "http_port_t", "tcp_socket", "name_connect"),
    ("keepalived_t", "selinux_config_t", "file", "read"),
    ("keepalived_t", "passwd_file_t", "file", "read"),  # nsswitch: every daemon reads /etc/passwd
    ("keepalived_t", "self", "capability", "net_admin"),
    ("keepalived_t", "notunconfined_t", "process", "transition"),
])
def test_ordinary_rules_are_not_refused(rule):
    assert sa.refusals(rule) == []


def test_privileged_goes_by_the_word_unconfined_and_the_lists():
    assert sa.privileged("unconfined_t") == sa.privileged("xdm_unconfined_t") == "is unconfined"
    assert sa.privileged("unconfined_cronjob_t") == "is unconfined"  # an '_unconfined_t' ending would miss it
    assert sa.privileged("init_t") == "is unconfined"
    assert sa.privileged("semanage_t") == "manages the SELinux policy or file labels"
    assert sa.privileged("haproxy_t") == sa.privileged("keepalived_t") == ""


# -- the allow-list ---------------------------------------------------------------------------

@pytest.mark.parametrize("rule", [
    ("haproxy_t", "unreserved_port_t", "tcp_socket", "name_connect"),
    ("haproxy_t", "http_port_t", "tcp_socket", "name_bind"),
    ("keepalived_t", "node_t", "rawip_socket", "node_bind"),
    ("keepalived_t", "self", "rawip_socket", "create"),
    ("keepalived_t", "self", "packet_socket", "write"),
    ("keepalived_t", "self", "netlink_route_socket", "nlmsg_write"),
    ("keepalived_t", "haproxy_t", "unix_stream_socket", "connectto"),
    ("haproxy_t", "syslogd_t", "unix_dgram_socket", "sendto"),
    ("keepalived_t", "haproxy_var_run_t", "sock_file", "write"),
    ("haproxy_t", "devlog_t", "sock_file", "write"),
    ("haproxy_t", "haproxy_var_lib_t", "sock_file", "create"),
    ("keepalived_t", "keepalived_unconfined_script_t", "fifo_file", "write"),
    ("keepalived_t", "haproxy_t", "file", "read"),  # the recipe's pidof: /proc/PID/cmdline
    ("keepalived_t", "haproxy_t", "file", "open"),
    ("keepalived_t", "var_run_t", "file", "read"),  # HAProxy's state file under /run
    ("keepalived_t", "var_run_t", "file", "watch"),
    ("haproxy_t", "etc_t", "file", "map"),
    ("haproxy_t", "cert_t", "lnk_file", "read"),
    ("haproxy_t", "sysctl_net_t", "file", "read"),
    ("keepalived_t", "proc_t", "dir", "search"),
    ("keepalived_t", "keepalived_var_run_t", "file", "create"),
    ("haproxy_t", "haproxy_var_lib_t", "dir", "add_name"),
    ("keepalived_t", "haproxy_t", "process", "signull"),
    ("keepalived_t", "keepalived_unconfined_script_t", "process", "sigkill"),
    ("keepalived_t", "self", "process", "setsched"),
    ("keepalived_t", "self", "capability", "net_admin"),
    ("haproxy_t", "self", "capability", "sys_chroot"),
    ("keepalived_t", "keepalived_t", "capability", "ipc_lock"),  # 'self' spelled out
    ("keepalived_t", "haproxy_unit_file_t", "service", "status"),
])
def test_the_allow_list_covers_what_the_daemons_need(rule):
    assert sa.allow_listed(rule, frozenset(DOMAINS))
    assert sa.judge({rule}, DOMAINS) == []


@pytest.mark.parametrize("rule", [
    ("haproxy_t", "self", "capability", "dac_override"),
    ("haproxy_t", "self", "capability", "sys_admin"),
    ("keepalived_t", "self", "capability", "sys_ptrace"),
    ("keepalived_t", "etc_t", "file", "write"),  # /etc is read, never written
    ("keepalived_t", "var_run_t", "file", "write"),  # another's state under /run
    ("keepalived_t", "var_lib_t", "file", "read"),  # /var/lib/etcd on a master that is also a load balancer
    ("keepalived_t", "admin_home_t", "file", "read"),
    ("keepalived_t", "haproxy_exec_t", "file", "write"),  # named after a domain, but no state type
    ("keepalived_t", "haproxy_t", "file", "write"),  # /proc/PID files of another domain
    ("haproxy_t", "sshd_t", "process", "signal"),  # not one of their domains
    ("haproxy_t", "sshd_t", "unix_stream_socket", "connectto"),
    ("keepalived_t", "bin_t", "process", "transition"),
    ("keepalived_t", "self", "process", "execmem"),
    ("haproxy_t", "unreserved_port_t", "udp_socket", "name_bind"),
    ("haproxy_t", "http_port_t", "tcp_socket", "node_bind"),  # a port is no node
    ("keepalived_t", "haproxy_unit_file_t", "service", "stop"),
])
def test_what_is_not_on_the_allow_list_is_refused_naming_it(rule):
    assert not sa.allow_listed(rule, frozenset(DOMAINS))
    ((refused, why),) = sa.judge({rule}, DOMAINS)
    assert refused == {rule} and why == ["%s %s on %s is outside the allow-list" % (rule[2], rule[3], rule[1])]


def test_extra_permissions_widen_the_allow_list_for_the_named_targets_only():
    extra = [{"class": "file", "permissions": ["write"], "targets": ["haproxy_etc_t"]},
             {"class": "capability", "permissions": ["dac_override"], "targets": ["self"]}]
    assert sa.judge({("haproxy_t", "haproxy_etc_t", "file", "write"), ("haproxy_t", "self", "capability", "dac_override"),
                     ("haproxy_t", "haproxy_t", "capability", "dac_override")}, DOMAINS, extra) == []
    ((rule, why),) = sa.judge({("haproxy_t", "etc_t", "file", "write")}, DOMAINS, extra)
    assert why == ["file write on etc_t is outside the allow-list"]


@pytest.mark.parametrize("rule", [
    ("keepalived_t", "self", "capability2", "mac_admin"),
    ("keepalived_t", "shadow_t", "file", "read"),
    ("keepalived_t", "unconfined_t", "process", "transition"),
    ("keepalived_t", "security_t", "security", "setenforce"),
    ("keepalived_t", "auditd_log_t", "file", "write"),
])
def test_extra_permissions_cannot_widen_the_refusals(rule):
    extra = [{"class": rule[2], "permissions": [rule[3]], "targets": [rule[1]]}]
    ((refused, why),) = sa.judge({rule}, DOMAINS, extra)
    assert refused == {rule} and why and all(w.startswith("never allowed: ") for w in why)
    assert why == ["never allowed: %s" % r for r in sa.refusals(rule)]


def test_refused_rules_are_grouped_as_the_te_groups_them():
    rules = {("keepalived_t", "shadow_t", "file", "read"), ("keepalived_t", "shadow_t", "file", "open"),
             ("keepalived_t", "self", "capability", "net_admin"), ("keepalived_t", "self", "capability", "sys_module"),
             ("keepalived_t", "self", "capability", "dac_override")}
    assert sa.judge(rules, DOMAINS) == [
        (frozenset({("keepalived_t", "self", "capability", "dac_override"),
                    ("keepalived_t", "self", "capability", "sys_module")}),
         ["capability { dac_override sys_module } on self are outside the allow-list",
          "never allowed: capability sys_module loads kernel modules"]),
        (frozenset({("keepalived_t", "shadow_t", "file", "open"), ("keepalived_t", "shadow_t", "file", "read")}),
         ["file { open read } on shadow_t are outside the allow-list",
          "never allowed: shadow_t holds password hashes or authentication secrets"]),
    ]


def test_a_source_outside_allowed_source_types_is_named_with_every_refusal():
    ((rule, why),) = sa.judge({("httpd_t", "shadow_t", "file", "read")}, DOMAINS)
    assert why == ["source type httpd_t is outside allowed_source_types",
                   "never allowed: shadow_t holds password hashes or authentication secrets"]


def test_own_types_follow_allowed_source_types():
    rule = ("nginx_t", "nginx_var_run_t", "file", "write")
    assert sa.judge({rule}, ["nginx_t"]) == []
    assert sa.judge({rule}, DOMAINS)[0][1] == ["source type nginx_t is outside allowed_source_types"]


@pytest.mark.parametrize("entry, bad", [
    ({"class": "File", "permissions": ["read"], "targets": ["etc_t"]}, "class 'File'"),
    ({"class": "file", "permissions": ["read;"], "targets": ["etc_t"]}, "permission 'read;'"),
    ({"class": "file", "permissions": ["read"], "targets": ["etc_t:s0"]}, "target 'etc_t:s0'"),
])
def test_check_extra_names_the_bad_value(entry, bad):
    with pytest.raises(sa.PolicyError, match="^extra_permissions: %s" % bad):
        sa.check_extra([entry])
