"""selinux_audit2allow: the parts that need no SELinux tools (parsing, rendering, safety).

The module against the real tools (ausearch, audit2allow, checkmodule, semodule) runs in
molecule/default (tests/test_selinux.py), in a container with Debian's SELinux userspace.
"""

from __future__ import annotations

import os

import pytest

from ansible_collections.kubeha.control_plane.plugins.modules import selinux_audit2allow as m

AVC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "fixtures", "avc")


def avc(name):
    with open(os.path.join(AVC, name)) as fh:
        return fh.read()


def test_fixtures_are_raw_audit_records():
    for name in os.listdir(AVC):
        m.check_audit_text(avc(name), name)


@pytest.mark.parametrize("text, line", [
    ("type=AVC msg=audit(1.2:3): avc: denied\nthis is not a record\n", 2),
    ("May  9 09:38:45 host kernel: type=1400 audit(1.2:3): avc: denied\n", 1),
    ('{"type": "AVC"}\n', 1),
])
def test_malformed_log_names_the_line(text, line):
    with pytest.raises(m.PolicyError, match=r"src line %d is not a raw audit record" % line):
        m.check_audit_text(text, "src")


def test_a_last_line_being_written_is_not_judged():
    m.check_audit_text(avc("recipe-pidof.log") + "type=AVC msg=aud", "log")
    with pytest.raises(m.PolicyError, match="line 4"):
        m.check_audit_text(avc("recipe-pidof.log") + "type=AVC msg=aud\n", "log")


def test_select_denials_keeps_avc_lines_of_the_wanted_source_types_once():
    lines = (avc("recipe-pidof.log") + avc("haproxy-name-connect.log") + avc("unrelated-domain.log")).splitlines()
    lines.append(lines[0])  # the same record twice (two ausearch runs) is one denial
    everything, ignored = m.select_denials(lines, ["keepalived_t", "haproxy_t", "httpd_t"])
    assert len(everything) == 4 and ignored == 0
    keepalived, ignored = m.select_denials(lines, ["keepalived_t"])
    assert [m.source_type(line) for line in keepalived] == ["keepalived_t", "keepalived_t"] and ignored == 2
    assert all("type=AVC" in line for line in keepalived)
    assert m.select_denials(lines, ["sshd_t"]) == ([], 4)


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
    rules, hints = m.parse_te(AUDIT2ALLOW_OUT)
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
    rules, hints = m.parse_te(out)
    assert rules == {("haproxy_t", "unreserved_port_t", "tcp_socket", "name_connect")}
    assert hints[0] == "This avc can be allowed using one of the these booleans: haproxy_connect_any, nis_enabled"
    assert any("constraint violation" in h for h in hints)


@pytest.mark.parametrize("line", ["allowxperm haproxy_t self:tcp_socket ioctl { 0x8912 };", "dontaudit a_t b_t:file read;"])
def test_parse_te_refuses_what_it_does_not_handle(line):
    with pytest.raises(m.PolicyError, match="does not handle"):
        m.parse_te("module x 1.0;\n\nrequire {\n\ttype a_t;\n}\n\n%s\n" % line)


@pytest.mark.parametrize("rule, why", [
    (("keepalived_t", "security_t", "security", "setenforce"), "class security"),
    (("haproxy_t", "haproxy_t", "capability", "sys_module"), "kernel modules"),
    (("keepalived_t", "unconfined_t", "process", "transition"), "unconfined"),
    (("keepalived_t", "selinux_config_t", "file", "write"), "the policy"),
    (("keepalived_t", "auditd_log_t", "file", "unlink"), "audit trail"),
])
def test_rules_that_weaken_selinux_are_named(rule, why):
    assert why in m.weakening(rule)


@pytest.mark.parametrize("rule", [
    ("keepalived_t", "haproxy_t", "file", "read"),
    ("keepalived_t", "keepalived_unconfined_script_t", "process", "transition"),
    ("haproxy_t", "http_port_t", "tcp_socket", "name_connect"),
    ("keepalived_t", "selinux_config_t", "file", "read"),
])
def test_ordinary_rules_do_not_weaken_selinux(rule):
    assert m.weakening(rule) == ""


