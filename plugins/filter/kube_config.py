# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that edit Kubernetes configuration text in place.

A role slurps a file, passes its text through one of these filters and writes
the result back with ``ansible.builtin.copy``: everything a filter does not
manage is kept byte for byte, and unchanged input is returned as is.

The documentation of each filter lives beside this file in ``<filter>.yml``
(``ansible-doc -t filter kubeha.control_plane.kube_manifest_flags``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from ansible.errors import AnsibleFilterError
from ansible_collections.kubeha.control_plane.plugins.module_utils.kube_flags import KubeFlagsError, parse_env_file

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML is a dependency of ansible-core
    yaml = None

# \Z, not $: "$" also matches before a final newline.
_FLAG_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*\Z")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*\Z")
_LINE_BREAKS = ("\n", "\r")
_SYSCONFIG_REFUSED = ('"', "\\", "$", "`", "\n", "\r", "\0")
_SYSCONFIG_ARG_REFUSED = ('"', "'", "\\", "$", "`")
_STR_TAG = "tag:yaml.org,2002:str"


# --------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------

def _require_yaml(filter_name):
    if yaml is None:  # pragma: no cover
        raise AnsibleFilterError(
            "%s: the Python library 'PyYAML' is required by this filter; "
            "install it on the Ansible controller (pip install pyyaml)" % filter_name
        )


def _text_arg(filter_name, text, what):
    if not isinstance(text, str):
        raise AnsibleFilterError(
            "%s: the input must be the text of %s (a string), got %s %r"
            % (filter_name, what, type(text).__name__, text)
        )


def flag_name(filter_name, name):
    """Normalize a flag name (``_`` -> ``-``) and validate it, or raise AnsibleFilterError."""
    if not isinstance(name, str):
        raise AnsibleFilterError("%s: flag name %r is not a string" % (filter_name, name))
    normalized = name.replace("_", "-")
    if not _FLAG_NAME.match(normalized):
        raise AnsibleFilterError(
            "%s: invalid flag name %r: write the name without leading dashes, in lower case, "
            "with letters, digits and '-' only (for example 'etcd-servers')" % (filter_name, name)
        )
    return normalized


def flag_value(filter_name, name, value):
    """Render a flag value as text (bool -> true/false), or raise AnsibleFilterError."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str):
        raise AnsibleFilterError(
            "%s: flag '%s' has value %r (%s); a flag value must be a string, a number or a boolean"
            % (filter_name, name, value, type(value).__name__)
        )
    if "\n" in value or "\r" in value or "\0" in value:
        raise AnsibleFilterError(
            "%s: flag '%s' has value %r, which contains a newline or NUL character"
            % (filter_name, name, value)
        )
    return value


def _flag_dict(filter_name, flags, what="the 'flags' argument"):
    """``flags`` as a list of (normalized name, original name, value)."""
    if not isinstance(flags, Mapping):
        raise AnsibleFilterError(
            "%s: %s must be a dict of flag name -> value, got %r" % (filter_name, what, flags)
        )
    seen = {}
    result = []
    for name, value in flags.items():
        normalized = flag_name(filter_name, name)
        if normalized in seen:
            raise AnsibleFilterError(
                "%s: flags %r and %r are the same flag (--%s); give it once"
                % (filter_name, seen[normalized], name, normalized)
            )
        seen[normalized] = name
        result.append((normalized, name, value))
    return result


def _yaml_error(exc):
    """A one-line description of a PyYAML error, with its line and column."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is None or problem is None:
        return " ".join(str(exc).split())
    context = getattr(exc, "context", None)
    return "line %d, column %d: %s%s" % (
        mark.line + 1, mark.column + 1, problem, " (%s)" % context if context else "")


def _split_docs(filter_name, text, what):
    """The single YAML document node of ``text``, or raise AnsibleFilterError."""
    _require_yaml(filter_name)
    try:
        docs = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise AnsibleFilterError("%s: the %s is not valid YAML: %s" % (filter_name, what, _yaml_error(exc))) from None
    if len(docs) != 1:
        raise AnsibleFilterError(
            "%s: the %s must hold exactly one YAML document, it holds %d" % (filter_name, what, len(docs))
        )
    return docs[0]


def _map_get(node, key):
    """Value node of ``key`` in a mapping node (the last one, as yaml.safe_load does), or None."""
    found = None
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key and key_node.tag == _STR_TAG:
                found = (key_node, value_node)
    return found


def _scalar_text(node):
    if isinstance(node, yaml.ScalarNode) and node.tag == _STR_TAG:
        return node.value
    return None


def _line_start(text, index):
    return max(text.rfind("\n", 0, index), text.rfind("\r", 0, index)) + 1


