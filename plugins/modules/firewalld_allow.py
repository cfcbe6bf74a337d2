#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: firewalld_allow
short_description: Keep a set of firewalld rich rules exactly, permanent and applied at once
version_added: 0.4.0
description:
  - Makes the firewalld rich rules of a zone that this caller owns (those matching O(owned)) exactly O(rules).
    It adds the missing ones and removes owned ones that are no longer wanted, for example the rule of a node
    that left the inventory.
  - Every change is made twice with C(firewall-cmd), to the permanent configuration and to the running
    firewall (C(--add-rich-rule) / C(--remove-rich-rule) without C(--reload)), so it survives a reboot and takes
    effect at once without dropping established connections.
  - The rules are compared with those C(firewall-cmd --list-rich-rules) prints, so O(rules) must be written in
    firewalld's own spelling (as P(kubeha.control_plane.firewalld_rich_rules#filter) writes them); each run then costs
    a few C(firewall-cmd) calls, not one per rule. Rules that do not match O(owned) are never touched.
  - Needs a running firewalld; the roles call it only when firewalld runs (or when they are told to manage it,
    and then fail when it does not run).
  - Runs C(firewall-cmd) with argument lists, never through a shell.
author:
  - kubeha.control_plane contributors (@kubeha)
requirements:
  - firewalld (C(firewall-cmd)) on the host, running.
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Check mode reads the rules and reports what would be added and removed.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: The owned rules of the permanent configuration before and after.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
options:
  rules:
    description:
      - The rich rules that must be present, for example from P(kubeha.control_plane.firewalld_rich_rules#filter).
      - Each must match one of O(owned), so that a rule the module adds is one it may later remove.
    type: list
    elements: str
    required: true
  owned:
    description:
      - Python regular expressions (matched against the whole rule as C(firewall-cmd --list-rich-rules) prints it).
        A rule of the zone that matches one of them and is not in O(rules) is removed.
      - Make them narrow (the port and protocol of the service, C(accept)), so that rules of other services and
        rules made by hand are kept.
    type: list
    elements: str
    required: true
  zone:
    description:
      - The firewalld zone. Empty means the default zone (C(firewall-cmd --get-default-zone)).
    type: str
    default: ''
seealso:
  - module: ansible.posix.firewalld
  - plugin: kubeha.control_plane.firewalld_rich_rules
    plugin_type: filter
notes:
  - A rule that is in the permanent configuration but not in the running firewall (or the other way round,
    after C(firewall-cmd --reload) or a runtime-only change) is added where it is missing.
"""

EXAMPLES = r"""
- name: The apiserver port only from the load balancers and nodes
  kubeha.control_plane.firewalld_allow:
    rules: "{{ (groups['kube_lbs'] + groups['kube_nodes']) | unique
               | kubeha.control_plane.firewalld_rich_rules(hostvars, [6443]) }}"
    owned:
      - '^rule family="ipv[46]" source address="[^"]+" port port="6443" protocol="tcp" accept$'

- name: VRRP only from the other load balancers
  kubeha.control_plane.firewalld_allow:
    rules: "{{ groups['kube_lbs'] | kubeha.control_plane.firewalld_rich_rules(hostvars, [], 'vrrp', [4], inventory_hostname) }}"
    owned: ['^rule family="ipv[46]" source address="[^"]+" protocol value="vrrp" accept$']
    zone: internal
"""

RETURN = r"""
zone:
  description: The zone the rules are in.
  returned: success
  type: str
  sample: public
added:
  description: Rules added (or, in check mode, that would be added), to the permanent configuration, the running firewall or both.
  returned: success
  type: list
  elements: str
  sample: ['rule family="ipv4" source address="10.0.0.21" port port="6443" protocol="tcp" accept']
removed:
  description: Owned rules removed (or that would be removed), as they were listed.
  returned: success
  type: list
  elements: str
  sample: ['rule family="ipv4" source address="10.0.0.22" port port="6443" protocol="tcp" accept']
rules:
  description: The owned rules of the permanent configuration after the run (in check mode, as they would be).
  returned: success
  type: list
  elements: str
