# KUBEHA LAB STAND-IN -- NOT KUBERNETES. See lab/standins/kubeha_standin/__init__.py.
"""The flags each component accepts, per Kubernetes version, and how the real binary
of that version refuses the others.

Driven by one data table, flags.yaml (beside this file; every entry cites the
reference page, release note or PR it comes from). It is read with PyYAML
(python3-yaml on the lab hosts); without PyYAML the package still imports, and the
first use of the table raises FlagDataError saying so.

Parsing follows pflag as the binaries use it: --flag=value, --flag value, a bare
--bool, "_" read as "-" in names (the name in an error message is the one given),
-v as the shorthand of --v, "--" ending the flags. A deprecated flag prints pflag's
"Flag --<name> has been deprecated, <message>" line on stderr when it is set and is
accepted. A refused flag raises FlagRefusal (a core.FlagError) whose text is the
real binary's message; report() turns any FlagError into the version's stderr
text and exit code (pflag's usage and exit 2 in 1.5, cobra / component-base
cli.Run later, klog lines where the real binary logs the error).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import sys
import time

from .core import FlagError, read_version

DATA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "flags.yaml")
FLAGS = ("apiserver", "controller-manager", "kubelet", "proxy", "scheduler")
RECONCILERS = ("master-count", "lease", "none")

NO_VALUE_TYPES = ("bool", "version")  # pflag NoOptDefVal "true": a bare --flag is true
LIST_TYPES = ("stringSlice", "stringArray", "mapStringString", "mapStringBool")  # repeated: values accumulate
ZERO = {"bool": False, "version": False, "int": 0, "int32": 0, "uint": 0, "duration": 0.0}
INT_BITS = {"int": (64, False), "int32": (32, False), "uint": (64, True)}


class FlagDataError(RuntimeError):
    """flags.yaml cannot be read (no PyYAML, or a broken table)."""


class FlagRefusal(FlagError):
    """A flag or value the real binary refuses. phase: "parse" (pflag / cobra while
    parsing), "args" (positional arguments) or "run" (checks after parsing)."""

    def __init__(self, message, phase="parse"):
        super().__init__(message)
        self.phase = phase


# ---------------------------------------------------------------- the table
_TABLE = {}


def load_table(path=None):
    """flags.yaml as Python data (cached for the default path)."""
    key = path or DATA_FILE
    if key in _TABLE:
        return _TABLE[key]
    try:
        import yaml
    except ImportError:
        raise FlagDataError("the kubeha stand-in's flag table %s needs PyYAML "
                            "(Debian: apt-get install python3-yaml)" % key) from None
    try:
        with open(key) as fh:
            data = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as err:
        raise FlagDataError("cannot read the flag table %s: %s" % (key, err)) from None
    if not isinstance(data, dict) or set(data.get("components") or {}) != set(FLAGS):
        raise FlagDataError("%s: components must be exactly %s" % (key, ", ".join(FLAGS)))
    _TABLE[key] = data
    return data


def component_entries(component):
    """{flag name: table entry} of a component, its groups (e.g. logging) included."""
    data = load_table()
    if component not in data["components"]:
        raise KeyError(component)
    comp = data["components"][component]
    entries = {}
    for group in comp.get("include") or ():
        entries.update(data["groups"][group])
    entries.update(comp["flags"])
    return entries


def program(component):
    return load_table()["components"][component]["program"]


# ---------------------------------------------------------------- versions
def version_key(text):
    parts = [int(p) for p in str(text).split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def in_range(entry, version):
    """Whether version lies in entry's since (inclusive) .. until (inclusive: "1.23"
    covers every 1.23.x, "1.9.3" only up to that patch release)."""
    if entry.get("since") is not None and tuple(version) < version_key(entry["since"]):
        return False
    until = entry.get("until")
    if until is not None:
        if len(str(until).split(".")) >= 3:
            return tuple(version) <= version_key(until)
        return tuple(version)[:2] <= version_key(until)[:2]
    return True


def exists(entry, version):
    """Whether the flag is registered in that version."""
    if entry.get("since") is not None and tuple(version) < version_key(entry["since"]):
        return False
    if entry.get("removed") is not None and tuple(version) >= version_key(entry["removed"]):
        return False
    return not any(in_range(gap, version) for gap in entry.get("gaps") or ())


def pick(entries, version):
    """The entry covering version, else the nearest earlier one, else the first."""
    entries = list(entries or ())
    for entry in entries:
        if in_range(entry, version):
            return entry
    earlier = [e for e in entries if e.get("since") is None or version_key(e["since"]) <= tuple(version)]
    if earlier:
        return max(earlier, key=lambda e: version_key(e.get("since") or "0"))
    return entries[0] if entries else {}


# ---------------------------------------------------------------- Go's parsers
_GO_BOOL = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
            "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}


def go_quote(text):
    """Go's %q of a string (strconv.Quote), for the printable text flags carry."""
    return json.dumps(text, ensure_ascii=False)


