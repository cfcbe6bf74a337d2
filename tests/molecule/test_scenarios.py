"""Run every molecule scenario (molecule/<name>/) with the lab image.

Each scenario runs `molecule test`, beside the other tests (conftest.py); its full output
goes to tests/output/molecule-<name>.log and the tail is shown on failure.
"""

from __future__ import annotations

import glob
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIOS = sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(ROOT, "molecule", "*", "molecule.yml")))

pytestmark = pytest.mark.lab


def test_scenarios_exist():
    assert "default" in SCENARIOS, SCENARIOS


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario, molecule_scenarios):
    rc, log_path = molecule_scenarios.result(scenario)
    if rc is None:
        pytest.fail("molecule test -s %s did not run: %s" % (scenario, log_path))
    if rc != 0:
        with open(log_path) as log:
            tail = log.readlines()[-200:]
        pytest.fail("molecule test -s %s failed (rc=%d); last lines of %s:\n%s" % (scenario, rc, log_path, "".join(tail)))
