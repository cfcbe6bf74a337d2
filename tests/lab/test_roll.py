"""A rolling change on real membership: a master stops answering (its SSH cut) in the
middle of its turn, then the next run finds what the interrupted one left.

The interrupted run fails that master, not another; every load balancer that answers takes
it back; the masters after it are untouched. The next run puts back what the interrupted
one left drained (its mark on the unreachable load balancer), leaves a backend server that
is no inventory master alone (and says so), waits for the drained apiservers' connections
to end, and finishes the change - a flag, kept in kubeadm-config too, and the
service-account key copied to a new path from the key the running apiservers use (not
generated anew). On 0.4.0 the failure was charged to the first master, the drained master
stayed out of every load balancer and the next run stopped at it."""

from __future__ import annotations

import functools
import json
import os
import re
import socket
import ssl
import subprocess
import threading
import time

import pytest

from .lablib import INVENTORY, ROOT, SITE, recap

from kubeha_testlib import API_CURL, LAB_STATE, LBS, MASTERS, PORT, RUNNER, VIP, haproxy_servers, wait_for  # noqa: E402

pytestmark = [pytest.mark.lab, pytest.mark.usefixtures("lab_ready")]

VICTIM = MASTERS[1]
CONTAINER = {name: RUNNER.get_variables(name).get("kubeha_lab_container", name) for name in MASTERS}
MARK = "/run/kubeha-apiserver/drained/kube-apiserver/%s"


def pexec(name, *argv):
    return subprocess.run(["podman", "exec", CONTAINER[name], *argv], capture_output=True, text=True, check=False)


def manifest_flags(name):
    out = pexec(name, "python3", "-c", "import yaml; print('\\n'.join(yaml.safe_load(open("
                "'/etc/kubernetes/manifests/kube-apiserver.yaml'))['spec']['containers'][0]['command']))").stdout
    return dict(a[2:].split("=", 1) for a in out.split() if a.startswith("--"))


@functools.lru_cache(maxsize=None)
def run_values():
    """Values no master runs yet, so that every run of this module changes every master, on
    a fresh lab or on one an earlier run left changed: an --event-ttl of its own and
    service-account key paths of their own. (ttl, key paths, the change as extra vars)"""
    run = int(time.time())
    running = {manifest_flags(n).get("event-ttl") for n in MASTERS}
    ttl = next("%dm0s" % m for m in range(61 + run % 500, 1000) if "%dm0s" % m not in running)
    keys = ["/etc/kubernetes/pki/sa-kubeha-%d.key" % run, "/etc/kubernetes/pki/sa-kubeha-%d.pub" % run]
    return ttl, keys, {"apiserver_extra_args": {"profiling": "false", "event-ttl": ttl}, "apiserver_service_account_key_files": keys,
                       "apiserver_drain_timeout": 3}


def cut_ssh(name):
    """The host stops answering SSH (new connections reset, open sessions killed), as an
    unreachable host does for Ansible; everything else on it keeps running."""
    script = ("nft add table inet kubeha_cut && nft add chain inet kubeha_cut in '{ type filter hook input priority -300; }' "
              "&& nft add rule inet kubeha_cut in tcp dport 22 reject with tcp reset && (pkill -f '^sshd: root' || true)")
    # (anchored: this very shell's command line contains the pattern too)
    done = pexec(name, "sh", "-c", script)
    assert done.returncode == 0, done.stderr


def restore_ssh(name):
    pexec(name, "nft", "delete", "table", "inet", "kubeha_cut")


def save_output(name, out):
    """The whole run's output, for when an assertion's tail is not enough (tests/output/)."""
    out_dir = os.path.join(ROOT, "tests", "output")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, name + ".log"), "w") as fh:
        fh.write(out)


