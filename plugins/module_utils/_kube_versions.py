# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which Kubernetes versions accept the flags the roles write (private to the collection).

Pure functions and one table, RULES: each rule says from which version a flag of
a component is refused, unknown, has no effect, or is not yet known, and names its
source (a reference page, a CHANGELOG-1.x.md entry or a pull request) in a comment
beside it. ``flag_problems`` checks a dict of flags against a version and returns
one sentence per problem; ``flag_aliases`` finds the deprecated aliases of the
flags the roles manage. The filters of plugins/filter/kube_versions.py call them.

The table covers the flags the roles write (roles/apiserver ``__apiserver_flags_managed``
and what ``apiserver_extra_args`` commonly carries, roles/leader_election, roles/kube_clients)
and the flags of the distribution packages' sysconfig files the roles keep
(``--logtostderr``, ``--allow-privileged``). A flag without a rule has no known
version constraint between 1.5 and 1.37: --etcd-servers, --etcd-cafile,
--etcd-certfile, --etcd-keyfile, --advertise-address, --secure-port,
--bind-address, --apiserver-count (deprecated, still accepted), --service-account-key-file,
--tls-cert-file, --tls-private-key-file, --leader-elect, --leader-elect-lease-duration,
--leader-elect-renew-deadline, --leader-elect-retry-period, --master (kube-scheduler,
kube-controller-manager, kube-proxy), --service-account-private-key-file.

Python 3.8 or later, standard library only (also usable by modules).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections import namedtuple

COMPONENTS = ("kube-apiserver", "kube-scheduler", "kube-controller-manager", "kubelet", "kube-proxy")
APISERVER = ("kube-apiserver",)
KUBELET = ("kubelet",)
# The newest version the table was checked against (CHANGELOG-1.37.md, v1.37.0-alpha.1).
NEWEST_CHECKED = (1, 37)


class KubeVersionsError(ValueError):
    """A version, component or flag value that cannot be checked."""


KubeVersion = namedtuple("KubeVersion", "major minor text")

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+][0-9A-Za-z.+-]*)?$")


def parse_kube_version(value):
    """A KubeVersion of ``v1.30.2``, ``1.5.2``, ``Kubernetes v1.10.13`` or an image reference with a version tag.

    ``text`` is the version as shown in messages, with a leading ``v`` (``v1.5.2``).
    """
    if not isinstance(value, str):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise KubeVersionsError(
                "%r is a number, not a version string: quote the version in YAML ('1.10', not 1.10, which is 1.1)"
                % (value,)
            )
        raise KubeVersionsError("a Kubernetes version must be a string, got %s %r" % (type(value).__name__, value))
    text = value.strip()
    if text.startswith("Kubernetes "):
        text = text[len("Kubernetes "):].strip()
    if "/" in text or ":" in text or "@" in text:
        last = text.split("@", 1)[0].rsplit("/", 1)[-1]
        if ":" not in last:
            raise KubeVersionsError("the image %r has no version tag" % value)
        text = last.rsplit(":", 1)[1]
    match = _VERSION.match(text)
    if not match:
        raise KubeVersionsError("%r is not a Kubernetes version (expected e.g. v1.30.2, 1.5.2 or "
                                "registry.k8s.io/kube-apiserver:v1.30.2)" % value)
    return KubeVersion(int(match.group(1)), int(match.group(2)), "v" + text.lstrip("v"))


def _show(version):
    return "%d.%d" % version


Rule = namedtuple("Rule", "components flag kind since until accepts why hint")
# kind:
#   added    the flag is unknown before ``since``: the component refuses to start
#   removed  the flag is unknown from ``since`` on: the component refuses to start
#   refused  from ``since`` (until ``until``, exclusive) the component refuses values for which
#            ``accepts(value)`` is false: ``why`` says what it accepts
#   inert    from ``since`` until ``until`` the component accepts the flag but ignores it


def _rule(components, flag, kind, since, until=None, accepts=None, why="", hint=""):
    return Rule(components, flag, kind, since, until, accepts, why, hint)


_INSECURE_HINT = "set apiserver_insecure_bind_address to '' and use the secure port"
_KLOG_FLAGS = ("add-dir-header", "alsologtostderr", "log-backtrace-at", "log-dir", "log-file", "log-file-max-size",
               "logtostderr", "one-output", "skip-headers", "skip-log-headers", "stderrthreshold")
_KLOG_HINT = ("the components write their log to stderr only: remove it, and let systemd (or kube-log-runner) "
              "redirect the output")

