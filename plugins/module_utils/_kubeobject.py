# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read, change and write back one Kubernetes object through KubeApi (private to the collection).

An object is written back with the C(metadata.resourceVersion) it was read with, so the
API refuses the write (HTTP 409 Conflict) when someone else changed it in between; the
object is then read again and the change computed again, a few times. Errors are
KubeObjectError with a sentence that names the object and what to do.

Runs on the managed host: Python 3.8 or later, standard library and ansible's module_utils.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible.module_utils.six.moves.urllib.parse import quote

from ansible_collections.kubeha.control_plane.plugins.module_utils._kubeapi import auth_hint, status_message

CONFLICT_ATTEMPTS = 5
FIELD_MANAGER = "kubeha.control_plane"


class KubeObjectError(Exception):
    """The API refused or could not answer; the message names the object."""


def configmap_path(namespace, name):
    return "/api/v1/namespaces/%s/configmaps/%s" % (quote(namespace, safe=""), quote(name, safe=""))


def daemonset_path(namespace, name):
    return "/apis/apps/v1/namespaces/%s/daemonsets/%s" % (quote(namespace, safe=""), quote(name, safe=""))


def _failure(method, what, answer):
    hint = auth_hint(answer)
    return KubeObjectError("%s %s answered HTTP %s: %s" % (
        method, what, answer["status"], hint or status_message(answer)))


def get_object(api, path, what):
    """The object at ``path``, or None when it does not exist (404)."""
    answer = api.get(path)
    if answer["status"] == 404:
        return None
    if answer["status"] != 200 or not isinstance(answer["json"], dict):
        raise _failure("GET", what, answer)
    return answer["json"]


def patch_object(api, path, what, patch, content_type="application/merge-patch+json"):
    """The object after applying ``patch`` (a JSON merge patch by default)."""
    answer = api.request("PATCH", "%s?fieldManager=%s" % (path, FIELD_MANAGER), patch, content_type=content_type)
    if answer["status"] != 200 or not isinstance(answer["json"], dict):
        raise _failure("PATCH", what, answer)
    return answer["json"]


def update_object(api, path, what, edit, check_mode, attempts=CONFLICT_ATTEMPTS):
    """Read the object, ``edit`` a copy of it, and write it back when it changed.

    ``edit(obj)`` changes ``obj`` in place (it may raise to refuse). Returns (before, after):
    the object as read and as written (in check mode: as it would be written), after is
    before when nothing changes; (None, None) when the object does not exist."""
    for _attempt in range(attempts):
        before = get_object(api, path, what)
        if before is None:
            return None, None
        after = copy.deepcopy(before)
        edit(after)
        if after == before or check_mode:
            return before, after
        answer = api.request("PUT", "%s?fieldManager=%s" % (path, FIELD_MANAGER), after)
        if answer["status"] == 409:
            continue
        if answer["status"] != 200 or not isinstance(answer["json"], dict):
            raise _failure("PUT", what, answer)
        return before, answer["json"]
    raise KubeObjectError("PUT %s: the object changed under this module %d times in a row (HTTP 409 Conflict); "
                          "nothing was written, run the task again" % (what, attempts))
