# KUBEHA LAB STAND-IN -- NOT KUBERNETES. See lab/standins/kubeha_standin/__init__.py.
"""The node agents: the kubelet (static pods, its node Lease, the kube-proxy DaemonSet's
pod) and kube-proxy.

kubelet
  - runs the static pods of --pod-manifest-path / staticPodPath (kubelet.py);
  - reports: from Kubernetes 1.14 (NodeLease) it renews the Lease kube-node-lease/<node>
    every 10 s (leaseDurationSeconds 40) through its kubeconfig's server, credentials and
    CA; before, it only polls /healthz. A kubelet that cannot reach or verify the API
    stops reporting, which is what `kubectl get nodes` (NotReady) shows;
  - with --kubeconfig, runs the pod of the DaemonSet kube-system/kube-proxy on its node,
    as the DaemonSet controller and the kubelet do together: the template comes from the
    API; the volumes are written where the container mounts them (no mount namespaces in
    the lab): the ConfigMap's files (kept current while the pod runs, as the kubelet
    does, though kube-proxy reads them only at start), and a projected service-account
    token from TokenRequest (signed by the apiserver's service-account key) with the
    cluster CA; a new template (`kubectl rollout restart`) recreates the pod. The pod's
    state is reported as kube-system/kube-proxy-<node>, from which the apiserver computes
    the DaemonSet's status (what `kubectl rollout status` waits on).
kube-proxy
  - talks to --master, or to the server of the kubeconfig named by --kubeconfig or by
    clientConnection.kubeconfig of its --config (KubeProxyConfiguration), and lists the
    kubernetes endpoints every 2 s.
State in /run/kubeha-standin/<component>.json: the server, whether the last request
worked (api_ok) and the last error, as client-go logged it.
"""

from __future__ import annotations

import os
import socket
import threading
import time

from .core import log, sd_notify, write_state
from .kubeconfig import ClientError, Kubeconfig, component_client, load_document
from .kubelet import SYNC_INTERVAL, PodSupervisor, pod_spec, static_pod_path
from .store import now_rfc3339, template_hash

NODE_LEASE_SECONDS = 40
NODE_LEASE_RENEW = 10.0
DAEMONSETS = [("kube-system", "kube-proxy")]
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def node_name(opts):
    return (opts.get("hostname-override") or socket.gethostname()).lower()


def _message(status, body):
    return body.get("message") if isinstance(body, dict) and body.get("message") else "HTTP %d" % status


class NodeLease:
    """The kubelet's heartbeat: kube-node-lease/<node>, renewed every 10 s."""

    def __init__(self, client, node):
        self.client, self.node = client, node
        self.path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"

    def renew(self):
        status, body, _h = self.client.get("%s/%s" % (self.path, self.node))
        spec = {"holderIdentity": self.node, "leaseDurationSeconds": NODE_LEASE_SECONDS, "renewTime": now_rfc3339(micro=True)}
        if status == 404:
            status, body, _h = self.client.request("POST", self.path, {"metadata": {"name": self.node}, "spec": spec})
        elif status == 200:
            body["spec"] = dict(body.get("spec") or {}, **spec)
            status, body, _h = self.client.request("PUT", "%s/%s" % (self.path, self.node), body)
        if status not in (200, 201):
            raise ClientError('failed to update lease "%s": %s' % (self.node, _message(status, body)))


class DaemonSetPod:
    """The pod of one DaemonSet on this node (see the module docstring)."""

    def __init__(self, client, node, namespace, name, supervisor):
        self.client, self.node, self.ns, self.name, self.supervisor = client, node, namespace, name, supervisor
        self.pod_name = "%s-%s" % (name, node)
        self.hash = None
        self.token_expiry = 0.0
        self.reported = None

    def _get(self, path):
        status, body, _h = self.client.get(path)
        if status != 200:
            raise ClientError("GET %s: %s" % (path, _message(status, body)))
        return body

    def _write(self, path, data, mode=0o644):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".kubeha-tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w") as fh:
            fh.write(data)
        os.replace(tmp, path)

    def volumes(self, template):
        """Write the pod's ConfigMap and projected service-account volumes at their mount paths."""
        spec = template.get("spec") or {}
        mounts = {}
        for ctr in spec.get("containers") or []:
            for mount in ctr.get("volumeMounts") or []:
                mounts[mount.get("name")] = mount.get("mountPath")
        for volume in spec.get("volumes") or []:
            where = mounts.get(volume.get("name"))
            if not where:
                continue
            if "configMap" in volume:
                cm = self._get("/api/v1/namespaces/%s/configmaps/%s" % (self.ns, volume["configMap"]["name"]))
                for key, value in (cm.get("data") or {}).items():
                    path = os.path.join(where, key)
                    try:
                        with open(path) as fh:
                            if fh.read() == value:
                                continue
                    except OSError:
                        pass
                    self._write(path, value)
        account = spec.get("serviceAccountName") or "default"
        if time.time() > self.token_expiry - 600:  # refreshed well before it expires, as the kubelet does
            status, body, _h = self.client.request("POST", "/api/v1/namespaces/%s/serviceaccounts/%s/token" % (self.ns, account),
                                                   {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                                    "spec": {"expirationSeconds": 3600}})
            if status != 201:
                raise ClientError("requesting a token for %s/%s: %s" % (self.ns, account, _message(status, body)))
            self._write(os.path.join(SA_DIR, "token"), body["status"]["token"], 0o600)
            self._write(os.path.join(SA_DIR, "namespace"), self.ns)
            self.token_expiry = time.time() + 3600
        ca = self.client._ca_pem  # noqa: SLF001  the kubelet's cluster CA (the kube-root-ca.crt ConfigMap's content)
        if ca:
            self._write(os.path.join(SA_DIR, "ca.crt"), ca)

    def sync(self):
        ds = self._get("/apis/apps/v1/namespaces/%s/daemonsets/%s" % (self.ns, self.name))
        template = (ds.get("spec") or {}).get("template") or {}
        digest = template_hash(ds)
        self.volumes(template)
        if digest != self.hash:
            pod = {"kind": "Pod", "metadata": dict(template.get("metadata") or {}, name=self.pod_name),
                   "spec": template.get("spec") or {}}
            name, grace, containers = pod_spec(pod, self.node)
            self.supervisor.api_pods = dict(self.supervisor.api_pods, **{self.pod_name: {
                "file": "daemonset %s/%s" % (self.ns, self.name), "hash": digest, "grace": grace, "containers": containers}})
            if self.hash is not None:
                log("kubelet: daemonset %s/%s has a new pod template (%s): recreating pod %s"
                    % (self.ns, self.name, digest, self.pod_name))
            self.hash = digest

    def report(self):
        pod = self.supervisor.pods.get(self.pod_name)
        if pod is None:
            return
        ctrs = list(pod["containers"].values())
        running = all(c.pid and c.running() for c in ctrs)
        ready = running and all(time.monotonic() - c.started > 1.0 for c in ctrs)
        state = (pod["hash"], running, ready)
        if state == self.reported:
            return
        obj = {"metadata": {"name": self.pod_name, "namespace": self.ns,
                            "labels": {"kubeha.lab/daemonset": self.name},
                            "annotations": {"kubeha.lab/template-hash": pod["hash"]}},
               "spec": {"nodeName": self.node},
               "status": {"phase": "Running" if running else "Pending", "ready": ready}}
        path = "/api/v1/namespaces/%s/pods" % self.ns
        status, body, _h = self.client.get("%s/%s" % (path, self.pod_name))
        if status == 404:
            status, body, _h = self.client.request("POST", path, obj)
        elif status == 200:
            obj["metadata"]["resourceVersion"] = body["metadata"]["resourceVersion"]
            status, body, _h = self.client.request("PUT", "%s/%s" % (path, self.pod_name), obj)
        if status in (200, 201):
            self.reported = state


