# KUBEHA LAB STAND-IN -- NOT KUBERNETES. See lab/standins/kubeha_standin/__init__.py.
"""kube-apiserver's authentication and (a subset of) its authorization.

Authentication, in kube-apiserver's order
(https://kubernetes.io/docs/reference/access-authn-authz/authentication/):
  1. a client certificate signed by --client-ca-file: user = CN, groups = O;
  2. a bearer token: a line of --token-auth-file (token,user,uid,"group1,group2"), or a
     service-account JWT signed by a key of --service-account-key-file (RS256), issued
     by --service-account-issuer and not expired;
  3. otherwise anonymous (system:anonymous, group system:unauthenticated) while
     --anonymous-auth is true (the default), else 401 Unauthorized, for every path,
     /readyz and /healthz included.
A token that is presented but invalid is 401 whatever --anonymous-auth says.

Authorization (--authorization-mode; AlwaysAllow when unset, as before kubeadm):
AlwaysAllow, AlwaysDeny, or Node/RBAC, here the default bindings kubeadm v1.30 and
kube-apiserver create, reduced to what the lab's clients do:
  system:masters, kubeadm:cluster-admins       everything (cluster-admin)
  everyone (also anonymous)                    GET /healthz, /livez, /readyz, /version
                                               (system:public-info-viewer)
  system:anonymous                             get configmap kube-public/cluster-info
                                               (kubeadm:bootstrap-signer-clusterinfo)
  system:kube-scheduler, system:kube-controller-manager
                                               leases and endpoints in kube-system (their
                                               locks), the kubernetes endpoints
  system:nodes (Node authorizer, NodeRestriction)
                                               its own Lease in kube-node-lease; the kube-proxy
                                               ConfigMap, DaemonSet and pod of its node; a
                                               token for the kube-proxy service account (a
                                               refusal carries the Node authorizer's reason;
                                               with --enable-admission-plugins=NodeRestriction
                                               a node creates no other node's Lease)
  system:serviceaccount:kube-system:kube-proxy endpoints, services, nodes (system:node-proxier)
Every other request is 403 with kube-apiserver's message.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import os
import subprocess
import tempfile
import threading
import time

from .core import FlagError, go_strerror

ADMIN_GROUPS = ("system:masters", "kubeadm:cluster-admins")
PUBLIC_PATHS = ("/healthz", "/livez", "/readyz", "/version")


class Identity:
    def __init__(self, user, groups=()):
        self.user, self.groups = user, list(groups)

    def __repr__(self):
        return "%s%s" % (self.user, self.groups)


ANONYMOUS = Identity("system:anonymous", ["system:unauthenticated"])
UNSECURED = Identity("system:unsecured", ["system:masters", "system:authenticated"])  # the legacy insecure port


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _openssl(args, data):
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=False)


class TokenSigner:
    """Service-account tokens (TokenRequest) signed with --service-account-signing-key-file."""

    def __init__(self, key_file, issuer):
        self.key_file, self.issuer = key_file, issuer

    def issue(self, namespace, name, seconds=3600, audiences=None):
        now = int(time.time())
        header = {"alg": "RS256", "kid": ""}
        claims = {"aud": audiences or [self.issuer], "exp": now + seconds, "iat": now, "nbf": now, "iss": self.issuer,
                  "sub": "system:serviceaccount:%s:%s" % (namespace, name),
                  "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name}}}
        signing_input = ("%s.%s" % (_b64url(json.dumps(header).encode()), _b64url(json.dumps(claims).encode()))).encode()
        proc = _openssl(["dgst", "-sha256", "-sign", self.key_file], signing_input)
        if proc.returncode != 0:
            raise OSError("signing a token with %s failed: %s" % (self.key_file, proc.stderr.decode().strip()))
        return signing_input.decode() + "." + _b64url(proc.stdout), claims["exp"]


class Authenticator:
    def __init__(self, opts):
        self.anonymous = opts.get("anonymous-auth", True)
        self.static = {}
        if opts.get("token-auth-file"):
            try:
                with open(opts["token-auth-file"], newline="") as fh:
                    for row in csv.reader(fh):
                        if len(row) >= 3 and row[0] and not row[0].startswith("#"):
                            groups = row[3].split(",") if len(row) > 3 and row[3] else []
                            self.static[row[0]] = Identity(row[1], groups + ["system:authenticated"])
            except OSError as err:
                raise FlagError("failed to load token file: %s" % err) from None
        self.issuers = [i for i in (opts.get("service-account-issuer") or "").split(",") if i]
        self.public_keys = []
        self._tmp = None
        for path in [p for p in (opts.get("service-account-key-file") or "").split(",") if p]:
            self.public_keys.append(self._public_key(path))
        self._cache = {}
        self._lock = threading.Lock()

    def _public_key(self, path):
        """A PEM public key file for ``path`` (a public key, or a private key whose public part
        kube-apiserver also accepts, as the recipe's serviceaccount.key)."""
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as err:
            raise FlagError("failed to parse service-account issuer-key-file: open %s: %s"
                            % (path, go_strerror(err))) from None
        if b"PUBLIC KEY" in data:
            return path
        proc = _openssl(["pkey", "-pubout"], data)
        if proc.returncode != 0:
            raise FlagError("failed to parse service-account issuer-key-file: data does not contain any valid RSA or ECDSA "
                            "public keys (%s)" % path)
        if self._tmp is None:
            self._tmp = tempfile.mkdtemp(prefix="kubeha-apiserver-sa-")
        pub = os.path.join(self._tmp, hashlib.sha256(path.encode()).hexdigest()[:12] + ".pub")
        with open(pub, "wb") as fh:
            fh.write(proc.stdout)
        return pub

    def _verify_jwt(self, token):
        with self._lock:
            hit = self._cache.get(token)
        if hit and hit[1] > time.time():
            return hit[0]
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            claims = json.loads(_unb64url(parts[1]))
            signature = _unb64url(parts[2])
        except (ValueError, TypeError):
            return None
        if not isinstance(claims, dict) or (self.issuers and claims.get("iss") not in self.issuers):
            return None
        if int(claims.get("exp", 0)) <= time.time():
            return None
        with tempfile.NamedTemporaryFile() as sig:
            sig.write(signature)
            sig.flush()
            ok = any(_openssl(["dgst", "-sha256", "-verify", key, "-signature", sig.name],
                              ("%s.%s" % (parts[0], parts[1])).encode()).returncode == 0 for key in self.public_keys)
        if not ok:
            return None
        sub = str(claims.get("sub", ""))
        ns = sub.split(":")[2] if sub.count(":") >= 3 else ""
        ident = Identity(sub, ["system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"])
        with self._lock:
            self._cache[token] = (ident, int(claims["exp"]))
        return ident

    def authenticate(self, peercert, authorization):
        """The Identity of a request, or None (401)."""
        if peercert:
            subject = dict()
            for rdn in peercert.get("subject", ()):
                for key, value in rdn:
                    subject.setdefault(key, []).append(value)
            cn = (subject.get("commonName") or [""])[0]
            if cn:
                return Identity(cn, subject.get("organizationName", []) + ["system:authenticated"])
        if authorization:
            scheme, dummy, token = authorization.partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token:
                return None
            if token in self.static:
                return self.static[token]
            return self._verify_jwt(token)
        return ANONYMOUS if self.anonymous else None


def node_name(ident):
    """The node a request comes from (the Node authorizer's NodeIdentity: user
    system:node:<name> in group system:nodes), or None."""
    if ident.user.startswith("system:node:") and "system:nodes" in ident.groups:
        return ident.user[len("system:node:"):]
    return None


class Authorizer:
    def __init__(self, opts):
        self.modes = [m.strip() for m in (opts.get("authorization-mode") or "AlwaysAllow").split(",") if m.strip()]

    def allowed(self, ident, verb, path=None, group="", resource="", namespace="", name="", subresource=""):
        return self.decide(ident, verb, path, group, resource, namespace, name, subresource)[0]

    def decide(self, ident, verb, path=None, group="", resource="", namespace="", name="", subresource=""):
        """(allowed, reason). The reason is the Node authorizer's for a node's request it
        does not allow ("" otherwise); kube-apiserver appends it to the 403 message."""
        if "AlwaysAllow" in self.modes:
            return True, ""
        if self.modes == ["AlwaysDeny"]:
            return False, ""
        groups = set(ident.groups)
        if groups & set(ADMIN_GROUPS):
            return True, ""
        if path is not None:  # a non-resource URL
            return verb == "get" and path in PUBLIC_PATHS, ""
        if ident.user == "system:anonymous":
            return (verb == "get" and resource == "configmaps" and namespace == "kube-public" and name == "cluster-info"), ""
        if ident.user in ("system:kube-scheduler", "system:kube-controller-manager"):
            return ((resource in ("leases", "endpoints") and namespace == "kube-system")
                    or (resource == "endpoints" and namespace == "default" and verb == "get")), ""
        node = node_name(ident)
        if node is not None and "Node" in self.modes:
            return self._node(node, verb, group, resource, namespace, name, subresource)
        if ident.user == "system:serviceaccount:kube-system:kube-proxy":
            return verb in ("get", "list", "watch") and resource in ("endpoints", "services", "nodes", "endpointslices"), ""
        return False, ""

    @staticmethod
    def _node(node, verb, group, resource, namespace, name, subresource):
        """The Node authorizer (plugin/pkg/auth/authorizer/node/node_authorizer.go) for what
        the lab's kubelets do; the object graph reduced to the kube-proxy DaemonSet's pod."""
        unrelated = "no relationship found between node '%s' and this object" % node
        if group == "coordination.k8s.io" and resource == "leases":  # authorizeLease
            if verb not in ("get", "create", "update", "patch", "delete"):
                return False, "can only get, create, update, patch, or delete a node lease"
            if namespace != "kube-node-lease":
                return False, 'can only access leases in the "kube-node-lease" system namespace'
            if verb != "create" and name != node:  # create: NodeRestriction checks the object's name
                return False, "can only access node lease with the same name as the requesting node"
            return True, ""
        if group == "" and resource == "configmaps":  # authorizeReadNamespacedObject
            if verb not in ("get", "list", "watch"):
                return False, "can only read resources of this type"
            if verb == "get" and namespace == "kube-system" and name == "kube-proxy":
                return True, ""
            return False, unrelated
        if group == "" and resource == "serviceaccounts":  # authorizeCreateToken
            if verb != "create" or not name:
                return False, "can only create tokens for individual service accounts"
            if subresource != "token":
                return False, "can only create token subresource of serviceaccount"
            return (True, "") if namespace == "kube-system" and name == "kube-proxy" else (False, unrelated)
        if namespace == "kube-system":
            if resource == "daemonsets" and name == "kube-proxy" and verb == "get":
                return True, ""  # (the stand-in kubelet reads its pod's template from the DaemonSet)
            if resource == "pods" and (name == "kube-proxy-" + node or (verb == "create" and not name)):
                return True, ""
        return False, ""


def forbidden_message(ident, verb, path=None, group="", resource="", namespace="", name="", subresource="", reason=""):
    """kube-apiserver's text of a 403 (RBAC's "cannot" sentence, then the authorizers' reason)."""
    if path is not None:
        text = 'forbidden: User "%s" cannot %s path "%s"' % (ident.user, verb, path)
    else:
        what = "%s.%s" % (resource, group) if group else resource
        where = ' in the namespace "%s"' % namespace if namespace else " at the cluster scope"
        text = '%s%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s"%s' % (
            what, ' "%s"' % name if name else "", ident.user, verb,
            resource + ("/" + subresource if subresource else ""), group, where)
    return text + (": " + reason if reason else "")


def node_restriction(ident, group, resource, namespace, name, body):
    """The NodeRestriction admission plugin's check of a create the Node authorizer let
    through without knowing the name: a node creates only its own Lease. None, or the
    403 message (admission.NewForbidden)."""
    node = node_name(ident)
    if node is None or group != "coordination.k8s.io" or resource != "leases":
        return None
    target = name or str(((body or {}).get("metadata") or {}).get("name") or "")
    if namespace != "kube-node-lease":
        reason = 'can only access leases in the "kube-node-lease" system namespace'
    elif target != node:
        reason = "can only access node lease with the same name as the requesting node"
    else:
        return None
    return 'leases.coordination.k8s.io%s is forbidden: %s' % (' "%s"' % target if target else "", reason)
