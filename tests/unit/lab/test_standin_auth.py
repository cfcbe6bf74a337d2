"""kube-apiserver's authentication and authorization (auth.py): unit tests of the
Authenticator, the Authorizer and the 403 text, then requests to an in-process apiserver
with kubeadm's certificates and kubeconfig files (conftest.start_apiserver): 401 without
credentials under --anonymous-auth=false (/readyz too), anonymous access to the public
paths only, a node's own Lease and no other, service-account tokens from TokenRequest
that this apiserver accepts and one with another key refuses. Each refusal is compared
with kube-apiserver's Status body."""

from __future__ import annotations

import base64
import json
import os
import shutil
import time

import pytest

from kubeha_standin import apiserver, auth, core, flags, kubeconfig

V130 = (1, 30, 0)
ISSUER = "https://kubernetes.default.svc.cluster.local"
CM = "/api/v1/namespaces/kube-system/configmaps"
NODE_LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
UNAUTHORIZED = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized",
                "reason": "Unauthorized", "code": 401}


def forbidden(message, name="", group="", kind=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": "Forbidden", "code": 403}
    if kind is not None:
        body["details"] = {"name": name, "group": group, "kind": kind}
    return body


def _claims(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


# ---------------------------------------------------------------- the 403 text
def test_forbidden_message_is_kube_apiserver_s():
    anon, node = auth.ANONYMOUS, auth.Identity("system:node:node1", ["system:nodes"])
    assert auth.forbidden_message(anon, "get", path="/metrics") == 'forbidden: User "system:anonymous" cannot get path "/metrics"'
    assert auth.forbidden_message(anon, "get", resource="configmaps", namespace="kube-system", name="kubeadm-config") == (
        'configmaps "kubeadm-config" is forbidden: User "system:anonymous" cannot get resource "configmaps" in API group "" '
        'in the namespace "kube-system"')
    assert auth.forbidden_message(anon, "list", resource="nodes") == (
        'nodes is forbidden: User "system:anonymous" cannot list resource "nodes" in API group "" at the cluster scope')
    assert auth.forbidden_message(node, "create", resource="serviceaccounts", namespace="kube-system", name="default",
                                  subresource="token", reason="no relationship found between node 'node1' and this object") == (
        'serviceaccounts "default" is forbidden: User "system:node:node1" cannot create resource "serviceaccounts/token" '
        "in API group \"\" in the namespace \"kube-system\": no relationship found between node 'node1' and this object")


# ---------------------------------------------------------------- authorization
ADMIN = auth.Identity("kubernetes-admin", ["kubeadm:cluster-admins", "system:authenticated"])
MASTERS = auth.Identity("kubernetes-super-admin", ["system:masters", "system:authenticated"])
SCHEDULER = auth.Identity("system:kube-scheduler", ["system:authenticated"])
NODE1 = auth.Identity("system:node:node1", ["system:nodes", "system:authenticated"])
PROXY = auth.Identity("system:serviceaccount:kube-system:kube-proxy",
                      ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"])
SOMEONE = auth.Identity("jane", ["system:authenticated"])


@pytest.mark.parametrize("ident, verb, where, expected", [
    (ADMIN, "update", dict(resource="configmaps", namespace="kube-system", name="kubeadm-config"), (True, "")),
    (MASTERS, "create", dict(group="apps", resource="daemonsets", namespace="kube-system"), (True, "")),
    (SOMEONE, "get", dict(path="/readyz"), (True, "")),
    (SOMEONE, "get", dict(path="/metrics"), (False, "")),
    (SOMEONE, "get", dict(resource="configmaps", namespace="kube-public", name="cluster-info"), (False, "")),
    (auth.ANONYMOUS, "get", dict(resource="configmaps", namespace="kube-public", name="cluster-info"), (True, "")),
    (auth.ANONYMOUS, "update", dict(resource="configmaps", namespace="kube-public", name="cluster-info"), (False, "")),
    (SCHEDULER, "update", dict(group="coordination.k8s.io", resource="leases", namespace="kube-system", name="kube-scheduler"),
     (True, "")),
    (SCHEDULER, "get", dict(resource="configmaps", namespace="kube-system", name="kubeadm-config"), (False, "")),
    (NODE1, "update", dict(group="coordination.k8s.io", resource="leases", namespace="kube-node-lease", name="node1"), (True, "")),
    (NODE1, "create", dict(group="coordination.k8s.io", resource="leases", namespace="kube-node-lease"), (True, "")),
    (NODE1, "update", dict(group="coordination.k8s.io", resource="leases", namespace="kube-node-lease", name="node2"),
     (False, "can only access node lease with the same name as the requesting node")),
    (NODE1, "list", dict(group="coordination.k8s.io", resource="leases", namespace="kube-node-lease"),
     (False, "can only get, create, update, patch, or delete a node lease")),
    (NODE1, "update", dict(group="coordination.k8s.io", resource="leases", namespace="kube-system", name="kube-scheduler"),
     (False, 'can only access leases in the "kube-node-lease" system namespace')),
    (NODE1, "get", dict(resource="configmaps", namespace="kube-system", name="kube-proxy"), (True, "")),
    (NODE1, "get", dict(resource="configmaps", namespace="kube-system", name="kubeadm-config"),
     (False, "no relationship found between node 'node1' and this object")),
    (NODE1, "update", dict(resource="configmaps", namespace="kube-system", name="kube-proxy"),
     (False, "can only read resources of this type")),
    (NODE1, "create", dict(resource="serviceaccounts", namespace="kube-system", name="kube-proxy", subresource="token"),
     (True, "")),
    (NODE1, "create", dict(resource="serviceaccounts", namespace="kube-system", name="default", subresource="token"),
     (False, "no relationship found between node 'node1' and this object")),
    (NODE1, "get", dict(resource="serviceaccounts", namespace="kube-system", name="kube-proxy"),
     (False, "can only create tokens for individual service accounts")),
    (NODE1, "get", dict(group="apps", resource="daemonsets", namespace="kube-system", name="kube-proxy"), (True, "")),
    (NODE1, "update", dict(resource="pods", namespace="kube-system", name="kube-proxy-node1"), (True, "")),
    (NODE1, "update", dict(resource="pods", namespace="kube-system", name="kube-proxy-node2"), (False, "")),
    (PROXY, "list", dict(resource="endpoints", namespace="default"), (True, "")),
    (PROXY, "get", dict(resource="configmaps", namespace="kube-system", name="kube-proxy"), (False, "")),
])
def test_kubeadm_s_rbac_subset_and_the_node_authorizer(ident, verb, where, expected):
    authz = auth.Authorizer({"authorization-mode": "Node,RBAC"})
    assert authz.decide(ident, verb, **where) == expected
    assert authz.allowed(ident, verb, **where) is expected[0]


def test_a_node_certificate_is_a_node_only_in_group_system_nodes():
    authz = auth.Authorizer({"authorization-mode": "Node,RBAC"})
    impostor = auth.Identity("system:node:node1", ["system:authenticated"])
    assert auth.node_name(impostor) is None and auth.node_name(NODE1) == "node1"
    where = dict(group="coordination.k8s.io", resource="leases", namespace="kube-node-lease", name="node1")
    assert authz.decide(impostor, "update", **where) == (False, "")
    assert auth.Authorizer({"authorization-mode": "RBAC"}).allowed(NODE1, "update", **where) is False, "no Node mode"


def test_authorization_modes_always_allow_and_always_deny():
    where = dict(resource="configmaps", namespace="kube-system", name="x")
    assert auth.Authorizer({}).allowed(auth.ANONYMOUS, "delete", **where) is True, "AlwaysAllow without the flag"
    assert auth.Authorizer({"authorization-mode": "AlwaysDeny"}).allowed(MASTERS, "get", **where) is False


def test_node_restriction_lets_a_node_create_only_its_own_lease():
    assert auth.node_restriction(NODE1, "coordination.k8s.io", "leases", "kube-node-lease", "", {"metadata": {"name": "node1"}}) is None
    assert auth.node_restriction(NODE1, "coordination.k8s.io", "leases", "kube-node-lease", "", {"metadata": {"name": "node2"}}) == (
        'leases.coordination.k8s.io "node2" is forbidden: can only access node lease with the same name as the requesting node')
    assert auth.node_restriction(ADMIN, "coordination.k8s.io", "leases", "kube-node-lease", "", {"metadata": {"name": "node2"}}) is None
    assert auth.node_restriction(NODE1, "", "configmaps", "kube-system", "", {"metadata": {"name": "x"}}) is None


# ---------------------------------------------------------------- authentication
def test_a_client_certificate_authenticates_as_cn_in_groups_o():
    authn = auth.Authenticator({"anonymous-auth": False})
    peer = {"subject": ((("organizationName", "system:nodes"),), (("commonName", "system:node:node1"),))}
    ident = authn.authenticate(peer, "Bearer ignored-when-a-certificate-is-given")
    assert (ident.user, ident.groups) == ("system:node:node1", ["system:nodes", "system:authenticated"])
    assert authn.authenticate(None, None) is None
    assert auth.Authenticator({}).authenticate(None, None) is auth.ANONYMOUS


def test_static_tokens(tmp_path):
    path = tmp_path / "tokens.csv"
    path.write_text('# comment,x,y\nadmintoken,admin,1,"kubeadm:cluster-admins,extra"\nplaintoken,jane,2\n')
    authn = auth.Authenticator({"token-auth-file": str(path)})
    ident = authn.authenticate(None, "Bearer admintoken")
    assert (ident.user, ident.groups) == ("admin", ["kubeadm:cluster-admins", "extra", "system:authenticated"])
    assert authn.authenticate(None, "Bearer plaintoken").groups == ["system:authenticated"]
    assert authn.authenticate(None, "Bearer wrong") is None, "a presented token that is invalid is 401, never anonymous"
    assert authn.authenticate(None, "Basic YTpi") is None
    with pytest.raises(core.FlagError, match="failed to load token file"):
        auth.Authenticator({"token-auth-file": str(tmp_path / "missing.csv")})


def test_service_account_tokens_are_verified_with_the_key_files(pki_files):
    token, exp = auth.TokenSigner(pki_files.sa_key, ISSUER).issue("kube-system", "kube-proxy", 600)
    claims = _claims(token)
    assert claims["iss"] == ISSUER and claims["aud"] == [ISSUER] and claims["exp"] == exp
    assert claims["sub"] == "system:serviceaccount:kube-system:kube-proxy"
    assert claims["kubernetes.io"] == {"namespace": "kube-system", "serviceaccount": {"name": "kube-proxy"}}
    authn = auth.Authenticator({"service-account-key-file": pki_files.sa_pub, "service-account-issuer": ISSUER})
    ident = authn.authenticate(None, "Bearer " + token)
    assert ident.user == "system:serviceaccount:kube-system:kube-proxy"
    assert ident.groups == ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"]
    other_key = auth.Authenticator({"service-account-key-file": pki_files.other_sa_pub, "service-account-issuer": ISSUER})
    assert other_key.authenticate(None, "Bearer " + token) is None
    other_issuer = auth.Authenticator({"service-account-key-file": pki_files.sa_pub, "service-account-issuer": "https://other"})
    assert other_issuer.authenticate(None, "Bearer " + token) is None
    header, payload, signature = token.split(".")
    forged = dict(claims, sub="system:serviceaccount:kube-system:admin")
    forged_payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    assert authn.authenticate(None, "Bearer %s.%s.%s" % (header, forged_payload, signature)) is None
    expired, _exp = auth.TokenSigner(pki_files.sa_key, ISSUER).issue("kube-system", "kube-proxy", -1)
    assert authn.authenticate(None, "Bearer " + expired) is None


def test_a_private_key_is_accepted_as_service_account_key_file(pki_files):
    """As kube-apiserver does (the recipe's serviceaccount.key): its public part is used."""
    token, _exp = auth.TokenSigner(pki_files.sa_key, ISSUER).issue("kube-system", "kube-proxy")
    authn = auth.Authenticator({"service-account-key-file": pki_files.sa_key, "service-account-issuer": ISSUER})
    try:
        assert authn.authenticate(None, "Bearer " + token).user == "system:serviceaccount:kube-system:kube-proxy"
    finally:
        shutil.rmtree(authn._tmp)  # noqa: SLF001


def test_service_account_key_file_refusals(pki_files, tmp_path):
    missing = str(tmp_path / "sa.pub")
    with pytest.raises(core.FlagError) as err:
        auth.Authenticator({"service-account-key-file": missing})
    assert str(err.value) == "failed to parse service-account issuer-key-file: open %s: no such file or directory" % missing
    with pytest.raises(core.FlagError) as err:
        auth.Authenticator({"service-account-key-file": pki_files.ca})  # a certificate, not a key
    assert str(err.value).startswith("failed to parse service-account issuer-key-file: data does not contain any valid "
                                     "RSA or ECDSA public keys")


# ---------------------------------------------------------------- through an apiserver
def test_without_credentials_everything_is_401_under_anonymous_auth_false(start_apiserver, pki_files):
    running = start_apiserver("--anonymous-auth=false")
    nobody = running.token_client(ca_file=pki_files.ca)
    for path in ("/readyz", "/healthz", "/livez", "/version", CM + "/kubeadm-config"):
        status, body, headers = nobody.get(path)
        assert (status, body) == (401, UNAUTHORIZED), path
        assert headers["Content-Type"] == "application/json"
    status, body, _h = nobody.request("POST", CM, {"metadata": {"name": "x"}})
    assert (status, body) == (401, UNAUTHORIZED)
    assert running.client(pki_files.admin).get("/readyz")[:2] == (200, "ok")


def test_anonymous_requests_reach_the_public_paths_only(start_apiserver, pki_files):
    running = start_apiserver()
    nobody = running.token_client(ca_file=pki_files.ca)
    assert nobody.get("/readyz")[:2] == (200, "ok")
    assert nobody.get("/version")[1]["gitVersion"] == "v1.30.0-kubeha-standin"
    status, body, _h = nobody.get(CM + "/kubeadm-config")
    assert status == 403
    assert body == forbidden(auth.forbidden_message(auth.ANONYMOUS, "get", resource="configmaps", namespace="kube-system",
                                                    name="kubeadm-config"), "kubeadm-config", "", "configmaps")
    assert body["message"] == ('configmaps "kubeadm-config" is forbidden: User "system:anonymous" cannot get resource '
                               '"configmaps" in API group "" in the namespace "kube-system"')
    assert nobody.get("/metrics")[:2] == (403, forbidden('forbidden: User "system:anonymous" cannot get path "/metrics"'))
    # kubeadm's cluster-info is readable without credentials (kubeadm join's discovery)
    cluster_info = "/api/v1/namespaces/kube-public/configmaps/cluster-info"
    assert nobody.get(cluster_info)[0] == 404
    admin = running.client(pki_files.admin)
    assert admin.request("POST", "/api/v1/namespaces/kube-public/configmaps",
                         {"metadata": {"name": "cluster-info"}, "data": {"kubeconfig": "x"}})[0] == 201
    assert nobody.get(cluster_info)[1]["data"] == {"kubeconfig": "x"}


def test_an_invalid_token_is_401_even_with_anonymous_auth(start_apiserver, pki_files):
    running = start_apiserver()
    assert running.token_client("not-a-token", ca_file=pki_files.ca).get("/readyz")[:2] == (401, UNAUTHORIZED)


def test_a_node_updates_its_own_lease_and_no_other(start_apiserver, pki_files):
    running = start_apiserver("--enable-admission-plugins=NodeRestriction")
    node1, node2 = running.client(pki_files.kubelet), _node2_client(running, pki_files)
    spec = {"holderIdentity": "node1", "leaseDurationSeconds": 40}
    status, lease, _h = node1.request("POST", NODE_LEASES, {"metadata": {"name": "node1"}, "spec": spec})
    assert status == 201 and lease["metadata"]["namespace"] == "kube-node-lease"
    lease["spec"]["renewTime"] = "2026-01-01T00:00:00.000000Z"
    status, renewed, _h = node1.request("PUT", NODE_LEASES + "/node1", lease)
    assert status == 200 and renewed["spec"]["renewTime"] == "2026-01-01T00:00:00.000000Z"
    assert node2.request("POST", NODE_LEASES, {"metadata": {"name": "node2"}, "spec": dict(spec, holderIdentity="node2")})[0] == 201
    theirs = node2.get(NODE_LEASES + "/node2")[1]
    status, body, _h = node1.request("PUT", NODE_LEASES + "/node2", dict(theirs, spec=spec))
    assert (status, body) == (403, forbidden(
        'leases.coordination.k8s.io "node2" is forbidden: User "system:node:node1" cannot update resource "leases" in API '
        'group "coordination.k8s.io" in the namespace "kube-node-lease": can only access node lease with the same name as '
        "the requesting node", "node2", "coordination.k8s.io", "leases"))
    assert node1.get(NODE_LEASES + "/node2")[0] == 403
    # creating another node's lease: the Node authorizer cannot see the name, NodeRestriction can
    status, body, _h = node1.request("POST", NODE_LEASES, {"metadata": {"name": "node3"}, "spec": spec})
    assert (status, body) == (403, forbidden(
        'leases.coordination.k8s.io "node3" is forbidden: can only access node lease with the same name as the requesting '
        "node", "node3", "coordination.k8s.io", "leases"))
    assert node2.get(NODE_LEASES + "/node2")[1]["spec"]["holderIdentity"] == "node2"


def _node2_client(running, pki_files):
    return kubeconfig.KubeClient(running.url, ca_file=pki_files.ca, cert_file=pki_files.node2_pem, version=V130)


def test_a_node_reads_only_what_its_pods_need(start_apiserver, pki_files):
    running = start_apiserver()
    admin, node1 = running.client(pki_files.admin), running.client(pki_files.kubelet)
    for name in ("kube-proxy", "kubeadm-config"):
        assert admin.request("POST", CM, {"metadata": {"name": name}, "data": {}})[0] == 201
    assert node1.get(CM + "/kube-proxy")[0] == 200
    status, body, _h = node1.get(CM + "/kubeadm-config")
    assert status == 403 and body["message"] == (
        'configmaps "kubeadm-config" is forbidden: User "system:node:node1" cannot get resource "configmaps" in API group "" '
        "in the namespace \"kube-system\": no relationship found between node 'node1' and this object")


def test_token_request_gives_a_token_this_apiserver_accepts(start_apiserver, pki_files):
    running = start_apiserver()
    node1 = running.client(pki_files.kubelet)
    status, review, _h = node1.request("POST", "/api/v1/namespaces/kube-system/serviceaccounts/kube-proxy/token",
                                       {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                        "spec": {"expirationSeconds": 3600}})
    assert status == 201 and review["kind"] == "TokenRequest" and review["apiVersion"] == "authentication.k8s.io/v1"
    token = review["status"]["token"]
    claims = _claims(token)
    assert claims["sub"] == "system:serviceaccount:kube-system:kube-proxy" and claims["iss"] == ISSUER
    assert 3590 <= claims["exp"] - time.time() <= 3600
    assert review["status"]["expirationTimestamp"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(claims["exp"]))
    proxy = running.token_client(token, ca_file=pki_files.ca)
    assert proxy.get("/api/v1/namespaces/default/endpoints/kubernetes")[0] == 200
    status, body, _h = proxy.get(CM + "/kube-proxy")
    assert status == 403 and body["message"] == (
        'configmaps "kube-proxy" is forbidden: User "system:serviceaccount:kube-system:kube-proxy" cannot get resource '
        '"configmaps" in API group "" in the namespace "kube-system"')
    # an apiserver that verifies with another key does not know the token
    other = start_apiserver(*_flags_without_signing_key(pki_files), "--service-account-issuer=" + ISSUER,
                            "--service-account-key-file=" + pki_files.other_sa_pub, base_flags=False)
    assert other.token_client(token, ca_file=pki_files.ca).get("/api/v1/namespaces/default/endpoints/kubernetes")[:2] == (
        401, UNAUTHORIZED)


def test_a_node_gets_no_token_for_another_service_account(start_apiserver, pki_files):
    running = start_apiserver()
    status, body, _h = running.client(pki_files.kubelet).request(
        "POST", "/api/v1/namespaces/kube-system/serviceaccounts/default/token", {"spec": {}})
    assert (status, body) == (403, forbidden(
        'serviceaccounts "default" is forbidden: User "system:node:node1" cannot create resource "serviceaccounts/token" '
        "in API group \"\" in the namespace \"kube-system\": no relationship found between node 'node1' and this object",
        "default", "", "serviceaccounts"))


def test_without_a_signing_key_there_is_no_token_request(start_apiserver, pki_files):
    running = start_apiserver(*_flags_without_signing_key(pki_files), base_flags=False)
    status, body, _h = running.client(pki_files.admin).request(
        "POST", "/api/v1/namespaces/kube-system/serviceaccounts/kube-proxy/token", {"spec": {}})
    assert status == 404 and body["message"] == "the server could not find the requested resource"


def _flags_without_signing_key(pki_files):
    return ["--etcd-servers=https://127.0.0.1:2379", "--advertise-address=127.0.0.1", "--authorization-mode=Node,RBAC",
            "--client-ca-file=" + pki_files.ca, "--tls-cert-file=" + pki_files.apiserver_crt,
            "--tls-private-key-file=" + pki_files.apiserver_key]


def test_the_control_plane_components_reach_their_locks_only(start_apiserver, pki_files):
    running = start_apiserver()
    scheduler = running.client(pki_files.scheduler)
    leases = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"
    assert scheduler.request("POST", leases, {"metadata": {"name": "kube-scheduler"}, "spec": {}})[0] == 201
    assert scheduler.get(leases + "/kube-scheduler")[0] == 200
    status, body, _h = scheduler.get(CM + "/kubeadm-config")
    assert status == 403 and 'User "system:kube-scheduler" cannot get resource "configmaps"' in body["message"]
    super_admin = running.client(pki_files.super_admin)
    assert super_admin.get(CM + "/kubeadm-config")[0] == 404, "system:masters may do anything"


def test_the_apiserver_refuses_to_start_without_its_files(pki_files, tmp_path):
    base = _flags_without_signing_key(pki_files)
    missing = str(tmp_path / "missing.crt")
    cases = [("--client-ca-file=" + missing, "unable to load client CA file: open %s: no such file or directory" % missing),
             ("--tls-cert-file=" + missing, "unable to load server certificate: open %s: no such file or directory" % missing),
             ("--service-account-signing-key-file=" + missing,
              "failed to parse service-account-signing-key-file: open %s: no such file or directory" % missing)]
    for flag, message in cases:
        opts = flags.parse_flags("apiserver", base + [flag], V130)
        with pytest.raises(core.FlagError) as err:
            apiserver.ApiServer(opts, V130)
        assert str(err.value) == message
    assert not os.path.exists(missing)
