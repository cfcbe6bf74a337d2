"""Bad input that the controller alone can judge fails in site.yml's preflight
play, with a message naming the host, variable and value, before any play that
changes a host. Runs site.yml in check mode against two local "load
balancers" (connection local, preflight tags only): nothing on this machine is
changed. The cases that need real hosts are in tests/lab/test_lb_negative.py."""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SITE = os.path.join(ROOT, "playbooks", "site.yml")
BASE = {
    "all": {
        "vars": {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            "kubeha_vip": "127.0.0.100",
            "keepalived_interface": "lo",
            "keepalived_unicast": False,
        },
        "children": {
            # Two load balancers are enough for every cross-host check (and each
            # host costs every run its tasks); etcd needs an odd member count.
            "kube_masters": {"hosts": {"lb1": {"kubeha_address": "10.0.0.1"}, "lb2": {"kubeha_address": "10.0.0.2"}}},
            "kube_lbs": {"children": {"kube_masters": {}}},
            "etcd": {"hosts": {"lb1": {}}},
        },
    }
}


def site(tmp_path, extra_vars=None, host_vars=None, tags="haproxy_preflight,keepalived_preflight", inventory=None):
    inventory = inventory or json.loads(json.dumps(BASE))
    for host, values in (host_vars or {}).items():
        inventory["all"]["children"]["kube_masters"]["hosts"][host].update(values)
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(inventory))
    cmd = ["ansible-playbook", "-i", str(path), SITE, "--check", "--tags", tags]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_the_base_inventory_passes_preflight(tmp_path):
    rc, out = site(tmp_path)
    assert rc == 0, out[-4000:]
    assert "Preflight | all nodes agree" in out and "failed=0" in out


CASES = [
    ("auth-pass-unquotable", {"keepalived_auth_pass": "ab#cd"}, None,
     r"keepalived on lb1: keepalived_auth_pass has 5 characters .* contains a space, tab, #, !, quote or backslash"),
    ("vip-invalid", {"kubeha_vip": "10.0.0.300"}, None,
     r'keepalived_vips has "10\.0\.0\.300", which is not a valid IPv4 or IPv6 address'),
    ("router-id-out-of-range", {"keepalived_virtual_router_id": 300}, None,
     r"virtual_router_id of VIP 127\.0\.0\.100 is 300 \(keepalived_virtual_router_id\); it must be from 1 to 255"),
    ("vip-differs", None, {"lb2": {"kubeha_vip": "127.0.0.101"}},
     r"must share the same VIPs, virtual_router_id and VRRP version"),
    ("nopreempt-with-master", {"keepalived_nopreempt": True}, {"lb1": {"keepalived_state": "MASTER"}},
     r"keepalived_nopreempt needs keepalived_state=BACKUP on every node"),
    ("weight-cannot-fail-over", {"keepalived_check_weight": -5}, None,
     r"keepalived_check_weight=-5 cannot guarantee failover: the highest priority 200 minus 5 is not below the lowest 190"),
    ("vrrp2-subsecond-advert", {"keepalived_advert_int": 0.5}, None,
     r"keepalived_advert_int=0\.5 \(VRRPv2: whole seconds >= 1\)"),
    ("no-backends", {"haproxy_backend_hosts": []}, None,
     r"haproxy on lb\d: haproxy_backend_hosts is empty .* at least one apiserver backend is required"),
    ("frontend-port-range", {"haproxy_frontend_port": 70000}, None,
     r"haproxy on lb\d: haproxy_frontend_port is 70000; a port must be an integer from 1 to 65535"),
    ("stats-exposed-without-password", {"haproxy_stats_bind_address": "0.0.0.0"}, None,
     r"haproxy_stats_bind_address=0\.0\.0\.0 exposes the statistics page beyond loopback"),
    ("stats-user-unusable", {"haproxy_stats_user": "ad min"}, None,
     r'haproxy_stats_user="ad min" must be letters, digits'),
    ("backend-port-invalid", None, {"lb2": {"kubeha_apiserver_port": 70000}},
     r"kubeha_apiserver_port of host 'lb2' is 70000; a port must be an integer from 1 to 65535"),
    # (no firewalld runs on this machine)
    ("firewalld-required-but-not-running", {"kubeha_firewalld": True}, None,
     r"haproxy on lb1: haproxy_firewalld=True but firewalld does not run \(systemctl is-active firewalld: [^)]*\)"),
    ("balance-unknown", {"haproxy_balance": "random"}, None,
     r"value of haproxy_balance must be one of: leastconn, roundrobin, first, source, got: random"),
]


