# KUBEHA LAB STAND-IN -- NOT KUBERNETES. See lab/standins/kubeha_standin/__init__.py.
"""How `kubeadm upgrade apply|node` replaces the static pods of a control-plane node, one
component at a time, as kubeadm v1.30 does (cmd/kubeadm/app/phases/upgrade/staticpods.go,
upgradeComponent):

- the new manifest is compared with the one on disk as decoded Pods
  (staticpod.ManifestFilesAreEqual): when they are equal the component is left alone
  ("Current and new manifests of ... are equal, skipping upgrade"), so a rerun at the same
  version restarts nothing;
- otherwise the old manifest goes to /etc/kubernetes/tmp/kubeadm-backup-manifests-<time>/,
  the new one takes its place, and kubeadm waits (UpgradeManifestTimeout, 5 min) until the
  kubelet has replaced the pod (WaitForStaticPodHashChange) and the new one runs
  (WaitForPodsWithLabel), before it goes on to the next component and before it returns:
  `kubeadm upgrade` ends with this node's control plane up again;
- when the wait runs out, every manifest moved so far is put back
  ("couldn't upgrade control plane. kubeadm has tried to recover everything into the
  earlier state") and kubeadm fails.

The real kubeadm reads the pod's hash and phase from the mirror pod in the API; the lab has
no mirror pods, so the stand-in reads the kubelet stand-in's record of the pod (its hash,
kubelet.manifest_hash, and pid), and for kube-apiserver waits until /livez answers on the
node's advertise address (with admin.conf's credentials: anonymous requests may be refused).
"""

from __future__ import annotations

import os
import time

from . import kubelet
from .core import KubeadmError, log
from .kubeconfig import ClientError, Kubeconfig, yaml

UPGRADE_MANIFEST_TIMEOUT = 300.0  # kubeadm's UpgradeManifestTimeout (5 min)
POLL = 0.5


def _read_pod(path):
    try:
        with open(path) as fh:
            return yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as err:
        raise KubeadmError("failed to read manifest for %r: %s" % (path, err)) from None


def _running(component, new_hash):
    """The kubelet replaced the pod: its record has the new manifest's hash and its process runs."""
    record = kubelet.pod_record(component, component)
    return bool(record and record.get("hash") == new_hash and record.get("pid")
                and kubelet.argv_matches(record["pid"], record.get("argv") or []))


def _live(component, node, kubernetes_dir, version):
    """The component answers: kube-apiserver's /livez on the node's advertise address; the
    scheduler and controller-manager stand-ins serve no health port, a running process is all."""
    if component != "kube-apiserver":
        return True
    host = "[%s]" % node["address"] if ":" in node["address"] else node["address"]
    try:
        client = Kubeconfig(os.path.join(kubernetes_dir, "admin.conf")).client(
            server="https://%s:%d" % (host, node["port"]), version=version)
        status, _body, _headers = client.get("/livez", timeout=2.0)
    except (ClientError, OSError):
        return False
    return status == 200


def wait_for_component(component, new_hash, node, kubernetes_dir, version, timeout):
    """Until the kubelet runs the new pod and it is live; KubeadmError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    replaced = False
    while time.monotonic() < deadline:
        replaced = replaced or _running(component, new_hash)
        if replaced and _live(component, node, kubernetes_dir, version):
            return
        time.sleep(POLL)
    if not replaced:
        raise KubeadmError("static Pod hash for component %s on Node %s did not change after %s"
                           % (component, node["name"], _go_duration(timeout)))
    raise KubeadmError("timed out waiting for the condition: component %s on Node %s did not become ready"
                       % (component, node["name"]))


def _go_duration(seconds):
    minutes, secs = divmod(int(seconds), 60)
    return ("%dm%ds" % (minutes, secs)) if minutes else ("%ds" % secs)


def _rollback(moved, manifests, err):
    errors = [str(err)]
    for component, backup in moved.items():
        try:
            os.replace(backup, os.path.join(manifests, component + ".yaml"))
        except OSError as move_err:
            errors.append(str(move_err))
    return KubeadmError("couldn't upgrade control plane. kubeadm has tried to recover everything into the earlier "
                        "state. Errors faced: [%s]" % ", ".join(errors))


def upgrade_static_pods(new_pods, node, kubernetes_dir, write, version, timeout=UPGRADE_MANIFEST_TIMEOUT):
    """Replace the control plane's static pods with ``new_pods`` [(component, Pod)], one at a
    time; ``write(path, text)`` writes a manifest atomically. Returns the components upgraded."""
    manifests = os.path.join(kubernetes_dir, "manifests")
    backup_dir = os.path.join(kubernetes_dir, "tmp", "kubeadm-backup-manifests-" + time.strftime("%Y-%m-%d-%H-%M-%S"))
    moved, upgraded = {}, []
    for component, pod in new_pods:
        current = os.path.join(manifests, component + ".yaml")
        if _read_pod(current) == pod:
            log("[upgrade/staticpods] Current and new manifests of %s are equal, skipping upgrade" % component)
            continue
        text = yaml.safe_dump(pod, default_flow_style=False, sort_keys=True)
        os.makedirs(backup_dir, exist_ok=True)
        backup = os.path.join(backup_dir, component + ".yaml")
        try:
            os.replace(current, backup)
            moved[component] = backup
            write(current, text)
        except OSError as err:
            raise _rollback(moved, manifests, err) from None
        log("[upgrade/staticpods] Moved new manifest to %r and backed up old manifest to %r" % (current, backup))
        log("[upgrade/staticpods] Waiting for the kubelet to restart the component")
        log("[upgrade/staticpods] This can take up to %s" % _go_duration(timeout))
        try:
            wait_for_component(component, kubelet.manifest_hash(text.encode()), node, kubernetes_dir, version, timeout)
        except KubeadmError as err:
            raise _rollback(moved, manifests, err) from None
        log("[upgrade/staticpods] Component %r upgraded successfully!" % component)
        upgraded.append(component)
    return upgraded
