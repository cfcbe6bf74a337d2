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

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeha.control_plane.plugins.module_utils._apiserver_checks import ApiserverChecks
from ansible_collections.kubeha.control_plane.plugins.module_utils._apiserver_config import ApiserverConfig
from ansible_collections.kubeha.control_plane.plugins.module_utils._apiserver_live import fetch_endpoints, read_process

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


class ApiserverCount:
    """The check: the on-disk configuration (ApiserverConfig), the running process and the endpoints
    (_apiserver_live), judged by ApiserverChecks; problems and notes are shared by all of them."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.problems = []
        self.notes = []
        self.config = ApiserverConfig(module, self.problems, self.notes)
        self.checks = ApiserverChecks(module, self.problems, self.notes)

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

        config, checks = self.config, self.checks
        unit = config.read_unit() if layout == "sysconfig" else None
        sysconfig = config.read_sysconfig(unit)
        static_pod = config.read_static_pod(needed=layout == "static_pod")
        process = read_process(params["proc_root"], params["process_name"], self.problems, self.notes)
        checks.find_version(layout, static_pod)

        checks.settle(sysconfig, sysconfig and sysconfig.get("_where"))
        checks.settle(static_pod, params["manifest"])
        checks.settle(process, "the command line of the running %s (pid %s)"
                      % (params["process_name"], process and process["pid"]))

        disk = sysconfig if layout == "sysconfig" else static_pod
        other = static_pod if layout == "sysconfig" else sysconfig
        checks.check_layout(layout, disk, other)

        count = disk and disk["apiserver_count"]
        reconciler = (disk and disk["reconciler"]) or "unknown"
        count_path = disk and checks.place_of(disk, "apiserver-count", disk["path"])
        if disk is not None and disk.get("_flags") is not None:
            checks.check_count(disk["_flags"], count, reconciler, count_path, expected)

        restart_pending = None
        if process is not None and process.get("_flags") is not None and disk is not None and disk.get("_flags") is not None:
            restart_pending = checks.check_restart(process, disk, layout, unit)

        endpoints = None
        if params["api_url"] or params["kubeconfig"]:
            endpoints = fetch_endpoints(params, self.problems)
        if endpoints is not None:
            running = process if process is not None and process.get("_flags") is not None else None
            flags = (running or disk or {}).get("_flags") or {}
            run_reconciler = (running or {}).get("reconciler") or reconciler
            checks.check_endpoints(endpoints, run_reconciler, flags, running is not None, expected)

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
            version=checks.version_text,
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
