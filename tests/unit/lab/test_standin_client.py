"""kubeconfig.py: kubeconfig files (the current context, paths relative to the file, the
lab's worker template lab/standins/kubeconfig.j2), the server a component talks to, and
KubeClient against the in-process apiserver, verifying the server as client-go does,
each failure with Go's text (crypto/x509, "tls: failed to verify certificate: " from
Kubernetes 1.27 on)."""

from __future__ import annotations

import base64
import os

import jinja2
import pytest
import yaml

from kubeha_standin import core, flags, kubeconfig

V130, V152, V126, V127 = (1, 30, 0), (1, 5, 2), (1, 26, 15), (1, 27, 0)
STANDINS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                        "lab", "standins")
KUBEADM_DNS = "node1, kubernetes, kubernetes.default, kubernetes.default.svc, kubernetes.default.svc.cluster.local"


def _write(path, doc):
    path.write_text(yaml.safe_dump(doc))
    return str(path)


# ---------------------------------------------------------------- kubeconfig files
def _two_contexts(current="other"):
    return {"apiVersion": "v1", "kind": "Config", "current-context": current,
            "clusters": [{"name": "kubernetes", "cluster": {"server": "https://10.0.0.11:6443/",
                                                            "certificate-authority": "pki/ca.crt"}},
                         {"name": "far", "cluster": {"server": "https://10.0.0.100:8443", "insecure-skip-tls-verify": True}}],
            "users": [{"name": "admin", "user": {"client-certificate": "/abs/admin.crt", "client-key": "admin.key"}},
                      {"name": "bot", "user": {"tokenFile": "token"}}],
            "contexts": [{"name": "default", "context": {"cluster": "kubernetes", "user": "admin"}},
                         {"name": "other", "context": {"cluster": "far", "user": "bot"}}]}


def test_the_current_context_chooses_cluster_and_user(tmp_path):
    conf = kubeconfig.Kubeconfig(_write(tmp_path / "kube.conf", _two_contexts()))
    assert conf.server == "https://10.0.0.100:8443" and conf.insecure is True
    assert conf.token_file == str(tmp_path / "token") and conf.cert_file is None


def test_without_a_current_context_the_first_cluster_and_user_count(tmp_path):
    conf = kubeconfig.Kubeconfig(_write(tmp_path / "kube.conf", _two_contexts(current="")))
    assert conf.server == "https://10.0.0.11:6443", "trailing slash dropped"
    assert conf.ca_file == str(tmp_path / "pki" / "ca.crt"), "relative to the kubeconfig's directory"
    assert (conf.cert_file, conf.key_file) == ("/abs/admin.crt", str(tmp_path / "admin.key"))


@pytest.mark.parametrize("text", ["", "clusters: []\n", "kind: Config\nclusters: [{name: x, cluster: {}}]\n", "[unbalanced\n"])
def test_an_unusable_kubeconfig_is_a_start_error(tmp_path, text):
    path = tmp_path / "kube.conf"
    path.write_text(text)
    with pytest.raises(core.FlagError, match="invalid configuration: cannot read kubeconfig %s" % path):
        kubeconfig.Kubeconfig(str(path))
    with pytest.raises(core.FlagError, match="invalid configuration"):
        kubeconfig.api_server_url("scheduler", {"kubeconfig": str(tmp_path / "missing")})


def test_the_kubeadm_kubeconfigs_are_kubeadm_shaped(pki_files):
    doc = yaml.safe_load(open(pki_files.scheduler))
    assert doc["kind"] == "Config" and doc["current-context"] == "system:kube-scheduler@kubernetes"
    assert doc["contexts"] == [{"name": "system:kube-scheduler@kubernetes",
                                "context": {"cluster": "kubernetes", "user": "system:kube-scheduler"}}]
    cluster = doc["clusters"][0]["cluster"]
    assert base64.b64decode(cluster["certificate-authority-data"]).decode() == pki_files.ca_pem
    assert cluster["server"] == "https://127.0.0.1:6443"
    assert set(doc["users"][0]["user"]) == {"client-certificate-data", "client-key-data"}
    assert os.stat(pki_files.scheduler).st_mode & 0o777 == 0o600


def _render_worker_kubeconfig(tmp_path, server, pki_files, user="system:node:node2"):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(STANDINS), undefined=jinja2.StrictUndefined)
    text = env.get_template("kubeconfig.j2").render(__lab_kubeconfig={
        "server": server, "ca": base64.b64encode(pki_files.ca_pem.encode()).decode(), "user": user,
        "cert_file": pki_files.node2_pem})
    path = tmp_path / "kubelet.conf"
    path.write_text(text)
    return str(path), text


