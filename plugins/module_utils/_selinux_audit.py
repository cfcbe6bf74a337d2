# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The parts of selinux_audit2allow that need no SELinux tool, private to the collection.

* audit logs: which files make up a log (the live file and its rotated copies,
  oldest first, as ausearch reads them), and which of their lines are complete
  denials (what cannot be parsed is counted and named, never fatal);
* the time window, checked as ``ausearch --start/--end`` reads it in the C locale;
* audit2allow's ``.te`` output and an installed module's CIL: parsed into
  (source, target, class, permission) rules, rendered back deterministically,
  and the sha256 of the rendered text an operator reviews;
* the judgement of each rule: the refusals that hold for every domain (REFUSALS),
  then the source types and the allow-list (ALLOW_LIST) of what HAProxy and
  keepalived legitimately need.

Runs on the managed host: Python 3.8 or later, standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import re


class PolicyError(Exception):
    """A problem with the input, a tool or the installed module; the message says what to do.

    Keyword arguments are returned with the failure (for example the refused rules)."""

    def __init__(self, msg, **data):
        super().__init__(msg)
        self.data = data


# -- audit records -------------------------------------------------------------------------------

# 'type=AVC msg=audit(1462279311.929:10178): ...', optionally after 'node=NAME ' (auditd's name_format);
# a type auditd does not know yet is written 'UNKNOWN[1334]'.
HEADER_RE = re.compile(r"^(?:node=\S+ )?type=([A-Z0-9_]+|UNKNOWN\[\d+\]) msg=audit\(\d+(?:\.\d+)?:\d+\): ")
DENIAL_TYPES = ("AVC", "USER_AVC")
# A complete denial: the permissions, both contexts and the class (the class comes last in the kernel's record).
DENIAL_RE = re.compile(r"\bavc:\s+denied\s+\{[^}]*\}\s+for\s.*\bscontext=\S+\s.*\btcontext=\S+\s+tclass=[a-z0-9_]+")
SCONTEXT_RE = re.compile(r"\bscontext=([^:\s]+):([^:\s]+):([^:\s]+)")
# auditd's log_format=ENRICHED appends the interpreted fields after this separator.
ENRICHED_SEPARATOR = "\x1d"
AUDITD_LOG_FILE = "/var/log/audit/audit.log"  # auditd.conf's default log_file
UNPARSED_LISTED = 20  # how many unparsed lines are named one by one (all are counted)


def auditd_log_file(conf_text):
    """The log_file setting of an auditd.conf text (auditd's default when it has none)."""
    for line in conf_text.splitlines():
        line = line.split("#", 1)[0]
        key, sep, value = line.partition("=")
        if sep and key.strip() == "log_file" and value.strip():
            return value.strip()
    return AUDITD_LOG_FILE


def rotated_logs(base, exists=os.path.exists):
    """A log and its rotated copies, oldest first: base.N, ..., base.1, base.

    As ausearch (audit_log_list) and auditd's rotation name them: the numbers are
    consecutive from 1 and the first missing one ends the list."""
    names, number = [base], 1
    while exists("%s.%d" % (base, number)):
        names.append("%s.%d" % (base, number))
        number += 1
    return list(reversed(names))


def _denial_problem(record_type, text):
    """Why an AVC or USER_AVC record is not a usable denial: '' for a denial, None for a record to pass over."""
    if DENIAL_RE.search(text):
        return ""
    if re.search(r"\bavc:\s+granted\b", text):
        return None  # an auditallow record, not a denial
    if record_type == "AVC" or re.search(r"\bavc:\s+denied\b", text):
        # every kernel AVC record is 'avc:  denied|granted  { ... } for ... scontext= tcontext= tclass='
        return "incomplete denial (a torn record: no complete '{ permissions } ... scontext= tcontext= tclass=')"
    return None  # a USER_AVC that is no denial (a notice of a policy load or of a change of mode)


