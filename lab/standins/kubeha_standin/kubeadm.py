# KUBEHA LAB STAND-IN -- NOT KUBERNETES. See lab/standins/kubeha_standin/__init__.py.
"""kubeadm, as far as the lab needs it: the phases of `kubeadm init` that make a control
plane, and `kubeadm upgrade apply|node`, which regenerate the static pod manifests from the
cluster's ClusterConfiguration (the kube-system/kubeadm-config ConfigMap), so that an edit
that lives only in a manifest is reverted, exactly as on a real cluster.

  kubeadm init phase certs all|ca|apiserver|...|etcd-ca|etcd-server|... --config FILE
  kubeadm init phase kubeconfig all --config FILE
  kubeadm init phase control-plane all --config FILE [--patches DIR]
  kubeadm init phase upload-config kubeadm --config FILE
  kubeadm init phase bootstrap-token --config FILE      (cluster-info in kube-public)
  kubeadm init phase addon kube-proxy --config FILE     (ConfigMap and DaemonSet kube-proxy)
  kubeadm upgrade node [--patches DIR]
  kubeadm upgrade apply vX.Y.Z [--patches DIR] [-y]
  kubeadm-lab sign-kubelet-client NODE                  (lab only: what the CSR signer of the
                                                         controller-manager does for a joining node)

The generated manifests follow kubeadm v1.30 (cmd/kubeadm/app/phases/controlplane/manifests.go;
https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/implementation-details/):
default flags, then ClusterConfiguration's extraArgs (a map in kubeadm.k8s.io/v1beta3, a
list of name/value in v1beta4) override or add flags, sorted by name; the advertise
address and port of the node come from InitConfiguration's localAPIEndpoint at init and,
at upgrade, from the annotation kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint
(kubeadm reads it from the mirror pod; the lab, which has none, from the manifest that
carries it); the probes point at that address. Patches (--patches): kubeadm_patches.py.
`kubeadm upgrade` replaces the static pods one at a time and waits for each, skipping
those whose manifest would not change: kubeadm_upgrade.py. `upgrade apply` then re-creates the kube-proxy ConfigMap from ClusterConfiguration
(its server is https://<controlPlaneEndpoint>, as EnsureProxyAddon does), so a server
changed only there is reverted too.
"""

from __future__ import annotations

import base64
import copy
import ipaddress
import os
import sys

from . import kubeadm_upgrade, pki
from .core import KubeadmError, log
from .kubeconfig import ClientError, Kubeconfig, yaml
from .kubeadm_patches import apply_patches

KUBERNETES_DIR = "/etc/kubernetes"
MANIFESTS = os.path.join(KUBERNETES_DIR, "manifests")
ADVERTISE_ANNOTATION = "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"
COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
KUBELET_CLIENT_PEM = "/var/lib/kubelet/pki/kubelet-client-current.pem"


# ---------------------------------------------------------------- configuration
def cluster_defaults(cluster):
    cfg = copy.deepcopy(cluster or {})
    cfg.setdefault("apiVersion", "kubeadm.k8s.io/v1beta3")
    cfg.setdefault("kind", "ClusterConfiguration")
    cfg.setdefault("certificatesDir", "/etc/kubernetes/pki")
    cfg.setdefault("clusterName", "kubernetes")
    cfg.setdefault("imageRepository", "registry.k8s.io")
    cfg.setdefault("controlPlaneEndpoint", "")
    net = cfg.setdefault("networking", {})
    net.setdefault("dnsDomain", "cluster.local")
    net.setdefault("serviceSubnet", "10.96.0.0/12")
    for part in ("apiServer", "controllerManager", "scheduler"):
        cfg.setdefault(part, {})
    return cfg


