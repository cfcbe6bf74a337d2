"""Helpers of the functional tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import tarfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "files")
SELF = "kubeha.control_plane"
# Collections that are part of ansible-core, never a dependency.
CORE = {"ansible.builtin", "ansible.legacy"}
# Content that ships in the tarball and may use other collections.
CONTENT_DIRS = ("roles", "playbooks", "plugins")
# Settings that locate collections or Ansible's configuration (scripts/env.sh sets some).
COLLECTION_SETTINGS = ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS", "ANSIBLE_HOME",
                       "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH", "ANSIBLE_CONFIG")


def run(cmd, env=None, check=True, cwd=None):
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (rc=%d)\n%s\n%s" % (cmd, proc.returncode, proc.stdout, proc.stderr))
    return proc


def manifest(tarball):
    """collection_info of a built collection tarball."""
    with tarfile.open(tarball) as tar:
        return json.load(tar.extractfile("MANIFEST.json"))["collection_info"]


def user_env(home, **extra):
    """The environment of a user's shell: this one (PATH keeps the project's ansible) without
    any Ansible or project setting, and an empty home directory (no ~/.ansible)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "KUBEHA_"))}
    env["HOME"] = str(home)
    env.update(extra)
    return env


def isolated_env(collections_path, scan_sys_path=False, **extra):
    """This environment with ``collections_path`` as the only collections path. Unless
    ``scan_sys_path``, the collections bundled in the ``ansible`` package (found on
    Python's sys.path) are invisible too, so only what is installed there counts."""
    env = {k: v for k, v in os.environ.items() if k not in COLLECTION_SETTINGS}
    env["ANSIBLE_COLLECTIONS_PATH"] = str(collections_path)
    env["ANSIBLE_COLLECTIONS_SCAN_SYS_PATH"] = "true" if scan_sys_path else "false"
    env.update(extra)
    return env


def bundled_collection(fqcn, empty_dir, ansible_home):
    """(directory, version) of ``fqcn`` as bundled in the ``ansible`` package: what
    ansible-galaxy finds with no collections path of its own (only Python's sys.path)."""
    env = isolated_env(empty_dir, scan_sys_path=True, ANSIBLE_HOME=str(ansible_home))
    found = json.loads(run(["ansible-galaxy", "collection", "list", fqcn, "--format", "json"], env=env).stdout)
    hits = [(os.path.join(base, *fqcn.split(".")), colls[fqcn]["version"])
            for base, colls in found.items() if fqcn in colls]
    assert len(hits) == 1, "%s: expected exactly one bundled copy, found %s" % (fqcn, found)
    return hits[0]