def _run_all(tmp_path_factory, cases):
    """Run every case's site.yml at once (threads; each is an ansible-playbook process):
    {case id: (rc, output)}. The cases share nothing but the read-only checkout."""
    # Directories are made here, not in the threads: tmp_path_factory is not thread-safe
    # (concurrent first calls race to create the base directory).
    dirs = {case["id"]: tmp_path_factory.mktemp(case["id"]) for case in cases}

    def one(case):
        return case["id"], site(dirs[case["id"]], **case["kwargs"])
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(one, cases))


@pytest.fixture(scope="module")
def load_balancer_results(tmp_path_factory):
    return _run_all(tmp_path_factory, [{"id": c[0], "kwargs": {"extra_vars": c[1], "host_vars": c[2]}} for c in CASES])


@pytest.mark.parametrize("case, expected", [(c[0], c[3]) for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_fails_in_preflight(load_balancer_results, case, expected):
    rc, out = load_balancer_results[case]
    assert rc != 0, out[-3000:]
    flat = " ".join(out.split())
    assert re.search(expected, flat), "expected /%s/ in:\n%s" % (expected, out[-4000:])
    # any_errors_fatal: no later play started.
    assert "PLAY [The etcd ports" not in out and "PLAY [HAProxy in front of every apiserver]" not in out, out[-3000:]
    assert "ab#cd" not in out.replace('"keepalived_auth_pass": "ab#cd"', "")


def converge_check(tmp_path, *args, extra_vars=None, host_vars=None):
    """site.yml in check mode with --diff against the local "load balancers": it reports
    the files it would write (and their content) and changes nothing on this machine."""
    inventory = json.loads(json.dumps(BASE))
    for host, values in (host_vars or {}).items():
        inventory["all"]["children"]["kube_masters"]["hosts"][host].update(values)
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(inventory))
    cmd = ["ansible-playbook", "-i", str(path), SITE, "--check", "--diff", "--limit", "lb1"] + list(args)
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_tags_alone_render_complete_configurations_and_inventory_values_win(tmp_path):
    """--tags keepalived_config (nothing else) renders the whole keepalived.conf, and a
    keepalived_check_url from host_vars reaches the check script (site.yml sets no play vars)."""
    url = "https://127.0.0.1:9443/custom-readyz"
    rc, out = converge_check(tmp_path, "--tags", "keepalived_config", host_vars={"lb1": {"keepalived_check_url": url}})
    assert rc == 0, out[-4000:]
    assert "PLAY RECAP" in out and "failed=0" in out
    assert url in out, "the inventory's keepalived_check_url did not reach kubeha-check-frontend"
    assert re.search(r"\+vrrp_instance VI_127_0_0_100 \{", out) and "+    virtual_ipaddress {" in out, out[-4000:]
    assert "+    track_script {" in out and "+    track_file {" in out
    # The inputs are checked, and the host's state read, once per run: in site.yml's
    # preflight play, not again in the role's own play.
    for task in ("Preflight | this node is one of the load balancers", "Setup | read whether firewalld runs (keepalived_firewalld auto)"):
        assert out.count("TASK [kubeha.control_plane.keepalived : %s]" % task) == 1, task


def test_skipping_the_preflight_still_renders_complete_configurations(tmp_path):
    rc, out = converge_check(tmp_path, "--tags", "haproxy_config,keepalived_config",
                             "--skip-tags", "haproxy_preflight,keepalived_preflight")
    assert rc == 0, out[-4000:]
    assert "Preflight |" not in out
    assert "+vrrp_instance VI_127_0_0_100 {" in out and "+backend kube-apiserver" in out


def test_check_certificates_and_exposure_are_rendered_and_reported(tmp_path):
    """The health checks verify the apiservers with the CA file and present the client
    certificate; preflight says what the statistics listener exposes."""
    ca = "/etc/ssl/certs/ca-certificates.crt"
    rc, out = converge_check(tmp_path, "--tags", "haproxy_preflight,haproxy_config",
                             extra_vars={"haproxy_check_ca_file": ca, "haproxy_check_verifyhost": "kubernetes",
                                         "haproxy_check_client_cert": ca})
    assert rc == 0, out[-4000:]
    assert re.search(r"\+    server lb1 10\.0\.0\.1:6443 check check-ssl verify required ca-file %s verifyhost kubernetes crt %s$"
                     % (re.escape(ca), re.escape(ca)), out, re.M), out[-4000:]
    flat = " ".join(out.split())
    assert ("statistics page /stats and Prometheus /metrics on 127.0.0.1:9000, without authentication (loopback only)"
            in flat), flat[-3000:]


def test_acknowledged_plain_http_backend_passes_with_a_warning(tmp_path):
    rc, out = site(tmp_path, {"haproxy_backend_tls": False, "haproxy_backend_port": 8080,
                              "haproxy_frontend_port": 18080, "haproxy_backend_plain_http_acknowledged": True})
    assert rc == 0, out[-4000:]
    flat = " ".join(out.split())
    assert ("WARNING haproxy on lb1: the frontend port 18080 forwards to the apiservers' unauthenticated insecure port 8080"
            in flat), flat[-3000:]


# The control plane's inputs (apiserver, leader_election, kube_clients
# preflight). The version is given, as no kube-apiserver is installed here;
# the sysconfig files do not exist, so the roles would write them.
# The clients and leader election through plain http: an https URL in the sysconfig layout
# needs the cluster CA and a certificate check against apiservers, which do not exist here
# (the case "sysconfig-https-without-ca" shows the refusal).
CONTROL_PLANE = {"apiserver_kubernetes_version": "v1.30.0", "kubeha_api_url": "http://127.0.0.100:18080"}
CONTROL_PLANE_TAGS = "apiserver_preflight,leader_election_preflight,kube_clients_preflight"


def even_etcd():
    inventory = json.loads(json.dumps(BASE))
    inventory["all"]["children"]["etcd"] = {"hosts": {"lb1": {}, "lb2": {}}}
    return inventory


CONTROL_PLANE_CASES = [
    ("etcd-even", {}, None, even_etcd(),
     r"apiserver on lb1: the etcd group apiserver_etcd_group=etcd has 2 members \(lb1, lb2\); etcd needs an odd number"),
    ("layout-unknown", {"apiserver_layout": "kubeadm"}, None, None,
     r"value of apiserver_layout must be one of: sysconfig, static_pod, got: kubeadm"),
    ("count-not-an-integer", {"apiserver_count": "three"}, None, None,
     r"apiserver_count.*three"),
    ("extra-arg-dash-prefix", {"apiserver_extra_args": {"--audit-log-path": "/var/log/a.log"}}, None, None,
     r'apiserver on lb1: apiserver_extra_args has the flag "--audit-log-path" with the value "/var/log/a.log"\. '
     r"A flag name is written without the leading dashes"),
    ("extra-arg-newline", {"apiserver_extra_args": {"audit-log-path": "/var/log/a.log\nKUBE_X=1"}}, None, None,
     r'apiserver on lb1: apiserver_extra_args has the flag "audit-log-path" with the value "/var/log/a.log\\nKUBE_X=1"'),
    ("extra-arg-managed", {"apiserver_extra_args": {"etcd-servers": "http://10.0.0.9:2379"}}, None, None,
     r"The role sets --etcd-servers itself: use its variable instead"),
    ("extra-arg-space-in-sysconfig", {"apiserver_extra_args": {"audit-log-path": "/var/log/my log"}}, None, None,
     r"in the sysconfig layout \(whose unit splits values on spaces\), without spaces"),
    ("reconciler-unknown", {"apiserver_endpoint_reconciler": "masters"}, None, None,
     r"value of apiserver_endpoint_reconciler must be one of: auto, master-count, lease, none, got: masters"),
    ("etcd-tls-file-missing", {"apiserver_etcd_scheme": "https", "apiserver_etcd_cafile": "/nonexistent/etcd/ca.crt"}, None, None,
     r"apiserver on lb1: apiserver_etcd_cafile=/nonexistent/etcd/ca\.crt does not exist on this host"),
    ("lease-timing", {"leader_election_renew_deadline": "20s"}, None, None,
     r"leader_election on lb1: .*lease duration > renew deadline > retry period"),
    ("scheduler-extra-arg", {"leader_election_scheduler_extra_args": {"-v": 2}}, None, None,
     r"leader_election_scheduler_extra_args.*-v"),
    ("sysconfig-https-without-ca", {"kubeha_api_url": "https://127.0.0.100:8443"}, None, None,
     r"leader_election on lb1: the scheduler and controller-manager would be given --master=https://127\.0\.0\.100:8443 but "
     r"neither leader_election_api_ca_file nor leader_election_api_kubeconfig names the cluster CA"),
]


def test_the_base_inventory_passes_control_plane_preflight(tmp_path):
    rc, out = site(tmp_path, CONTROL_PLANE, tags=CONTROL_PLANE_TAGS)
    assert rc == 0, out[-4000:]
    assert "Preflight | every extra flag has a valid name and value" in out and "failed=0" in out
    # Checked once per run, except what the apiserver roll can change in between: the
    # certificates the scheduler and controller-manager will verify, checked again after it.
    for task, times in (("leader_election : Preflight | lease timing is valid", 1), ("apiserver : Preflight | layout and reconciler are known", 1),
                        ("leader_election : Preflight | every apiserver's certificate names the VIP URL", 2)):
        assert out.count("TASK [kubeha.control_plane.%s" % task) == times, (task, times)


def test_etcd_tls_files_that_exist_pass_preflight(tmp_path):
    """The kubeadm case: the etcd client files are on the master (here: files of this machine)."""
    for name in ("ca.crt", "client.crt", "client.key"):
        (tmp_path / name).write_text("x\n")
    files = {"apiserver_etcd_scheme": "https", "apiserver_etcd_cafile": str(tmp_path / "ca.crt"),
             "apiserver_etcd_certfile": str(tmp_path / "client.crt"), "apiserver_etcd_keyfile": str(tmp_path / "client.key")}
    rc, out = site(tmp_path, dict(CONTROL_PLANE, **files), tags=CONTROL_PLANE_TAGS)
    assert rc == 0, out[-4000:]
    assert "Preflight | the etcd client TLS files exist on the master" in out and "failed=0" in out


@pytest.fixture(scope="module")
def control_plane_results(tmp_path_factory):
    return _run_all(tmp_path_factory, [
        {"id": c[0], "kwargs": {"extra_vars": dict(CONTROL_PLANE, **c[1]), "host_vars": c[2], "tags": CONTROL_PLANE_TAGS,
                                "inventory": c[3]}} for c in CONTROL_PLANE_CASES])


@pytest.mark.parametrize("case, expected", [(c[0], c[4]) for c in CONTROL_PLANE_CASES], ids=[c[0] for c in CONTROL_PLANE_CASES])
def test_bad_control_plane_input_fails_in_preflight(control_plane_results, case, expected):
    rc, out = control_plane_results[case]
    assert rc != 0, out[-3000:]
    flat = " ".join(out.split())
    assert re.search(expected, flat), "expected /%s/ in:\n%s" % (expected, out[-4000:])
    assert "PLAY [The etcd ports" not in out and "PLAY [Every master an apiserver" not in out, out[-3000:]


TLS_FILES = {"apiserver_tls_cert_file": "/etc/kubernetes/pki/apiserver.crt",
             "apiserver_tls_key_file": "/etc/kubernetes/pki/apiserver.key"}


def _pem_pair(tmp_path, name):
    key, crt = tmp_path / (name + ".key"), tmp_path / (name + ".crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=" + name,
                    "-keyout", str(key), "-out", str(crt)], check=True, capture_output=True)
    return crt.read_text(), key.read_text()


