"""core.py and the package's main(): the Kubernetes version a stand-in plays, what
--version prints, Go's text of an errno, the state files. (Flags: test_standin_flags.py.)"""

from __future__ import annotations

import errno
import json

import pytest

import kubeha_standin
from kubeha_standin import core, flags

V152 = (1, 5, 2)


@pytest.mark.parametrize("text, expected", [
    ("v1.30.0", (1, 30, 0)), ("1.5.2", (1, 5, 2)), ("v1.30", (1, 30, 0)), (" v1.9.11\n", (1, 9, 11)),
    ("v1.30.0-rc.1", (1, 30, 0)),
])
def test_parse_version(text, expected):
    assert core.parse_version(text) == expected


@pytest.mark.parametrize("text", ["", "latest", "1", "v1.x.0"])
def test_parse_version_rejects(text):
    with pytest.raises(ValueError):
        core.parse_version(text)


def test_read_version(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("KUBEHA_STANDIN_VERSION", raising=False)
    assert core.read_version(str(tmp_path / "missing")) == (1, 30, 0)
    path = tmp_path / "version"
    path.write_text("v1.5.2\n")
    assert core.read_version(str(path)) == V152
    path.write_text("garbage\n")
    assert core.read_version(str(path)) == (1, 30, 0)
    assert "garbage" in capsys.readouterr().err


def test_the_image_tag_of_a_static_pod_wins_over_the_version_file(tmp_path, monkeypatch):
    """The kubelet stand-in passes a container image's tag as KUBEHA_STANDIN_VERSION, so a
    manifest that names a new image (after `kubeadm upgrade`) runs that version."""
    path = tmp_path / "version"
    path.write_text("v1.29.4\n")
    monkeypatch.setattr(core, "VERSION_FILE", str(path))
    monkeypatch.setenv("KUBEHA_STANDIN_VERSION", "v1.30.2")
    assert core.read_version() == (1, 30, 2)
    monkeypatch.delenv("KUBEHA_STANDIN_VERSION")
    assert core.read_version() == (1, 29, 4)


def test_version_info():
    info = core.version_info(V152)
    assert (info["major"], info["minor"], info["gitVersion"]) == ("1", "5", "v1.5.2-kubeha-standin")


@pytest.mark.parametrize("component", sorted(flags.FLAGS))
def test_every_component_prints_its_version(component, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("KUBEHA_STANDIN_VERSION", raising=False)
    path = tmp_path / "version"
    path.write_text("v1.5.2\n")
    monkeypatch.setattr(core, "VERSION_FILE", str(path))
    assert kubeha_standin.main(["/usr/bin/kube-" + component, component, "--version"]) == 0
    assert capsys.readouterr().out == "Kubernetes v1.5.2-kubeha-standin\n"


def test_main_without_a_known_component_prints_usage(capsys):
    assert kubeha_standin.main(["kubeha_standin", "etcd"]) == 2
    assert capsys.readouterr().err.startswith("usage: kubeha_standin {apiserver|controller-manager|kubelet|proxy|scheduler}")


@pytest.mark.parametrize("code, text", [(errno.ENOENT, "no such file or directory"), (errno.EACCES, "permission denied"),
                                        (errno.EISDIR, "is a directory")])
def test_go_strerror_is_go_s_text_of_the_errno(code, text):
    assert core.go_strerror(OSError(code, "ignored")) == text


@pytest.mark.parametrize("text, seconds", [("10s", 10.0), ("1m30s", 90.0), ("500ms", 0.5), ("1h", 3600.0), ("0", 0.0)])
def test_parse_duration(text, seconds):
    assert core.parse_duration(text) == seconds


def test_parse_duration_refuses_a_number_without_a_unit():
    with pytest.raises(core.FlagError, match="invalid duration '10'"):
        core.parse_duration("10")


def test_write_state_replaces_the_file_atomically(tmp_path):
    core.write_state("kubelet", {"api_ok": True}, state_dir=str(tmp_path))
    core.write_state("kubelet", {"api_ok": False}, state_dir=str(tmp_path))
    state = json.loads((tmp_path / "kubelet.json").read_text())
    assert state["api_ok"] is False and state["time"] > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kubelet.json"]
