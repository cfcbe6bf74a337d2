# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a systemd service the way systemd starts it (private to the collection).

Pure functions (no AnsibleModule, no subprocess) that turn what
``systemctl show UNIT -p ...`` prints, the unit's files and its environment
into the command line systemd would execute:

* ``parse_show`` reads ``systemctl show`` output; ``parse_exec_property``,
  ``parse_environment_files`` and ``parse_strv`` read the values of
  ``ExecStart=``, ``EnvironmentFiles=`` and the string-list properties
  (``Environment=``, ``DropInPaths=``) as systemd 239 (EL 8) and 252
  (Debian 12, EL 9) print them;
* ``parse_unit_files`` reads the unit file and its drop-ins (only
  ``ExecStart=`` and ``Environment=``), to recover the exact words of the
  command line, which ``systemctl show`` joins with spaces;
* ``expand_exec_argv`` expands ``$VAR`` and ``${VAR}`` as systemd does when
  it executes the command (``replace_env_argv`` in src/basic/env-util.c).

Malformed input raises SystemdUnitError with a message that says what is
wrong. Runs on the managed host: Python 3.8 or later, standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re


class SystemdUnitError(Exception):
    """What systemctl printed, or a unit file, cannot be read as systemd reads it."""


# The properties apiserver_count asks for (systemctl show -p NAME ...).
SHOW_PROPERTIES = (
    "Id", "LoadState", "FragmentPath", "DropInPaths", "NeedDaemonReload",
    "User", "Group", "Environment", "EnvironmentFiles", "ExecStart",
)

# systemd's WHITESPACE (src/basic/string-util.h).
WHITESPACE = " \t\n\r"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
UNPRINTABLE = "[unprintable]"


def env_name_is_valid(name):
    """systemd's env_name_is_valid(): letters, digits and _, not starting with a digit."""
    return bool(_ENV_NAME.match(name))


# -- systemctl show ------------------------------------------------------------------


