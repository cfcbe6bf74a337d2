#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kube_api_info
short_description: Read a path of the Kubernetes API with a kubeconfig's credentials, verifying the server
version_added: 0.5.0
description:
  - Sends one C(GET) to the Kubernetes API and returns the answer and the API server's clock (its C(Date) header),
    authenticating and verifying as client-go does with a kubeconfig - the CA of the cluster and the server's name or
    address checked against its certificate, a client certificate or a bearer token.
  - Used by the collection's roles to wait until a restarted apiserver answers C(/readyz) on clusters that refuse
    anonymous requests, to read the C(kubernetes) endpoints and leader leases, and to judge a lease by the apiserver's
    clock rather than the managed host's.
  - An answer whose status is not in O(status_code) fails the task; a C(401) or C(403) fails at once with what to
    give, so that a wait loop does not spend its retries on missing credentials.
  - Never changes anything.
author:
  - kubeha.control_plane contributors (@kubeha)
requirements:
  - PyYAML on the managed host when O(kubeconfig) is used.
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
extends_documentation_fragment:
  - kubeha.control_plane.kube_api
options:
  path:
    description:
      - The path to read, for example V(/readyz) or V(/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler).
    type: str
    required: true
  status_code:
    description:
      - Statuses that count as an answer; any other fails the task.
    type: list
    elements: int
    default: [200]
notes:
  - Files readable only by root (C(/etc/kubernetes/admin.conf)) need O(ignore:become=true).
seealso:
  - name: Authenticating
    description: How the Kubernetes API authenticates requests.
    link: https://kubernetes.io/docs/reference/access-authn-authz/authentication/
"""

EXAMPLES = r"""
- name: Wait until this master's apiserver is ready (anonymous requests refused on this cluster)
  kubeha.control_plane.kube_api_info:
    path: /readyz
    api_url: "https://{{ kubeha_address }}:6443"
    kubeconfig: /etc/kubernetes/admin.conf
  become: true
  register: readyz
  until: readyz.status == 200
  retries: 60
  delay: 1

- name: Read the scheduler's lease and the apiserver's clock
  kubeha.control_plane.kube_api_info:
    path: /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler
    kubeconfig: /etc/kubernetes/admin.conf
  become: true
  register: lease
"""

RETURN = r"""
status:
  description: The HTTP status of the answer.
  returned: always
  type: int
  sample: 200
json:
  description: The answer parsed as JSON, or null when it is not JSON (V(ok) of C(/readyz) is in RV(body)).
  returned: always
  type: raw
  sample: {"kind": "Lease", "spec": {"holderIdentity": "master1_4f2c"}}
body:
  description: The answer as text when it is not JSON, else null.
  returned: always
  type: str
  sample: ok
server_time:
  description: The API server's clock when it answered (its C(Date) header), seconds since the epoch; null without the header.
  returned: always
  type: float
  sample: 1796539200.0
url:
  description: The URL that was read.
  returned: always
  type: str
  sample: https://10.0.0.11:6443/readyz
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubeha.control_plane.plugins.module_utils._kubeapi import (
    KubeApi,
    KubeApiError,
    api_argument_spec,
    auth_hint,
    status_message,
)


def main():
    spec = api_argument_spec()
    spec.update(path=dict(type="str", required=True), status_code=dict(type="list", elements="int", default=[200]))
    module = AnsibleModule(argument_spec=spec, required_one_of=[("api_url", "kubeconfig")],
                           required_by=dict(client_key="client_cert"), supports_check_mode=True)
    if not module.params["path"].startswith("/"):
        module.fail_json(msg="path must start with '/', got %r" % module.params["path"])
    api = None
    try:
        api = KubeApi(module.params)
        answer = api.get(module.params["path"])
    except KubeApiError as exc:
        module.fail_json(msg=str(exc), status=-1, json=None, body=None, server_time=None, url=None)
    finally:
        if api is not None:
            api.close()
    result = dict(changed=False, **answer)
    if answer["status"] not in module.params["status_code"]:
        hint = auth_hint(answer) or "expected HTTP %s" % ", ".join(str(s) for s in module.params["status_code"])
        module.fail_json(msg="GET %s answered HTTP %s (%s): %s" % (answer["url"], answer["status"], status_message(answer), hint),
                         **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
