#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: selinux_audit2allow
short_description: Turn SELinux denials into a reviewed, allow-listed, merged, idempotent local policy module
version_added: 0.4.0
description:
  - The safe form of C(ausearch -c pidof --raw | audit2allow -M name && semodule -i name.pp).
  - Reads SELinux denials (C(AVC) and C(USER_AVC) records) from the system's audit logs (rotated ones included), an
    O(audit_log) file or directory, or O(avc) text; narrows them with C(ausearch) to the time window O(start) - O(end),
    to O(comm) and to O(source_types); asks C(audit2allow) for the allow rules they need; judges every rule (below);
    merges the rules with those of the installed module O(name) (new denials add rules, they never drop one); builds
    the module with C(checkmodule) and C(semodule_package) in a private temporary directory and installs it with
    C(semodule -i). When any rule is refused the module fails, lists each refused rule with why, and installs nothing.
  - Audit logs as found on hosts are read - the live file and its rotated copies (C(audit.log.N) ... C(audit.log.1),
    C(audit.log), oldest first), records of several events interleaved, records torn by a crash or a full disk. A line
    that is not a complete record (a truncated denial, NUL bytes or other binary data, text that does not start
    with C(type=TYPE msg=audit), the time and the serial) is left aside, counted and named in RV(unparsed) and in a
    warning; it never fails the module. A file that cannot be read does.
  - B(Allow-list.) A rule is installed only when its source type is one of O(allowed_source_types) and its class,
    permission and target are on this list, or in O(extra_permissions). Target groups - C(self) is the rule's own
    domain; C(domains) is self or another of O(allowed_source_types); C(own) is domains and the types named after
    one of them (C(haproxy_*), C(keepalived_*)); C(own_state) is the types named after one of them that end in
    C(_var_run_t), C(_var_lib_t), C(_tmp_t), C(_tmpfs_t), C(_log_t) or C(_cache_t); C(config) is own and C(etc_t),
    C(cert_t), C(var_run_t); C(system_state) is C(proc_t), C(proc_net_t), C(sysctl_t), C(sysctl_net_t), C(sysfs_t);
    C(logging) is C(devlog_t), C(syslogd_t), C(syslogd_var_run_t); C(ports) is port types (C(port_t), C(*_port_t));
    C(nodes) is node types (C(node_t), C(*_node_t)).
  - "Allow-list 1: C(tcp_socket) C(name_bind name_connect) on ports - listen on and connect to ports (a port label,
    M(community.general.seport), is narrower)."
  - "Allow-list 2: C(tcp_socket udp_socket rawip_socket) C(node_bind) on nodes - bind to an address, a VIP."
  - "Allow-list 3: C(tcp_socket udp_socket rawip_socket packet_socket icmp_socket unix_stream_socket
    unix_dgram_socket netlink_route_socket netlink_generic_socket) C(create bind connect listen accept getattr
    getopt setopt read write append ioctl lock shutdown) on self - their own sockets, VRRP's raw and packet
    sockets, netlink."
  - "Allow-list 4: C(netlink_route_socket) C(nlmsg_read nlmsg_write) on self - read and set addresses and routes
    (keepalived's VIPs)."
  - "Allow-list 5: C(unix_stream_socket) C(connectto) and C(unix_dgram_socket) C(sendto) on domains and logging -
    HAProxy's admin socket, syslog, journald."
  - "Allow-list 6: C(sock_file) C(write getattr) on config and logging; C(sock_file) C(create unlink setattr rename)
    on own_state - reach HAProxy's socket and C(/dev/log); make their own sockets."
  - "Allow-list 7: C(fifo_file) C(read write append getattr open ioctl) on own - pipes between their own processes."
  - "Allow-list 8: C(file) C(read open getattr lock ioctl map watch), C(lnk_file) C(read getattr) and C(dir)
    C(search getattr read open lock ioctl watch) on config and system_state - their configuration and state files
    (HAProxy's state file under C(/run) that keepalived tracks), certificates, the C(/proc) files of their own
    processes (the recipe's C(pidof)), kernel state."
  - "Allow-list 9: C(file) C(write append create unlink rename setattr link) and C(dir) C(write add_name remove_name
    create rmdir setattr rename reparent) on own_state - their own pid and state files and directories."
  - "Allow-list 10: C(process) C(signal signull sigkill sigchld getattr getpgid getsched) on domains - signals and
    process state between their own domains; C(process) C(fork setrlimit setsched setpgid getcap setcap) on self."
  - "Allow-list 11: C(capability) C(chown kill setuid setgid net_admin net_raw net_bind_service sys_chroot
    sys_resource sys_nice ipc_lock) on self - HAProxy's chroot, user switch and limits; keepalived's VIPs, VRRP,
    realtime priority and locked memory. Not C(dac_override), C(sys_admin), C(sys_ptrace) and the like."
  - "Allow-list 12: C(service) C(status) on own - C(systemctl is-active) of their own units (a C(USER_AVC))."
  - B(Never installed), for any domain, even when O(extra_permissions) or O(allowed_source_types) list it
    (each refused rule is named with its reason).
  - "Refused 1: class C(security) - it controls SELinux itself (enforcing mode, booleans, policy loads)."
  - "Refused 2: classes C(capability2) and C(cap2_userns), every permission (C(mac_admin), C(mac_override),
    C(syslog), C(bpf), C(perfmon)...) - they administer or override MAC and the kernel; what the daemons need of them
    is in the distribution's policy already."
  - "Refused 3: loading kernel modules or controlling the system - C(capability) (and C(cap_userns)) C(sys_module),
    C(system) C(module_load module_request reload disable halt reboot)."
  - "Refused 4: entering an unconfined or privileged domain - C(process) C(transition dyntransition), C(process2)
    C(nnp_transition nosuid_transition) whose target is, or C(file) C(entrypoint) whose source is, an unconfined
    domain (a type with the word C(unconfined) between underscores - C(unconfined_t), C(unconfined_service_t),
    C(keepalived_unconfined_script_t); a C(_unconfined_t) ending alone would miss the last two - or one of EL's
    unconfined domains whose name does not say so, such as C(kernel_t), C(init_t), C(initrc_t), C(sysadm_t),
    C(rpm_t), C(spc_t)), a policy-management domain (C(semanage_t), C(load_policy_t), C(setfiles_t),
    C(setfiles_mac_t), C(restorecond_t), C(checkpolicy_t), C(setsebool_t), C(newrole_t), C(run_init_t),
    C(secadm_t)), an audit domain (C(auditd_t), C(auditctl_t), C(auditadm_t)), a password domain (C(passwd_t),
    C(chkpwd_t), C(updpwd_t), C(useradd_t)...) or C(kmod_t). Names are all a module can go by: the allow-list, which
    has no transition at all, is what keeps out an unconfined domain with another name."
  - "Refused 5: changing contexts - C(process) C(setexec setcurrent), and C(relabelfrom relabelto) of any class."
  - "Refused 6: writing the policy or the audit trail - write permissions on the policy's files and tools
    (C(selinux_config_t), C(policy_config_t), C(file_context_t), C(semanage_store_t), C(load_policy_exec_t)...)
    and on C(auditd_log_t), C(auditd_etc_t); C(capability) C(audit_control); C(netlink_audit_socket)
    C(nlmsg_write)."
  - "Refused 7: password hashes and authentication secrets - any permission on C(shadow_t), C(auth_cache_t),
    C(auth_home_t), C(var_auth_t), C(krb5_keytab_t), C(sshd_key_t); write permissions on C(passwd_file_t),
    C(faillog_t), C(lastlog_t), C(wtmp_t), C(pam_var_run_t), C(ssh_home_t)."
  - Idempotent by content. The installed module's rules are read back from the policy store (C(semodule --cil --extract));
    when the merged rule set equals them nothing is installed. Rules that the loaded policy already allows are not added.
  - Reviewable. The module's C(.te) source and its sha256 (RV(te_checksum)) are returned; O(install=false) writes it to
    O(te_path) and installs nothing; O(te_checksum) binds a later install to exactly the reviewed source.
  - Every tool runs as an argument list in the C locale, never through a shell.
  - The last resort for residual denials. Prefer the narrower fixes first - a port label (M(community.general.seport)),
    a boolean (M(ansible.posix.seboolean)), the file context the policy expects. The module never makes a domain
    permissive and never switches SELinux off.
