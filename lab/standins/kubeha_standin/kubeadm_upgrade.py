# KUBEHA LAB STAND-IN -- NOT KUBERNETES. See lab/standins/kubeha_standin/__init__.py.
"""How `kubeadm upgrade apply|node` replaces the static pods of a control-plane node, one
component at a time, as kubeadm v1.30 does (cmd/kubeadm/app/phases/upgrade/staticpods.go,
upgradeComponent):

- the new manifest is compared with the one on disk as decoded Pods
  (staticpod.ManifestFilesAreEqual; here by kubelet.manifest_hash): when they are equal the component is left alone
  ("Current and new manifests of ... are equal, skipping upgrade"), so a rerun at the same
  version restarts nothing;
- otherwise the old manifest goes to /etc/kubernetes/tmp/kubeadm-backup-manifests-<time>/,
  the new one takes its place, and kubeadm waits (UpgradeManifestTimeout, 5 min) until the
  kubelet has replaced the pod (WaitForStaticPodHashChange) and the new one is in phase
  Running (WaitForPodsWithLabel), before it goes on to the next component and before it
  returns;
- when the wait runs out, every manifest moved so far is put back
  ("couldn't upgrade control plane. kubeadm has tried to recover everything into the
  earlier state") and kubeadm fails.

The real kubeadm reads the pod's hash and phase from the mirror pod, through admin.conf's
server; the lab has no mirror pods, so the stand-in reads the kubelet stand-in's record of
the pod (its hash, kubelet.manifest_hash) and asks admin.conf's server for the pods. Like
kubeadm it does not wait for the new component to be ready: a kube-apiserver may still be
starting when `kubeadm upgrade` returns.
"""

from __future__ import annotations

import os
import time

from . import kubelet
from .core import KubeadmError, log
from .kubeconfig import ClientError, Kubeconfig, yaml

UPGRADE_MANIFEST_TIMEOUT = 300.0  # kubeadm's UpgradeManifestTimeout (5 min)
POLL = 0.5


def _read_manifest(path):
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        yaml.safe_load(data)
    except (OSError, yaml.YAMLError) as err:
        raise KubeadmError("failed to read manifest for %r: %s" % (path, err)) from None
    return data


def _replaced(component, new_hash):
    """The kubelet started the new pod: its record has the new manifest's hash (whether the
    container still runs is not asked: a pod in CrashLoopBackOff is in phase Running too)."""
    record = kubelet.pod_record(component, component)
    return bool(record and record.get("hash") == new_hash)


def _api_answers(kubernetes_dir, version):
    """kubeadm reads the mirror pods through admin.conf's server (the control-plane
    endpoint): it sees the new hash only while some apiserver answers there."""
    try:
        client = Kubeconfig(os.path.join(kubernetes_dir, "admin.conf")).client(version=version)
        status, _body, _headers = client.get("/api/v1/namespaces/kube-system/pods", timeout=2.0)
    except (ClientError, OSError):
        return False
    return status < 500


def wait_for_component(component, new_hash, node, kubernetes_dir, version, timeout):
    """Until the kubelet runs the new pod (WaitForStaticPodHashChange, WaitForPodsWithLabel);
    KubeadmError after ``timeout`` s. Nothing waits for the component to be ready or live:
    kubeadm v1.30 returns while a new kube-apiserver may still be starting."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _replaced(component, new_hash) and _api_answers(kubernetes_dir, version):
            return
        time.sleep(POLL)
    raise KubeadmError("static Pod hash for component %s on Node %s did not change after %s: timed out waiting for "
                       "the condition" % (component, node["name"], _go_duration(timeout)))


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
    # utilerrors.NewAggregate: one error as it is, several in brackets.
    faced = errors[0] if len(errors) == 1 else "[%s]" % ", ".join(errors)
    return KubeadmError("couldn't upgrade control plane. kubeadm has tried to recover everything into the earlier "
                        "state. Errors faced: %s" % faced)


def upgrade_static_pods(new_manifests, node, kubernetes_dir, write, version, timeout=UPGRADE_MANIFEST_TIMEOUT):
    """Replace the control plane's static pods with ``new_manifests`` [(component, text)], one
    at a time; ``write(path, text)`` writes a manifest atomically."""
    manifests = os.path.join(kubernetes_dir, "manifests")
    backup_dir = os.path.join(kubernetes_dir, "tmp", "kubeadm-backup-manifests-" + time.strftime("%Y-%m-%d-%H-%M-%S"))
    moved = {}
    for component, text in new_manifests:
        current = os.path.join(manifests, component + ".yaml")
        new_hash = kubelet.manifest_hash(text.encode())
        # Equal as decoded Pods (staticpod.ManifestFilesAreEqual), as the kubelet hashes them.
        if kubelet.manifest_hash(_read_manifest(current)) == new_hash:
            log("[upgrade/staticpods] Current and new manifests of %s are equal, skipping upgrade" % component)
            continue
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
            wait_for_component(component, new_hash, node, kubernetes_dir, version, timeout)
        except KubeadmError as err:
            raise _rollback(moved, manifests, err) from None
        log("[upgrade/staticpods] Component %r upgraded successfully!" % component)