def load_config(path):
    """(node settings, ClusterConfiguration) of a kubeadm configuration file."""
    try:
        with open(path) as fh:
            docs = [d for d in yaml.safe_load_all(fh) if isinstance(d, dict)]
    except (OSError, ValueError) as err:
        raise KubeadmError("unable to read config from %r: %s" % (path, err)) from None
    node = next((d for d in docs if d.get("kind") in ("InitConfiguration", "JoinConfiguration")), {})
    cluster = next((d for d in docs if d.get("kind") == "ClusterConfiguration"), None)
    if cluster is None:
        raise KubeadmError("%s holds no ClusterConfiguration" % path)
    endpoint = node.get("localAPIEndpoint") or (node.get("controlPlane") or {}).get("localAPIEndpoint") or {}
    settings = {"name": (node.get("nodeRegistration") or {}).get("name") or os.uname().nodename,
                "address": endpoint.get("advertiseAddress", ""), "port": int(endpoint.get("bindPort", 6443)),
                "init": node.get("kind") != "JoinConfiguration"}
    return settings, cluster_defaults(cluster)


def extra_args(section):
    """extraArgs of a ClusterConfiguration part as an ordered dict (v1beta3 map or v1beta4 list)."""
    raw = (section or {}).get("extraArgs") or {}
    if isinstance(raw, list):
        return {str(a["name"]): str(a.get("value", "")) for a in raw if isinstance(a, dict) and "name" in a}
    return {str(k): str(v) for k, v in raw.items()}


