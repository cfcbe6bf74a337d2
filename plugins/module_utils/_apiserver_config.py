# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the effective on-disk configuration of kube-apiserver on a master (private to the collection).

The two places kube-apiserver is started from, each read into a *source*:

* the systemd unit of the distribution packages and its sysconfig files: ``systemctl show``
  and the unit's files give ``ExecStart=``, ``Environment=`` and ``EnvironmentFile=``, and the
  command line is expanded as systemd expands it when it starts the unit (``_systemd_unit``);
  where the unit cannot be read, the fixed variables of ``sysconfig_vars``;
* a kubeadm static pod manifest (PyYAML).

A source is a dict with the keys ``argv``, ``flags``, ``apiserver_count``, ``reconciler`` and
``error`` that the module returns, and private keys starting with ``_`` (``_flags``, the flags
unmasked; ``_origins``, where each flag is set; ``_where``, what the source is called in a
sentence) that the caller drops. What is wrong is a sentence appended to the caller's list of
problems, a remark one appended to its notes.

Runs on the managed host: Python 3.8 or later, standard library, ansible's module_utils and,
to read a manifest, PyYAML.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re
import traceback

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.kubeha.control_plane.plugins.module_utils._systemd_unit import (
    SHOW_PROPERTIES,
    SystemdUnitError,
    environment_dict,
    expand_exec_argv,
    parse_environment_files,
    parse_exec_property,
    parse_show,
    parse_strv,
    parse_unit_files,
    referenced_variables,
    show_value,
)
from ansible_collections.kubeha.control_plane.plugins.module_utils.kube_flags import (
    KubeFlagsError,
    flag_of_word,
    flags_from_argv,
    flags_from_manifest,
    manifest_image,
    mask_argv,
    mask_flags,
    parse_env_file,
    program_args,
    sysconfig_argv,
)

try:
    import yaml
except ImportError:  # pragma: no cover - exercised by a unit test that hides yaml
    yaml = None
    YAML_IMPORT_ERROR = traceback.format_exc()
else:
    YAML_IMPORT_ERROR = None

LANG_C = dict(LANG="C", LC_ALL="C")
_GLOB = re.compile(r"[*?[]")


def empty_source(**keys):
    """A source with nothing read yet; ``keys`` add or replace keys."""
    source = dict(argv=None, flags=None, apiserver_count=None, reconciler=None, error=None)
    source.update(keys)
    return source


def source_error(problems, source, sentence):
    """Record that a source could not be read: the sentence is a problem and the source's error."""
    problems.append(sentence)
    source["error"] = sentence
    return source


def fill_source(problems, source, argv, where):
    """Fill a source with its arguments and flags (secret-looking values masked), or its error."""
    try:
        flags = flags_from_argv(argv)
    except KubeFlagsError as exc:
        return source_error(
            problems, source, "the kube-apiserver arguments in %s cannot be read: %s; correct them." % (where, exc)
        )
    source["_flags"] = flags
    source["argv"] = mask_argv(argv)
    source["flags"] = mask_flags(flags)
    return source


def env_file_matches(path):
    """The files an EnvironmentFile= path names (a glob pattern is expanded, sorted, as systemd does)."""
    if _GLOB.search(path):
        return sorted(p for p in glob.glob(path) if os.path.isfile(p))
    return [path] if os.path.exists(path) else []


def read_unit_files(unit):
    """The ExecStart= and Environment= of the unit file and its drop-ins, or None when they cannot be read."""
    texts = []
    for path in [unit["fragment_path"]] + unit["drop_ins"]:
        if not path:
            return None
        try:
            with open(path, "rb") as fh:
                texts.append((path, fh.read()))
        except OSError:
            return None
    try:
        return parse_unit_files(texts)
    except SystemdUnitError:
        return None


