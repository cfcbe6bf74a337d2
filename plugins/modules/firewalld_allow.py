#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: firewalld_allow
short_description: Keep a named set of firewalld rich rules, permanent and applied at once
version_added: 0.4.0
description:
  - Makes the rich rules of the set O(name) in a firewalld zone exactly O(rules). It adds the missing ones, and removes
    the rules this set added earlier that are no longer wanted (for example the rule of a node that left the
    inventory, or of a port that changed).
  - The rules a set adds are recorded on the host (O(state_dir)/O(name).json). Only recorded rules are ever removed;
    rules made by hand, or by other tools, are never touched, even when they open the same port, and even when the
    set wants the very same rule (it is then present already, so the set does not add it and does not own it).
  - Every change is made twice with C(firewall-cmd), to the permanent configuration and to the running firewall
    (C(--add-rich-rule) / C(--remove-rich-rule) without C(--reload)), so it survives a reboot and takes effect at
    once without dropping established connections. All additions (and all removals) go into one call.
  - The rules are compared with those C(firewall-cmd --list-rich-rules) prints, so O(rules) must be written in
    firewalld's own spelling (as P(kubeha.control_plane.firewalld_rich_rules#filter) writes them); a run that changes
    nothing costs a few C(firewall-cmd) calls, not one per rule.
  - The zone is O(zone) when set; else the zone of O(interface), asked of firewalld at each run
    (C(firewall-cmd --get-zone-of-interface) and C(firewall-cmd --permanent --get-zone-of-interface)), so that the
    rules are in the zone firewalld applies to the traffic of that interface; else the default zone.
  - Several sets may want the same rule in the same zone (for example the VRRP multicast rule of two interfaces in
    one zone). Each of them records it, and it is removed only when no set recorded on the host owns it any more.
  - Needs a running firewalld. Runs C(firewall-cmd) with argument lists, never through a shell.
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
    details: The set's rules in the permanent configuration before and after.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
options:
  name:
    description:
      - The name of the set (letters, digits, C(-), C(_)); one record per name on the host.
    type: str
    required: true
  rules:
    description:
      - The rich rules that must be present, for example from P(kubeha.control_plane.firewalld_rich_rules#filter).
      - Empty removes the rules the set added.
    type: list
    elements: str
    required: true
  zone:
    description:
      - The firewalld zone. Empty means the zone of O(interface), else the default zone
        (C(firewall-cmd --get-default-zone)).
      - When the zone of a set changes, its rules are removed from the old zone.
    type: str
    default: ''
  interface:
    description:
      - Used when O(zone) is empty. The interface whose traffic the rules are for (for example the one that carries
        the host's cluster address, or a VIP's); the rules go into the zone firewalld binds it to.
      - The zone is read from the running firewall and from the permanent configuration (which includes the zone
        NetworkManager gives the interface's connection). An interface bound to no zone is in the default zone. When
        the two disagree (the interface would change zone at the next reload or reboot), the module fails and names
        both; make them agree, or set O(zone).
      - Empty means the default zone.
    type: str
    default: ''
    version_added: 0.5.0
  state_dir:
    description: Where the sets are recorded on the host.
    type: path
    default: /var/lib/kubeha/firewalld
seealso:
  - module: ansible.posix.firewalld
  - plugin: kubeha.control_plane.firewalld_rich_rules
    plugin_type: filter
notes:
  - The zone of O(interface) is read at each run; when firewalld binds the interface to another zone, the set's rules
    move there (they are removed from the zone recorded before).
  - A rule that is in the permanent configuration but not in the running firewall (or the other way round, after
    C(firewall-cmd --reload) or a runtime-only change) is added where it is missing.
  - A rule that was already present (made by hand) when the set first wanted it is not recorded as the set's, and
    stays when the set no longer wants it. Without its record (O(state_dir) removed) a set owns nothing, and its old
    rules stay until removed by hand.
  - The diff shows the set's rules in the permanent configuration. A rule added to the running firewall only (it
    was missing there, e.g. after a runtime change) makes the task changed with an unchanged diff.
"""

EXAMPLES = r"""
- name: The apiserver port only from the load balancers and nodes
  kubeha.control_plane.firewalld_allow:
    name: kube-apiserver
    rules: "{{ (groups['kube_lbs'] + groups['kube_nodes']) | unique
               | kubeha.control_plane.firewalld_rich_rules(hostvars, [6443]) }}"