def go_parse_bool(text):
    if text not in _GO_BOOL:
        raise ValueError("strconv.ParseBool: parsing %s: invalid syntax" % go_quote(text))
    return _GO_BOOL[text]


def go_parse_int(text, bits=64, unsigned=False):
    """strconv.ParseInt(s, 0, bits) / ParseUint: sign, 0x/0o/0b/0 prefixes, '_' separators."""
    func = "strconv.ParseUint" if unsigned else "strconv.ParseInt"
    syntax = ValueError("%s: parsing %s: invalid syntax" % (func, go_quote(text)))
    body, sign = text, 1
    if not unsigned and body[:1] in "+-" and body:
        sign, body = (-1 if body[0] == "-" else 1), body[1:]
    base, digits = 10, body
    low = body.lower()
    if low.startswith(("0x", "0o", "0b")):
        base, digits = {"x": 16, "o": 8, "b": 2}[low[1]], body[2:]
    elif len(body) > 1 and body.startswith("0"):
        base, digits = 8, body[1:]
    if "_" in digits:  # allowed between digits with a base prefix (base 0)
        if digits.startswith("_") or digits.endswith("_") or "__" in digits:
            raise syntax
        digits = digits.replace("_", "")
    if not digits:
        raise syntax
    try:
        value = sign * int(digits, base)
    except ValueError:
        raise syntax from None
    low_bound, high_bound = (0, 2 ** bits - 1) if unsigned else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    if not low_bound <= value <= high_bound:
        raise ValueError("%s: parsing %s: value out of range" % (func, go_quote(text)))
    return value


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def go_parse_duration(text, quoted=True):
    """time.ParseDuration, in seconds. Go 1.15+ quotes the text in its errors."""
    show = go_quote(text) if quoted else text
    invalid = ValueError("time: invalid duration %s" % show)
    body, sign = text, 1.0
    if body[:1] in "+-" and body:
        sign, body = (-1.0 if body[0] == "-" else 1.0), body[1:]
    if body == "0":
        return 0.0
    if not body:
        raise invalid
    total, pos = 0.0, 0
    while pos < len(body):
        match = re.match(r"(\d*)(?:\.(\d*))?", body[pos:])
        whole, frac = match.group(1), match.group(2)
        if not whole and not frac:
            raise invalid
        pos += match.end()
        unit = re.match(r"[^\d.]*", body[pos:]).group(0)
        if not unit:
            raise ValueError("time: missing unit in duration %s" % show)
        if unit not in _DURATION_UNITS:
            raise ValueError("time: unknown unit %s in duration %s"
                             % (go_quote(unit) if quoted else unit, show))
        pos += len(unit)
        total += float((whole or "0") + "." + (frac or "0")) * _DURATION_UNITS[unit]
    return sign * total


def go_parse_ip(text):
    """net.ParseIP(strings.TrimSpace(s)) as pflag's ip flags use it."""
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise ValueError("failed to parse IP: %s" % go_quote(text)) from None


def convert(kind, text, version):
    """A flag value as the stand-in keeps it (durations in seconds, lists as the
    comma-joined string); ValueError carries Go's error text."""
    if kind == "bool":
        return go_parse_bool(text)
    if kind == "version":  # verflag: true, false or raw
        return "raw" if text == "raw" else go_parse_bool(text)
    if kind in INT_BITS:
        bits, unsigned = INT_BITS[kind]
        return go_parse_int(text, bits, unsigned)
    if kind == "duration":
        quoted = tuple(version) >= version_key(load_table()["syntax"]["duration_quoted_since"])
        return go_parse_duration(text, quoted)
    if kind == "ip":
        go_parse_ip(text)
        return text.strip()
    return text


def _default(entry, version):
    value = entry.get("default")
    if isinstance(value, list):
        value = pick(value, version).get("value")
    if value is None:
        return ZERO.get(entry["type"], "")
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    if entry["type"] == "duration":
        return go_parse_duration(str(value))
    if entry["type"] in INT_BITS or entry["type"] == "bool":
        return value
    return str(value)


