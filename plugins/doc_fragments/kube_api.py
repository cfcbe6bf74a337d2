# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """How the modules that talk to the Kubernetes API reach it (module_utils/_kubeapi.py)."""

    DOCUMENTATION = r"""
options:
  api_url:
    description:
      - Base URL of the API server (V(https://10.0.0.11:6443)). It replaces the server of O(kubeconfig), whose
        credentials and CA are still used, so one master's own apiserver can be asked with the admin credentials.
      - Required when O(kubeconfig) is not given.
    type: str
  kubeconfig:
    description:
      - A kubeconfig file on the managed host whose current context gives the server, the CA and the credentials
        (for example V(/etc/kubernetes/admin.conf) on a kubeadm control-plane node).
    type: path
  token:
    description:
      - Bearer token; it replaces the credentials of O(kubeconfig).
    type: str
  ca_file:
    description:
      - CA certificate (PEM) to verify the server with; it replaces the CA of O(kubeconfig).
    type: path
  client_cert:
    description:
      - Client certificate (PEM) to authenticate with.
    type: path
  client_key:
    description:
      - Private key of O(client_cert), when it is not in the same file.
    type: path
  validate_certs:
    description:
      - Whether to verify the server's certificate.
      - Leave it on. A client that does not verify hides a certificate that every real client of the cluster refuses.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for each answer of the API.
    type: int
    default: 10
"""
