# KUBEHA LAB STAND-IN -- NOT KUBERNETES. See lab/standins/kubeha_standin/__init__.py.
"""The certificates and keys kubeadm makes (`kubeadm init phase certs`), with openssl.

Layout and subjects as kubeadm v1.30 writes them under the certificates directory
(default /etc/kubernetes/pki), from the reference page "PKI certificates and
requirements" (https://kubernetes.io/docs/setup/best-practices/certificates/) and
kubeadm's "Certificate Management with kubeadm"
(https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-certs/):

  ca.crt/key                    CN=kubernetes (the cluster CA)
  apiserver.crt/key             CN=kube-apiserver, serverAuth; SANs: the node name,
                                kubernetes, kubernetes.default, kubernetes.default.svc,
                                kubernetes.default.svc.<dnsDomain>, the first address of
                                the service subnet, the advertise address, the host of
                                controlPlaneEndpoint (when set) and apiServer.certSANs
  apiserver-kubelet-client      CN=kube-apiserver-kubelet-client, O=kubeadm:cluster-admins
                                (system:masters before 1.29), clientAuth
  front-proxy-ca, front-proxy-client (CN=front-proxy-client)
  sa.key/sa.pub                 the service-account key pair
  etcd/ca, etcd/server, etcd/peer, etcd/healthcheck-client, apiserver-etcd-client
                                (CN=kube-apiserver-etcd-client)

Like kubeadm, an existing certificate is kept ("Using existing ... certificate and
key on disk") when it is signed by its CA and carries the names it needs; one that
lacks a name is an error that says which, as kubeadm words it (it refuses to overwrite
the certificate):

  failed to write or validate certificate "apiserver": certificate apiserver is invalid:
  x509: certificate is valid for 10.96.0.1, 10.0.0.11, not 10.0.0.100
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import tempfile

from .core import FlagError
from .kubeconfig import go_hostname_error

DAYS_CA = 3650
DAYS_LEAF = 365


class PkiError(FlagError):
    pass


def _openssl(*args, data=None):
    proc = subprocess.run(["openssl", *args], input=data, capture_output=True, check=False)
    if proc.returncode != 0:
        raise PkiError("openssl %s: %s" % (args[0], proc.stderr.decode(errors="replace").strip()))
    return proc.stdout.decode(errors="replace")


def _write_private(path, create):
    """Create ``path`` with mode 0600 before anything secret is written to it."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    create(path)
    os.chmod(path, 0o600)


def new_key(path):
    _write_private(path, lambda p: _openssl("genrsa", "-out", p, "2048"))


def _subject(cn, orgs=()):
    return "".join("/O=%s" % o for o in orgs) + "/CN=%s" % cn


def _sans_line(dns=(), ips=()):
    entries = ["DNS:%s" % d for d in dns] + ["IP:%s" % ip for ip in ips]
    return ",".join(entries)


def new_ca(cert, key, cn):
    new_key(key)
    _openssl("req", "-x509", "-new", "-key", key, "-subj", _subject(cn), "-days", str(DAYS_CA),
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign",
             "-out", cert)
    os.chmod(cert, 0o644)


def sign(cert, key, ca_cert, ca_key, cn, orgs=(), dns=(), ips=(), usage=("clientAuth",), days=DAYS_LEAF):
    """A new key (unless ``key`` exists) and a certificate signed by the CA."""
    if not os.path.exists(key):
        new_key(key)
    with tempfile.TemporaryDirectory() as tmp:
        ext = os.path.join(tmp, "ext.cnf")
        with open(ext, "w") as fh:
            fh.write("[v3]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n")
            fh.write("extendedKeyUsage=%s\n" % ",".join(usage))
            if dns or ips:
                fh.write("subjectAltName=%s\n" % _sans_line(dns, ips))
        csr = os.path.join(tmp, "req.csr")
        _openssl("req", "-new", "-key", key, "-subj", _subject(cn, orgs), "-out", csr)
        _openssl("x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-set_serial",
                 str(int.from_bytes(os.urandom(8), "big")), "-days", str(days), "-extfile", ext, "-extensions", "v3",
                 "-out", cert)
    os.chmod(cert, 0o644)


def cert_names(cert):
    """(DNS names, IP addresses) of a certificate's subjectAltName."""
    text = _openssl("x509", "-in", cert, "-noout", "-ext", "subjectAltName")
    dns, ips = [], []
    for part in text.replace("\n", ",").split(","):
        part = part.strip()
        if part.startswith("DNS:"):
            dns.append(part[4:])
        elif part.startswith("IP Address:"):
            ips.append(str(ipaddress.ip_address(part[len("IP Address:"):])))
    return dns, ips


def verifies(cert, ca_cert):
    proc = subprocess.run(["openssl", "verify", "-CAfile", ca_cert, cert], capture_output=True, check=False)
    return proc.returncode == 0


def ensure_ca(directory, base, cn, log):
    cert, key = os.path.join(directory, base + ".crt"), os.path.join(directory, base + ".key")
    if os.path.exists(cert) and os.path.exists(key):
        log("[certs] Using the existing %s certificate authority" % base)
        return
    if os.path.exists(cert) != os.path.exists(key):
        raise PkiError("failure loading %s certificate authority: one of %s and %s is missing" % (base, cert, key))
    new_ca(cert, key, cn)
    log("[certs] Generating %s certificate and key" % base)


def ensure_leaf(directory, base, ca, cn, orgs=(), dns=(), ips=(), usage=("clientAuth",), log=print):
    cert, key = os.path.join(directory, base + ".crt"), os.path.join(directory, base + ".key")
    ca_cert, ca_key = os.path.join(directory, ca + ".crt"), os.path.join(directory, ca + ".key")
    if os.path.exists(cert):
        # kubeadm's writeCertificateFilesIfNotExist: the error names the certificate
        # ("etcd-peer") and its base name ("etcd/peer"); the first name the certificate
        # lacks (DNS names first, then IPs) as crypto/x509's VerifyHostname reports it.
        failed = 'failed to write or validate certificate "%s": certificate %s' % (base.replace("/", "-"), base)
        if not verifies(cert, ca_cert):
            raise PkiError("%s is not signed by corresponding CA" % failed)
        have_dns, have_ips = cert_names(cert)
        wanted_ips = [str(ipaddress.ip_address(i)) for i in ips]
        missing = [d for d in dns if d not in have_dns] + [i for i in wanted_ips if i not in have_ips]
        if missing:
            raise PkiError("%s is invalid: %s" % (failed, go_hostname_error(missing[0], have_dns, have_ips)))
        log("[certs] Using existing %s certificate and key on disk" % base)
        return
    if not os.path.exists(ca_key):
        raise PkiError("couldn't load the %s certificate authority from %s: the key is missing (copy it from the "
                       "first control-plane node)" % (ca, ca_key))
    sign(cert, key, ca_cert, ca_key, cn, orgs, dns, ips, usage)
    signed_for = "; serving cert is signed for DNS names %s and IPs %s" % (list(dns), list(ips)) if dns or ips else ""
    log("[certs] Generating %s certificate and key%s" % (base, signed_for))


def ensure_sa(directory, log):
    key, pub = os.path.join(directory, "sa.key"), os.path.join(directory, "sa.pub")
    if os.path.exists(key):
        log("[certs] Using the existing \"sa\" key")
    else:
        new_key(key)
        log("[certs] Generating \"sa\" key and public key")
    if not os.path.exists(pub):
        _openssl("rsa", "-in", key, "-pubout", "-out", pub)
        os.chmod(pub, 0o644)


def pem(path):
    with open(path) as fh:
        return fh.read()
