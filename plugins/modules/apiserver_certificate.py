#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: apiserver_certificate
short_description: Check that the API servers' certificates are valid for the URL clients will use
version_added: 0.5.0
description:
  - The check to run before any client is pointed at a new endpoint (a VIP, a load balancer's name) - never point a
    client at an endpoint its certificate does not name, because every client of the cluster then stops working.
  - Connects over TLS to each of O(addresses) (by default the host and port of O(url)), sending the host of O(url) as
    SNI when it is a name, and verifies the certificate presented as client-go (Go's C(crypto/x509)) does, against
    O(ca_file) and against the host of O(url) - an IP address must be among the certificate's IP SANs, a name among
    its DNS SANs (a wildcard C(*.example.com) covers one label), the Common Name never counts.
  - For each address it reports the names and the expiry date of the certificate presented (read without
    verification), and, when the check fails, whether the chain does not end at the cluster CA (the error Go reports as
    C(certificate signed by unknown authority)), the certificate has expired, or the names do not fit, with the
    exact missing name and how to add it.
  - Fails, with every address's result, when any address that answers fails the check. An address that does not
    answer fails the task too, unless O(skip_unreachable=true).
  - Read-only; a certificate that expires within 30 days gives a warning.
author:
  - kubeha.control_plane contributors (@kubeha)
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
options:
  url:
    description:
      - The URL clients will use, C(https://HOST:PORT) (the port defaults to 443). HOST may be a VIP
        (V(https://10.0.0.100:8443)), an IPv6 address in brackets (V(https://[fd00::100]:8443)) or a DNS name
        (V(https://k8s.example.com:8443)).
    type: str
    required: true
  addresses:
    description:
      - The addresses to connect to, C(host:port) or C([IPv6]:port) (a missing port is the port of O(url)), for
        example every master's apiserver, to check the certificates before the VIP exists, or the VIP through each
        load balancer. The certificate of each is checked against the host of O(url), not against the address.
      - By default the host and port of O(url).
    type: list
    elements: str
  ca_file:
    description:
      - The cluster CA (PEM) on the managed host, which the clients trust (V(/etc/kubernetes/pki/ca.crt) with kubeadm).
      - As in Go, a certificate of this file ends a chain even when it is not self-signed.
    type: path
    required: true
  timeout:
    description:
      - Seconds to wait for the connection and for each TLS handshake.
    type: int
    default: 5
  skip_unreachable:
    description:
      - Report an address that does not answer (connection refused, timeout, no route, a name that does not resolve) in
        RV(unreachable_addresses) instead of failing, for a VIP that does not exist yet on a first run.
      - An address that answers but fails the TLS handshake is never skipped.
    type: bool
    default: false
notes:
  - The names are checked as Go 1.17 and later check them (client-go, kubectl, the kubelet, kube-proxy); older clients
    also accepted the Common Name when the certificate had no SANs.
seealso:
  - module: kubeha.control_plane.kubeadm_clients
  - module: kubeha.control_plane.kubeadm_config
  - name: Certificate management with kubeadm
    description: Adding names (certSANs) to the apiserver certificate.
    link: https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-certs/
"""

EXAMPLES = r"""
- name: Every master's apiserver presents a certificate valid for the VIP (which may not exist yet)
  kubeha.control_plane.apiserver_certificate:
    url: https://10.0.0.100:8443
    addresses:
      - 10.0.0.11:6443
      - 10.0.0.12:6443
      - "[fd00::13]:6443"
    ca_file: /etc/kubernetes/pki/ca.crt
  run_once: true

- name: The VIP answers with a certificate valid for it (skipped while it does not exist)
  kubeha.control_plane.apiserver_certificate:
    url: https://[fd00::100]:8443
    ca_file: /etc/kubernetes/pki/ca.crt
    skip_unreachable: true
  register: vip_cert
"""

RETURN = r"""
host:
  description: The host of O(url), without brackets; the name every certificate must have.
  returned: always
  type: str
  sample: 10.0.0.100
results:
  description: One item for each address that answered, in the order of O(addresses).
  returned: always
  type: list
  elements: dict
  contains:
    address:
      description: The address connected to, C(host:port).
      type: str
      sample: 10.0.0.11:6443
    ok:
      description: Whether the certificate is valid for RV(host) and ends at O(ca_file).
      type: bool
      sample: false
    error:
      description: Why not, with the fix; null when RV(results[].ok).
      type: str
      sample: "x509: certificate is valid for 10.96.0.1, 10.0.0.11, not 10.0.0.100 ..."
    dns_names:
      description: The DNS names of the certificate presented (its subjectAltName).
      type: list
      elements: str
      sample: [kubernetes, kubernetes.default, master1]
    ip_addresses:
      description: The IP addresses of the certificate presented (its subjectAltName).
      type: list
      elements: str
      sample: [10.96.0.1, 10.0.0.11]
    common_name:
      description: The subject's Common Name, which does not count as a name of the server.
      type: str
      sample: kube-apiserver
    not_after:
      description: When the certificate expires, UTC, ISO 8601; null when no certificate was presented.
      type: str
      sample: "2027-05-04T10:15:00Z"
    days_left:
      description: Whole days until RV(results[].not_after) on the managed host's clock, negative once expired.
      type: int
      sample: 364
unreachable_addresses:
  description:
    - The addresses that did not answer, with O(skip_unreachable=true) (else the task fails).
    - Not called C(unreachable), a key by which Ansible would mark the managed host unreachable.
  returned: always
  type: list
  elements: dict
  contains:
    address:
      description: The address, C(host:port).
      type: str
      sample: 10.0.0.100:8443
    error:
      description: Why the connection failed.
      type: str
      sample: "[Errno 113] No route to host"
"""

import math
import os
import socket
import ssl
from datetime import datetime, timezone

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.kubeha.control_plane.plugins.module_utils._endpoint import (
    EndpointError,
    join_host_port,
    parse_https_url,
    parse_ip,
    split_host_port,
)
from ansible_collections.kubeha.control_plane.plugins.module_utils._x509_der import CertificateParseError, parse_certificate

EXPIRY_WARNING_DAYS = 30
# OpenSSL verify codes (include/openssl/x509_vfy.h) that mean the chain does not end at a trusted certificate.
_UNKNOWN_AUTHORITY = {
    2: "unable to get issuer certificate",
    7: "certificate signature failure",
    18: "self-signed certificate",
    19: "self-signed certificate in certificate chain",
    20: "unable to get local issuer certificate",
    21: "unable to verify the first certificate",
}
_EXPIRED = {9: "certificate is not yet valid", 10: "certificate has expired"}
_NAME_MISMATCH = (62, 63, 64)  # hostname, email, IP address mismatch


class Unreachable(Exception):
    """The address did not answer."""


def names_host(host, dns_names, ip_addresses):
    """Whether the SANs name ``host`` as Go's Certificate.VerifyHostname sees it."""
    ip = parse_ip(host)
    if ip is not None:
        return any(parse_ip(address) == ip for address in ip_addresses)
    wanted = host.lower().rstrip(".")
    for pattern in dns_names:
        pattern = pattern.lower().rstrip(".")
        if pattern == wanted:
            return True
        if pattern.startswith("*.") and "." in wanted:
            first, rest = wanted.split(".", 1)
            if first and rest == pattern[2:]:
                return True
    return False


def go_hostname_error(host, cert):
    """The message of Go's x509.HostnameError, which kubectl and the kubelet print."""
    if not cert["has_san"] and cert["common_name"] and names_host(host, [cert["common_name"]], []):
        return "x509: certificate relies on legacy Common Name field, use SANs instead"
    if parse_ip(host) is not None:
        if not cert["ip_addresses"]:
            return "x509: cannot validate certificate for %s because it doesn't contain any IP SANs" % host
        valid = ", ".join(cert["ip_addresses"])
    else:
        valid = ", ".join(cert["dns_names"])
    if not valid:
        return "x509: certificate is not valid for any names, but wanted to match %s" % host
    return "x509: certificate is valid for %s, not %s" % (valid, host)


def names_text(cert):
    return "DNS names: %s; IP addresses: %s; Common Name %s (never counts)" % (
        ", ".join(cert["dns_names"]) or "none", ", ".join(cert["ip_addresses"]) or "none",
        repr(cert["common_name"]) if cert["common_name"] else "none")


def fix_names(host):
    kind = "IP address" if parse_ip(host) is not None else "DNS name"
    return ("To fix it, add the %s %s to the apiserver certificate: with kubeadm, add it to apiServer.certSANs of the "
            "ClusterConfiguration, then on each master move /etc/kubernetes/pki/apiserver.crt and apiserver.key away, "
            "run 'kubeadm init phase certs apiserver --config <a file with that ClusterConfiguration>' and restart "
            "kube-apiserver; in other layouts, give kube-apiserver a certificate (--tls-cert-file) that names %s."
            % (kind, host, host))


def _connect(host, port, timeout):
    try:
        return socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:  # refused, timed out (socket.timeout), no route, name not resolved (socket.gaierror)
        raise Unreachable(to_native(exc) or type(exc).__name__)


def presented_certificate(host, port, sni, timeout):
    """The DER certificate presented at host:port, read without verifying it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    sock = _connect(host, port, timeout)
    try:
        with context.wrap_socket(sock, server_hostname=sni) as tls:
            return tls.getpeercert(binary_form=True)
    finally:
        sock.close()


def verify(host, port, sni, ca_file, timeout):
    """None when the certificate verifies against ca_file and sni, else the ssl error."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=ca_file)
    context.check_hostname = True
    if hasattr(context, "hostname_checks_common_name"):
        context.hostname_checks_common_name = False
    # Go ends a chain at any certificate of its roots, self-signed or not.
    context.verify_flags |= getattr(ssl, "VERIFY_X509_PARTIAL_CHAIN", 0)
    sock = _connect(host, port, timeout)
    try:
        with context.wrap_socket(sock, server_hostname=sni):
            return None
    except ssl.SSLCertVerificationError as exc:
        return exc
    finally:
        sock.close()


def check_address(address, url_host, ca_file, timeout, now):
    """(result, fix) of one address, fix being None or how to add the missing name; raises Unreachable."""
    host, port = address
    label = join_host_port(host, port)
    result = dict(address=label, ok=False, error=None, dns_names=[], ip_addresses=[], common_name=None, not_after=None, days_left=None)
    try:
        der = presented_certificate(host, port, url_host, timeout)
    except (ssl.SSLError, OSError) as exc:
        result["error"] = "the TLS handshake with %s failed: %s (is it an HTTPS server?)" % (label, to_native(exc))
        return result, None
    try:
        cert = parse_certificate(der or b"")
    except CertificateParseError as exc:
        result["error"] = "the certificate presented by %s cannot be read: %s" % (label, exc)
        return result, None
    result.update(dns_names=cert["dns_names"], ip_addresses=cert["ip_addresses"], common_name=cert["common_name"],
                  not_after=cert["not_after"].strftime("%Y-%m-%dT%H:%M:%SZ"),
                  days_left=int(math.floor((cert["not_after"] - now).total_seconds() / 86400)))
    try:
        failure = verify(host, port, url_host, ca_file, timeout)
    except (ssl.SSLError, OSError) as exc:
        result["error"] = "the TLS handshake with %s failed: %s" % (label, to_native(exc))
        return result, None
    if failure is None:
        result["ok"] = True
        return result, None
    errors, fix = [], None
    code = failure.verify_code
    if code in _UNKNOWN_AUTHORITY:
        errors.append("x509: certificate signed by unknown authority: the chain of the certificate presented by %s does "
                      "not end at the CA in %s (OpenSSL: %s); either that is not this cluster's CA or %s is not this "
                      "cluster's apiserver (or a proxy in between presents its own certificate)."
                      % (label, ca_file, failure.verify_message, label))
    elif code in _EXPIRED:
        errors.append("x509: certificate has expired or is not yet valid: the certificate presented by %s is valid from "
                      "%s to %s." % (label, cert["not_before"].strftime("%Y-%m-%dT%H:%M:%SZ"), result["not_after"]))
    elif code not in _NAME_MISMATCH:
        errors.append("x509: %s (the certificate presented by %s)." % (failure.verify_message, label))
    if code in _NAME_MISMATCH or not names_host(url_host, cert["dns_names"], cert["ip_addresses"]):
        errors.append("%s: the certificate presented by %s does not name %s, the host of the URL (an IP address must be "
                      "among its IP SANs, a name among its DNS SANs). It has %s."
                      % (go_hostname_error(url_host, cert), label, url_host, names_text(cert)))
        fix = fix_names(url_host)
    result["error"] = " ".join(errors + ([fix] if fix else []))
    return result, fix


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            addresses=dict(type="list", elements="str"),
            ca_file=dict(type="path", required=True),
            timeout=dict(type="int", default=5),
            skip_unreachable=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        url_host, url_port = parse_https_url(params["url"], "url")
        addresses = [split_host_port(a, "addresses", default_port=url_port) for a in params["addresses"] or []]
    except EndpointError as exc:
        module.fail_json(msg=str(exc), host=None, results=[], unreachable_addresses=[])
    addresses = addresses or [(url_host, url_port)]
    if params["timeout"] <= 0:
        module.fail_json(msg="timeout must be at least 1 second, got %d" % params["timeout"], host=url_host, results=[], unreachable_addresses=[])
    ca_file = params["ca_file"]
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        reason = "it does not exist" if not os.path.exists(ca_file) else to_native(exc)
        module.fail_json(msg="ca_file %s cannot be read as PEM CA certificates: %s" % (ca_file, reason),
                         host=url_host, results=[], unreachable_addresses=[])

    now = datetime.now(timezone.utc)
    results, unreachable, fixes = [], [], []
    for address in addresses:
        try:
            item, fix = check_address(address, url_host, ca_file, params["timeout"], now)
        except Unreachable as exc:
            unreachable.append(dict(address=join_host_port(*address), error=str(exc)))
            continue
        results.append(item)
        if fix and fix not in fixes:
            fixes.append(fix)
    for item in results:
        if item["days_left"] is not None and item["days_left"] < EXPIRY_WARNING_DAYS:
            module.warn("the certificate presented by %s %s (%s)" % (
                item["address"], "has expired" if item["days_left"] < 0 else "expires in %d days" % item["days_left"], item["not_after"]))
    result = dict(changed=False, host=url_host, results=results, unreachable_addresses=unreachable)
    failed = [item for item in results if not item["ok"]]
    problems = ["%s: %s" % (item["address"], item["error"].replace(" " + fixes[0], "") if fixes else item["error"]) for item in failed]
    if unreachable and not params["skip_unreachable"]:
        problems += ["%s did not answer (%s); set skip_unreachable=true for an address that may not exist yet (a new VIP)"
                     % (item["address"], item["error"]) for item in unreachable]
    if problems:
        module.fail_json(msg="%s: %d of %d addresses fail the certificate check. %s" % (
            params["url"], len(problems), len(addresses), " | ".join(problems + fixes)), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
