"""The apiserver stand-in (apiserver.py) served in-process with kubeadm's certificates
(conftest.start_apiserver): objects through the API with kube-apiserver's answers
(201/200/404/409 and their Status bodies), a DaemonSet's generation and status, health
(/readyz failing while etcd is unreachable or while shutting down, the lab's probe
delay), a graceful shutdown (requests under way answered, idle connections closed), TLS
(the handshake in the request's thread, the self-signed certificate of --cert-dir), the
legacy insecure port."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time

import pytest

from kubeha_standin import apiserver, flags, kubeconfig, store
from standin_harness import until as _until  # noqa: E402

V130 = (1, 30, 0)
CM = "/api/v1/namespaces/kube-system/configmaps"
DS = "/apis/apps/v1/namespaces/kube-system/daemonsets"
PODS = "/api/v1/namespaces/kube-system/pods"
NODE_LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"


@pytest.fixture
def admin_api(start_apiserver, pki_files):
    running = start_apiserver()
    return running, running.client(pki_files.admin)


# ---------------------------------------------------------------- objects
def test_a_cluster_admin_creates_gets_and_updates_a_configmap(admin_api):
    _running, admin = admin_api
    status, made, _h = admin.request("POST", CM, {"metadata": {"name": "kubeadm-config"}, "data": {"ClusterConfiguration": "a"}})
    assert status == 201 and made["kind"] == "ConfigMap" and made["metadata"]["namespace"] == "kube-system"
    status, got, _h = admin.get(CM + "/kubeadm-config")
    assert status == 200 and got == made
    got["data"]["ClusterConfiguration"] = "b"
    status, updated, _h = admin.request("PUT", CM + "/kubeadm-config", got)
    assert status == 200 and updated["data"] == {"ClusterConfiguration": "b"}
    assert int(updated["metadata"]["resourceVersion"]) > int(made["metadata"]["resourceVersion"])
    status, listed, _h = admin.get(CM)
    assert status == 200 and listed["kind"] == "ConfigMapList" and [i["data"] for i in listed["items"]] == [updated["data"]]


def test_an_update_with_a_stale_resource_version_is_409(admin_api):
    _running, admin = admin_api
    made = admin.request("POST", CM, {"metadata": {"name": "kube-proxy"}, "data": {"k": "1"}})[1]
    assert admin.request("PUT", CM + "/kube-proxy", dict(made, data={"k": "2"}))[0] == 200
    status, body, _h = admin.request("PUT", CM + "/kube-proxy", dict(made, data={"k": "3"}))
    assert (status, body) == (409, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "Conflict", "code": 409,
        "message": 'Operation cannot be fulfilled on configmaps "kube-proxy": the object has been modified; please apply '
                   "your changes to the latest version and try again",
        "details": {"name": "kube-proxy", "group": "", "kind": "configmaps"}})
    assert admin.get(CM + "/kube-proxy")[1]["data"] == {"k": "2"}


def test_kube_apiserver_s_answers_to_bad_requests(admin_api):
    _running, admin = admin_api
    admin.request("POST", CM, {"metadata": {"name": "a"}})
    assert admin.request("POST", CM, {"metadata": {"name": "a"}})[:2] == (409, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": 'configmaps "a" already exists',
        "reason": "AlreadyExists", "code": 409, "details": {"name": "a", "group": "", "kind": "configmaps"}})
    status, body, _h = admin.get(CM + "/nope")
    assert status == 404 and body["message"] == 'configmaps "nope" not found' and body["reason"] == "NotFound"
    status, body, _h = admin.request("PUT", CM + "/a", {"metadata": {"name": "b"}})
    assert status == 400 and body["message"] == "the name of the object (b) does not match the name on the URL (a)"
    status, body, _h = admin.request("POST", CM, "{not json")
    assert status == 400 and body["message"] == "the body of the request could not be decoded as JSON"
    for path in ("/api/v1/namespaces/kube-system/secrets/x", "/api/v1/namespaces/kube-system/configmaps/a/status", "/nope"):
        status, body, _h = admin.get(path)
        assert (status, body["message"]) == (404, "the server could not find the requested resource"), path
    assert admin.request("POST", "/readyz", {})[0] == 405


def test_a_merge_patch_through_the_api(admin_api):
    _running, admin = admin_api
    admin.request("POST", CM, {"metadata": {"name": "a", "annotations": {"x": "1"}}, "data": {"k": "v"}})
    status, body, _h = admin.request("PATCH", CM + "/a", {"metadata": {"annotations": {"x": None, "y": "2"}}},
                                     content_type="application/merge-patch+json")
    assert status == 200 and body["metadata"]["annotations"] == {"y": "2"} and body["data"] == {"k": "v"}


def _kube_proxy_ds(command):
    return {"metadata": {"name": "kube-proxy"},
            "spec": {"selector": {"matchLabels": {"k8s-app": "kube-proxy"}},
                     "template": {"metadata": {"labels": {"k8s-app": "kube-proxy"}},
                                  "spec": {"containers": [{"name": "kube-proxy", "command": command}]}}}}


def test_a_daemonset_s_generation_and_status(start_apiserver, pki_files):
    running = start_apiserver()
    admin, node1 = running.client(pki_files.admin), running.client(pki_files.kubelet)
    status, ds, _h = admin.request("POST", DS, _kube_proxy_ds(["/usr/local/bin/kube-proxy"]))
    assert status == 201 and ds["metadata"]["generation"] == 1
    ds["metadata"]["labels"] = {"k8s-app": "kube-proxy"}
    ds = admin.request("PUT", DS + "/kube-proxy", ds)[1]
    assert ds["metadata"]["generation"] == 1, "metadata only: same generation"
    status, ds, _h = admin.get(DS + "/kube-proxy")
    assert ds["status"]["desiredNumberScheduled"] == 0 and ds["status"]["observedGeneration"] == 1
    # node1 reports: its lease (a node), then the pod it runs from the template
    node1.request("POST", NODE_LEASES, {"metadata": {"name": "node1"}, "spec": {"holderIdentity": "node1"}})
    pod = {"metadata": {"name": "kube-proxy-node1", "labels": {"kubeha.lab/daemonset": "kube-proxy"},
                        "annotations": {"kubeha.lab/template-hash": store.template_hash(ds)}},
           "spec": {"nodeName": "node1"}, "status": {"phase": "Running", "ready": True}}
    assert node1.request("POST", PODS, pod)[0] == 201
    ds = admin.get(DS + "/kube-proxy")[1]
    assert {k: ds["status"][k] for k in ("desiredNumberScheduled", "currentNumberScheduled", "updatedNumberScheduled",
                                         "numberReady", "numberUnavailable")} == {
        "desiredNumberScheduled": 1, "currentNumberScheduled": 1, "updatedNumberScheduled": 1, "numberReady": 1,
        "numberUnavailable": 0}
    ds["spec"]["template"]["spec"]["containers"][0]["command"] = ["/usr/local/bin/kube-proxy", "--v=2"]
    ds = admin.request("PUT", DS + "/kube-proxy", ds)[1]
    assert ds["metadata"]["generation"] == 2
    ds = admin.get(DS + "/kube-proxy")[1]
    assert ds["status"]["observedGeneration"] == 2 and ds["status"]["updatedNumberScheduled"] == 0, "the pod is outdated"


def test_the_kubernetes_endpoints_for_a_client_of_the_service(start_apiserver, pki_files):
    running = start_apiserver("--endpoint-reconciler-type=master-count", "--apiserver-count=1")
    admin = running.client(pki_files.admin)
    status, body, _h = admin.get("/api/v1/namespaces/default/endpoints/kubernetes")
    assert status == 200 and body["subsets"] == [], "nothing stored before the first reconcile"
    running.api.reconcile()
    assert admin.get("/api/v1/namespaces/default/endpoints/kubernetes")[1]["subsets"][0]["addresses"] == [{"ip": "127.0.0.1"}]


# ---------------------------------------------------------------- health
def test_readyz_fails_while_etcd_is_unreachable(start_apiserver, pki_files):
    running = start_apiserver()
    admin = running.client(pki_files.admin)
    assert admin.get("/readyz")[:2] == (200, "ok")
    running.etcd.down = True
    assert _until(lambda: admin.get("/readyz")[:2] == (500, "[-]etcd failed: reason withheld\nreadyz check failed"))
    assert admin.get("/healthz")[:2] == (500, "[-]etcd failed: reason withheld\nhealthz check failed")
    assert admin.get("/livez")[:2] == (200, "ok"), "liveness does not depend on etcd"
    status, body, _h = admin.get(CM + "/a")
    assert status == 503 and "connection refused" in body["message"]
    running.etcd.down = False
    assert _until(lambda: admin.get("/readyz")[0] == 200)


def test_readyz_fails_at_once_when_shutting_down(start_apiserver, pki_files):
    running = start_apiserver()
    admin = running.client(pki_files.admin)
    running.api.shutting_down = True  # what shutdown() sets before the listeners close
    assert admin.get("/readyz")[:2] == (500, "[-]shutdown failed: reason withheld\nreadyz check failed")
    assert admin.get("/livez")[:2] == (200, "ok")


def test_the_lab_s_probe_delay_slows_readyz_and_healthz_only(start_apiserver, pki_files):
    running = start_apiserver()
    admin = running.client(pki_files.admin)
    with open(running.api.probe_delay.path, "w") as fh:
        fh.write("0.3\n")
    for path, slow in (("/readyz", True), ("/healthz", True), ("/livez", False), ("/version", False)):
        started = time.monotonic()
        assert admin.get(path)[0] == 200
        assert (time.monotonic() - started >= 0.3) is slow, path


def test_probe_delay_ignores_what_is_not_a_number_of_seconds(tmp_path, capsys):
    path = tmp_path / "readyz-delay"
    delay = apiserver.ProbeDelay(str(path))
    assert delay.seconds() == 0.0
    for text, seconds in (("", 0.0), ("0.25", 0.25), ("-1", 0.0), ("nan", 0.0), ("soon", 0.0), ("soon", 0.0)):
        path.write_text(text)
        assert delay.seconds() == seconds, text
    err = capsys.readouterr().err
    assert err.count("malformed content 'soon'") == 1 and "malformed content '-1'" in err


def test_shutdown_answers_the_requests_under_way_and_closes_idle_connections(start_apiserver, pki_files):
    """kube-apiserver on SIGTERM (Go's http.Server.Shutdown): once the listener is closed, a
    request under way is still answered (Connection: close), a kept-alive idle connection
    is closed, and drain() returns when none is left. A stand-in that exited at once cut
    the request a client behind HAProxy had just sent (kubectl: "EOF")."""
    running = start_apiserver()
    admin = running.client(pki_files.admin)
    host, port = running.server.server_address[:2]
    idle = http.client.HTTPSConnection(host, port, context=admin.context(), timeout=5)
    idle.request("GET", "/livez")
    assert idle.getresponse().read() == b"ok"  # kept alive, now idle
    with open(running.api.probe_delay.path, "w") as fh:
        fh.write("1\n")
    busy = http.client.HTTPSConnection(host, port, context=admin.context(), timeout=5)
    answers = []

    def slow_request():
        busy.request("GET", "/healthz")
        resp = busy.getresponse()
        answers.append((resp.status, resp.getheader("Connection"), resp.read()))

    thread = threading.Thread(target=slow_request)
    thread.start()
    assert _until(lambda: any(c[1] == "active" for c in running.server.connections.values()), 3)
    running.server.stop_listening()
    started = time.monotonic()
    assert running.server.drain(10) is True
    thread.join(5)
    assert answers == [(200, "close", b"ok")]
    assert time.monotonic() - started < 5
    assert running.server.connections == {}
    with pytest.raises((ConnectionError, http.client.HTTPException, ssl.SSLError, OSError)):
        idle.request("GET", "/livez")
        idle.getresponse().read()


def test_a_connection_queued_when_the_listener_closes_is_served(start_apiserver, pki_files):
    """After SIGTERM the accept loop stops at its next poll; a connection that queued up in
    the meantime is accepted and answered when the listener closes, not reset (HAProxy
    "SD", kubectl "EOF"); one that comes after the close is refused."""
    running = start_apiserver()
    admin = running.client(pki_files.admin)
    host, port = running.server.server_address[:2]
    running.server.shutdown()  # the accept loop has stopped; the listener is still open
    queued = socket.create_connection((host, port), timeout=5)  # in the accept queue
    answers = []

    def queued_request():
        conn = http.client.HTTPSConnection(host, port, context=admin.context(), timeout=5)
        conn.sock = admin.context().wrap_socket(queued, server_hostname=host)  # waits for the server's hello
        conn.request("GET", "/livez")
        answers.append(conn.getresponse().read())

    thread = threading.Thread(target=queued_request)
    thread.start()
    time.sleep(0.2)
    assert answers == []
    running.server.stop_listening()
    thread.join(5)
    assert answers == [b"ok"]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, port), timeout=2)
    assert running.server.drain(5) is True


def test_drain_gives_up_after_its_timeout(start_apiserver, pki_files):
    running = start_apiserver()
    admin = running.client(pki_files.admin)
    host, port = running.server.server_address[:2]
    with open(running.api.probe_delay.path, "w") as fh:
        fh.write("3\n")
    busy = http.client.HTTPSConnection(host, port, context=admin.context(), timeout=10)
    thread = threading.Thread(target=lambda: busy.request("GET", "/readyz") or busy.getresponse().read(), daemon=True)
    thread.start()
    assert _until(lambda: any(c[1] == "active" for c in running.server.connections.values()), 3)
    started = time.monotonic()
    assert running.server.drain(0.5) is False
    assert time.monotonic() - started < 2
    thread.join(5)


# ---------------------------------------------------------------- TLS and listeners
def test_a_stalled_client_does_not_hold_up_the_others(start_apiserver, pki_files):
    """The TLS handshake happens in the request's thread, not in accept()."""
    running = start_apiserver()
    host, port = running.server.server_address[:2]
    with socket.create_connection((host, port)):  # connects, never says hello
        started = time.monotonic()
        assert running.client(pki_files.admin).get("/readyz")[:2] == (200, "ok")
        assert time.monotonic() - started < 2


def test_a_client_certificate_of_another_ca_does_not_authenticate(start_apiserver, pki_files):
    running = start_apiserver()
    etcd_client = kubeconfig.KubeClient(running.url, ca_file=pki_files.ca, version=V130,
                                        cert_file=str(pki_files.certs / "apiserver-etcd-client.crt"),
                                        key_file=str(pki_files.certs / "apiserver-etcd-client.key"))
    with pytest.raises(kubeconfig.ClientError):
        etcd_client.get(CM)


def test_without_tls_files_the_apiserver_signs_its_own_certificate_in_cert_dir(start_apiserver, pki_files, tmp_path):
    cert_dir = tmp_path / "cert-dir"
    running = start_apiserver("--etcd-servers=https://127.0.0.1:2379", "--cert-dir=" + str(cert_dir), base_flags=False)
    assert sorted(p.name for p in cert_dir.iterdir()) == ["apiserver.crt", "apiserver.key"]
    with pytest.raises(kubeconfig.ClientError) as err:
        kubeconfig.KubeClient(running.url, ca_file=pki_files.ca, version=V130).get("/readyz")
    assert str(err.value) == 'Get "%s/readyz": tls: failed to verify certificate: x509: certificate signed by unknown authority' % (
        running.url)
    trusting = kubeconfig.KubeClient(running.url, ca_file=str(cert_dir / "apiserver.crt"), insecure=True, version=V130)
    assert trusting.get("/readyz")[:2] == (200, "ok")
    with pytest.raises(flags.FlagError, match="Unable to generate self signed cert"):
        opts = flags.parse_flags("apiserver", ["--etcd-servers=https://127.0.0.1:2379",
                                               "--cert-dir=" + str(tmp_path / "file" / "dir")], V130)
        (tmp_path / "file").write_text("not a directory")
        apiserver.ApiServer(opts, V130)


def test_the_legacy_insecure_port_needs_no_credentials(start_apiserver, fake_etcd):
    """The recipe's 1.5 apiservers: clients on the insecure port are system:unsecured (system:masters)."""
    running = start_apiserver(etcd=fake_etcd)
    handler = running.api.handler()
    handler.secure = False
    server = apiserver.Server(("127.0.0.1", 0), handler, None)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        client = kubeconfig.KubeClient("http://127.0.0.1:%d" % server.server_address[1])
        assert client.request("POST", CM, {"metadata": {"name": "a"}})[0] == 201
        assert client.get("/readyz")[:2] == (200, "ok")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_answers_are_not_held_back_by_nagle_s_algorithm(start_apiserver, pki_files):
    """Go sets TCP_NODELAY on every connection: the body that follows the headers goes out
    at once. Without it each answer waited for the client's delayed ACK (40 ms a request)."""
    running = start_apiserver()
    seen = []

    class Probe(running.api.handler()):
        def setup(self):
            super().setup()
            seen.append(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    server = apiserver.Server(("127.0.0.1", 0), Probe, running.api.tls)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        url = "https://127.0.0.1:%d" % server.server_address[1]
        assert running.client(pki_files.admin, url=url).get("/readyz")[:2] == (200, "ok")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert seen and all(seen)


def test_the_body_of_a_refused_request_is_not_taken_for_the_next_one(start_apiserver, pki_files):
    """Two requests on one kept-alive connection: the first refused before its body was
    needed (403), the second must still be read as a request."""
    running = start_apiserver()
    host, port = running.server.server_address[:2]
    conn = http.client.HTTPSConnection(host, port, timeout=5, context=ssl.create_default_context(cafile=pki_files.ca))
    try:
        conn.request("POST", CM, body=json.dumps({"metadata": {"name": "x"}, "data": {"k": "v" * 100}}),
                     headers={"Content-Type": "application/json"})
        first = conn.getresponse()
        assert first.status == 403 and json.loads(first.read())["reason"] == "Forbidden"
        conn.request("GET", "/readyz")
        second = conn.getresponse()
        assert (second.status, second.read()) == (200, b"ok")
    finally:
        conn.close()


@pytest.mark.parametrize("gone", [ssl.SSLEOFError(8, "EOF occurred in violation of protocol"),
                                  BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset")])
def test_a_client_that_went_away_is_no_server_error(gone, capsys):
    """HAProxy's health checks close once they read the status line: the answer's write
    fails. Go's net/http prints nothing; socketserver would print a traceback for each."""
    server = apiserver.Server(("127.0.0.1", 0), apiserver.BaseHTTPRequestHandler)
    try:
        try:
            raise gone
        except OSError:
            server.handle_error(None, ("127.0.0.1", 40000))
        assert capsys.readouterr().err == ""
        try:
            raise ValueError("a bug of the stand-in")
        except ValueError:
            server.handle_error(None, ("127.0.0.1", 40000))
        assert "ValueError: a bug of the stand-in" in capsys.readouterr().err
    finally:
        server.server_close()