def _line_end(text, index):
    """Index of the line break ending the line that holds ``index`` (or len(text))."""
    ends = [i for i in (text.find("\n", index), text.find("\r", index)) if i >= 0]
    return min(ends) if ends else len(text)


def _break_at(text, index):
    if text.startswith("\r\n", index):
        return "\r\n"
    if index < len(text):
        return text[index]
    return ""


def _eol(text):
    """The line break style of ``text`` (its first line break), ``\\n`` by default."""
    match = re.search(r"\r\n|\n|\r", text)
    return match.group(0) if match else "\n"


def _plain_ok(value, flow, key=None):
    """Whether ``value`` reads back as the same string written as a plain scalar here."""
    if not value or value != value.strip() or any(c in value for c in "\n\r\t"):
        return False
    if key is None:
        probe, expected = ("[%s]" % value if flow else "- %s\n" % value), [value]
    else:
        probe, expected = ("{k: %s}" % value if flow else "k: %s\n" % value), {"k": value}
    try:
        return yaml.safe_load(probe) == expected
    except yaml.YAMLError:
        return False


def _render_scalar(value, style, flow, key=None):
    """YAML text of the string ``value`` keeping ``style`` ('' plain, "'" or '"') when it can."""
    if style == "" and _plain_ok(value, flow, key):
        return value
    if style == "'":
        out = yaml.dump(value, default_style="'", width=2 ** 30, allow_unicode=True)
    else:
        out = yaml.dump(value, default_style='"', width=2 ** 30, allow_unicode=True)
    out = out.rstrip("\n")
    if "\n" in out:  # pragma: no cover - values with line breaks are refused earlier
        raise AnsibleFilterError("cannot render %r on one line" % value)
    return out


def _apply(text, edits):
    """Apply non-overlapping (start, end, replacement) edits to ``text``."""
    out = []
    last = len(text)
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        if end > last:
            raise AnsibleFilterError("internal error: overlapping edits")  # pragma: no cover
        out.append(text[end:last])
        out.append(replacement)
        last = start
    out.append(text[:last])
    return "".join(reversed(out))


def _inside(node, outer):
    """Whether ``node`` was written inside ``outer`` (not an alias to a node elsewhere)."""
    return outer.start_mark.index <= node.start_mark.index and node.end_mark.index <= outer.end_mark.index


# --------------------------------------------------------------------------
# kube_manifest_flags
# --------------------------------------------------------------------------

def _parse_flag_item(item):
    """(normalized name, value or None for a bare flag) of a ``--name[=value]`` item, or None."""
    if not item.startswith("--") or item == "--":
        return None
    name, sep, value = item[2:].partition("=")
    return name.replace("_", "-"), (value if sep else None)


def _same_value(current, wanted):
    """A bare boolean flag (``--x``) is the same as ``--x=true``."""
    return current == wanted or (current is None and wanted == "true")


def _pod_container(filter_name, root, container):
    if not isinstance(root, yaml.MappingNode):
        raise AnsibleFilterError(
            "%s: the manifest is not a Kubernetes object (its top level is not a mapping); "
            "looking for container '%s'" % (filter_name, container)
        )
    kind = _map_get(root, "kind")
    kind_text = _scalar_text(kind[1]) if kind else None
    if kind_text != "Pod":
        raise AnsibleFilterError(
            "%s: the manifest is not a Pod (kind is %r); looking for container '%s'"
            % (filter_name, kind_text if kind else None, container)
        )
    spec = _map_get(root, "spec")
    containers = _map_get(spec[1], "containers") if spec else None
    if not containers or not isinstance(containers[1], yaml.SequenceNode):
        raise AnsibleFilterError(
            "%s: the Pod has no spec.containers list; looking for container '%s'" % (filter_name, container)
        )
    names, found = [], []
    for item in containers[1].value:
        name = _map_get(item, "name")
        name = _scalar_text(name[1]) if name else None
        names.append(name)
        if name == container:
            found.append(item)
    if not found:
        raise AnsibleFilterError(
            "%s: the Pod has no container '%s' (its containers: %s)"
            % (filter_name, container, ", ".join(repr(n) for n in names) or "none")
        )
    if len(found) > 1:
        raise AnsibleFilterError("%s: the Pod has %d containers named '%s'" % (filter_name, len(found), container))
    return found[0]


