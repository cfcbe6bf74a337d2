"""The built collection tarball installs into an empty path and its filters work by FQCN."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "files")


def run(cmd, env=None, check=True, cwd=None):
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (rc=%d)\n%s\n%s" % (cmd, proc.returncode, proc.stdout, proc.stderr))
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Build the tarball and install it into an empty collections path."""
    build_dir = tmp_path_factory.mktemp("build")
    run(["ansible-galaxy", "collection", "build", ROOT, "--output-path", str(build_dir)], cwd=ROOT)
    tarballs = sorted(build_dir.glob("kubeha-control_plane-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    install_dir = tmp_path_factory.mktemp("collections")
    assert not any(install_dir.iterdir())
    env = dict(os.environ)
    env["ANSIBLE_COLLECTIONS_PATH"] = str(install_dir)
    run(["ansible-galaxy", "collection", "install", "--offline", "--no-deps", "-p", str(install_dir), str(tarballs[0])], env=env)
    return {"tarball": tarballs[0], "path": install_dir, "env": env}


def test_tarball_holds_the_collection_and_not_the_test_bed(installed):
    with tarfile.open(installed["tarball"]) as tar:
        names = set(tar.getnames())
    assert "MANIFEST.json" in names and "galaxy.yml" not in names
    assert "plugins/filter/hosts.py" in names and "plugins/filter/etcd_servers.yml" in names
    assert "meta/runtime.yml" in names and "LICENSE" in names
    for ignored in ("tests", "molecule", "lab", "scripts", ".ci", "benchmarks"):
        assert not any(n == ignored or n.startswith(ignored + "/") for n in names), ignored
    with tarfile.open(installed["tarball"]) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"], info["version"]) == ("kubeha", "control_plane", "0.1.0")
    assert set(info["dependencies"]) == {"ansible.posix", "community.general"}


def test_installed_filters_work_by_fqcn(installed, tmp_path):
    result_file = tmp_path / "result.json"
    run(
        [
            "ansible-playbook",
            "-i", os.path.join(FILES, "filters-inventory.yml"),
            os.path.join(FILES, "filters-playbook.yml"),
            "-e", "result_file=%s" % result_file,
        ],
        env=installed["env"],
    )
    result = json.loads(result_file.read_text())
    assert result["etcd"] == [
        "https://10.146.47.100:2379",
        "https://10.146.47.110:2379",
        "https://[fd00::120]:2479",
    ]
    assert result["backends"] == [
        {"name": "m1", "address": "10.146.47.100", "port": 6443},
        {"name": "m2", "address": "10.146.47.110", "port": 6443},
        {"name": "m3", "address": "fd00::120", "port": 6443},
    ]
    assert result["peers"] == ["10.146.47.110", "fd00::120"]


def test_bad_inventory_fails_with_host_variable_and_value(installed, tmp_path):
    proc = run(
        [
            "ansible-playbook",
            "-i", os.path.join(FILES, "filters-inventory.yml"),
            os.path.join(FILES, "filters-playbook.yml"),
            "-e", "result_file=%s" % (tmp_path / "r.json"),
            "-e", '{"ansible_host": "10.0.0.300"}',
        ],
        env=installed["env"],
        check=False,
    )
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "host 'm1' has an invalid address '10.0.0.300' in ansible_host" in out, out
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("name", ["etcd_servers", "haproxy_backends", "vrrp_peers"])
def test_ansible_doc_shows_filter_docs(installed, name):
    proc = run(["ansible-doc", "-t", "filter", "kubeha.control_plane.%s" % name], env=installed["env"])
    assert "hostvars" in proc.stdout and "EXAMPLES" in proc.stdout and "RETURN" in proc.stdout, proc.stdout
