"""store.py (API objects in etcd, resourceVersion = mod_revision, 409 on a stale update,
DaemonSet generation and status) against FakeEtcd, and the etcd v3 JSON gateway client
of etcd.py (its requests, its lab fault injection). FakeEtcd itself is checked to offer
every call of the real client."""

from __future__ import annotations

import base64
import http.server
import inspect
import json
import socket
import threading

import pytest

from kubeha_standin import etcd, store

NS = "kube-system"


@pytest.fixture
def objects(fake_etcd):
    return store.Store(fake_etcd, "/registry")


def _cm(name="c", data=None):
    return {"metadata": {"name": name}, "data": data or {"k": "v"}}


# ---------------------------------------------------------------- create / get / update / patch
def test_create_stores_the_object_at_kube_apiserver_s_key(objects, fake_etcd):
    made = objects.create("", "configmaps", NS, _cm())
    assert made["kind"] == "ConfigMap" and made["apiVersion"] == "v1"
    meta = made["metadata"]
    assert meta["namespace"] == NS and meta["uid"] and meta["creationTimestamp"].endswith("Z")
    raw, revision = fake_etcd.get_revision("/registry/configmaps/kube-system/c")
    assert meta["resourceVersion"] == str(revision)
    assert "resourceVersion" not in json.loads(raw)["metadata"], "the version is etcd's, not stored"
    lease = objects.create("coordination.k8s.io", "leases", "kube-node-lease", {"metadata": {"name": "node1"}, "spec": {}})
    assert lease["apiVersion"] == "coordination.k8s.io/v1"
    assert fake_etcd.get("/registry/leases/kube-node-lease/node1") is not None
    objects.create("", "endpoints", "default", {"metadata": {"name": "kubernetes"}, "subsets": []})
    assert fake_etcd.get("/registry/services/endpoints/default/kubernetes") is not None


def test_create_refusals(objects):
    objects.create("", "configmaps", NS, _cm())
    with pytest.raises(store.ApiError) as err:
        objects.create("", "configmaps", NS, _cm())
    assert (err.value.code, err.value.reason, err.value.message) == (409, "AlreadyExists", 'configmaps "c" already exists')
    with pytest.raises(store.ApiError) as err:
        objects.create("", "configmaps", NS, {"metadata": {}})
    assert err.value.code == 422 and err.value.message == "ConfigMap is invalid: metadata.name: Required value: name is required"
    with pytest.raises(store.ApiError) as err:
        objects.create("", "configmaps", NS, {"metadata": {"name": "x", "namespace": "default"}})
    assert err.value.code == 400 and err.value.message == (
        "the namespace of the provided object does not match the namespace sent on the request")


def test_get_of_a_missing_object_is_kube_apiserver_s_404(objects):
    with pytest.raises(store.ApiError) as err:
        objects.get("coordination.k8s.io", "leases", NS, "kube-scheduler")
    assert err.value.status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'leases.coordination.k8s.io "kube-scheduler" not found', "reason": "NotFound", "code": 404,
        "details": {"name": "kube-scheduler", "group": "coordination.k8s.io", "kind": "leases"}}


def test_update_with_a_stale_resource_version_is_a_conflict(objects):
    made = objects.create("", "configmaps", NS, _cm())
    updated = objects.update("", "configmaps", NS, "c", dict(made, data={"k": "w"}))
    assert int(updated["metadata"]["resourceVersion"]) > int(made["metadata"]["resourceVersion"])
    assert updated["metadata"]["uid"] == made["metadata"]["uid"]
    with pytest.raises(store.ApiError) as err:
        objects.update("", "configmaps", NS, "c", dict(made, data={"k": "x"}))
    assert (err.value.code, err.value.reason) == (409, "Conflict")
    assert err.value.message == ('Operation cannot be fulfilled on configmaps "c": the object has been modified; '
                                 "please apply your changes to the latest version and try again")
    assert objects.get("", "configmaps", NS, "c")["data"] == {"k": "w"}
    # without a resourceVersion an update is unconditional (as kubectl replace --force is not)
    unconditional = {"metadata": {"name": "c"}, "data": {"k": "y"}}
    assert objects.update("", "configmaps", NS, "c", unconditional)["data"] == {"k": "y"}