def parse_show(text, properties=SHOW_PROPERTIES):
    """Return {property: [value, ...]} from the output of ``systemctl show -p ...``.

    systemctl prints ``Name=value`` lines in the order the manager returns the
    properties (not the order of ``-p``). ``ExecStart=`` and
    ``EnvironmentFiles=`` print one line per command or file. A value may
    contain a newline (systemctl prints the words of ``argv[]`` as they are),
    so a line that does not start with one of ``properties`` continues the
    value before it.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if not isinstance(text, str):
        raise SystemdUnitError("expected the text printed by systemctl show, got %s" % type(text).__name__)
    if text.endswith("\n"):
        text = text[:-1]
    result = {}
    last = None
    for line in text.split("\n") if text else []:
        name, sep, value = line.partition("=")
        if sep and name in properties:
            result.setdefault(name, []).append(value)
            last = name
        elif sep and _PROPERTY.match(name) and last not in _RAW_VALUES:
            last = None  # a property that was not asked for
        elif last is not None:
            result[last][-1] += "\n" + line
        elif line.strip():
            raise SystemdUnitError("systemctl show printed %r, which is not a NAME=value line" % line[:80])
    return result


_PROPERTY = re.compile(r"^[A-Z][A-Za-z0-9]*$")
# Properties whose value systemctl prints as it is, a newline included.
_RAW_VALUES = ("ExecStart",)


def show_value(props, name):
    """The single value of a property (the last line), '' when it was not printed."""
    values = props.get(name) or [""]
    return values[-1]


# systemctl-show.c prints every ExecStart= command as
#   { path=%s ; argv[]=%s ; ignore_errors=%s ; start_time=[%s] ; stop_time=[%s] ; pid=%u ; code=%s ; status=%i%s%s }
# (ExecStartEx=: "flags=%s" instead of "ignore_errors=%s"), argv[] being the
# words joined with one space and no quoting; "n/a" when a field is NULL.
_EXEC = re.compile(
    r"^\{ path=(?P<path>.*?) ; argv\[\]=(?P<argv>.*) ; "
    r"(?:ignore_errors=(?P<ignore>yes|no)|flags=(?P<flags>[^;]*)) ; start_time=\[",
    re.S,
)


def parse_exec_property(value):
    """Read one ``ExecStart=`` value of ``systemctl show``.

    Returns a dict: ``path``, ``argv`` (the words, split on the single spaces
    systemctl joined them with, still holding ``$VAR``), ``argv_text`` (as
    printed) and ``ignore_errors`` (bool, or None for ``ExecStartEx=``).
    """
    match = _EXEC.match(value)
    if not match:
        raise SystemdUnitError(
            "ExecStart=%r is not what systemctl show prints for a command "
            "('{ path=... ; argv[]=... ; ignore_errors=... ; ... }')" % value[:120]
        )
    argv_text = match.group("argv")
    argv = [] if argv_text in ("", "n/a") else argv_text.split(" ")
    ignore = match.group("ignore")
    return dict(
        path=match.group("path"),
        argv=argv,
        argv_text=argv_text,
        ignore_errors=None if ignore is None else ignore == "yes",
    )


# bus_print_property for EnvironmentFiles (systemctl-show.c): "%s (ignore_errors=%s)".
_ENV_FILE = re.compile(r"^(?P<path>.*) \(ignore_errors=(?P<ignore>yes|no)\)$", re.S)


def parse_environment_files(values):
    """Read the ``EnvironmentFiles=`` lines: a list of (path, ignore_errors)."""
    files = []
    for value in values:
        if not value:
            continue
        match = _ENV_FILE.match(value)
        if not match:
            raise SystemdUnitError(
                "EnvironmentFiles=%r is not what systemctl show prints ('PATH (ignore_errors=yes|no)')" % value[:120]
            )
        files.append((match.group("path"), match.group("ignore") == "yes"))
    return files


_C_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def parse_strv(value):
    """Read a string-list property (``Environment=``, ``DropInPaths=``).

    systemctl prints the strings separated by one space. systemd 252 quotes a
    string that needs it as ``"..."`` with ``\\"``, ``\\\\``, ``\\``` and ``\\$``
    escaped and control characters C-escaped (``shell_maybe_quote``); systemd
    239 prints ``[unprintable]`` for a string containing a space or a newline.
    Such a string is returned as None.
    """
    words = []
    i, n = 0, len(value)
    while i < n:
        if value[i] == " ":
            i += 1
            continue
        if value[i] == '"':
            out = []
            i += 1
            while True:
                if i >= n:
                    raise SystemdUnitError("unterminated quote in %r" % value[:120])
                c = value[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\" and i + 1 < n:
                    nxt = value[i + 1]
                    if nxt in _C_ESCAPES:
                        out.append(_C_ESCAPES[nxt])
                        i += 2
                    elif nxt == "x" and re.match(r"[0-9a-fA-F]{2}", value[i + 2:i + 4]):
                        out.append(chr(int(value[i + 2:i + 4], 16)))
                        i += 4
                    else:
                        out.append(nxt)
                        i += 2
                    continue
                out.append(c)
                i += 1
            words.append("".join(out))
        else:
            end = value.find(" ", i)
            end = n if end == -1 else end
            word = value[i:end]
            words.append(None if word == UNPRINTABLE else word)
            i = end
    return words


# -- systemd's word splitting -----------------------------------------------------------


def _cunescape_one(text, pos):
    """systemd's cunescape_one() at text[pos] (just after a backslash): (char, length) or None."""
    c = text[pos:pos + 1]
    if not c:
        return None
    simple = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
              "\\": "\\", '"': '"', "'": "'", "s": " "}
    if c in simple:
        return simple[c], 1
    if c == "x":
        digits = text[pos + 1:pos + 3]
        if re.match(r"^[0-9a-fA-F]{2}$", digits) and int(digits, 16) != 0:
            return chr(int(digits, 16)), 3
        return None
    if c in "uU":
        width = 4 if c == "u" else 8
        digits = text[pos + 1:pos + 1 + width]
        if re.match(r"^[0-9a-fA-F]{%d}$" % width, digits):
            code = int(digits, 16)
            if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
                return chr(code), 1 + width
        return None
    if c in "01234567":
        digits = text[pos:pos + 3]
        if re.match(r"^[0-7]{3}$", digits):
            code = int(digits, 8)
            if 0 < code <= 255:
                return chr(code), 3
        return None
    return None


def _extract(text, unquote, cunescape, relax, unescape_relax):
    """extract_first_word() in a loop: a list of (word, start, end), end excluded, as spans of ``text``."""
    words = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in WHITESPACE:
            i += 1
        if i >= n:
            return words
        start = i
        out = []
        quote = None
        while i < n:
            c = text[i]
            if c == "\\":
                if i + 1 >= n:
                    if unescape_relax and (quote is None or relax):
                        out.append("\\")
                    elif not relax:
                        raise SystemdUnitError("%r ends with a backslash" % text[:120])
                    i += 1
                    break
                if cunescape:
                    decoded = _cunescape_one(text, i + 1)
                    if decoded is not None:
                        out.append(decoded[0])
                        i += 1 + decoded[1]
                        continue
                    if not unescape_relax:
                        raise SystemdUnitError("invalid escape sequence %r in %r" % (text[i:i + 2], text[:120]))
                    out.append("\\" + text[i + 1])
                else:
                    out.append(text[i + 1])
                i += 2
                continue
            if quote is not None:
                if c == quote:
                    quote = None
                else:
                    out.append(c)
                i += 1
                continue
            if unquote and c in "'\"":
                quote = c
                i += 1
                continue
            if c in WHITESPACE:
                break
            out.append(c)
            i += 1
        if quote is not None and not relax:
            raise SystemdUnitError("unbalanced quoting in %r" % text[:120])
        words.append(("".join(out), start, i))


