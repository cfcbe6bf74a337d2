"""Shared harness of the apiserver_count unit tests (test_apiserver_count*.py).

A fake master in a temporary directory: sysconfig files, a static pod manifest, a
process table with /proc/<pid>/cmdline files, and a systemd unit as ``systemctl show``
prints it, through a fake ``systemctl`` script in <tmp>/bin (what it prints is written
by the test, what it was called with is recorded). main() runs with module arguments,
and what exit_json/fail_json would have printed is caught.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import stat
from unittest import mock

import pytest
from ansible.module_utils import basic

from ansible_collections.kubeha.control_plane.plugins.module_utils import _apiserver_live
from ansible_collections.kubeha.control_plane.plugins.modules import apiserver_count

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core before 2.19

    @contextlib.contextmanager
    def patch_module_args(args):
        with mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()):
            yield


FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
API = "https://10.146.47.100:6443"
ENDPOINTS_URL = API + "/api/v1/namespaces/default/endpoints/kubernetes"

# What the CentOS 7 unit passes from fixtures/centos7/{config,apiserver}, in ExecStart
# order (one argument a line; test_kube_flags checks sysconfig_argv against the same file).
with open(os.path.join(FIXTURES, "centos7", "argv")) as _fh:
    CENTOS7_ARGS = _fh.read().splitlines()

# The variables of the distribution packages' kube-apiserver.service, in ExecStart order.
CENTOS7_VARS = [
    "KUBE_LOGTOSTDERR", "KUBE_LOG_LEVEL", "KUBE_ETCD_SERVERS", "KUBE_API_ADDRESS", "KUBE_API_PORT",
    "KUBELET_PORT", "KUBE_ALLOW_PRIV", "KUBE_SERVICE_ADDRESSES", "KUBE_ADMISSION_CONTROL", "KUBE_API_ARGS",
]
CENTOS7_EXEC = "/usr/bin/kube-apiserver " + " ".join("$" + v for v in CENTOS7_VARS)

# kube-apiserver.service of the CentOS 7 kubernetes-master package (kubernetes/contrib
# init/systemd/kube-apiserver.service), its files moved under the test's directory.
CENTOS7_UNIT = """[Unit]
Description=Kubernetes API Server
Documentation=https://kubernetes.io/docs/concepts/overview/components/#kube-apiserver https://kubernetes.io/docs/reference/generated/kube-apiserver/
After=network.target
After=etcd.service