def _host_port(endpoint, default_port):
    """(host, port) of "host:port", "[v6]:port", "host" or a bare IPv6 address."""
    if endpoint.startswith("["):
        host, dummy, rest = endpoint[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif endpoint.count(":") == 1:
        host, port = endpoint.split(":")
    else:
        host, port = endpoint, ""
    return host, int(port or default_port)


def control_plane_url(cluster, node):
    """https://<controlPlaneEndpoint> (the node's advertise address and port when unset)."""
    endpoint = cluster.get("controlPlaneEndpoint") or ""
    if endpoint:
        host, port = _host_port(endpoint, node["port"])
    else:
        host, port = node["address"], node["port"]
    return "https://%s:%d" % ("[%s]" % host if ":" in host else host, port)


def is_ip(text):
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


# ---------------------------------------------------------------- certificates
def apiserver_names(cluster, node):
    domain = cluster["networking"]["dnsDomain"]
    dns = [node["name"], "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc." + domain]
    ips = [str(next(ipaddress.ip_network(cluster["networking"]["serviceSubnet"].split(",")[0], strict=False).hosts())),
           node["address"]]
    if cluster.get("controlPlaneEndpoint"):
        host, _port = _host_port(cluster["controlPlaneEndpoint"], node["port"])
        (ips if is_ip(host) else dns).append(host)
    for san in (cluster.get("apiServer") or {}).get("certSANs") or []:
        (ips if is_ip(str(san)) else dns).append(str(san))
    return list(dict.fromkeys(dns)), list(dict.fromkeys(str(ipaddress.ip_address(i)) for i in ips))


def phase_certs(which, cluster, node, version):
    d = cluster["certificatesDir"]
    admins = ["kubeadm:cluster-admins"] if version >= (1, 29, 0) else ["system:masters"]
    etcd_names = ([node["name"], "localhost"], [node["address"], "127.0.0.1", "::1"])
    steps = {
        "ca": lambda: pki.ensure_ca(d, "ca", "kubernetes", log),
        "apiserver": lambda: pki.ensure_leaf(d, "apiserver", "ca", "kube-apiserver", (), *apiserver_names(cluster, node),
                                             usage=("serverAuth",), log=log),
        "apiserver-kubelet-client": lambda: pki.ensure_leaf(d, "apiserver-kubelet-client", "ca", "kube-apiserver-kubelet-client",
                                                            admins, log=log),
        "front-proxy-ca": lambda: pki.ensure_ca(d, "front-proxy-ca", "front-proxy-ca", log),
        "front-proxy-client": lambda: pki.ensure_leaf(d, "front-proxy-client", "front-proxy-ca", "front-proxy-client", log=log),
        "sa": lambda: pki.ensure_sa(d, log),
        "etcd-ca": lambda: pki.ensure_ca(d, "etcd/ca", "etcd-ca", log),
        "etcd-server": lambda: pki.ensure_leaf(d, "etcd/server", "etcd/ca", node["name"], (), *etcd_names,
                                               usage=("serverAuth", "clientAuth"), log=log),
        "etcd-peer": lambda: pki.ensure_leaf(d, "etcd/peer", "etcd/ca", node["name"], (), *etcd_names,
                                             usage=("serverAuth", "clientAuth"), log=log),
        "etcd-healthcheck-client": lambda: pki.ensure_leaf(d, "etcd/healthcheck-client", "etcd/ca", "kube-etcd-healthcheck-client",
                                                           log=log),
        "apiserver-etcd-client": lambda: pki.ensure_leaf(d, "apiserver-etcd-client", "etcd/ca", "kube-apiserver-etcd-client", log=log),
    }
    external = "external" in (cluster.get("etcd") or {})
    order = ["ca", "apiserver", "apiserver-kubelet-client", "front-proxy-ca", "front-proxy-client"]
    order += [] if external else ["etcd-ca", "etcd-server", "etcd-peer", "etcd-healthcheck-client", "apiserver-etcd-client"]
    order += ["sa"]
    for step in (order if which == "all" else [which]):
        if step not in steps:
            raise KubeadmError("unknown certificate phase %r" % step)
        steps[step]()


# ---------------------------------------------------------------- kubeconfig files
def kubeconfig_text(server, ca_pem, user, cert_pem=None, key_pem=None, cert_file=None):
    def b64(text):
        return base64.b64encode(text.encode()).decode()

    creds = ({"client-certificate": cert_file, "client-key": cert_file} if cert_file
             else {"client-certificate-data": b64(cert_pem), "client-key-data": b64(key_pem)})
    doc = {"apiVersion": "v1", "kind": "Config", "preferences": {},
           "clusters": [{"name": "kubernetes", "cluster": {"certificate-authority-data": b64(ca_pem), "server": server}}],
           "contexts": [{"name": "%s@kubernetes" % user, "context": {"cluster": "kubernetes", "user": user}}],
           "current-context": "%s@kubernetes" % user, "users": [{"name": user, "user": creds}]}
    return yaml.safe_dump(doc, default_flow_style=False)


def phase_kubeconfig(cluster, node, version, init=True):
    """admin.conf (and super-admin.conf on the first node, 1.29+), controller-manager.conf,
    scheduler.conf, kubelet.conf; an existing file is kept (kubeadm validates and reuses it)."""
    d = cluster["certificatesDir"]
    ca, ca_key = os.path.join(d, "ca.crt"), os.path.join(d, "ca.key")
    endpoint = control_plane_url(cluster, node)
    local = "https://%s:%d" % ("[%s]" % node["address"] if ":" in node["address"] else node["address"], node["port"])
    files = [("admin.conf", "kubernetes-admin", ["kubeadm:cluster-admins"] if version >= (1, 29, 0) else ["system:masters"], endpoint),
             ("controller-manager.conf", "system:kube-controller-manager", [], local),
             ("scheduler.conf", "system:kube-scheduler", [], local)]
    if init and version >= (1, 29, 0):
        files.append(("super-admin.conf", "kubernetes-super-admin", ["system:masters"], endpoint))
    for name, user, groups, server in files:
        path = os.path.join(KUBERNETES_DIR, name)
        if os.path.exists(path):
            log("[kubeconfig] Using existing kubeconfig file: %s" % path)
            continue
        tmp = os.path.join(d, ".kubeconfig-" + name)
        pki.sign(tmp + ".crt", tmp + ".key", ca, ca_key, user, groups)
        text = kubeconfig_text(server, pki.pem(ca), user, pki.pem(tmp + ".crt"), pki.pem(tmp + ".key"))
        os.remove(tmp + ".crt")
        os.remove(tmp + ".key")
        _write(path, text, 0o600)
        log("[kubeconfig] Writing %r kubeconfig file" % name)
    kubelet_client(cluster, node["name"], endpoint)


def kubelet_client(cluster, name, server, kubeconfig=None, pem_path=None):
    """kubelet.conf (in KUBERNETES_DIR) pointing at the kubelet's client certificate file
    KUBELET_CLIENT_PEM (as after its TLS bootstrap and `kubeadm init phase kubelet-finalize`)."""
    kubeconfig = kubeconfig or os.path.join(KUBERNETES_DIR, "kubelet.conf")
    pem_path = pem_path or KUBELET_CLIENT_PEM
    d = cluster["certificatesDir"]
    if not os.path.exists(pem_path):
        tmp = os.path.join(d, ".kubelet-client")
        pki.sign(tmp + ".crt", tmp + ".key", os.path.join(d, "ca.crt"), os.path.join(d, "ca.key"),
                 "system:node:%s" % name, ["system:nodes"])
        _write(pem_path, pki.pem(tmp + ".crt") + pki.pem(tmp + ".key"), 0o600)
        os.remove(tmp + ".crt")
        os.remove(tmp + ".key")
    if not os.path.exists(kubeconfig):
        _write(kubeconfig, kubeconfig_text(server, pki.pem(os.path.join(d, "ca.crt")), "system:node:%s" % name,
                                           cert_file=pem_path), 0o600)
        log("[kubeconfig] Writing \"kubelet.conf\" kubeconfig file")


def _write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".kubeadm-tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


# ---------------------------------------------------------------- static pod manifests
def _probe(host, path, port, failure, initial=10, period=10):
    probe = {"failureThreshold": failure, "httpGet": {"host": host, "path": path, "port": port, "scheme": "HTTPS"},
             "periodSeconds": period, "timeoutSeconds": 15}
    if initial:
        probe["initialDelaySeconds"] = initial
    return probe


def _volume(name, path, mount=None, kind="DirectoryOrCreate", read_only=True):
    vol = {"hostPath": {"path": path, "type": kind}, "name": name}
    mnt = {"mountPath": mount or path, "name": name}
    if read_only:
        mnt["readOnly"] = True
    return vol, mnt


def _command(program, defaults, overrides):
    args = dict(defaults)
    args.update(overrides)
    return [program] + ["--%s=%s" % (k, v) for k, v in sorted(args.items())]


def manifest(component, cluster, node):
    """The static pod kubeadm v1.30 writes for a control-plane component."""
    d = cluster["certificatesDir"]
    version = cluster.get("kubernetesVersion") or "v1.30.0"
    image = "%s/%s:%s" % (cluster["imageRepository"], component, version)
    ca_certs = [_volume("ca-certs", "/etc/ssl/certs"), _volume("etc-ca-certificates", "/etc/ca-certificates")]
    local_certs = [_volume("usr-local-share-ca-certificates", "/usr/local/share/ca-certificates"),
                   _volume("usr-share-ca-certificates", "/usr/share/ca-certificates")]
    annotations = {}
    if component == "kube-apiserver":
        etcd = cluster.get("etcd") or {}
        if "external" in etcd:
            ext = etcd["external"]
            etcd_args = {"etcd-servers": ",".join(ext.get("endpoints") or [])}
            for key, flag in (("caFile", "etcd-cafile"), ("certFile", "etcd-certfile"), ("keyFile", "etcd-keyfile")):
                if ext.get(key):
                    etcd_args[flag] = ext[key]
        else:
            etcd_args = {"etcd-servers": "https://127.0.0.1:2379", "etcd-cafile": d + "/etcd/ca.crt",
                         "etcd-certfile": d + "/apiserver-etcd-client.crt", "etcd-keyfile": d + "/apiserver-etcd-client.key"}
        defaults = dict(etcd_args, **{
            "advertise-address": node["address"], "allow-privileged": "true", "authorization-mode": "Node,RBAC",
            "client-ca-file": d + "/ca.crt", "enable-admission-plugins": "NodeRestriction",
            "enable-bootstrap-token-auth": "true",
            "kubelet-client-certificate": d + "/apiserver-kubelet-client.crt",
            "kubelet-client-key": d + "/apiserver-kubelet-client.key",
            "kubelet-preferred-address-types": "InternalIP,ExternalIP,Hostname",
            "proxy-client-cert-file": d + "/front-proxy-client.crt", "proxy-client-key-file": d + "/front-proxy-client.key",
            "requestheader-allowed-names": "front-proxy-client", "requestheader-client-ca-file": d + "/front-proxy-ca.crt",
            "requestheader-extra-headers-prefix": "X-Remote-Extra-", "requestheader-group-headers": "X-Remote-Group",
            "requestheader-username-headers": "X-Remote-User", "secure-port": str(node["port"]),
            "service-account-issuer": "https://kubernetes.default.svc." + cluster["networking"]["dnsDomain"],
            "service-account-key-file": d + "/sa.pub", "service-account-signing-key-file": d + "/sa.key",
            "service-cluster-ip-range": cluster["networking"]["serviceSubnet"],
            "tls-cert-file": d + "/apiserver.crt", "tls-private-key-file": d + "/apiserver.key"})
        args = extra_args(cluster.get("apiServer"))
        address = args.get("advertise-address", node["address"])
        port = int(args.get("secure-port", node["port"]))
        annotations[ADVERTISE_ANNOTATION] = "%s:%d" % (node["address"], node["port"])
        probes = {"livenessProbe": _probe(address, "/livez", port, 8), "startupProbe": _probe(address, "/livez", port, 24),
                  "readinessProbe": _probe(address, "/readyz", port, 3, initial=0, period=1)}
        volumes = ca_certs + [_volume("k8s-certs", d, "/etc/kubernetes/pki")] + local_certs
        cpu = "250m"
    elif component == "kube-controller-manager":
        conf = KUBERNETES_DIR + "/controller-manager.conf"
        defaults = {"authentication-kubeconfig": conf, "authorization-kubeconfig": conf, "bind-address": "127.0.0.1",
                    "client-ca-file": d + "/ca.crt", "cluster-name": cluster["clusterName"],
                    "cluster-signing-cert-file": d + "/ca.crt", "cluster-signing-key-file": d + "/ca.key",
                    "controllers": "*,bootstrapsigner,tokencleaner", "kubeconfig": conf, "leader-elect": "true",
                    "requestheader-client-ca-file": d + "/front-proxy-ca.crt", "root-ca-file": d + "/ca.crt",
                    "service-account-private-key-file": d + "/sa.key", "use-service-account-credentials": "true"}
        args = extra_args(cluster.get("controllerManager"))
        probes = {"livenessProbe": _probe("127.0.0.1", "/healthz", 10257, 8), "startupProbe": _probe("127.0.0.1", "/healthz", 10257, 24)}
        volumes = (ca_certs + [_volume("flexvolume-dir", "/usr/libexec/kubernetes/kubelet-plugins/volume/exec", read_only=False),
                               _volume("k8s-certs", d, "/etc/kubernetes/pki"),
                               _volume("kubeconfig", conf, kind="FileOrCreate")] + local_certs)
        cpu = "200m"
    else:
        conf = KUBERNETES_DIR + "/scheduler.conf"
        defaults = {"authentication-kubeconfig": conf, "authorization-kubeconfig": conf, "bind-address": "127.0.0.1",
                    "kubeconfig": conf, "leader-elect": "true"}
        args = extra_args(cluster.get("scheduler"))
        probes = {"livenessProbe": _probe("127.0.0.1", "/healthz", 10259, 8), "startupProbe": _probe("127.0.0.1", "/healthz", 10259, 24)}
        volumes = [_volume("kubeconfig", conf, kind="FileOrCreate")]
        cpu = "100m"
    container = {"command": _command(component, defaults, args), "image": image, "imagePullPolicy": "IfNotPresent",
                 "name": component, "resources": {"requests": {"cpu": cpu}},
                 "volumeMounts": sorted((m for _v, m in volumes), key=lambda m: m["mountPath"])}
    container.update(probes)
    meta = {"creationTimestamp": None, "labels": {"component": component, "tier": "control-plane"},
            "name": component, "namespace": "kube-system"}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": [container], "hostNetwork": True, "priority": 2000001000,
                     "priorityClassName": "system-node-critical",
                     "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                     "volumes": sorted((v for v, _m in volumes), key=lambda v: v["name"])},
            "status": {}}


