"""kubeadm's certificates and keys (pki.py, kubeadm.phase_certs / phase_kubeconfig): the
subjects, groups, issuers, usages and names kubeadm v1.30 gives them (the session's PKI,
conftest.pki_files), kubeadm:cluster-admins from 1.29 and system:masters before, existing
files kept, and an existing certificate that lacks a name or another CA's refused with
kubeadm's message. New certificates reuse existing keys where they can (RSA key
generation is the expensive part)."""

from __future__ import annotations

import base64
import os
import shutil
import ssl
import subprocess

import pytest
import yaml

from kubeha_standin import kubeadm, pki

V130, V128 = (1, 30, 0), (1, 28, 9)
NODE = {"name": "node1", "address": "127.0.0.1", "port": 6443, "init": True}
KUBEADM_DNS = "node1, kubernetes, kubernetes.default, kubernetes.default.svc, kubernetes.default.svc.cluster.local"


def _decode(path):
    info = ssl._ssl._test_decode_cert(str(path))  # noqa: SLF001  (CPython's decoder)
    subject = {}
    for rdn in info["subject"]:
        for key, value in rdn:
            subject.setdefault(key, []).append(value)
    issuer = dict(kv for rdn in info["issuer"] for kv in rdn)
    return {"CN": subject["commonName"][0], "O": subject.get("organizationName", []), "issuer": issuer["commonName"],
            "san": list(info.get("subjectAltName", ()))}


def _usage(path):
    text = subprocess.run(["openssl", "x509", "-in", str(path), "-noout", "-ext", "extendedKeyUsage,basicConstraints"],
                          capture_output=True, text=True, check=True).stdout
    return {u for u in ("TLS Web Server Authentication", "TLS Web Client Authentication", "CA:TRUE") if u in text}


SERVER, CLIENT = {"TLS Web Server Authentication"}, {"TLS Web Client Authentication"}


@pytest.mark.parametrize("base, cn, orgs, issuer, usage", [
    ("ca", "kubernetes", [], "kubernetes", {"CA:TRUE"}),
    ("apiserver", "kube-apiserver", [], "kubernetes", SERVER),
    ("apiserver-kubelet-client", "kube-apiserver-kubelet-client", ["kubeadm:cluster-admins"], "kubernetes", CLIENT),
    ("front-proxy-ca", "front-proxy-ca", [], "front-proxy-ca", {"CA:TRUE"}),
    ("front-proxy-client", "front-proxy-client", [], "front-proxy-ca", CLIENT),
    ("etcd/ca", "etcd-ca", [], "etcd-ca", {"CA:TRUE"}),
    ("etcd/server", "node1", [], "etcd-ca", SERVER | CLIENT),
    ("etcd/peer", "node1", [], "etcd-ca", SERVER | CLIENT),
    ("etcd/healthcheck-client", "kube-etcd-healthcheck-client", [], "etcd-ca", CLIENT),
    ("apiserver-etcd-client", "kube-apiserver-etcd-client", [], "etcd-ca", CLIENT),
])
def test_kubeadm_s_certificates(pki_files, base, cn, orgs, issuer, usage):
    cert, key = pki_files.certs / (base + ".crt"), pki_files.certs / (base + ".key")
    info = _decode(cert)
    assert (info["CN"], info["O"], info["issuer"]) == (cn, orgs, issuer)
    assert _usage(cert) == usage
    ca = {"kubernetes": "ca", "front-proxy-ca": "front-proxy-ca", "etcd-ca": "etcd/ca"}[issuer]
    assert pki.verifies(str(cert), str(pki_files.certs / (ca + ".crt")))
    assert oct(key.stat().st_mode & 0o777) == "0o600" and oct(cert.stat().st_mode & 0o777) == "0o644"


def test_the_serving_certificates_name_what_kubeadm_names(pki_files):
    assert pki.cert_names(pki_files.apiserver_crt) == (KUBEADM_DNS.split(", "), ["10.96.0.1", "127.0.0.1"])
    assert pki.cert_names(str(pki_files.certs / "etcd" / "server.crt")) == (["node1", "localhost"],
                                                                            ["127.0.0.1", "127.0.0.1", "::1"])