def extract_words(text, unquote=True, cunescape=False, relax=False, unescape_relax=False):
    """Split ``text`` into words as systemd's extract_first_word() does, repeatedly.

    Separators are whitespace, runs of them count as one. With ``unquote``,
    ``'...'`` and ``"..."`` (also inside a word) group and are removed, and an
    empty ``""`` is a word. A backslash escapes the next character, also inside
    quotes; with ``cunescape`` C escapes (``\\n``, ``\\x41``, ``\\s``...) are
    decoded, and an unknown one is an error unless ``unescape_relax`` (then
    the backslash is kept). ``relax`` accepts an unterminated quote and a final
    backslash. Raises SystemdUnitError where systemd fails.
    """
    return [word for word, _start, _end in _extract(text, unquote, cunescape, relax, unescape_relax)]


def split_env_value(value):
    """The words an unquoted ``$VAR`` of ``ExecStart=`` gives for ``value``.

    systemd splits the value at whitespace with EXTRACT_RELAX|EXTRACT_UNQUOTE
    (replace_env_argv in src/basic/env-util.c, the same in 239 and 252):
    quotes group words and are removed, a backslash escapes the next
    character, an unterminated quote is accepted.
    """
    return extract_words(value, unquote=True, cunescape=False, relax=True)


# -- ExecStart= expansion --------------------------------------------------------------------