RULES = (
    # --- kube-apiserver: the insecure port -----------------------------------------------------------
    # CHANGELOG-1.20.md, Urgent Upgrade Notes (#95856): "The kube-apiserver ability to serve on an insecure
    # port, deprecated since v1.10, has been removed. The insecure address flags --address and
    # --insecure-bind-address have no effect in kube-apiserver and will be removed in v1.24. The insecure
    # port flags --port and --insecure-port may only be set to 0 and will be removed in v1.24."
    # (kube-apiserver 1.21 then exits with "invalid port value 8080: only zero is allowed", kubernetes#102619.)
    _rule(APISERVER, "insecure-port", "refused", (1, 20), (1, 24), accepts=lambda v: v == "0",
          why="from 1.20 the insecure port can only be 0", hint=_INSECURE_HINT),
    _rule(APISERVER, "port", "refused", (1, 20), (1, 24), accepts=lambda v: v == "0",
          why="from 1.20 the insecure port can only be 0 (--port is the deprecated alias of --insecure-port)",
          hint="remove --port and use the secure port"),
    _rule(APISERVER, "insecure-bind-address", "inert", (1, 20), (1, 24),
          why="from 1.20 kube-apiserver serves no insecure port", hint=_INSECURE_HINT),
    _rule(APISERVER, "address", "inert", (1, 20), (1, 24),
          why="from 1.20 kube-apiserver serves no insecure port (--address is the deprecated alias of "
              "--insecure-bind-address)", hint="remove --address and use the secure port"),
    # CHANGELOG-1.24.md (#106859): "kube-apiserver: the insecure address flags --address,
    # --insecure-bind-address, --port and --insecure-port (inert since 1.20) are removed".
    _rule(APISERVER, "insecure-port", "removed", (1, 24)),
    _rule(APISERVER, "insecure-bind-address", "removed", (1, 24)),
    _rule(APISERVER, "port", "removed", (1, 24), hint="it was the deprecated alias of --insecure-port"),
    _rule(APISERVER, "address", "removed", (1, 24), hint="it was the deprecated alias of --insecure-bind-address"),
    # --- kube-apiserver: the endpoint reconciler ------------------------------------------------------
    # #51698 (1.9) added it as --alpha-endpoint-reconciler-type "=(master-count, lease, none)", #54419 renamed
    # it --endpoint-reconciler-type before 1.9.0 ("this flag wasn't introduced in 1.8"); the 1.9 HA guide:
    # "Starting with Kubernetes 1.9 ... --endpoint-reconciler-type=lease" (kubernetes/website#7305).
    _rule(APISERVER, "endpoint-reconciler-type", "added", (1, 9)),
    _rule(APISERVER, "endpoint-reconciler-type", "refused", (1, 9), accepts=lambda v: v in ("master-count", "lease", "none"),
          why="the endpoint reconciler is master-count, lease or none",
          hint="set apiserver_endpoint_reconciler to auto, master-count, lease or none"),
    # --- kubelet: where the API server is ------------------------------------------------------------------
    # CHANGELOG-1.8.md, Before Upgrading (#40050, note added by #53397): "The following deprecated flags were
    # removed from kubelet: api-servers - add apiserver addresses to the kubeconfig file instead."
    _rule(KUBELET, "api-servers", "removed", (1, 8), hint="the kubelet reads the API server from its --kubeconfig"),
    # #30798 (1.4) added --require-kubeconfig; #58367 (1.10, fixes #41161) removed it ("Remove deprecated
    # --require-kubeconfig flag, remove default --kubeconfig value").
    _rule(KUBELET, "require-kubeconfig", "added", (1, 4)),
    _rule(KUBELET, "require-kubeconfig", "removed", (1, 10),
          hint="from 1.8 --kubeconfig alone connects the kubelet to the API server"),
    # CHANGELOG-1.15.md, Node (#77820): "The deprecated Kubelet flag --allow-privileged has been removed.
    # Remove any use of the flag from your kubelet scripts or manifests." (kube-apiserver keeps its own.)
    _rule(KUBELET, "allow-privileged", "removed", (1, 15),
          hint="remove it (the recipe's KUBE_ALLOW_PRIV in /etc/kubernetes/config)"),
) + tuple(
    # https://kubernetes.io/docs/concepts/cluster-administration/system-logs/ : "The following klog command
    # line flags are deprecated starting with Kubernetes v1.23 and removed in Kubernetes v1.26" (#112120).
    # The recipe's /etc/kubernetes/config passes --logtostderr=true to every component.
    _rule(COMPONENTS, flag, "removed", (1, 26), hint=_KLOG_HINT) for flag in _KLOG_FLAGS
)

# Deprecated aliases: pflag binds both names to one variable, the one given last wins.
# kube-apiserver 1.5 (InsecureServingOptions.AddDeprecatedFlags): --address "DEPRECATED: see
# --insecure-bind-address instead", --port "DEPRECATED: see --insecure-port instead"; both kept until
# CHANGELOG-1.24.md (#106859) removed them with the flags they alias.
ALIASES = {
    "kube-apiserver": (("address", "insecure-bind-address", (1, 24)), ("port", "insecure-port", (1, 24))),
}


def check_component(component):
    if component not in COMPONENTS:
        raise KubeVersionsError("component %r is not one of %s" % (component, ", ".join(COMPONENTS)))


