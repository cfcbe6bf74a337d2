# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that check the flags a role is about to write against the Kubernetes version.

The roles' preflight calls them before anything changes: ``kube_flag_problems``
returns one sentence per flag the installed version refuses, ignores or does not
know; ``kube_flag_aliases`` finds the deprecated aliases in the flags of a file
so that the role replaces them. The rules and their sources are in
plugins/module_utils/_kube_versions.py.

The documentation of each filter lives beside this file in ``<filter>.yml``
(``ansible-doc -t filter kubeha.control_plane.kube_flag_problems``).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.kubeha.control_plane.plugins.module_utils._kube_versions import (
    COMPONENTS,
    KubeVersionsError,
    flag_aliases,
    flag_problems,
    parse_kube_version,
)


# \Z, not $: "$" also matches before a final newline (the same rule as the flag names of plugin_utils/_kube_text.py).
_FLAG_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*\Z")


def _flag_name(filter_name, name):
    """``name`` with ``_`` as ``-``, or AnsibleFilterError."""
    normalized = name.replace("_", "-") if isinstance(name, str) else None
    if normalized is None or not _FLAG_NAME.match(normalized):
        raise AnsibleFilterError(
            "%s: invalid flag name %r: write the name without leading dashes, in lower case, "
            "with letters, digits and '-' only (for example 'insecure-port')" % (filter_name, name)
        )
    return normalized


def _flags(filter_name, flags):
    """``flags`` with normalized names, in order; two spellings of one flag are an error."""
    if not isinstance(flags, Mapping):
        raise AnsibleFilterError(
            "%s: the input must be a dict of flag name (without dashes) -> value, got %s %r"
            % (filter_name, type(flags).__name__, flags)
        )
    result = OrderedDict()
    spelled = {}
    for name, value in flags.items():
        normalized = _flag_name(filter_name, name)
        if normalized in result:
            raise AnsibleFilterError("%s: flags %r and %r are the same flag (--%s); give it once"
                                     % (filter_name, spelled[normalized], name, normalized))
        spelled[normalized] = name
        result[normalized] = value
    return result


def _component(filter_name, component):
    if component not in COMPONENTS:
        raise AnsibleFilterError("%s: component %r is not one of %s" % (filter_name, component, ", ".join(COMPONENTS)))
    return component


def kube_flag_problems(flags, component, version):
    """Sentences for the flags ``component`` at ``version`` refuses, ignores or does not know (empty: none)."""
    filter_name = "kube_flag_problems"
    checked = _flags(filter_name, flags)
    _component(filter_name, component)
    try:
        parsed = parse_kube_version(version)
    except KubeVersionsError as exc:
        raise AnsibleFilterError("%s: version: %s" % (filter_name, exc)) from None
    try:
        return flag_problems(checked, component, parsed)
    except KubeVersionsError as exc:
        raise AnsibleFilterError("%s: %s" % (filter_name, exc)) from None


def kube_flag_aliases(flags, component="kube-apiserver"):
    """The deprecated aliases set in ``flags`` (the flags of a file), for the role to replace and warn about."""
    filter_name = "kube_flag_aliases"
    checked = _flags(filter_name, flags)
    _component(filter_name, component)
    try:
        return flag_aliases(checked, component)
    except KubeVersionsError as exc:
        raise AnsibleFilterError("%s: %s" % (filter_name, exc)) from None


class FilterModule:
    """kubeha.control_plane filters that check flags against Kubernetes versions."""

    def filters(self):
        return {
            "kube_flag_problems": kube_flag_problems,
            "kube_flag_aliases": kube_flag_aliases,
        }