def test_update_keeps_what_the_server_owns(objects):
    made = objects.create("", "configmaps", NS, _cm())
    forged = {"kind": "Secret", "data": {},
              "metadata": {"name": "c", "uid": "forged", "creationTimestamp": "1970-01-01T00:00:00Z",
                           "resourceVersion": made["metadata"]["resourceVersion"]}}
    updated = objects.update("", "configmaps", NS, "c", forged)
    assert updated["kind"] == "ConfigMap"
    assert {k: updated["metadata"][k] for k in ("uid", "creationTimestamp")} == {
        k: made["metadata"][k] for k in ("uid", "creationTimestamp")}


def test_update_of_a_missing_object_is_404(objects):
    with pytest.raises(store.ApiError) as err:
        objects.update("", "configmaps", NS, "nope", _cm("nope"))
    assert err.value.code == 404 and err.value.message == 'configmaps "nope" not found'


def test_patch_is_a_merge_patch_retried_on_conflicts(objects, fake_etcd):
    objects.create("", "configmaps", NS, {"metadata": {"name": "c", "annotations": {"a": "1", "b": "2"}}, "data": {"k": "v"}})
    fake_etcd.lost_races = 2  # two concurrent writers in between
    patched = objects.patch("", "configmaps", NS, "c", {"metadata": {"annotations": {"a": None, "c": "3"}}})
    assert patched["metadata"]["annotations"] == {"b": "2", "c": "3"} and patched["data"] == {"k": "v"}


