# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the command-line flags of a Kubernetes control-plane program.

Pure functions (no AnsibleModule) shared by the collection's modules. They
read the three places where kube-apiserver's flags live on a master:

* the distribution packages' sysconfig files (``/etc/kubernetes/config`` and
  ``/etc/kubernetes/apiserver``), read as systemd's ``EnvironmentFile=`` does
  and expanded as ``ExecStart=... $KUBE_API_ARGS`` does;
* a kubeadm static pod manifest (``/etc/kubernetes/manifests/kube-apiserver.yaml``),
  already parsed into a dict by the caller;
* ``/proc/<pid>/cmdline`` of the running process.

Every malformed input raises KubeFlagsError with a message that says what is
wrong and where; nothing here raises anything else on bad data.

Runs on the managed host: Python 3.8 or later, standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
from collections import OrderedDict

from ansible_collections.kubeha.control_plane.plugins.module_utils._systemd_unit import split_env_value


class KubeFlagsError(Exception):
    """A configuration source could not be read as the program reads it."""


# Variable names systemd accepts in an environment file (env_name_is_valid).
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_WHITESPACE = " \t\r"


def _shorten(text, limit=80):
    text = text.rstrip("\n")
    return text if len(text) <= limit else text[:limit - 3] + "..."


def parse_env_file(text):
    """Return the variables of an environment file as systemd reads it.

    Follows systemd's parser (``EnvironmentFile=``, systemd.exec(5)): blank
    lines and lines starting with ``#`` or ``;`` are ignored; ``NAME=value``
    keeps interior whitespace and quotes after the first character of an
    unquoted value and drops leading and trailing whitespace; ``'...'``
    keeps everything verbatim; ``"..."`` recognises the backslash escapes of
    a POSIX shell double-quoted string; both quotes may span lines; a
    backslash at the end of a line continues it. There are no inline
    comments (``A=b # c`` sets ``b # c``).

    Lines systemd would skip (no ``=``, an invalid variable name) and quotes
    left open at the end of the file raise KubeFlagsError naming the line:
    systemd ignores such a line, which silently drops configuration.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if not isinstance(text, str):
        raise KubeFlagsError("expected the text of an environment file, got %s" % type(text).__name__)
    lines = text.split("\n")
    env = OrderedDict()
    n = 0  # index of the next physical line
    while n < len(lines):
        start = n
        line = lines[n]
        n += 1
        stripped = line.lstrip(_WHITESPACE)
        if not stripped or stripped[0] in "#;":
            continue
        name, sep, buf = stripped.partition("=")
        name = name.rstrip(_WHITESPACE)
        if not sep:
            raise KubeFlagsError(
                "line %d: %r is not a NAME=value assignment (systemd ignores this line)" % (start + 1, _shorten(line))
            )
        if not _ENV_NAME.match(name):
            raise KubeFlagsError(
                "line %d: %r: %r is not a valid variable name (systemd ignores this line)"
                % (start + 1, _shorten(line), name)
            )
        value = []
        state = "pre"  # pre (before a value part), plain, single, double
        trailing = 0  # whitespace at the end of a plain value, dropped at the end
        pos = 0
        while True:
            if pos == len(buf):  # end of a physical line
                if state in ("single", "double"):
                    if n == len(lines):
                        raise KubeFlagsError(
                            "line %d: %r: the %s quote is never closed" % (start + 1, _shorten(line), state)
                        )
                    value.append("\n")
                    buf, pos, n = lines[n], 0, n + 1
                    continue
                break
            c = buf[pos]
            pos += 1
            if c == "\\" and state != "single":
                if pos == len(buf):  # backslash-newline: the line continues, both are dropped
                    if n < len(lines):
                        buf, pos, n = lines[n], 0, n + 1
                    continue
                nxt = buf[pos]
                pos += 1
                if state == "double":
                    value.append(nxt if nxt in '"\\`$' else "\\" + nxt)
                else:
                    state = "plain"
                    value.append(nxt)
                    trailing = 0
                continue
            if state == "pre":
                if c in _WHITESPACE:
                    continue
                if c in "'\"":
                    state = "single" if c == "'" else "double"
                    continue
                state = "plain"
            if state == "plain":
                value.append(c)
                trailing = trailing + 1 if c in _WHITESPACE else 0
            elif (state == "single" and c == "'") or (state == "double" and c == '"'):
                state = "pre"
                trailing = 0
            else:
                value.append(c)
        if trailing:
            del value[-trailing:]
        env[name] = "".join(value)
    return env


def sysconfig_argv(env, order):
    """Return the argv words that ``ExecStart=prog $A $B ...`` passes for ``order``.

    An unquoted ``$VAR`` in a unit splits the value on whitespace, quotes
    grouping words (systemd's replace_env_argv); unset or empty variables
    give no word. This is the fallback of apiserver_count where the unit
    itself cannot be read (no systemctl); the unit's own command line is
    expanded by _systemd_unit.expand_exec_argv().
    """
    argv = []
    for name in order:
        value = env.get(name)
        if value:
            argv.extend(split_env_value(value))
    return argv


def flag_of_word(word):
    """The flag name (``_`` as ``-``) of an argument such as ``--name=value``, or None."""
    if not isinstance(word, str) or not word.startswith("-") or word in ("-", "--"):
        return None
    name = word.lstrip("-").partition("=")[0]
    return name.replace("_", "-") or None


def flags_from_argv(argv):
    """Return an ordered dict flag name -> value for the arguments of a kube program.

    ``--flag=value``, ``--flag value`` (when the next word does not start with
    ``-``) and a bare ``--flag`` (value ``"true"``) are accepted; names have
    ``_`` normalised to ``-`` as the kube binaries do; a flag given twice
    keeps the last value (pflag). A word that is neither a flag nor the value
    of the flag before it raises KubeFlagsError.
    """
    if not isinstance(argv, (list, tuple)):
        raise KubeFlagsError("expected a list of arguments, got %s" % type(argv).__name__)
    flags = OrderedDict()
    i = 0
    while i < len(argv):
        word = argv[i]
        i += 1
        if not isinstance(word, str):
            raise KubeFlagsError("argument %d is not a string: %r" % (i, word))
        if word == "--":
            if i < len(argv):
                raise KubeFlagsError("unexpected argument %r after '--'" % argv[i])
            break
        if not word.startswith("-") or word == "-":
            raise KubeFlagsError("unexpected argument %r: not a flag and not the value of a flag" % word)
        body = word[2:] if word.startswith("--") else word[1:]
        name, has_value, value = body.partition("=")
        if not name:
            raise KubeFlagsError("malformed flag %r" % word)
        name = name.replace("_", "-")
        if not has_value:
            if i < len(argv) and isinstance(argv[i], str) and not argv[i].startswith("-"):
                value = argv[i]
                i += 1
            else:
                value = "true"
        flags.pop(name, None)  # the last occurrence also sets the position
        flags[name] = value
    return flags


def _manifest_container(data, container):
    if not isinstance(data, dict):
        raise KubeFlagsError(
            "the manifest is a %s, not a Pod object (a YAML mapping)"
            % ("list" if isinstance(data, list) else type(data).__name__ if data is not None else "empty document")
        )
    kind = data.get("kind")
    if kind != "Pod":
        raise KubeFlagsError("the manifest's kind is %r, not 'Pod'" % (kind,))
    spec = data.get("spec")
    if not isinstance(spec, dict):
        raise KubeFlagsError("the manifest has no spec mapping")
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        raise KubeFlagsError("the manifest has no spec.containers list")
    names = []
    for item in containers:
        if not isinstance(item, dict):
            raise KubeFlagsError("spec.containers holds a %s, not a container mapping" % type(item).__name__)
        if item.get("name") == container:
            return item
        names.append(str(item.get("name")))
    raise KubeFlagsError("spec.containers has no container named %r (found: %s)" % (container, ", ".join(names)))


def _string_list(container, key):
    value = container.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise KubeFlagsError(
            "container %r: %s must be a list of strings, got %r" % (container.get("name"), key, _shorten(repr(value)))
        )
    return list(value)


def flags_from_manifest(data, container="kube-apiserver"):
    """Return the argv (command + args without the program) of a static pod's container.

    ``data`` is the parsed manifest. Without ``command`` the image's entry
    point is the program and ``args`` are its arguments.
    """
    item = _manifest_container(data, container)
    command = _string_list(item, "command")
    args = _string_list(item, "args")
    if not command and not args:
        raise KubeFlagsError("container %r has neither command nor args" % container)
    return command[1:] + args


def manifest_image(data, container="kube-apiserver"):
    """Return the image of the named container of a static pod manifest (or None)."""
    image = _manifest_container(data, container).get("image")
    return image if isinstance(image, str) and image else None


def parse_cmdline(raw):
    """Return the argument list of ``/proc/<pid>/cmdline`` content (bytes).

    Arguments are NUL-terminated; bytes that are not UTF-8 become U+FFFD so
    that the result can always be returned as JSON.
    """
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    if not isinstance(raw, (bytes, bytearray)):
        raise KubeFlagsError("expected the bytes of a cmdline file, got %s" % type(raw).__name__)
    raw = bytes(raw)
    if not raw:
        return []
    if raw.endswith(b"\0"):
        raw = raw[:-1]
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0")]


_INTERPRETER = re.compile(r"^(?:python[0-9.]*|pypy[0-9.]*|(?:ba|da|k|z|a)?sh|perl[0-9.]*|ruby[0-9.]*)$")


def program_args(argv, name):
    """Return the arguments given to program ``name`` in ``argv``, or None if argv runs another program.

    ``argv[0]`` is the program, or an interpreter (python3, sh, ...) running
    the program as a script (``python3 /usr/bin/kube-apiserver --flags``: a
    program with a shebang line).
    """
    if not argv:
        return None
    if os.path.basename(argv[0]) == name:
        return list(argv[1:])
    if len(argv) > 1 and _INTERPRETER.match(os.path.basename(argv[0])) and os.path.basename(argv[1]) == name:
        return list(argv[2:])
    return None


def program_matches(argv, name):
    """Whether ``argv`` (a process's command line) runs program ``name``."""
    return program_args(argv, name) is not None


_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+][0-9A-Za-z.+-]*)?$")


