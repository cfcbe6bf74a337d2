"""The lab, shared by every test in tests/lab: `scripts/lab up` once (README command 1),
then the tests run against the converged lab, then `scripts/lab down` when the last test
of this directory has run (a lab that was already up is left up).

The tests that time a failover (the drill, each failover path with its time bound) run
last, and wait (bounded) until what runs beside the lab has ended: the checks run that
scripts/test starts (KUBEHA_CHECKS_PID) and this checkout's molecule scenarios. The times
they measure are then the lab's, not the machine's load. They run after test_lb_firewalld.py,
so with firewalld on (`scripts/lab drill` on a fresh lab runs the drill without it)."""

from __future__ import annotations

import os
import pathlib
import time

import pytest

from .lablib import LAB_VARS, ROOT, lab, lab_containers, podman

HERE = pathlib.Path(__file__).resolve().parent
# Tests that time a failover: whole modules, and single tests (module, function).
TIMED_MODULES = {"test_lb_failover_paths.py"}
TIMED_TESTS = {("test_lab_command.py", "test_failover_drill")}
QUIET_TIMEOUT = 1800


def in_lab(item):
    return item.path.resolve().parent == HERE


def timed(item):
    name = item.path.name
    return in_lab(item) and (name in TIMED_MODULES or (name, getattr(item, "originalname", item.name)) in TIMED_TESTS)


def pytest_collection_modifyitems(items):
    lab_items = [i for i, item in enumerate(items) if in_lab(item)]
    if not lab_items:
        return
    first, last = lab_items[0], lab_items[-1] + 1
    block = items[first:last]
    late = [item for item in block if timed(item)]
    items[first:last] = [item for item in block if item not in late] + late


def _running(pid):
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def beside():
    """What still runs beside the lab: scripts/test's checks run, this checkout's molecule scenarios."""
    found = []
    checks = os.environ.get("KUBEHA_CHECKS_PID", "")
    if checks.isdigit() and _running(int(checks)):
        found.append("the quality, unit and functional tests (pid %s)" % checks)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as fh:
                argv = [a.decode(errors="replace") for a in fh.read().split(b"\0") if a]
            cwd = os.readlink("/proc/%s/cwd" % entry)
        except OSError:
            continue
        if "test" in argv[1:3] and any(os.path.basename(a) == "molecule" for a in argv[:2]) and cwd == ROOT:
            found.append("molecule %s (pid %s)" % (" ".join(argv[2:]), entry))
    return found


@pytest.fixture(autouse=True)
def quiet_machine(request):
    """A timed test waits until nothing runs beside the lab (at most QUIET_TIMEOUT s)."""
    if not timed(request.node):
        return
    deadline = time.monotonic() + QUIET_TIMEOUT
    while beside() and time.monotonic() < deadline:
        time.sleep(5)
    still = beside()
    if still:
        request.node.add_report_section("setup", "quiet", "still running beside this timed test: %s" % ", ".join(still))


@pytest.fixture(scope="package")
def lab_up():
    existed = bool(lab_containers())
    rc, out = lab("up")
    yield rc, out
    if not existed:
        rc, down = lab("down")
        assert rc == 0, down[-3000:]
        assert lab_containers() == [], "lab down left containers behind"
        assert LAB_VARS["kubeha_lab_network"] not in podman("network", "ls", "--format", "{{.Name}}")


@pytest.fixture()
def lab_ready(lab_up):
    """The lab is up (checks that need a converged lab fail at once when `lab up` failed)."""
    rc, out = lab_up
    if rc != 0:
        pytest.fail("scripts/lab up failed, so the lab checks cannot run:\n" + out[-3000:])