"""

import re

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native


class FirewallCmd:
    """firewall-cmd for one zone, permanent (``permanent=True``) or running."""

    def __init__(self, module, binary, zone):
        self.module, self.binary, self.zone = module, binary, zone

    def run(self, args, permanent):
        argv = [self.binary] + (["--permanent"] if permanent else []) + ["--zone=%s" % self.zone] + args
        rc, out, err = self.module.run_command(argv, environ_update={"LC_ALL": "C"})
        if rc != 0:
            self.module.fail_json(msg="%s failed (rc=%d): %s" % (" ".join(argv), rc, (err or out).strip()),
                                  rc=rc, stdout=out, stderr=err)
        return rc, out

    def listed(self, permanent):
        return [line.strip() for line in self.run(["--list-rich-rules"], permanent)[1].splitlines() if line.strip()]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            rules=dict(type="list", elements="str", required=True),
            owned=dict(type="list", elements="str", required=True),
            zone=dict(type="str", default=""),
        ),
        supports_check_mode=True,
    )
    rules = [r.strip() for r in module.params["rules"]]
    patterns = []
    for text in module.params["owned"]:
        try:
            patterns.append(re.compile(text))
        except re.error as exc:
            module.fail_json(msg="owned: %r is not a valid regular expression: %s" % (text, to_native(exc)))
    if not patterns:
        module.fail_json(msg="owned is empty: give the patterns of the rules this task owns")

    def owned(rule):
        return any(p.fullmatch(rule) for p in patterns)

    foreign = [r for r in rules if not owned(r)]
    if foreign:
        module.fail_json(msg="these rules match none of the owned patterns %s, so they could never be removed again: %s"
                         % (module.params["owned"], "; ".join(foreign)))
    for rule in rules:
        if not rule.startswith("rule ") or "\n" in rule:
            module.fail_json(msg="%r is not a firewalld rich rule (it must start with 'rule ')" % rule)

    binary = module.get_bin_path("firewall-cmd")
    if not binary:
        module.fail_json(msg="firewall-cmd was not found: install firewalld (package firewalld on EL, Debian and Ubuntu)")
    rc, out, err = module.run_command([binary, "--state"], environ_update={"LC_ALL": "C"})
    if rc != 0:
        module.fail_json(msg="firewalld is not running (firewall-cmd --state: %s); start it, or do not manage it"
                         % (out or err).strip())
    zone = module.params["zone"].strip()
    if not zone:
        rc, out, err = module.run_command([binary, "--get-default-zone"], environ_update={"LC_ALL": "C"})
        if rc != 0 or not out.strip():
            module.fail_json(msg="firewall-cmd --get-default-zone failed: %s" % (err or out).strip())
        zone = out.strip()
    fw = FirewallCmd(module, binary, zone)

    added, removed = [], []
    before = [r for r in fw.listed(True) if owned(r)]
    for permanent in (True, False):
        current = before if permanent else [r for r in fw.listed(False) if owned(r)]
        # Compared with the rules as firewalld lists them (the spelling the filter
        # writes): a few firewall-cmd runs per task, not one per rule.
        stale = [r for r in current if r not in rules]
        missing = [r for r in dict.fromkeys(rules) if r not in current]
        if stale and not module.check_mode:
            fw.run(["--remove-rich-rule=%s" % r for r in stale], permanent)
        if missing and not module.check_mode:
            fw.run(["--add-rich-rule=%s" % r for r in missing], permanent)
        removed += [r for r in stale if r not in removed]
        added += [r for r in missing if r not in added]
    if module.check_mode:
        after = [r for r in before if r not in removed] + [r for r in added if r not in before]
    else:
        after = [r for r in fw.listed(True) if owned(r)]
    result = dict(changed=bool(added or removed), zone=zone, added=added, removed=removed, rules=after)
    if module._diff:
        result["diff"] = dict(before="\n".join(before) + ("\n" if before else ""), after="\n".join(after) + ("\n" if after else ""),
                              before_header="firewalld zone %s (owned rich rules)" % zone,
                              after_header="firewalld zone %s (owned rich rules)" % zone)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
