# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Judge kube-apiserver's ``--apiserver-count`` and endpoint reconciler on a master (private to the collection).

``ApiserverChecks`` works out the Kubernetes version (which decides the default endpoint
reconciler), the count and reconciler of each source that ``_apiserver_config`` and
``_apiserver_live`` read, and checks them against each other, the inventory's number of
apiservers and the endpoints the API serves. What is wrong is a sentence appended to the
caller's list of problems, a remark one appended to its notes; each says what to set.

Runs on the managed host: Python 3.8 or later, standard library and ansible's module_utils.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.kubeha.control_plane.plugins.module_utils._endpoint import parse_ip
from ansible_collections.kubeha.control_plane.plugins.module_utils.kube_flags import (
    MASK,
    KubeFlagsError,
    effective_reconciler,
    is_secret_flag,
    parse_version,
)

LEASE_HINT = "(or move to --endpoint-reconciler-type=lease on Kubernetes 1.11 or later)"


def _show(name, value):
    """A flag's value in a sentence: masked when secret-looking, 'not set' when absent."""
    if value is None:
        return "not set"
    return MASK if is_secret_flag(name) else value


def _same_address(a, b):
    """Whether two addresses are the same IP address (compared as text when either is not one)."""
    addr_a, addr_b = parse_ip(a), parse_ip(b)
    if addr_a is None or addr_b is None:
        return a == b
    return addr_a == addr_b


class ApiserverChecks:
    """The checks, with the module's options (``version``, ``process_name``, ``expected``, ``sysconfig_dir``,
    ``manifest``); appends to ``problems`` and ``notes``. ``version`` (a tuple) and ``version_text`` are known
    after ``find_version``."""

    def __init__(self, module, problems, notes):
        self.module = module
        self.params = module.params
        self.problems = problems
        self.notes = notes
        self.version_text = None
        self.version = None

    def find_version(self, layout, static_pod):
        """Set version and version_text: the version option, else the image tag of the static pod (layout
        static_pod) or what `<process_name> --version` prints; a note says why when it stays unknown."""
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

    def check_layout(self, layout, disk, other):
        """A problem when the configuration of the effective layout (``disk``) does not exist, a note when that
        of the other layout (``other``) exists too."""
        params = self.params
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

    def check_count(self, flags, count, reconciler, count_path, expected):
        """A problem when the master-count reconciler runs with another count than the inventory's, a note when
        --apiserver-count is set with the lease reconciler."""
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
        """Whether the running process has other flags than the configuration on disk (a problem says which)."""
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
        """Problems with the endpoints of the kubernetes service that the API serves."""
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
