"""Unit tests of the kubeha.control_plane.kubeadm_config module, run through main() against a
fake API server over TLS (harness: kubeapi_harness.py)."""

from __future__ import annotations

import pytest
import yaml
from kubeapi_harness import cluster_pki, configmap, run_fail, run_ok, running_kube

from ansible_collections.kubeha.control_plane.plugins.modules import kubeadm_config

PATH = "/api/v1/namespaces/kube-system/configmaps/kubeadm-config"

# data.ClusterConfiguration as kubeadm 1.28 writes it (keys sorted, as sigs.k8s.io/yaml does).
V1BETA3 = """apiServer:
  certSANs:
  - 10.0.0.100
  extraArgs:
    authorization-mode: Node,RBAC
    profiling: "true"
  timeoutForControlPlane: 4m0s
apiVersion: kubeadm.k8s.io/v1beta3
certificatesDir: /etc/kubernetes/pki
clusterName: kubernetes
controlPlaneEndpoint: 10.0.0.11:6443
controllerManager: {}
dns: {}
etcd:
  local:
    dataDir: /var/lib/etcd
imageRepository: registry.k8s.io
kind: ClusterConfiguration
kubernetesVersion: v1.28.2
networking:
  dnsDomain: cluster.local
  podSubnet: 10.244.0.0/16
  serviceSubnet: 10.96.0.0/12
scheduler: {}
"""

# kubeadm 1.31 (v1beta4: extraArgs are a list of name/value), with an external etcd.
V1BETA4 = """apiServer:
  extraArgs:
  - name: authorization-mode
    value: Node,RBAC
  - name: audit-log-path
    value: /var/log/a.log
  - name: audit-log-path
    value: /var/log/b.log
apiVersion: kubeadm.k8s.io/v1beta4
caCertificateValidityPeriod: 87600h0m0s
certificateValidityPeriod: 8760h0m0s
certificatesDir: /etc/kubernetes/pki
clusterName: kubernetes
controllerManager: {}
dns: {}
encryptionAlgorithm: RSA-2048
etcd:
  external:
    caFile: /etc/etcd/ca.crt
    certFile: /etc/etcd/client.crt
    endpoints:
    - https://10.0.0.21:2379
    keyFile: /etc/etcd/client.key
imageRepository: registry.k8s.io
kind: ClusterConfiguration
kubernetesVersion: v1.31.0
networking:
  dnsDomain: cluster.local
  serviceSubnet: 10.96.0.0/12
proxy: {}
scheduler: {}
"""


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return cluster_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def kube(pki, tmp_path):
    with running_kube(pki, tmp_path) as api:
        yield api


def add_config(kube, text, **data):
    data.setdefault("ClusterConfiguration", text)
    return kube.add(configmap("kube-system", "kubeadm-config", data))


def stored(kube):
    return yaml.safe_load(kube.get(PATH)["data"]["ClusterConfiguration"])


def args(kube, **kwargs):
    return dict(kubeconfig=kube.kubeconfig, **kwargs)