def _container_lists(filter_name, container_node, container):
    """[(key, key node, sequence node)] for ``command`` and ``args`` of the container."""
    lists = []
    for key in ("command", "args"):
        entry = _map_get(container_node, key)
        if entry is None:
            continue
        key_node, seq = entry
        if isinstance(seq, yaml.ScalarNode) and seq.tag == "tag:yaml.org,2002:null":
            continue
        if not isinstance(seq, yaml.SequenceNode) or not all(_scalar_text(i) is not None for i in seq.value):
            raise AnsibleFilterError(
                "%s: %s of container '%s' is not a list of strings" % (filter_name, key, container)
            )
        if not _inside(seq, container_node) or not all(_inside(i, seq) for i in seq.value):
            raise AnsibleFilterError(
                "%s: %s of container '%s' uses YAML aliases; it cannot be edited in place" % (filter_name, key, container)
            )
        lists.append((key, key_node, seq))
    if not lists:
        raise AnsibleFilterError(
            "%s: container '%s' has neither a command nor an args list to hold the flags" % (filter_name, container)
        )
    return lists


def _block_prefix(filter_name, text, item, container, key):
    """The ``    - `` text before a block sequence item."""
    start = _line_start(text, item.start_mark.index)
    prefix = text[start:item.start_mark.index]
    if not re.match(r"^[ \t]*-[ \t]+$", prefix):
        raise AnsibleFilterError(
            "%s: %s of container '%s' has an item not on its own '- ' line (line %d); it cannot be edited in place"
            % (filter_name, key, container, item.start_mark.line + 1)
        )
    return start, prefix


def _check_item_editable(filter_name, item, where):
    if item.style not in (None, "", "'", '"'):
        raise AnsibleFilterError(
            "%s: %s is a block scalar (line %d); it cannot be edited in place"
            % (filter_name, where, item.start_mark.line + 1)
        )


def _item_style(item):
    return item.style if item.style in ("'", '"') else ""


def kube_manifest_flags(text, flags, container="kube-apiserver", remove=None):
    """Set (or remove) ``--flags`` of a container of a static pod manifest, editing the text in place."""
    filter_name = "kube_manifest_flags"
    _text_arg(filter_name, text, "a static pod manifest")
    if not isinstance(container, str) or not container:
        raise AnsibleFilterError("%s: the 'container' argument must be a container name, got %r" % (filter_name, container))
    wanted = {}  # normalized name -> rendered value, or None to remove
    for normalized, name, value in _flag_dict(filter_name, flags):
        if isinstance(value, (Mapping, list, tuple, set)):
            raise AnsibleFilterError(
                "%s: flag '%s' of container '%s' has value %r; a flag value must be a string, a number or "
                "a boolean, not a %s" % (filter_name, name, container, value, type(value).__name__)
            )
        wanted[normalized] = None if value is None else flag_value(filter_name, name, value)
    if remove is None:
        remove = []
    if isinstance(remove, (str, bytes, Mapping)) or not hasattr(remove, "__iter__"):
        raise AnsibleFilterError(
            "%s: the 'remove' argument must be a list of flag names, got %r" % (filter_name, remove)
        )
    for name in remove:
        normalized = flag_name(filter_name, name)
        if wanted.get(normalized) is not None:
            raise AnsibleFilterError(
                "%s: flag '%s' is both set (to %r) and listed in 'remove'" % (filter_name, name, wanted[normalized])
            )
        wanted[normalized] = None

    root = _split_docs(filter_name, text, "manifest")
    container_node = _pod_container(filter_name, root, container)
    lists = _container_lists(filter_name, container_node, container)

    # Plan: the expected items of each list and the text edits that produce them.
    expected = {key: [i.value for i in seq.value] for key, _k, seq in lists}
    done = set()
    deleted = {key: set() for key, _k, _s in lists}
    replaced = {}  # (key, index) -> new item text value
    for key, _key_node, seq in lists:
        for index, item in enumerate(seq.value):
            parsed = _parse_flag_item(item.value)
            if parsed is None or parsed[0] not in wanted:
                continue
            name, current = parsed
            value = wanted[name]
            if value is None or name in done:
                deleted[key].add(index)
                continue
            done.add(name)
            if not _same_value(current, value):
                replaced[(key, index)] = "--%s=%s" % (name, value)
    added = ["--%s=%s" % (name, value) for name, value in wanted.items() if value is not None and name not in done]

    # New flags go after the last flag item (of args if it holds flags, else command);
    # with no flag item at all, at the end of args if present, else of command.
    target = None
    for key, _key_node, seq in lists:
        flag_indexes = [i for i, item in enumerate(seq.value) if _parse_flag_item(item.value) is not None]
        if flag_indexes:
            target = (key, flag_indexes[-1])
    if target is None:
        key, _key_node, seq = lists[-1]
        target = (key, len(seq.value) - 1)

    if not replaced and not added and not any(deleted.values()):
        return text

    edits = []
    for key, key_node, seq in lists:
        new_items = []
        for index, item in enumerate(seq.value):
            if index not in deleted[key]:
                new_items.append(replaced.get((key, index), item.value))
            if (key, index) == target:
                new_items.extend(added)
        if not seq.value and target[0] == key:
            new_items.extend(added)
        expected[key] = new_items
        if not (deleted[key] or any(k == key for k, _i in replaced) or (target[0] == key and added)):
            continue
        if seq.flow_style:
            edits.extend(_edit_flow(filter_name, text, seq, deleted[key], replaced, key, target, added, container))
        else:
            edits.extend(_edit_block(filter_name, text, key_node, seq, deleted[key], replaced, key, target, added,
                                     container))
    result = _apply(text, edits)
    _verify_manifest(filter_name, text, result, container, expected)
    return result


