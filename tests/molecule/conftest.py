"""The molecule scenarios run beside the rest of the suite.

Each scenario brings up its own containers on its own network (molecule/<name>/molecule.yml)
and takes about ten minutes, mostly waiting on systemd, SSH and the stand-ins: as soon as the
run is collected, one background thread builds (or reuses) the lab image and runs the
selected scenarios one after the other, while the other tests of the run go on (the lab
tests: scripts/test runs the quality, unit and functional tests in a run of their own
beside them). ``test_molecule_scenario`` waits for its scenario and judges it.
KUBEHA_MOLECULE_BESIDE=0 runs each scenario only when its test is reached.

A session that ends early (-x, Ctrl-C) stops the scenario that runs (its whole process
group: molecule, ansible-playbook, podman) and removes its containers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(ROOT, "tests", "output")
SCENARIO_TIMEOUT = 3600


class Scenarios:
    """Runs molecule scenarios, in order, in one thread; results by scenario name."""

    def __init__(self):
        self.lock = threading.Lock()
        self.results = {}  # name -> (rc, log path), or (None, why it did not run)
        self.done = {}  # name -> threading.Event
        self.proc = None  # the molecule process that runs now
        self.current = None  # its scenario
        self.stopping = False
        self.threads = []

    def start(self, names):
        with self.lock:
            names = [n for n in names if n not in self.done]
            for name in names:
                self.done[name] = threading.Event()
            if names and not self.stopping:
                thread = threading.Thread(target=self._run_all, args=(names,), name="molecule", daemon=True)
                self.threads.append(thread)
                thread.start()

    def result(self, name):
        """(rc, log path); rc None with the reason when the scenario did not run."""
        self.start([name])
        if not self.done[name].wait(SCENARIO_TIMEOUT + 600):
            return None, "molecule test -s %s did not finish within %d s" % (name, SCENARIO_TIMEOUT + 600)
        return self.results[name]

    def _run_all(self, names):
        image = None
        try:
            build = subprocess.run([os.path.join(ROOT, "lab", "image", "build.sh")], capture_output=True, text=True,
                                   check=False, timeout=SCENARIO_TIMEOUT)
            if build.returncode == 0 and build.stdout.strip():
                image = build.stdout.strip().splitlines()[-1]
            else:
                failure = "the lab image build failed (rc=%d):\n%s" % (build.returncode, build.stderr[-5000:])
        except (OSError, subprocess.SubprocessError) as exc:
            failure = "the lab image build did not run: %s" % exc
        for name in names:
            try:
                self.results[name] = self._run_one(name, image) if image else (None, failure)
            except Exception as exc:  # noqa: BLE001 - any failure is this scenario's result, never a hang
                self.results[name] = (None, "molecule test -s %s did not run: %r" % (name, exc))
            finally:
                self.done[name].set()

    def _run_one(self, name, image):
        os.makedirs(OUT_DIR, exist_ok=True)
        log_path = os.path.join(OUT_DIR, "molecule-%s.log" % name)
        with open(log_path, "w") as log:
            with self.lock:
                if self.stopping:
                    return None, "the test session ended before it ran"
                # Its own process group, so that stop() reaches ansible-playbook and podman too.
                self.proc = subprocess.Popen(["molecule", "test", "-s", name], cwd=ROOT, env=dict(os.environ, KUBEHA_LAB_IMAGE=image),
                                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
                self.current = name
            # A blocking wait and a timer: Popen.wait(timeout) polls with time.sleep, which a
            # test elsewhere in the session may have patched.
            timer = threading.Timer(SCENARIO_TIMEOUT, self._kill, args=(self.proc,))
            timer.daemon = True
            timer.start()
            try:
                rc = self.proc.wait()
            finally:
                timed_out = not timer.is_alive() and not self.stopping
                timer.cancel()
                with self.lock:
                    self.proc, self.current = None, None
        if timed_out:
            return None, "molecule test -s %s did not finish within %d s (see %s)" % (name, SCENARIO_TIMEOUT, log_path)
        return rc, log_path

    @staticmethod
    def _kill(proc):
        for sig, wait in ((signal.SIGTERM, 60), (signal.SIGKILL, 30)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def stop(self):
        """At the end of the session: the scenario still running (the session ended early) is
        stopped and its containers removed; no scenario starts after this."""
        with self.lock:
            self.stopping = True
            proc, current = self.proc, self.current
        if proc is None:
            return
        self._kill(proc)
        for thread in self.threads:
            thread.join(30)
        try:
            subprocess.run(["molecule", "destroy", "-s", current], cwd=ROOT, capture_output=True, check=False, timeout=300)
        except (OSError, subprocess.SubprocessError):
            pass


SCENARIOS = Scenarios()


def pytest_collection_finish(session):
    if session.config.option.collectonly or os.environ.get("KUBEHA_MOLECULE_BESIDE", "1") == "0":
        return
    SCENARIOS.start([item.callspec.params["scenario"] for item in session.items
                     if getattr(item, "originalname", "") == "test_molecule_scenario" and hasattr(item, "callspec")])


def pytest_sessionfinish(session):
    SCENARIOS.stop()


@pytest.fixture()
def molecule_scenarios():
    """The runner (started at collection, unless KUBEHA_MOLECULE_BESIDE=0)."""
    return SCENARIOS