class LogScan:
    """The complete denial records of audit logs, and what could not be parsed.

    feed() every source in reading order; a line is judged by its content, not by its line
    break (a last line without one is used when it is complete, reported when it is torn)."""

    def __init__(self):
        self.denials = []
        self.files = []
        self.unparsed = []  # the first UNPARSED_LISTED: dict(file, line, reason, text)
        self.unparsed_count = 0

    def _bad(self, source, number, reason, raw):
        self.unparsed_count += 1
        if len(self.unparsed) < UNPARSED_LISTED:
            # repr escapes what is not printable: bytes as \xNN, text as \x00, \x1d...
            text = repr(raw[:80])[2:-1] if isinstance(raw, bytes) else repr(raw[:80])[1:-1]
            self.unparsed.append(dict(file=source, line=number, reason=reason, text=text))

    def feed(self, source, lines):
        """Read the lines (bytes, as a file opened 'rb' yields them) of one source, named source."""
        self.files.append(source)
        for number, raw in enumerate(lines, 1):
            raw = raw.rstrip(b"\r\n")
            if not raw.strip():
                continue
            if b"\0" in raw:
                self._bad(source, number, "binary data (NUL bytes, as a crash leaves them)", raw)
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                self._bad(source, number, "binary data (not UTF-8 text)", raw)
                continue
            header = HEADER_RE.match(line)
            if not header:
                self._bad(source, number, "not a raw audit record (no 'type=... msg=audit(TIME:SERIAL): ')", line)
                continue
            if header.group(1) not in DENIAL_TYPES:
                continue  # SYSCALL, PROCTITLE, ...: the denial records carry what is needed
            problem = _denial_problem(header.group(1), line.split(ENRICHED_SEPARATOR, 1)[0])
            if problem:
                self._bad(source, number, problem, line)
            elif problem == "":
                self.denials.append(line)

    def summary(self):
        """A sentence naming where the unparsed lines are ('' when there are none)."""
        if not self.unparsed_count:
            return ""
        named = ", ".join("%s line %d (%s)" % (u["file"], u["line"], u["reason"]) for u in self.unparsed)
        more = "" if self.unparsed_count == len(self.unparsed) else ", and %d more" % (
            self.unparsed_count - len(self.unparsed))
        return ("%d line(s) of the audit input could not be parsed and were left aside "
                "(a crash or a full disk tears records; see unparsed): %s%s" % (self.unparsed_count, named, more))


def source_type(line):
    match = SCONTEXT_RE.search(line)
    return match.group(3) if match else None


def select_denials(lines, source_types):
    """(the AVC / USER_AVC lines, each once, in order, whose source type is in source_types, how many others)."""
    seen, out, ignored = set(), [], 0
    for line in lines:
        header = HEADER_RE.match(line)
        if not header or header.group(1) not in DENIAL_TYPES or line in seen:
            continue
        seen.add(line)
        if source_type(line) not in source_types:
            ignored += 1
            continue
        out.append(line)
    return out, ignored


# -- the time window -----------------------------------------------------------------------------

# ausearch-time.c timetab; 'checkpoint' needs ausearch's --checkpoint file, which this module does not use.
TIME_KEYWORDS = ("now", "recent", "this-hour", "boot", "today", "yesterday", "this-week", "week-ago",
                 "this-month", "this-year")
DATE_RE = re.compile(r"^\d{1,2}/\d{1,2}/\d{2}$")  # strptime %x in the C locale: %m/%d/%y
LONG_YEAR_RE = re.compile(r"^(\d{1,2}/\d{1,2}/)\d\d(\d\d)$")
TIME_RE = re.compile(r"^\d{1,2}:\d{2}(?::\d{2})?$")  # %X in the C locale: %H:%M:%S (ausearch adds ':00')


def _when_kind(word):
    if word in TIME_KEYWORDS:
        return "keyword"
    if DATE_RE.match(word):
        return "date"
    if TIME_RE.match(word):
        return "time"
    return None


