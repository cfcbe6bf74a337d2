"""The README's commands work as a user runs them, without the scripts' environment:

    ansible-playbook -i inventory.yml playbooks/site.yml            # from a checkout
    ansible-playbook -i inventory.yml kubeha.control_plane.site     # installed collection

A user's shell has no ANSIBLE_COLLECTIONS_PATH (scripts/env.sh sets one): from a clone,
the roles are found through playbooks/collections, a committed symlink that makes the
checkout a playbook-adjacent collection. Each command runs with no Ansible or project
setting in the environment and an empty home directory (no ~/.ansible), only PATH."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
import yaml
from kubeha_functional import ROOT, copy_checkout, manifest, run, user_env

LINK = os.path.join("playbooks", "collections", "ansible_collections", "kubeha", "control_plane")
ROLES = ("haproxy", "keepalived")
INVENTORY = {
    "all": {
        "vars": {"kubeha_vip": "10.146.47.90"},
        "children": {
            "kube_masters": {"hosts": {"m1": {"ansible_host": "10.146.47.100"},
                                       "m2": {"ansible_host": "10.146.47.110"},
                                       "m3": {"ansible_host": "10.146.47.120"}}},
            "etcd": {"children": {"kube_masters": None}},
            "kube_lbs": {"children": {"kube_masters": None}},
            "kube_nodes": {"hosts": {"n1": {"ansible_host": "10.146.47.200"}}},
        },
    }
}


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """What a fresh clone of the repository holds."""
    return copy_checkout(tmp_path_factory.mktemp("clone"))


@pytest.fixture(scope="module")
def inventory(tmp_path_factory):
    path = tmp_path_factory.mktemp("inventory") / "inventory.yml"
    path.write_text(json.dumps(INVENTORY))
    return str(path)


@pytest.fixture
def env(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return user_env(home)


@pytest.fixture(scope="module")
def user_install(tmp_path_factory, collection_tarball):
    """The tarball installed as a user installs it: ansible-galaxy's default path in the
    user's home, dependencies from the ``ansible`` package."""
    home = tmp_path_factory.mktemp("user-home")
    env = user_env(home)
    proc = run(["ansible-galaxy", "collection", "install", "--offline", str(collection_tarball)], env=env,
               cwd=str(tmp_path_factory.mktemp("cwd")))
    return {"env": env, "home": home, "output": proc.stdout + proc.stderr}


def playbook(args, env, cwd):
    proc = subprocess.run(["ansible-playbook", *args], env=env, cwd=cwd, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def role_task_names(root, role):
    """Names of the tasks of roles/ROLE/tasks/main.yml that --list-tasks prints (imports
    are replaced by the tasks they import; blocks are flattened)."""
    with open(os.path.join(root, "roles", role, "tasks", "main.yml")) as fh:
        tasks = yaml.safe_load(fh) or []
    names = []

    def walk(items):
        for task in items:
            if any(key in task for key in ("block", "rescue", "always")):
                for key in ("block", "rescue", "always"):
                    walk(task.get(key) or [])
            elif not any(key.split(".")[-1] in ("import_tasks", "import_role") for key in task):
                if task.get("name") and "{{" not in task["name"]:
                    names.append(task["name"])

    walk(tasks)
    return names


def assert_lists_the_roles_tasks(out, root):
    for role in ROLES:
        names = role_task_names(root, role)
        assert names, role
        for name in names:
            assert "kubeha.control_plane.%s : %s\t" % (role, name) in out, (role, name, out[-5000:])


def task_lines(out):
    return [line.strip() for line in out.splitlines() if line.startswith("  ")]


def test_playbooks_collections_links_the_checkout_and_is_part_of_a_clone():
    assert os.readlink(os.path.join(ROOT, LINK)) == "../../../.."
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "--", LINK], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    assert listed == [LINK], "playbooks/collections must be committed, not ignored"


