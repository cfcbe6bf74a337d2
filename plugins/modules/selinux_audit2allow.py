#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: selinux_audit2allow
short_description: Turn SELinux denials into a reviewed, merged, idempotent local policy module
version_added: 0.4.0
description:
  - The safe form of C(ausearch -c pidof --raw | audit2allow -M name && semodule -i name.pp).
  - Reads SELinux denials (C(AVC) and C(USER_AVC) records) with C(ausearch) from the system's audit logs, an O(audit_log)
    file or O(avc) text, narrowed by O(comm), O(source_types) and O(start); asks C(audit2allow) for the allow rules they need;
    refuses every rule whose source type is not in O(allowed_source_types), and every rule that would weaken SELinux itself
    (class C(security), loading kernel modules or policy, a transition to an unconfined domain, writing the policy's
    files); merges the rules with those of the
    installed module O(name) (new denials add rules, they never drop one); builds the module with C(checkmodule) and
    C(semodule_package) in a private temporary directory and installs it with C(semodule -i).
  - Idempotent by content. The installed module's rules are read back from the policy store (C(semodule --cil --extract));
    when the merged rule set equals them nothing is installed. Rules that the loaded policy already allows are not added.
  - Every tool runs as an argument list, never through a shell.
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
      - An audit log file to read the denials from (raw C(auditd) format). Ignored when O(avc) is set.
      - Default - the system's audit logs as C(ausearch) reads them, rotated ones included.
    type: path
  avc:
    description:
      - "Audit records (raw lines, for example C(type=AVC msg=audit(1462279311.929:10178): avc: denied { read } ...))
        to read instead of the logs."
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
      - Only denials from this time on, as C(ausearch -ts) takes it - a keyword (C(recent), C(boot), C(today),
        C(this-week)...) or a date and time; the tools run in the C locale, whose date format is C(MM/DD/YY)
        (C(11/26/26 10:00:00)). An invalid value fails with C(ausearch)'s message.
    type: str
  allowed_source_types:
    description:
      - The source types rules may be granted to. A denial of any other domain fails the module and shows the rules
        it would have needed; nothing is installed.
    type: list
    elements: str
    default: [keepalived_t, keepalived_unconfined_script_t, haproxy_t]
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
        V(true). RV(rules) are then what would be installed.
    type: bool
    default: true
notes:
  - C(semodule -i) rebuilds and reloads the policy, which takes seconds.
  - A module of the same name made by hand with more than allow rules is not touched; the module fails and asks for another name.
seealso:
  - module: community.general.seport
  - module: ansible.posix.seboolean
  - name: audit2allow(1)
    description: The tool this module drives.
    link: https://man7.org/linux/man-pages/man1/audit2allow.1.html
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Builds the module in a temporary directory (so an invalid rule fails in check mode too) and installs nothing.
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
    te_path: /root/kubeha_haproxy.te
    install: false