[Service]
EnvironmentFile=-{sysconfig_dir}/config
EnvironmentFile=-{sysconfig_dir}/apiserver
User=kube
ExecStart=/usr/bin/kube-apiserver \\
\t    $KUBE_LOGTOSTDERR \\
\t    $KUBE_LOG_LEVEL \\
\t    $KUBE_ETCD_SERVERS \\
\t    $KUBE_API_ADDRESS \\
\t    $KUBE_API_PORT \\
\t    $KUBELET_PORT \\
\t    $KUBE_ALLOW_PRIV \\
\t    $KUBE_SERVICE_ADDRESSES \\
\t    $KUBE_ADMISSION_CONTROL \\
\t    $KUBE_API_ARGS
Restart=on-failure
Type=notify
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
"""


def cmdline(*argv):
    """/proc/<pid>/cmdline content: every argument NUL-terminated."""
    return b"".join(a.encode() + b"\x00" for a in argv)


# /proc/1234/cmdline of the CentOS 7 kube-apiserver started by systemd.
CENTOS7_CMDLINE = cmdline("/usr/bin/kube-apiserver", *CENTOS7_ARGS)
# The same flags, but started before --apiserver-count=3 was written (still 1), another token file.
CENTOS7_STALE_CMDLINE = (
    b"/usr/bin/kube-apiserver\x00--logtostderr=true\x00--v=0\x00"
    b"--etcd-servers=https://10.146.47.100:2379,https://10.146.47.110:2379,https://10.146.47.120:2379\x00"
    b"--insecure-bind-address=127.0.0.1\x00--bind-address=0.0.0.0\x00--advertise-address=10.146.47.100\x00"
    b"--allow-privileged=false\x00--service-cluster-ip-range=10.254.0.0/16\x00"
    b"--admission-control=NamespaceLifecycle,NamespaceExists,LimitRanger,SecurityContextDeny,ServiceAccount,ResourceQuota\x00"
    b"--apiserver-count=1\x00--service-account-key-file=/etc/kubernetes/serviceaccount.key\x00"
    b"--tls-cert-file=/etc/kubernetes/certs/apiserver.crt\x00--tls-private-key-file=/etc/kubernetes/certs/apiserver.key\x00"
    b"--token-auth-file=/etc/kubernetes/old_tokens.csv\x00--client-ca-file=/etc/kubernetes/certs/ca.crt\x00"
)
# A program with a shebang run through its interpreter (as a Python stand-in at /usr/bin/kube-apiserver is).
PYTHON_CMDLINE = b"/usr/bin/python3\x00/usr/bin/kube-apiserver\x00" + CENTOS7_CMDLINE.split(b"\x00", 1)[1]
KUBEADM_CMDLINE = (
    b"kube-apiserver\x00--advertise-address=10.146.47.100\x00--allow-privileged=true\x00--authorization-mode=Node,RBAC\x00"
    b"--client-ca-file=/etc/kubernetes/pki/ca.crt\x00--enable-admission-plugins=NodeRestriction\x00"
    b"--enable-bootstrap-token-auth=true\x00--etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt\x00"
    b"--etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt\x00"
    b"--etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key\x00"
    b"--etcd-servers=https://10.146.47.100:2379,https://10.146.47.110:2379,https://10.146.47.120:2379\x00"
    b"--kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt\x00"
    b"--kubelet-client-key=/etc/kubernetes/pki/apiserver-kubelet-client.key\x00"
    b"--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname\x00"
    b"--proxy-client-cert-file=/etc/kubernetes/pki/front-proxy-client.crt\x00"
    b"--proxy-client-key-file=/etc/kubernetes/pki/front-proxy-client.key\x00"
    b"--requestheader-allowed-names=front-proxy-client\x00"
    b"--requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt\x00"
    b"--requestheader-extra-headers-prefix=X-Remote-Extra-\x00--requestheader-group-headers=X-Remote-Group\x00"
    b"--requestheader-username-headers=X-Remote-User\x00--secure-port=6443\x00"
    b"--service-account-issuer=https://kubernetes.default.svc.cluster.local\x00"
    b"--service-account-key-file=/etc/kubernetes/pki/sa.pub\x00"
    b"--service-account-signing-key-file=/etc/kubernetes/pki/sa.key\x00--service-cluster-ip-range=10.96.0.0/12\x00"
    b"--tls-cert-file=/etc/kubernetes/pki/apiserver.crt\x00--tls-private-key-file=/etc/kubernetes/pki/apiserver.key\x00"
)
GARBAGE_CMDLINE = b"\xff\xfe\x00\x9c\x00kube-\xe9apiserver\x00"

# A stand-in for systemctl: prints <dir>/out to stdout (and <dir>/err to stderr), exits
# with <dir>/rc, and records its arguments and locale in <dir>/args and <dir>/locale.
FAKE_SYSTEMCTL = """#!/bin/sh
d='{dir}'
printf '%s\\n' "$*" > "$d/args"
printf '%s %s\\n' "${{LANG-}}" "${{LC_ALL-}}" > "$d/locale"
cat "$d/out"
if [ -f "$d/err" ]; then cat "$d/err" >&2; fi
exit "$(cat "$d/rc")"
"""


def exec_property(argv_text, path=None, pid=0):
    """One ExecStart= line as systemctl-show.c prints it (argv[] joined with spaces, unquoted)."""
    path = path or argv_text.split(" ", 1)[0]
    started = "[Mon 2024-05-06 10:00:01 UTC]" if pid else "[n/a]"
    return ("{ path=%s ; argv[]=%s ; ignore_errors=no ; start_time=%s ; stop_time=[n/a] ; pid=%d ; "
            "code=(null) ; status=0/0 }" % (path, argv_text, started, pid))


class AnsibleExitJson(Exception):
    pass


class AnsibleFailJson(Exception):
    pass


def _exit_json(self, **kwargs):
    raise AnsibleExitJson(kwargs)


def _fail_json(self, msg, **kwargs):
    kwargs["msg"] = msg
    raise AnsibleFailJson(kwargs)


class FakeMaster:
    """A master's files under a temporary directory."""

    def __init__(self, root):
        self.root = root
        self.sysconfig_dir = root / "etc" / "kubernetes"
        self.manifest = self.sysconfig_dir / "manifests" / "kube-apiserver.yaml"
        self.proc = root / "proc"
        self.bin = root / "bin"
        self.systemctl_dir = root / "systemctl"
        self.unit_path = root / "usr" / "lib" / "systemd" / "system" / "kube-apiserver.service"
        self.drop_in_dir = root / "etc" / "systemd" / "system" / "kube-apiserver.service.d"
        self.manifest.parent.mkdir(parents=True)
        self.proc.mkdir()
        # What every /proc has besides the apiserver: non-pid entries, init, a kernel thread.
        (self.proc / "self").mkdir()
        (self.proc / "sys").mkdir()
        (self.proc / "version").write_text("Linux version 6.1.0\n")
        self.process(1, cmdline("/usr/lib/systemd/systemd", "--switched-root", "--system", "--deserialize", "31"))
        self.process(2, b"")
        self.process(77, cmdline("grep", "kube-apiserver"))
        self.process(78, cmdline("/usr/bin/kube-controller-manager", "--master=http://127.0.0.1:8080"))

    def process(self, pid, raw):
        (self.proc / str(pid)).mkdir()
        (self.proc / str(pid) / "cmdline").write_bytes(raw)

    def sysconfig(self, config="centos7/config", apiserver="centos7/apiserver", unit=True):
        """The sysconfig files; with ``unit``, also the CentOS 7 unit as systemd loaded it."""
        if config:
            shutil.copy(os.path.join(FIXTURES, config), self.sysconfig_dir / "config")
        if apiserver:
            shutil.copy(os.path.join(FIXTURES, apiserver), self.sysconfig_dir / "apiserver")
        if unit:
            self.unit()

    def unit(self, exec_start=CENTOS7_EXEC, env_files=None, environment="", user="kube", group="",
             fragment=None, drop_ins=(), load_state="loaded", unit_id="kube-apiserver.service",
             need_daemon_reload="no", pid=0, extra=""):
        """Write the unit file and drop-ins, and what ``systemctl show`` prints for them.

        ``exec_start``: the argv[] of ExecStart= as systemctl prints it (or a list of
        them, or None for no command). ``env_files``: (path, ignore_errors) pairs,
        by default the CentOS unit's two files with '-'. The show output is written
        by the test, not derived from the files: it is what systemd would print.
        """
        if fragment is None:
            fragment = CENTOS7_UNIT.format(sysconfig_dir=self.sysconfig_dir)
        if fragment is not False:
            self.unit_path.parent.mkdir(parents=True, exist_ok=True)
            self.unit_path.write_text(fragment)
        paths = []
        for name, text in drop_ins:
            self.drop_in_dir.mkdir(parents=True, exist_ok=True)
            (self.drop_in_dir / name).write_text(text)
            paths.append(str(self.drop_in_dir / name))
        if env_files is None:
            env_files = [(self.sysconfig_dir / "config", True), (self.sysconfig_dir / "apiserver", True)]
        if isinstance(exec_start, str):
            exec_start = [exec_start]
        lines = ["ExecStart=" + exec_property(e, pid=pid) for e in exec_start or []]
        lines += ["Environment=" + environment, "User=" + user, "Group=" + group]
        lines += ["EnvironmentFiles=%s (ignore_errors=%s)" % (p, "yes" if i else "no") for p, i in env_files]
        lines += ["Id=" + unit_id, "LoadState=" + load_state,
                  "FragmentPath=" + (str(self.unit_path) if fragment is not False else ""),
                  "DropInPaths=" + " ".join(paths), "NeedDaemonReload=" + need_daemon_reload]
        self.systemctl(out="\n".join(lines) + "\n" + extra)

    def systemctl(self, out="", err=None, rc=0):
        """Install the fake systemctl with what it prints."""
        self.bin.mkdir(exist_ok=True)
        self.systemctl_dir.mkdir(exist_ok=True)
        script = self.bin / "systemctl"
        script.write_text(FAKE_SYSTEMCTL.format(dir=self.systemctl_dir))
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        (self.systemctl_dir / "out").write_text(out)
        (self.systemctl_dir / "rc").write_text("%d\n" % rc)
        if err is not None:
            (self.systemctl_dir / "err").write_text(err)

    def systemctl_calls(self):
        """The arguments and the locale the fake systemctl was last called with."""
        args = (self.systemctl_dir / "args").read_text().split()
        locale = (self.systemctl_dir / "locale").read_text().split()
        return args, locale

    def no_systemctl(self):
        if (self.bin / "systemctl").exists():
            (self.bin / "systemctl").unlink()

    def args(self, **kwargs):
        args = dict(sysconfig_dir=str(self.sysconfig_dir), manifest=str(self.manifest), proc_root=str(self.proc))
        args.update(kwargs)
        return args

    def static_pod(self, name="kubeadm-v1.30-kube-apiserver.yaml"):
        shutil.copy(os.path.join(FIXTURES, name), self.manifest)


