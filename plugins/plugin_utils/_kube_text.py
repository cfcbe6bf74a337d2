# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Text and YAML helpers shared by the kubeha.control_plane filters that edit
Kubernetes configuration text in place (``plugins/filter/kube_manifest.py``,
``plugins/filter/kube_config.py``).

Private to the collection: not a public API, it may change without notice.
Errors are raised as AnsibleFilterError messages prefixed with the name of the
calling filter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML is a dependency of ansible-core
    yaml = None

# \Z, not $: "$" also matches before a final newline.
_FLAG_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*\Z")
_STR_TAG = "tag:yaml.org,2002:str"


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


def _check_item_editable(filter_name, item, where):
    if item.style not in (None, "", "'", '"'):
        raise AnsibleFilterError(
            "%s: %s is a block scalar (line %d); it cannot be edited in place"
            % (filter_name, where, item.start_mark.line + 1)
        )


def _item_style(item):
    return item.style if item.style in ("'", '"') else ""
