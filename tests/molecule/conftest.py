"""The molecule scenarios run beside the rest of the suite.

Each scenario brings up its own containers on its own network (molecule/<name>/molecule.yml)
and takes about ten minutes, mostly waiting on systemd, SSH and the stand-ins: as soon as the
run is collected, one background thread builds (or reuses) the lab image and runs the
selected scenarios one after the other, while the quality, unit, functional and lab tests
go on. ``test_molecule_scenario`` waits for its scenario and judges it.
KUBEHA_MOLECULE_BESIDE=0 runs each scenario only when its test is reached.
"""

from __future__ import annotations

import os
import subprocess
import threading

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(ROOT, "tests", "output")


class Scenarios:
    """Runs molecule scenarios, in order, in one thread; results by scenario name."""

    def __init__(self):
        self.lock = threading.Lock()
        self.results = {}  # name -> (rc, log path) or (None, reason)
        self.done = {}  # name -> threading.Event
        self.proc = None
        self.thread = None
        self.stopping = False

    def start(self, names):
        with self.lock:
            names = [n for n in names if n not in self.done]
            for name in names:
                self.done[name] = threading.Event()
        if names:
            self.thread = threading.Thread(target=self._run, args=(names,), name="molecule", daemon=True)
            self.thread.start()

    def result(self, name, timeout=3600):
        """(rc, log path): rc None with a reason when the scenario could not run."""
        self.start([name])
        if not self.done[name].wait(timeout):
            return None, "molecule test -s %s did not finish within %d s" % (name, timeout)
        return self.results[name]

    def _run(self, names):
        build = subprocess.run([os.path.join(ROOT, "lab", "image", "build.sh")], capture_output=True, text=True, check=False)
        image = build.stdout.strip().splitlines()[-1] if build.returncode == 0 and build.stdout.strip() else None
        os.makedirs(OUT_DIR, exist_ok=True)
        for name in names:
            if image is None:
                self.results[name] = (None, "the lab image build failed:\n" + build.stderr[-5000:])
            elif self.stopping:
                self.results[name] = (None, "the test session ended before it ran")
            else:
                log_path = os.path.join(OUT_DIR, "molecule-%s.log" % name)
                with open(log_path, "w") as log:
                    self.proc = subprocess.Popen(["molecule", "test", "-s", name], cwd=ROOT,
                                                 env=dict(os.environ, KUBEHA_LAB_IMAGE=image),
                                                 stdout=log, stderr=subprocess.STDOUT)
                    rc = self.proc.wait()
                self.results[name] = (rc, log_path)
            self.done[name].set()

    def stop(self):
        """At the end of the session: a scenario still running (the session stopped early)
        is stopped and its containers removed."""
        self.stopping = True
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
            for name, event in self.done.items():
                if not event.is_set():
                    subprocess.run(["molecule", "destroy", "-s", name], cwd=ROOT, capture_output=True, check=False)


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