def test_the_service_account_key_pair(pki_files):
    derived = subprocess.run(["openssl", "pkey", "-in", pki_files.sa_key, "-pubout"], capture_output=True, text=True,
                             check=True).stdout
    assert derived == pki.pem(pki_files.sa_pub)
    assert oct(os.stat(pki_files.sa_key).st_mode & 0o777) == "0o600"


def _user_cert(tmp_path, kubeconfig):
    """The client certificate of a kubeconfig (-data or a file) as _decode sees it."""
    user = yaml.safe_load(open(kubeconfig))["users"][0]["user"]
    if "client-certificate-data" in user:
        path = tmp_path / (os.path.basename(kubeconfig) + ".crt")
        path.write_bytes(base64.b64decode(user["client-certificate-data"]))
        return _decode(path)
    return _decode(user["client-certificate"])


@pytest.mark.parametrize("name, cn, orgs", [
    ("admin", "kubernetes-admin", ["kubeadm:cluster-admins"]),
    ("super_admin", "kubernetes-super-admin", ["system:masters"]),
    ("controller_manager", "system:kube-controller-manager", []),
    ("scheduler", "system:kube-scheduler", []),
    ("kubelet", "system:node:node1", ["system:nodes"]),
])
def test_the_kubeconfig_users_from_1_29(pki_files, tmp_path, name, cn, orgs):
    info = _user_cert(tmp_path, getattr(pki_files, name))
    assert (info["CN"], info["O"], info["issuer"]) == (cn, orgs, "kubernetes")
    assert oct(os.stat(getattr(pki_files, name)).st_mode & 0o777) == "0o600"


def _copy_of(pki_files, tmp_path):
    """A copy of the session's kubernetes directory (certificates and kubeconfigs)."""
    root = tmp_path / "kubernetes"
    shutil.copytree(pki_files.kube_dir, root)
    cluster = kubeadm.cluster_defaults({"certificatesDir": str(root / "pki"), "kubernetesVersion": "v1.30.0"})
    return root, cluster


@pytest.fixture
def in_copy(pki_files, tmp_path, monkeypatch):
    root, cluster = _copy_of(pki_files, tmp_path)
    logged = []
    monkeypatch.setattr(kubeadm, "KUBERNETES_DIR", str(root))
    monkeypatch.setattr(kubeadm, "MANIFESTS", str(root / "manifests"))
    monkeypatch.setattr(kubeadm, "KUBELET_CLIENT_PEM", str(tmp_path / "kubelet-client-current.pem"))
    monkeypatch.setattr(kubeadm, "log", logged.append)
    return root, cluster, logged


def test_before_1_29_the_admins_are_system_masters(in_copy, tmp_path):
    """kubeadm 1.28: apiserver-kubelet-client and admin.conf in system:masters, no super-admin.conf."""
    root, cluster, _logged = in_copy
    certs = root / "pki"
    for name in ("apiserver-kubelet-client.crt", "admin.conf", "super-admin.conf"):
        os.remove(certs / name if name.endswith(".crt") else root / name)
    shutil.copy(certs / "apiserver-kubelet-client.key", certs / ".kubeconfig-admin.conf.key")  # a key to reuse
    kubeadm.phase_certs("apiserver-kubelet-client", cluster, NODE, V128)
    assert _decode(certs / "apiserver-kubelet-client.crt")["O"] == ["system:masters"]
    shutil.copy(_kubelet_pem(root), tmp_path / "kubelet-client-current.pem")
    kubeadm.phase_kubeconfig(cluster, NODE, V128, init=True)
    admin = _user_cert(tmp_path, str(root / "admin.conf"))
    assert (admin["CN"], admin["O"]) == ("kubernetes-admin", ["system:masters"])
    assert not (root / "super-admin.conf").exists()


def _kubelet_pem(root):
    return yaml.safe_load(open(root / "kubelet.conf"))["users"][0]["user"]["client-certificate"]