- name: VRRP only from the other load balancers
  kubeha.control_plane.firewalld_allow:
    name: vrrp
    rules: "{{ groups['kube_lbs'] | kubeha.control_plane.firewalld_rich_rules(hostvars, [], 'vrrp', [4], inventory_hostname) }}"
    zone: internal

- name: The etcd ports in the zone of the interface that carries the cluster's traffic
  kubeha.control_plane.firewalld_allow:
    name: kubeha-etcd
    rules: "{{ groups['etcd'] | kubeha.control_plane.firewalld_rich_rules(hostvars, [2379, 2380]) }}"
    interface: eth1
"""

RETURN = r"""
zone:
  description: The zone the rules are in.
  returned: success
  type: str
  sample: public
zone_from:
  description:
    - Where the zone came from. V(zone) is O(zone). V(interface) is the zone firewalld binds O(interface) to.
      V(default) is the default zone (O(zone) and O(interface) empty, or O(interface) bound to no zone).
  returned: success
  type: str
  sample: interface
  version_added: 0.5.0
added:
  description: Rules added (or, in check mode, that would be added), to the permanent configuration, the running firewall or both.
  returned: success
  type: list
  elements: str
  sample: ['rule family="ipv4" source address="10.0.0.21" port port="6443" protocol="tcp" accept']
removed:
  description: Rules of the set removed (or that would be removed).
  returned: success
  type: list
  elements: str
  sample: ['rule family="ipv4" source address="10.0.0.22" port port="6443" protocol="tcp" accept']
kept:
  description:
    - Rules the set owned and no longer wants where they are (not wanted any more, or in the zone the set left) that
      stay, because another set recorded on the host owns them in that zone too. They leave this set's record.
  returned: success
  type: list
  elements: str
  version_added: 0.5.0
rules:
  description: The set's rules after the run (in check mode, as they would be).
  returned: success
  type: list
  elements: str
