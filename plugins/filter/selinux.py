# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter that tells which ports still need an SELinux label.

The documentation lives beside this file in ``selinux_ports_to_label.yml``.
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

_LINE = re.compile(r"^(\S+)\s+(tcp|udp|sctp|dccp)\s+(\S.*)$")
_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


def parse_semanage_ports(text):
    """``semanage port --list`` output as a list of (type, proto, low, high)."""
    entries = []
    for number, line in enumerate(to_text(text).splitlines(), 1):
        match = _LINE.match(line.strip())
        if not match:
            continue  # the header and blank lines
        setype, proto, ranges = match.groups()
        for item in ranges.split(","):
            item = item.strip()
            rng = _RANGE.match(item)
            if not rng:
                raise AnsibleFilterError(
                    "selinux_ports_to_label: line %d of the semanage port list has %r, not a port or a range: %r"
                    % (number, item, line))
            low = int(rng.group(1))
            entries.append((setype, proto, low, int(rng.group(2) or low)))
    return entries


def port_type(entries, port, proto="tcp"):
    """The type of a port: the narrowest matching entry (a port's own entry wins over a range), or None."""
    best = None
    for setype, entry_proto, low, high in entries:
        if entry_proto == proto and low <= port <= high:
            if best is None or high - low < best[1]:
                best = (setype, high - low)
    return best[0] if best else None


def _ports(filter_name, ports):
    if isinstance(ports, (str, bytes, int)) or not hasattr(ports, "__iter__"):
        ports = [ports]
    wanted = set()
    for port in ports:
        text = to_text(port)
        if not text.isdigit() or not 1 <= int(text) <= 65535:
            raise AnsibleFilterError("%s: %r is not a port (an integer from 1 to 65535)" % (filter_name, port))
        wanted.add(int(text))
    return sorted(wanted)


def selinux_ports_to_label(ports, semanage_list, usable_types, proto="tcp"):
    """The ports (sorted, each once) whose current type is not one of ``usable_types``."""
    if isinstance(usable_types, (str, bytes)) or not hasattr(usable_types, "__iter__"):
        raise AnsibleFilterError("selinux_ports_to_label: usable_types must be a list of SELinux types, got %r" % (usable_types,))
    entries = parse_semanage_ports(semanage_list)
    usable = set(usable_types)
    return [port for port in _ports("selinux_ports_to_label", ports) if port_type(entries, port, proto) not in usable]


def selinux_port_types(ports, semanage_list, proto="tcp"):
    """``{port: type}`` of the ports (None for a port no entry covers)."""
    entries = parse_semanage_ports(semanage_list)
    return dict((port, port_type(entries, port, proto)) for port in _ports("selinux_port_types", ports))


class FilterModule:
    """kubeha.control_plane SELinux filters."""

    def filters(self):
        return {"selinux_ports_to_label": selinux_ports_to_label, "selinux_port_types": selinux_port_types}
