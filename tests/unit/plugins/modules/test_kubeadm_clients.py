"""Unit tests of the kubeha.control_plane.kubeadm_clients module, run through main() against a
fake API server over TLS (harness: kubeapi_harness.py): the ConfigMaps kube-system/kube-proxy
and kube-public/cluster-info and the kube-proxy DaemonSet, whose rollout the fake server
advances one pod per read after a restart."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from unittest import mock

import pytest
from kubeapi_harness import cluster_pki, configmap, daemonset, run_fail, run_ok, running_kube

from ansible_collections.kubeha.control_plane.plugins.modules import kubeadm_clients

PROXY_CM = "/api/v1/namespaces/kube-system/configmaps/kube-proxy"
INFO_CM = "/api/v1/namespaces/kube-public/configmaps/cluster-info"
PROXY_DS = "/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy"
OLD, NEW = "https://10.0.0.11:6443", "https://[fd00::100]:8443"
SHA_KEY = "kubeha.control-plane/kubeconfig-sha256"

# kubeconfig.conf of kubeadm's kube-proxy ConfigMap (with a comment, to show that every other byte is kept).
PROXY_KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
    server: %s   # the first master
  name: default
contexts:
- context:
    cluster: default
    namespace: default
    user: default
  name: default
current-context: default
users:
- name: default
  user:
    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token
"""
PROXY_CONFIG = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: iptables\n"
# kubeconfig of cluster-info, server quoted (the quoting is kept).
INFO_KUBECONFIG = """apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=
    server: "%s"
  name: ""
contexts: null
current-context: ""
kind: Config
preferences: {}
users: null
"""
JWS = {"jws-kubeconfig-abcdef": "eyJhbGciOiJIUzI1NiIsImtpZCI6ImFiY2RlZiJ9..c2lnbmF0dXJl"}


@pytest.fixture(autouse=True)
def fast_polls():
    with mock.patch.object(kubeadm_clients, "POLL_SECONDS", 0.01):
        yield


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return cluster_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def kube(pki, tmp_path):
    with running_kube(pki, tmp_path) as api:
        yield api


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def cluster(kube, server=OLD, info_server=None, proxy=True, ds=True, **ds_kwargs):
    if proxy:
        kube.add(configmap("kube-system", "kube-proxy", {"config.conf": PROXY_CONFIG, "kubeconfig.conf": PROXY_KUBECONFIG % server}))
    if info_server is not False:
        kube.add(configmap("kube-public", "cluster-info", dict(JWS, kubeconfig=INFO_KUBECONFIG % (info_server or server))))
    if ds:
        kube.add(daemonset("kube-system", "kube-proxy", **ds_kwargs))


def args(kube, **kwargs):
    return dict(dict(kubeconfig=kube.kubeconfig, server=NEW), **kwargs)


def test_servers_are_set_in_place_and_kube_proxy_restarted(kube):
    cluster(kube)
    result = run_ok(kubeadm_clients, args(kube), diff=True)
    assert result["changed"] is True
    assert result["kube_proxy_server"] == {"before": OLD, "after": NEW}
    assert result["cluster_info_server"] == {"before": OLD, "after": NEW}
    # Only the server changed: the comment, the other keys and the signatures are kept byte for byte.
    assert kube.get(PROXY_CM)["data"] == {"config.conf": PROXY_CONFIG, "kubeconfig.conf": PROXY_KUBECONFIG % NEW}
    assert kube.get(INFO_CM)["data"] == dict(JWS, kubeconfig=INFO_KUBECONFIG % NEW)
    # Restarted as kubectl rollout restart does (a merge patch of the pod template's annotations), then waited for.
    patches = [r for r in kube.requests if r[0] == "PATCH"]
    assert len(patches) == 1
    _method, path, content_type, body = patches[0]
    assert path.startswith(PROXY_DS + "?") and content_type == "application/merge-patch+json"
    annotations = body["spec"]["template"]["metadata"]["annotations"]
    assert annotations[SHA_KEY] == sha(PROXY_KUBECONFIG % NEW)
    restarted_at = annotations["kubectl.kubernetes.io/restartedAt"]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$", restarted_at)
    assert datetime.fromisoformat(restarted_at).tzinfo is not None
    rollout = result["rollout"]
    assert rollout == dict(restarted=True, reason="kubeconfig.conf changed", restarted_at=restarted_at, complete=True,
                           generation=2, observed_generation=2, desired_number_scheduled=3, updated_number_scheduled=3,
                           number_available=3)
    ds_reads = [r for r in kube.requests if r[0] == "GET" and r[1] == PROXY_DS]
    assert len(ds_reads) >= 5  # before, after the writes, then until every pod is replaced and available
    assert result["diff"] == {
        "before": "kube-system/kube-proxy kubeconfig.conf: server: %s\nkube-public/cluster-info kubeconfig: server: %s\n" % (OLD, OLD),
        "after": "kube-system/kube-proxy kubeconfig.conf: server: %s\nkube-public/cluster-info kubeconfig: server: %s\n" % (NEW, NEW),
    }


