"""Unit tests of the kubeha.control_plane.apiserver_certificate module, run through main()
against real TLS servers on the loopback addresses that present certificates made with
openssl (harness: kubeapi_harness.py). The URL's host (a VIP that does not exist here, a
DNS name) is checked on certificates served at 127.0.0.1 through ``addresses``."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import subprocess

import pytest
from kubeapi_harness import Pki, closed_port, run_fail, run_ok, tls_server

from ansible_collections.kubeha.control_plane.plugins.module_utils._x509_der import parse_certificate
from ansible_collections.kubeha.control_plane.plugins.modules import apiserver_certificate

VIP = "10.0.0.100"
FIX = "add it to apiServer.certSANs of the ClusterConfiguration"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    pki = Pki(tmp_path_factory.mktemp("certs"))
    ca = pki.ca("ca", "kubernetes")
    other = pki.ca("other-ca", "kubernetes")  # same name, another key: not the cluster's CA
    pki.ca_file = ca[0]
    pki.vip = pki.cert("vip", ca, "kube-apiserver", dns=["kubernetes", "kube.example.test"], ips=["127.0.0.1", VIP, "::1"])
    pki.no_vip = pki.cert("no-vip", ca, "kube-apiserver", dns=["kubernetes", "master1"], ips=["127.0.0.1", "10.0.0.11"])
    pki.other_ca = pki.cert("other", other, "kube-apiserver", dns=["kubernetes"], ips=["127.0.0.1", VIP])
    pki.ip_as_dns = pki.cert("ip-as-dns", ca, "kube-apiserver", dns=["127.0.0.1", "kubernetes"])
    pki.cn_only = pki.cert("cn-only", ca, "kube.example.test")
    pki.wildcard = pki.cert("wildcard", ca, "kube-apiserver", dns=["*.example.test"])
    pki.short = pki.cert("short", ca, "kube-apiserver", ips=["127.0.0.1"], days=10)
    return pki


def check(certs, url, addresses=None, **kwargs):
    args = dict(dict(url=url, ca_file=certs.ca_file, timeout=2), **kwargs)
    if addresses is not None:
        args["addresses"] = addresses
    return args


def test_certificate_naming_the_ip_passes(certs):
    with tls_server(certs.vip) as server:
        result = run_ok(apiserver_certificate, check(certs, "https://127.0.0.1:%d" % server.port))
    assert result["changed"] is False
    assert result["host"] == "127.0.0.1" and result["unreachable_addresses"] == []
    [item] = result["results"]
    assert item["address"] == server.address and item["ok"] is True and item["error"] is None
    assert item["dns_names"] == ["kubernetes", "kube.example.test"]
    assert item["ip_addresses"] == ["127.0.0.1", VIP, "::1"]
    assert item["common_name"] == "kube-apiserver"
    assert item["days_left"] in (363, 364)
    assert item["not_after"].endswith("Z")
    assert result["warnings"] == []


def test_vip_checked_at_each_master_names_the_missing_ip(certs):
    with tls_server(certs.vip) as good, tls_server(certs.no_vip) as bad:
        result = run_fail(apiserver_certificate, check(certs, "https://%s:8443" % VIP, [good.address, bad.address]))
    assert result["host"] == VIP
    assert [item["ok"] for item in result["results"]] == [True, False]
    error = result["results"][1]["error"]
    assert error.startswith("x509: certificate is valid for 127.0.0.1, 10.0.0.11, not 10.0.0.100: the certificate presented "
                            "by %s does not name 10.0.0.100" % bad.address)
    assert "It has DNS names: kubernetes, master1; IP addresses: 127.0.0.1, 10.0.0.11; Common Name 'kube-apiserver' (never counts)." in error
    assert "add the IP address 10.0.0.100 to the apiserver certificate: with kubeadm, " + FIX in error
    assert "kubeadm init phase certs apiserver --config" in error
    assert result["msg"].startswith("https://10.0.0.100:8443: 1 of 2 addresses fail the certificate check. %s: x509:" % bad.address)
    assert result["msg"].count(FIX) == 1
    assert result["results"][1]["ip_addresses"] == ["127.0.0.1", "10.0.0.11"]


def test_dns_name_is_sent_as_sni_and_checked(certs):
    with tls_server(certs.vip) as server:
        result = run_ok(apiserver_certificate, check(certs, "https://kube.example.test:%d" % server.port, ["127.0.0.1"]))
    assert result["results"][0]["ok"] is True
    assert result["results"][0]["address"] == server.address  # the port of the URL
    assert server.sni == ["kube.example.test", "kube.example.test"]


def test_no_sni_for_an_ip(certs):
    with tls_server(certs.vip) as server:
        run_ok(apiserver_certificate, check(certs, "https://127.0.0.1:%d" % server.port))
    assert server.sni == [None, None]


def test_missing_dns_name_is_named(certs):
    with tls_server(certs.no_vip) as server:
        result = run_fail(apiserver_certificate, check(certs, "https://kube.example.test:8443", [server.address]))
    assert result["results"][0]["error"].startswith(
        "x509: certificate is valid for kubernetes, master1, not kube.example.test: the certificate presented by %s does "
        "not name kube.example.test" % server.address)
    assert "add the DNS name kube.example.test to the apiserver certificate" in result["msg"]


def test_another_ca_is_an_unknown_authority(certs):
    with tls_server(certs.other_ca) as server:
        result = run_fail(apiserver_certificate, check(certs, "https://%s:6443" % VIP, [server.address]))
    error = result["results"][0]["error"]
    assert error.startswith("x509: certificate signed by unknown authority: the chain of the certificate presented by %s "
                            "does not end at the CA in %s" % (server.address, certs.ca_file))
    assert FIX not in error  # its names fit
    assert result["results"][0]["ip_addresses"] == ["127.0.0.1", VIP]


def test_another_ca_and_a_missing_name_are_both_reported(certs):
    with tls_server(certs.other_ca) as server:
        result = run_fail(apiserver_certificate, check(certs, "https://10.0.0.200:6443", [server.address]))
    error = result["results"][0]["error"]
    assert error.startswith("x509: certificate signed by unknown authority")
    assert "x509: certificate is valid for 127.0.0.1, 10.0.0.100, not 10.0.0.200" in error and FIX in error


def test_an_ip_must_be_an_ip_san(certs):
    with tls_server(certs.ip_as_dns) as server:
        result = run_fail(apiserver_certificate, check(certs, "https://127.0.0.1:%d" % server.port))
    assert result["results"][0]["dns_names"] == ["127.0.0.1", "kubernetes"]
    assert result["results"][0]["error"].startswith(
        "x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs")


def test_the_common_name_never_counts(certs):
    with tls_server(certs.cn_only) as server:
        result = run_fail(apiserver_certificate, check(certs, "https://kube.example.test:%d" % server.port, ["127.0.0.1"]))
    item = result["results"][0]
    assert item["common_name"] == "kube.example.test" and item["dns_names"] == [] and item["ip_addresses"] == []
    assert item["error"].startswith("x509: certificate relies on legacy Common Name field, use SANs instead")


def test_wildcard_covers_one_label(certs):
    with tls_server(certs.wildcard) as server:
        assert run_ok(apiserver_certificate, check(certs, "https://kube.example.test:%d" % server.port, ["127.0.0.1"]))
        result = run_fail(apiserver_certificate, check(certs, "https://a.kube.example.test:%d" % server.port, ["127.0.0.1"]))
    assert "x509: certificate is valid for *.example.test, not a.kube.example.test" in result["msg"]


def test_ipv6_url_and_address(certs):
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:  # pragma: no cover
        pytest.skip("no IPv6 loopback here")
    with tls_server(certs.vip, host="::1") as v6, tls_server(certs.no_vip, host="::1") as v6_bad:
        result = run_ok(apiserver_certificate, check(certs, "https://[::1]:%d" % v6.port))
        assert result["host"] == "::1" and result["results"][0]["address"] == "[::1]:%d" % v6.port
        failed = run_fail(apiserver_certificate, check(certs, "https://[::1]:%d" % v6.port, [v6_bad.address]))
    assert "x509: certificate is valid for 127.0.0.1, 10.0.0.11, not ::1" in failed["msg"]


def test_unreachable_address_fails_unless_skipped(certs):
    port = closed_port()
    with tls_server(certs.vip) as server:
        addresses = [server.address, "127.0.0.1:%d" % port]
        failed = run_fail(apiserver_certificate, check(certs, "https://%s:8443" % VIP, addresses))
        skipped = run_ok(apiserver_certificate, check(certs, "https://%s:8443" % VIP, addresses, skip_unreachable=True))
    assert "127.0.0.1:%d did not answer (" % port in failed["msg"] and "set skip_unreachable=true" in failed["msg"]
    assert [item["address"] for item in skipped["results"]] == [server.address]
    assert "unreachable" not in skipped  # Ansible would mark the managed host unreachable
    [gone] = skipped["unreachable_addresses"]
    assert gone["address"] == "127.0.0.1:%d" % port and "refused" in gone["error"].lower()


def test_an_address_that_answers_without_tls_is_never_skipped(certs):
    with socket.socket() as plain:
        plain.bind(("127.0.0.1", 0))
        plain.listen(4)  # accepts, never speaks TLS: the handshake times out
        address = "127.0.0.1:%d" % plain.getsockname()[1]
        result = run_fail(apiserver_certificate, check(certs, "https://%s" % address, skip_unreachable=True, timeout=1))
    assert result["unreachable_addresses"] == []
    assert result["results"][0]["error"].startswith("the TLS handshake with %s failed" % address)


def test_short_validity_warns(certs):
    with tls_server(certs.short) as server:
        result = run_ok(apiserver_certificate, check(certs, "https://127.0.0.1:%d" % server.port))
    assert result["results"][0]["days_left"] in (9, 10)
    assert result["warnings"] == ["the certificate presented by %s expires in %d days (%s)" % (
        server.address, result["results"][0]["days_left"], result["results"][0]["not_after"])]


def test_expired_certificate(certs, tmp_path):
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    with open(certs.ca_file, "rb") as fh:
        ca = x509.load_pem_x509_certificate(fh.read())
    with open(certs.ca_file[:-3] + "key", "rb") as fh:
        ca_key = serialization.load_pem_private_key(fh.read(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "old")]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(7)
            .not_valid_before(now - datetime.timedelta(days=400)).not_valid_after(now - datetime.timedelta(days=35))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(ca_key, hashes.SHA256()))
    crt, pem_key = tmp_path / "old.crt", tmp_path / "old.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem_key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with tls_server((str(crt), str(pem_key))) as server:
        result = run_fail(apiserver_certificate, check(certs, "https://127.0.0.1:%d" % server.port))
    item = result["results"][0]
    assert item["days_left"] in (-36, -35)
    assert item["error"].startswith("x509: certificate has expired or is not yet valid: the certificate presented by %s is "
                                    "valid from " % server.address)
    assert any("has expired" in warning for warning in result["warnings"])


def test_bad_options_and_ca_file(certs, tmp_path):
    assert run_fail(apiserver_certificate, check(certs, "http://10.0.0.100:8443"))["msg"] == (
        "url: 'http://10.0.0.100:8443' must be an https:// URL (clients of the API verify its certificate)")
    assert "addresses: the port of '10.0.0.11:x' must be a number" in run_fail(
        apiserver_certificate, check(certs, "https://10.0.0.100:8443", ["10.0.0.11:x"]))["msg"]
    assert run_fail(apiserver_certificate, check(certs, "https://10.0.0.100:8443", timeout=0))["msg"] == (
        "timeout must be at least 1 second, got 0")
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello\n")
    assert run_fail(apiserver_certificate, dict(url="https://10.0.0.100:8443", ca_file=str(not_pem)))["msg"].startswith(
        "ca_file %s cannot be read as PEM CA certificates: " % not_pem)
    missing = str(tmp_path / "nope.crt")
    assert run_fail(apiserver_certificate, dict(url="https://10.0.0.100:8443", ca_file=missing))["msg"] == (
        "ca_file %s cannot be read as PEM CA certificates: it does not exist" % missing)


@pytest.mark.parametrize("name", ["vip", "no_vip", "ip_as_dns", "cn_only", "wildcard"])
def test_der_reader_agrees_with_openssl(certs, name):
    crt = getattr(certs, name)[0]
    der = subprocess.run(["openssl", "x509", "-in", crt, "-outform", "DER"], check=True, capture_output=True).stdout
    parsed = parse_certificate(der)
    text = subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-ext", "subjectAltName", "-enddate", "-subject",
                           "-nameopt", "multiline"], check=True, capture_output=True, text=True).stdout
    sans = [part.strip() for line in text.splitlines() if "DNS:" in line or "IP Address:" in line for part in line.split(",")]
    assert parsed["dns_names"] == [san[4:] for san in sans if san.startswith("DNS:")]
    assert parsed["ip_addresses"] == [str(ipaddress.ip_address(san[11:])) for san in sans if san.startswith("IP Address:")]
    end = [line.split("=", 1)[1] for line in text.splitlines() if line.startswith("notAfter=")][0]
    assert parsed["not_after"] == datetime.datetime.strptime(end, "%b %d %H:%M:%S %Y %Z").replace(tzinfo=datetime.timezone.utc)
    assert "commonName                = %s" % parsed["common_name"] in text