def _replace_env(word, env, used):
    """systemd's replace_env() with no flags: ``${VAR}`` -> value, ``$$`` -> ``$``, the rest literal."""
    out = []
    i, n = 0, len(word)
    while i < n:
        c = word[i]
        if c != "$" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        nxt = word[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
            continue
        if nxt != "{":
            out.append("$")
            i += 1
            continue
        j = i + 2
        while j < n and word[j] not in "}:":
            j += 1
        if j >= n:  # "${VAR" never closed: kept as it is
            out.append(word[i:])
            break
        if word[j] == ":":  # ${VAR:-x} is not supported there: kept as it is
            out.append(word[i:j + 1])
            i = j + 1
            continue
        name = word[i + 2:j]
        used.append(name)
        out.append(env.get(name, "") if env_name_is_valid(name) else "")
        i = j + 1
    return "".join(out)


def expand_exec_argv(argv, env):
    """Expand the words of an ``ExecStart=`` command as systemd does before executing it.

    A word that is ``$VAR`` (and not ``${...}`` or ``$$...``) becomes the
    words of the variable's value split by split_env_value(); an unset or
    empty variable gives no word. Otherwise ``${VAR}`` inside a word is
    replaced by the value as it is (one word, possibly empty), ``$$`` by
    ``$``. ``env`` is the unit's environment (Environment=, then the
    EnvironmentFile= files). Returns a list of (word, names), ``names`` being
    the variables the word came from.
    """
    result = []
    for word in argv:
        if word.startswith("$") and word[1:2] not in ("{", "$"):
            name = word[1:]
            value = env.get(name) if env_name_is_valid(name) else None
            if value:
                result.extend((w, (name,)) for w in split_env_value(value))
            continue
        used = []
        result.append((_replace_env(word, env, used), tuple(used)))
    return result


def referenced_variables(argv):
    """The variable names an ``ExecStart=`` command refers to, in order."""
    names = []
    for word in argv:
        if word.startswith("$") and word[1:2] not in ("{", "$"):
            found = [word[1:]]
        else:
            found = []
            _replace_env(word, {}, found)
        for name in found:
            if name not in names and env_name_is_valid(name):
                names.append(name)
    return names


# -- unit files -----------------------------------------------------------------------------


def _unit_lines(text):
    """The logical lines of a unit file, as systemd's config_parse() joins them: (line number, text)."""
    lines = []
    continuation = None
    start = 0
    for number, raw in enumerate(text.split("\n"), 1):
        raw = raw.rstrip("\r")
        stripped = raw.lstrip(WHITESPACE)
        if stripped and stripped[0] in "#;":
            continue
        current = raw if continuation is None else continuation + raw
        if continuation is None:
            start = number
        escaped = False
        for c in current:
            escaped = not escaped if c == "\\" else False
        if escaped:  # a final backslash: replaced by a space, the next line appended
            continuation = current[:-1] + " "
            continue
        continuation = None
        lines.append((start, current))
    if continuation is not None:
        lines.append((start, continuation))
    return lines


def parse_unit_text(text):
    """The assignments of a unit file: a list of (section, key, value, line number)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    assignments = []
    section = None
    for number, line in _unit_lines(text):
        line = line.strip(WHITESPACE)
        if not line:
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise SystemdUnitError("line %d: invalid section header %r" % (number, line[:80]))
            section = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise SystemdUnitError("line %d: %r has no '='" % (number, line[:80]))
        if section is None:
            continue  # systemd ignores an assignment outside a section
        assignments.append((section, key.strip(WHITESPACE), value.strip(WHITESPACE), number))
    return assignments


_EXEC_PREFIXES = "-@:+!"
_SPECIFIER = re.compile(r"%[^%]")


def _exec_words(value, unescape_relax):
    """The words of an ExecStart= value up to a separating ``;``, and whether one was found."""
    words = []
    for word, start, end in _extract(value, True, True, False, unescape_relax):
        raw = value[start:end]
        if raw == ";":  # an unquoted lone semicolon separates commands
            return words, True
        words.append(";" if raw == "\\;" else word)
    return words, False


def parse_exec_line(value):
    """Read an ``ExecStart=`` value of a unit file as config_parse_exec() does.

    Words are split with EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE (an unknown escape
    keeps its backslash, as systemd does after warning). Returns a dict:
    ``path``, ``argv`` (argv[0] is the path unless the ``@`` prefix gives
    one), ``no_env_expand`` (the ``:`` prefix) and ``exact``: False when the
    words hold unit specifiers (``%n``...) or several commands (``;``), which
    this parser does not resolve.
    """
    try:
        words, more = _exec_words(value, False)
    except SystemdUnitError:
        words, more = _exec_words(value, True)
    if not words:
        raise SystemdUnitError("ExecStart=%r has no command" % value[:120])
    exact = not more
    first = words[0]
    prefixes = ""
    while first and first[0] in _EXEC_PREFIXES:
        prefixes += first[0]
        first = first[1:]
    args = words[1:]
    for word in [first] + args:
        if _SPECIFIER.search(word.replace("%%", "")):
            exact = False
    path = first.replace("%%", "%")
    args = [a.replace("%%", "%") for a in args]
    argv = args if "@" in prefixes else [path] + args
    return dict(path=path, argv=argv, no_env_expand=":" in prefixes, exact=exact)


def parse_unit_files(texts):
    """The effective ``ExecStart=`` and ``Environment=`` of a unit and its drop-ins.

    ``texts`` is a list of (path, text): the unit file first, then each
    drop-in in the order systemd applies them. An empty ``ExecStart=`` or
    ``Environment=`` resets the list, as in systemd. Returns a dict:
    ``exec_start`` (a list of parse_exec_line() results, each with ``source``,
    the file that set it) and ``environment`` (a list of NAME=value strings,
    later ones overriding earlier ones, in systemd's config_parse_environ()
    order; invalid assignments are left out as systemd leaves them out).
    """
    exec_start = []
    environment = []
    for path, text in texts:
        for section, key, value, number in parse_unit_text(text):
            if section != "Service":
                continue
            if key == "ExecStart":
                if not value:
                    exec_start = []
                    continue
                try:
                    command = parse_exec_line(value)
                except SystemdUnitError as exc:
                    raise SystemdUnitError("%s line %d: %s" % (path, number, exc))
                command["source"] = path
                exec_start.append(command)
            elif key == "Environment":
                if not value:
                    environment = []
                    continue
                try:
                    words = extract_words(value, unquote=True, cunescape=True, unescape_relax=True)
                except SystemdUnitError as exc:
                    raise SystemdUnitError("%s line %d: %s" % (path, number, exc))
                for word in words:
                    name, sep, _value = word.partition("=")
                    if not sep or not env_name_is_valid(name) or "%" in word:
                        continue
                    environment = [e for e in environment if e.partition("=")[0] != name] + [word]
    return dict(exec_start=exec_start, environment=environment)


def environment_dict(assignments):
    """{NAME: value} of NAME=value strings, later ones overriding earlier ones."""
    env = {}
    for item in assignments:
        name, sep, value = item.partition("=")
        if sep and env_name_is_valid(name):
            env[name] = value
    return env
