# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter that edits the command-line flags of a container of a static pod
manifest in place.

A role slurps a manifest, passes its text through ``kube_manifest_flags`` and
writes the result back with ``ansible.builtin.copy``: everything the filter
does not manage is kept byte for byte, and unchanged input is returned as is.

The documentation of the filter lives beside this file in
``kube_manifest_flags.yml``
(``ansible-doc -t filter kubeha.control_plane.kube_manifest_flags``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.kubeha.control_plane.plugins.plugin_utils._kube_text import (
    _apply,
    _break_at,
    _check_item_editable,
    _eol,
    _flag_dict,
    _inside,
    _item_style,
    _line_end,
    _line_start,
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


class FilterModule:
    """kubeha.control_plane filter that edits the flags of a static pod manifest."""

    def filters(self):
        return {
            "kube_manifest_flags": kube_manifest_flags,
        }