def test_a_serving_key_of_another_certificate_is_refused_before_any_change(tmp_path):
    """apiserver_tls_cert with the key of another certificate: preflight names the mismatch
    (never the key) before any play that changes a host."""
    cert, _key = _pem_pair(tmp_path, "apiserver")
    _cert, other_key = _pem_pair(tmp_path, "other")
    rc, out = site(tmp_path, dict(CONTROL_PLANE, apiserver_tls_cert=cert, apiserver_tls_key=other_key, **TLS_FILES), tags=CONTROL_PLANE_TAGS)
    assert rc != 0, out[-3000:]
    flat = " ".join(out.split())
    assert "apiserver on lb1: apiserver_tls_key is not the private key of apiserver_tls_cert" in flat, flat[-3000:]
    assert "PRIVATE KEY" not in out.replace("apiserver_tls_key", ""), "the key was logged"
    # The matching pair passes.
    key_dir = tmp_path / "ok"
    key_dir.mkdir()
    cert, key = _pem_pair(key_dir, "apiserver")
    rc, out = site(key_dir, dict(CONTROL_PLANE, apiserver_tls_cert=cert, apiserver_tls_key=key, **TLS_FILES), tags=CONTROL_PLANE_TAGS)
    assert rc == 0, out[-3000:]


@pytest.mark.parametrize("uses", [
    # a playbook that checks first, then applies the role with other vars
    "    - ansible.builtin.include_role: {name: kubeha.control_plane.haproxy, tasks_from: preflight}\n"
    "    - ansible.builtin.include_role: {name: kubeha.control_plane.haproxy}\n"
    "      vars: {haproxy_frontend_port: 70000}\n",
    # haproxy_preflight_done where no preflight ran on the host in this run
    "    - ansible.builtin.include_role: {name: kubeha.control_plane.haproxy}\n"
    "      vars: {haproxy_frontend_port: 70000, haproxy_preflight_done: true}\n",
    # "false" as a string (-e haproxy_preflight_done=false, an inventory "no") is false
    "    - ansible.builtin.include_role: {name: kubeha.control_plane.haproxy, tasks_from: preflight}\n"
    "    - ansible.builtin.include_role: {name: kubeha.control_plane.haproxy}\n"
    "      vars: {haproxy_frontend_port: 70000, haproxy_preflight_done: 'false'}\n",
], ids=["other-vars-after-the-preflight", "preflight-done-but-none-ran", "preflight-done-false-as-a-string"])
def test_a_use_of_a_role_that_no_preflight_checked_is_checked(tmp_path, uses):
    """site.yml's role plays skip the checks its first play made (<role>_preflight_done and a
    preflight that passed on the host in this run); any other use of a role is checked."""
    playbook = tmp_path / "uses.yml"
    playbook.write_text("- hosts: kube_lbs\n  gather_facts: false\n  tasks:\n" + uses)
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps(BASE))
    proc = subprocess.run(["ansible-playbook", "-i", str(inventory), str(playbook), "--check"],
                          capture_output=True, text=True, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "haproxy on lb1: haproxy_frontend_port is 70000" in " ".join(out.split()), out[-3000:]
    assert out.count("TASK [kubeha.control_plane.haproxy : Preflight | at least one apiserver backend]") == uses.count("include_role"), \
        out[-3000:]
