# KUBEHA LAB STAND-IN -- NOT KUBERNETES. See lab/standins/kubeha_standin/__init__.py.
"""kubelet (static pods run as host processes) and kube-proxy: the node agents."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time

from .core import STATE_DIR, FlagError, log
from .kubeconfig import load_document, yaml

POD_STATE_DIR = os.path.join(STATE_DIR, "pods")
JOURNAL_STREAM = "/run/systemd/journal/stdout"
SYNC_INTERVAL = 1.0
BACKOFF_INITIAL, BACKOFF_MAX = 1.0, 10.0  # like CrashLoopBackOff (the real one: 10 s doubling to 5 min)
BACKOFF_RESET = 60.0  # a container that ran this long starts again at the initial backoff
DEFAULT_GRACE = 30
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")


def static_pod_path(opts, version):
    """--pod-manifest-path, else staticPodPath of the --config KubeletConfiguration
    (before 1.10 --config was itself the manifest path)."""
    if opts.get("pod-manifest-path"):
        return opts["pod-manifest-path"]
    if not opts.get("config"):
        return ""
    if version < (1, 10, 0):
        return opts["config"]
    try:
        config = load_document(opts["config"]) or {}
        return config.get("staticPodPath", "") if isinstance(config, dict) else ""
    except (OSError, ValueError) as err:
        raise FlagError("failed to load kubelet config file %s: %s" % (opts["config"], err)) from None


def parse_pod(data, node_name=""):
    """(name, grace seconds, [(container, argv, env)]) of a static pod manifest (text);
    ValueError when it is not a usable Pod."""
    try:
        pod = yaml.safe_load(data) if yaml else json.loads(data)
    except Exception as err:  # noqa: BLE001  any YAML error means "not a pod"
        raise ValueError("cannot decode: %s" % str(err).replace("\n", " ")) from None
    return pod_spec(pod, node_name)


_VAR_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def _expand(text, env):
    """$(VAR) references of a container's command and args, as the kubelet expands them."""
    return _VAR_REF.sub(lambda m: env.get(m.group(1), m.group(0)), text)


def image_version(image):
    """The tag of an image reference when it is a Kubernetes version (registry.k8s.io/kube-apiserver:v1.30.0)."""
    tag = (image or "").split("@")[0].rsplit("/", 1)[-1].rpartition(":")[2]
    return tag if re.fullmatch(r"v?\d+\.\d+(\.\d+)?([-+].*)?", tag) else ""