# ---------------------------------------------------------------- public interface
def flag_spec(component, version):
    """{flag name: type} of the flags the component accepts in that version."""
    return {name: entry["type"] for name, entry in component_entries(component).items() if exists(entry, version)}


def flag_defaults(component, version):
    """The options before any flag is parsed. Every flag of the table has its key: a
    flag the version has carries its default, one it lacks its `absent` value (what
    that binary does without it, e.g. no insecure port from 1.24), an alias none."""
    opts = {}
    for name, entry in component_entries(component).items():
        if entry.get("alias_of"):
            continue
        if exists(entry, version):
            opts[name] = _default(entry, version)
        elif "absent" in entry:
            opts[name] = entry["absent"]
        else:
            opts[name] = ZERO.get(entry["type"], "")
    return opts


def error_style(component, version):
    return pick(load_table()["errors"][component], version)


def _invalid_argument(version, value, arg, name, error, shorthand=None):
    form = pick(load_table()["syntax"]["invalid_argument"], version)["format"]
    flag = "-%s, --%s" % (shorthand, name) if shorthand else "--" + name
    out = form
    for token, text in (("{value}", go_quote(value)), ("{flag}", go_quote(flag)), ("{arg}", arg), ("{error}", error)):
        out = out.replace(token, text)
    return out


def parse_flags(component, argv, version=None):
    """The component's options from argv, as that version of the binary parses them:
    {option name: value}, defaults of the version filled in (see flag_defaults).
    Raises FlagRefusal with the real binary's message for a flag or value it refuses;
    prints pflag's deprecation line on stderr for each deprecated flag set."""
    version = version or read_version()
    entries = component_entries(component)
    spec = {name: entry for name, entry in entries.items() if exists(entry, version)}
    shorthands = {entry["shorthand"]: name for name, entry in spec.items() if entry.get("shorthand")}
    opts = flag_defaults(component, version)
    given, positional = set(), []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            positional.extend(argv[i:])
            break
        if len(arg) < 2 or not arg.startswith("-"):
            positional.append(arg)
            continue
        shorthand = None
        if arg.startswith("--"):
            body = arg[2:]
            if not body or body[0] in "-=":
                raise FlagRefusal("bad flag syntax: %s" % arg)
            raw, eq, value = body.partition("=")
            name = raw.replace("_", "-")
            if name not in spec:
                raise FlagRefusal("unknown flag: --%s" % raw)
        else:
            body = arg[1:]
            name = shorthands.get(body[0])
            if name is None:
                raise FlagRefusal("unknown shorthand flag: '%s' in -%s" % (body[0], body))
            shorthand, rest = body[0], body[1:]
            eq, value = ("=", rest[1:]) if rest.startswith("=") else (("=", rest) if rest else ("", ""))
        entry = spec[name]
        kind = entry["type"]
        if not eq:
            if kind in NO_VALUE_TYPES:
                value = "true"
            elif i < len(argv):
                value = argv[i]
                i += 1
            elif shorthand:
                raise FlagRefusal("flag needs an argument: '%s' in -%s" % (shorthand, shorthand))
            else:
                raise FlagRefusal("flag needs an argument: %s" % arg)
        try:
            parsed = convert(kind, value, version)
        except ValueError as err:
            raise FlagRefusal(_invalid_argument(version, value, arg, name, str(err), shorthand)) from None
        key = entry.get("alias_of") or name
        if kind in LIST_TYPES and key in given and opts.get(key):
            parsed = "%s,%s" % (opts[key], parsed)
        opts[key] = parsed
        given.add(key)
        for dep in entry.get("deprecated") or ():
            if in_range(dep, version):
                sys.stderr.write("Flag --%s has been deprecated, %s\n" % (name, dep["message"]))
                sys.stderr.flush()
    if positional:
        _check_positional(component, version, positional)
    return opts


def _check_positional(component, version, args):
    """pflag (1.5) leaves positional arguments to the program, which ignores them; the
    cobra commands refuse them (kubelet: "unknown command")."""
    style = error_style(component, version)
    if style.get("style") == "pflag":
        return
    if style.get("parse_in_run"):
        raise FlagRefusal("unknown command %s" % args[0], phase="run")
    raise FlagRefusal("%s does not take any arguments, got [%s]"
                      % (go_quote(program(component)), " ".join(go_quote(a) for a in args)), phase="args")


def aggregate(messages):
    """apimachinery's utilerrors.NewAggregate(errs).Error(): one message as is, more
    as "[a, b]" (duplicates dropped)."""
    unique = []
    for msg in messages:
        if msg not in unique:
            unique.append(msg)
    return unique[0] if len(unique) == 1 else "[%s]" % ", ".join(unique)


