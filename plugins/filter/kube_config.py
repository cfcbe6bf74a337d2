# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that edit Kubernetes configuration text in place: sysconfig /
EnvironmentFile variables (``kube_sysconfig``, ``kube_sysconfig_flags``), flag
lists (``kube_args``) and the server of a kubeconfig (``kube_kubeconfig_server``).

A role slurps a file, passes its text through one of these filters and writes
the result back with ``ansible.builtin.copy``: everything a filter does not
manage is kept byte for byte, and unchanged input is returned as is.
``kube_manifest_flags`` (static pod manifests) is in ``kube_manifest.py``; the
helpers both files use are in ``plugins/plugin_utils/_kube_text.py``.

The documentation of each filter lives beside this file in ``<filter>.yml``
(``ansible-doc -t filter kubeha.control_plane.kube_sysconfig``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from ansible.errors import AnsibleFilterError
from ansible_collections.kubeha.control_plane.plugins.module_utils.kube_flags import KubeFlagsError, parse_env_file
from ansible_collections.kubeha.control_plane.plugins.plugin_utils._kube_text import (
    _apply,
    _break_at,
    _check_item_editable,
    _eol,
    _flag_dict,
    _inside,
    _item_style,
    _line_end,
    _map_get,
    _render_scalar,
    _scalar_text,
    _split_docs,
    _text_arg,
    flag_name,
    flag_value,
)

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML is a dependency of ansible-core
    yaml = None

# \Z, not $: "$" also matches before a final newline.
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*\Z")
_LINE_BREAKS = ("\n", "\r")
_SYSCONFIG_REFUSED = ('"', "\\", "$", "`", "\n", "\r", "\0")
_SYSCONFIG_ARG_REFUSED = ('"', "'", "\\", "$", "`")


# --------------------------------------------------------------------------
# kube_sysconfig
# --------------------------------------------------------------------------

def _odd_backslashes(line):
    return (len(line) - len(line.rstrip("\\"))) % 2 == 1


def _env_entries(text):
    """Split an EnvironmentFile into entries ``(start, end, name)``; ``name`` is None for
    comments, blank and invalid lines. ``end`` includes the line break. The scanner follows
    systemd's parser: quotes and backslashes may carry a value over several lines.
    """
    entries = []
    pos, size = 0, len(text)
    while pos < size:
        start = pos
        line_end = _line_end(text, pos)
        line = text[pos:line_end]
        match = re.match(r"[ \t]*([^#;\s=][^=]*?)[ \t]*=", line)
        if not match:
            # Comment, blank or invalid line; a comment ending in a backslash goes on.
            end = line_end
            stripped = line.lstrip()
            while stripped[:1] in ("#", ";") and _odd_backslashes(text[pos:end]) and end < size:
                end += len(_break_at(text, end))
                pos = end
                end = _line_end(text, pos)
            end += len(_break_at(text, end))
            entries.append((start, end, None))
            pos = end
            continue
        i = pos + match.end()
        quote = None
        while i < size:
            c = text[i]
            if quote is None and c in _LINE_BREAKS:
                break
            if c == "\\" and quote != "'":
                i += 3 if text.startswith("\r\n", i + 1) else 2
                continue
            if quote is None and c in ("'", '"'):
                quote = c
            elif c == quote:
                quote = None
            i += 1
        i = min(i, size)
        end = i + len(_break_at(text, i))
        entries.append((start, end, match.group(1)))
        pos = end
    return entries


def kube_sysconfig(text, values):
    """Set ``NAME="value"`` assignments of a sysconfig / EnvironmentFile text in place."""
    filter_name = "kube_sysconfig"
    _text_arg(filter_name, text, "a sysconfig file")
    if not isinstance(values, Mapping):
        raise AnsibleFilterError(
            "%s: the 'values' argument must be a dict of NAME -> value, got %r" % (filter_name, values)
        )
    for name, value in values.items():
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            raise AnsibleFilterError(
                "%s: invalid variable name %r: it must match ^[A-Z_][A-Z0-9_]*$ (for example KUBE_API_ARGS)"
                % (filter_name, name)
            )
        if value is None:
            continue
        if not isinstance(value, str):
            raise AnsibleFilterError(
                "%s: %s has value %r (%s); it must be a string (or None to remove it)"
                % (filter_name, name, value, type(value).__name__)
            )
        bad = sorted({c for c in value if c in _SYSCONFIG_REFUSED})
        if bad:
            raise AnsibleFilterError(
                "%s: %s has value %r, which contains %s; systemd's EnvironmentFile treats quotes, backslashes, "
                "'$', backticks, newlines and NUL specially, so the value cannot be written safely"
                % (filter_name, name, value, ", ".join(repr(c) for c in bad))
            )
    edits, seen = [], set()
    for start, end, name in _env_entries(text):
        if name not in values:
            continue
        value = values[name]
        if value is None or name in seen:
            edits.append((start, end, ""))
            continue
        seen.add(name)
        body_end = end
        while body_end > start and text[body_end - 1] in _LINE_BREAKS:
            body_end -= 1
        line = '%s="%s"' % (name, value)
        if text[start:body_end] != line:
            edits.append((start, body_end, line))
    missing = [name for name, value in values.items() if value is not None and name not in seen]
    if not edits and not missing:
        return text
    result = _apply(text, edits)
    if missing:
        eol = _eol(text)
        if result and not result.endswith(_LINE_BREAKS):
            result += eol
        result += "".join('%s="%s"%s' % (name, values[name], eol) for name in missing)
    return result


# --------------------------------------------------------------------------
# kube_args
# --------------------------------------------------------------------------

def kube_args(flags, sysconfig=False):
    """``--name=value`` strings of a dict of flags, sorted by name (None values skipped)."""
    filter_name = "kube_args"
    args = []
    for normalized, name, value in _flag_dict(filter_name, flags, "the input"):
        if value is None:
            continue
        if isinstance(value, (Mapping, list, tuple, set)):
            raise AnsibleFilterError(
                "%s: flag '%s' has value %r; a flag value must be a string, a number or a boolean, not a %s"
                % (filter_name, name, value, type(value).__name__)
            )
        rendered = flag_value(filter_name, name, value)
        if sysconfig and (any(c.isspace() for c in rendered) or any(c in rendered for c in _SYSCONFIG_ARG_REFUSED)):
            raise AnsibleFilterError(
                "%s: flag '%s' has value %r, which contains whitespace, a quote, a backslash, '$' or a backtick; "
                "the sysconfig layout splits values on whitespace ($NAME in the unit), so it cannot carry it"
                % (filter_name, name, value)
            )
        args.append((normalized, "--%s=%s" % (normalized, rendered)))
    return [arg for _name, arg in sorted(args)]


# --------------------------------------------------------------------------
# kube_sysconfig_flags
# --------------------------------------------------------------------------

def _token_flag(token):
    """Normalized flag name of an argv token (``--name`` or ``--name=value``), or None."""
    if not token.startswith("--") or len(token) < 3:
        return None
    return token[2:].split("=", 1)[0].replace("_", "-")


def kube_sysconfig_flags(text, assignments, remove=None):
    """Set flags in the ``NAME="--flag=value ..."`` variables of a sysconfig text.

    ``assignments``: {VARIABLE: {flag: value}}. Every flag named in any of them,
    or in ``remove``, is taken out of every listed variable (a later duplicate
    would win over ours, as the unit concatenates them); the flags of each
    variable are then appended to what it keeps. Flags the role does not name
    stay where they are. A listed variable that does not exist and gets no
    flags is not added.
    """
    filter_name = "kube_sysconfig_flags"
    _text_arg(filter_name, text, "a sysconfig file")
    if not isinstance(assignments, Mapping):
        raise AnsibleFilterError("%s: 'assignments' must be a dict of VARIABLE -> {flag: value}, got %r"
                                 % (filter_name, assignments))
    managed = {flag_name(filter_name, name) for name in (remove or [])}
    rendered = {}
    for var, flags in assignments.items():
        if not isinstance(var, str) or not _ENV_NAME.match(var):
            raise AnsibleFilterError("%s: invalid variable name %r (for example KUBE_API_ARGS)" % (filter_name, var))
        managed |= {normalized for normalized, _name, _value in _flag_dict(filter_name, flags, var)}
        rendered[var] = kube_args(flags, sysconfig=True)
    try:
        current = parse_env_file(text)
    except KubeFlagsError as err:
        raise AnsibleFilterError("%s: the file cannot be read as an EnvironmentFile: %s" % (filter_name, err)) from None
    values = {}
    for var, args in rendered.items():
        kept, tokens, i = [], current.get(var, "").split(), 0
        while i < len(tokens):
            name = _token_flag(tokens[i])
            if name in managed:
                # "--flag value": the value goes with its flag.
                if "=" not in tokens[i] and i + 1 < len(tokens) and not tokens[i + 1].startswith("-"):
                    i += 1
            else:
                kept.append(tokens[i])
            i += 1
        if var in current or args:
            values[var] = " ".join(kept + args)
    return kube_sysconfig(text, values)


# --------------------------------------------------------------------------
# kube_kubeconfig_server
# --------------------------------------------------------------------------

def _check_server(filter_name, server):
    problem = None
    if not isinstance(server, str) or not server:
        problem = "it is not a string"
    elif any(c.isspace() for c in server) or any(ord(c) < 32 or ord(c) == 127 for c in server):
        problem = "it contains whitespace or control characters"
    elif re.match(r"^[a-z]+://[^/\[]*:[^/]*:", server, re.I):
        problem = "an IPv6 address must be in brackets"
    else:
        try:
            parts = urlsplit(server)
            port = parts.port
            host = parts.hostname
        except ValueError as exc:
            parts, port, host, problem = None, None, None, str(exc)
        if parts is not None:
            if parts.scheme not in ("http", "https"):
                problem = "the scheme must be https or http"
            elif not host:
                problem = "it has no host"
            elif parts.username is not None or parts.query or parts.fragment:
                problem = "it must not carry user information, a query or a fragment"
            elif "[" in parts.netloc:
                try:
                    ipaddress.IPv6Address(host)
                except ValueError:
                    problem = "the host %r is not a valid IPv6 address" % host
            if problem is None and port == 0:
                problem = "the port must be from 1 to 65535"
    if problem:
        raise AnsibleFilterError(
            "%s: server %r is not an http(s) URL (%s); for example https://10.0.0.10:6443 or "
            "https://[fd00::1]:8443" % (filter_name, server, problem)
        )


def kube_kubeconfig_server(text, server, cluster=None):
    """Set ``clusters[].cluster.server`` of a kubeconfig (every cluster or the one named ``cluster``)."""
    filter_name = "kube_kubeconfig_server"
    _text_arg(filter_name, text, "a kubeconfig")
    _check_server(filter_name, server)
    if cluster is not None and not isinstance(cluster, str):
        raise AnsibleFilterError("%s: the 'cluster' argument must be a cluster name, got %r" % (filter_name, cluster))
    root = _split_docs(filter_name, text, "kubeconfig")
    kind = _map_get(root, "kind") if isinstance(root, yaml.MappingNode) else None
    if not isinstance(root, yaml.MappingNode) or (kind and _scalar_text(kind[1]) != "Config"):
        raise AnsibleFilterError(
            "%s: the text is not a kubeconfig (%s)"
            % (filter_name, "kind is %r" % _scalar_text(kind[1]) if kind else "its top level is not a mapping")
        )
    clusters = _map_get(root, "clusters")
    if not clusters or not isinstance(clusters[1], yaml.SequenceNode) or not clusters[1].value:
        raise AnsibleFilterError("%s: the kubeconfig has no clusters" % filter_name)
    names, targets = [], []
    for index, item in enumerate(clusters[1].value):
        name = _map_get(item, "name")
        name = _scalar_text(name[1]) if name else None
        names.append(name)
        if cluster is not None and name != cluster:
            continue
        body = _map_get(item, "cluster")
        entry = _map_get(body[1], "server") if body else None
        label = name if name is not None else "#%d" % index
        if entry is None:
            raise AnsibleFilterError("%s: cluster %r of the kubeconfig has no cluster.server" % (filter_name, label))
        if _scalar_text(entry[1]) is None or not _inside(entry[1], item):
            raise AnsibleFilterError(
                "%s: cluster.server of cluster %r is not a plain string (line %d)"
                % (filter_name, label, entry[1].start_mark.line + 1)
            )
        _check_item_editable(filter_name, entry[1], "cluster.server of cluster %r" % label)
        targets.append((index, body[1], entry[1]))
    if not targets:
        raise AnsibleFilterError(
            "%s: the kubeconfig has no cluster named %r (its clusters: %s)"
            % (filter_name, cluster, ", ".join(repr(n) for n in names))
        )
    edits = [
        (node.start_mark.index, node.end_mark.index, _render_scalar(server, _item_style(node), body.flow_style, "server"))
        for _index, body, node in targets if node.value != server
    ]
    if not edits:
        return text
    result = _apply(text, edits)
    try:
        old, new = yaml.safe_load(text), yaml.safe_load(result)
        for index, _body, _node in targets:
            old["clusters"][index]["cluster"]["server"] = server
        ok = old == new
    except (yaml.YAMLError, TypeError, KeyError, IndexError):
        ok = False
    if not ok:
        raise AnsibleFilterError(
            "%s: internal error: setting the server would change more than clusters[].cluster.server; the file "
            "was not changed (please report this with the kubeconfig)" % filter_name
        )
    return result


class FilterModule:
    """kubeha.control_plane filters that edit sysconfig, flag lists and kubeconfig text."""

    def filters(self):
        return {
            "kube_sysconfig": kube_sysconfig,
            "kube_args": kube_args,
            "kube_sysconfig_flags": kube_sysconfig_flags,
            "kube_kubeconfig_server": kube_kubeconfig_server,
        }
