# KUBEHA LAB STAND-IN -- NOT KUBERNETES. See lab/standins/kubeha_standin/__init__.py.
"""kube-scheduler and kube-controller-manager: leader election through the API server,
as client-go's leaderelection package does it
(k8s.io/client-go/tools/leaderelection, LeaderElector.tryAcquireOrRenew):

- the lock is a Lease in kube-system (coordination.k8s.io/v1: holderIdentity,
  leaseDurationSeconds, acquireTime, renewTime, leaseTransitions), or before
  Kubernetes 1.17 the annotation control-plane.alpha.kubernetes.io/leader of an
  Endpoints object of that name (1.17-1.19: both, "endpointsleases"; leases from 1.20,
  the default of --leader-elect-resource-lock);
- a candidate takes a lock whose holder it has not seen renew for leaseDuration (by
  its own clock: the time it last saw the record change), with an update that carries
  the record's resourceVersion, so two candidates never both win;
- the leader renews every retry period; if it cannot renew within renewDeadline it
  logs "leaderelection lost" and exits with status 1 (the unit or the kubelet starts
  it again, as a standby);
- the record stays in the API after its holder died: a leader is only a leader while
  renewTime + leaseDurationSeconds lies in the future.
The identity is <hostname>_<uuid>, as the real components make it.
"""

from __future__ import annotations

import json
import socket
import sys
import time
import uuid

from .core import go_strerror, log, sd_notify, write_state
from .kubeconfig import ClientError, component_client
from .store import now_rfc3339

LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"


def default_lock(version):
    if version < (1, 17, 0):
        return "endpoints"
    return "endpointsleases" if version < (1, 20, 0) else "leases"


def _parse_time(text):
    if not text:
        return 0.0
    base, dummy, frac = text.rstrip("Z").partition(".")
    return time.mktime(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) - time.timezone + (float("0." + frac) if frac else 0.0)


class Lock:
    """Get and update the leader record of one lock object."""

    def __init__(self, client, kind, name):
        self.client, self.kind, self.name = client, kind, name
        if kind == "leases":
            self.path = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"
        else:
            self.path = "/api/v1/namespaces/kube-system/endpoints"
        self.obj = None

    def _fail(self, status, body, what):
        message = body.get("message") if isinstance(body, dict) else str(body)
        raise ClientError("%s: %s" % (what, message or "HTTP %d" % status))

    def get(self):
        """The record (dict in LeaderElectionRecord form) or None when the object does not exist."""
        status, body, _h = self.client.get("%s/%s" % (self.path, self.name))
        if status == 404:
            self.obj = None
            return None
        if status != 200:
            self._fail(status, body, "error retrieving resource lock kube-system/%s" % self.name)
        self.obj = body
        if self.kind == "leases":
            spec = body.get("spec") or {}
            return {"holderIdentity": spec.get("holderIdentity", ""), "leaseDurationSeconds": spec.get("leaseDurationSeconds", 0),
                    "acquireTime": spec.get("acquireTime", ""), "renewTime": spec.get("renewTime", ""),
                    "leaderTransitions": spec.get("leaseTransitions", 0)}
        raw = ((body.get("metadata") or {}).get("annotations") or {}).get(LEADER_ANNOTATION)
        return json.loads(raw) if raw else {}

    def write(self, record):
        """Create or update (with the resourceVersion read): True when it succeeded."""
        if self.kind == "leases":
            spec = {"holderIdentity": record["holderIdentity"], "leaseDurationSeconds": record["leaseDurationSeconds"],
                    "acquireTime": record["acquireTime"], "renewTime": record["renewTime"],
                    "leaseTransitions": record["leaderTransitions"]}
            obj = dict(self.obj or {"metadata": {"name": self.name, "namespace": "kube-system"}}, spec=spec)
        else:
            obj = dict(self.obj or {"metadata": {"name": self.name, "namespace": "kube-system"}, "subsets": []})
            meta = dict(obj.get("metadata") or {})
            meta["annotations"] = dict(meta.get("annotations") or {}, **{LEADER_ANNOTATION: json.dumps(record)})
            obj["metadata"] = meta
        if self.obj is None:
            status, body, _h = self.client.request("POST", self.path, obj)
        else:
            status, body, _h = self.client.request("PUT", "%s/%s" % (self.path, self.name), obj)
        if status in (200, 201):
            self.obj = body
            return True
        if status == 409:  # someone else wrote it first
            return False
        self._fail(status, body, "error %s lock kube-system/%s" % ("creating" if self.obj is None else "updating", self.name))
        return False


