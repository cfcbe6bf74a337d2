#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kubeadm_config
short_description: Edit kubeadm's ClusterConfiguration in the kubeadm-config ConfigMap
version_added: 0.5.0
description:
  - Edits the C(ClusterConfiguration) that C(kubeadm upgrade) and C(kubeadm join --control-plane) read, the key
    C(ClusterConfiguration) of the ConfigMap C(kube-system/kubeadm-config), so that what the roles changed on the
    masters (flags of the static pods, external etcd, the load-balanced endpoint) survives the next C(kubeadm upgrade),
    which otherwise writes the static pod manifests again from this configuration.
  - Only the fields given change; every other field of the configuration is kept. The text is parsed and written again
    (re-serialized) with PyYAML, keeping the order of the keys; comments are dropped and the quoting of some values may
    change (kubeadm itself writes no comments). Nothing is written when the configuration already has the values.
  - Flags go to C(extraArgs) of C(apiServer), C(controllerManager) and C(scheduler) in the form of the configuration's
    version, a map of flag name to value up to C(kubeadm.k8s.io/v1beta3), a list of C(name)/C(value) items in
    C(kubeadm.k8s.io/v1beta4) (Kubernetes 1.31 and later). Values are written as strings, as kubeadm expects them
    (V(true), V(6443)).
  - The ConfigMap is written back with the C(resourceVersion) it was read with; when someone else changed it in between
    (HTTP 409 Conflict), it is read again and the change computed again, up to 5 times.
  - With none of O(extra_args), O(etcd_external) and O(control_plane_endpoint), the configuration is only read.
  - Fails with the reason when the ConfigMap does not exist (not a kubeadm cluster), when the credentials are refused
    (HTTP 401 or 403), and when its C(ClusterConfiguration) is missing, is not YAML or is not a
    C(ClusterConfiguration) of a known version (C(kubeadm.k8s.io/v1beta1) to C(v1beta4)).
author:
  - kubeha.control_plane contributors (@kubeha)
requirements:
  - PyYAML on the managed host.
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: The ConfigMap is read and the change computed; nothing is written.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: The C(ClusterConfiguration) text before and after.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
extends_documentation_fragment:
  - kubeha.control_plane.kube_api