def run_kubelet(opts, version):
    node = node_name(opts)
    supervisor = PodSupervisor(static_pod_path(opts, version))
    client = component_client("kubelet", opts, version)
    state = {"api_server": client.server, "api_ok": False, "last_error": "", "node": node, "last_report": 0.0}
    log("kubelet: node %s, API server %s%s" % (node, client.server, ", static pods from %s" % supervisor.manifest_path
                                               if supervisor.manifest_path else ""))
    lease = NodeLease(client, node) if version >= (1, 14, 0) and opts.get("kubeconfig") else None
    pods = [DaemonSetPod(client, node, ns, name, supervisor) for ns, name in DAEMONSETS] if opts.get("kubeconfig") else []

    def report():
        while True:
            try:
                if lease:
                    lease.renew()
                else:
                    status, body, _h = client.get("/healthz")
                    if status != 200:
                        raise ClientError("GET /healthz: %s" % _message(status, body))
                state.update(api_ok=True, last_error="", last_report=time.time())
            except (ClientError, OSError, ValueError, KeyError) as err:
                if str(err) != state["last_error"]:
                    log("kubelet: %s" % err)
                state.update(api_ok=False, last_error=str(err))
            time.sleep(NODE_LEASE_RENEW if lease else 2)

    def daemonsets():
        while True:
            for pod in pods:
                try:
                    pod.sync()
                    pod.report()
                    state.pop("daemonset_error", None)
                except (ClientError, OSError, ValueError, KeyError, TypeError) as err:
                    state["daemonset_error"] = str(err)
            time.sleep(2)

    threading.Thread(target=report, daemon=True).start()
    if pods:
        threading.Thread(target=daemonsets, daemon=True).start()
    sd_notify("READY=1")
    while True:
        try:
            supervisor.sync()
        except OSError as err:
            log("kubelet: sync: %s" % err)
        write_state("kubelet", dict(state, manifest_path=supervisor.manifest_path, pods=supervisor.status()))
        time.sleep(SYNC_INTERVAL)


def proxy_client(opts, version):
    """kube-proxy's client: --master, else --kubeconfig, else clientConnection.kubeconfig of --config."""
    kubeconfig = opts.get("kubeconfig")
    if not kubeconfig and opts.get("config"):
        config = load_document(opts["config"]) or {}
        kubeconfig = ((config.get("clientConnection") or {}).get("kubeconfig")) if isinstance(config, dict) else None
    if kubeconfig:
        return Kubeconfig(kubeconfig).client(server=(opts.get("master") or "").rstrip("/") or None, version=version)
    return component_client("proxy", opts, version)


def run_proxy(opts, version):
    client = proxy_client(opts, version)
    state = {"api_server": client.server, "api_ok": False, "last_error": ""}
    log("kube-proxy: API server %s" % client.server)
    sd_notify("READY=1")
    while True:
        try:
            status, body, _h = client.get("/api/v1/namespaces/default/endpoints/kubernetes")
            if status != 200:
                raise ClientError("Failed to list *v1.Endpoints: %s" % _message(status, body))
            state.update(api_ok=True, last_error="", last_sync=time.time())
        except (ClientError, OSError, ValueError) as err:
            if str(err) != state["last_error"]:
                log("kube-proxy: %s" % err)
            state.update(api_ok=False, last_error=str(err))
        write_state("proxy", state)
        time.sleep(2)