def flag_value_text(name, value):
    """The text of a flag value as it is written on a command line (booleans as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    raise KubeVersionsError("flag %r has the value %r (%s): a flag value is a string, a number or a boolean"
                            % (name, value, type(value).__name__))


def _is_set(value):
    """None, and '' as ansible-core before 2.19 renders None, mean: the flag is not set."""
    return value is not None and value != ""


def _before(version, limit):
    return limit is not None and (version.major, version.minor) < limit


def _at_or_after(version, limit):
    return limit is not None and (version.major, version.minor) >= limit


def _rule_problem(rule, component, name, text, version):
    shown = "--%s=%s" % (name, text)
    hint = rule.hint
    if rule.kind == "added" and _before(version, rule.since):
        return "--%s is not a flag of %s %s (added in %s)%s" % (
            name, component, version.text, _show(rule.since), ": " + hint if hint else "")
    if rule.kind == "removed" and _at_or_after(version, rule.since):
        return "--%s is not a flag of %s %s (removed in %s)%s" % (
            name, component, version.text, _show(rule.since), ": " + hint if hint else "")
    in_range = _at_or_after(version, rule.since) and (rule.until is None or _before(version, rule.until))
    if rule.kind == "refused" and in_range and not rule.accepts(text):
        return "%s is refused by %s %s: %s%s" % (shown, component, version.text, rule.why,
                                                 " (%s)" % hint if hint else "")
    if rule.kind == "inert" and in_range:
        return "%s has no effect in %s %s: %s, and the flag is removed in %s%s" % (
            shown, component, version.text, rule.why, _show(rule.until), " (%s)" % hint if hint else "")
    return None


def _kubeconfig_problem(component, flags, version):
    """Before 1.8 --kubeconfig alone leaves the kubelet standalone (kubernetes#40049: the kubelet runs
    standalone when "len(s.APIServerList) == 0 && !s.RequireKubeConfig"; #30798: --require-kubeconfig "forces
    the Kubelet to use the server URL from the kubeconfig file rather than the --api-servers flag")."""
    if component != "kubelet" or not _before(version, (1, 8)) or "kubeconfig" not in flags:
        return None
    if "api-servers" in flags or flags.get("require-kubeconfig") == "true":
        return None
    return (
        "--kubeconfig=%s does not connect kubelet %s to an API server: before 1.8 the kubelet runs standalone unless "
        "--api-servers is set, or --require-kubeconfig=true makes it read the server from the kubeconfig"
        % (flags["kubeconfig"], version.text)
    )


def flag_problems(flags, component, version):
    """Sentences for the flags of ``flags`` that ``component`` at ``version`` refuses, ignores or does not know.

    ``flags``: an ordered mapping of flag name (no dashes, ``-`` spelling) to value; None or '' means the flag is
    not set (being removed) and is not checked. ``version``: a KubeVersion or a version string. Returns a
    list of sentences in the order of ``flags``, each naming the flag, its value, the version and what to do.
    """
    check_component(component)
    if not isinstance(version, KubeVersion):
        version = parse_kube_version(version)
    texts = []
    for name, value in flags.items():
        if _is_set(value):
            texts.append((name, flag_value_text(name, value)))
    present = dict(texts)
    problems = []
    for name, text in texts:
        for rule in RULES:
            if rule.flag == name and component in rule.components:
                problem = _rule_problem(rule, component, name, text, version)
                if problem:
                    problems.append(problem)
        if name == "kubeconfig":
            problem = _kubeconfig_problem(component, present, version)
            if problem:
                problems.append(problem)
    return problems


def flag_aliases(flags, component):
    """The deprecated aliases set in ``flags`` (the flags of a file, in their order), for the role to replace.

    Returns one dict per alias that is set: ``alias``, ``flag`` (the flag it aliases, the one the role
    manages), ``alias_value``, ``flag_value`` (None when only the alias is set), ``effective`` (the value
    the component uses: pflag keeps the one given last) and ``message``.
    """
    check_component(component)
    names = list(flags)
    found = []
    for alias, flag, removed in ALIASES.get(component, ()):
        if alias not in flags or not _is_set(flags[alias]):
            continue
        alias_value = flag_value_text(alias, flags[alias])
        flag_value = flag_value_text(flag, flags[flag]) if flag in flags and _is_set(flags[flag]) else None
        if flag_value is None:
            effective = alias_value
            message = (
                "--%s=%s is the deprecated alias of --%s (%s accepts it before %s): write --%s=%s instead"
                % (alias, alias_value, flag, component, _show(removed), flag, alias_value)
            )
        else:
            alias_last = names.index(alias) > names.index(flag)
            effective = alias_value if alias_last else flag_value
            message = (
                "--%s=%s is the deprecated alias of --%s, which is set too (--%s=%s): %s uses the one given last, "
                "--%s=%s; remove --%s and keep --%s only"
                % (alias, alias_value, flag, flag, flag_value, component, alias if alias_last else flag, effective,
                   alias, flag)
            )
        found.append(dict(alias=alias, flag=flag, alias_value=alias_value, flag_value=flag_value,
                          effective=effective, message=message))
    return found
