"""Fixtures shared by the functional tests: the built collection tarball and its install."""

from __future__ import annotations

import pytest
from kubeha_functional import ROOT, bundled_collection, isolated_env, manifest, run


@pytest.fixture(scope="session")
def collection_tarball(tmp_path_factory):
    """``ansible-galaxy collection build`` of the checkout."""
    build_dir = tmp_path_factory.mktemp("build")
    run(["ansible-galaxy", "collection", "build", ROOT, "--output-path", str(build_dir)], cwd=ROOT)
    tarballs = sorted(build_dir.glob("kubeha-control_plane-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    return tarballs[0]


@pytest.fixture(scope="session")
def bundled(tmp_path_factory, collection_tarball):
    """{dependency: (directory, version)} of the collection's dependencies as the
    ``ansible`` package bundles them (site-packages/ansible_collections/NS/NAME)."""
    empty = tmp_path_factory.mktemp("no-collections")
    return {name: bundled_collection(name, empty, tmp_path_factory.mktemp("ansible-home"))
            for name in manifest(collection_tarball)["dependencies"]}


@pytest.fixture(scope="session")
def installed(tmp_path_factory, collection_tarball, bundled):
    """The tarball installed into an empty collections path, offline and with its
    dependencies (no --no-deps), resolved from the collections bundled in the ``ansible``
    package, given to ansible-galaxy as sources. With ``env`` nothing outside that path is
    visible (ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false): it must hold everything the
    collection needs."""
    install_dir = tmp_path_factory.mktemp("collections")
    assert not any(install_dir.iterdir())
    env = isolated_env(install_dir, ANSIBLE_HOME=str(tmp_path_factory.mktemp("ansible-home")))
    sources = [directory for directory, _version in bundled.values()]
    proc = run(["ansible-galaxy", "collection", "install", "--offline", "-p", str(install_dir),
                str(collection_tarball), *sources], env=env)
    return {"tarball": collection_tarball, "path": install_dir, "env": env,
            "output": proc.stdout + proc.stderr}