def _edit_flow(filter_name, text, seq, deleted, replaced, key, target, added, container):
    """Rewrite the text of a flow sequence ``[a, b]`` (unchanged items keep their own text)."""
    bounds = [seq.start_mark.index + 1] + [i for item in seq.value for i in (item.start_mark.index, item.end_mark.index)]
    bounds.append(seq.end_mark.index - 1)
    if any("#" in text[bounds[i]:bounds[i + 1]] for i in range(0, len(bounds), 2)):
        raise AnsibleFilterError(
            "%s: %s of container '%s' is a flow list with comments inside (line %d); it cannot be rewritten "
            "without losing them" % (filter_name, key, container, seq.start_mark.line + 1)
        )
    parts = []
    for index, item in enumerate(seq.value):
        if index in deleted:
            pass
        elif (key, index) in replaced:
            _check_item_editable(filter_name, item, "an item of %s of container '%s'" % (key, container))
            parts.append(_render_scalar(replaced[(key, index)], _item_style(item), True))
        else:
            parts.append(text[item.start_mark.index:item.end_mark.index])
        if (key, index) == target:
            parts.extend(_render_scalar(a, "", True) for a in added)
    if not seq.value and target[0] == key:
        parts.extend(_render_scalar(a, "", True) for a in added)
    return [(seq.start_mark.index, seq.end_mark.index, "[%s]" % ", ".join(parts))]


def _edit_block(filter_name, text, key_node, seq, deleted, replaced, key, target, added, container):
    """Edits of a block sequence: replace scalars, delete item lines, insert new item lines."""
    edits = []
    for index, item in enumerate(seq.value):
        is_target = (key, index) == target and added
        if index in deleted or is_target:
            start, prefix = _block_prefix(filter_name, text, item, container, key)
            end = _line_end(text, item.end_mark.index)
            line_break = _break_at(text, end)
            new_lines = [prefix + _render_scalar(a, "", False) for a in added] if is_target else []
        if index in deleted:
            # The whole line goes (with a comment after the item); new items may take its place.
            replacement = (line_break or _eol(text)).join(new_lines) + (line_break if new_lines else "")
            edits.append((start, end + len(line_break), replacement))
            continue
        if (key, index) in replaced:
            _check_item_editable(filter_name, item, "an item of %s of container '%s'" % (key, container))
            edits.append((item.start_mark.index, item.end_mark.index,
                          _render_scalar(replaced[(key, index)], _item_style(item), False)))
        if is_target:
            eol = line_break or _eol(text)
            edits.append((end, end, "".join(eol + line for line in new_lines)))
    if len(deleted) == len(seq.value) and not (target[0] == key and added):
        # The list is now empty: write ``key: []`` rather than leave a null.
        colon = text.index(":", key_node.end_mark.index)
        edits.append((colon + 1, colon + 1, " []"))
    return edits


def _container_data(doc, container):
    for item in doc["spec"]["containers"]:
        if item.get("name") == container:
            return item
    return None  # pragma: no cover


def _verify_manifest(filter_name, before, after, container, expected):
    try:
        old, new = yaml.safe_load(before), yaml.safe_load(after)
    except yaml.YAMLError as exc:
        raise AnsibleFilterError(
            "%s: internal error: the edited manifest is not valid YAML (%s); the file was not changed"
            % (filter_name, exc)
        ) from None
    try:
        old_c, new_c = _container_data(old, container), _container_data(new, container)
        ok = new_c is not None
        for key, items in expected.items():
            ok = ok and new_c.get(key) == items
            old_c[key] = items
        ok = ok and old == new
    except (TypeError, KeyError, AttributeError):
        ok = False
    if not ok:
        raise AnsibleFilterError(
            "%s: internal error: editing container '%s' would change more than its flags; the file was not "
            "changed (please report this with the manifest)" % (filter_name, container)
        )


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
    """kubeha.control_plane filters that edit Kubernetes configuration text."""

    def filters(self):
        return {
            "kube_manifest_flags": kube_manifest_flags,
            "kube_sysconfig": kube_sysconfig,
            "kube_args": kube_args,
            "kube_sysconfig_flags": kube_sysconfig_flags,
            "kube_kubeconfig_server": kube_kubeconfig_server,
        }