def dump(obj):
    return yaml.safe_dump(obj, default_flow_style=False, sort_keys=True)


def write_manifests(cluster, node, patches=None):
    """`kubeadm init phase control-plane`: every manifest written (`kubeadm upgrade` replaces
    them one by one instead: kubeadm_upgrade.py)."""
    os.makedirs(MANIFESTS, exist_ok=True)
    for component in COMPONENTS:
        obj = apply_patches(component, manifest(component, cluster, node), patches)
        _write(os.path.join(MANIFESTS, component + ".yaml"), dump(obj), 0o600)
        log("[control-plane] Creating static Pod manifest for %r" % component)


# ---------------------------------------------------------------- objects in the API
def admin_client(version):
    for name in ("admin.conf", "super-admin.conf"):
        path = os.path.join(KUBERNETES_DIR, name)
        if os.path.exists(path):
            return Kubeconfig(path).client(version=version)
    raise KubeadmError("couldn't read the admin kubeconfig in %s" % KUBERNETES_DIR)


def _api(client, method, path, body=None, ok=(200, 201)):
    status, data, _h = client.request(method, path, body)
    if status not in ok:
        raise KubeadmError("%s %s: HTTP %d %s" % (method, path, status, data.get("message") if isinstance(data, dict) else data))
    return status, data