author:
  - kubeha.control_plane contributors (@kubeha)
requirements:
  - C(ausearch) (EL C(audit), Debian C(auditd))
  - C(audit2allow) (EL and Debian C(policycoreutils-python-utils))
  - C(checkmodule) (EL and Debian C(checkpolicy))
  - C(semodule_package) (EL C(policycoreutils), Debian C(semodule-utils))
  - C(semodule) (EL and Debian C(policycoreutils))
options:
  name:
    description:
      - Name of the local policy module, a letter then up to 62 letters, digits, C(_) or C(-).
    type: str
    required: true
  state:
    description:
      - V(present) installs the rules the denials need, merged with the module's installed rules.
      - V(absent) removes the module (C(semodule -r)).
    type: str
    choices: [present, absent]
    default: present
  audit_log:
    description:
      - Where to read the denials instead of the system's audit logs (raw C(auditd) format). Ignored when O(avc) is set.
      - A file is read alone. A directory (a copy of C(/var/log/audit)) is read as C(ausearch --input DIR) reads it -
        its C(audit.log) and the rotated C(audit.log.1), C(audit.log.2)... (consecutive numbers), oldest first.
      - Default - the system's logs - C(log_file) of C(/etc/audit/auditd.conf) (C(/var/log/audit/audit.log)) and its
        rotated copies, oldest first. Compressed copies are not read.
      - A file that does not exist or cannot be read fails the module (become root to read the system's logs).
    type: path
  avc:
    description:
      - Audit records to read instead of the logs - raw lines as auditd writes them (each starting with
        C(type=AVC msg=audit), the time and the serial), for example lines copied from another host's log.
      - Lines that are no complete record are left aside and reported, as in a log file.
    type: str
  comm:
    description:
      - Only denials of these commands (C(ausearch -c), the exact C(comm) of the process, e.g. C(pidof)).
      - Empty - every command.
    type: list
    elements: str
    default: []
  source_types:
    description:
      - Only denials whose source context has one of these types (e.g. C(keepalived_t)).
      - Empty - the O(allowed_source_types), so the denials of unrelated domains that every busy host logs are
        left aside (counted in RV(ignored_denials)). A type listed here that is not allowed fails when it has denials.
    type: list
    elements: str
    default: []
  start:
    description:
      - Required with O(state=present) (since 0.5.0) - only denials from this time on, so that a run never reads the
        whole history of the logs by default.
      - As C(ausearch --start) takes it in the C locale - a keyword (V(recent) (ten minutes ago), V(this-hour),
        V(boot), V(today), V(yesterday), V(this-week), V(week-ago), V(this-month), V(this-year), V(now)), a date
        C(MM/DD/YY) (two-digit year, V(11/26/26)), a time C(HH:MM:SS) or C(HH:MM) (today; quote it in YAML, where an
        unquoted V(10:00:00) is a number), or a keyword or date followed by a time (V(11/26/26 10:00:00),
        V(today 08:00)). Anything else fails naming the value; C(ausearch) judges the rest (a 13th month).
    type: str
  end:
    description:
      - Only denials up to this time, in the forms of O(start) (C(ausearch --end)). Default - no end.
    type: str
    version_added: 0.5.0
  allowed_source_types:
    description:
      - The source types rules may be granted to. A denial of any other domain fails the module and shows the rules
        it would have needed; nothing is installed.
    type: list
    elements: str
    default: [keepalived_t, keepalived_unconfined_script_t, haproxy_t]
  extra_permissions:
    description:
      - Permissions to allow beyond the allow-list (see the description), each for the target types named, after
        review. A rule the module never installs (see the description) stays refused.
    type: list
    elements: dict
    default: []
    version_added: 0.5.0
    suboptions:
      class:
        description:
          - The object class, e.g. C(file).
        type: str
        required: true
      permissions:
        description:
          - Permissions of that class, e.g. C(write).
        type: list
        elements: str
        required: true
      targets:
        description:
          - The target types they are allowed on, e.g. C(haproxy_etc_t); V(self) for the rule's own domain.
        type: list
        elements: str
        required: true
  policy:
    description:
      - Binary policy file for C(audit2allow -p), e.g. C(/etc/selinux/targeted/policy/policy.33).
      - Needed where no policy is loaded in the kernel (a chroot, a container, a host with SELinux disabled);
        by default C(audit2allow) reads the loaded policy.
    type: path
  te_path:
    description:
      - Also write the module's source (C(.te)) to this path, mode 0644, for review or version control.
      - Check mode writes nothing and reports whether it would change.
    type: path
  install:
    description:
      - V(false) builds the module and writes O(te_path) but installs nothing - the review step before a run with
        V(true). RV(rules) are then what would be installed, RV(te_checksum) the checksum to pass to O(te_checksum).
    type: bool
    default: true
  te_checksum:
    description:
      - The sha256 of the C(.te) source that was reviewed (RV(te_checksum) of a run with O(install=false), or
        C(sha256sum) of its O(te_path)); an optional C(sha256:) prefix is accepted.
      - When set, the module installs only a module whose source has exactly this checksum. When the denials now
        need other rules, the module fails saying the rules changed since review, shows the new C(.te) and its
        checksum, and installs nothing (also in check mode, where the real run would fail).
      - Enforced when the module would install; otherwise (O(install=false), or the installed module already holds
        every rule) a different checksum is only a warning.
    type: str
    version_added: 0.5.0
notes:
  - C(semodule -i) rebuilds and reloads the policy, which takes seconds.
  - A module of the same name made by hand with more than allow rules is not touched; the module fails and asks for another name.
  - The allow-list and the refusals judge type names; the policy's own rules are not consulted, except that
    C(audit2allow) leaves out what the loaded policy (or O(policy)) already allows.
seealso:
  - module: community.general.seport
  - module: ansible.posix.seboolean
  - name: audit2allow(1)
    description: The tool this module drives.
    link: https://man7.org/linux/man-pages/man1/audit2allow.1.html
  - name: ausearch(8)
    description: The time formats of O(start) and O(end).
    link: https://man7.org/linux/man-pages/man8/ausearch.8.html
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: >-
      Reads the logs and builds the module in a temporary directory (so an invalid or refused rule, or a checksum
      that does not match, fails in check mode too); installs nothing and writes no O(te_path).
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: The module's C(.te) source before and after.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
    details: Linux with the SELinux userspace (EL, Debian, Ubuntu).
"""

EXAMPLES = r"""
- name: Allow keepalived's check script what the recipe's pidof denial asked for
  kubeha.control_plane.selinux_audit2allow:
    name: kubeha_keepalived
    comm: [pidof]
    source_types: [keepalived_t]
    start: today

- name: Review first - the rules written to a file, nothing installed
  kubeha.control_plane.selinux_audit2allow:
    name: kubeha_haproxy
    source_types: [haproxy_t]
    start: boot
    te_path: /root/kubeha_haproxy.te
    install: false
  register: kubeha_haproxy_review

- name: Install exactly the reviewed source (fails, installing nothing, if the rules changed since)
  kubeha.control_plane.selinux_audit2allow:
    name: kubeha_haproxy
    source_types: [haproxy_t]
    start: boot
    te_checksum: "{{ kubeha_haproxy_review.te_checksum }}"

- name: A given window, from denials collected elsewhere (a copy of /var/log/audit), on a host with SELinux disabled
  kubeha.control_plane.selinux_audit2allow:
    name: kubeha_keepalived
    audit_log: /srv/collected/lb1/audit
    start: "11/26/26 10:00:00"
    end: "11/26/26 12:00:00"
    policy: /etc/selinux/targeted/policy/policy.33

- name: One permission beyond the allow-list, for one target type, after review
  kubeha.control_plane.selinux_audit2allow:
    name: kubeha_haproxy
    source_types: [haproxy_t]
    start: today
    extra_permissions:
      - class: file
        permissions: [write]
        targets: [haproxy_etc_t]

- name: Remove the module
  kubeha.control_plane.selinux_audit2allow:
    name: kubeha_keepalived
    state: absent
"""

RETURN = r"""
rules:
  description: The module's allow rules after the task (the installed ones when nothing changed), one rule a line.
  returned: state=present
  type: list
  elements: str
  sample: ["allow keepalived_t haproxy_t:file { open read };"]
new_rules:
  description: The rules the denials found need that the module did not hold yet.
  returned: state=present
  type: list
  elements: str
denials:
  description: How many denial records were found after narrowing.
  returned: state=present
  type: int
ignored_denials:
  description: How many denials of other source types were left aside by the narrowing to O(source_types).
  returned: state=present
  type: int
te:
  description:
    - The module's C(.te) source after the task (empty when absent).
    - When the task fails because the rules changed since review (O(te_checksum)), the source it would have installed.
  returned: always
  type: str
te_checksum:
  description:
    - The sha256 (hexadecimal) of RV(te), which is what C(sha256sum) prints for the O(te_path) file; pass it to
      O(te_checksum) to install exactly this source.
    - Also returned when the task fails because the rules changed since review.
  returned: always
  type: str
  sample: 4b55badb7e4a27a644394ab6e83e036d3d254b84db6e82734cd24c41be418f8a
installed:
  description: Whether the module was installed before the task.
  returned: always
  type: bool
hints:
  description:
    - What C(audit2allow) said about the denials, e.g. that a boolean would allow one, or that one is a constraint
      violation (no allow rule can fix it; such rules are not installed).
  returned: state=present
  type: list
  elements: str
logs:
  description: The audit log files read, in the order read (oldest first); empty when O(avc) was given.
  returned: state=present
  type: list
  elements: str
  sample: [/var/log/audit/audit.log.2, /var/log/audit/audit.log.1, /var/log/audit/audit.log]
unparsed_count:
  description: How many lines could not be parsed (torn records, binary data, text that is no audit record) and were left aside.
  returned: state=present
  type: int
unparsed:
  description: The first 20 lines that could not be parsed and were left aside (RV(unparsed_count) counts them all).
  returned: state=present
  type: list
  elements: dict
  contains:
    file:
      description: The file, or C(avc) for O(avc) text.
      type: str
    line:
      description: The line number, from 1.
      type: int
    reason:
      description: Why the line was left aside.
      type: str
    text:
      description: Its first 80 characters, non-printable ones escaped.
      type: str
  sample: [{file: /var/log/audit/audit.log.1, line: 4187, reason: "binary data (NUL bytes, as a crash leaves them)",
            text: "\\x00\\x00\\x00\\x00"}]
refused:
  description: When the task fails because rules are refused - each refused rule and why.
  returned: failure
  type: list
  elements: dict
  contains:
    rule:
      description: The rule, as in the C(.te).
      type: str
    reasons:
      description: Why it is not installed (outside O(allowed_source_types), outside the allow-list, never allowed).
      type: list
      elements: str
  sample: [{rule: "allow keepalived_t shadow_t:file read;",
            reasons: ["file read on shadow_t is outside the allow-list",
                      "never allowed: shadow_t holds password hashes or authentication secrets"]}]
"""

import os
import re
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.kubeha.control_plane.plugins.module_utils._selinux_audit import (
    ENRICHED_SEPARATOR,
    LogScan,
    PolicyError,
    TYPE_RE,
    auditd_log_file,
    check_extra,
    judge,
    normal_checksum,
    parse_cil,
    parse_te,
    render_te,
    rotated_logs,
    rule_lines,
    select_denials,
    te_checksum,
    when_args,
)

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
DEFAULT_ALLOWED = ["keepalived_t", "keepalived_unconfined_script_t", "haproxy_t"]
AUDITD_CONF = "/etc/audit/auditd.conf"
# The tools' messages and ausearch's date format do not depend on the caller's locale.
C_LOCALE = dict(LANG="C", LC_ALL="C", LC_MESSAGES="C", LC_CTYPE="C")

# Tool -> (EL package, Debian package)
TOOLS = {
    "ausearch": ("audit", "auditd"),
    "audit2allow": ("policycoreutils-python-utils", "policycoreutils-python-utils"),
    "checkmodule": ("checkpolicy", "checkpolicy"),
    "semodule_package": ("policycoreutils", "semodule-utils"),
    "semodule": ("policycoreutils", "policycoreutils"),
}


class Audit2Allow:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.name = self.params["name"]
        self.allowed = self.params["allowed_source_types"]
        self.source_types = self.params["source_types"] or self.allowed
        self.facts = {}  # what was read, returned on success and on failure
        self.tmpdir = tempfile.mkdtemp(prefix="kubeha-audit2allow-")  # mode 0700

    # -- tools -------------------------------------------------------------------------------
    def tool(self, name):
        path = self.module.get_bin_path(name)
        if not path:
            el, debian = TOOLS[name]
            raise PolicyError("%s not found on this host; install package %s (EL) or %s (Debian)" % (name, el, debian))
        return path

    def run(self, argv, what, ok=(0,), cwd=None):
        rc, out, err = self.module.run_command(argv, cwd=cwd)
        if rc not in ok:
            raise PolicyError("%s failed (rc=%d) running %s:\n%s" % (what, rc, " ".join(argv), (out + err).strip()[-3000:]))
        return rc, out, err

    def path(self, name):
        return os.path.join(self.tmpdir, name)

    def cleanup(self):
        shutil.rmtree(self.tmpdir, ignore_errors=True)

    # -- the installed module ---------------------------------------------------------------
    def installed(self):
        _rc, out, _err = self.run([self.tool("semodule"), "-l"], "listing the installed modules")
        return self.name in [line.split()[0] for line in out.splitlines() if line.strip()]

    def installed_rules(self):
        workdir = self.path("extract")
        if not os.path.isdir(workdir):
            os.mkdir(workdir)
        self.run([self.tool("semodule"), "--cil", "--extract", self.name], "extracting module %s" % self.name, cwd=workdir)
        with open(os.path.join(workdir, "%s.cil" % self.name)) as fh:
            return parse_cil(fh.read(), self.name)

    # -- denials ------------------------------------------------------------------------------
    def log_files(self):
        """The audit log files to read, oldest first; PolicyError when one is missing or unreadable."""
        given = self.params["audit_log"]
        if given and os.path.isdir(given):
            base, what = os.path.join(given, "audit.log"), "audit_log %s" % given
        elif given:
            base, what = given, "audit_log"
        else:
            try:
                with open(AUDITD_CONF) as fh:
                    base = auditd_log_file(fh.read())
            except (IOError, OSError):
                base = auditd_log_file("")
            what = "the system's audit log (log_file of %s)" % AUDITD_CONF
        if not os.path.isfile(base):
            raise PolicyError("%s: %s does not exist or is not a file (is auditd installed and writing its log? "
                              "Or pass the records in audit_log or avc)" % (what, base))
        files = rotated_logs(base) if base != given else [base]
        unreadable = [f for f in files if not os.access(f, os.R_OK)]
        if unreadable:
            raise PolicyError("%s: cannot read %s (become root, or pass the records in avc)" % (what, ", ".join(unreadable)))
        return files

    def scan(self):
        """The complete denial records of the input; what could not be parsed is recorded and warned about."""
        scan = LogScan()
        if self.params["avc"] is not None:
            scan.feed("avc", self.params["avc"].encode("utf-8", "surrogateescape").splitlines())
        else:
            for name in self.log_files():
                try:
                    with open(name, "rb") as fh:
                        scan.feed(name, fh)
                except (IOError, OSError) as err:
                    raise PolicyError("cannot read %s: %s (become root, or pass the records in avc)" % (name, err))
        self.facts.update(logs=[] if self.params["avc"] is not None else scan.files,
                          unparsed=scan.unparsed, unparsed_count=scan.unparsed_count)
        if scan.unparsed_count:
            self.module.warn(scan.summary())
        return scan.denials

    def ausearch_args(self):
        args = ["--start"] + when_args("start", self.params["start"])
        if self.params["end"]:
            args += ["--end"] + when_args("end", self.params["end"])
        return args

    def denials(self):
        window = self.ausearch_args()  # a bad window fails before the logs are read
        records = self.scan()
        if not records:
            return [], 0
        path = self.path("input.log")  # only complete denial records: ausearch narrows them by time and comm
        with open(path, "w") as fh:
            fh.write("\n".join(records) + "\n")
        ausearch = self.tool("ausearch")
        lines = []
        for comm in self.params["comm"] or [None]:
            argv = [ausearch, "--input", path, "--message", "AVC,USER_AVC", "--raw"]
            if comm:
                argv += ["--comm", comm]
            argv += window
            rc, out, err = self.run(argv, "ausearch", ok=(0, 1))
            if rc == 1:
                # No match: rc 1 and nothing else said (--raw drops the "<no matches>" line).
                said = (err.replace("<no matches>", "") + out).strip()
                if said:
                    raise PolicyError("ausearch failed (rc=1) running %s:\n%s" % (" ".join(argv), said))
                continue
            lines += out.split("\n")  # not splitlines(): it would also split at the enriched format's separator
        return select_denials(lines, self.source_types)

    def needed_rules(self, denials):
        path = self.path("denials.log")
        with open(path, "w") as fh:  # the records without the enriched format's interpretations
            fh.write("\n".join(line.split(ENRICHED_SEPARATOR, 1)[0] for line in denials) + "\n")
        argv = [self.tool("audit2allow"), "-i", path, "-m", self.name]
        if self.params["policy"]:
            argv += ["-p", self.params["policy"]]
        try:
            _rc, out, _err = self.run(argv, "audit2allow")
        except PolicyError as err:
            hint = "" if self.params["policy"] else (
                " (where no policy is loaded, set policy to the binary policy file, e.g. /etc/selinux/targeted/policy/policy.33)")
            raise PolicyError("%s%s" % (err, hint))
        return parse_te(out)

    def build(self, te):
        te_file, mod, pp = self.path("%s.te" % self.name), self.path("%s.mod" % self.name), self.path("%s.pp" % self.name)
        with open(te_file, "w") as fh:
            fh.write(te)
        self.run([self.tool("checkmodule"), "-M", "-m", "-o", mod, te_file], "checkmodule")
        self.run([self.tool("semodule_package"), "-o", pp, "-m", mod], "semodule_package")
        return pp

    def write_te_path(self, te):
        """Write te_path when its content differs (not in check mode); True when it differs."""
        path = self.params["te_path"]
        if not path:
            return False
        try:
            with open(path) as fh:
                if fh.read() == te:
                    return False
        except (IOError, OSError):
            pass
        if not self.module.check_mode:
            tmp = self.path("review.te")
            with open(tmp, "w") as fh:
                fh.write(te)
            os.chmod(tmp, 0o644)
            self.module.atomic_move(tmp, path)
        return True

    # -- states ----------------------------------------------------------------------------
    def absent(self):
        installed = self.installed()
        result = dict(changed=installed, installed=installed, te="", te_checksum=te_checksum(""))
        if installed:
            try:
                before = render_te(self.name, self.installed_rules())
            except PolicyError:
                before = "(module %s, not made by selinux_audit2allow)\n" % self.name
            result["diff"] = dict(before=before, after="", before_header=self.name, after_header="(removed)")
            if not self.module.check_mode:
                self.run([self.tool("semodule"), "-r", self.name], "semodule -r")
        return result

    def refuse(self, refused):
        lines = ["%s  # %s" % (rule_lines(rules)[0], "; ".join(why)) for rules, why in refused]
        raise PolicyError(
            "%d rule(s) the denials need are refused; nothing was installed:\n%s\n"
            "Fix their cause first (a port label, a boolean, the file context the policy expects). Rules outside "
            "allowed_source_types or the allow-list can be allowed after review (allowed_source_types, "
            "extra_permissions); those never allowed cannot." % (len(refused), "\n".join(lines)),
            refused=[dict(rule=rule_lines(rules)[0], reasons=why) for rules, why in refused])

    def present(self):
        for tool in ("ausearch", "audit2allow", "checkmodule", "semodule_package", "semodule"):
            self.tool(tool)
        reviewed = normal_checksum(self.params["te_checksum"]) if self.params["te_checksum"] else None
        installed = self.installed()
        current = self.installed_rules() if installed else set()
        denials, ignored = self.denials()
        found, hints = self.needed_rules(denials) if denials else (set(), [])
        refused = judge(found, self.allowed, self.params["extra_permissions"])
        if refused:
            self.refuse(refused)
        merged = current | found
        new = found - current
        te_before = render_te(self.name, current) if installed else ""
        te_after = render_te(self.name, merged)
        checksum = te_checksum(te_after)
        result = dict(changed=False, installed=installed, denials=len(denials), ignored_denials=ignored,
                      rules=rule_lines(merged), new_rules=rule_lines(new), te=te_after, te_checksum=checksum,
                      hints=hints)
        if not denials:
            result["msg"] = ("no denials of %s found (after narrowing by comm, start and end; %d of other domains "
                             "left aside; %d line(s) not parsed): nothing to change"
                             % (", ".join(self.source_types), ignored, self.facts.get("unparsed_count", 0)))
        elif not new:
            result["msg"] = ("module %s holds every rule the %d denials need, or the loaded policy allows them"
                             % (self.name, len(denials)))
        to_build = bool(merged) and bool(new or not installed)
        if reviewed and reviewed != checksum:
            if to_build and self.params["install"]:
                raise PolicyError(
                    "the rules changed since review: te_checksum is %s, but the .te this run would install has "
                    "sha256 %s; nothing was installed. Review it (install: false writes it to te_path) and pass its "
                    "checksum:\n%s" % (reviewed, checksum, te_after),
                    te=te_after, te_checksum=checksum, rules=rule_lines(merged), new_rules=rule_lines(new))
            self.module.warn("te_checksum %s is not the checksum of module %s's source (%s); %s"
                             % (reviewed, self.name, checksum, "nothing is installed (install=false)"
                                if to_build else "nothing needs installing"))
        if to_build:
            pp = self.build(te_after)
            result["diff"] = dict(before=te_before, after=te_after, before_header="%s (installed)" % self.name,
                                  after_header=self.name)
            if self.params["install"]:
                if not self.module.check_mode:
                    self.run([self.tool("semodule"), "-i", pp], "semodule -i")
                result["changed"] = True
                result["msg"] = "%s module %s with %d new rule(s)" % (
                    "would install" if self.module.check_mode else "installed", self.name, len(rule_lines(new)))
            else:
                result["msg"] = ("module %s built with %d new rule(s), not installed (install=false); te_checksum %s"
                                 % (self.name, len(rule_lines(new)), checksum))
        if merged and self.write_te_path(te_after):
            result["changed"] = True
        return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            audit_log=dict(type="path"),
            avc=dict(type="str"),
            comm=dict(type="list", elements="str", default=[]),
            source_types=dict(type="list", elements="str", default=[]),
            start=dict(type="str"),
            end=dict(type="str"),
            allowed_source_types=dict(type="list", elements="str", default=DEFAULT_ALLOWED),
            extra_permissions=dict(type="list", elements="dict", default=[], options={
                "class": dict(type="str", required=True),
                "permissions": dict(type="list", elements="str", required=True),
                "targets": dict(type="list", elements="str", required=True),
            }),
            policy=dict(type="path"),
            te_path=dict(type="path"),
            install=dict(type="bool", default=True),
            te_checksum=dict(type="str"),
        ),
        required_if=[("state", "present", ["start"])],
        supports_check_mode=True,
    )
    module.run_command_environ_update = C_LOCALE
    params = module.params
    if not NAME_RE.match(params["name"]):
        module.fail_json(msg="name %r is not a valid policy module name: a letter, then up to 62 letters, digits, '_' or '-'"
                         % params["name"])
    for option in ("source_types", "allowed_source_types"):
        bad = [t for t in params[option] if not TYPE_RE.match(t)]
        if bad:
            module.fail_json(msg="%s has %s, which is not an SELinux type name (letters, digits, '_')" % (option, bad))
    for comm in params["comm"]:
        if not comm or len(comm) > 15 or "\n" in comm:
            module.fail_json(msg="comm has %r; a process comm is 1 to 15 characters" % comm)
    if params["policy"] and not os.path.isfile(params["policy"]):
        module.fail_json(msg="policy %s does not exist or is not a file" % params["policy"])
    if params["state"] == "present" and params["start"] is None:
        module.fail_json(msg="start is required with state=present: the time from which denials are read, "
                             "e.g. today, boot or '11/26/26 10:00:00' (the whole history of the logs is never read)")
    try:
        check_extra(params["extra_permissions"])
        if params["state"] == "present":
            when_args("start", params["start"])
            if params["end"]:
                when_args("end", params["end"])
            if params["te_checksum"]:
                normal_checksum(params["te_checksum"])
    except PolicyError as err:
        module.fail_json(msg="selinux_audit2allow %s: %s" % (params["name"], err))
    runner = Audit2Allow(module)
    try:
        result = runner.absent() if params["state"] == "absent" else dict(runner.present(), **runner.facts)
    except PolicyError as err:
        result = dict(runner.facts, failed=True, msg="selinux_audit2allow %s: %s" % (params["name"], err), **err.data)
    finally:
        runner.cleanup()
    if result.get("failed"):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