def test_checkout_command_syntax_check(clone, inventory, env):
    assert os.path.realpath(os.path.join(str(clone), LINK)) == os.path.realpath(str(clone))
    rc, out = playbook(["-i", inventory, "playbooks/site.yml", "--syntax-check"], env, str(clone))
    assert rc == 0, out[-5000:]
    assert "playbook: playbooks/site.yml" in out


def test_checkout_command_lists_the_roles_tasks(clone, inventory, env):
    rc, out = playbook(["-i", inventory, "playbooks/site.yml", "--list-tasks"], env, str(clone))
    assert rc == 0, out[-5000:]
    assert_lists_the_roles_tasks(out, str(clone))


def test_checkout_command_finds_the_roles_only_through_the_link(clone, inventory, env):
    """Nothing else on this machine provides kubeha.control_plane to a user's shell."""
    link_dir = os.path.join(str(clone), "playbooks", "collections")
    aside = os.path.join(str(clone), "collections-aside")
    os.rename(link_dir, aside)
    try:
        rc, out = playbook(["-i", inventory, "playbooks/site.yml", "--syntax-check"], env, str(clone))
    finally:
        os.rename(aside, link_dir)
    assert rc != 0
    assert "the role 'kubeha.control_plane." in out and "was not found" in out, out[-3000:]


def test_user_install_takes_the_dependencies_from_the_ansible_package(user_install, collection_tarball):
    info = manifest(collection_tarball)
    out = user_install["output"]
    assert "kubeha.control_plane:%s was installed successfully" % info["version"] in out, out
    for name in info["dependencies"]:
        assert re.search(r"'%s:[^']+' is already installed, skipping\." % re.escape(name), out), out
    assert (user_install["home"] / ".ansible" / "collections" / "ansible_collections" / "kubeha" / "control_plane"
            / "MANIFEST.json").is_file()


def test_installed_command_syntax_check(user_install, inventory, tmp_path):
    rc, out = playbook(["-i", inventory, "kubeha.control_plane.site", "--syntax-check"], user_install["env"], str(tmp_path))
    assert rc == 0, out[-5000:]
    site = user_install["home"] / ".ansible" / "collections" / "ansible_collections" / "kubeha" / "control_plane"
    assert "playbook: %s" % (site / "playbooks" / "site.yml") in out, out


def test_installed_command_lists_the_same_tasks_as_the_checkout(user_install, clone, inventory, env, tmp_path):
    rc, out = playbook(["-i", inventory, "kubeha.control_plane.site", "--list-tasks"], user_install["env"], str(tmp_path))
    assert rc == 0, out[-5000:]
    assert_lists_the_roles_tasks(out, str(clone))
    rc, checkout_out = playbook(["-i", inventory, "playbooks/site.yml", "--list-tasks"], env, str(clone))
    assert rc == 0, checkout_out[-5000:]
    assert task_lines(out) == task_lines(checkout_out)


def test_lab_command_runs_on_a_machine_without_podman(tmp_path):
    """README command 1 starts on a fresh machine: scripts/lab must get as far as its
    bootstrap (which installs podman) when podman is not installed yet. Here: a PATH with
    the shell tools the script needs and no podman; `down` has nothing to remove, no
    argument prints the usage."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("bash", "env", "dirname", "sha256sum", "cut", "sed", "head", "cat"):
        found = subprocess.run(["bash", "-c", "command -v " + tool], capture_output=True, text=True, check=True)
        os.symlink(found.stdout.strip(), str(bindir / tool))
    env = {"PATH": str(bindir), "HOME": str(tmp_path)}
    lab = os.path.join(ROOT, "scripts", "lab")
    down = subprocess.run([lab, "down"], env=env, capture_output=True, text=True, check=False)
    assert down.returncode == 0, down.stdout + down.stderr
    usage = subprocess.run([lab], env=env, capture_output=True, text=True, check=False)
    assert usage.returncode == 2, usage.stdout + usage.stderr
    assert "scripts/lab up" in usage.stdout and "podman" not in usage.stderr, usage.stdout + usage.stderr