def create_or_update(client, path, name, obj, update=True):
    status, current, _h = client.get("%s/%s" % (path, name))
    if status == 404:
        return _api(client, "POST", path, obj)
    if status != 200:
        raise KubeadmError("GET %s/%s: HTTP %d" % (path, name, status))
    if not update:
        return status, current
    obj = dict(obj, metadata=dict(obj.get("metadata") or {}, resourceVersion=current["metadata"]["resourceVersion"]))
    return _api(client, "PUT", "%s/%s" % (path, name), obj)


def upload_config(client, cluster, update=True):
    text = dump(cluster)
    cm = {"metadata": {"name": "kubeadm-config", "namespace": "kube-system"}, "data": {"ClusterConfiguration": text}}
    create_or_update(client, "/api/v1/namespaces/kube-system/configmaps", "kubeadm-config", cm, update)
    log("[upload-config] Storing the configuration used in ConfigMap \"kubeadm-config\" in the \"kube-system\" Namespace")


def fetch_cluster(client):
    _status, cm = _api(client, "GET", "/api/v1/namespaces/kube-system/configmaps/kubeadm-config", ok=(200,))
    return cluster_defaults(yaml.safe_load((cm.get("data") or {}).get("ClusterConfiguration") or "{}"))


def cluster_info(client, cluster, node):
    ca = pki.pem(os.path.join(cluster["certificatesDir"], "ca.crt"))
    doc = {"apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": "", "contexts": None, "users": None,
           "clusters": [{"name": "", "cluster": {"certificate-authority-data": base64.b64encode(ca.encode()).decode(),
                                                 "server": control_plane_url(cluster, node)}}]}
    cm = {"metadata": {"name": "cluster-info", "namespace": "kube-public"}, "data": {"kubeconfig": dump(doc)}}
    create_or_update(client, "/api/v1/namespaces/kube-public/configmaps", "cluster-info", cm, update=False)
    log("[bootstrap-token] Creating the \"cluster-info\" ConfigMap in the \"kube-public\" namespace")