options:
  extra_args:
    description:
      - Flags of the control plane components, without leading dashes (V(audit-log-path); C(_) is read as C(-)), to
        their value. A value V(null) removes the flag. Flags not named here are kept.
      - Booleans are written V(true)/V(false) and numbers as their digits.
    type: dict
    suboptions:
      apiServer:
        description: Flags of kube-apiserver (C(apiServer.extraArgs)).
        type: dict
      controllerManager:
        description: Flags of kube-controller-manager (C(controllerManager.extraArgs)).
        type: dict
      scheduler:
        description: Flags of kube-scheduler (C(scheduler.extraArgs)).
        type: dict
  etcd_external:
    description:
      - Fields of C(etcd.external) to set, for a cluster that uses an external etcd. Fields not given are kept.
      - Fails when the cluster uses kubeadm's stacked etcd (C(etcd.local)).
    type: dict
    suboptions:
      endpoints:
        description: The etcd client URLs (V(https://10.0.0.21:2379)); replaces the list.
        type: list
        elements: str
      caFile:
        description: CA certificate of etcd, a path on the masters.
        type: str
      certFile:
        description: Client certificate for etcd, a path on the masters.
        type: str
      keyFile:
        description: Key of O(etcd_external.certFile), a path on the masters.
        type: str
  control_plane_endpoint:
    description:
      - The C(controlPlaneEndpoint), C(host:port) of the load-balanced API (V(k8s.example.com:8443),
        V(10.0.0.100:8443), V([fd00::100]:8443)).
      - Check first that the apiserver certificates name the host (M(kubeha.control_plane.apiserver_certificate)).
    type: str
notes:
  - Files readable only by root (C(/etc/kubernetes/admin.conf)) need O(ignore:become=true).
  - The change takes effect on the masters at the next C(kubeadm upgrade) (or C(kubeadm init phase control-plane))
    only; the running static pods are not touched.
seealso:
  - module: kubeha.control_plane.kubeadm_clients
  - module: kubeha.control_plane.apiserver_certificate
  - name: Reconfiguring a kubeadm cluster
    description: Where kubeadm keeps its configuration and how to change it.
    link: https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-reconfigure/
"""

EXAMPLES = r"""
- name: Keep the apiserver flags and the VIP through kubeadm upgrades
  kubeha.control_plane.kubeadm_config:
    kubeconfig: /etc/kubernetes/admin.conf
    control_plane_endpoint: "[fd00::100]:8443"
    extra_args:
      apiServer:
        audit-log-path: /var/log/kubernetes/audit.log
        profiling: false
        insecure-port: null     # removed
      scheduler:
        bind-address: 0.0.0.0
  become: true
  run_once: true

- name: Move the ClusterConfiguration to the new external etcd members
  kubeha.control_plane.kubeadm_config:
    kubeconfig: /etc/kubernetes/admin.conf
    etcd_external:
      endpoints:
        - https://10.0.0.21:2379
        - https://10.0.0.22:2379
        - https://10.0.0.23:2379
  become: true
  run_once: true
"""

RETURN = r"""
cluster_configuration:
  description: The ClusterConfiguration after the change (in check mode, as it would be), parsed.
  returned: success
  type: dict
  sample: {"apiVersion": "kubeadm.k8s.io/v1beta3", "kind": "ClusterConfiguration",
           "controlPlaneEndpoint": "10.0.0.100:8443", "apiServer": {"extraArgs": {"profiling": "false"}}}
api_version:
  description: The C(apiVersion) of the ClusterConfiguration, which decides the form of C(extraArgs).
  returned: success
  type: str
  sample: kubeadm.k8s.io/v1beta3
"""

import re

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.kubeha.control_plane.plugins.module_utils._endpoint import (
    EndpointError,
    split_host_port,
)
from ansible_collections.kubeha.control_plane.plugins.module_utils._kubeapi import (
    HAS_YAML,
    KubeApi,
    KubeApiError,
    api_argument_spec,
)
from ansible_collections.kubeha.control_plane.plugins.module_utils._kubeobject import (
    KubeObjectError,
    configmap_path,
    update_object,
)

if HAS_YAML:
    import yaml

NAMESPACE = "kube-system"
NAME = "kubeadm-config"
KEY = "ClusterConfiguration"
WHAT = "the ConfigMap kube-system/kubeadm-config"
COMPONENTS = ("apiServer", "controllerManager", "scheduler")
MAP_VERSIONS = ("kubeadm.k8s.io/v1beta1", "kubeadm.k8s.io/v1beta2", "kubeadm.k8s.io/v1beta3")
LIST_VERSIONS = ("kubeadm.k8s.io/v1beta4",)
_FLAG = re.compile(r"^[a-z0-9][a-z0-9-]*\Z")


class ConfigError(ValueError):
    """The wanted change cannot be made; the message says why."""


def flag_value(component, name, value):
    """The string kubeadm expects for ``value``, or None for a flag to remove."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str):
        raise ConfigError("extra_args.%s.%s: the value %r is a %s; give a string, a number, a boolean, or null to "
                          "remove the flag" % (component, name, value, type(value).__name__))
    if any(c in value for c in "\n\r\0"):
        raise ConfigError("extra_args.%s.%s: the value %r contains a line break or a NUL character" % (component, name, value))
    return value


def wanted_flags(component, flags):
    """[(flag name, string value or None)] of one component's option, names checked and normalized."""
    if not isinstance(flags, dict):
        raise ConfigError("extra_args.%s must be a dict of flag name to value, got %r" % (component, flags))
    result, seen = [], {}
    for raw, value in flags.items():
        name = str(raw).replace("_", "-")
        if name.startswith("-"):
            raise ConfigError("extra_args.%s: write the flag %r without leading dashes (%r)" % (component, raw, name.lstrip("-")))
        if not _FLAG.match(name):
            raise ConfigError("extra_args.%s: %r is not a flag name (lower-case letters, digits and '-')" % (component, raw))
        if name in seen:
            raise ConfigError("extra_args.%s: %r and %r are the same flag --%s; give it once" % (component, seen[name], raw, name))
        seen[name] = raw
        result.append((name, flag_value(component, raw, value)))
    return result


def _same_flag(existing, name):
    return isinstance(existing, str) and existing.replace("_", "-") == name


def set_map_args(args, flags):
    """extraArgs as a map (v1beta1 to v1beta3), edited in place; a new flag goes where the sorted order puts it
    when the map is sorted (as kubeadm writes it), else at the end."""
    for name, value in flags:
        keys = [k for k in args if _same_flag(k, name)]
        if value is None:
            for key in keys:
                del args[key]
        elif keys:
            for key in keys[1:]:
                del args[key]
            args[keys[0]] = value
        else:
            ordered = list(args) == sorted(args, key=str)
            args[name] = value
            if ordered:
                items = sorted(args.items(), key=lambda item: str(item[0]))
                args.clear()
                args.update(items)


def set_list_args(args, flags, component):
    """extraArgs as a list of {name, value} (v1beta4), edited in place: a flag listed several times is set once,
    where it first was."""
    for index, item in enumerate(args):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ConfigError("%s.extraArgs[%d] of the ClusterConfiguration is not a {name, value} item: %r" % (component, index, item))
    for name, value in flags:
        indexes = [i for i, item in enumerate(args) if _same_flag(item["name"], name)]
        if value is not None and indexes:
            args[indexes[0]]["value"] = value
            indexes = indexes[1:]
        elif value is not None:
            args.append({"name": name, "value": value})
        for index in reversed(indexes):
            del args[index]


def set_extra_args(doc, extra_args, list_form):
    for component in COMPONENTS:
        flags = (extra_args or {}).get(component)
        if flags is None:
            continue
        flags = wanted_flags(component, flags)
        section = doc.get(component)
        if section is None:
            if all(value is None for _name, value in flags):
                continue
            section = doc[component] = {}
        if not isinstance(section, dict):
            raise ConfigError("%s of the ClusterConfiguration is not a mapping: %r" % (component, section))
        args = section.get("extraArgs")
        had = args is not None
        if args is None:
            args = [] if list_form else {}
        if list_form and not isinstance(args, list):
            raise ConfigError("%s.extraArgs of this %s ClusterConfiguration must be a list of {name, value}, it is %r"
                              % (component, doc["apiVersion"], args))
        if not list_form and not isinstance(args, dict):
            raise ConfigError("%s.extraArgs of this %s ClusterConfiguration must be a map of flag to value, it is %r"
                              % (component, doc["apiVersion"], args))
        was_filled = bool(args)
        if list_form:
            set_list_args(args, flags, component)
        else:
            set_map_args(args, flags)
        if args:
            section["extraArgs"] = args
        elif had and was_filled:
            del section["extraArgs"]


def _check_endpoint_url(url):
    if not isinstance(url, str) or not re.match(r"^https?://[^/]+", url):
        raise ConfigError("etcd_external.endpoints: %r is not an etcd client URL (https://HOST:2379)" % (url,))
    try:
        split_host_port(re.match(r"^https?://([^/]+)", url).group(1), "etcd_external.endpoints", default_port=2379)
    except EndpointError as exc:
        raise ConfigError(str(exc))


def set_etcd_external(doc, wanted):
    given = dict((k, v) for k, v in wanted.items() if v is not None)
    if not given:
        return
    etcd = doc.get("etcd")
    if etcd is None or not isinstance(etcd, dict) or "external" not in etcd:
        raise ConfigError("etcd_external is given, but this cluster uses kubeadm's stacked etcd (etcd.local%s): kubeadm "
                          "manages those members itself; leave etcd_external out"
                          % ("" if isinstance(etcd, dict) and "local" in etcd else ", the default when etcd is not set"))
    external = etcd["external"]
    if not isinstance(external, dict):
        raise ConfigError("etcd.external of the ClusterConfiguration is not a mapping: %r" % (external,))
    if "endpoints" in given:
        if not given["endpoints"]:
            raise ConfigError("etcd_external.endpoints must list at least one etcd client URL")
        for url in given["endpoints"]:
            _check_endpoint_url(url)
        given["endpoints"] = list(given["endpoints"])
    external.update(given)
    if bool(external.get("certFile")) != bool(external.get("keyFile")):
        raise ConfigError("etcd.external would have %s without %s: give both etcd_external.certFile and keyFile"
                          % (("certFile", "keyFile") if external.get("certFile") else ("keyFile", "certFile")))


def check_control_plane_endpoint(value):
    try:
        split_host_port(value, "control_plane_endpoint")
    except EndpointError as exc:
        raise ConfigError(str(exc))
    return value


def parse_configuration(configmap):
    data = configmap.get("data") or {}
    text = data.get(KEY)
    if not isinstance(text, str) or not text.strip():
        raise ConfigError("%s has no %s key: it is not the kubeadm-config that kubeadm writes (its keys: %s)"
                          % (WHAT, KEY, ", ".join(sorted(data)) or "none"))
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError("data.%s of %s is not valid YAML: %s" % (KEY, WHAT, " ".join(str(exc).split())))
    if not isinstance(doc, dict) or doc.get("kind") != KEY:
        raise ConfigError("data.%s of %s is not a ClusterConfiguration (kind %r)"
                          % (KEY, WHAT, doc.get("kind") if isinstance(doc, dict) else type(doc).__name__))
    if doc.get("apiVersion") not in MAP_VERSIONS + LIST_VERSIONS:
        raise ConfigError("data.%s of %s has apiVersion %r, which this module does not know (it edits %s)"
                          % (KEY, WHAT, doc.get("apiVersion"), ", ".join(MAP_VERSIONS + LIST_VERSIONS)))
    return text, doc


def dump(doc):
    return yaml.safe_dump(doc, default_flow_style=False, sort_keys=False, allow_unicode=True, width=2 ** 30)


def main():
    spec = api_argument_spec()
    spec.update(
        extra_args=dict(type="dict", options=dict(
            apiServer=dict(type="dict"), controllerManager=dict(type="dict"), scheduler=dict(type="dict"))),
        etcd_external=dict(type="dict", options=dict(
            endpoints=dict(type="list", elements="str"), caFile=dict(type="str"), certFile=dict(type="str"),
            keyFile=dict(type="str", no_log=False))),
        control_plane_endpoint=dict(type="str"),
    )
    module = AnsibleModule(argument_spec=spec, required_one_of=[("api_url", "kubeconfig")],
                           required_by=dict(client_key="client_cert"), supports_check_mode=True)
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML (python3-yaml on Debian and Ubuntu, python3-pyyaml on Enterprise Linux)"))
    params = module.params
    try:
        if params["control_plane_endpoint"] is not None:
            check_control_plane_endpoint(params["control_plane_endpoint"])
    except ConfigError as exc:
        module.fail_json(msg=str(exc))

    texts = {}

    def edit(configmap):
        text, doc = parse_configuration(configmap)
        new = yaml.safe_load(text)
        set_extra_args(new, params["extra_args"], doc["apiVersion"] in LIST_VERSIONS)
        if params["etcd_external"]:
            set_etcd_external(new, params["etcd_external"])
        if params["control_plane_endpoint"] is not None:
            new["controlPlaneEndpoint"] = params["control_plane_endpoint"]
        after = text if new == doc else dump(new)
        if yaml.safe_load(after) != new:  # pragma: no cover - defensive
            raise ConfigError("internal error: the new ClusterConfiguration does not read back as written; nothing was written")
        texts.update(before=text, after=after, doc=new, api_version=doc["apiVersion"])
        configmap["data"][KEY] = after

    api = None
    try:
        api = KubeApi(params)
        before, _after = update_object(api, configmap_path(NAMESPACE, NAME), WHAT, edit, module.check_mode)
    except (KubeApiError, KubeObjectError, ConfigError) as exc:
        module.fail_json(msg=str(exc))
    finally:
        if api is not None:
            api.close()
    if before is None:
        module.fail_json(msg="%s does not exist: this is not a kubeadm cluster (kubeadm init writes it), or the API "
                             "server is not this cluster's" % WHAT)
    result = dict(changed=texts["before"] != texts["after"], cluster_configuration=texts["doc"], api_version=texts["api_version"])
    if module._diff:
        result["diff"] = dict(before=texts["before"], after=texts["after"],
                              before_header="%s data.%s" % (WHAT, KEY), after_header="%s data.%s" % (WHAT, KEY))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