def when_args(option, value):
    """The ausearch words of a start or end value; PolicyError naming the value when ausearch would not take it.

    ausearch takes a keyword, a date, a time, or a keyword or date with a time; the tools run
    in the C locale, where a date is MM/DD/YY and a time HH:MM:SS (or HH:MM)."""
    words = str(value).split()
    kinds = [_when_kind(w) for w in words]
    if len(words) == 1 and kinds[0]:
        return words
    if len(words) == 2 and sorted(kinds, key=str) in (["keyword", "time"], ["date", "time"]):
        return words
    hint = ""
    if "checkpoint" in words:
        hint = " ('checkpoint' needs ausearch's --checkpoint file, which this module does not use)"
    elif any(LONG_YEAR_RE.match(w) for w in words):
        hint = " (the C locale's dates have a two-digit year: %s)" % " ".join(
            LONG_YEAR_RE.sub(r"\1\2", w) for w in words)
    elif re.match(r"^\d+$", str(value)):
        hint = (" (a number: an unquoted time such as 10:00:00 is read by YAML as a number of seconds;"
                " quote it: '10:00:00')")
    elif re.search(r"\d{4}-\d\d-\d\d", str(value)):
        hint = " (not an ISO date: the C locale's dates are MM/DD/YY)"
    raise PolicyError(
        "%s %r is not a time ausearch takes%s: use a keyword (%s), a date MM/DD/YY, a time HH:MM:SS, "
        "or a keyword or date followed by a time, e.g. '11/26/26 10:00:00' or 'today 08:00'"
        % (option, value, hint, ", ".join(TIME_KEYWORDS)))


# -- policy source -------------------------------------------------------------------------------

TE_ALLOW_RE = re.compile(r"^allow\s+(\S+)\s+(\S+):(\S+)\s+(?:\{([^}]*)\}|(\S+?))\s*;$")
CIL_ALLOW_RE = re.compile(r"^\(allow\s+(\S+)\s+(\S+)\s+\((\S+)\s+\(([^()]*)\)\)\)$")
CIL_REQUIRE_RE = re.compile(r"^\((?:typeattributeset|roleattributeset)\s+cil_gen_require\s+\S+\)$")
ALLOWED_ALREADY = "This avc is allowed in the current policy"
CONSTRAINT = "constraint violation"


def _perms(braced, single):
    return (braced or single or "").split()


def parse_te(text):
    """Allow rules of audit2allow's .te output as a set of (source, target, class, permission), and the hints.

    Every '#!!!!' note before a rule (with its '#' continuation lines) is read: a rule that the loaded
    policy already allows, or that is a constraint violation (no allow rule can fix it), is left out.
    Any other statement than an allow rule raises PolicyError (nothing would be installed silently short)."""
    rules, hints, notes = set(), [], []
    in_require = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#!!!!"):
            notes.append(line.lstrip("#! ").strip())
            continue
        if line.startswith("#"):
            if notes and raw.startswith("#") and line.lstrip("# ") and not line.startswith("#====="):
                notes[-1] = "%s %s" % (notes[-1], line.lstrip("# ").strip())
            continue
        if not line:
            continue
        if line.startswith("module ") or line.startswith("require"):
            in_require = line.startswith("require") and not line.endswith("}")
            continue
        if in_require:
            in_require = line != "}"
            continue
        match = TE_ALLOW_RE.match(line)
        if not match:
            raise PolicyError("audit2allow proposed a statement this module does not handle: %r" % line[:160])
        for note in notes:
            if note != ALLOWED_ALREADY and note not in hints:
                hints.append(note)
        skip = any(n == ALLOWED_ALREADY or CONSTRAINT in n for n in notes)
        notes = []
        if not skip:
            src, tgt, cls = match.group(1), match.group(2), match.group(3)
            for perm in _perms(match.group(4), match.group(5)):
                rules.add((src, tgt, cls, perm))
    return rules, hints