def test_v1beta3_map_flags_and_endpoint_are_set_and_the_rest_kept(kube):
    before = add_config(kube, V1BETA3, ClusterStatus="kept: true\n")
    result = run_ok(kubeadm_config, args(
        kube, control_plane_endpoint="[fd00::100]:8443",
        extra_args=dict(apiServer={"profiling": False, "secure-port": 6443, "audit_log_path": "/var/log/kube-audit.log",
                                   "insecure-port": None},
                        scheduler={"bind-address": "0.0.0.0"}),
    ), diff=True)
    assert result["changed"] is True
    assert result["api_version"] == "kubeadm.k8s.io/v1beta3"
    puts = kube.writes()
    assert [(m, p.split("?")[0], b["metadata"]["resourceVersion"]) for m, p, _ct, b in puts] == [
        ("PUT", PATH, before["metadata"]["resourceVersion"])]
    assert "fieldManager=kubeha.control_plane" in puts[0][1]
    expected = yaml.safe_load(V1BETA3)
    # Values are strings; a new flag goes where kubeadm's sorted order puts it.
    expected["apiServer"]["extraArgs"] = {"audit-log-path": "/var/log/kube-audit.log", "authorization-mode": "Node,RBAC",
                                          "profiling": "false", "secure-port": "6443"}
    expected["scheduler"] = {"extraArgs": {"bind-address": "0.0.0.0"}}
    expected["controlPlaneEndpoint"] = "[fd00::100]:8443"
    assert stored(kube) == expected == result["cluster_configuration"]
    assert list(stored(kube)) == list(yaml.safe_load(V1BETA3))  # key order kept
    assert list(stored(kube)["apiServer"]["extraArgs"]) == ["audit-log-path", "authorization-mode", "profiling", "secure-port"]
    text = kube.get(PATH)["data"]["ClusterConfiguration"]
    assert "profiling: 'false'" in text and "secure-port: '6443'" in text  # strings for kubeadm, not YAML booleans
    assert kube.get(PATH)["data"]["ClusterStatus"] == "kept: true\n"
    assert result["diff"]["before"] == V1BETA3
    assert result["diff"]["after"] == text


def test_second_run_changes_nothing_and_writes_nothing(kube):
    add_config(kube, V1BETA3)
    wanted = args(kube, control_plane_endpoint="10.0.0.100:8443", extra_args=dict(apiServer={"profiling": "false"}))
    assert run_ok(kubeadm_config, wanted)["changed"] is True
    text = kube.get(PATH)["data"]["ClusterConfiguration"]
    kube.requests.clear()
    again = run_ok(kubeadm_config, wanted, diff=True)
    assert again["changed"] is False
    assert kube.writes() == []
    assert again["diff"]["before"] == again["diff"]["after"] == text


def test_already_set_values_leave_the_text_untouched(kube):
    add_config(kube, V1BETA3)
    result = run_ok(kubeadm_config, args(kube, extra_args=dict(apiServer={"profiling": True, "gone": None}),
                                         control_plane_endpoint="10.0.0.11:6443"))
    assert result["changed"] is False
    assert kube.writes() == []
    assert kube.get(PATH)["data"]["ClusterConfiguration"] == V1BETA3


