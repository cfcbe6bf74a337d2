"""Inputs that would take a real cluster down are refused in preflight, before any host
changes, with the host, the variable, the value and the fix named: a URL the serving
certificates do not name or a certificate that does not chain to the cluster CA (every
verifying client would refuse it), a flag the Kubernetes version refuses, an advertise
address kubeadm does not know, cluster-wide flags that differ between masters, a VIP that
is a worker's address or that another host already answers for.

The lab is strict where a real cluster is (one cluster CA, clients that verify, kubeadm's
objects): on 0.4.0 every one of these runs went on and changed the hosts."""

from __future__ import annotations

import concurrent.futures
import ipaddress
import json
import re
import subprocess

import pytest

from .lablib import LAB_VARS, playbook

from kubeha_testlib import API_CURL, LBS, MASTERS, NODES, RUNNER, haproxy_servers, host, wait_for  # noqa: E402

pytestmark = [pytest.mark.lab, pytest.mark.usefixtures("lab_ready")]

ADDR = {name: RUNNER.get_variables(name)["kubeha_address"] for name in MASTERS + NODES}
SUBNET = ipaddress.ip_network(LAB_VARS["kubeha_lab_subnet"])
STRAY = str(SUBNET[177])  # no host of the lab has it
E = re.escape
KUBECTL_STATE = ["/etc/kubernetes/kubelet.conf", "/etc/kubernetes/manifests/kube-apiserver.yaml",
                 "/etc/kubernetes/manifests/kube-scheduler.yaml", "/etc/kubernetes/scheduler.conf"]


def state():
    """Checksums of what a run could change on the hosts (clients, manifests, load balancers)."""
    files = {}
    for name in MASTERS + NODES:
        for path in KUBECTL_STATE + ["/etc/haproxy/haproxy.cfg", "/etc/keepalived/keepalived.conf"]:
            f = host(name).file(path)
            files[(name, path)] = f.sha256sum if f.exists else None
    return files


@pytest.fixture(scope="module")
def unchanged():
    before = state()
    yield before
    assert state() == before, "a refused run changed a file"


# (id, extra vars (json), extra inventory, tags, expected message regex)
CASES = [
    ("url-name-not-in-the-certificates", {"kubeha_api_url": "https://api.kubeha.test:8443"}, None, "kube_clients_preflight",
     r"https://api\.kubeha\.test:8443: [34] of [45] addresses fail the certificate check\. %s:6443: x509: certificate is valid for "
     r"master1, kubernetes, .*, not api\.kubeha\.test.*add the DNS name api\.kubeha\.test to the apiserver certificate: with kubeadm, "
     r"add it to apiServer\.certSANs" % E(ADDR["master1"])),
    ("advertise-address-kubeadm-does-not-know", None, "all:\n  hosts:\n    master2:\n      apiserver_advertise_address: %s\n" % STRAY,
     "apiserver_preflight",
     r"apiserver on master2: apiserver_advertise_address is %s, but kubeadm made this master with %s \(/etc/kubernetes/manifests/"
     r"kube-apiserver\.yaml, annotation kubeadm\.kubernetes\.io/kube-apiserver\.advertise-address\.endpoint" % (E(STRAY), E(ADDR["master2"]))),
    ("insecure-port-removed-in-1-24", {"apiserver_insecure_bind_address": "0.0.0.0"}, None, "apiserver_preflight",
     r"apiserver on master1 \(kube-apiserver v1\.30\.0\): --insecure-bind-address is not a flag of kube-apiserver v1\.30\.0 "
     r"\(removed in 1\.24\)"),
    ("insecure-port-refused-from-1-20", {"apiserver_insecure_bind_address": "0.0.0.0", "apiserver_kubernetes_version": "v1.21.3"},
     None, "apiserver_preflight",
     r"--insecure-port=8080 is refused by kube-apiserver v1\.21\.3: from 1\.20 the insecure port can only be 0"),
    ("cluster-wide-flag-differs-between-masters", None, "all:\n  hosts:\n    master2:\n      apiserver_extra_args: {profiling: 'false'}\n",
     "apiserver_preflight", r"one for the whole cluster, but they differ between the masters: master2 has .*\"profiling\": \"false\""),
    ("vip-is-a-workers-address", {"keepalived_vips": [ADDR[NODES[0]]]}, None, "keepalived_preflight",
     r"VIP %s \(keepalived_vips\) is the address of host %s \(kubeha_address=%s\)" % (E(ADDR[NODES[0]]), NODES[0], E(ADDR[NODES[0]]))),
]