def parse_cil(text, name):
    """Allow rules of an extracted module (CIL) as a set of tuples.

    Raise PolicyError when it holds anything but allow rules and their requirements:
    such a module was not made by this module, and replacing it would drop those statements."""
    rules = set()
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        match = CIL_ALLOW_RE.match(line)
        if match:
            src, tgt, cls, perms = match.groups()
            for perm in perms.split():
                rules.add((src, tgt, cls, perm))
        elif not CIL_REQUIRE_RE.match(line):
            raise PolicyError(
                "the installed module %s holds more than allow rules (%r); it was not made by selinux_audit2allow "
                "and would lose them if replaced: choose another name" % (name, line[:120])
            )
    return rules


def rule_lines(rules):
    """One 'allow S T:C { p ... };' line per (source, target, class), sorted."""
    grouped = {}
    for src, tgt, cls, perm in rules:
        grouped.setdefault((src, tgt, cls), set()).add(perm)
    out = []
    for (src, tgt, cls), perms in sorted(grouped.items()):
        perms = sorted(perms)
        out.append("allow %s %s:%s %s;" % (src, tgt, cls, perms[0] if len(perms) == 1 else "{ %s }" % " ".join(perms)))
    return out


def render_te(name, rules):
    """A deterministic .te source for the rules (the same rules give the same text)."""
    if not rules:
        return ""
    types = sorted({r[0] for r in rules} | {r[1] for r in rules if r[1] != "self"})
    classes = {}
    for _src, _tgt, cls, perm in rules:
        classes.setdefault(cls, set()).add(perm)
    lines = ["module %s 1.0;" % name, "", "require {"]
    lines += ["\ttype %s;" % t for t in types]
    for cls in sorted(classes):
        perms = sorted(classes[cls])
        lines.append("\tclass %s %s;" % (cls, perms[0] if len(perms) == 1 else "{ %s }" % " ".join(perms)))
    lines += ["}", ""]
    current = None
    for line in rule_lines(rules):
        src = line.split()[1]
        if src != current:
            if current is not None:
                lines.append("")
            lines.append("#============= %s ==============" % src)
            current = src
        lines.append(line)
    return "\n".join(lines) + "\n"


def te_checksum(te):
    """sha256 (hex) of a .te text as written to te_path: what `sha256sum FILE` prints for it."""
    return hashlib.sha256(te.encode("utf-8")).hexdigest()


CHECKSUM_RE = re.compile(r"^(?:sha256:)?([0-9a-fA-F]{64})$")


def normal_checksum(value):
    """The lower-case hex of a te_checksum value ('sha256:' prefix allowed); PolicyError naming a bad one."""
    match = CHECKSUM_RE.match(value.strip())
    if not match:
        raise PolicyError("te_checksum %r is not a sha256 checksum (64 hexadecimal digits, as sha256sum prints "
                          "and the review run returns in te_checksum)" % value)
    return match.group(1).lower()


# -- what is never installed, for any domain ----------------------------------------------------

WRITE_PERMS = frozenset(("write", "append", "create", "unlink", "rename", "setattr", "add_name", "remove_name",
                         "link", "rmdir", "reparent", "relabelto", "relabelfrom"))
TRANSITION_PERMS = {"process": frozenset(("transition", "dyntransition")),
                    "process2": frozenset(("nnp_transition", "nosuid_transition"))}

# The SELinux policy, its configuration and the tools' entry points (writing them rewrites the policy).
POLICY_FILE_TYPES = frozenset((
    "security_t", "selinux_config_t", "policy_config_t", "policy_src_t", "default_context_t", "file_context_t",
    "semanage_store_t", "semanage_read_lock_t", "semanage_trans_lock_t", "load_policy_exec_t", "setfiles_exec_t",
    "semanage_exec_t", "checkpolicy_exec_t", "setsebool_exec_t"))
AUDIT_FILE_TYPES = frozenset(("auditd_etc_t", "auditd_log_t", "auditd_exec_t", "auditctl_exec_t"))
# Password hashes and authentication secrets: no permission at all (authlogin.fc, kerberos.fc, ssh.fc).
SECRET_TYPES = frozenset(("shadow_t", "auth_cache_t", "auth_home_t", "var_auth_t", "krb5_keytab_t", "sshd_key_t"))
# Account and login records: read by many (passwd_file_t is /etc/passwd), written by none of ours.
ACCOUNT_TYPES = frozenset(("passwd_file_t", "faillog_t", "lastlog_t", "wtmp_t", "pam_var_run_t", "ssh_home_t"))

