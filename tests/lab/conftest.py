"""The lab, shared by every test in tests/lab: `scripts/lab up` once (README command 1),
then the tests run against the converged lab, then `scripts/lab down` when the last test
of this directory has run (a lab that was already up is left up).

The tests that time a failover (the drill, each failover path with its time bound) run
last: by then the molecule scenarios and the checks that scripts/test runs beside the lab
have most likely ended, so the measured times are the lab's, not the machine's load."""

from __future__ import annotations

import pytest

from .lablib import LAB_VARS, lab, lab_containers, podman


TIMED = ("tests/lab/test_lab_command.py::test_failover_drill", "tests/lab/test_lb_failover_paths.py::")


def pytest_collection_modifyitems(items):
    lab = [i for i, item in enumerate(items) if item.nodeid.startswith("tests/lab/")]
    if not lab:
        return
    first, last = lab[0], lab[-1] + 1
    block = items[first:last]
    timed = [item for item in block if item.nodeid.startswith(TIMED)]
    items[first:last] = [item for item in block if item not in timed] + timed


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