_REAL_RUN_COMMAND = basic.AnsibleModule.run_command


@contextlib.contextmanager
def _patched(args, bin_path=None, version_run=None, urlopen=None):
    """Run the module with ``args``: kube-apiserver is ``bin_path`` (its --version prints
    ``version_run``); systemctl is the master's fake script when there is one (found
    beside ``proc_root``), run for real."""
    systemctl = os.path.join(os.path.dirname(args["proc_root"]), "bin", "systemctl")
    bins = {"systemctl": systemctl if os.path.exists(systemctl) else None}

    def run_command(module, argv, *rest, **kwargs):
        if os.path.basename(argv[0]) == "systemctl":
            return _REAL_RUN_COMMAND(module, argv, *rest, **kwargs)
        return version_run or (0, "", "")

    with contextlib.ExitStack() as stack:
        stack.enter_context(patch_module_args(args))
        stack.enter_context(mock.patch.multiple(basic.AnsibleModule, exit_json=_exit_json, fail_json=_fail_json))
        stack.enter_context(mock.patch.object(
            basic.AnsibleModule, "get_bin_path", side_effect=lambda name, *a, **kw: bins.get(name, bin_path)))
        runner = stack.enter_context(
            mock.patch.object(basic.AnsibleModule, "run_command", autospec=True, side_effect=run_command))
        opener = stack.enter_context(
            # The endpoints are read in module_utils/_apiserver_live, which looks open_url up there.
            mock.patch.object(_apiserver_live, "open_url", side_effect=urlopen or AssertionError("unexpected request"))
        )
        yield runner, opener


def run_ok(args, **kwargs):
    with _patched(args, **kwargs):
        with pytest.raises(AnsibleExitJson) as result:
            apiserver_count.main()
    return result.value.args[0]


def run_fail(args, **kwargs):
    with _patched(args, **kwargs):
        with pytest.raises(AnsibleFailJson) as result:
            apiserver_count.main()
    return result.value.args[0]


def respond(name):
    """An open_url stand-in that returns a fixture's bytes."""

    def _open_url(url, **kwargs):
        with open(os.path.join(FIXTURES, name), "rb") as fh:
            return io.BytesIO(fh.read())

    return _open_url