def pod_spec(pod, node_name=""):
    """(name, grace seconds, [(container, argv, env)]) of a Pod object (a dict). The
    stand-in runs no images: a container's command and args run on the host; its
    image's tag (a Kubernetes version) reaches the stand-in programs as
    KUBEHA_STANDIN_VERSION, so a manifest that names a new image runs that version."""
    if not isinstance(pod, dict) or pod.get("kind") != "Pod":
        raise ValueError("not a Pod object (kind %r)" % (pod.get("kind") if isinstance(pod, dict) else None))
    name = (pod.get("metadata") or {}).get("name")
    if not isinstance(name, str) or not _DNS_LABEL.fullmatch(name):
        raise ValueError("invalid metadata.name %r" % (name,))
    spec = pod.get("spec") or {}
    grace = spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE)
    if not isinstance(grace, int) or grace < 0:
        raise ValueError("invalid terminationGracePeriodSeconds %r" % (grace,))
    containers = []
    for ctr in spec.get("containers") or []:
        cname = ctr.get("name") if isinstance(ctr, dict) else None
        if not isinstance(cname, str) or not _DNS_LABEL.fullmatch(cname) or cname in [c[0] for c in containers]:
            raise ValueError("invalid or duplicate container name %r" % (cname,))
        argv = list(ctr.get("command") or []) + list(ctr.get("args") or [])
        if not ctr.get("command") or not all(isinstance(a, str) for a in argv):
            raise ValueError("container %s: command must be a list of strings (the stand-in runs no images)" % cname)
        env = {}
        for item in ctr.get("env") or []:
            if not isinstance(item, dict) or "name" not in item:
                continue
            field = ((item.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
            env[str(item["name"])] = node_name if field == "spec.nodeName" else str(item.get("value", ""))
        version = image_version(ctr.get("image"))
        if version:
            env["KUBEHA_STANDIN_VERSION"] = version
        containers.append((cname, [_expand(a, env) for a in argv], env))
    if not containers:
        raise ValueError("spec.containers is empty")
    return name, grace, containers


def process_state(pid):
    """The state letter of ``pid`` (R, S, Z, ...), or "" when there is no such process."""
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return ""


def process_argv(pid):
    """argv of ``pid``; [] when it is gone or a zombie."""
    for _attempt in range(50):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as fh:
                raw = fh.read()
        except OSError:
            return []
        if raw or process_state(pid) in ("", "Z"):
            break
        time.sleep(0.01)  # right after an exec the command line reads empty for an instant
    return [part.decode(errors="replace") for part in raw.split(b"\0")[:-1]]


def argv_matches(pid, argv):
    """Is process ``pid`` (still) running ``argv``? The command may have gone
    through an interpreter (/usr/bin/python3 /usr/bin/kube-apiserver ...)."""
    cmd = process_argv(pid)
    args, program = argv[1:], os.path.basename(argv[0])
    if len(cmd) <= len(args) or (args and cmd[-len(args):] != args):
        return False
    return program in [os.path.basename(c) for c in cmd[:len(cmd) - len(args)][:2]]


class Container:
    def __init__(self, pod, name, argv, env):
        self.pod, self.name, self.argv, self.env = pod, name, argv, env
        self.proc = None  # a Popen for the processes this kubelet started
        self.pid = None
        self.started = 0.0
        self.starts = 0
        self.backoff = 0.0
        self.next_start = 0.0
        self.last_exit = None
        self.reason = "ContainerCreating"

    def running(self):
        if self.pid is None:
            return False
        if self.proc is not None:
            return self.proc.poll() is None
        try:  # adopted: reap it if it happens to be our child, then look at /proc
            os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            pass
        return argv_matches(self.pid, self.argv)

    def status(self):
        return {"state": "running" if self.pid else "waiting", "pid": self.pid, "argv": self.argv,
                "restarts": max(0, self.starts - 1), "reason": None if self.pid else self.reason,
                "last_exit_code": self.last_exit}


def _pruned(value):
    """``value`` without null and empty members (a decoded Pod leaves them out)."""
    if isinstance(value, dict):
        value = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in value.items() if v not in (None, {}, [], "")}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def manifest_hash(data):
    """The hash of a static pod, from its decoded manifest, as the kubelet hashes the decoded
    Pod (pkg/kubelet/config/common.go: DeepHashObject; the mirror pod's
    kubernetes.io/config.hash annotation): a manifest written anew in another layout, key
    order or format, or with an empty status or a null creationTimestamp, leaves the pod
    running; a changed item (a flag, or the order of the command's items) replaces it.
    Not modelled: the kubelet also applies the API's defaults before hashing (a default
    value written out counts here) and mixes in the node name and file path.
    `kubeadm upgrade` waits for this hash to change; the lab has no mirror pods, so it
    reads the pod's record (pod_record)."""
    try:
        doc = yaml.safe_load(data) if yaml else json.loads(data)
        data = json.dumps(_pruned(doc), sort_keys=True, separators=(",", ":"), default=str).encode()
    except Exception:  # noqa: BLE001  not decodable: parse_pod refuses it anyway
        pass
    return hashlib.sha256(data).hexdigest()[:16]


def pod_record(pod, container, state_dir=None):
    """The record of a running container ({"pid", "hash", "argv", ...}), or None."""
    try:
        with open(os.path.join(state_dir or POD_STATE_DIR, pod, container + ".json")) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


class PodSupervisor:
    """What the kubelet does with static pods, on the host: every manifest in
    ``manifest_path`` is a pod whose containers' command + args run as child
    processes (own session, so they outlive a kubelet restart), restarted with
    a backoff when they exit, replaced when the manifest changes, stopped when
    it goes away or no longer parses. Each container is recorded in
    ``state_dir/<pod>/<container>.json`` so a restarted kubelet adopts it."""

    def __init__(self, manifest_path, state_dir=POD_STATE_DIR, journal=JOURNAL_STREAM):
        self.manifest_path = manifest_path
        self.state_dir = state_dir
        self.journal = journal
        self.pods = {}  # name -> {"file", "hash", "grace", "containers": {name: Container}}
        self._reported = set()
        self._adopted = False
        # Pods that come from the API (a DaemonSet's), set by the node agent:
        # name -> {"file": where from, "hash", "grace", "containers"}.
        self.api_pods = {}

    def _report(self, key, message):
        if key not in self._reported:
            self._reported.add(key)
            log(message)

    # -- manifests
    def manifest_files(self):
        path = self.manifest_path
        if path and os.path.isdir(path):
            return [os.path.join(path, f) for f in sorted(os.listdir(path))
                    if not f.startswith(".") and not f.endswith("~") and f.endswith(MANIFEST_SUFFIXES)]
        return [path] if path and os.path.isfile(path) else []

    def desired_pods(self):
        desired = {}
        for path in self.manifest_files():
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError:
                continue  # removed while listing
            digest = manifest_hash(data)
            try:
                name, grace, containers = parse_pod(data)
            except ValueError as err:
                self._report((path, digest), "kubelet: skipping static pod manifest %s: %s" % (path, err))
                continue
            if name in desired:
                self._report((path, digest), "kubelet: %s: pod %s is already defined in %s, skipped"
                             % (path, name, desired[name]["file"]))
                continue
            desired[name] = {"file": path, "hash": digest, "grace": grace, "containers": containers}
        for name, pod in dict(self.api_pods).items():
            desired.setdefault(name, pod)
        return desired

    # -- processes
    def _record_path(self, pod, container):
        return os.path.join(self.state_dir, pod, container + ".json")

    def _output(self, ctr):
        """A journal stream named <pod>/<container> (what journalctl shows as the
        line prefix; it outlives the kubelet, like a container's log), else a file."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.journal)
            sock.shutdown(socket.SHUT_RD)
            sock.sendall(("%s/%s\n\n6\n0\n0\n0\n0\n" % (ctr.pod, ctr.name)).encode())
            return sock.detach()
        except OSError:
            sock.close()
            return os.open(os.path.join(self.state_dir, ctr.pod, ctr.name + ".log"),
                           os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    @staticmethod
    def _scoped(ctr):
        """Under systemd, each container runs in a scope of its own (systemd-run execs the
        command: the pid stays), as containerd's are: the kubelet unit keeps KillMode=process
        (containers outlive a kubelet restart), and a shutdown of the host stops the
        containers with SIGTERM like any unit instead of leaving them to the last stage."""
        if not (os.path.isdir("/run/systemd/system") and shutil.which("systemd-run")):
            return []
        return ["systemd-run", "--scope", "--quiet", "--collect",
                "--description=static pod %s container %s (kubeha lab stand-in)" % (ctr.pod, ctr.name)]

    def _start(self, ctr, pod):
        os.makedirs(os.path.join(self.state_dir, ctr.pod), exist_ok=True)
        env = dict(os.environ, **ctr.env)
        env.pop("NOTIFY_SOCKET", None)  # the kubelet unit's notifications are the kubelet's
        out = self._output(ctr)
        ctr.starts += 1
        ctr.started = time.monotonic()
        try:
            ctr.proc = subprocess.Popen(self._scoped(ctr) + ctr.argv, stdin=subprocess.DEVNULL, stdout=out,
                                        stderr=out, env=env, cwd="/", start_new_session=True, close_fds=True)
        except OSError as err:
            log("kubelet: pod %s: container %s failed to start: %s" % (ctr.pod, ctr.name, err))
            self._exited(ctr, 128, "StartError")
            return
        finally:
            os.close(out)
        ctr.pid = ctr.proc.pid
        log("kubelet: pod %s: started container %s (pid %d)" % (ctr.pod, ctr.name, ctr.pid))
        record = {"pod": ctr.pod, "container": ctr.name, "pid": ctr.pid, "hash": pod["hash"],
                  "argv": ctr.argv, "started": time.time()}
        tmp = self._record_path(ctr.pod, "." + ctr.name)
        with open(tmp, "w") as fh:
            json.dump(record, fh)
        os.replace(tmp, self._record_path(ctr.pod, ctr.name))

    def _exited(self, ctr, code, reason="CrashLoopBackOff"):
        now = time.monotonic()
        if now - ctr.started >= BACKOFF_RESET:
            ctr.backoff = 0.0
        ctr.backoff = min(ctr.backoff * 2, BACKOFF_MAX) if ctr.backoff else BACKOFF_INITIAL
        ctr.next_start = now + ctr.backoff
        ctr.proc, ctr.pid, ctr.last_exit, ctr.reason = None, None, code, reason
        if reason == "CrashLoopBackOff":
            log("kubelet: pod %s: container %s exited with code %s, restarting in %.0fs"
                % (ctr.pod, ctr.name, code, ctr.backoff))

    @staticmethod
    def _terminate(procs, grace):
        """SIGTERM ``procs`` [(pid, argv, Popen or None)], SIGKILL what is left after ``grace`` s."""
        def alive(pid, argv, proc):
            if proc is not None:
                return proc.poll() is None
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            return argv_matches(pid, argv)

        def send(pid, sig):
            try:
                os.killpg(pid, sig) if os.getpgid(pid) == pid else os.kill(pid, sig)
            except ProcessLookupError:
                pass

        procs = [p for p in procs if alive(*p)]
        for pid, _argv, _proc in procs:
            send(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while procs and time.monotonic() < deadline:
            time.sleep(0.05)
            procs = [p for p in procs if alive(*p)]
        for pid, _argv, proc in procs:
            send(pid, signal.SIGKILL)
            if proc is not None:
                proc.wait()

    def stop_pod(self, name):
        pod = self.pods.pop(name)
        ctrs = pod["containers"].values()
        self._terminate([(c.pid, c.argv, c.proc) for c in ctrs if c.pid], pod["grace"])
        shutil.rmtree(os.path.join(self.state_dir, name), ignore_errors=True)
        log("kubelet: stopped pod %s" % name)

    def stop_all(self):
        for name in list(self.pods):
            self.stop_pod(name)

    # -- adoption after a kubelet restart
    def _adopt(self, desired):
        stale = []
        names = os.listdir(self.state_dir) if os.path.isdir(self.state_dir) else []
        for pod_name in names:
            if not os.path.isdir(os.path.join(self.state_dir, pod_name)):
                continue
            want = desired.get(pod_name)
            for entry in os.listdir(os.path.join(self.state_dir, pod_name)):
                if entry.startswith(".") or not entry.endswith(".json"):
                    continue
                path = os.path.join(self.state_dir, pod_name, entry)
                try:
                    with open(path) as fh:
                        rec = json.load(fh)
                    pid, argv, digest = int(rec["pid"]), list(rec["argv"]), rec["hash"]
                except (OSError, ValueError, KeyError, TypeError):
                    os.unlink(path)
                    continue
                if not argv_matches(pid, argv):
                    os.unlink(path)
                    continue
                spec = [c for c in (want or {}).get("containers", []) if c[0] == entry[:-5]]
                if want and digest == want["hash"] and spec and spec[0][1] == argv:
                    pod = self._pod(pod_name, want)
                    ctr = pod["containers"][spec[0][0]]
                    ctr.pid, ctr.starts, ctr.started = pid, 1, time.monotonic()
                    log("kubelet: pod %s: adopted running container %s (pid %d)" % (pod_name, ctr.name, pid))
                else:
                    stale.append((pid, argv, None))
                    os.unlink(path)
            if want is None:
                shutil.rmtree(os.path.join(self.state_dir, pod_name), ignore_errors=True)
        if stale:
            log("kubelet: stopping %d container(s) of outdated or removed pods" % len(stale))
            self._terminate(stale, DEFAULT_GRACE)

    def _pod(self, name, want):
        if name not in self.pods:
            self.pods[name] = {"file": want["file"], "hash": want["hash"], "grace": want["grace"],
                               "containers": {c: Container(name, c, argv, env) for c, argv, env in want["containers"]}}
        return self.pods[name]

    # -- one pass
    def sync(self):
        desired = self.desired_pods()
        if not self._adopted:
            self._adopted = True
            self._adopt(desired)
        for name in list(self.pods):
            want = desired.get(name)
            if want is None or want["hash"] != self.pods[name]["hash"]:
                log("kubelet: static pod %s %s" % (name, "removed" if want is None else "changed, recreating it"))
                self.stop_pod(name)
        now = time.monotonic()
        for name, want in desired.items():
            pod = self._pod(name, want)
            for ctr in pod["containers"].values():
                if ctr.pid is not None:
                    if not ctr.running():
                        self._exited(ctr, ctr.proc.returncode if ctr.proc else None)
                elif now >= ctr.next_start:
                    self._start(ctr, pod)

    def status(self):
        return {name: {"file": pod["file"], "hash": pod["hash"],
                       "containers": {c.name: c.status() for c in pod["containers"].values()}}
                for name, pod in self.pods.items()}