def test_second_run_changes_nothing(kube):
    cluster(kube)
    run_ok(kubeadm_clients, args(kube))
    kube.requests.clear()
    result = run_ok(kubeadm_clients, args(kube))
    assert result["changed"] is False
    assert kube.writes() == []
    assert result["rollout"]["restarted"] is False and result["rollout"]["complete"] is True
    assert result["rollout"]["reason"] is None


def test_first_run_without_record_restarts_once(kube):
    # The ConfigMaps already name the server, but nothing says the pods were started with that file.
    cluster(kube, server=NEW)
    result = run_ok(kubeadm_clients, args(kube))
    assert result["changed"] is True
    assert [r[0] for r in kube.writes()] == ["PATCH"]
    assert result["rollout"]["reason"].startswith("no record that the kube-proxy pods were restarted")
    assert run_ok(kubeadm_clients, args(kube))["changed"] is False


def test_check_mode_reports_and_writes_nothing(kube):
    cluster(kube)
    result = run_ok(kubeadm_clients, args(kube), check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["kube_proxy_server"] == result["cluster_info_server"] == {"before": OLD, "after": NEW}
    assert result["rollout"]["restarted"] is True and result["rollout"]["reason"] == "kubeconfig.conf changed"
    assert result["rollout"]["restarted_at"] is None and result["rollout"]["complete"] is None
    assert kube.writes() == []
    assert kube.get(PROXY_CM)["data"]["kubeconfig.conf"] == PROXY_KUBECONFIG % OLD


def test_rollout_false_only_edits_and_warns(kube):
    cluster(kube)
    result = run_ok(kubeadm_clients, args(kube, rollout=False))
    assert result["changed"] is True and result["rollout"] is None
    assert [r[0] for r in kube.writes()] == ["PUT", "PUT"]
    assert not [r for r in kube.requests if r[1].startswith(PROXY_DS)]
    assert any("kube-proxy reads kubeconfig.conf only when it starts" in w for w in result["warnings"])


def test_rollout_timeout_fails_with_the_status_and_a_rerun_waits_again(kube):
    cluster(kube)
    kube.rollout_stuck = True
    result = run_fail(kubeadm_clients, args(kube, rollout_timeout=0))
    assert result["changed"] is True
    assert result["msg"].startswith("the kube-proxy DaemonSet did not finish its rollout in 0 seconds (3 of 3 pods updated, "
                                    "3 available, observedGeneration 1 of generation 2)")
    assert result["rollout"]["complete"] is False and result["rollout"]["restarted"] is True
    # The next run does not restart again: it waits for the rollout in progress.
    kube.rollout_stuck = False
    kube.requests.clear()
    again = run_ok(kubeadm_clients, args(kube))
    assert kube.writes() == []
    assert again["changed"] is False
    assert again["rollout"]["reason"] == "a rollout of the DaemonSet is in progress"
    assert again["rollout"]["complete"] is True


def test_restart_follows_the_text_the_pods_were_restarted_for(kube):
    cluster(kube)
    run_ok(kubeadm_clients, args(kube))
    # Edited back by hand: the module sets the server again, and the pods, restarted for that very text, stay.
    kube.get(PROXY_CM)["data"]["kubeconfig.conf"] = PROXY_KUBECONFIG % OLD
    result = run_ok(kubeadm_clients, args(kube))
    assert result["changed"] is True and result["rollout"]["restarted"] is False
    # Any other edit of the text is followed by a restart.
    kube.get(PROXY_CM)["data"]["kubeconfig.conf"] = (PROXY_KUBECONFIG % OLD).replace("# the first master", "# edited")
    result = run_ok(kubeadm_clients, args(kube))
    assert result["rollout"]["restarted"] is True and result["rollout"]["reason"] == "kubeconfig.conf changed"
    # A ConfigMap edited to the server without a restart (or a restart for another text) is restarted for.
    kube.get(PROXY_DS)["spec"]["template"]["metadata"]["annotations"][SHA_KEY] = "0" * 64
    result = run_ok(kubeadm_clients, args(kube))
    assert result["rollout"]["reason"] == "kubeconfig.conf changed since the kube-proxy pods were last restarted by this module"


def test_on_delete_strategy_fails_before_any_write(kube):
    cluster(kube, strategy="OnDelete")
    result = run_fail(kubeadm_clients, args(kube))
    assert "its update strategy is OnDelete: a restart does not replace its pods" in result["msg"]
    assert kube.writes() == []


def test_without_kube_proxy_only_cluster_info_is_set(kube):
    cluster(kube, proxy=False, ds=False)
    result = run_ok(kubeadm_clients, args(kube))
    assert result["changed"] is True
    assert result["kube_proxy_server"] == {"before": None, "after": None} and result["rollout"] is None
    assert result["cluster_info_server"] == {"before": OLD, "after": NEW}
    assert any("the ConfigMap kube-system/kube-proxy does not exist" in w for w in result["warnings"])


def test_without_the_daemonset_fails_before_any_write(kube):
    cluster(kube, ds=False)
    result = run_fail(kubeadm_clients, args(kube))
    assert "the DaemonSet kube-system/kube-proxy does not: set rollout=false" in result["msg"]
    assert kube.writes() == []


def test_missing_cluster_info_is_not_a_kubeadm_cluster(kube):
    cluster(kube, info_server=False)
    result = run_fail(kubeadm_clients, args(kube))
    assert result["msg"].startswith("the ConfigMap kube-public/cluster-info does not exist: this is not a kubeadm cluster")
    assert kube.writes() == []


def test_cluster_info_false_leaves_it_alone(kube):
    cluster(kube)
    result = run_ok(kubeadm_clients, args(kube, cluster_info=False))
    assert result["cluster_info_server"] is None
    assert kube.get(INFO_CM)["data"]["kubeconfig"] == INFO_KUBECONFIG % OLD
    assert not [r for r in kube.requests if r[1].startswith(INFO_CM)]


def test_conflict_is_retried(kube):
    cluster(kube)
    kube.conflicts = 1
    result = run_ok(kubeadm_clients, args(kube, cluster_info=False))
    assert result["changed"] is True
    assert [r[0] for r in kube.requests if r[1].startswith(PROXY_CM)] == ["GET", "GET", "PUT", "GET", "PUT"]
    assert kube.get(PROXY_CM)["data"]["kubeconfig.conf"] == PROXY_KUBECONFIG % NEW


def test_bad_server_and_credentials(kube):
    cluster(kube)
    assert run_fail(kubeadm_clients, args(kube, server="http://10.0.0.100:8443"))["msg"] == (
        "server: 'http://10.0.0.100:8443' must be an https:// URL (clients of the API verify its certificate)")
    assert run_fail(kubeadm_clients, args(kube, server="https://fd00::100:8443"))["msg"] == (
        "server: 'https://fd00::100:8443': write an IPv6 address in brackets, https://[fd00::1]:6443")
    result = run_fail(kubeadm_clients, args(kube, kubeconfig=kube.anonymous_kubeconfig))
    assert "answered HTTP 401: the API refused the credentials" in result["msg"]
    assert kube.writes() == []


def test_not_a_kubeconfig_is_named(kube):
    kube.add(configmap("kube-system", "kube-proxy", {"kubeconfig.conf": "apiVersion: v1\nkind: Pod\n"}))
    cluster(kube, proxy=False)
    result = run_fail(kubeadm_clients, args(kube))
    assert result["msg"] == "kubeconfig.conf of the ConfigMap kube-system/kube-proxy is not a kubeconfig (kind is 'Pod')"
    assert kube.writes() == []


def test_configmap_without_its_key_and_bad_timeout(kube):
    kube.add(configmap("kube-system", "kube-proxy", {"config.conf": PROXY_CONFIG}))
    cluster(kube, proxy=False)
    result = run_fail(kubeadm_clients, args(kube))
    assert result["msg"] == "the ConfigMap kube-system/kube-proxy has no kubeconfig.conf key (its keys: config.conf)"
    assert run_fail(kubeadm_clients, args(kube, rollout_timeout=-1))["msg"] == "rollout_timeout must be 0 or more seconds, got -1"
    assert kube.writes() == []