def test_render_te_is_deterministic_and_round_trips():
    rules, _hints = m.parse_te(AUDIT2ALLOW_OUT)
    te = m.render_te("kubeha_lb", rules)
    assert te == m.render_te("kubeha_lb", set(reversed(sorted(rules))))
    assert te.startswith("module kubeha_lb 1.0;\n")
    assert "\ttype self;" not in te and "\ttype unreserved_port_t;" in te
    assert "\tclass file { open read };" in te
    assert "allow keepalived_t haproxy_t:file { open read };" in te
    assert m.parse_te(te) == (rules, [])
    assert m.render_te("kubeha_lb", set()) == ""


CIL = """(typeattributeset cil_gen_require haproxy_t)
(typeattributeset cil_gen_require keepalived_t)
(allow keepalived_t haproxy_t (file (open read)))
(allow haproxy_t unreserved_port_t (tcp_socket (name_connect)))
"""


def test_parse_cil_reads_the_installed_rules():
    assert m.parse_cil(CIL, "kubeha_lb") == {
        ("keepalived_t", "haproxy_t", "file", "open"),
        ("keepalived_t", "haproxy_t", "file", "read"),
        ("haproxy_t", "unreserved_port_t", "tcp_socket", "name_connect"),
    }


def test_parse_cil_refuses_a_module_with_more_than_allow_rules():
    with pytest.raises(m.PolicyError, match=r"holds more than allow rules .*choose another name"):
        m.parse_cil(CIL + "(typepermissive haproxy_t)\n", "kubeha_lb")


def test_rule_lines_group_permissions():
    rules = {("a_t", "b_t", "file", "read"), ("a_t", "b_t", "file", "open"), ("a_t", "c_t", "dir", "search")}
    assert m.rule_lines(rules) == ["allow a_t b_t:file { open read };", "allow a_t c_t:dir search;"]


@pytest.mark.parametrize("name", ["my-pidof", "kubeha_keepalived", "a"])
def test_valid_names(name):
    assert m.NAME_RE.match(name)


@pytest.mark.parametrize("name", ["", "1abc", "a b", "a;rm", "../x", "a.b", "x" * 64])
def test_invalid_names(name):
    assert not m.NAME_RE.match(name)


# -- present() / absent() with the tools replaced by a recorder -------------------------------

class FakeModule:
    """What Audit2Allow uses of AnsibleModule; run_command answers from a table."""

    def __init__(self, params, answers, installed=(), check_mode=False, extracted=""):
        defaults = dict(name="kubeha_lb", state="present", audit_log=None, avc=None, comm=[], source_types=[], start=None,
                        allowed_source_types=list(m.DEFAULT_ALLOWED), policy="/p", te_path=None, install=True)
        self.params = dict(defaults, **params)
        self.answers, self.installed, self.extracted = answers, list(installed), extracted
        self.check_mode = check_mode
        self.calls = []

    def get_bin_path(self, name):
        return "/usr/bin/" + name

    def run_command(self, argv, cwd=None):
        tool = os.path.basename(argv[0])
        self.calls.append([tool] + argv[1:])
        if tool == "semodule" and argv[1] == "-l":
            return 0, "".join(n + "\n" for n in self.installed), ""
        if tool == "semodule" and argv[1] == "--cil":
            with open(os.path.join(cwd, argv[-1] + ".cil"), "w") as fh:
                fh.write(self.extracted)
            return 0, "", ""
        return self.answers.get(tool, (0, "", ""))

    def atomic_move(self, src, dest):
        os.rename(src, dest)

    def tools_run(self, tool):
        return [c for c in self.calls if c[0] == tool]


PIDOF_TE = "allow keepalived_t haproxy_t:file { open read };\n"
PIDOF_ANSWERS = {"ausearch": (0, avc("recipe-pidof.log"), ""), "audit2allow": (0, PIDOF_TE, "")}


def present(fake):
    runner = m.Audit2Allow(fake)
    try:
        return runner.present()
    finally:
        runner.cleanup()


def test_present_installs_what_the_denials_need():
    fake = FakeModule({"avc": avc("recipe-pidof.log")}, PIDOF_ANSWERS)
    res = present(fake)
    assert res["changed"] is True and res["rules"] == [PIDOF_TE.strip()] and res["denials"] == 2
    assert len(fake.tools_run("checkmodule")) == 1 and ["semodule", "-i"] == fake.tools_run("semodule")[-1][:2]
    ausearch = fake.tools_run("ausearch")[0]
    assert ausearch[1] == "--input" and ausearch[3:] == ["--message", "AVC,USER_AVC", "--raw"]