@pytest.fixture(scope="module")
def bad_runs(unchanged, tmp_path_factory):
    dirs = {case[0]: tmp_path_factory.mktemp(case[0]) for case in CASES}

    def one(case):
        name, extra_vars, extra_inventory, tags, _expected = case
        args = (["-e", json.dumps(extra_vars)] if extra_vars else []) + ["--tags", tags]
        return name, playbook(*args, extra_inventory=extra_inventory, tmp_path=dirs[name])
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        return dict(pool.map(one, CASES))


@pytest.mark.parametrize("name, expected", [(c[0], c[4]) for c in CASES], ids=[c[0] for c in CASES])
def test_input_that_would_break_a_real_cluster_fails_before_any_change(bad_runs, name, expected):
    rc, out = bad_runs[name]
    assert rc != 0, out[-3000:]
    flat = " ".join(out.split())
    assert re.search(expected, flat), "expected /%s/ in:\n%s" % (expected, out[-4000:])
    assert "PLAY [Every master an apiserver" not in out or "TASK [kubeha.control_plane.apiserver : Roll" not in out, out[-3000:]


def test_vip_another_host_answers_for_is_refused(unchanged):
    """A VIP no inventory host has, but another host on the segment answers for (duplicate
    address detection from every load balancer, as arping -D does)."""
    image = subprocess.run(["podman", "inspect", "--format", "{{.ImageName}}", "kubeha-lab-%s" % MASTERS[0]],
                           capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run(["podman", "rm", "-f", "kubeha-lab-stray"], capture_output=True, check=False)
    subprocess.run(["podman", "run", "-d", "--name", "kubeha-lab-stray", "--network", LAB_VARS["kubeha_lab_network"],
                    "--ip", STRAY, "--label", "io.kubeha.lab=lab", image, "sleep", "600"], capture_output=True, check=True)
    try:
        mac = subprocess.run(["podman", "inspect", "--format",
                              '{{(index .NetworkSettings.Networks "%s").MacAddress}}' % LAB_VARS["kubeha_lab_network"],
                              "kubeha-lab-stray"], capture_output=True, text=True, check=True).stdout.strip()
        rc, out = playbook("-e", json.dumps({"keepalived_vips": [STRAY]}), "--tags", "keepalived_preflight", "--limit", "kube_lbs")
    finally:
        subprocess.run(["podman", "rm", "-f", "kubeha-lab-stray"], capture_output=True, check=False)
    assert rc != 0, out[-3000:]
    flat = " ".join(out.split())
    assert re.search(r"VIP %s \(keepalived_vips\) is in use: probed on interface eth0 .*MAC %s answered for it" % (E(STRAY), E(mac)),
                     flat), out[-3000:]


def _restart_apiserver(name):
    h = host(name)
    h.run("pkill -TERM -f '^/usr/bin/python3 /usr/bin/kube-apiserver'")
    url = "https://%s:6443/readyz" % ADDR[name]
    # -k: this wait is about the process being back; which CA signed its certificate is what
    # the test itself checks (a verifying curl never sees "ok" from the foreign certificate).
    assert wait_for(lambda: h.run("%s -k --max-time 2 %s" % (API_CURL, url)).stdout, "ok", 60) == "ok"


def test_certificate_from_another_ca_is_refused_before_clients_move(unchanged):
    """An apiserver whose certificate names everything but does not chain to the cluster CA:
    every kubelet would refuse it ("x509: certificate signed by unknown authority")."""
    victim = MASTERS[1]
    h = host(victim)
    pki = "/etc/kubernetes/pki"
    sans = h.check_output("openssl x509 -in %s/apiserver.crt -noout -ext subjectAltName | tail -n1" % pki).strip()
    sans = sans.replace("IP Address:", "IP:")
    h.run_test("cp -p %s/apiserver.crt %s/apiserver.crt.test-saved && cp -p %s/apiserver.key %s/apiserver.key.test-saved" % ((pki,) * 4))
    try:
        h.run_test("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=kube-apiserver -keyout %s/apiserver.key "
                   "-out %s/apiserver.crt -addext 'subjectAltName=%s'" % (pki, pki, sans))
        _restart_apiserver(victim)
        rc, out = playbook("--tags", "kube_clients_preflight")
    finally:
        h.run_test("mv -f %s/apiserver.crt.test-saved %s/apiserver.crt && mv -f %s/apiserver.key.test-saved %s/apiserver.key" % ((pki,) * 4))
        _restart_apiserver(victim)
    assert wait_for(lambda: haproxy_servers(LBS[0]).get(victim), "UP", 30) == "UP"
    assert rc != 0, out[-3000:]
    flat = " ".join(out.split())
    assert re.search(r"%s:6443: x509: certificate signed by unknown authority" % E(ADDR[victim]), flat), out[-3000:]
    for other in (MASTERS[0], MASTERS[2]):
        assert "%s:6443: x509" % ADDR[other] not in flat, out[-3000:]