def copy_checkout(dest):
    """Copy what a fresh clone holds (tracked and untracked-not-ignored files; symlinks
    stay symlinks) to ``dest``."""
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                         capture_output=True, check=True).stdout
    for rel in (p for p in out.decode().split("\0") if p):
        src = os.path.join(ROOT, rel)
        if not os.path.lexists(src):  # deleted in the working tree, not committed yet
            continue
        target = os.path.join(str(dest), rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(src, target, follow_symlinks=False)
    return dest


# ------------------------------------------------------------------ collections the content uses
_NAME = r"[a-z0-9][a-z0-9_]*\.[a-z0-9][a-z0-9_]*(?:\.[A-Za-z0-9_]+)+"
_FQCN = re.compile(r"^(?:group/)?(%s)$" % _NAME)
_COLLECTION = re.compile(r"^[a-z0-9][a-z0-9_]*\.[a-z0-9][a-z0-9_]*$")
# Jinja: `| ns.coll.filter`, `is [not] ns.coll.test`, map/select/reject/lookup/query('ns.coll.x', ...),
# selectattr/rejectattr('attr', 'ns.coll.test', ...).
_JINJA = [
    re.compile(r"\|\s*(%s)" % _NAME),
    re.compile(r"\bis\s+(?:not\s+)?(%s)" % _NAME),
    re.compile(r"\b(?:map|select|reject|lookup|query|q)\(\s*['\"](%s)['\"]" % _NAME),
    re.compile(r"\b(?:selectattr|rejectattr)\(\s*['\"][^'\"]*['\"]\s*,\s*['\"](%s)['\"]" % _NAME),
]
_STRING = re.compile(r"'[^']*'|\"[^\"]*\"")
_JINJA_BLOCK = re.compile(r"{{.*?}}|{%.*?%}", re.S)
_JINJA_COMMENT = re.compile(r"{#.*?#}", re.S)
# Keywords whose value is a bare Jinja expression (elsewhere only {{ }} and {% %} are Jinja).
_CONDITIONALS = {"when", "that", "failed_when", "changed_when", "until"}
_ROLE_ACTIONS = {p + a for p in ("", "ansible.builtin.", "ansible.legacy.") for a in ("include_role", "import_role")}


class _Loader(yaml.SafeLoader):
    """YAML as Ansible writes it: tags such as !unsafe and !vault are read as plain values."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: (
    loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode)
    else loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode)
    else loader.construct_mapping(node)))


def _jinja_names(text):
    """Names used in a Jinja expression: filters and tests outside string literals, plugin
    names as the string argument of map, select, lookup and the like."""
    text = _JINJA_COMMENT.sub("", text)
    code = _STRING.sub("''", text)
    return {m for rx in _JINJA[:2] for m in rx.findall(code)} | {m for rx in _JINJA[2:] for m in rx.findall(text)}


def _template_names(text):
    return {n for block in _JINJA_BLOCK.findall(_JINJA_COMMENT.sub("", text)) for n in _jinja_names(block)}


def _yaml_names(node):
    """Names of other collections' content used by Ansible YAML (tasks, plays, vars, meta,
    plugin docs): actions (task keys, action/local_action, module_defaults groups), roles
    (roles:, dependencies:, include_role/import_role), the collections keyword, doc
    fragments and the filters, tests and lookups of Jinja expressions. Comments are gone
    once parsed, and free text (task names, messages, descriptions) counts only inside
    {{ }} or {% %}."""
    names = set()

    def add(value):
        if isinstance(value, str) and value.strip():
            match = _FQCN.match(value.split()[0])
            if match:
                names.add(match.group(1))

    def walk(value, key=None):
        if isinstance(value, dict):
            for sub_key, sub in value.items():
                if not isinstance(sub_key, str):
                    continue
                add(sub_key)
                if sub_key in ("action", "local_action"):
                    add(sub.get("module") if isinstance(sub, dict) else sub)
                elif sub_key in _ROLE_ACTIONS and isinstance(sub, dict):
                    add(sub.get("name"))
                elif sub_key in ("roles", "dependencies") and isinstance(sub, list):
                    for item in sub:
                        add(item.get("role") or item.get("name") if isinstance(item, dict) else item)
                elif sub_key == "collections" and isinstance(sub, list):
                    names.update(c for c in sub if isinstance(c, str) and _COLLECTION.match(c))
                elif sub_key == "extends_documentation_fragment":
                    for fragment in sub if isinstance(sub, list) else [sub]:
                        add(fragment)
                walk(sub, sub_key)
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif isinstance(value, str):
            names.update(_jinja_names(value) if key in _CONDITIONALS else _template_names(value))

    walk(node)
    return names


def _python_names(source, path):
    """Collections a Python plugin imports (ansible_collections.NS.COLL...) and the names
    in its DOCUMENTATION / EXAMPLES / RETURN."""
    names = set()
    for node in ast.walk(ast.parse(source, path)):
        modules = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules = [node.module]
        for module in modules:
            parts = module.split(".")
            if parts[0] == "ansible_collections" and len(parts) >= 3:
                names.add("%s.%s" % (parts[1], parts[2]))
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
                and any(isinstance(t, ast.Name) and t.id in ("DOCUMENTATION", "EXAMPLES", "RETURN") for t in node.targets)):
            try:
                names |= _yaml_names(yaml.load(node.value.value, Loader=_Loader))
            except yaml.YAMLError:
                names |= _template_names(node.value.value)
    return names


def content_uses(root=ROOT):
    """{collection: {"path: name", ...}} for every other collection that the content under
    roles/, playbooks/ and plugins/ uses by FQCN (not ansible-core's, not this one)."""
    uses = {}
    for top in CONTENT_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            # playbooks/collections links the checkout itself (playbook-adjacent collection).
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.startswith(".")
                                 and not (top == "playbooks" and d == "collections"))
            parts = os.path.relpath(dirpath, root).split(os.sep)
            if "files" in parts:  # copied to hosts as they are: not Ansible content
                continue
            for filename in sorted(filenames):
                path = os.path.join(dirpath, filename)
                if not os.path.isfile(path):
                    continue
                with open(path, encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
                if "templates" in parts:
                    names = _template_names(text)
                elif filename.endswith((".yml", ".yaml")):
                    names = set().union(*[_yaml_names(doc) for doc in yaml.load_all(text, Loader=_Loader)])
                elif filename.endswith(".py"):
                    names = _python_names(text, path)
                else:
                    continue
                for name in names:
                    collection = ".".join(name.split(".")[:2])
                    if collection not in CORE and collection != SELF:
                        uses.setdefault(collection, set()).add("%s: %s" % (os.path.relpath(path, root), name))
    return uses