def test_check_mode_builds_but_installs_nothing():
    fake = FakeModule({"avc": avc("recipe-pidof.log")}, PIDOF_ANSWERS, check_mode=True)
    res = present(fake)
    assert res["changed"] is True and "would install" in res["msg"]
    assert len(fake.tools_run("semodule_package")) == 1
    assert not [c for c in fake.tools_run("semodule") if c[1] == "-i"]


def test_installed_rules_are_kept_and_nothing_is_reinstalled():
    cil = "(typeattributeset cil_gen_require haproxy_t)\n(allow keepalived_t haproxy_t (file (open read)))\n"
    fake = FakeModule({"name": "kubeha_lb"}, {"ausearch": (0, avc("recipe-pidof.log"), ""),
                                              "audit2allow": (0, PIDOF_TE, "")}, installed=["kubeha_lb"], extracted=cil)
    res = present(fake)
    assert res["changed"] is False and res["new_rules"] == [] and res["rules"] == [PIDOF_TE.strip()]
    assert not fake.tools_run("checkmodule")
    assert fake.tools_run("ausearch")[0][1] == "--message"  # no audit_log: the system's logs


def test_no_denials_is_no_change():
    fake = FakeModule({}, {"ausearch": (1, "", "")})
    res = present(fake)
    assert res["changed"] is False and res["denials"] == 0 and "no denials" in res["msg"]
    assert not fake.tools_run("audit2allow")


def test_an_ausearch_error_is_reported():
    fake = FakeModule({"start": "bogus"}, {"ausearch": (1, "", "Invalid start date (bogus).")})
    with pytest.raises(m.PolicyError, match=r"(?s)ausearch failed \(rc=1\).*Invalid start date"):
        present(fake)


def test_denials_of_other_domains_are_left_aside_by_default_and_refused_when_asked_for():
    log = avc("unrelated-domain.log")
    fake = FakeModule({}, {"ausearch": (0, log, "")})
    res = present(fake)
    assert res["changed"] is False and res["ignored_denials"] == 1
    answers = {"ausearch": (0, log, ""), "audit2allow": (0, "allow httpd_t shadow_t:file read;\n", "")}
    fake = FakeModule({"source_types": ["httpd_t"]}, answers)
    with pytest.raises(m.PolicyError, match=r"(?s)outside allowed_source_types.*\nallow httpd_t shadow_t:file read;"):
        present(fake)
    assert not fake.tools_run("checkmodule")


def test_a_rule_that_weakens_selinux_is_refused():
    fake = FakeModule({}, {"ausearch": (0, avc("recipe-pidof.log"), ""),
                           "audit2allow": (0, "allow keepalived_t security_t:security setenforce;\n", "")})
    with pytest.raises(m.PolicyError, match="weaken SELinux itself"):
        present(fake)


def test_install_false_writes_the_review_file_only(tmp_path):
    review = tmp_path / "kubeha.te"
    answers = {"ausearch": (0, avc("recipe-pidof.log"), ""), "audit2allow": (0, PIDOF_TE, "")}
    fake = FakeModule({"install": False, "te_path": str(review)}, answers, check_mode=True)
    assert present(fake)["changed"] is True and not review.exists()  # check mode: would write
    fake = FakeModule({"install": False, "te_path": str(review)}, answers)
    res = present(fake)
    assert res["changed"] is True and review.read_text() == res["te"] and "not installed" in res["msg"]
    assert not [c for c in fake.tools_run("semodule") if c[1] == "-i"]
    assert present(FakeModule({"install": False, "te_path": str(review)}, answers))["changed"] is False


def test_absent():
    fake = FakeModule({"state": "absent"}, {}, installed=["kubeha_lb"],
                      extracted="(allow keepalived_t haproxy_t (file (read)))\n")
    fake.params["name"] = "kubeha_lb"
    runner = m.Audit2Allow(fake)
    res = runner.absent()
    runner.cleanup()
    assert res["changed"] is True and "allow keepalived_t haproxy_t:file read;" in res["diff"]["before"]
    assert fake.tools_run("semodule")[-1] == ["semodule", "-r", "kubeha_lb"]
    fake = FakeModule({"state": "absent", "name": "kubeha_lb"}, {})
    runner = m.Audit2Allow(fake)
    assert runner.absent()["changed"] is False
    runner.cleanup()