def test_existing_certificates_and_kubeconfigs_are_kept(in_copy, tmp_path):
    root, cluster, logged = in_copy
    shutil.copy(_kubelet_pem(root), tmp_path / "kubelet-client-current.pem")
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    kubeadm.phase_certs("all", cluster, NODE, V130)
    kubeadm.phase_kubeconfig(cluster, NODE, V130, init=True)
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before
    assert "[certs] Using existing apiserver certificate and key on disk" in logged
    assert "[certs] Using existing etcd/peer certificate and key on disk" in logged
    assert "[certs] Using the existing ca certificate authority" in logged
    assert '[certs] Using the existing "sa" key' in logged
    assert "[kubeconfig] Using existing kubeconfig file: %s" % (root / "admin.conf") in logged


@pytest.mark.parametrize("change, message", [
    ({"apiServer": {"certSANs": ["10.213.50.100"]}},
     'failed to write or validate certificate "apiserver": certificate apiserver is invalid: x509: certificate is valid for '
     "10.96.0.1, 127.0.0.1, not 10.213.50.100"),
    ({"controlPlaneEndpoint": "cp.example:8443"},
     'failed to write or validate certificate "apiserver": certificate apiserver is invalid: x509: certificate is valid for '
     "%s, not cp.example" % KUBEADM_DNS),
])
def test_a_certificate_missing_a_name_is_refused_naming_it(in_copy, change, message):
    root, cluster, _logged = in_copy
    before = (root / "pki" / "apiserver.crt").read_bytes()
    with pytest.raises(pki.PkiError) as err:
        kubeadm.phase_certs("apiserver", dict(cluster, **change), NODE, V130)
    assert str(err.value) == message
    assert (root / "pki" / "apiserver.crt").read_bytes() == before, "never overwritten"


def test_another_master_s_etcd_certificate_is_refused(in_copy):
    """kubeadm join --control-plane on master2 with node1's etcd/peer copied over (a known mistake)."""
    _root, cluster, _logged = in_copy
    with pytest.raises(pki.PkiError) as err:
        kubeadm.phase_certs("etcd-peer", cluster, dict(NODE, name="master2"), V130)
    assert str(err.value) == ('failed to write or validate certificate "etcd-peer": certificate etcd/peer is invalid: '
                              "x509: certificate is valid for node1, localhost, not master2")


def test_a_certificate_of_another_ca_is_refused(in_copy):
    root, cluster, _logged = in_copy
    shutil.copy(root / "pki" / "etcd" / "server.crt", root / "pki" / "apiserver.crt")
    with pytest.raises(pki.PkiError) as err:
        kubeadm.phase_certs("apiserver", cluster, NODE, V130)
    assert str(err.value) == 'failed to write or validate certificate "apiserver": certificate apiserver is not signed by corresponding CA'


def test_a_new_certificate_needs_the_ca_key(in_copy):
    root, cluster, _logged = in_copy
    os.remove(root / "pki" / "apiserver.crt")
    os.remove(root / "pki" / "ca.key")
    with pytest.raises(pki.PkiError, match="couldn't load the ca certificate authority from %s" % (root / "pki" / "ca.key")):
        kubeadm.phase_certs("apiserver", cluster, NODE, V130)
    with pytest.raises(pki.PkiError, match="failure loading ca certificate authority: one of .* is missing"):
        kubeadm.phase_certs("ca", cluster, NODE, V130)


def test_an_unknown_certificate_phase(in_copy):
    _root, cluster, _logged = in_copy
    with pytest.raises(kubeadm.KubeadmError, match="unknown certificate phase 'kubelet'"):
        kubeadm.phase_certs("kubelet", cluster, NODE, V130)


def test_a_signed_certificate_keeps_an_existing_key(pki_files, tmp_path):
    key = tmp_path / "reused.key"
    shutil.copy(pki_files.sa_key, key)
    pki.sign(str(tmp_path / "c.crt"), str(key), pki_files.ca, pki_files.ca_key, "kubeha:lab-admin", ["system:masters"],
             dns=["a.example"], ips=["fd00::0002"], usage=("serverAuth", "clientAuth"))
    assert key.read_bytes() == open(pki_files.sa_key, "rb").read()
    info = _decode(tmp_path / "c.crt")
    assert (info["CN"], info["O"]) == ("kubeha:lab-admin", ["system:masters"])
    assert pki.cert_names(str(tmp_path / "c.crt")) == (["a.example"], ["fd00::2"])
    assert _usage(tmp_path / "c.crt") == SERVER | CLIENT