class ApiserverConfig:
    """Reads kube-apiserver's on-disk configuration with the module's options (``unit``, ``sysconfig_dir``,
    ``sysconfig_vars``, ``manifest``, ``container``, ``process_name``); appends to ``problems`` and ``notes``."""

    def __init__(self, module, problems, notes):
        self.module = module
        self.params = module.params
        self.problems = problems
        self.notes = notes

    def read_unit(self):
        """The unit as systemd has loaded it (systemctl show), or None, and then a note says why."""
        name = self.params["unit"]
        fallback = (
            "its command line is taken to be the variables of sysconfig_vars (%s) in %s, as the distribution "
            "packages' unit passes them" % (" ".join(self.params["sysconfig_vars"]),
                                            " and ".join(self._sysconfig_paths()))
        )
        systemctl = self.module.get_bin_path("systemctl")
        if systemctl is None:
            self.notes.append("systemctl is not in the PATH, so the unit %s was not read: %s." % (name, fallback))
            return None
        argv = [systemctl, "show", name]
        for prop in SHOW_PROPERTIES:
            argv.extend(["-p", prop])
        rc, out, err = self.module.run_command(argv, environ_update=LANG_C)
        if rc != 0:
            detail = " ".join((err or out or "").split())[:200] or "no output"
            self.notes.append("'systemctl show %s' exited with %d (%s), so the unit was not read: %s."
                              % (name, rc, detail, fallback))
            return None
        try:
            props = parse_show(out)
        except SystemdUnitError as exc:
            self.notes.append("'systemctl show %s' printed what this module cannot read (%s), so the unit was not "
                              "read: %s." % (name, exc, fallback))
            return None
        state = show_value(props, "LoadState")
        if state != "loaded":
            if state == "not-found":
                why = "systemd does not know the unit %s (LoadState=not-found)" % name
            else:
                why = "the unit %s is not loaded (LoadState=%s)" % (name, state or "unknown")
            self.notes.append("%s: %s." % (why, fallback))
            return None
        unit_id = show_value(props, "Id") or name
        try:
            drop_ins = [p for p in parse_strv(show_value(props, "DropInPaths")) if p]
            env_files = parse_environment_files(props.get("EnvironmentFiles", []))
            environment = parse_strv(show_value(props, "Environment"))
            commands = [parse_exec_property(v) for v in props.get("ExecStart", []) if v]
        except SystemdUnitError as exc:
            return self._unit(unit_id, props, error="'systemctl show %s' printed what this module cannot read (%s): "
                                                    "check the unit with systemctl cat %s." % (name, exc, unit_id))
        unit = self._unit(unit_id, props, drop_ins=drop_ins, env_files=env_files)
        if show_value(props, "NeedDaemonReload") == "yes":
            self.notes.append(
                "The unit files of %s changed since systemd loaded them: the unit as loaded is checked, as a restart "
                "would run it until systemctl daemon-reload." % unit_id
            )
        if not commands:
            unit["_error"] = "the unit %s has no ExecStart= command: check it with systemctl cat %s." % (unit_id, unit_id)
            return unit
        if len(commands) > 1:
            self.notes.append("The unit %s has %d ExecStart= commands; the first is checked." % (unit_id, len(commands)))
        command = commands[0]
        files = read_unit_files(unit)
        unit["_template"] = command["argv"]
        unit["_exec_source"] = "ExecStart= of %s" % unit_id
        unit["_no_env_expand"] = False
        if files is not None:
            parsed = files["exec_start"]
            # The words of the unit files, where they are what systemd loaded (systemctl joins them with spaces).
            if len(parsed) == len(commands) and parsed[0]["exact"] and " ".join(parsed[0]["argv"]) == command["argv_text"]:
                unit["_template"] = parsed[0]["argv"]
                unit["_exec_source"] = parsed[0]["source"]
                unit["_no_env_expand"] = parsed[0]["no_env_expand"]
        if None in environment:
            known = files and files["environment"]
            printable = [e for e in environment if e is not None]
            if known and len(known) == len(environment) and all(
                    e is None or e == k for e, k in zip(environment, known)):
                environment = known
            else:
                self.notes.append(
                    "systemctl prints some Environment= entries of %s as [unprintable] (values with spaces, older "
                    "systemd): the variables they set are taken as unset." % unit_id
                )
                environment = printable
        unit["_environment"] = environment
        unit["exec_start"] = mask_argv(unit["_template"])
        return unit

    def _unit(self, unit_id, props, drop_ins=None, env_files=None, error=None):
        return dict(
            name=unit_id,
            fragment_path=show_value(props, "FragmentPath") or None,
            drop_ins=drop_ins or [],
            exec_start=None,
            environment_files=[dict(path=p, ignore_errors=i, exists=env_file_matches(p) != [])
                               for p, i in (env_files or [])],
            user=show_value(props, "User") or None,
            group=show_value(props, "Group") or None,
            _env_files=env_files or [],
            _template=None,
            _error=error,
        )

    def _sysconfig_paths(self):
        directory = self.params["sysconfig_dir"]
        return [os.path.join(directory, "config"), os.path.join(directory, "apiserver")]

    def read_sysconfig(self, unit):
        apiserver_file = self._sysconfig_paths()[1]
        if not os.path.exists(apiserver_file):
            return None
        if unit is None:
            return self._read_sysconfig_vars(apiserver_file)
        return self._read_sysconfig_unit(apiserver_file, unit)

    def _read_env_file(self, source, path):
        """The variables of one environment file, or None after recording why it cannot be read."""
        try:
            with open(path, "rb") as fh:
                return parse_env_file(fh.read())
        except OSError as exc:
            source_error(self.problems, source, "%s cannot be read: %s: fix its permissions." % (path, to_native(exc)))
        except KubeFlagsError as exc:
            source_error(
                self.problems, source,
                "%s cannot be read as systemd's EnvironmentFile= reads it (%s): correct that line." % (path, exc)
            )
        return None

    def _read_sysconfig_vars(self, apiserver_file):
        """The fallback: the fixed variables of sysconfig_vars, as the distribution packages' unit passes them."""
        files = [p for p in self._sysconfig_paths() if os.path.exists(p)]
        source = empty_source(path=apiserver_file, files=files)
        env = {}
        origin = {}
        for path in files:
            data = self._read_env_file(source, path)
            if data is None:
                return source
            env.update(data)
            origin.update((name, path) for name in data)
        origins = {}
        for name in self.params["sysconfig_vars"]:
            for word in sysconfig_argv(env, [name]):
                flag = flag_of_word(word)
                if flag:
                    origins[flag] = origin[name]
        source["_origins"] = origins
        source["_where"] = " and ".join(files)
        return fill_source(self.problems, source, sysconfig_argv(env, self.params["sysconfig_vars"]),
                           source["_where"])

    def _read_sysconfig_unit(self, apiserver_file, unit):
        """The command line of the unit: ExecStart= expanded with Environment= and the EnvironmentFile= files."""
        name = unit["name"]
        source = empty_source(path=apiserver_file, files=[])
        if unit["_error"] or unit["_template"] is None:
            return source_error(self.problems, source, unit["_error"])
        env = environment_dict(unit["_environment"])
        origin = dict((var, "Environment= of %s" % name) for var in env)
        files = []
        apiserver_vars = None
        for path, ignore_errors in unit["_env_files"]:
            matches = env_file_matches(path)
            if not matches and not ignore_errors:
                self.problems.append(
                    "%s reads EnvironmentFile=%s, which does not exist: systemd refuses to start it; create the file, "
                    "or write EnvironmentFile=-%s to let the unit start without it." % (name, path, path)
                )
            for match in matches:
                # Later files override earlier ones, and all of them override Environment= (systemd.exec(5)).
                data = self._read_env_file(source, match)
                if data is None:
                    return source
                env.update(data)
                origin.update((var, match) for var in data)
                files.append(match)
                if os.path.realpath(match) == os.path.realpath(apiserver_file):
                    apiserver_vars = data
        source["files"] = files
        template = unit["_template"]
        if apiserver_vars is None:
            self.problems.append(
                "%s does not read %s (its EnvironmentFile= are %s): the flags set there have no effect; add "
                "EnvironmentFile=-%s to the unit (in a drop-in), or set sysconfig_dir to where its files are."
                % (name, apiserver_file, ", ".join(p for p, _i in unit["_env_files"]) or "none", apiserver_file)
            )
        else:
            used = referenced_variables(template)
            unused = [var for var, value in apiserver_vars.items() if value and var not in used]
            if unused and not unit["_no_env_expand"]:
                self.notes.append(
                    "%s set in %s %s not used by the ExecStart= of %s: %s no effect."
                    % (", ".join(unused), apiserver_file, "is" if len(unused) == 1 else "are", name,
                       "it has" if len(unused) == 1 else "they have")
                )
        if unit["_no_env_expand"]:
            expanded = [(word, ()) for word in template]
        else:
            expanded = expand_exec_argv(template, env)
        words = [word for word, _names in expanded]
        args = program_args(words, self.params["process_name"])
        if args is None:
            self.notes.append("The ExecStart= of %s runs %s, not %s: its arguments after the program are checked."
                              % (name, words[0] if words else "nothing", self.params["process_name"]))
            args = words[1:]
        origins = {}
        for word, names in expanded[len(words) - len(args):]:
            flag = flag_of_word(word)
            if flag:
                origins[flag] = origin.get(names[-1], unit["_exec_source"]) if names else unit["_exec_source"]
        source["_origins"] = origins
        source["_where"] = "%s with %s" % (name, " and ".join(files)) if files else name
        return fill_source(self.problems, source, args, source["_where"])

    def read_static_pod(self, needed):
        path = self.params["manifest"]
        if not os.path.exists(path):
            return None
        source = empty_source(path=path, image=None)
        if yaml is None:
            if needed:
                self.module.fail_json(
                    msg=missing_required_lib(
                        "PyYAML",
                        reason="to read %s (install python3-yaml on Debian and Ubuntu, python3-pyyaml on Enterprise Linux)"
                        % path,
                    ),
                    exception=YAML_IMPORT_ERROR,
                )
            source["error"] = "PyYAML is not installed: %s was not read" % path
            self.notes.append("%s exists but was not read: PyYAML is missing (python3-yaml on Debian and Ubuntu, "
                              "python3-pyyaml on Enterprise Linux)." % path)
            return source
        try:
            with open(path, "rb") as fh:
                data = yaml.safe_load(fh)
        except OSError as exc:
            return source_error(self.problems, source,
                                "%s cannot be read: %s: fix its permissions." % (path, to_native(exc)))
        except yaml.YAMLError as exc:
            return source_error(
                self.problems, source,
                "%s is not valid YAML (%s): correct the manifest." % (path, " ".join(to_native(exc).split()))
            )
        container = self.params["container"]
        try:
            argv = flags_from_manifest(data, container)
            source["image"] = manifest_image(data, container)
        except KubeFlagsError as exc:
            return source_error(
                self.problems, source,
                "%s is not a usable static pod manifest: %s; correct the manifest." % (path, exc)
            )
        source["_where"] = path
        return fill_source(self.problems, source, argv, path)