def proxy_configmap(cluster, node):
    kubeconfig = {"apiVersion": "v1", "kind": "Config",
                  "clusters": [{"cluster": {"certificate-authority": "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
                                            "server": control_plane_url(cluster, node)}, "name": "default"}],
                  "contexts": [{"context": {"cluster": "default", "namespace": "default", "user": "default"}, "name": "default"}],
                  "current-context": "default",
                  "users": [{"name": "default", "user": {"tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token"}}]}
    config = {"apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration", "bindAddress": "0.0.0.0",
              "clientConnection": {"kubeconfig": "/var/lib/kube-proxy/kubeconfig.conf"},
              "clusterCIDR": (cluster.get("networking") or {}).get("podSubnet", ""), "mode": ""}
    return {"metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": {"app": "kube-proxy"}},
            "data": {"config.conf": dump(config), "kubeconfig.conf": dump(kubeconfig)}}


def proxy_daemonset(cluster):
    image = "%s/kube-proxy:%s" % (cluster["imageRepository"], cluster.get("kubernetesVersion") or "v1.30.0")
    return {"metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": {"k8s-app": "kube-proxy"}},
            "spec": {"selector": {"matchLabels": {"k8s-app": "kube-proxy"}},
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
                     "template": {"metadata": {"labels": {"k8s-app": "kube-proxy"}},
                                  "spec": {"serviceAccountName": "kube-proxy", "hostNetwork": True,
                                           "priorityClassName": "system-node-critical",
                                           "containers": [{"name": "kube-proxy", "image": image,
                                                           "command": ["/usr/local/bin/kube-proxy",
                                                                       "--config=/var/lib/kube-proxy/config.conf",
                                                                       "--hostname-override=$(NODE_NAME)"],
                                                           "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {
                                                               "apiVersion": "v1", "fieldPath": "spec.nodeName"}}}],
                                                           "volumeMounts": [{"mountPath": "/var/lib/kube-proxy", "name": "kube-proxy"}]}],
                                           "volumes": [{"name": "kube-proxy", "configMap": {"name": "kube-proxy"}}]}}}}


