#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kubeadm_clients
short_description: Point kubeadm's in-cluster clients (kube-proxy, kubeadm join) at an API endpoint
version_added: 0.5.0
description:
  - Sets the API server of the clients that a kubeadm cluster configures inside the cluster rather than in files on
    the nodes, so that they use the load-balanced endpoint O(server) instead of the first master.
  - C(kubeconfig.conf) of the ConfigMap C(kube-system/kube-proxy), which kubeadm's C(kube-proxy) DaemonSet mounts.
    kube-proxy reads it only when it starts, so the DaemonSet is restarted afterwards (see O(rollout)).
  - C(kubeconfig) of the ConfigMap C(kube-public/cluster-info), what C(kubeadm join) discovers and then talks to (see
    O(cluster_info)). Its C(jws-kubeconfig-*) signatures are left alone, the C(bootstrapsigner) controller of
    kube-controller-manager signs the changed ConfigMap again for every bootstrap token.
  - Only the C(server) of every cluster of those kubeconfigs changes; every other byte of their text is kept. A ConfigMap
    that already has O(server) is not written. Each ConfigMap is written back with the C(resourceVersion) it was read
    with; when someone else changed it in between (HTTP 409 Conflict), it is read again, up to 5 times.
  - Where kube-proxy is not deployed by kubeadm (no ConfigMap C(kube-system/kube-proxy), for example with a CNI that
    replaces it), that part is skipped with a warning. A missing C(kube-public/cluster-info) fails the task (not a
    kubeadm cluster), as do refused credentials (HTTP 401 or 403).
  - Everything is read and checked before anything is written.
author:
  - kubeha.control_plane contributors (@kubeha)
requirements:
  - PyYAML on the managed host.
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: The ConfigMaps and the DaemonSet are read; RV(rollout) says whether kube-proxy would be restarted.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: The server of each kubeconfig before and after.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
extends_documentation_fragment:
  - kubeha.control_plane.kube_api
