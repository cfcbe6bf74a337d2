# KUBEHA LAB STAND-IN -- NOT KUBERNETES. See lab/standins/kubeha_standin/__init__.py.
"""kube-scheduler and kube-controller-manager: leader election through the API server."""

from __future__ import annotations

import json
import os
import socket
import time

from .core import http_get, log, sd_notify, write_state
from .kubeconfig import api_server_url


def run_elected(component, opts):
    name = "kube-" + component
    identity = "%s_%d" % (socket.gethostname(), os.getpid())
    master = api_server_url(component, opts)
    retry = opts["leader-elect-retry-period"]
    if not opts["leader-elect"]:
        log("%s: leader election disabled, active" % name)
        write_state(component, {"role": "active", "leader_elect": False, "identity": identity, "master": master})
        sd_notify("READY=1")
        while True:
            time.sleep(3600)
    log("%s: attempting to acquire leader lease kube-system/%s via %s" % (name, name, master))
    sd_notify("READY=1")
    lease, role = None, None
    ttl = max(1, int(opts["leader-elect-lease-duration"]))
    while True:
        try:
            status, body = http_get(
                "%s/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/%s" % (master, name),
                data={"holderIdentity": identity, "leaseDurationSeconds": ttl, "etcdLease": lease}, method="POST",
            )
            data = json.loads(body)
            lease = data.get("etcdLease") if status == 200 else None
            new_role = "leader" if status == 200 else "standby"
            holder = data.get("spec", {}).get("holderIdentity", "")
        except (OSError, ValueError) as err:
            new_role, holder, lease = "standby", "", None
            log("%s: error retrieving lease: %s" % (name, err))
        if new_role != role:
            log("%s: successfully acquired lease kube-system/%s" % (name, name) if new_role == "leader"
                else "%s: lease kube-system/%s is held by %r, standing by" % (name, name, holder))
            role = new_role
        write_state(component, {"role": role, "leader_elect": True, "identity": identity,
                                "holder": holder, "master": master})
        time.sleep(retry)


