# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter that judges the load balancers' view of the apiservers for a rolling restart.

The documentation lives beside this file in ``apiserver_roll_view.yml``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError


def _read(filter_name, result):
    if not isinstance(result, Mapping) or "item" not in result:
        raise AnsibleFilterError("%s: expected the results of a loop over the load balancers, got %r" % (filter_name, result))
    if result.get("unreachable"):
        return None
    try:
        data = json.loads(result.get("stdout") or "")
    except ValueError:
        raise AnsibleFilterError("%s: the state read on %s is not JSON: %r" % (filter_name, result["item"], (result.get("stdout") or "")[:200])) from None
    if not isinstance(data, Mapping) or not isinstance(data.get("servers"), Mapping):
        raise AnsibleFilterError("%s: the state read on %s has no servers: %r" % (filter_name, result["item"], data))
    return data


def apiserver_roll_view(results, masters, host=None):
    """Per load balancer: which inventory apiservers its backend has, which it lacks, which
    servers it has that the inventory does not, which are not exactly UP, which an earlier
    roll left drained (their mark is there), and which are in maintenance by someone else."""
    if not isinstance(results, list):
        raise AnsibleFilterError("apiserver_roll_view: expected a list of loop results, got %s" % type(results).__name__)
    masters = list(masters or [])
    view = {}
    for result in results:
        data = _read("apiserver_roll_view", result)
        lb = result["item"]
        if data is None:
            view[lb] = {"reachable": False}
            continue
        servers = data["servers"]
        drained = [d for d in data.get("drained") or [] if isinstance(d, str)]

        def status(name):
            return str((servers.get(name) or {}).get("status", ""))

        not_up = {s: status(s) for s in servers if s in masters and s != host and status(s) != "UP"}
        # The roll drains a server (DRAIN) with its health checks off (0.5.0 put it in MAINT);
        # a stopped one may show DOWN. A marked server that is not UP is the roll's to put back;
        # a mark on an UP server (or on one no longer in the backend) is stale.
        left_drained = [s for s in drained if s in masters and s in servers and not status(s).startswith("UP")]
        view[lb] = {
            "reachable": True,
            "servers": dict(servers),
            "missing": [m for m in masters if m not in servers],
            "extra": [s for s in servers if s not in masters],
            # Only UP counts as up: "UP 1/2" is going down, "DRAIN", "MAINT", "NOLB" take no new connections.
            "not_up": not_up,
            # Not up here for another reason than this load balancer's mark (put back before the turns).
            "down": [s for s in not_up if s not in left_drained],
            "left_drained": left_drained,
            "stale_marks": [s for s in drained if s not in masters or s not in servers or status(s).startswith("UP")],
            "maintenance": [s for s in servers if status(s).startswith(("MAINT", "DRAIN")) and s not in drained],
            # Every marked master there (put back with its health checks on, even when it shows UP).
            "marked": [s for s in drained if s in masters and s in servers],
        }
    return view


class FilterModule(object):
    def filters(self):
        return {"apiserver_roll_view": apiserver_roll_view}
