# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read and set the servers of a kubeconfig's text in place (private to the collection).

The module-side twin of the filter kube_kubeconfig_server (plugins/filter/kube_config.py),
which modules cannot import: the text is composed with PyYAML to find the scalar of
every ``clusters[].cluster.server``, and only those bytes are replaced, in the quoting
style they had; every other byte (comments, order, other keys, the line breaks) is kept.
The result is parsed again and compared with the input, so a text where anything but
the servers would change is refused rather than written.

Runs on the managed host: Python 3.8 or later and PyYAML.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover - checked by the callers
    HAS_YAML = False

_STR_TAG = "tag:yaml.org,2002:str"


class KubeconfigTextError(ValueError):
    """The text is not a kubeconfig whose servers can be edited in place; the message says why."""


def _map_get(node, key):
    """Value node of ``key`` in a mapping node (the last one, as yaml.safe_load does), or None."""
    found = None
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR_TAG and key_node.value == key:
                found = value_node
    return found


def _scalar_text(node):
    return node.value if isinstance(node, yaml.ScalarNode) and node.tag == _STR_TAG else None


def _inside(node, outer):
    return outer.start_mark.index <= node.start_mark.index and node.end_mark.index <= outer.end_mark.index


def _server_nodes(text, what):
    """[(cluster name, server scalar node, flow style of its mapping)] of every cluster."""
    if not HAS_YAML:  # pragma: no cover
        raise KubeconfigTextError("editing %s needs PyYAML on this host" % what)
    try:
        docs = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise KubeconfigTextError("%s is not valid YAML: %s" % (what, " ".join(str(exc).split())))
    if len(docs) != 1 or not isinstance(docs[0], yaml.MappingNode):
        raise KubeconfigTextError("%s is not a kubeconfig (%s)" % (
            what, "%d YAML documents" % len(docs) if len(docs) != 1 else "its top level is not a mapping"))
    root = docs[0]
    kind = _scalar_text(_map_get(root, "kind"))
    if _map_get(root, "kind") is not None and kind != "Config":
        raise KubeconfigTextError("%s is not a kubeconfig (kind is %r)" % (what, kind))
    clusters = _map_get(root, "clusters")
    if not isinstance(clusters, yaml.SequenceNode) or not clusters.value:
        raise KubeconfigTextError("%s has no clusters" % what)
    found = []
    for index, item in enumerate(clusters.value):
        name = _scalar_text(_map_get(item, "name"))
        label = name if name is not None else "#%d" % index
        body = _map_get(item, "cluster")
        node = _map_get(body, "server")
        if node is None:
            raise KubeconfigTextError("cluster %r of %s has no cluster.server" % (label, what))
        if _scalar_text(node) is None or not _inside(node, item) or node.style not in (None, "", "'", '"'):
            raise KubeconfigTextError("cluster.server of cluster %r of %s is not a plain or quoted string (line %d)"
                                      % (label, what, node.start_mark.line + 1))
        found.append((label, node, body.flow_style))
    return found


def kubeconfig_servers(text, what="the kubeconfig"):
    """[(cluster name, server)] of every cluster of the kubeconfig ``text``."""
    return [(label, node.value) for label, node, _flow in _server_nodes(text, what)]


def _plain_ok(value, flow):
    if not value or value != value.strip() or any(c in value for c in "\n\r\t"):
        return False
    probe = "{k: %s}" % value if flow else "k: %s\n" % value
    try:
        return yaml.safe_load(probe) == {"k": value}
    except yaml.YAMLError:
        return False


def _render(value, style, flow):
    if style in (None, "") and _plain_ok(value, flow):
        return value
    quote = "'" if style == "'" else '"'
    return yaml.dump(value, default_style=quote, width=2 ** 30, allow_unicode=True).rstrip("\n")


def set_kubeconfig_server(text, server, what="the kubeconfig"):
    """``text`` with the server of every cluster set to ``server``; the text itself when nothing changes."""
    if any(c in server for c in "\n\r\0"):
        raise KubeconfigTextError("the server %r contains a line break or a NUL character" % server)
    targets = _server_nodes(text, what)
    edits = sorted(((node.start_mark.index, node.end_mark.index, _render(server, node.style, flow))
                    for _label, node, flow in targets if node.value != server), reverse=True)
    if not edits:
        return text
    result = text
    for start, end, replacement in edits:
        result = result[:start] + replacement + result[end:]
    try:
        old, new = yaml.safe_load(text), yaml.safe_load(result)
        for item in old["clusters"]:
            item["cluster"]["server"] = server
        same = old == new
    except (yaml.YAMLError, TypeError, KeyError):  # pragma: no cover - defensive
        same = False
    if not same:  # pragma: no cover - defensive
        raise KubeconfigTextError("internal error: setting the server of %s would change more than clusters[].cluster.server; "
                                  "nothing was changed" % what)
    return result