"""

import json
import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native


class FirewallCmd:
    """firewall-cmd for one zone, permanent (``permanent=True``) or running."""

    def __init__(self, module, binary, zone, fail):
        self.module, self.binary, self.zone, self.fail = module, binary, zone, fail

    def run(self, args, permanent):
        argv = [self.binary] + (["--permanent"] if permanent else []) + ["--zone=%s" % self.zone] + args
        rc, out, err = self.module.run_command(argv)
        if rc != 0:
            self.fail("%s failed (rc=%d): %s" % (" ".join(argv[:4]) + (" ..." if len(argv) > 4 else ""), rc, (err or out).strip()))
        return rc, out

    def listed(self, permanent):
        return [line.strip() for line in self.run(["--list-rich-rules"], permanent)[1].splitlines() if line.strip()]


# An interface name as the kernel takes it (dev_valid_name: 1 to 15 characters, no '/', ':' or
# white space, not '.' or '..').
INTERFACE = re.compile(r"^(?!\.\.?$)[^/:\s]{1,15}$")


def read_record(module, path):
    if not os.path.exists(path):
        return {"zone": None, "rules": []}
    try:
        with open(path) as fh:
            record = json.load(fh)
        return {"zone": record.get("zone"), "rules": [str(r) for r in record.get("rules", [])]}
    except (OSError, ValueError, AttributeError) as exc:
        module.fail_json(msg="cannot read the record of the set %s, %s: %s (remove it to start that set afresh; its rules "
                             "then stay until removed by hand)" % (os.path.basename(path)[:-5], path, to_native(exc)))


def owned_by_others(module, state_dir, name):
    """{zone: set of rules} that the other sets recorded in ``state_dir`` own."""
    owned = {}
    if not os.path.isdir(state_dir):
        return owned
    for entry in sorted(os.listdir(state_dir)):
        if entry.endswith(".json") and entry != name + ".json":
            record = read_record(module, os.path.join(state_dir, entry))
            if record["zone"]:
                owned.setdefault(record["zone"], set()).update(record["rules"])
    return owned


def zone_of_interface(module, binary, interface, permanent):
    """The zone firewalld binds ``interface`` to (``permanent``: in the permanent configuration, where
    firewall-cmd asks NetworkManager first), or None when it is bound to no zone."""
    argv = [binary] + (["--permanent"] if permanent else []) + ["--get-zone-of-interface=%s" % interface]
    rc, out, err = module.run_command(argv)
    if rc == 0 and out.strip():
        return out.strip()
    # firewall-cmd's answer for an interface in no zone: "no zone", exit code 2.
    if rc == 2 and "no zone" in out + err:
        return None
    module.fail_json(msg="firewall-cmd %s failed (rc=%d): %s" % (" ".join(argv[1:]), rc, (err or out).strip()),
                     rc=rc, stdout=out, stderr=err)


def resolve_zone(module, binary):
    """``(zone, zone_from)``: O(zone), else the zone of O(interface), else the default zone."""
    zone = module.params["zone"].strip()
    if zone:
        return zone, "zone"
    interface = module.params["interface"].strip()
    running = permanent = None
    if interface:
        running = zone_of_interface(module, binary, interface, False)
        permanent = zone_of_interface(module, binary, interface, True)
        if running and running == permanent:
            return running, "interface"
    rc, out, err = module.run_command([binary, "--get-default-zone"])
    if rc != 0 or not out.strip():
        module.fail_json(msg="firewall-cmd --get-default-zone failed: %s" % (err or out).strip(), rc=rc, stdout=out, stderr=err)
    default = out.strip()
    # An interface bound to no zone is in the default zone.
    if (running or default) != (permanent or default):
        def said(zone):
            return "zone " + zone if zone else "no zone (so in the default zone, %s)" % default
        module.fail_json(msg="interface %s is in %s in the running firewall (firewall-cmd --get-zone-of-interface=%s) "
                             "but in %s in the permanent configuration (firewall-cmd --permanent "
                             "--get-zone-of-interface=%s): it would change zone at the next reload or reboot. Bind it to one "
                             "zone in both (firewall-cmd --permanent --zone=ZONE --change-interface=%s, or nmcli connection "
                             "modify CONNECTION connection.zone ZONE for an interface of NetworkManager; then firewall-cmd "
                             "--reload), or name the zone explicitly"
                             % (interface, said(running), interface, said(permanent), interface, interface),
                         interface=interface, running_zone=running, permanent_zone=permanent, default_zone=default)
    if running or permanent:
        return running or permanent, "interface"
    return default, "default"


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            rules=dict(type="list", elements="str", required=True),
            zone=dict(type="str", default=""),
            interface=dict(type="str", default=""),
            state_dir=dict(type="path", default="/var/lib/kubeha/firewalld"),
        ),
        supports_check_mode=True,
    )
    module.run_command_environ_update = dict(LANG="C", LC_ALL="C", LC_MESSAGES="C")
    name = module.params["name"]
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_-]*$", name):
        module.fail_json(msg="name %r: use letters, digits, '-' and '_' only" % name)
    rules = list(dict.fromkeys(r.strip() for r in module.params["rules"]))
    for rule in rules:
        if not rule.startswith("rule ") or "\n" in rule:
            module.fail_json(msg="%r is not a firewalld rich rule (it must start with 'rule ')" % rule)
    interface = module.params["interface"].strip()
    if interface and not module.params["zone"].strip() and not INTERFACE.match(interface):
        module.fail_json(msg="interface %r is not an interface name (1 to 15 characters, no '/', ':' or white space)" % interface)

    binary = module.get_bin_path("firewall-cmd")
    if not binary:
        module.fail_json(msg="firewall-cmd was not found: install firewalld (package firewalld on EL, Debian and Ubuntu)")
    rc, out, err = module.run_command([binary, "--state"])
    if rc != 0:
        module.fail_json(msg="firewalld is not running (firewall-cmd --state: %s); start it, or do not manage it"
                         % (out or err).strip())
    zone, zone_from = resolve_zone(module, binary)
    record_path = os.path.join(module.params["state_dir"], name + ".json")
    record = read_record(module, record_path)
    # A rule another set owns in the same zone stays while that set wants it.
    others = owned_by_others(module, module.params["state_dir"], name)

    added, removed, kept, done = [], [], [], []
    result = dict(changed=False, zone=zone, zone_from=zone_from, added=added, removed=removed, kept=kept)

    def fail(msg):
        module.fail_json(msg=msg + "; already done: %s" % ("; ".join(done) or "nothing"), **result)

    # The set's rules left in another zone (its zone changed) go first.
    if record["zone"] and record["zone"] != zone and record["rules"]:
        old = FirewallCmd(module, binary, record["zone"], fail)
        shared = others.get(record["zone"], set())
        for permanent in (True, False):
            present = old.listed(permanent)
            gone = [r for r in record["rules"] if r in present and r not in shared]
            kept += [r for r in record["rules"] if r in present and r in shared and r not in kept]
            if gone and not module.check_mode:
                old.run(["--remove-rich-rule=%s" % r for r in gone], permanent)
                done.append("removed %d rule(s) from zone %s (%s)" % (len(gone), record["zone"], "permanent" if permanent else "running"))
            removed += [r for r in gone if r not in removed]
        record = {"zone": zone, "rules": []}

    fw = FirewallCmd(module, binary, zone, fail)
    shared = others.get(zone, set())
    before = [r for r in fw.listed(True) if r in record["rules"] or r in rules]
    running_before = fw.listed(False)
    for permanent in (True, False):
        listed = before if permanent else running_before
        stale = [r for r in record["rules"] if r not in rules and r in listed and r not in shared]
        kept += [r for r in record["rules"] if r not in rules and r in listed and r in shared and r not in kept]
        missing = [r for r in rules if r not in listed]
        where = "permanent" if permanent else "running"
        if stale and not module.check_mode:
            fw.run(["--remove-rich-rule=%s" % r for r in stale], permanent)
            done.append("removed %d rule(s) (%s)" % (len(stale), where))
        if missing and not module.check_mode:
            fw.run(["--add-rich-rule=%s" % r for r in missing], permanent)
            done.append("added %d rule(s) (%s)" % (len(missing), where))
        removed += [r for r in stale if r not in removed]
        added += [r for r in missing if r not in added]

    # The set owns what it recorded before and still wants, what it added to the permanent
    # configuration and the running firewall now, and what another set owns in this zone too; a
    # wanted rule that was in either already and that no set owns (made by hand) stays unowned.
    owned = [r for r in rules if r in record["rules"] or (r not in before and r not in running_before) or r in shared]
    new_record = {"zone": zone, "rules": owned}
    on_disk = read_record(module, record_path)
    record_changed = (on_disk["zone"], sorted(on_disk["rules"])) != (zone, sorted(owned))
    if record_changed and not module.check_mode:
        try:
            os.makedirs(module.params["state_dir"], mode=0o755, exist_ok=True)
            tmp = record_path + ".tmp"
            with open(tmp, "w") as fh:
                json.dump(new_record, fh, indent=1, sort_keys=True)
                fh.write("\n")
            module.atomic_move(tmp, record_path)
        except OSError as exc:
            fail("cannot record the set in %s: %s" % (record_path, to_native(exc)))
    after = [r for r in before if r not in removed] + [r for r in added if r not in before]
    result.update(changed=bool(added or removed or record_changed), rules=[r for r in after if r in rules] if module.check_mode
                  else [r for r in fw.listed(True) if r in rules])
    if module._diff:
        result["diff"] = dict(before="".join(r + "\n" for r in before), after="".join(r + "\n" for r in after),
                              before_header="firewalld zone %s, set %s" % (zone, name),
                              after_header="firewalld zone %s, set %s" % (zone, name))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
