#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: apiserver_count
short_description: Check kube-apiserver's C(--apiserver-count) and endpoint reconciler on a master
version_added: 0.3.0
description:
  - Read-only check, run on a Kubernetes master, of the classic mistake of a highly available control plane set up by hand
    with the C(master-count) endpoint reconciler, a C(--apiserver-count) that is not the number of apiservers.
    The apiservers then keep resetting the endpoints of the C(kubernetes) service
    (they log C(Resetting endpoints for master service)) and clients of that service reach a changing subset of them.
  - Reads the effective on-disk configuration, either the systemd unit O(unit) of the distribution packages with its
    sysconfig files (C(/etc/kubernetes/config) and C(/etc/kubernetes/apiserver)) or a kubeadm static pod manifest,
    and the command line of the running C(kube-apiserver) process,
    and tells whether the process still runs with other flags than the configuration sets (a restart is pending).
  - In the V(sysconfig) layout the unit is read with C(systemctl show) (C(ExecStart=), C(Environment=),
    C(EnvironmentFile=), C(User=), C(Group=), drop-ins), and its command line is expanded as systemd expands it
    when it starts the unit, C(Environment=) then the C(EnvironmentFile=) files in order, later ones overriding
    earlier ones (see O(unit)). Where C(systemctl) is missing or does not know the unit, the fixed variables of
    O(sysconfig_vars) are used instead, and RV(notes) says so.
  - With O(api_url), also reads the endpoints of the C(kubernetes) service from the API.
  - Every problem found is a plain sentence in RV(problems) that says what is wrong and what to set.
    By default the module reports and does not fail; set O(fail_on_mismatch=true) to fail when there is a problem.
  - Never changes anything.
author:
  - kubeha.control_plane contributors (@kubeha)
requirements:
  - PyYAML on the master when a static pod manifest must be read
    (package C(python3-yaml) on Debian and Ubuntu, C(python3-pyyaml) on Enterprise Linux).
  - C(systemctl) (systemd 239 or later) on the master to read the unit in the V(sysconfig) layout.
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: The module only reads; it behaves the same in check mode.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
    details: Linux only (reads C(/proc/<pid>/cmdline)).