# Domains a transition must never enter (nor a file become an entry point of), by why.
PRIVILEGED_DOMAINS = {
    "manages the SELinux policy or file labels": frozenset((
        "semanage_t", "load_policy_t", "setfiles_t", "setfiles_mac_t", "restorecond_t", "checkpolicy_t",
        "setsebool_t", "newrole_t", "run_init_t", "secadm_t")),
    "controls the audit trail": frozenset(("auditd_t", "auditctl_t", "auditadm_t")),
    "reads or writes password hashes": frozenset((
        "passwd_t", "sysadm_passwd_t", "chkpwd_t", "updpwd_t", "useradd_t", "groupadd_t")),
    "loads kernel modules": frozenset(("kmod_t", "insmod_t")),
    # unconfined or as good as: the kernel, init, administrators, package managers, installers, and the
    # types given unconfined_domain()/unconfined_domain_noaudit() in EL's targeted policy
    # (fedora-selinux/selinux-policy) whose name does not say 'unconfined'.
    "is unconfined": frozenset((
        "kernel_t", "init_t", "initrc_t", "sysadm_t", "spc_t", "container_runtime_t", "rpm_t", "rpm_script_t",
        "dpkg_t", "dpkg_script_t", "apt_t", "install_t", "anaconda_t", "firstboot_t", "livecd_t", "preupgrade_t",
        "authconfig_t", "puppetagent_t", "openshift_initrc_t", "rolekit_t", "realmd_consolehelper_t",
        "NetworkManager_dispatcher_custom_t", "abrt_handle_event_t", "boinc_project_t", "bootloader_t",
        "cinder_api_t", "cinder_backup_t", "cinder_scheduler_t", "cinder_volume_t", "cloud_init_t", "cluster_t",
        "clvmd_t", "condor_startd_t", "crond_t", "devicekit_disk_t", "devicekit_power_t", "devicekit_t", "dhcpc_t",
        "fsadm_t", "fwupd_t", "getty_t", "gnome_initial_setup_t", "ifconfig_t", "inetd_child_t", "inetd_t",
        "insights_client_t", "ipmievd_helper_t", "kdumpctl_t", "klogd_t", "kpatch_t", "ldconfig_t", "local_login_t",
        "lvm_t", "mono_t", "mount_t", "nagios_eventhandler_plugin_t", "openwsman_t", "pam_console_t",
        "pam_timestamp_t", "pcp_plugin_t", "pegasus_openlmi_logicalfile_t", "pki_tomcat_script_t", "prelink_t",
        "realmd_t", "rgmanager_t", "rtas_errd_t", "sge_job_t", "sge_shepherd_t", "sosreport_t", "stratisd_t",
        "syslogd_t", "system_cronjob_t", "tomcat_t", "tuned_t", "udev_t", "utempter_t", "virtd_lxc_t", "virtd_t",
        "virtvzd_t", "virtxend_t", "vmtools_helper_t", "vmtools_t", "vmware_host_t", "wine_t", "xserver_t",
        "zabbix_script_t")),
}


def privileged(domain):
    """Why entering domain is never allowed ('' when it may be, as far as its name tells)."""
    for why, names in PRIVILEGED_DOMAINS.items():
        if domain in names:
            return why
    # unconfined_t, unconfined_service_t, keepalived_unconfined_script_t, xdm_unconfined_t...: the word, anywhere
    # (an ending '_unconfined_t' would miss the first three).
    if "unconfined" in domain.split("_"):
        return "is unconfined"
    return ""


def _entered(rule):
    """The domain a transition enters ('self' is the rule's own domain)."""
    return rule[0] if rule[1] == "self" else rule[1]