def test_merge_patch_is_rfc_7386():
    target = {"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]}
    assert store.merge_patch(target, {"a": "z", "c": {"f": None}, "l": [3]}) == {"a": "z", "c": {"d": "e"}, "l": [3]}
    assert store.merge_patch(target, ["x"]) == ["x"]
    assert target == {"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]}, "the target is not modified"


def test_list_prefix_lists_one_namespace(objects):
    objects.create("", "configmaps", NS, _cm("a"))
    objects.create("", "configmaps", NS, _cm("b"))
    objects.create("", "configmaps", "kube-public", _cm("cluster-info"))
    assert sorted(o["metadata"]["name"] for o in objects.list_prefix("", "configmaps", NS)) == ["a", "b"]


# ---------------------------------------------------------------- DaemonSets
def _ds(command=("/usr/local/bin/kube-proxy",)):
    return {"metadata": {"name": "kube-proxy"},
            "spec": {"selector": {"matchLabels": {"k8s-app": "kube-proxy"}},
                     "template": {"metadata": {"labels": {"k8s-app": "kube-proxy"}},
                                  "spec": {"containers": [{"name": "kube-proxy", "command": list(command)}]}}}}


def test_a_daemonset_s_generation_grows_only_when_its_spec_changes(objects):
    made = objects.create("apps", "daemonsets", NS, _ds())
    assert made["metadata"]["generation"] == 1
    relabelled = dict(made, metadata=dict(made["metadata"], labels={"k8s-app": "kube-proxy"}))
    same = objects.update("apps", "daemonsets", NS, "kube-proxy", relabelled)
    assert same["metadata"]["generation"] == 1
    changed = objects.update("apps", "daemonsets", NS, "kube-proxy", dict(same, spec=_ds(["/bin/true"])["spec"]))
    assert changed["metadata"]["generation"] == 2
    forged = dict(changed, metadata=dict(changed["metadata"], generation=40))
    assert objects.update("apps", "daemonsets", NS, "kube-proxy", forged)["metadata"]["generation"] == 2


def test_template_hash_follows_the_pod_template_only():
    assert store.template_hash(_ds()) == store.template_hash(dict(_ds(), metadata={"name": "other"}))
    assert store.template_hash(_ds()) != store.template_hash(_ds(["/bin/true"]))


def _pod(node, ds, phase="Running", ready=True, digest=None):
    return {"metadata": {"name": "kube-proxy-" + node, "labels": {"kubeha.lab/daemonset": "kube-proxy"},
                         "annotations": {"kubeha.lab/template-hash": digest or store.template_hash(ds)}},
            "spec": {"nodeName": node}, "status": {"phase": phase, "ready": ready}}


def test_daemonset_status_counts_the_pods_the_kubelets_report():
    ds = dict(_ds(), metadata={"name": "kube-proxy", "generation": 3})
    nodes = [{"metadata": {"name": n}} for n in ("node1", "node2", "node3")]
    pods = [_pod("node1", ds), _pod("node2", ds, ready=False), _pod("node3", ds, digest="old"),
            {"metadata": {"name": "other", "labels": {"kubeha.lab/daemonset": "other"}}, "status": {"phase": "Running", "ready": True}}]
    assert store.daemonset_status(ds, pods, nodes) == {
        "observedGeneration": 3, "desiredNumberScheduled": 3, "currentNumberScheduled": 3, "updatedNumberScheduled": 2,
        "numberReady": 2, "numberAvailable": 2, "numberUnavailable": 1, "numberMisscheduled": 0}
    assert store.daemonset_status(ds, [], [])["desiredNumberScheduled"] == 0


# ---------------------------------------------------------------- the etcd client
def test_fake_etcd_offers_every_call_of_the_real_client(fake_etcd):
    real = {name for name, _f in inspect.getmembers(etcd.Etcd, inspect.isfunction) if not name.startswith("_")}
    missing = {name for name in real - {"call"} if not callable(getattr(fake_etcd, name, None))}
    assert not missing, "FakeEtcd lacks %s" % sorted(missing)
    for name in real - {"call"}:
        want = list(inspect.signature(getattr(etcd.Etcd, name)).parameters)[1:]
        assert list(inspect.signature(getattr(fake_etcd, name)).parameters) == want, name


def test_fake_etcd_semantics(fake_etcd):
    assert fake_etcd.compare_and_swap("/k", "1", 0) is True
    value, revision = fake_etcd.get_revision("/k")
    assert value == "1" and fake_etcd.compare_and_swap("/k", "2", 0) is False
    assert fake_etcd.compare_and_swap("/k", "2", revision) is True and fake_etcd.get("/k") == "2"
    lease = fake_etcd.grant(15)
    assert fake_etcd.acquire("/lock", "a", lease) == "a" and fake_etcd.acquire("/lock", "b", lease) == "a"
    fake_etcd.advance(10)
    fake_etcd.keepalive(lease)
    fake_etcd.advance(10)
    assert fake_etcd.get_prefix("/lo") == {"/lock": "a"}
    fake_etcd.advance(6)
    assert fake_etcd.get("/lock") is None and fake_etcd.get("/k") == "2"
    with pytest.raises(OSError):
        fake_etcd.keepalive(lease)
    fake_etcd.down = True
    assert fake_etcd.healthy() is False
    with pytest.raises(OSError):
        fake_etcd.get("/k")


class _Gateway(http.server.BaseHTTPRequestHandler):
    """An etcd v3 JSON gateway that records the requests and answers from ``answers``."""

    requests, answers = [], {}

    def do_GET(self):  # noqa: N802 (http.server's name)
        self._answer(None)

    def do_POST(self):  # noqa: N802
        self._answer(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))

    def _answer(self, body):
        type(self).requests.append((self.path, body))
        data = json.dumps(type(self).answers.get(self.path, {})).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway(tmp_path):
    _Gateway.requests, _Gateway.answers = [], {}
    server = http.server.HTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server, _Gateway
    server.shutdown()
    server.server_close()
    thread.join()


def _b64(text):
    return base64.b64encode(text.encode()).decode()


def test_the_etcd_client_speaks_the_v3_json_gateway(gateway, tmp_path):
    server, recorder = gateway
    client = etcd.Etcd("http://127.0.0.1:1,http://127.0.0.1:%d" % server.server_port, partition_file=str(tmp_path / "none"))
    recorder.answers = {"/v3/kv/range": {"kvs": [{"key": _b64("/k"), "value": _b64("v"), "mod_revision": "42"}]},
                        "/v3/kv/txn": {"succeeded": True}}
    assert client.get_revision("/k") == ("v", 42), "the first server is down: the next one answers"
    assert client.compare_and_swap("/k", "w", 42) is True
    client.get_prefix("/registry/masterleases/")
    paths = list(recorder.requests)
    assert paths[0] == ("/v3/kv/range", {"key": _b64("/k")})
    assert paths[1] == ("/v3/kv/txn", {
        "compare": [{"key": _b64("/k"), "target": "MOD", "result": "EQUAL", "mod_revision": "42"}],
        "success": [{"requestPut": {"key": _b64("/k"), "value": _b64("w")}}]})
    assert paths[2] == ("/v3/kv/range", {"key": _b64("/registry/masterleases/"), "range_end": _b64("/registry/masterleases0")})
    recorder.answers = {"/v3/kv/range": {}}
    assert client.get_revision("/missing") == (None, 0)


def test_etcd_partition_fault_reaches_no_member(gateway, tmp_path):
    """With the partition file present no server is even tried: healthy() is
    False and calls fail; without it a reachable server answers."""
    server, recorder = gateway
    fault = tmp_path / "etcd-unreachable"
    client = etcd.Etcd("http://127.0.0.1:%d" % server.server_port, partition_file=str(fault))
    assert client.healthy() is True
    fault.write_text("")
    before = len(recorder.requests)
    assert client.healthy() is False
    with pytest.raises(OSError, match="lab fault injection"):
        client.call("/v3/kv/range", {"key": "a2V5"})
    assert len(recorder.requests) == before
    fault.unlink()
    assert client.healthy() is True


def test_no_etcd_server_answers(tmp_path):
    client = etcd.Etcd("http://127.0.0.1:1", partition_file=str(tmp_path / "none"))
    assert client.healthy() is False
    with pytest.raises(OSError, match="http://127.0.0.1:1/v3/kv/range"):
        client.get("/k")


class _KeepAliveGateway(_Gateway):
    """The gateway over HTTP/1.1 (connections kept open), counting the connections."""

    protocol_version = "HTTP/1.1"
    connections = 0
    drop_next = False  # read the next request, then close without an answer

    def setup(self):
        type(self).connections += 1
        super().setup()

    def _answer(self, body):
        if type(self).drop_next:
            type(self).drop_next = False
            type(self).requests.append((self.path, body))
            self.close_connection = True
            return
        super()._answer(body)


def test_the_etcd_client_keeps_its_connection_and_reopens_a_closed_one(tmp_path):
    """The apiserver stand-in talks to etcd every second: one kept connection per thread
    (as the real apiserver keeps its gRPC connection), not a new TLS handshake per request.
    A connection the server closed in between is opened again, invisibly to the caller."""
    _KeepAliveGateway.requests, _KeepAliveGateway.answers, _KeepAliveGateway.connections = [], {}, 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _KeepAliveGateway)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        client = etcd.Etcd("http://127.0.0.1:%d" % server.server_port, partition_file=str(tmp_path / "none"))
        _KeepAliveGateway.answers = {"/v3/kv/txn": {"succeeded": True}}
        for _round in range(5):
            assert client.healthy() is True
            assert client.compare_and_swap("/k", "v", 0) is True
        assert len(_KeepAliveGateway.requests) == 10
        assert _KeepAliveGateway.connections == 1, "a new connection per request"
        # The server side goes away between two requests (an etcd restart): the next
        # request still succeeds, on a new connection.
        client._local.conns["http://127.0.0.1:%d" % server.server_port].sock.shutdown(socket.SHUT_RDWR)
        assert client.compare_and_swap("/k", "v", 0) is True
        assert _KeepAliveGateway.connections == 2
        # A request etcd received is never sent twice (a txn or a lease grant may have taken
        # effect): the caller sees the failure.
        _KeepAliveGateway.drop_next, before = True, len(_KeepAliveGateway.requests)
        with pytest.raises(OSError):
            client.compare_and_swap("/k", "v", 0)
        assert len(_KeepAliveGateway.requests) == before + 1
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