def test_the_worker_kubeconfig_template_authenticates_as_its_node(start_apiserver, pki_files, tmp_path):
    running = start_apiserver()
    path, text = _render_worker_kubeconfig(tmp_path, running.url, pki_files)
    assert "KUBEHA LAB STAND-IN" in text
    doc = yaml.safe_load(text)
    assert doc["current-context"] == "system:node:node2@kubernetes"
    assert doc["users"][0]["user"] == {"client-certificate": pki_files.node2_pem, "client-key": pki_files.node2_pem}
    client = kubeconfig.Kubeconfig(path).client(version=V130)
    leases = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
    assert client.request("POST", leases, {"metadata": {"name": "node2"}, "spec": {}})[0] == 201
    status, body, _h = client.get(leases + "/node1")
    assert status == 403 and 'User "system:node:node2"' in body["message"]


# ---------------------------------------------------------------- the server a component talks to
@pytest.mark.parametrize("component", ["scheduler", "controller-manager", "proxy", "kubelet"])
def test_api_server_from_kubeconfig_and_explicit_flag_wins(component, pki_files, tmp_path):
    path, _text = _render_worker_kubeconfig(tmp_path, "https://10.0.0.11:6443", pki_files)
    opts = flags.parse_flags(component, ["--kubeconfig=" + path], V130)
    assert kubeconfig.api_server_url(component, opts) == "https://10.0.0.11:6443"
    assert kubeconfig.component_client(component, opts, V130).server == "https://10.0.0.11:6443"
    # the kubelet's --api-servers exists up to 1.7 only (tests/unit/lab/test_standin_flags.py)
    flag, version = ("--api-servers", V152) if component == "kubelet" else ("--master", V130)
    opts = flags.parse_flags(component, ["--kubeconfig=" + path, flag + "=http://127.0.0.1:8080/"], version)
    assert kubeconfig.api_server_url(component, opts) == "http://127.0.0.1:8080"
    client = kubeconfig.component_client(component, opts, version)
    assert client.server == "http://127.0.0.1:8080" and client.cert_file == pki_files.node2_pem, "the kubeconfig's credentials"
    assert kubeconfig.api_server_url(component, flags.parse_flags(component, [], V130)) == core.LEGACY_MASTER


def test_the_current_context_decides_the_server(tmp_path):
    path = _write(tmp_path / "kube.conf", _two_contexts())
    assert kubeconfig.kubeconfig_server(path) == "https://10.0.0.100:8443"
    assert kubeconfig.api_server_url("scheduler", {"kubeconfig": path}) == "https://10.0.0.100:8443"


# ---------------------------------------------------------------- verifying the server
def test_a_kubeadm_kubeconfig_reaches_the_apiserver(start_apiserver, pki_files):
    running = start_apiserver()
    assert running.client(pki_files.admin).get("/readyz")[:2] == (200, "ok")


@pytest.mark.parametrize("version, prefix", [(V130, "tls: failed to verify certificate: "), (V127, "tls: failed to verify certificate: "),
                                             (V126, ""), (V152, "")])
def test_an_address_the_certificate_does_not_name(start_apiserver, pki_files, version, prefix):
    running = start_apiserver(host="127.0.0.2")
    with pytest.raises(kubeconfig.ClientError) as err:
        running.client(pki_files.admin, version=version).get("/readyz")
    assert str(err.value) == 'Get "%s/readyz": %sx509: certificate is valid for 10.96.0.1, 127.0.0.1, not 127.0.0.2' % (
        running.url, prefix)


def test_a_name_the_certificate_does_not_name(start_apiserver, pki_files):
    running = start_apiserver()
    url = running.url.replace("127.0.0.1", "localhost")
    with pytest.raises(kubeconfig.ClientError) as err:
        running.client(pki_files.admin, url=url).get("/healthz")
    assert str(err.value) == 'Get "%s/healthz": tls: failed to verify certificate: x509: certificate is valid for %s, not localhost' % (
        url, KUBEADM_DNS)


def test_a_certificate_of_another_ca(start_apiserver, pki_files):
    running = start_apiserver()
    client = kubeconfig.KubeClient(running.url, ca_file=pki_files.etcd_ca, version=V130)
    with pytest.raises(kubeconfig.ClientError) as err:
        client.get("/readyz")
    assert str(err.value) == 'Get "%s/readyz": tls: failed to verify certificate: x509: certificate signed by unknown authority' % (
        running.url)
    with pytest.raises(kubeconfig.ClientError) as err:
        kubeconfig.KubeClient(running.url, ca_file=pki_files.etcd_ca, version=V152).request("PUT", "/x", {})
    assert str(err.value) == 'Put "%s/x": x509: certificate signed by unknown authority' % running.url