class Elector:
    """One candidate's leader election, one step at a time: client-go's
    LeaderElector.tryAcquireOrRenew, then its renew deadline. ``now`` is this
    candidate's clock (time.time() in run_elected): a holder is judged by when this
    candidate last saw the record change, never by the renewTime it carries."""

    def __init__(self, name, identity, locks, kind, duration, deadline):
        self.name, self.identity, self.locks, self.kind = name, identity, locks, kind
        self.duration, self.deadline = duration, deadline
        self.observed, self.observed_at = None, 0.0
        self.leader, self.last_renew, self.last_error, self.holder = False, 0.0, "", ""

    def step(self, now):
        """Try once to acquire or renew the lock at ``now``: True when this candidate
        holds it. A leader that has not renewed for more than renewDeadline logs
        "leaderelection lost" and exits with status 1 (SystemExit)."""
        name, identity = self.name, self.identity
        try:
            record = self.locks[0].get()
            for extra in self.locks[1:]:
                extra.get()
            if record != self.observed:
                self.observed, self.observed_at = record, now
            self.holder = holder = (record or {}).get("holderIdentity", "")
            if record and holder and holder != identity and self.observed_at + self.duration > now:
                ok = False  # held by someone who renewed within a lease duration (as we saw it)
            else:
                stamp = now_rfc3339(micro=self.kind == "leases")
                new = {"holderIdentity": identity, "leaseDurationSeconds": self.duration, "renewTime": stamp,
                       "acquireTime": record["acquireTime"] if record and holder == identity else stamp,
                       "leaderTransitions": (record or {}).get("leaderTransitions", 0) + (0 if holder == identity or not record else 1)}
                ok = all(lock.write(new) for lock in self.locks)
                if ok:
                    self.observed, self.observed_at, self.holder = new, now, identity
            self.last_error = ""
        except (ClientError, OSError, ValueError, KeyError, TypeError) as err:
            ok, self.last_error = False, str(err)
            log("%s: %s" % (name, err))
        if ok:
            if not self.leader:
                log("%s: successfully acquired lease kube-system/%s" % (name, name))
            self.leader, self.last_renew = True, now
        elif self.leader and now - self.last_renew > self.deadline:
            log("%s: failed to renew lease kube-system/%s: timed out waiting for the condition" % (name, name))
            log("%s: leaderelection lost" % name)
            sys.exit(1)
        return ok

    def state(self):
        return {"role": "leader" if self.leader else "standby", "leader_elect": True, "identity": self.identity,
                "holder": self.holder, "lock": self.kind, "last_error": self.last_error, "last_renew": self.last_renew}


def run_elected(component, opts, version):
    name = "kube-" + component
    identity = "%s_%s" % (socket.gethostname(), uuid.uuid4())
    client = component_client(component, opts, version)
    master = client.server
    if component == "controller-manager" and opts.get("service-account-private-key-file"):
        try:
            with open(opts["service-account-private-key-file"], "rb"):
                pass
        except OSError as err:
            text = "error reading key for service account token controller: open %s: %s" % (
                opts["service-account-private-key-file"], go_strerror(err))
            if version >= (1, 6, 0):  # started first and fatal from 1.6; 1.5 logged it and went on without it
                log(text)
                sys.exit(1)
            log("Error reading key for service account token controller: %s" % text.split(": ", 1)[1])
    if not opts["leader-elect"]:
        log("%s: leader election disabled, active" % name)
        write_state(component, {"role": "active", "leader_elect": False, "identity": identity, "master": master})
        sd_notify("READY=1")
        while True:
            time.sleep(3600)
    kind = opts.get("leader-elect-resource-lock") or default_lock(version)
    locks = [Lock(client, k, name) for k in (["endpoints", "leases"] if kind == "endpointsleases" else [kind])]
    duration = max(1, int(opts["leader-elect-lease-duration"]))
    deadline, retry = opts["leader-elect-renew-deadline"], opts["leader-elect-retry-period"]
    log("%s: attempting to acquire leader lease kube-system/%s via %s (%s)..." % (name, name, master, kind))
    sd_notify("READY=1")
    elector = Elector(name, identity, locks, kind, duration, deadline)
    while True:
        elector.step(time.time())
        write_state(component, dict(elector.state(), master=master))
        time.sleep(retry)
