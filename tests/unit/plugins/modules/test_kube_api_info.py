"""Unit tests of the kubeha.control_plane.kube_api_info module, run through main() against a
fake API server over TLS (harness: kubeapi_harness.py)."""

from __future__ import annotations

import time

import pytest
from kubeapi_harness import Pki, cluster_pki, configmap, fake_kube, run_fail, run_ok, running_kube, write_kubeconfig

from ansible_collections.kubeha.control_plane.plugins.modules import kube_api_info

PATH = "/api/v1/namespaces/kube-system/configmaps/kube-proxy"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return cluster_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture()
def api(pki, tmp_path):
    with running_kube(pki, tmp_path) as kube:
        kube.add(configmap("kube-system", "kube-proxy", {"kubeconfig.conf": "server: https://10.0.0.11:6443\n"}))
        yield kube


def test_reads_with_the_kubeconfigs_client_certificate_and_the_servers_clock(api):
    before = time.time()
    result = run_ok(kube_api_info, {"path": PATH, "kubeconfig": api.kubeconfig})
    assert result["status"] == 200 and result["json"]["metadata"]["name"] == "kube-proxy" and result["body"] is None
    assert before - 2 <= result["server_time"] <= time.time() + 1  # the Date header, to the second
    assert result["changed"] is False and result["url"] == api.url + PATH


def test_api_url_replaces_the_kubeconfigs_server(api, pki, tmp_path):
    wrong = write_kubeconfig(tmp_path / "elsewhere.conf", "https://127.0.0.1:1", pki.cluster_ca[0], client=pki.admin)
    result = run_ok(kube_api_info, {"path": PATH, "kubeconfig": wrong, "api_url": api.url})
    assert result["status"] == 200


def test_a_token_kubeconfig(api):
    assert run_ok(kube_api_info, {"path": PATH, "kubeconfig": api.token_kubeconfig})["status"] == 200


def test_anonymous_is_refused_at_once_with_what_to_give(api):
    result = run_fail(kube_api_info, {"path": PATH, "kubeconfig": api.anonymous_kubeconfig})
    assert result["status"] == 401
    assert "answered HTTP 401 (Unauthorized)" in result["msg"] and "--anonymous-auth=false" in result["msg"], result["msg"]


def test_forbidden_says_so(api):
    result = run_fail(kube_api_info, {"path": PATH, "kubeconfig": api.forbidden_kubeconfig})
    assert result["status"] == 403 and "the credentials may not do this (HTTP 403" in result["msg"]


def test_other_statuses_may_count_as_an_answer(api):
    result = run_ok(kube_api_info, {"path": PATH + "-missing", "kubeconfig": api.kubeconfig, "status_code": [200, 404]})
    assert result["status"] == 404 and result["json"]["reason"] == "NotFound"
    failed = run_fail(kube_api_info, {"path": PATH + "-missing", "kubeconfig": api.kubeconfig})
    assert "answered HTTP 404" in failed["msg"] and "expected HTTP 200" in failed["msg"]


def test_a_server_of_another_ca_is_not_trusted(tmp_path):
    """Verification is on by default: a certificate the kubeconfig's CA did not sign fails, with no answer."""
    (tmp_path / "ours").mkdir()
    (tmp_path / "theirs").mkdir()
    ours, theirs = Pki(tmp_path / "ours"), Pki(tmp_path / "theirs")
    ca = ours.ca("ca", "kubernetes")
    other = theirs.ca("ca", "someone-else")
    server = theirs.cert("apiserver", other, "kube-apiserver", dns=["localhost"], ips=["127.0.0.1"])
    admin = ours.cert("admin", ca, "kubernetes-admin", usage="clientAuth")
    with fake_kube(str(tmp_path), server, ca[0]) as kube:
        conf = write_kubeconfig(tmp_path / "admin.conf", kube.url, ca[0], client=admin)
        result = run_fail(kube_api_info, {"path": "/readyz", "kubeconfig": conf})
    assert result["status"] == -1 and "CERTIFICATE_VERIFY_FAILED" in result["msg"], result["msg"]


def test_the_path_must_be_absolute(api):
    assert "path must start with '/'" in run_fail(kube_api_info, {"path": "readyz", "kubeconfig": api.kubeconfig})["msg"]