def proxy_addon(client, cluster, node, update):
    create_or_update(client, "/api/v1/namespaces/kube-system/configmaps", "kube-proxy", proxy_configmap(cluster, node), update)
    path = "/apis/apps/v1/namespaces/kube-system/daemonsets"
    status, current, _h = client.get(path + "/kube-proxy")
    wanted = proxy_daemonset(cluster)
    if status == 404:
        _api(client, "POST", path, wanted)
    elif update:
        current["spec"]["template"]["spec"]["containers"][0]["image"] = wanted["spec"]["template"]["spec"]["containers"][0]["image"]
        _api(client, "PUT", path + "/kube-proxy", current)
    log("[addons] Applied essential addon: kube-proxy")


# ---------------------------------------------------------------- commands
VALUE_OPTIONS = ("--config", "--patches", "--kubeconfig", "--cert-dir", "--rootfs")


def _words(args):
    """The positional arguments: what is neither an option nor the value of one given as
    `--config FILE` (cobra takes both that and --config=FILE)."""
    words, value_next = [], False
    for arg in args:
        if value_next:
            value_next = False
        elif arg.startswith("-"):
            value_next = "=" not in arg and arg in VALUE_OPTIONS
        else:
            words.append(arg)
    return words


def _option(args, name, default=None):
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return default


def node_from_manifest(name):
    """The node's advertise address and port as `kubeadm upgrade` finds them (the annotation)."""
    path = os.path.join(MANIFESTS, "kube-apiserver.yaml")
    try:
        with open(path) as fh:
            pod = yaml.safe_load(fh)
        endpoint = pod["metadata"]["annotations"][ADVERTISE_ANNOTATION]
    except (OSError, KeyError, TypeError, ValueError) as err:
        raise KubeadmError("unable to fetch the kubeadm-config ConfigMap: failed to get APIEndpoint information for this node: "
                           "%s has no %s annotation (%s)" % (path, ADVERTISE_ANNOTATION, err)) from None
    host, port = _host_port(endpoint, 6443)
    return {"name": name, "address": host, "port": port}