def parse_version(text):
    """Return (major, minor) of a Kubernetes version string or image reference.

    Accepts ``Kubernetes v1.10.13`` (``--version`` output), ``v1.30.0-rc.1``,
    ``1.9`` and image references whose tag is a version
    (``registry.k8s.io/kube-apiserver:v1.30.2``).
    """
    if not isinstance(text, str):
        raise KubeFlagsError("a Kubernetes version must be a string, got %r" % (text,))
    value = text.strip()
    if value.startswith("Kubernetes "):
        value = value[len("Kubernetes "):].strip()
    if "/" in value or ":" in value or "@" in value:
        ref = value.split("@", 1)[0]
        last = ref.rsplit("/", 1)[-1]
        if ":" not in last:
            raise KubeFlagsError("the image %r has no version tag" % text)
        value = last.rsplit(":", 1)[1]
    match = _VERSION.match(value)
    if not match:
        raise KubeFlagsError("%r is not a Kubernetes version (expected e.g. v1.30.2)" % text)
    return int(match.group(1)), int(match.group(2))


RECONCILERS = ("master-count", "lease", "none")


def effective_reconciler(flags, version):
    """Return the endpoint reconciler kube-apiserver runs with these flags.

    ``--endpoint-reconciler-type`` when set (it appeared in 1.9); otherwise
    the default of the version: master-count before 1.11, lease from 1.11 on;
    ``"unknown"`` when the version is None. ``version`` is (major, minor) or
    a version string.
    """
    value = flags.get("endpoint-reconciler-type")
    if value is not None:
        if value not in RECONCILERS:
            raise KubeFlagsError(
                "--endpoint-reconciler-type=%s is not one of %s" % (value, ", ".join(RECONCILERS))
            )
        return value
    if version is None:
        return "unknown"
    if isinstance(version, str):
        version = parse_version(version)
    return "master-count" if tuple(version) < (1, 11) else "lease"


_SECRET = ("token", "password", "key-data")


def is_secret_flag(name):
    """Whether a flag's value must not be shown (name contains token, password, key-data)."""
    name = name.lower().replace("_", "-")
    return any(word in name for word in _SECRET)


MASK = "********"


def mask_flags(flags):
    """Return a copy of ``flags`` with the values of secret-looking flags masked."""
    return OrderedDict((k, MASK if is_secret_flag(k) else v) for k, v in flags.items())


def mask_argv(argv):
    """Return a copy of ``argv`` with the values of secret-looking flags masked."""
    out = []
    hide_next = False
    for word in argv:
        if hide_next and not word.startswith("-"):
            out.append(MASK)
            hide_next = False
            continue
        hide_next = False
        if word.startswith("-"):
            name, has_value, _value = word.lstrip("-").partition("=")
            if is_secret_flag(name):
                if has_value:
                    word = word[:len(word) - len(_value)] + MASK
                else:
                    hide_next = True
        out.append(word)
    return out