- name: From denials collected elsewhere, on a host with SELinux disabled
  kubeha.control_plane.selinux_audit2allow:
    name: kubeha_keepalived
    avc: "{{ lookup('ansible.builtin.file', 'denials/keepalived.log') }}"
    policy: /etc/selinux/targeted/policy/policy.33

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
  description: The module's C(.te) source after the task (empty when absent).
  returned: always
  type: str
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
"""

import os
import re
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
TYPE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
RECORD_RE = re.compile(r"^(?:node=\S+ )?type=[A-Z0-9_]+ msg=audit\(\d+(?:\.\d+)?:\d+\):")
DENIAL_RE = re.compile(r"^(?:node=\S+ )?type=(?:USER_)?AVC ")
SCONTEXT_RE = re.compile(r"\bscontext=([^:\s]+):([^:\s]+):([^:\s]+)")
TE_ALLOW_RE = re.compile(r"^allow\s+(\S+)\s+(\S+):(\S+)\s+(?:\{([^}]*)\}|(\S+?))\s*;$")
CIL_ALLOW_RE = re.compile(r"^\(allow\s+(\S+)\s+(\S+)\s+\((\S+)\s+\(([^()]*)\)\)\)$")
CIL_REQUIRE_RE = re.compile(r"^\((?:typeattributeset|roleattributeset)\s+cil_gen_require\s+\S+\)$")
ALLOWED_ALREADY = "This avc is allowed in the current policy"
CONSTRAINT = "constraint violation"
DEFAULT_ALLOWED = ["keepalived_t", "keepalived_unconfined_script_t", "haproxy_t"]
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

# Rules that would weaken SELinux itself are never installed, whatever the domain.
_POLICY_FILE_TYPES = {"security_t", "selinux_config_t", "policy_config_t", "policy_src_t", "default_context_t",
                      "file_context_t", "semanage_store_t", "semanage_read_lock_t", "semanage_trans_lock_t",
                      "load_policy_exec_t", "setfiles_exec_t", "semanage_exec_t", "auditd_etc_t", "auditd_log_t"}
_WRITE_PERMS = {"write", "append", "create", "unlink", "rename", "setattr", "add_name", "remove_name", "relabelto",
                "relabelfrom", "link"}


def weakening(rule):
    """Why a rule would weaken SELinux itself ('' when it does not)."""
    src, tgt, cls, perm = rule
    if cls == "security":
        return "it controls SELinux itself (class security)"
    if cls in ("capability", "cap_userns") and perm in ("sys_module", "mac_admin", "mac_override"):
        return "it loads kernel modules or overrides MAC"
    if cls == "system" and perm in ("module_load", "module_request", "reload", "disable", "halt", "reboot"):
        return "it loads modules or controls the system"
    if cls == "process" and perm in ("transition", "dyntransition") and "unconfined" in tgt \
            and tgt != "keepalived_unconfined_script_t":
        return "it enters an unconfined domain"
    if cls == "process" and perm in ("setcurrent", "setexec") and tgt == "self":
        return "it lets the domain change its own context"
    if tgt in _POLICY_FILE_TYPES and perm in _WRITE_PERMS:
        return "it changes the policy, its configuration or the audit trail"
    return ""


class PolicyError(Exception):
    """A problem with the input, a tool or the installed module; the message says what to do."""


def check_audit_text(text, source):
    """Raise PolicyError unless every complete non-empty line is a raw audit record.

    A last line without a line break (auditd writing it right now) is not judged."""
    lines = text.split("\n")
    if lines and not text.endswith("\n"):
        lines.pop()
    for number, line in enumerate(lines, 1):
        if line.strip() and not RECORD_RE.match(line):
            raise PolicyError(
                "%s line %d is not a raw audit record (expected 'type=... msg=audit(TIME:SERIAL): ...'): %r"
                % (source, number, line[:120])
            )


def source_type(line):
    match = SCONTEXT_RE.search(line)
    return match.group(3) if match else None


def select_denials(lines, source_types):
    """(the AVC / USER_AVC lines, each once, in order, whose source type is in source_types, how many others)."""
    seen, out, ignored = set(), [], 0
    for line in lines:
        if not DENIAL_RE.match(line) or line in seen:
            continue
        seen.add(line)
        if source_type(line) not in source_types:
            ignored += 1
            continue
        out.append(line)
    return out, ignored


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


class Audit2Allow:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.name = self.params["name"]
        self.allowed = self.params["allowed_source_types"]
        self.source_types = self.params["source_types"] or self.allowed
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
    def audit_input(self):
        """ausearch arguments for the source, after checking it is a readable raw audit log."""
        if self.params["avc"] is not None:
            path, source = self.path("input.log"), "avc"
            with open(path, "w") as fh:
                fh.write(self.params["avc"])
        elif self.params["audit_log"]:
            path = self.params["audit_log"]
            source = "audit_log %s" % path
            if not os.path.isfile(path) or not os.access(path, os.R_OK):
                raise PolicyError("%s does not exist or is not readable (become root, or pass the records in avc)" % source)
        else:
            return []  # the system's logs, as auditd.conf names them, rotated ones included
        with open(path, errors="replace") as fh:
            check_audit_text(fh.read(), source)
        return ["--input", path]

    def denials(self):
        source = self.audit_input()
        ausearch = self.tool("ausearch")
        lines = []
        for comm in self.params["comm"] or [None]:
            argv = [ausearch] + source + ["--message", "AVC,USER_AVC", "--raw"]
            if comm:
                argv += ["--comm", comm]
            if self.params["start"]:
                argv += ["--start"] + self.params["start"].split()
            rc, out, err = self.run(argv, "ausearch", ok=(0, 1))
            if rc == 1:
                # No match: rc 1 and nothing else said (--raw drops the "<no matches>" line).
                said = (err.replace("<no matches>", "") + out).strip()
                if said:
                    raise PolicyError("ausearch failed (rc=1) running %s:\n%s" % (" ".join(argv), said))
                continue
            lines += out.splitlines()
        return select_denials(lines, self.source_types)

    def needed_rules(self, denials):
        path = self.path("denials.log")
        with open(path, "w") as fh:
            fh.write("\n".join(denials) + "\n")
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
        result = dict(changed=installed, installed=installed, te="")
        if installed:
            try:
                before = render_te(self.name, self.installed_rules())
            except PolicyError:
                before = "(module %s, not made by selinux_audit2allow)\n" % self.name
            result["diff"] = dict(before=before, after="", before_header=self.name, after_header="(removed)")
            if not self.module.check_mode:
                self.run([self.tool("semodule"), "-r", self.name], "semodule -r")
        return result

    def present(self):
        for tool in ("ausearch", "audit2allow", "checkmodule", "semodule_package", "semodule"):
            self.tool(tool)
        installed = self.installed()
        current = self.installed_rules() if installed else set()
        denials, ignored = self.denials()
        found, hints = self.needed_rules(denials) if denials else (set(), [])
        refused = sorted(r for r in found if r[0] not in self.allowed)
        if refused:
            raise PolicyError(
                "denials of domains outside allowed_source_types (%s) would need these rules; nothing was installed. "
                "Fix their cause, or add the domain to allowed_source_types after review:\n%s"
                % (", ".join(self.allowed), "\n".join(rule_lines(refused)))
            )
        weakened = sorted((r, weakening(r)) for r in found if weakening(r))
        if weakened:
            raise PolicyError(
                "these rules would weaken SELinux itself and are never installed; nothing was installed. "
                "Find out why the domain asks for this:\n%s"
                % "\n".join("%s  (%s)" % (rule_lines([r])[0], why) for r, why in weakened)
            )
        merged = current | found
        new = found - current
        te_before = render_te(self.name, current) if installed else ""
        te_after = render_te(self.name, merged)
        result = dict(changed=False, installed=installed, denials=len(denials), ignored_denials=ignored,
                      rules=rule_lines(merged), new_rules=rule_lines(new), te=te_after, hints=hints)
        if not denials:
            result["msg"] = ("no denials of %s found (after narrowing by comm and start; %d of other domains left aside): "
                             "nothing to change" % (", ".join(self.source_types), ignored))
        elif not new:
            result["msg"] = ("module %s holds every rule the %d denials need, or the loaded policy allows them"
                             % (self.name, len(denials)))
        if merged and (new or not installed):
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
                result["msg"] = "module %s built with %d new rule(s), not installed (install=false)" % (
                    self.name, len(rule_lines(new)))
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
            allowed_source_types=dict(type="list", elements="str", default=DEFAULT_ALLOWED),
            policy=dict(type="path"),
            te_path=dict(type="path"),
            install=dict(type="bool", default=True),
        ),
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
    runner = Audit2Allow(module)
    try:
        result = runner.absent() if params["state"] == "absent" else runner.present()
    except PolicyError as err:
        result = dict(failed=True, msg="selinux_audit2allow %s: %s" % (params["name"], err))
    finally:
        runner.cleanup()
    if result.get("failed"):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