_CAPABILITY = ("capability", "cap_userns")

# What is never installed, for any domain, whatever allowed_source_types and extra_permissions say:
# (test of a rule (source, target, class, permission), why - formatted with src, tgt, cls, perm,
# entered and its privileged() reason). Every row that matches is a reason given.
REFUSALS = (
    (lambda s, t, c, p: c == "security",
     "class security controls SELinux itself (enforcing mode, booleans, policy loads)"),
    # capabilities 32 and up, mac_override and mac_admin among them (the kernel's capability class stops at 31)
    (lambda s, t, c, p: c in ("capability2", "cap2_userns"),
     "class {cls} (mac_admin, mac_override, syslog, bpf, perfmon...) administers or overrides MAC and the kernel; "
     "what the daemons need of it is in the policy already"),
    (lambda s, t, c, p: c in _CAPABILITY and p == "sys_module", "capability sys_module loads kernel modules"),
    (lambda s, t, c, p: c == "system" and p in ("module_load", "module_request"), "system {perm} loads kernel modules"),
    (lambda s, t, c, p: c == "system" and p in ("reload", "disable", "halt", "reboot"),
     "system {perm} controls the whole system"),
    (lambda s, t, c, p: p in TRANSITION_PERMS.get(c, ()) and privileged(_entered((s, t))),
     "{cls} {perm} enters {entered}, which {entered_is}"),
    (lambda s, t, c, p: c == "file" and p == "entrypoint" and privileged(s),
     "file entrypoint makes {tgt} an entry point into {src}, which {src_is}"),
    (lambda s, t, c, p: c == "process" and p in ("setexec", "setcurrent"),
     "process {perm} lets the domain choose its own or its programs' context"),
    (lambda s, t, c, p: p in ("relabelfrom", "relabelto"), "{perm} changes SELinux labels"),
    (lambda s, t, c, p: t in POLICY_FILE_TYPES and p in WRITE_PERMS,
     "{cls} {perm} on {tgt} changes the SELinux policy or its configuration"),
    (lambda s, t, c, p: t in AUDIT_FILE_TYPES and p in WRITE_PERMS, "{cls} {perm} on {tgt} tampers with the audit trail"),
    (lambda s, t, c, p: c in _CAPABILITY and p == "audit_control",
     "capability audit_control changes the audit rules or turns auditing off"),
    (lambda s, t, c, p: c == "netlink_audit_socket" and p == "nlmsg_write",
     "netlink_audit_socket nlmsg_write changes the audit rules or turns auditing off"),
    (lambda s, t, c, p: t in SECRET_TYPES, "{tgt} holds password hashes or authentication secrets"),
    (lambda s, t, c, p: t in ACCOUNT_TYPES and p in WRITE_PERMS, "{cls} {perm} on {tgt} changes accounts or login records"),
)


def refusals(rule):
    """Why a rule is never installed, for any domain and whatever the allow-list (empty when it may be)."""
    src, tgt, cls, perm = rule
    entered = _entered(rule)
    fields = dict(src=src, tgt=tgt, cls=cls, perm=perm, entered=entered, entered_is=privileged(entered),
                  src_is=privileged(src))
    return [why.format(**fields) for test, why in REFUSALS if test(src, tgt, cls, perm)]


# -- what may be installed: the allow-list ------------------------------------------------------

# Target groups. 'self' and 'domains' are decided by the rule and allowed_source_types; the others by name.
CONFIG_TYPES = frozenset(("etc_t", "cert_t", "var_run_t"))  # /etc/haproxy, /etc/keepalived, certificates, /run/kubeha-haproxy
SYSTEM_STATE_TYPES = frozenset(("proc_t", "proc_net_t", "sysctl_t", "sysctl_net_t", "sysfs_t"))
LOGGING_TYPES = frozenset(("devlog_t", "syslogd_t", "syslogd_var_run_t"))  # /dev/log, journald's sockets
STATE_SUFFIXES = ("_var_run_t", "_var_lib_t", "_tmp_t", "_tmpfs_t", "_log_t", "_cache_t")