def main(args, version):
    words = _words(args)
    patches = _option(args, "--patches")
    if words[:2] == ["init", "phase"] and len(words) >= 3:
        config = _option(args, "--config")
        if not config:
            raise KubeadmError("the lab's kubeadm stand-in needs --config")
        node, cluster = load_config(config)
        phase, which = words[2], (words[3] if len(words) > 3 else "all")
        if phase == "certs":
            phase_certs(which, cluster, node, version)
        elif phase == "kubeconfig":
            phase_kubeconfig(cluster, node, version, init=node["init"])
        elif phase == "control-plane":
            write_manifests(cluster, node, patches)
        elif phase == "upload-config":
            upload_config(admin_client(version), cluster, update=True)
        elif phase == "bootstrap-token":
            cluster_info(admin_client(version), cluster, node)
        elif phase == "addon" and which == "kube-proxy":
            proxy_addon(admin_client(version), cluster, node, update=False)
        else:
            raise KubeadmError("unknown phase %r" % " ".join(words[2:]))
        return 0
    if words[:1] == ["upgrade"] and len(words) >= 2 and words[1] in ("node", "apply"):
        client = admin_client(version)
        try:
            cluster = fetch_cluster(client)
        except (ClientError, KubeadmError) as err:
            raise KubeadmError("unable to fetch the kubeadm-config ConfigMap: %s" % err) from None
        node = node_from_manifest(os.uname().nodename)
        if words[1] == "apply":
            if len(words) < 3:
                raise KubeadmError("missing one or more required arguments. Required arguments: [version]")
            cluster["kubernetesVersion"] = words[2]
        log("[upgrade] Upgrading the control plane of %s to %s" % (node["name"], cluster.get("kubernetesVersion")))
        # The static pods first, one at a time, each waited for; the configuration and the
        # addons only after they all came up (PerformControlPlaneUpgrade, then
        # PerformPostUpgradeTasks), so a failed upgrade changes nothing in the API.
        new_manifests = [(c, dump(apply_patches(c, manifest(c, cluster, node), patches))) for c in COMPONENTS]
        kubeadm_upgrade.upgrade_static_pods(new_manifests, node, KUBERNETES_DIR,
                                            lambda path, text: _write(path, text, 0o600), version)
        if words[1] == "apply":
            upload_config(client, cluster, update=True)
            proxy_addon(client, cluster, node, update=True)
        log("[upgrade] The control plane instance for this node was successfully upgraded!")
        return 0
    raise KubeadmError("unknown command %r for \"kubeadm\"" % " ".join(words))


def lab_main(args, version):
    """Lab-only commands (what other parts of a real cluster do):
      kubeadm-lab sign-client CN [GROUP...]     a client certificate and key (PEM) on stdout,
                                                signed by the cluster CA
      kubeadm-lab sign-kubelet-client NODE      the same for system:node:NODE (the CSR signer
                                                of the controller-manager does it for a joining node)
      kubeadm-lab init-objects --config FILE    kubeadm's objects in the API, created when missing
    """
    if args[:1] == ["init-objects"]:
        node, cluster = load_config(_option(args, "--config") or "/etc/kubernetes/kubeadm-lab.yaml")
        client = admin_client(version)
        watched = ("/api/v1/namespaces/kube-system/configmaps/kubeadm-config",
                   "/api/v1/namespaces/kube-public/configmaps/cluster-info",
                   "/api/v1/namespaces/kube-system/configmaps/kube-proxy",
                   "/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy")
        before = {p: client.get(p)[0] for p in watched}
        upload_config(client, cluster, update=False)
        cluster_info(client, cluster, node)
        proxy_addon(client, cluster, node, update=False)
        for path, status in before.items():
            print("%s %s" % ("created" if status == 404 else "kept", path))
        return 0
    if len(args) >= 2 and args[0] in ("sign-client", "sign-kubelet-client"):
        cn, groups = (("system:node:%s" % args[1], ["system:nodes"]) if args[0] == "sign-kubelet-client"
                      else (args[1], args[2:]))
        d = "/etc/kubernetes/pki"
        tmp = os.path.join(d, ".client-%d" % os.getpid())
        try:
            pki.sign(tmp + ".crt", tmp + ".key", os.path.join(d, "ca.crt"), os.path.join(d, "ca.key"), cn, groups)
            sys.stdout.write(pki.pem(tmp + ".crt") + pki.pem(tmp + ".key"))
        finally:
            for path in (tmp + ".crt", tmp + ".key"):
                if os.path.exists(path):
                    os.remove(path)
        return 0
    raise KubeadmError(lab_main.__doc__)