def site(*extra):
    return subprocess.Popen(["ansible-playbook", "-i", INVENTORY, SITE, *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_check_mode_reports_a_new_certificate_as_the_restart_it_causes(tmp_path):
    """A serving certificate given as a variable: --check names every master whose files
    differ as to be restarted, stages nothing, and prints no key."""
    first = MASTERS[0]
    cert = pexec(first, "cat", "/etc/kubernetes/pki/apiserver.crt").stdout
    key = pexec(first, "cat", "/etc/kubernetes/pki/apiserver.key").stdout
    extra = tmp_path / "tls.json"
    extra.write_text(json.dumps({"apiserver_tls_cert": cert, "apiserver_tls_key": key}))
    proc = subprocess.run(["ansible-playbook", "-i", INVENTORY, SITE, "--check", "--tags", "apiserver_config", "-e", "@%s" % extra],
                          capture_output=True, text=True, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert re.search(r'"msg": "%s: no restart needed"' % first, out), out[-3000:]
    for other in MASTERS[1:]:
        assert re.search(r'"msg": "%s: serving certificate changed"' % other, out), out[-3000:]
        assert pexec(other, "sh", "-c", "ls /etc/kubernetes/pki/*.kubeha-new 2>/dev/null").stdout == ""
    body = key.strip().splitlines()[1]
    assert body not in out, "the key was printed"


def test_a_missing_credential_fails_the_readiness_wait_at_once():
    """Without credentials a cluster that refuses anonymous requests answers 401 to every
    /readyz: the roll says so at once (not after apiserver_ready_timeout), restores the
    master and stops."""
    start = time.monotonic()
    proc = site("-e", json.dumps({"apiserver_api_kubeconfig": "", "apiserver_api_ca_file": "/etc/kubernetes/pki/ca.crt",
                                  "apiserver_extra_args": {"event-ttl": run_values()[0]}}), "--tags", "apiserver_config")
    out, dummy = proc.communicate(timeout=900)
    elapsed = time.monotonic() - start
    assert proc.returncode != 0, out[-3000:]
    flat = " ".join(out.split())
    assert re.search(r"the roll stopped at %s \(.*answered HTTP 401.*the API refused the credentials or found none" % MASTERS[0], flat), out[-4000:]
    assert re.search(r"Its previous configuration and files were restored and it answers, but its readiness cannot be read "
                     r"without credentials", flat), out[-4000:]
    assert manifest_flags(MASTERS[0]).get("event-ttl") != run_values()[0]
    assert elapsed < 240, "the 401 was waited out: %.0f s" % elapsed
    assert wait_for(lambda: haproxy_servers(LBS[0]), {m: "UP" for m in MASTERS}, 60) == {m: "UP" for m in MASTERS}


def own_state():
    """VICTIM's status in its own HAProxy (read through podman: its SSH is what gets cut)."""
    stat = pexec(VICTIM, "sh", "-c", "echo 'show stat' | nc -U /var/lib/haproxy/admin.sock").stdout
    rows = [r.split(",") for r in stat.splitlines() if r.startswith("kube-apiserver,%s," % VICTIM)]
    return rows[0][17] if rows else ""


@pytest.fixture(scope="module")
def interrupted():
    """site.yml with the change, VICTIM's SSH cut as soon as its turn wrote its new manifest:
    the turn then waits for the new apiserver on VICTIM (its own step, unreachable), after it
    drained VICTIM on every load balancer, VICTIM's own included (which only the next run can
    undo). The cut follows what the turn has done (the watcher polls the manifest), so it
    lands in VICTIM's own steps as long as the new apiserver takes longer to start than one
    poll. Cut at the drain, as before, the failing step depended on timing: usually the drain
    wait on VICTIM's own load balancer (a delegated step); a cut inside VICTIM's own steps
    ended the rescue before the roll was stopped (VICTIM, a load balancer too, was still asked
    to take itself back)."""
    proc = site("-e", json.dumps(run_values()[2]))
    cut = threading.Event()

    def watch():
        deadline = time.monotonic() + 900
        while proc.poll() is None and time.monotonic() < deadline:
            if manifest_flags(VICTIM).get("event-ttl") == run_values()[0]:
                cut_ssh(VICTIM)
                cut.set()
                return
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        out, dummy = proc.communicate(timeout=1200)
        watcher.join(5)
    finally:
        # Before the next run (a module fixture's teardown would come after it).
        restore_ssh(VICTIM)
    save_output("roll-interrupted", out)
    return proc.returncode, out, cut.is_set()


def test_an_unreachable_master_fails_itself_and_is_put_back(interrupted):
    rc, out, cut = interrupted
    assert cut, "the victim's turn never began:\n" + out[-3000:]
    assert rc != 0, out[-3000:]
    rows = recap(out)
    assert rows[VICTIM]["failed"] == 1, rows
    for other in (MASTERS[0], MASTERS[2]):
        assert rows[other]["failed"] == 0 and rows[other]["unreachable"] == 0, (other, rows, out[-3000:])
    flat = " ".join(out.split())
    assert re.search(r"the roll stopped at %s \(.*\)\. %s stopped answering during its turn" % (VICTIM, VICTIM), flat), out[-4000:]
    assert "Masters not yet rolled were not touched: %s" % MASTERS[2] in flat, out[-4000:]
    # Every load balancer that answers took it back (HAProxy's checks decide UP from there).
    for lb in LBS:
        if lb != VICTIM:
            assert haproxy_servers(lb)[VICTIM] not in ("DRAIN", "MAINT"), haproxy_servers(lb)
            assert pexec(lb, "test", "-e", MARK % VICTIM).returncode != 0, "mark left on %s" % lb
    # The first master was rolled, the last was not touched.
    assert manifest_flags(MASTERS[0]).get("event-ttl") == run_values()[0]
    assert manifest_flags(MASTERS[2]).get("event-ttl") != run_values()[0]
    # The unreachable load balancer (the victim itself) keeps it drained, with the mark.
    assert pexec(VICTIM, "test", "-e", MARK % VICTIM).returncode == 0
    assert own_state() == "DRAIN"


class IdleClients:
    """TLS connections through the VIP that stay open (as watches do) while the roll runs."""

    def __init__(self, count):
        ctx = ssl.create_default_context(cafile=os.path.join(LAB_STATE, "ca.crt"))
        ctx.load_cert_chain(os.path.join(LAB_STATE, "admin.pem"))
        self.socks = []
        for dummy in range(count):
            raw = socket.create_connection((VIP, int(PORT)), timeout=5)
            self.socks.append(ctx.wrap_socket(raw, server_hostname=VIP))

    def close(self):
        for sock in self.socks:
            try:
                sock.close()
            except OSError:
                pass


@pytest.fixture(scope="module")
def recovered(interrupted):
    """The next run: the interrupted one's leftovers, a stranger in a backend, idle connections."""
    lb = MASTERS[0]
    socket_path = "/var/lib/haproxy/admin.sock"
    # A server no inventory master is (a master removed from the inventory, still in HAProxy's configuration).
    pexec(lb, "sh", "-c", "echo 'add server kube-apiserver/old-master 10.213.50.99:6443 check' | nc -U %s; "
          "echo 'enable health kube-apiserver/old-master' | nc -U %s; echo 'enable server kube-apiserver/old-master' | nc -U %s"
          % (socket_path, socket_path, socket_path))
    assert wait_for(lambda: haproxy_servers(lb).get("old-master", ""), lambda s: s.startswith("DOWN"), 20).startswith("DOWN")
    clients = IdleClients(6)
    try:
        proc = site("-e", json.dumps(run_values()[2]))
        out, dummy = proc.communicate(timeout=1200)
    finally:
        clients.close()
        pexec(lb, "systemctl", "reload", "haproxy")  # back to the configuration: the stranger is gone
    save_output("roll-recovered", out)
    return proc.returncode, out


def test_the_next_run_finishes_what_the_interrupted_one_left(recovered):
    rc, out = recovered
    assert rc == 0, out[-5000:]
    flat = " ".join(out.split())
    assert re.search(r"load balancer %s: .*left drained by an interrupted run \(put back now\): %s" % (VICTIM, VICTIM), flat), out[-5000:]
    assert re.search(r"load balancer %s: in its backend but not in the inventory \(not judged; the haproxy role removes them\): "
                     r"old-master" % MASTERS[0], flat), out[-5000:]
    # Drain means waiting for the connections to end (bounded), and saying when they did not.
    assert re.search(r"still had [1-9]\d* connection\(s\) through \S+ after 3 s", flat), out[-5000:]
    assert not re.search(r"still had 0 connection", flat), out[-5000:]
    for name in MASTERS:
        assert manifest_flags(name).get("event-ttl") == run_values()[0], name
        for lb in LBS:
            assert pexec(lb, "test", "-e", MARK % name).returncode != 0, (lb, name)
    assert wait_for(lambda: haproxy_servers(VICTIM), {m: "UP" for m in MASTERS}, 30) == {m: "UP" for m in MASTERS}
    # kubeadm-config carries the flag, so kubeadm upgrade keeps it.
    cfg = pexec(MASTERS[0], "sh", "-c", "%s https://%s:6443/api/v1/namespaces/kube-system/configmaps/kubeadm-config"
                % (API_CURL, RUNNER.get_variables(MASTERS[0])["kubeha_address"])).stdout
    assert "event-ttl: %s" % run_values()[0] in json.loads(cfg)["data"]["ClusterConfiguration"]


def test_the_service_account_key_was_copied_from_the_running_one_not_generated(recovered):
    """No master had the new key path: the key the running apiservers sign with (read from
    their flags) was copied there, readable by root only (static pods run as root)."""
    running = pexec(MASTERS[0], "sha256sum", "/etc/kubernetes/pki/sa.key").stdout.split()[0]
    for name in MASTERS:
        key = pexec(name, "sha256sum", run_values()[1][0]).stdout.split()
        assert key and key[0] == running, name
        mode = pexec(name, "stat", "-c", "%U:%G %a", run_values()[1][0]).stdout.strip()
        assert mode == "root:root 600", (name, mode)
        leftovers = pexec(name, "sh", "-c", "ls /etc/kubernetes/pki/*.kubeha-new /etc/kubernetes/pki/*.kubeha-old 2>/dev/null").stdout
        assert leftovers == "", (name, leftovers)
