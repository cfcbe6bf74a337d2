"""The collection never switches SELinux off (issue 9): no setenforce, no permissive
domain, no 'selinux: disabled', no ansible.posix.selinux state change, in anything
that runs on hosts (roles, playbooks, modules)."""

from __future__ import annotations

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FORBIDDEN = [
    (re.compile(r"\bsetenforce\b"), "setenforce"),
    (re.compile(r"semanage\W+permissive|typepermissive|^\s*permissive\s+\w+;", re.M), "a permissive domain"),
    (re.compile(r"\bSELINUX=(disabled|permissive)\b"), "SELINUX= in the config"),
    (re.compile(r"^\s*(-\s+)?(ansible\.posix\.)?selinux:", re.M), "the selinux module (the policy's state)"),
    (re.compile(r"selinux_permissive"), "community.general.selinux_permissive"),
    (re.compile(r">\s*/sys/fs/selinux/|dest:\s*/sys/fs/selinux/|tee\s+/sys/fs/selinux/"), "a write to selinuxfs"),
]


def shipped_files():
    for top in ("roles", "playbooks", "plugins"):
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, top)):
            dirnames[:] = [d for d in dirnames if d not in ("collections", "__pycache__")]
            for name in filenames:
                if name.endswith((".yml", ".yaml", ".j2", ".py", ".sh")):
                    yield os.path.join(dirpath, name)


def strip_comments(text, path):
    if path.endswith(".py"):
        return text  # DOCUMENTATION may *say* the module never does it; checked by the patterns' shape
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def test_nothing_that_runs_on_hosts_switches_selinux_off():
    files = list(shipped_files())
    assert any(p.endswith("selinux.yml") for p in files)  # the walk sees the roles' SELinux tasks
    found = []
    for path in files:
        with open(path) as fh:
            text = strip_comments(fh.read(), path)
        for pattern, what in FORBIDDEN:
            if pattern.search(text):
                found.append("%s: %s" % (os.path.relpath(path, ROOT), what))
    assert not found, found


def test_the_patterns_catch_what_they_should():
    samples = ["setenforce 0", "semanage permissive -a haproxy_t", "permissive haproxy_t;",
               "SELINUX=disabled", "  ansible.posix.selinux:", "- selinux:",
               "ansible.posix.selinux: {state: disabled}", "community.general.selinux_permissive:",
               "echo 0 > /sys/fs/selinux/enforce"]
    for sample in samples:
        assert any(p.search(sample) for p, _what in FORBIDDEN), sample