GROUPS = {
    "self": "the rule's own domain",
    "domains": "self or another of allowed_source_types (their processes, /proc files, sockets, pipes)",
    "own": "domains, and types named after one of them (haproxy_*, keepalived_*)",
    "own_state": "types named after one of the domains that end in %s" % ", ".join(STATE_SUFFIXES),
    "config": "own, and %s" % ", ".join(sorted(CONFIG_TYPES)),
    "system_state": ", ".join(sorted(SYSTEM_STATE_TYPES)),
    "logging": ", ".join(sorted(LOGGING_TYPES)),
    "ports": "port types (port_t, *_port_t)",
    "nodes": "node types (node_t, *_node_t)",
}

_SOCKETS = ("tcp_socket", "udp_socket", "rawip_socket", "packet_socket", "icmp_socket", "unix_stream_socket",
            "unix_dgram_socket", "netlink_route_socket", "netlink_generic_socket")
_SOCKET_PERMS = ("create", "bind", "connect", "listen", "accept", "getattr", "getopt", "setopt", "read", "write",
                 "append", "ioctl", "lock", "shutdown")
_READ_FILE = ("read", "open", "getattr", "lock", "ioctl", "map", "watch")
_READ_DIR = ("search", "getattr", "read", "open", "lock", "ioctl", "watch")

# (classes, permissions, target groups, why HAProxy or keepalived need it)
ALLOW_LIST = (
    (("tcp_socket",), ("name_bind", "name_connect"), ("ports",),
     "listen on and connect to ports (a port label is narrower: community.general.seport)"),
    (("tcp_socket", "udp_socket", "rawip_socket"), ("node_bind",), ("nodes",), "bind to an address, a VIP"),
    (_SOCKETS, _SOCKET_PERMS, ("self",), "their own sockets: TCP, VRRP's raw and packet sockets, netlink"),
    (("netlink_route_socket",), ("nlmsg_read", "nlmsg_write"), ("self",), "read and set addresses and routes (VIPs)"),
    (("unix_stream_socket",), ("connectto",), ("domains", "logging"), "HAProxy's admin socket, journald"),
    (("unix_dgram_socket",), ("sendto",), ("domains", "logging"), "syslog"),
    (("sock_file",), ("write", "getattr"), ("config", "logging"), "reach a socket (HAProxy's, /dev/log)"),
    (("sock_file",), ("create", "unlink", "setattr", "rename"), ("own_state",), "make their own sockets"),
    (("fifo_file",), ("read", "write", "append", "getattr", "open", "ioctl"), ("own",),
     "pipes between their own processes"),
    (("file",), _READ_FILE, ("config", "system_state"),
     "read their configuration and state files, certificates, /proc of their own processes, kernel state"),
    (("lnk_file",), ("read", "getattr"), ("config", "system_state"), "follow symbolic links there"),
    (("dir",), _READ_DIR, ("config", "system_state"), "look up those files"),
    (("file",), ("write", "append", "create", "unlink", "rename", "setattr", "link"), ("own_state",),
     "write their own state (pid files, HAProxy's server state, keepalived's)"),
    (("dir",), ("write", "add_name", "remove_name", "create", "rmdir", "setattr", "rename", "reparent"),
     ("own_state",), "in their own state directories"),
    (("process",), ("signal", "signull", "sigkill", "sigchld", "getattr", "getpgid", "getsched"), ("domains",),
     "signals and process state between their own domains"),
    (("process",), ("fork", "setrlimit", "setsched", "setpgid", "getcap", "setcap"), ("self",),
     "their own limits, priority (keepalived's realtime scheduling) and capabilities"),
    (("capability",), ("chown", "kill", "setuid", "setgid", "net_admin", "net_raw", "net_bind_service",
                       "sys_chroot", "sys_resource", "sys_nice", "ipc_lock"), ("self",),
     "HAProxy's chroot, user switch and limits; keepalived's VIPs, VRRP, priority and locked memory"),
    (("service",), ("status",), ("own",), "systemctl is-active of their own units (USER_AVC)"),
)