options:
  server:
    description:
      - The URL the clients are to use, C(https://HOST:PORT) (V(https://10.0.0.100:8443), V(https://[fd00::100]:8443),
        V(https://k8s.example.com:8443)).
      - Check first that the apiserver certificates name HOST (M(kubeha.control_plane.apiserver_certificate)), as a
        client pointed at an endpoint its certificate does not name stops working.
    type: str
    required: true
  rollout:
    description:
      - Restart the C(kube-system/kube-proxy) DaemonSet as C(kubectl rollout restart) does (the pod template annotation
        C(kubectl.kubernetes.io/restartedAt)) when its pods may not have read the current C(kubeconfig.conf), and wait as
        C(kubectl rollout status) does until every pod runs the new template and is available.
      - The restart records the SHA-256 of the C(kubeconfig.conf) it was done for in the pod template annotation
        C(kubeha.control-plane/kubeconfig-sha256); kube-proxy is restarted when that record is not the SHA-256 of the
        current C(kubeconfig.conf). So a C(kubeconfig.conf) changed by this task, by an earlier task whose restart
        failed, or by hand is always followed by a restart, and a second run restarts nothing. Without the record
        (the first run on a cluster, or after C(kubeadm upgrade) rewrote the DaemonSet) kube-proxy is restarted once,
        as it cannot be known which file its pods read.
      - When no restart is needed but a rollout of the DaemonSet is still in progress (not every pod runs the current
        template), the module waits for it too.
      - With V(false) the DaemonSet is neither read nor restarted; the module warns when C(kubeconfig.conf) changed.
      - A DaemonSet with the C(OnDelete) update strategy cannot be restarted this way; the task then fails before
        anything is written.
    type: bool
    default: true
  rollout_timeout:
    description:
      - Seconds to wait for the rollout; when they run out the task fails with the DaemonSet's status.
    type: int
    default: 300
  cluster_info:
    description:
      - Also set the server of C(kube-public/cluster-info), which C(kubeadm join) uses.
    type: bool
    default: true
notes:
  - Files readable only by root (C(/etc/kubernetes/admin.conf)) need O(ignore:become=true).
  - C(kubeadm upgrade apply) writes the kube-proxy ConfigMap again from C(controlPlaneEndpoint) of the
    ClusterConfiguration; set it too (M(kubeha.control_plane.kubeadm_config)) so that an upgrade keeps O(server).
seealso:
  - module: kubeha.control_plane.kubeadm_config
  - module: kubeha.control_plane.apiserver_certificate
  - name: kubectl rollout
    description: What C(kubectl rollout restart) and C(kubectl rollout status) do.
    link: https://kubernetes.io/docs/reference/kubectl/generated/kubectl_rollout/
"""

EXAMPLES = r"""
- name: Check that every apiserver's certificate names the VIP
  kubeha.control_plane.apiserver_certificate:
    url: https://10.0.0.100:8443
    ca_file: /etc/kubernetes/pki/ca.crt
  run_once: true

- name: Send kube-proxy and kubeadm join through the VIP
  kubeha.control_plane.kubeadm_clients:
    kubeconfig: /etc/kubernetes/admin.conf
    server: https://10.0.0.100:8443
  become: true
  run_once: true
  register: clients

- name: Only edit the ConfigMaps; kube-proxy is restarted later
  kubeha.control_plane.kubeadm_clients:
    kubeconfig: /etc/kubernetes/admin.conf
    server: https://[fd00::100]:8443
    rollout: false
  become: true
  run_once: true
"""

RETURN = r"""
kube_proxy_server:
  description:
    - The server of C(kubeconfig.conf) of C(kube-system/kube-proxy) before and after (in check mode, as it would be).
    - With several clusters in the kubeconfig, every one is set and RV(kube_proxy_server.before) is the first one's.
    - Both null when the ConfigMap does not exist.
  returned: success
  type: dict
  contains:
    before:
      description: The server before.
      type: str
      sample: https://10.0.0.11:6443
    after:
      description: The server after.
      type: str
      sample: https://10.0.0.100:8443
cluster_info_server:
  description: The server of C(kubeconfig) of C(kube-public/cluster-info) before and after; null with O(cluster_info=false).
  returned: success
  type: dict
  contains:
    before:
      description: The server before.
      type: str
      sample: https://10.0.0.11:6443
    after:
      description: The server after.
      type: str
      sample: https://10.0.0.100:8443
rollout:
  description:
    - The restart of the kube-proxy DaemonSet and its last status; null with O(rollout=false) or without kube-proxy.
  returned: success
  type: dict
  contains:
    restarted:
      description: Whether the DaemonSet was restarted (in check mode, would be).
      type: bool
      sample: true
    reason:
      description: Why it was restarted, or why it was waited for; null when neither happened.
      type: str
      sample: kubeconfig.conf changed
    restarted_at:
      description: The C(kubectl.kubernetes.io/restartedAt) annotation set, RFC 3339; null without a restart.
      type: str
      sample: "2026-05-04T10:15:00+00:00"
    complete:
      description:
        - Whether every pod runs the current template and is available (C(kubectl rollout status)).
        - Null in check mode when a restart would happen.
      type: bool
      sample: true
    generation:
      description: C(metadata.generation) of the DaemonSet.
      type: int
      sample: 4
    observed_generation:
      description: C(status.observedGeneration).
      type: int
      sample: 4
    desired_number_scheduled:
      description: C(status.desiredNumberScheduled), the number of nodes that run kube-proxy.
      type: int
      sample: 4
    updated_number_scheduled:
      description: C(status.updatedNumberScheduled), the pods that run the current template.
      type: int
      sample: 4
    number_available:
      description: C(status.numberAvailable).
      type: int
      sample: 4
"""

import hashlib
import time
from datetime import datetime, timezone

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.kubeha.control_plane.plugins.module_utils._endpoint import EndpointError, parse_https_url
from ansible_collections.kubeha.control_plane.plugins.module_utils._kubeapi import (
    HAS_YAML,
    KubeApi,
    KubeApiError,
    api_argument_spec,
)
from ansible_collections.kubeha.control_plane.plugins.module_utils._kubeconfig_text import (
    KubeconfigTextError,
    kubeconfig_servers,
    set_kubeconfig_server,
)
from ansible_collections.kubeha.control_plane.plugins.module_utils._kubeobject import (
    KubeObjectError,
    configmap_path,
    daemonset_path,
    get_object,
    patch_object,
    update_object,
)

KUBE_PROXY = ("kube-system", "kube-proxy", "kubeconfig.conf")
CLUSTER_INFO = ("kube-public", "cluster-info", "kubeconfig")
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
KUBECONFIG_SHA = "kubeha.control-plane/kubeconfig-sha256"
POLL_SECONDS = 2.0


class ClientsError(Exception):
    """The change cannot be made; the message says why."""


def _what(target):
    return "the ConfigMap %s/%s" % target[:2]


def edit_kubeconfig(configmap, target, server, seen):
    """Set the server in ``configmap`` (edited in place); record the text and servers in ``seen``."""
    key = target[2]
    text = (configmap.get("data") or {}).get(key)
    if not isinstance(text, str):
        raise ClientsError("%s has no %s key (its keys: %s)" % (_what(target), key, ", ".join(sorted(configmap.get("data") or {})) or "none"))
    where = "%s of %s" % (key, _what(target))
    try:
        servers = kubeconfig_servers(text, where)
        new = set_kubeconfig_server(text, server, where)
    except KubeconfigTextError as exc:
        raise ClientsError(str(exc))
    configmap["data"][key] = new
    seen.update(before=servers[0][1], after=server, text=new, changed=new != text)


def template_annotations(daemonset):
    template = (daemonset.get("spec") or {}).get("template") or {}
    return (template.get("metadata") or {}).get("annotations") or {}


def rollout_status(daemonset):
    status = daemonset.get("status") or {}
    return dict(
        generation=(daemonset.get("metadata") or {}).get("generation", 0),
        observed_generation=status.get("observedGeneration", 0),
        desired_number_scheduled=status.get("desiredNumberScheduled", 0),
        updated_number_scheduled=status.get("updatedNumberScheduled", 0),
        number_available=status.get("numberAvailable", 0),
    )


def template_rolled_out(numbers):
    """Every pod runs the current template (the DaemonSet controller has seen it and updated them all)."""
    return numbers["observed_generation"] >= numbers["generation"] and numbers["updated_number_scheduled"] >= numbers["desired_number_scheduled"]


def rollout_complete(numbers):
    """What kubectl rollout status waits for on a DaemonSet."""
    return template_rolled_out(numbers) and numbers["number_available"] >= numbers["desired_number_scheduled"]


def describe(numbers):
    return ("%(updated_number_scheduled)d of %(desired_number_scheduled)d pods updated, %(number_available)d available, "
            "observedGeneration %(observed_generation)d of generation %(generation)d" % numbers)


def plan_rollout(daemonset, digest, changed):
    """(restart, reason) for the DaemonSet whose pods should have read the kubeconfig.conf of SHA-256 ``digest``."""
    recorded = template_annotations(daemonset).get(KUBECONFIG_SHA)
    if recorded == digest:
        if template_rolled_out(rollout_status(daemonset)):
            return False, None
        return False, "a rollout of the DaemonSet is in progress"
    if changed:
        reason = "kubeconfig.conf changed"
    elif recorded is None:
        reason = ("no record that the kube-proxy pods were restarted for the current kubeconfig.conf "
                  "(pod template annotation %s)" % KUBECONFIG_SHA)
    else:
        reason = "kubeconfig.conf changed since the kube-proxy pods were last restarted by this module"
    strategy = ((daemonset.get("spec") or {}).get("updateStrategy") or {}).get("type") or "RollingUpdate"
    if strategy != "RollingUpdate":
        raise ClientsError("the DaemonSet kube-system/kube-proxy must be restarted (%s), but its update strategy is %s: "
                           "a restart does not replace its pods. Set rollout=false and delete the kube-proxy pods, or "
                           "use the RollingUpdate strategy" % (reason, strategy))
    return True, reason


def wait_rollout(api, path, timeout, started):
    deadline = started + timeout
    while True:
        daemonset = get_object(api, path, "the DaemonSet kube-system/kube-proxy")
        if daemonset is None:
            raise ClientsError("the DaemonSet kube-system/kube-proxy was deleted during its rollout")
        numbers = rollout_status(daemonset)
        if rollout_complete(numbers):
            return numbers, True
        if time.monotonic() >= deadline:
            return numbers, False
        time.sleep(POLL_SECONDS)


def run(module, api, result):
    params, server = module.params, module.params["server"]
    targets = [KUBE_PROXY] + ([CLUSTER_INFO] if params["cluster_info"] else [])
    ds_path, ds_what = daemonset_path("kube-system", "kube-proxy"), "the DaemonSet kube-system/kube-proxy"

    # Read and check everything first: nothing is written when something is wrong.
    exists, kube_proxy_text = {}, None
    for target in targets:
        configmap = get_object(api, configmap_path(*target[:2]), _what(target))
        exists[target] = configmap is not None
        if configmap is not None:
            planned = {}
            edit_kubeconfig(configmap, target, server, planned)
            if target == KUBE_PROXY:
                kube_proxy_text = planned["text"]
    if params["cluster_info"] and not exists[CLUSTER_INFO]:
        raise ClientsError("the ConfigMap kube-public/cluster-info does not exist: this is not a kubeadm cluster "
                           "(kubeadm init writes it), or the API server is not this cluster's")
    daemonset = None
    if not exists[KUBE_PROXY]:
        module.warn("the ConfigMap kube-system/kube-proxy does not exist: kube-proxy is not deployed by kubeadm here "
                    "(or was replaced), so it was left alone")
    elif params["rollout"]:
        daemonset = get_object(api, ds_path, ds_what)
        if daemonset is None:
            raise ClientsError("the ConfigMap kube-system/kube-proxy exists but the DaemonSet kube-system/kube-proxy does "
                               "not: set rollout=false to only edit the ConfigMap")
        plan_rollout(daemonset, _sha256(kube_proxy_text), True)  # refuses an OnDelete DaemonSet now

    # Write the ConfigMaps (each read again: its resourceVersion guards the write).
    seen = dict((target, {}) for target in targets)
    for target in targets:
        if not exists[target]:
            continue
        before, _after = update_object(api, configmap_path(*target[:2]), _what(target),
                                       lambda cm, t=target: edit_kubeconfig(cm, t, server, seen[t]), module.check_mode)
        if before is None:
            raise ClientsError("%s was deleted while this module ran" % _what(target))
        result["changed"] = result["changed"] or seen[target]["changed"]
    if exists[KUBE_PROXY]:
        result["kube_proxy_server"] = dict(before=seen[KUBE_PROXY]["before"], after=seen[KUBE_PROXY]["after"])
    if params["cluster_info"]:
        result["cluster_info_server"] = dict(before=seen[CLUSTER_INFO]["before"], after=seen[CLUSTER_INFO]["after"])
    if module._diff:
        result["diff"] = dict((side, "".join("%s/%s %s: server: %s\n" % (target + (seen[target][side],))
                                             for target in targets if seen[target])) for side in ("before", "after"))

    if daemonset is None:
        if exists[KUBE_PROXY] and seen[KUBE_PROXY]["changed"]:
            module.warn("kube-proxy reads kubeconfig.conf only when it starts: its pods use the old server until they "
                        "are restarted (kubectl -n kube-system rollout restart daemonset kube-proxy)")
        return
    digest = _sha256(seen[KUBE_PROXY]["text"])
    daemonset = get_object(api, ds_path, ds_what) or daemonset
    restart, reason = plan_rollout(daemonset, digest, seen[KUBE_PROXY]["changed"])
    numbers = rollout_status(daemonset)
    rollout = result["rollout"] = dict(restarted=restart, reason=reason, restarted_at=None, complete=None, **numbers)
    result["changed"] = result["changed"] or restart
    if not restart and (reason is None or module.check_mode):
        rollout["complete"] = rollout_complete(numbers)
        return
    if module.check_mode:
        return
    started = time.monotonic()
    if restart:
        rollout["restarted_at"] = datetime.now(timezone.utc).astimezone().replace(microsecond=0).isoformat()
        patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: rollout["restarted_at"], KUBECONFIG_SHA: digest}}}}}
        rollout.update(rollout_status(patch_object(api, ds_path, ds_what, patch)))
    numbers, complete = wait_rollout(api, ds_path, params["rollout_timeout"], started)
    rollout.update(numbers, complete=complete)
    if not complete:
        raise ClientsError("the kube-proxy DaemonSet did not finish its rollout in %d seconds (%s): look at its pods "
                           "(kubectl -n kube-system get pods -l k8s-app=kube-proxy -o wide)" % (params["rollout_timeout"], describe(numbers)))


def _sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def main():
    spec = api_argument_spec()
    spec.update(
        server=dict(type="str", required=True),
        rollout=dict(type="bool", default=True),
        rollout_timeout=dict(type="int", default=300),
        cluster_info=dict(type="bool", default=True),
    )
    module = AnsibleModule(argument_spec=spec, required_one_of=[("api_url", "kubeconfig")],
                           required_by=dict(client_key="client_cert"), supports_check_mode=True)
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML (python3-yaml on Debian and Ubuntu, python3-pyyaml on Enterprise Linux)"))
    params = module.params
    server = params["server"]
    try:
        parse_https_url(server, "server")
    except EndpointError as exc:
        module.fail_json(msg=str(exc))
    if params["rollout_timeout"] < 0:
        module.fail_json(msg="rollout_timeout must be 0 or more seconds, got %d" % params["rollout_timeout"])

    result = dict(changed=False, kube_proxy_server=dict(before=None, after=None), cluster_info_server=None, rollout=None)
    api = None
    try:
        api = KubeApi(params)
        run(module, api, result)
    except (KubeApiError, KubeObjectError, ClientsError) as exc:
        module.fail_json(msg=str(exc), **result)
    finally:
        if api is not None:
            api.close()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