def check_flags(component, opts, version=None):
    """The checks the binary makes after parsing (its Run): a constraint with order 0
    is checked first and alone (kube-apiserver's checkNonZeroInsecurePort runs before
    Validate), the others are collected and reported together, as Validate does.
    Raises FlagRefusal(phase="run") with the real message."""
    version = version or read_version()
    found = []
    for name, entry in component_entries(component).items():
        if not exists(entry, version):
            continue
        key = entry.get("alias_of") or name
        for rule in entry.get("constraints") or ():
            if not in_range(rule, version):
                continue
            for message in _violations(rule, key, opts):
                found.append((rule.get("order", 1), message))
    first = [m for order, m in found if order == 0]
    if first:
        raise FlagRefusal(first[0], phase="run")
    rest = [m for _order, m in sorted(found, key=lambda item: item[0])]
    if rest:
        raise FlagRefusal(aggregate(rest), phase="run")


def _violations(rule, key, opts):
    kind = rule["rule"]
    if kind == "zero":
        if opts.get(key):
            yield rule["message"].replace("{value}", str(opts[key]))
    elif kind == "required":
        if not opts.get(key):
            yield rule["message"]
    elif kind == "token_request":  # kube-apiserver validateTokenRequest
        signing, issuer = opts.get("service-account-signing-key-file"), opts.get("service-account-issuer")
        attempted = bool(signing or issuer or opts.get("api-audiences"))
        if not attempted:
            yield rule["messages"]["missing"]
        elif not (signing and issuer):
            yield rule["messages"]["incomplete"]
    else:
        raise FlagDataError("unknown constraint rule %r" % kind)


# ---------------------------------------------------------------- what the binary prints
def usage_text(component, version, argv0, style):
    spec = {name: entry for name, entry in component_entries(component).items() if exists(entry, version)}
    lines = []
    for name in sorted(spec):
        entry = spec[name]
        kind = "" if entry["type"] in NO_VALUE_TYPES else " " + entry["type"]
        short = "-%s, " % entry["shorthand"] if entry.get("shorthand") else "    "
        lines.append("  %s--%s%s\n" % (short, name, kind))
    if style == "pflag":
        return "Usage of %s:\n%s" % (argv0 or program(component), "".join(lines))
    return "Usage:\n  %s [flags]\n\nFlags:\n%s" % (program(component), "".join(lines))


def klog_line(severity, site, text, now=None, pid=None):
    """A klog text line: Lmmdd hh:mm:ss.uuuuuu <pid, 7 wide> file:line] text."""
    now = time.time() if now is None else now
    t = time.localtime(now)
    return "%s%02d%02d %02d:%02d:%02d.%06d %7d %s] %s\n" % (
        severity, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, int(now % 1 * 1e6),
        os.getpid() if pid is None else pid, site, text)


def report(component, version, err, argv0="", now=None, pid=None):
    """(stderr text, exit code) of the real binary for a FlagError: a FlagRefusal in
    its phase, any other FlagError (a start-up error of another module) as a run error."""
    style = error_style(component, version)
    kind = style.get("style", "cobra")
    phase = getattr(err, "phase", "run")
    message = str(err)
    if phase == "parse" and style.get("parse_in_run"):
        phase, message = "run", style.get("parse_prefix", "") + message
    usage = usage_text(component, version, argv0, kind)
    if kind == "pflag":
        return ("%s\n%s" % (message, usage), 2) if phase == "parse" else (message + "\n", 1)
    if kind == "cobra":
        if phase == "parse":
            return "Error: %s\n%s" % (message, usage + "\n" if style.get("usage") else ""), 1
        return style.get("run_format", "Error: {message}").replace("{message}", message) + "\n", 1
    if kind == "cli-run":
        if phase == "parse":
            return "%sError: %s\n" % (usage + "\n" if style.get("usage") else "", message), 1
        if phase == "args" and style.get("args_error") != "klog":
            return "Error: %s\n" % message, 1
        return klog_line("E", style["run_site"], '"command failed" err=%s' % go_quote(message), now, pid), 1
    if kind == "klog-fatal":
        return klog_line("F", style["parse_site"], message, now, pid), 255
    if kind == "klog-usage":
        if phase == "parse":
            text = '"%s" err=%s' % (style["parse_message"], go_quote(message))
            return klog_line("E", style["parse_site"], text, now, pid) + usage, 1
        return klog_line("E", style["parse_site"], message, now, pid), 1
    raise FlagDataError("unknown error style %r" % kind)
