# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsing of the addresses clients are pointed at (private to the collection).

``host:port`` and ``[v6]:port`` as Go's net.SplitHostPort writes them, and C(https)
URLs whose host is a name, an IPv4 address or an IPv6 address in brackets. Errors are
EndpointError with a sentence that names the bad value.

Runs on the managed host: Python 3.8 or later, standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible.module_utils.six.moves.urllib.parse import urlsplit

# RFC 1123 host names: labels of letters, digits and '-', not starting or ending with '-'.
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")


class EndpointError(ValueError):
    """A host, host:port or URL that clients cannot use; the message names it."""


def parse_ip(host):
    """The ipaddress object of ``host`` (no brackets), or None when it is not an address."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_dns_name(host):
    name = host[:-1] if host.endswith(".") else host
    if not name or len(name) > 253:
        return False
    labels = name.split(".")
    return all(_LABEL.match(label) for label in labels) and not labels[-1].isdigit()


def check_host(host, what):
    """``host`` (an IP address without brackets, or a DNS name), or raise EndpointError."""
    if parse_ip(host) is None and not is_dns_name(host):
        raise EndpointError("%s: %r is neither an IP address nor a DNS name" % (what, host))
    return host


def _port(text, value, what):
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise EndpointError("%s: the port of %r must be a number from 1 to 65535, got %r" % (what, value, text))
    return int(text)


def split_host_port(value, what, default_port=None):
    """(host, port) of ``host:port``, ``[v6]:port`` (or, with ``default_port``, of ``host``,
    ``[v6]`` or a bare IPv6 address); the host is returned without brackets."""
    if not isinstance(value, str) or not value.strip():
        raise EndpointError("%s: expected host:port, got %r" % (what, value))
    if value != value.strip():
        raise EndpointError("%s: %r has leading or trailing spaces" % (what, value))
    if value.startswith("["):
        close = value.find("]")
        if close < 0:
            raise EndpointError("%s: %r has no closing ']'" % (what, value))
        host, rest = value[1:close], value[close + 1:]
        if not isinstance(parse_ip(host), ipaddress.IPv6Address):
            raise EndpointError("%s: %r has something other than an IPv6 address in brackets" % (what, value))
        if rest == "" and default_port is not None:
            return host, default_port
        if not rest.startswith(":"):
            raise EndpointError("%s: expected [IPv6]:port, got %r" % (what, value))
        return host, _port(rest[1:], value, what)
    if value.count(":") > 1:
        if default_port is not None and isinstance(parse_ip(value), ipaddress.IPv6Address):
            return value, default_port
        raise EndpointError("%s: %r: write an IPv6 address in brackets, [fd00::1]:6443" % (what, value))
    host, sep, port = value.partition(":")
    if not sep:
        if default_port is None:
            raise EndpointError("%s: %r has no port: write host:port (e.g. %s:6443)" % (what, value, value))
        return check_host(host, what), default_port
    return check_host(host, what), _port(port, value, what)


def join_host_port(host, port):
    """``host:port`` with an IPv6 address in brackets."""
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def parse_https_url(url, what):
    """(host without brackets, port) of an ``https://HOST[:PORT][/path]`` URL; the port defaults to 443."""
    if not isinstance(url, str) or not url:
        raise EndpointError("%s: expected an https URL, got %r" % (what, url))
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise EndpointError("%s: %r is not a valid URL (%s)" % (what, url, exc))
    if parts.scheme != "https":
        raise EndpointError("%s: %r must be an https:// URL (clients of the API verify its certificate)" % (what, url))
    if not parts.netloc or "@" in parts.netloc:
        raise EndpointError("%s: %r has no host, or has user information" % (what, url))
    if parts.query or parts.fragment:
        raise EndpointError("%s: %r has a query or a fragment" % (what, url))
    try:
        host, port = split_host_port(parts.netloc, what, default_port=443)
    except EndpointError as exc:
        raise EndpointError("%s (in the URL %r)" % (exc, url))
    if ":" in host and not parts.netloc.startswith("["):
        raise EndpointError("%s: %r: write an IPv6 address in brackets, https://[fd00::1]:6443" % (what, url))
    return host, port