def test_check_mode_computes_and_does_not_write(kube):
    add_config(kube, V1BETA3)
    result = run_ok(kubeadm_config, args(kube, control_plane_endpoint="k8s.example.com:8443"), check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["cluster_configuration"]["controlPlaneEndpoint"] == "k8s.example.com:8443"
    assert "controlPlaneEndpoint: k8s.example.com:8443" in result["diff"]["after"]
    assert kube.writes() == []
    assert kube.get(PATH)["data"]["ClusterConfiguration"] == V1BETA3


def test_v1beta4_list_form_is_kept(kube):
    add_config(kube, V1BETA4)
    result = run_ok(kubeadm_config, args(kube, extra_args=dict(
        apiServer={"audit-log-path": "/var/log/c.log", "authorization-mode": None, "v": 2},
        controllerManager={"bind-address": "0.0.0.0"})))
    assert result["changed"] is True
    assert result["api_version"] == "kubeadm.k8s.io/v1beta4"
    conf = stored(kube)
    # A flag listed twice is set once where it first was; a removed one disappears; new ones are appended.
    assert conf["apiServer"]["extraArgs"] == [{"name": "audit-log-path", "value": "/var/log/c.log"}, {"name": "v", "value": "2"}]
    assert conf["controllerManager"] == {"extraArgs": [{"name": "bind-address", "value": "0.0.0.0"}]}
    assert conf["etcd"] == yaml.safe_load(V1BETA4)["etcd"]


def test_removing_the_last_flag_removes_extra_args(kube):
    add_config(kube, V1BETA3.replace("    profiling: \"true\"\n", ""))
    run_ok(kubeadm_config, args(kube, extra_args=dict(apiServer={"authorization-mode": None})))
    assert "extraArgs" not in stored(kube)["apiServer"]


def test_external_etcd_fields_are_set(kube):
    add_config(kube, V1BETA4)
    result = run_ok(kubeadm_config, args(kube, etcd_external=dict(
        endpoints=["https://10.0.0.21:2379", "https://[fd00::22]:2379"], keyFile="/etc/etcd/new.key")))
    assert result["changed"] is True
    assert stored(kube)["etcd"] == {"external": {
        "caFile": "/etc/etcd/ca.crt", "certFile": "/etc/etcd/client.crt",
        "endpoints": ["https://10.0.0.21:2379", "https://[fd00::22]:2379"], "keyFile": "/etc/etcd/new.key"}}


def test_external_etcd_on_a_stacked_etcd_cluster_fails(kube):
    add_config(kube, V1BETA3)
    result = run_fail(kubeadm_config, args(kube, etcd_external=dict(endpoints=["https://10.0.0.21:2379"])))
    assert "this cluster uses kubeadm's stacked etcd (etcd.local)" in result["msg"]
    assert kube.writes() == []


def test_bad_etcd_endpoint_is_named(kube):
    add_config(kube, V1BETA4)
    result = run_fail(kubeadm_config, args(kube, etcd_external=dict(endpoints=["10.0.0.21:2379"])))
    assert result["msg"] == "etcd_external.endpoints: '10.0.0.21:2379' is not an etcd client URL (https://HOST:2379)"


def test_conflict_is_retried_on_the_new_version(kube):
    add_config(kube, V1BETA3)

    def someone_else(obj):  # another writer upgrades the cluster in between
        obj["data"]["ClusterConfiguration"] = obj["data"]["ClusterConfiguration"].replace("v1.28.2", "v1.29.0")

    kube.conflicts, kube.on_conflict = 1, someone_else
    result = run_ok(kubeadm_config, args(kube, control_plane_endpoint="10.0.0.100:8443"))
    assert result["changed"] is True
    assert [r[0] for r in kube.requests] == ["GET", "PUT", "GET", "PUT"]
    conf = stored(kube)
    assert conf["kubernetesVersion"] == "v1.29.0"  # the other writer's change is kept
    assert conf["controlPlaneEndpoint"] == "10.0.0.100:8443"


def test_conflicts_without_end_fail(kube):
    add_config(kube, V1BETA3)
    kube.conflicts = 99
    result = run_fail(kubeadm_config, args(kube, control_plane_endpoint="10.0.0.100:8443"))
    assert "changed under this module 5 times in a row (HTTP 409 Conflict)" in result["msg"]
    assert kube.get(PATH)["data"]["ClusterConfiguration"] == V1BETA3


def test_no_configmap_is_not_a_kubeadm_cluster(kube):
    result = run_fail(kubeadm_config, args(kube, control_plane_endpoint="10.0.0.100:8443"))
    assert result["msg"].startswith("the ConfigMap kube-system/kubeadm-config does not exist: this is not a kubeadm cluster")


def test_token_credentials_work(kube):
    add_config(kube, V1BETA3)
    result = run_ok(kubeadm_config, dict(kubeconfig=kube.token_kubeconfig, control_plane_endpoint="10.0.0.100:8443"))
    assert result["changed"] is True


def test_missing_credentials_give_the_auth_hint(kube):
    add_config(kube, V1BETA3)
    result = run_fail(kubeadm_config, dict(kubeconfig=kube.anonymous_kubeconfig, control_plane_endpoint="10.0.0.100:8443"))
    assert result["msg"].startswith("GET the ConfigMap kube-system/kubeadm-config answered HTTP 401: the API refused the credentials")


def test_forbidden_credentials_give_the_auth_hint(kube):
    add_config(kube, V1BETA3)
    result = run_fail(kubeadm_config, dict(kubeconfig=kube.forbidden_kubeconfig, control_plane_endpoint="10.0.0.100:8443"))
    assert "HTTP 403" in result["msg"] and "use a user with the rights" in result["msg"]


def test_not_a_cluster_configuration_fails(kube):
    add_config(kube, "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\n")
    result = run_fail(kubeadm_config, args(kube, control_plane_endpoint="10.0.0.100:8443"))
    assert result["msg"] == ("data.ClusterConfiguration of the ConfigMap kube-system/kubeadm-config is not a "
                             "ClusterConfiguration (kind 'InitConfiguration')")


def test_unknown_version_and_missing_key_fail(kube):
    add_config(kube, "apiVersion: kubeadm.k8s.io/v1beta9\nkind: ClusterConfiguration\n")
    assert "has apiVersion 'kubeadm.k8s.io/v1beta9', which this module does not know" in run_fail(
        kubeadm_config, args(kube, control_plane_endpoint="10.0.0.100:8443"))["msg"]
    kube.objects.clear()
    kube.add(configmap("kube-system", "kubeadm-config", {"other": "x"}))
    assert "has no ClusterConfiguration key" in run_fail(kubeadm_config, args(kube, control_plane_endpoint="10.0.0.100:8443"))["msg"]


def test_bad_values_are_named_before_any_request(kube):
    add_config(kube, V1BETA3)
    cases = [
        (dict(control_plane_endpoint="fd00::100:8443"), "control_plane_endpoint: 'fd00::100:8443': write an IPv6 address in brackets"),
        (dict(control_plane_endpoint="10.0.0.100"), "control_plane_endpoint: '10.0.0.100' has no port"),
        (dict(extra_args=dict(apiServer={"--profiling": "false"})), "write the flag '--profiling' without leading dashes ('profiling')"),
        (dict(extra_args=dict(scheduler={"Bad Flag": "x"})), "extra_args.scheduler: 'Bad Flag' is not a flag name"),
        (dict(extra_args=dict(apiServer={"admission": ["a", "b"]})), "extra_args.apiServer.admission: the value ['a', 'b'] is a list"),
        (dict(extra_args=dict(apiServer={"a-b": "1", "a_b": "2"})), "'a-b' and 'a_b' are the same flag --a-b"),
    ]
    for extra, message in cases:
        assert message in run_fail(kubeadm_config, args(kube, **extra))["msg"]
    assert kube.writes() == []


def test_extra_args_in_the_other_versions_form_fail(kube):
    add_config(kube, V1BETA4.replace("apiVersion: kubeadm.k8s.io/v1beta4", "apiVersion: kubeadm.k8s.io/v1beta3"))
    result = run_fail(kubeadm_config, args(kube, extra_args=dict(apiServer={"v": "2"})))
    assert result["msg"].startswith("apiServer.extraArgs of this kubeadm.k8s.io/v1beta3 ClusterConfiguration must be a map of "
                                    "flag to value, it is [")


def test_cert_file_without_key_file_fails(kube):
    add_config(kube, V1BETA4.replace("    keyFile: /etc/etcd/client.key\n", "").replace("    certFile: /etc/etcd/client.crt\n", ""))
    result = run_fail(kubeadm_config, args(kube, etcd_external=dict(certFile="/etc/etcd/c.crt")))
    assert result["msg"] == "etcd.external would have certFile without keyFile: give both etcd_external.certFile and keyFile"
    assert kube.writes() == []


def test_server_verified_against_the_kubeconfig_ca(kube, tmp_path):
    (tmp_path / "other").mkdir()
    other = cluster_pki(tmp_path / "other")
    result = run_fail(kubeadm_config, dict(api_url=kube.url, ca_file=other.cluster_ca[0], token=kube.token))
    assert result["msg"].startswith("GET %s%s: " % (kube.url, PATH)) and "certificate verify failed" in result["msg"]
    assert kube.requests == []


def test_unreachable_api_is_named(kube):
    result = run_fail(kubeadm_config, dict(api_url="https://127.0.0.1:1", kubeconfig=kube.kubeconfig))
    assert result["msg"].startswith("GET https://127.0.0.1:1%s: " % PATH)
