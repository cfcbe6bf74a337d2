"""ansible-lint (production profile) and ansible-test sanity on the whole collection."""

from __future__ import annotations

import os
import shutil
import subprocess

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GET_PIP = os.path.join(ROOT, "tests", "tools", "get_pip_offline.py")


def _run(cmd, cwd, env=None):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, "%s failed (rc=%d):\n%s" % (" ".join(cmd), proc.returncode, out[-20000:])
    return out


def _tracked_files():
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    return [p for p in out.decode().split("\0") if p and os.path.lexists(os.path.join(ROOT, p))]


def test_ansible_lint_production_profile(tmp_path):
    # A fresh ANSIBLE_HOME: an installed copy of this collection in a shared one (a
    # user's `ansible-galaxy collection install`, an older run) would shadow the checkout.
    out = _run(["ansible-lint", "--offline", "--profile", "production"], ROOT, env=dict(os.environ, ANSIBLE_HOME=str(tmp_path)))
    assert "Passed" in out or "passed" in out, out


def test_sanity_ignore_files_only_with_reasons():
    ignores = os.path.join(ROOT, "tests", "sanity")
    for name in os.listdir(ignores) if os.path.isdir(ignores) else []:
        with open(os.path.join(ignores, name)) as fh:
            for line in fh:
                line = line.strip()
                if line and not line.startswith("#"):
                    assert "#" in line, "%s: ignore entry without a reason: %s" % (name, line)


def test_ansible_test_sanity(tmp_path):
    # ansible-test needs the tree at ansible_collections/<ns>/<name> and resolves
    # the working directory physically, so a copy (not a symlink) is made.
    dest = tmp_path / "ansible_collections" / "kubeha" / "control_plane"
    dest.mkdir(parents=True)
    for rel in _tracked_files():
        # playbooks/collections only links the checkout for playbooks run from a
        # clone; galaxy.yml's build_ignore keeps it out of the collection, so
        # sanity (whose symlinks test refuses links to directories) skips it too.
        if rel.startswith("playbooks/collections/"):
            continue
        src = os.path.join(ROOT, rel)
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target, follow_symlinks=False)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
    # ansible-test fetches its pip bootstrap script from a host that only the
    # package registries are reachable here: give it the offline equivalent.
    cache = os.path.expanduser("~/.ansible/test/cache")
    os.makedirs(cache, exist_ok=True)
    shutil.copy(GET_PIP, os.path.join(cache, "get_pip_24_2.py"))
    out = _run(["ansible-test", "sanity", "--python", "3.11", "--requirements", "--color", "no"], str(dest))
    assert 'Running sanity test "validate-modules"' in out and 'Running sanity test "ansible-doc"' in out, out
    assert "Required program" not in out, "a sanity test was skipped for a missing program:\n" + out


def test_changelog_fragments_lint():
    out = _run(["antsibull-changelog", "lint"], ROOT)
    assert "ERROR" not in out, out
    assert os.listdir(os.path.join(ROOT, "changelogs", "fragments")), "no changelog fragment"


def test_the_released_changelog_is_valid_and_current(tmp_path):
    """changelogs/changelog.yaml (the releases, 0.1.0 on) passes antsibull-changelog's
    lint, and CHANGELOG.rst is what antsibull-changelog generates from it."""
    out = _run(["antsibull-changelog", "lint-changelog-yaml", "changelogs/changelog.yaml"], ROOT)
    assert "ERROR" not in out, out
    with open(os.path.join(ROOT, "changelogs", "changelog.yaml")) as fh:
        releases = yaml.safe_load(fh)["releases"]
    assert {"0.1.0", "0.2.0", "0.3.0", "0.4.0"} <= set(releases), sorted(releases)
    generated = tmp_path / "CHANGELOG.rst"
    _run(["antsibull-changelog", "generate", "--output", str(generated), "--output-format", "rst"], ROOT)
    with open(os.path.join(ROOT, "CHANGELOG.rst")) as fh:
        assert fh.read() == generated.read_text(), "CHANGELOG.rst is not current: run antsibull-changelog generate"
