"""Run every molecule scenario (molecule/<name>/) with the lab image.

Each scenario runs `molecule test`; its full output goes to
tests/output/molecule-<name>.log and the tail is shown on failure.
"""

from __future__ import annotations

import glob
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIOS = sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(ROOT, "molecule", "*", "molecule.yml")))

pytestmark = pytest.mark.lab


@pytest.fixture(scope="session")
def lab_image():
    """Build the lab image once (cached in KUBEHA_CACHE_DIR between runs)."""
    proc = subprocess.run([os.path.join(ROOT, "lab", "image", "build.sh")], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, "image build failed:\n" + proc.stderr[-5000:]
    return proc.stdout.strip().splitlines()[-1]


def test_scenarios_exist():
    assert "default" in SCENARIOS, SCENARIOS


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario, lab_image):
    out_dir = os.path.join(ROOT, "tests", "output")
    os.makedirs(out_dir, exist_ok=True)
    log_path = os.path.join(out_dir, "molecule-%s.log" % scenario)
    env = dict(os.environ, KUBEHA_LAB_IMAGE=lab_image)
    with open(log_path, "w") as log:
        proc = subprocess.run(
            ["molecule", "test", "-s", scenario], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=False
        )
    if proc.returncode != 0:
        with open(log_path) as log:
            tail = log.readlines()[-200:]
        pytest.fail("molecule test -s %s failed (rc=%d); last lines of %s:\n%s"
                    % (scenario, proc.returncode, log_path, "".join(tail)))