options:
  expected:
    description:
      - The number of apiservers of the control plane, usually the size of the inventory group of masters.
      - Must be at least V(1).
      - Without it, the module reports the configuration and checks everything except the count.
    type: int
  layout:
    description:
      - Which on-disk configuration kube-apiserver is started from.
      - V(sysconfig) is the distribution packages' unit and its files in O(sysconfig_dir).
      - V(static_pod) is a static pod manifest (O(manifest)) run by the kubelet (kubeadm).
      - V(auto) is V(static_pod) when O(manifest) exists, V(sysconfig) otherwise.
    type: str
    choices: [auto, sysconfig, static_pod]
    default: auto
  sysconfig_dir:
    description:
      - Directory of the sysconfig files C(config) and C(apiserver), read as systemd's C(EnvironmentFile=) reads them
        (C(apiserver) overrides C(config)).
      - The V(sysconfig) layout exists when C(apiserver) exists in this directory. When the unit is read, the files are
        those of its C(EnvironmentFile=); it is a problem when the unit does not read C(apiserver) of this directory.
    type: path
    default: /etc/kubernetes
  unit:
    description:
      - The systemd unit that runs kube-apiserver in the V(sysconfig) layout, read with
        C(systemctl show UNIT -p ExecStart -p Environment -p EnvironmentFiles -p User -p Group -p DropInPaths ...).
      - Its C(ExecStart=) is expanded as systemd does it when it starts the unit. An unquoted C($VAR) that is a whole word
        becomes the words of the variable's value split on whitespace (quotes in the value group words), and an unset or
        empty variable gives no word. C(${VAR}) is replaced by the value as it is, one word. C($$) is C($).
        The variables are those of C(Environment=), then those of the C(EnvironmentFile=) files in order; later ones
        override earlier ones, files override C(Environment=). A missing file whose name has the C(-) prefix is
        ignored; a missing file without it is a problem (systemd does not start the unit).
      - C(systemctl show) joins the words of the command with spaces; the module reads the unit file and its drop-ins
        (C(FragmentPath), C(DropInPaths)) to recover words that contain spaces, where they agree with what systemd loaded.
      - Variables that systemd itself sets (C($HOME), C($USER) ...) and the manager's environment are taken as unset.
    type: str
    default: kube-apiserver.service
    version_added: 0.5.0
  sysconfig_vars:
    description:
      - The fallback where the unit cannot be read (C(systemctl) is not in the PATH, fails, or does not know O(unit)),
        the variables the unit's C(ExecStart=) is taken to pass to kube-apiserver, in order, each as an unquoted C($VAR)
        (its value is split on whitespace).
      - The default is the order of the C(kube-apiserver.service) unit of the distribution packages.
    type: list
    elements: str
    default:
      - KUBE_LOGTOSTDERR
      - KUBE_LOG_LEVEL
      - KUBE_ETCD_SERVERS
      - KUBE_API_ADDRESS
      - KUBE_API_PORT
      - KUBELET_PORT
      - KUBE_ALLOW_PRIV
      - KUBE_SERVICE_ADDRESSES
      - KUBE_ADMISSION_CONTROL
      - KUBE_API_ARGS
  manifest:
    description:
      - Path of the kube-apiserver static pod manifest.
    type: path
    default: /etc/kubernetes/manifests/kube-apiserver.yaml
  container:
    description:
      - Name of the kube-apiserver container in O(manifest).
    type: str
    default: kube-apiserver
  process_name:
    description:
      - Program name of the running apiserver. A process runs it when the base name of its C(argv[0]) is this name,
        or when C(argv[0]) is an interpreter (C(python3), C(sh), ...) and the base name of C(argv[1]) is this name.
      - Also the command run with C(--version) to learn the version (see O(version)).
    type: str
    default: kube-apiserver
  proc_root:
    description:
      - Where the process table is mounted. Only useful for tests.
    type: path
    default: /proc
  version:
    description:
      - Kubernetes version of the apiserver (V(1.10), V(v1.10.13), an image reference with a version tag).
        It decides the default endpoint reconciler (C(master-count) before 1.11, C(lease) from 1.11 on).
      - When not given, the tag of the container image in O(manifest) (layout V(static_pod)),
        otherwise the output of C(<process_name> --version). When neither gives a version, the reconciler
        is RV(reconciler=unknown) unless C(--endpoint-reconciler-type) is set.
      - Quote it in YAML, as in V("1.10"), since an unquoted C(1.10) is the number 1.1.
    type: str
  api_url:
    description:
      - Base URL of the Kubernetes API (V(https://10.0.0.10:6443)). When given, the module reads the endpoints of the
        C(kubernetes) service in the C(default) namespace and checks them.
      - Needs a client allowed to C(get) C(endpoints) in the C(default) namespace (O(token), or O(client_cert) and O(client_key)).
    type: str
  kubeconfig:
    description:
      - A kubeconfig on the host whose CA and credentials read the endpoints (for example V(/etc/kubernetes/admin.conf) on a
        kubeadm control-plane node, needed where anonymous requests are refused); its server is used unless O(api_url) is given.
      - Needs PyYAML on the host.
    type: path
    version_added: 0.5.0
  validate_certs:
    description:
      - Whether to verify the certificate of O(api_url).
    type: bool
    default: true
  ca_path:
    description:
      - CA certificate (PEM) that signed the certificate of O(api_url), for example C(/etc/kubernetes/pki/ca.crt).
    type: path
  client_cert:
    description:
      - Client certificate (PEM) to authenticate to O(api_url).
    type: path
  client_key:
    description:
      - Private key (PEM) of O(client_cert), when it is not in the same file.
    type: path
  token:
    description:
      - Bearer token to authenticate to O(api_url).
    type: str
  timeout:
    description:
      - Timeout in seconds of the request to O(api_url).
    type: int
    default: 5
  fail_on_mismatch:
    description:
      - Fail when RV(problems) is not empty. The message is the problems, and all return values are returned too.
    type: bool
    default: false
notes:
  - The module reads files readable only by root (the static pod manifest, C(/proc/<pid>/cmdline) of another user's process),
    so run it with O(ignore:become=true).
  - Unit specifiers (C(%n), C(%i) ...) in the unit files are not resolved by the module; the command line C(systemctl show)
    prints, in which systemd has resolved them, is used then.
  - Values of flags whose name contains C(token), C(password) or C(key-data) are masked in what the module returns.
seealso:
  - name: kube-apiserver flags
    description: The C(--apiserver-count) and C(--endpoint-reconciler-type) flags.
    link: https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/
"""

EXAMPLES = r"""
- name: Check --apiserver-count against the inventory
  kubeha.control_plane.apiserver_count:
    expected: "{{ groups['kube_masters'] | length }}"
  become: true
  register: apiserver_count

- name: Show what is wrong
  ansible.builtin.debug:
    msg: "{{ apiserver_count.problems }}"
  when: apiserver_count.problems | length > 0

- name: Fail the play on a wrong count, and compare with the endpoints the API serves
  kubeha.control_plane.apiserver_count:
    expected: "{{ groups['kube_masters'] | length }}"
    api_url: "https://{{ ansible_host }}:6443"
    ca_path: /etc/kubernetes/pki/ca.crt
    client_cert: /etc/kubernetes/pki/apiserver-kubelet-client.crt
    client_key: /etc/kubernetes/pki/apiserver-kubelet-client.key
    fail_on_mismatch: true
  become: true

- name: An old sysconfig master whose kube-apiserver --version is not usable
  kubeha.control_plane.apiserver_count:
    expected: 3
    layout: sysconfig
    version: "1.10"
  become: true

- name: Learn the user the unit runs kube-apiserver as (the CentOS packages set User=kube)
  kubeha.control_plane.apiserver_count:
    layout: sysconfig
    unit: kube-apiserver.service
  become: true
  register: apiserver_unit

- name: Give that user the serving key
  ansible.builtin.file:
    path: /etc/kubernetes/certs/apiserver.key
    owner: "{{ apiserver_unit.unit.user | default('root', true) }}"
    mode: "0600"
  become: true
  when: apiserver_unit.unit is not none
"""

RETURN = r"""
layout:
  description: The effective layout (V(sysconfig) or V(static_pod)), O(layout) with V(auto) resolved.
  returned: always
  type: str
  sample: sysconfig
sources:
  description:
    - What each place kube-apiserver's flags can come from says. A key is null when that place does not exist
      (no C(apiserver) file in O(sysconfig_dir), no O(manifest), no running process).
    - Each non-null value has the keys C(argv) (the arguments after the program name), C(flags)
      (flag name without dashes and with C(-) for C(_), to value; the last occurrence wins),
      C(apiserver_count) (integer, V(1) when the flag is absent, null when invalid),
      C(reconciler) (V(master-count), V(lease), V(none) or V(unknown)) and C(error) (null, or why the source
      could not be read; then the other keys are null). C(sysconfig) and C(static_pod) also have C(path)
      (C(sysconfig) also C(files), the files read); C(process) has C(pid).
  returned: always
  type: dict
  contains:
    sysconfig:
      description:
        - The command line of the unit O(unit) with the sysconfig files in O(sysconfig_dir) (C(argv) has the arguments after
          the program); C(files) are the C(EnvironmentFile=) files read, in order. Null when C(apiserver) does not exist
          in O(sysconfig_dir).
        - Where the unit was not read (see RV(notes)), the variables of O(sysconfig_vars) in C(config) and C(apiserver).
      type: dict
      returned: always
      sample:
        path: /etc/kubernetes/apiserver
        files: [/etc/kubernetes/config, /etc/kubernetes/apiserver]
        argv: [--logtostderr=true, --v=0, --etcd-servers=https://10.0.0.11:2379, --apiserver-count=3]
        flags: {logtostderr: "true", v: "0", etcd-servers: "https://10.0.0.11:2379", apiserver-count: "3"}
        apiserver_count: 3
        reconciler: master-count
        error: null
    static_pod:
      description: The container O(container) of the static pod O(manifest).
      type: dict
      returned: always
      sample: null
    process:
      description: The running process (the one with the lowest pid when there are several).
      type: dict
      returned: always
      sample:
        pid: 4242
        argv: [/usr/bin/kube-apiserver, --logtostderr=true, --v=0, --apiserver-count=1]
        flags: {logtostderr: "true", v: "0", apiserver-count: "1"}
        apiserver_count: 1
        reconciler: master-count
        error: null
apiserver_count:
  description: C(--apiserver-count) of the effective on-disk configuration (V(1) when the flag is absent).
  returned: always; null when there is no readable configuration or the value is not an integer
  type: int
  sample: 3
reconciler:
  description:
    - Endpoint reconciler of the effective on-disk configuration, V(master-count), V(lease), V(none),
      or V(unknown) (version unknown and C(--endpoint-reconciler-type) not set, or an invalid value).
  returned: always
  type: str
  sample: master-count
version:
  description: The Kubernetes version used to decide the default reconciler, as given or found (null when unknown).
  returned: always
  type: str
  sample: v1.10.13
running:
  description: Whether a kube-apiserver process runs on the host.
  returned: always
  type: bool
  sample: true
restart_pending:
  description:
    - Whether the running process was started with other flags than the effective on-disk configuration sets.
    - Null when no process runs or when either side could not be read.
  returned: always
  type: bool
  sample: false
unit:
  description:
    - The systemd unit O(unit) as systemd has loaded it, in the V(sysconfig) layout.
    - Null in the V(static_pod) layout, and where the unit could not be read (RV(notes) says why).
  returned: always
  type: dict
  version_added: 0.5.0
  contains:
    name:
      description: The unit's name (C(Id)), for example C(kube-apiserver.service).
      type: str
      returned: always
    fragment_path:
      description: The unit file (null when systemd has none, for example a transient unit).
      type: str
      returned: always
    drop_ins:
      description: The drop-in files, in the order systemd applies them.
      type: list
      elements: str
      returned: always
    exec_start:
      description:
        - The words of the C(ExecStart=) command before expansion (C(argv[0]) first, C($VAR) as written); secret-looking
          values masked.
        - Null when the unit has no command.
      type: list
      elements: str
      returned: always
    environment_files:
      description: The C(EnvironmentFile=) settings in order.
      type: list
      elements: dict
      returned: always
      contains:
        path:
          description: The file (or glob pattern).
          type: str
          returned: always
        ignore_errors:
          description: Whether the setting has the C(-) prefix (a missing file is ignored).
          type: bool
          returned: always
        exists:
          description: Whether the file exists (a pattern matches a file).
          type: bool
          returned: always
    user:
      description: C(User=) of the unit, null when it is not set (root).
      type: str
      returned: always
    group:
      description: C(Group=) of the unit, null when it is not set.
      type: str
      returned: always
  sample:
    name: kube-apiserver.service
    fragment_path: /usr/lib/systemd/system/kube-apiserver.service
    drop_ins: []
    exec_start: [/usr/bin/kube-apiserver, $KUBE_LOGTOSTDERR, $KUBE_LOG_LEVEL, $KUBE_ETCD_SERVERS, $KUBE_API_ADDRESS,
                 $KUBE_API_PORT, $KUBELET_PORT, $KUBE_ALLOW_PRIV, $KUBE_SERVICE_ADDRESSES, $KUBE_ADMISSION_CONTROL,
                 $KUBE_API_ARGS]
    environment_files:
      - {path: /etc/kubernetes/config, ignore_errors: true, exists: true}
      - {path: /etc/kubernetes/apiserver, ignore_errors: true, exists: true}
    user: kube
    group: null
endpoints:
  description:
    - Addresses of the C(kubernetes) service endpoints (C(subsets[].addresses[].ip)), de-duplicated and sorted.
    - Null when O(api_url) is not given or the endpoints could not be read (RV(problems) then says why).
  returned: always
  type: list
  elements: str
  sample: [10.0.0.11, 10.0.0.12, 10.0.0.13]
expected:
  description: O(expected), as given.
  returned: always
  type: int
  sample: 3
problems:
  description: What is wrong, one sentence each, saying what to set.
  returned: always
  type: list
  elements: str
  sample:
    - >-
      kube-apiserver uses the master-count endpoint reconciler with --apiserver-count=1 in /etc/kubernetes/apiserver,
      but the inventory has 3 apiservers: set --apiserver-count=3 (or move to --endpoint-reconciler-type=lease
      on Kubernetes 1.11 or later).
notes:
  description: Remarks that are not problems (a stale C(--apiserver-count) with the lease reconciler, an unknown version).
  returned: always
  type: list
  elements: str
  sample:
    - >-
      --apiserver-count=3 in /etc/kubernetes/apiserver has no effect with the lease endpoint reconciler;
      it can be removed.
"""

import glob
import ipaddress
import json
import os
import re
import traceback
from http.client import HTTPException
from urllib.error import HTTPError, URLError

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.urls import open_url

from ansible_collections.kubeha.control_plane.plugins.module_utils._systemd_unit import (
    SHOW_PROPERTIES,
    SystemdUnitError,
    environment_dict,
    expand_exec_argv,
    parse_environment_files,
    parse_exec_property,
    parse_show,
    parse_strv,
    parse_unit_files,
    referenced_variables,
    show_value,
)
from ansible_collections.kubeha.control_plane.plugins.module_utils._kubeapi import KubeApi, KubeApiError, auth_hint
from ansible_collections.kubeha.control_plane.plugins.module_utils.kube_flags import (
    KubeFlagsError,
    effective_reconciler,
    flag_of_word,
    flags_from_argv,
    flags_from_manifest,
    is_secret_flag,
    manifest_image,
    mask_argv,
    mask_flags,
    parse_cmdline,
    parse_env_file,
    parse_version,
    program_args,
    sysconfig_argv,
)

try:
    import yaml
except ImportError:  # pragma: no cover - exercised by a unit test that hides yaml
    yaml = None
    YAML_IMPORT_ERROR = traceback.format_exc()
else:
    YAML_IMPORT_ERROR = None

SYSCONFIG_VARS = [
    "KUBE_LOGTOSTDERR",
    "KUBE_LOG_LEVEL",
    "KUBE_ETCD_SERVERS",
    "KUBE_API_ADDRESS",
    "KUBE_API_PORT",
    "KUBELET_PORT",
    "KUBE_ALLOW_PRIV",
    "KUBE_SERVICE_ADDRESSES",
    "KUBE_ADMISSION_CONTROL",
    "KUBE_API_ARGS",
]
ENDPOINTS_PATH = "/api/v1/namespaces/default/endpoints/kubernetes"
LANG_C = dict(LANG="C", LC_ALL="C")
_GLOB = re.compile(r"[*?[]")
LEASE_HINT = "(or move to --endpoint-reconciler-type=lease on Kubernetes 1.11 or later)"


def _empty_source(**keys):
    source = dict(argv=None, flags=None, apiserver_count=None, reconciler=None, error=None)
    source.update(keys)
    return source


def _show(name, value):
    if value is None:
        return "not set"
    return "********" if is_secret_flag(name) else value


def _address_key(text):
    try:
        addr = ipaddress.ip_address(text)
        return (0, addr.version, int(addr), text)
    except ValueError:
        return (1, 0, 0, text)


def _same_address(a, b):
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


class ApiserverCount:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.problems = []
        self.notes = []
        self.version_text = None
        self.version = None

    # -- on-disk configuration ------------------------------------------------

    def read_unit(self):
        """The unit as systemd has loaded it (systemctl show), or None, and then a note says why."""
        name = self.params["unit"]
        fallback = (
            "its command line is taken to be the variables of sysconfig_vars (%s) in %s, as the distribution "
            "packages' unit passes them" % (" ".join(self.params["sysconfig_vars"]),
                                            " and ".join(self._sysconfig_paths()))
        )
        systemctl = self.module.get_bin_path("systemctl")
        if systemctl is None:
            self.notes.append("systemctl is not in the PATH, so the unit %s was not read: %s." % (name, fallback))
            return None
        argv = [systemctl, "show", name]
        for prop in SHOW_PROPERTIES:
            argv.extend(["-p", prop])
        rc, out, err = self.module.run_command(argv, environ_update=LANG_C)
        if rc != 0:
            detail = " ".join((err or out or "").split())[:200] or "no output"
            self.notes.append("'systemctl show %s' exited with %d (%s), so the unit was not read: %s."
                              % (name, rc, detail, fallback))
            return None
        try:
            props = parse_show(out)
        except SystemdUnitError as exc:
            self.notes.append("'systemctl show %s' printed what this module cannot read (%s), so the unit was not "
                              "read: %s." % (name, exc, fallback))
            return None
        state = show_value(props, "LoadState")
        if state != "loaded":
            if state == "not-found":
                why = "systemd does not know the unit %s (LoadState=not-found)" % name
            else:
                why = "the unit %s is not loaded (LoadState=%s)" % (name, state or "unknown")
            self.notes.append("%s: %s." % (why, fallback))
            return None
        unit_id = show_value(props, "Id") or name
        try:
            drop_ins = [p for p in parse_strv(show_value(props, "DropInPaths")) if p]
            env_files = parse_environment_files(props.get("EnvironmentFiles", []))
            environment = parse_strv(show_value(props, "Environment"))
            commands = [parse_exec_property(v) for v in props.get("ExecStart", []) if v]
        except SystemdUnitError as exc:
            return self._unit(unit_id, props, error="'systemctl show %s' printed what this module cannot read (%s): "
                                                    "check the unit with systemctl cat %s." % (name, exc, unit_id))
        unit = self._unit(unit_id, props, drop_ins=drop_ins, env_files=env_files)
        if show_value(props, "NeedDaemonReload") == "yes":
            self.notes.append(
                "The unit files of %s changed since systemd loaded them: the unit as loaded is checked, as a restart "
                "would run it until systemctl daemon-reload." % unit_id
            )
        if not commands:
            unit["_error"] = "the unit %s has no ExecStart= command: check it with systemctl cat %s." % (unit_id, unit_id)
            return unit
        if len(commands) > 1:
            self.notes.append("The unit %s has %d ExecStart= commands; the first is checked." % (unit_id, len(commands)))
        command = commands[0]
        files = self._read_unit_files(unit)
        unit["_template"] = command["argv"]
        unit["_exec_source"] = "ExecStart= of %s" % unit_id
        unit["_no_env_expand"] = False
        if files is not None:
            parsed = files["exec_start"]
            # The words of the unit files, where they are what systemd loaded (systemctl joins them with spaces).
            if len(parsed) == len(commands) and parsed[0]["exact"] and " ".join(parsed[0]["argv"]) == command["argv_text"]:
                unit["_template"] = parsed[0]["argv"]
                unit["_exec_source"] = parsed[0]["source"]
                unit["_no_env_expand"] = parsed[0]["no_env_expand"]
        if None in environment:
            known = files and files["environment"]
            printable = [e for e in environment if e is not None]
            if known and len(known) == len(environment) and all(
                    e is None or e == k for e, k in zip(environment, known)):
                environment = known
            else:
                self.notes.append(
                    "systemctl prints some Environment= entries of %s as [unprintable] (values with spaces, older "
                    "systemd): the variables they set are taken as unset." % unit_id
                )
                environment = printable
        unit["_environment"] = environment
        unit["exec_start"] = mask_argv(unit["_template"])
        return unit

    def _unit(self, unit_id, props, drop_ins=None, env_files=None, error=None):
        return dict(
            name=unit_id,
            fragment_path=show_value(props, "FragmentPath") or None,
            drop_ins=drop_ins or [],
            exec_start=None,
            environment_files=[dict(path=p, ignore_errors=i, exists=self._env_file_matches(p) != [])
                               for p, i in (env_files or [])],
            user=show_value(props, "User") or None,
            group=show_value(props, "Group") or None,
            _env_files=env_files or [],
            _template=None,
            _error=error,
        )

    @staticmethod
    def _env_file_matches(path):
        """The files an EnvironmentFile= path names (a glob pattern is expanded, sorted, as systemd does)."""
        if _GLOB.search(path):
            return sorted(p for p in glob.glob(path) if os.path.isfile(p))
        return [path] if os.path.exists(path) else []

    def _read_unit_files(self, unit):
        """The ExecStart= and Environment= of the unit file and its drop-ins, or None when they cannot be read."""
        texts = []
        for path in [unit["fragment_path"]] + unit["drop_ins"]:
            if not path:
                return None
            try:
                with open(path, "rb") as fh:
                    texts.append((path, fh.read()))
            except OSError:
                return None
        try:
            return parse_unit_files(texts)
        except SystemdUnitError:
            return None

    def _sysconfig_paths(self):
        directory = self.params["sysconfig_dir"]
        return [os.path.join(directory, "config"), os.path.join(directory, "apiserver")]

    def read_sysconfig(self, unit):
        apiserver_file = self._sysconfig_paths()[1]
        if not os.path.exists(apiserver_file):
            return None
        if unit is None:
            return self._read_sysconfig_vars(apiserver_file)
        return self._read_sysconfig_unit(apiserver_file, unit)

    def _read_env_file(self, source, path):
        """The variables of one environment file, or None after recording why it cannot be read."""
        try:
            with open(path, "rb") as fh:
                return parse_env_file(fh.read())
        except OSError as exc:
            self._source_error(source, "%s cannot be read: %s: fix its permissions." % (path, to_native(exc)))
        except KubeFlagsError as exc:
            self._source_error(
                source, "%s cannot be read as systemd's EnvironmentFile= reads it (%s): correct that line." % (path, exc)
            )
        return None

    def _read_sysconfig_vars(self, apiserver_file):
        """The fallback: the fixed variables of sysconfig_vars, as the distribution packages' unit passes them."""
        files = [p for p in self._sysconfig_paths() if os.path.exists(p)]
        source = _empty_source(path=apiserver_file, files=files)
        env = {}
        origin = {}
        for path in files:
            data = self._read_env_file(source, path)
            if data is None:
                return source
            env.update(data)
            origin.update((name, path) for name in data)
        origins = {}
        for name in self.params["sysconfig_vars"]:
            for word in sysconfig_argv(env, [name]):
                flag = flag_of_word(word)
                if flag:
                    origins[flag] = origin[name]
        source["_origins"] = origins
        source["_where"] = " and ".join(files)
        return self._fill_source(source, sysconfig_argv(env, self.params["sysconfig_vars"]), source["_where"])

    def _read_sysconfig_unit(self, apiserver_file, unit):
        """The command line of the unit: ExecStart= expanded with Environment= and the EnvironmentFile= files."""
        name = unit["name"]
        source = _empty_source(path=apiserver_file, files=[])
        if unit["_error"] or unit["_template"] is None:
            return self._source_error(source, unit["_error"])
        env = environment_dict(unit["_environment"])
        origin = dict((var, "Environment= of %s" % name) for var in env)
        files = []
        apiserver_vars = None
        for path, ignore_errors in unit["_env_files"]:
            matches = self._env_file_matches(path)
            if not matches and not ignore_errors:
                self.problems.append(
                    "%s reads EnvironmentFile=%s, which does not exist: systemd refuses to start it; create the file, "
                    "or write EnvironmentFile=-%s to let the unit start without it." % (name, path, path)
                )
            for match in matches:
                # Later files override earlier ones, and all of them override Environment= (systemd.exec(5)).
                data = self._read_env_file(source, match)
                if data is None:
                    return source
                env.update(data)
                origin.update((var, match) for var in data)
                files.append(match)
                if os.path.realpath(match) == os.path.realpath(apiserver_file):
                    apiserver_vars = data
        source["files"] = files
        template = unit["_template"]
        if apiserver_vars is None:
            self.problems.append(
                "%s does not read %s (its EnvironmentFile= are %s): the flags set there have no effect; add "
                "EnvironmentFile=-%s to the unit (in a drop-in), or set sysconfig_dir to where its files are."
                % (name, apiserver_file, ", ".join(p for p, _i in unit["_env_files"]) or "none", apiserver_file)
            )
        else:
            used = referenced_variables(template)
            unused = [var for var, value in apiserver_vars.items() if value and var not in used]
            if unused and not unit["_no_env_expand"]:
                self.notes.append(
                    "%s set in %s %s not used by the ExecStart= of %s: %s no effect."
                    % (", ".join(unused), apiserver_file, "is" if len(unused) == 1 else "are", name,
                       "it has" if len(unused) == 1 else "they have")
                )
        if unit["_no_env_expand"]:
            expanded = [(word, ()) for word in template]
        else:
            expanded = expand_exec_argv(template, env)
        words = [word for word, _names in expanded]
        args = program_args(words, self.params["process_name"])
        if args is None:
            self.notes.append("The ExecStart= of %s runs %s, not %s: its arguments after the program are checked."
                              % (name, words[0] if words else "nothing", self.params["process_name"]))
            args = words[1:]
        origins = {}
        for word, names in expanded[len(words) - len(args):]:
            flag = flag_of_word(word)
            if flag:
                origins[flag] = origin.get(names[-1], unit["_exec_source"]) if names else unit["_exec_source"]
        source["_origins"] = origins
        source["_where"] = "%s with %s" % (name, " and ".join(files)) if files else name
        return self._fill_source(source, args, source["_where"])

    def read_static_pod(self, needed):
        path = self.params["manifest"]
        if not os.path.exists(path):
            return None
        source = _empty_source(path=path, image=None)
        if yaml is None:
            if needed:
                self.module.fail_json(
                    msg=missing_required_lib(
                        "PyYAML",
                        reason="to read %s (install python3-yaml on Debian and Ubuntu, python3-pyyaml on Enterprise Linux)"
                        % path,
                    ),
                    exception=YAML_IMPORT_ERROR,
                )
            source["error"] = "PyYAML is not installed: %s was not read" % path
            self.notes.append("%s exists but was not read: PyYAML is missing (python3-yaml on Debian and Ubuntu, "
                              "python3-pyyaml on Enterprise Linux)." % path)
            return source
        try:
            with open(path, "rb") as fh:
                data = yaml.safe_load(fh)
        except OSError as exc:
            return self._source_error(source, "%s cannot be read: %s: fix its permissions." % (path, to_native(exc)))
        except yaml.YAMLError as exc:
            return self._source_error(
                source, "%s is not valid YAML (%s): correct the manifest." % (path, " ".join(to_native(exc).split()))
            )
        container = self.params["container"]
        try:
            argv = flags_from_manifest(data, container)
            source["image"] = manifest_image(data, container)
        except KubeFlagsError as exc:
            return self._source_error(
                source, "%s is not a usable static pod manifest: %s; correct the manifest." % (path, exc)
            )
        source["_where"] = path
        return self._fill_source(source, argv, path)

    def _source_error(self, source, sentence):
        self.problems.append(sentence)
        source["error"] = sentence
        return source

    def _fill_source(self, source, argv, where):
        try:
            flags = flags_from_argv(argv)
        except KubeFlagsError as exc:
            return self._source_error(
                source, "the kube-apiserver arguments in %s cannot be read: %s; correct them." % (where, exc)
            )
        source["_flags"] = flags
        source["argv"] = mask_argv(argv)
        source["flags"] = mask_flags(flags)
        return source

    # -- running process --------------------------------------------------------

    def read_process(self):
        root = self.params["proc_root"]
        name = self.params["process_name"]
        try:
            entries = sorted((int(e) for e in os.listdir(root) if e.isdigit()))
        except OSError as exc:
            self.notes.append("%s cannot be listed (%s): running processes were not checked." % (root, to_native(exc)))
            return None
        found = []
        for pid in entries:
            try:
                with open(os.path.join(root, str(pid), "cmdline"), "rb") as fh:
                    argv = parse_cmdline(fh.read())
            except (OSError, KubeFlagsError):
                continue  # gone meanwhile, or not ours to read
            args = program_args(argv, name)
            if args is not None:
                found.append((pid, argv, args))
        if not found:
            return None
        pid, argv, args = found[0]
        if len(found) > 1:
            self.notes.append("%d processes run %s (pids %s); pid %d was checked."
                              % (len(found), name, ", ".join(str(f[0]) for f in found), pid))
        source = _empty_source(pid=pid)
        try:
            flags = flags_from_argv(args)
        except KubeFlagsError as exc:
            source["argv"] = mask_argv(argv)
            return self._source_error(
                source, "the arguments of the running %s (pid %d) cannot be read: %s." % (name, pid, exc)
            )
        source["_flags"] = flags
        source["argv"] = mask_argv(argv)
        source["flags"] = mask_flags(flags)
        return source

    # -- version ------------------------------------------------------------------

    def find_version(self, layout, static_pod):
        if self.params["version"] is not None:
            self.version_text = self.params["version"]
            try:
                self.version = parse_version(self.version_text)
            except KubeFlagsError as exc:
                self.module.fail_json(msg="version: %s." % exc)
            return
        if layout == "static_pod":
            if static_pod and static_pod.get("image"):
                try:
                    self.version = parse_version(static_pod["image"])
                    self.version_text = static_pod["image"].split("@", 1)[0].rsplit("/", 1)[-1].rsplit(":", 1)[-1]
                except KubeFlagsError as exc:
                    self.notes.append("The Kubernetes version is unknown: %s; set the version option." % exc)
            return
        name = self.params["process_name"]
        binary = self.module.get_bin_path(name)
        if binary is None:
            self.notes.append("The Kubernetes version is unknown: %s is not in the PATH; set the version option." % name)
            return
        rc, out, err = self.module.run_command([binary, "--version"], environ_update=dict(LANG="C", LC_ALL="C"))
        text = (out or "").strip()
        if rc == 0:
            try:
                self.version = parse_version(text)
                self.version_text = text.split()[-1]
                return
            except KubeFlagsError:
                pass
        detail = " ".join((text or (err or "").strip()).split())[:200] or "no output"
        self.notes.append("The Kubernetes version is unknown: '%s --version' exited with %d (%s); set the version option."
                          % (binary, rc, detail))

    # -- per-source values ----------------------------------------------------------

    @staticmethod
    def place_of(source, flag, where):
        """Where a flag of a source is set: the file (or unit setting) its last occurrence comes from."""
        return (source.get("_origins") or {}).get(flag) or where

    def settle(self, source, where):
        """Set apiserver_count and reconciler of a source that was read."""
        if source is None or source.get("_flags") is None:
            return
        flags = source["_flags"]
        raw = flags.get("apiserver-count")
        if raw is None:
            source["apiserver_count"] = 1
        else:
            try:
                count = int(raw, 10)
            except ValueError:
                count = None
            if count is None or count < 1:
                self.problems.append(
                    "--apiserver-count=%s in %s is not a positive integer (kube-apiserver refuses to start): "
                    "set --apiserver-count=%s." % (raw, self.place_of(source, "apiserver-count", where),
                                                   self.params["expected"] or "<number of apiservers>")
                )
            else:
                source["apiserver_count"] = count
        try:
            source["reconciler"] = effective_reconciler(flags, self.version)
        except KubeFlagsError as exc:
            source["reconciler"] = "unknown"
            self.problems.append("%s in %s (kube-apiserver refuses to start): set --endpoint-reconciler-type=lease."
                                 % (exc, self.place_of(source, "endpoint-reconciler-type", where)))
            return
        if "endpoint-reconciler-type" in flags and self.version is not None and self.version < (1, 9):
            self.problems.append(
                "--endpoint-reconciler-type is set in %s, but Kubernetes %d.%d does not know that flag "
                "(it appeared in 1.9) and refuses to start: remove it."
                % ((self.place_of(source, "endpoint-reconciler-type", where),) + tuple(self.version))
            )

    # -- endpoints --------------------------------------------------------------------

    def fetch_endpoints(self):
        if self.params["kubeconfig"]:
            return self._fetch_with_kubeconfig()
        url = self.params["api_url"].rstrip("/") + ENDPOINTS_PATH
        headers = {"Accept": "application/json"}
        if self.params["token"]:
            headers["Authorization"] = "Bearer %s" % self.params["token"]
        try:
            response = open_url(
                url,
                method="GET",
                headers=headers,
                validate_certs=self.params["validate_certs"],
                ca_path=self.params["ca_path"],
                client_cert=self.params["client_cert"],
                client_key=self.params["client_key"],
                timeout=self.params["timeout"],
            )
            body = response.read()
        except HTTPError as exc:
            detail = ""
            try:
                status = json.loads(to_text(exc.read(), errors="surrogate_or_replace"))
                if isinstance(status, dict) and isinstance(status.get("message"), str):
                    detail = ": %s" % status["message"]
            except (AttributeError, TypeError, ValueError, OSError):  # the body of an error is only a detail
                pass
            hint = (
                "give token, or client_cert and client_key, of a user allowed to get endpoints in namespace default"
                if exc.code in (401, 403)
                else "check api_url"
            )
            self.problems.append("GET %s returned HTTP %s%s: %s." % (url, exc.code, detail, hint))
            return None
        except (URLError, HTTPException, ConnectionError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            self.problems.append(
                "GET %s failed (%s): check api_url, ca_path and validate_certs." % (url, to_native(reason))
            )
            return None
        try:
            data = json.loads(to_text(body, errors="surrogate_or_replace"))
        except ValueError as exc:
            self.problems.append("GET %s did not return JSON (%s): check that api_url is the Kubernetes API." % (url, exc))
            return None
        return self._endpoint_addresses(url, data)

    def _fetch_with_kubeconfig(self):
        """The endpoints read with a kubeconfig's CA and credentials (api_url, when given, replaces its server)."""
        params = dict(api_url=self.params["api_url"], kubeconfig=self.params["kubeconfig"], token=self.params["token"],
                      ca_file=self.params["ca_path"], client_cert=self.params["client_cert"],
                      client_key=self.params["client_key"], validate_certs=self.params["validate_certs"],
                      timeout=self.params["timeout"])
        api = None
        try:
            api = KubeApi(params)
            answer = api.get(ENDPOINTS_PATH)
        except KubeApiError as exc:
            self.problems.append("reading the kubernetes endpoints failed (%s): check api_url and kubeconfig." % exc)
            return None
        finally:
            if api is not None:
                api.close()
        if answer["status"] != 200:
            hint = auth_hint(answer) or "check api_url"
            self.problems.append("GET %s returned HTTP %s: %s." % (answer["url"], answer["status"], hint))
            return None
        if answer["json"] is None:
            self.problems.append("GET %s did not return JSON: check that api_url is the Kubernetes API." % answer["url"])
            return None
        return self._endpoint_addresses(answer["url"], answer["json"])

    def _endpoint_addresses(self, url, data):
        def wrong(what):
            self.problems.append("GET %s returned %s, not the Endpoints object of the kubernetes service: "
                                 "check that api_url is the Kubernetes API." % (url, what))

        if not isinstance(data, dict):
            return wrong("a JSON %s" % type(data).__name__)
        if data.get("kind") not in (None, "Endpoints"):
            return wrong("an object of kind %r" % data.get("kind"))
        subsets = data.get("subsets") or []
        if not isinstance(subsets, list):
            return wrong("subsets that are not a list")
        ips = set()
        for subset in subsets:
            addresses = (subset.get("addresses") or []) if isinstance(subset, dict) else None
            if not isinstance(addresses, list):
                return wrong("a subset without an addresses list")
            for address in addresses:
                if not isinstance(address, dict) or not isinstance(address.get("ip"), str):
                    return wrong("an address without an ip")
                ips.add(address["ip"])
        return sorted(ips, key=_address_key)

    # -- the check --------------------------------------------------------------------

    def run(self):
        params = self.params
        expected = params["expected"]
        if expected is not None and expected < 1:
            self.module.fail_json(msg="expected must be at least 1 (the number of apiservers), got %d." % expected)
        if params["timeout"] < 1:
            self.module.fail_json(msg="timeout must be at least 1 second, got %d." % params["timeout"])

        layout = params["layout"]
        manifest_exists = os.path.exists(params["manifest"])
        if layout == "auto":
            layout = "static_pod" if manifest_exists else "sysconfig"

        unit = self.read_unit() if layout == "sysconfig" else None
        sysconfig = self.read_sysconfig(unit)
        static_pod = self.read_static_pod(needed=layout == "static_pod")
        process = self.read_process()
        self.find_version(layout, static_pod)

        self.settle(sysconfig, sysconfig and sysconfig.get("_where"))
        self.settle(static_pod, params["manifest"])
        self.settle(process, "the command line of the running %s (pid %s)"
                    % (params["process_name"], process and process["pid"]))

        disk = sysconfig if layout == "sysconfig" else static_pod
        other = static_pod if layout == "sysconfig" else sysconfig
        sysconfig_file = os.path.join(params["sysconfig_dir"], "apiserver")
        if disk is None:
            if other is None:
                self.problems.append(
                    "kube-apiserver is configured in neither layout: neither %s nor %s exists: "
                    "install kube-apiserver's configuration (or set sysconfig_dir or manifest to where it is)."
                    % (sysconfig_file, params["manifest"])
                )
            else:
                self.problems.append(
                    "layout is %s but %s does not exist, while %s does: set layout=auto (or %s)."
                    % (layout, sysconfig_file if layout == "sysconfig" else params["manifest"],
                       other["path"], "static_pod" if layout == "sysconfig" else "sysconfig")
                )
        elif other is not None and other.get("error") is None:
            self.notes.append("%s also exists but is not the effective configuration (layout %s): remove it to avoid confusion."
                              % (other["path"], layout))

        count = disk and disk["apiserver_count"]
        reconciler = (disk and disk["reconciler"]) or "unknown"
        count_path = disk and self.place_of(disk, "apiserver-count", disk["path"])
        if disk is not None and disk.get("_flags") is not None:
            self.check_count(disk["_flags"], count, reconciler, count_path, expected)

        restart_pending = None
        if process is not None and process.get("_flags") is not None and disk is not None and disk.get("_flags") is not None:
            restart_pending = self.check_restart(process, disk, layout, unit)

        endpoints = None
        if params["api_url"] or params["kubeconfig"]:
            endpoints = self.fetch_endpoints()
        if endpoints is not None:
            running = process if process is not None and process.get("_flags") is not None else None
            flags = (running or disk or {}).get("_flags") or {}
            run_reconciler = (running or {}).get("reconciler") or reconciler
            self.check_endpoints(endpoints, run_reconciler, flags, running is not None, expected)

        if reconciler == "unknown" and disk is not None and disk.get("_flags") is not None \
                and "endpoint-reconciler-type" not in disk["_flags"]:
            self.notes.append(
                "The endpoint reconciler is unknown: the Kubernetes version is unknown and --endpoint-reconciler-type "
                "is not set; set the version option (master-count is the default before 1.11, lease from 1.11 on)."
            )

        sources = {}
        for key, source in (("sysconfig", sysconfig), ("static_pod", static_pod), ("process", process)):
            if source is not None:
                source = dict((k, v) for k, v in source.items() if not k.startswith("_"))
            sources[key] = source

        result = dict(
            changed=False,
            layout=layout,
            sources=sources,
            apiserver_count=count,
            reconciler=reconciler,
            version=self.version_text,
            running=process is not None,
            restart_pending=restart_pending,
            unit=unit and dict((k, v) for k, v in unit.items() if not k.startswith("_")),
            endpoints=endpoints,
            expected=expected,
            problems=self.problems,
            notes=self.notes,
        )
        if params["fail_on_mismatch"] and self.problems:
            self.module.fail_json(msg=" ".join(self.problems), **result)
        self.module.exit_json(**result)

    def check_count(self, flags, count, reconciler, count_path, expected):
        name = self.params["process_name"]
        if count is None:
            return  # an invalid value is already a problem
        shown = "--apiserver-count=%d" % count if "apiserver-count" in flags else "--apiserver-count unset (default 1)"
        if reconciler == "master-count" and expected is not None and count != expected:
            if "endpoint-reconciler-type" in flags and self.version is not None and self.version >= (1, 11):
                hint = "(or remove --endpoint-reconciler-type=master-count: lease is the default from Kubernetes 1.11)"
            elif self.version is not None and self.version < (1, 9):
                hint = "(or upgrade to Kubernetes 1.11 or later, whose lease endpoint reconciler needs no count)"
            else:
                hint = LEASE_HINT
            self.problems.append(
                "%s uses the master-count endpoint reconciler with %s in %s, but the inventory has %d apiserver%s: "
                "set --apiserver-count=%d %s." % (name, shown, count_path, expected, "" if expected == 1 else "s", expected, hint)
            )
        elif reconciler == "lease" and count != 1:
            self.notes.append(
                "%s in %s has no effect with the lease endpoint reconciler; it can be removed." % (shown, count_path)
            )

    def check_restart(self, process, disk, layout, unit):
        running, configured = process["_flags"], disk["_flags"]
        if dict(running) == dict(configured):
            return False
        names = list(configured) + [n for n in running if n not in configured]
        diffs = []
        for flag in names:
            have, want = running.get(flag), configured.get(flag)
            if have != want:
                diffs.append("--%s is %s running, %s in the configuration" % (flag, _show(flag, have), _show(flag, want)))
        name = self.params["process_name"]
        if layout == "sysconfig":
            where = disk["_where"]
            todo = "restart %s (systemctl restart %s) to apply them" % (name, unit["name"] if unit else name)
        else:
            where = disk["path"]
            todo = ("the kubelet restarts a static pod when its manifest changes: if it has not, "
                    "check the kubelet (journalctl -u kubelet)")
        self.problems.append(
            "the running %s (pid %d) was started with other flags than %s sets now (%s): %s."
            % (name, process["pid"], where, "; ".join(diffs), todo)
        )
        return True

    def check_endpoints(self, endpoints, reconciler, flags, running, expected):
        listed = ", ".join(endpoints) or "none"
        if reconciler == "master-count" and expected is not None and len(endpoints) > expected:
            self.problems.append(
                "the kubernetes service lists %d endpoints (%s) but the inventory has %d apiserver%s: with the "
                "master-count endpoint reconciler an apiserver that is gone stays listed while --apiserver-count "
                "allows it; set --apiserver-count=%d on every master %s."
                % (len(endpoints), listed, expected, "" if expected == 1 else "s", expected, LEASE_HINT)
            )
        advertise = flags.get("advertise-address")
        if reconciler == "lease" and running and advertise and not any(_same_address(advertise, e) for e in endpoints):
            self.problems.append(
                "the kubernetes service endpoints (%s) do not include this apiserver's --advertise-address %s although "
                "it runs with the lease endpoint reconciler: check that it is healthy and reaches etcd (it renews its "
                "address under /registry/masterleases/) and that --advertise-address is an address of this host."
                % (listed, advertise)
            )


def main():
    module = AnsibleModule(
        argument_spec=dict(
            expected=dict(type="int"),
            layout=dict(type="str", choices=["auto", "sysconfig", "static_pod"], default="auto"),
            sysconfig_dir=dict(type="path", default="/etc/kubernetes"),
            sysconfig_vars=dict(type="list", elements="str", default=SYSCONFIG_VARS),
            unit=dict(type="str", default="kube-apiserver.service"),
            manifest=dict(type="path", default="/etc/kubernetes/manifests/kube-apiserver.yaml"),
            container=dict(type="str", default="kube-apiserver"),
            process_name=dict(type="str", default="kube-apiserver"),
            proc_root=dict(type="path", default="/proc"),
            version=dict(type="str"),
            api_url=dict(type="str"),
            kubeconfig=dict(type="path"),
            validate_certs=dict(type="bool", default=True),
            ca_path=dict(type="path"),
            client_cert=dict(type="path"),
            client_key=dict(type="path"),
            token=dict(type="str", no_log=True),
            timeout=dict(type="int", default=5),
            fail_on_mismatch=dict(type="bool", default=False),
        ),
        required_by=dict(client_key="client_cert"),
        supports_check_mode=True,
    )
    ApiserverCount(module).run()


if __name__ == "__main__":
    main()