CLASS_RE = re.compile(r"^[a-z][a-z0-9_]*$")
TYPE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _prefixes(domains):
    return tuple(d[:-1] for d in domains if d.endswith("_t") and len(d) > 2)  # haproxy_t -> 'haproxy_'


def in_group(group, rule, domains):
    src, tgt = rule[0], rule[1]
    if group == "self":
        return tgt in ("self", src)
    if group == "domains":
        return tgt in ("self", src) or tgt in domains
    if group == "own":
        return in_group("domains", rule, domains) or tgt.startswith(_prefixes(domains))
    if group == "own_state":
        return tgt not in domains and tgt.startswith(_prefixes(domains)) and tgt.endswith(STATE_SUFFIXES)
    if group == "config":
        return in_group("own", rule, domains) or tgt in CONFIG_TYPES
    if group == "system_state":
        return tgt in SYSTEM_STATE_TYPES
    if group == "logging":
        return tgt in LOGGING_TYPES
    if group == "ports":
        return tgt == "port_t" or tgt.endswith("_port_t")
    if group == "nodes":
        return tgt == "node_t" or tgt.endswith("_node_t")
    raise ValueError("unknown target group %r" % group)


def check_extra(extra):
    """Validate extra_permissions entries (dicts of class, permissions, targets); PolicyError names a bad value."""
    for entry in extra:
        if not CLASS_RE.match(entry["class"]):
            raise PolicyError("extra_permissions: class %r is not an SELinux class name" % entry["class"])
        for perm in entry["permissions"]:
            if not CLASS_RE.match(perm):
                raise PolicyError("extra_permissions: permission %r (class %s) is not an SELinux permission name"
                                  % (perm, entry["class"]))
        for target in entry["targets"]:
            if not TYPE_RE.match(target):
                raise PolicyError("extra_permissions: target %r (class %s) is not an SELinux type name or self"
                                  % (target, entry["class"]))


def allow_listed(rule, domains, extra=()):
    """Whether the allow-list, or an extra_permissions entry, covers the rule (refusals are judged apart)."""
    src, tgt, cls, perm = rule
    for classes, perms, groups, _why in ALLOW_LIST:
        if cls in classes and perm in perms and any(in_group(g, rule, domains) for g in groups):
            return True
    for entry in extra:
        if cls == entry["class"] and perm in entry["permissions"] and (
                tgt in entry["targets"] or (tgt in ("self", src) and "self" in entry["targets"])):
            return True
    return False


def _perm_list(perms):
    return perms[0] if len(perms) == 1 else "{ %s }" % " ".join(perms)


def judge(rules, allowed_source_types, extra=()):
    """[(rules, [reasons])] of the rules that must not be installed, one entry per source, target and class
    (as rule_lines groups them), sorted; empty when all may be installed."""
    domains = frozenset(allowed_source_types)
    groups = {}
    for rule in sorted(rules):
        outside_source = rule[0] not in domains
        outside_list = not outside_source and not allow_listed(rule, domains, extra)
        never = refusals(rule)
        if outside_source or outside_list or never:
            group = groups.setdefault(rule[:3], dict(rules=set(), source=False, outside=[], never=[]))
            group["rules"].add(rule)
            group["source"] = group["source"] or outside_source
            if outside_list:
                group["outside"].append(rule[3])
            group["never"] += [r for r in never if r not in group["never"]]
    out = []
    for (src, tgt, cls), group in sorted(groups.items()):
        why = []
        if group["source"]:
            why.append("source type %s is outside allowed_source_types" % src)
        if group["outside"]:
            why.append("%s %s on %s %s outside the allow-list" % (
                cls, _perm_list(group["outside"]), tgt, "is" if len(group["outside"]) == 1 else "are"))
        why += ["never allowed: %s" % r for r in group["never"]]
        out.append((frozenset(group["rules"]), why))
    return out