def test_a_name_when_the_certificate_has_no_dns_san(start_apiserver, pki_files):
    running = start_apiserver("--tls-cert-file=" + pki_files.ip_only_crt)
    url = running.url.replace("127.0.0.1", "localhost")
    with pytest.raises(kubeconfig.ClientError) as err:
        kubeconfig.KubeClient(url, ca_file=pki_files.ca, version=V130).get("/readyz")
    assert str(err.value) == ('Get "%s/readyz": tls: failed to verify certificate: x509: certificate is not valid for any '
                              "names, but wanted to match localhost" % url)
    assert kubeconfig.KubeClient(running.url, ca_file=pki_files.ca, version=V130).get("/readyz")[0] == 200


def test_an_ip_when_the_certificate_has_no_ip_san(start_apiserver, pki_files):
    running = start_apiserver("--tls-cert-file=" + pki_files.dns_only_crt)
    with pytest.raises(kubeconfig.ClientError) as err:
        kubeconfig.KubeClient(running.url, ca_file=pki_files.ca, version=V130).get("/readyz")
    assert str(err.value) == ('Get "%s/readyz": tls: failed to verify certificate: x509: cannot validate certificate for '
                              "127.0.0.1 because it doesn't contain any IP SANs" % running.url)


def test_insecure_skip_tls_verify_skips_verification(start_apiserver, pki_files):
    running = start_apiserver(host="127.0.0.2")
    assert kubeconfig.KubeClient(running.url, insecure=True, version=V130).get("/readyz")[:2] == (200, "ok")


def test_nothing_listening():
    client = kubeconfig.KubeClient("https://127.0.0.1:1", version=V130)
    with pytest.raises(kubeconfig.ClientError) as err:
        client.get("/readyz")
    assert str(err.value) == 'Get "https://127.0.0.1:1/readyz": dial tcp 127.0.0.1:1: connect: connection refused'


@pytest.mark.parametrize("host, dns, ips, text", [
    ("10.0.0.100", ["kubernetes"], ["10.96.0.1", "10.0.0.11"], "x509: certificate is valid for 10.96.0.1, 10.0.0.11, not 10.0.0.100"),
    ("10.0.0.100", ["kubernetes"], [], "x509: cannot validate certificate for 10.0.0.100 because it doesn't contain any IP SANs"),
    ("vip.example", ["a", "b"], ["10.0.0.1"], "x509: certificate is valid for a, b, not vip.example"),
    ("vip.example", [], ["10.0.0.1"], "x509: certificate is not valid for any names, but wanted to match vip.example"),
    ("fd00::0100", [], ["fd00::2"], "x509: certificate is valid for fd00::2, not fd00::100"),
])
def test_go_hostname_error(host, dns, ips, text):
    assert kubeconfig.go_hostname_error(host, dns, ips) == text


# ---------------------------------------------------------------- credentials
def test_the_token_file_is_read_on_every_request(start_apiserver, pki_files, tmp_path):
    """The kubelet rotates projected tokens: client-go re-reads tokenFile."""
    tokens = tmp_path / "tokens.csv"
    tokens.write_text('admintoken,admin,1,"kubeadm:cluster-admins"\nplaintoken,jane,2\n')
    running = start_apiserver("--token-auth-file=" + str(tokens), "--anonymous-auth=false")
    token = tmp_path / "token"
    token.write_text("admintoken\n")
    conf = _write(tmp_path / "kube.conf", {
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "k", "cluster": {"server": running.url, "certificate-authority": pki_files.ca}}],
        "users": [{"name": "u", "user": {"tokenFile": "token"}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}]})
    client = kubeconfig.Kubeconfig(conf).client(version=V130)
    assert client.get("/api/v1/namespaces/kube-system/configmaps/x")[0] == 404
    token.write_text("plaintoken\n")
    status, body, _h = client.get("/api/v1/namespaces/kube-system/configmaps/x")
    assert status == 403 and 'User "jane"' in body["message"]
    token.write_text("wrongtoken\n")
    assert client.get("/readyz")[0] == 401
    token.unlink()
    with pytest.raises(kubeconfig.ClientError, match='Get "%s/readyz": ' % running.url):
        client.get("/readyz")


def test_client_certificate_data_is_written_privately(pki_files):
    conf = kubeconfig.Kubeconfig(pki_files.admin)
    client = conf.client(server="https://127.0.0.1:1", version=V130)
    assert client.cert_file.startswith(kubeconfig._private_dir())  # noqa: SLF001
    assert os.stat(client.cert_file).st_mode & 0o777 == 0o600 and os.stat(client.key_file).st_mode & 0o777 == 0o600
    assert open(client.cert_file).read() == base64.b64decode(conf.cert_data).decode()
