# -*- coding: utf-8 -*-
# Copyright (c) kubeha.control_plane contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The names and validity of an X.509 certificate in DER, read without any library (private to the collection).

Only what a check of a TLS server's certificate reports: the DNS names and IP addresses of
the subjectAltName extension, the subject's Common Name and the validity period. Nothing is
verified here (the TLS handshake does that); a certificate this reader cannot follow raises
CertificateParseError.

Runs on the managed host: Python 3.8 or later, standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
from datetime import datetime, timezone

_SEQUENCE, _SET, _OID, _OCTETS = 0x30, 0x31, 0x06, 0x04
_OID_CN = b"\x55\x04\x03"              # 2.5.4.3 commonName
_OID_SAN = b"\x55\x1d\x11"             # 2.5.29.17 subjectAltName
_DNS_NAME, _IP_ADDRESS = 0x82, 0x87    # GeneralName [2] dNSName, [7] iPAddress (implicit)
_STRINGS = {0x0c: "utf-8", 0x13: "ascii", 0x16: "ascii", 0x14: "latin-1", 0x1e: "utf-16-be", 0x1c: "utf-32-be"}


class CertificateParseError(ValueError):
    """The bytes are not a DER certificate this reader can follow."""


def _tlv(data, pos, end):
    """(tag, content start, content end) of the element at ``pos``."""
    if pos + 2 > end:
        raise CertificateParseError("truncated element at byte %d" % pos)
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > end:
            raise CertificateParseError("bad length at byte %d" % pos)
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + length > end:
        raise CertificateParseError("element at byte %d runs past its container" % pos)
    return tag, pos, pos + length


def _children(data, start, end):
    pos = start
    while pos < end:
        tag, cstart, cend = _tlv(data, pos, end)
        yield tag, cstart, cend
        pos = cend


def _one(data, start, end, tag, what):
    found_tag, cstart, cend = _tlv(data, start, end)
    if found_tag != tag:
        raise CertificateParseError("%s: expected tag 0x%02x, found 0x%02x" % (what, tag, found_tag))
    return cstart, cend


def _time(tag, raw):
    text = raw.decode("ascii")
    if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ: 50-99 are 1950-1999 (RFC 5280)
        year = int(text[:2])
        text = ("19" if year >= 50 else "20") + text
    elif tag != 0x18:
        raise CertificateParseError("validity: not a time (tag 0x%02x)" % tag)
    if not text.endswith("Z") or len(text) != 15:
        raise CertificateParseError("validity: %r is not a UTC time" % text)
    return datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=timezone.utc)


def _common_name(data, start, end):
    """The last CN of a Name (the most specific, as Go's pkix.Name does)."""
    found = None
    for tag, rstart, rend in _children(data, start, end):
        if tag != _SET:
            raise CertificateParseError("subject: not a set of attributes")
        for _tag, astart, aend in _children(data, rstart, rend):
            parts = list(_children(data, astart, aend))
            if len(parts) == 2 and parts[0][0] == _OID and data[parts[0][1]:parts[0][2]] == _OID_CN:
                vtag, vstart, vend = parts[1]
                found = data[vstart:vend].decode(_STRINGS.get(vtag, "utf-8"), errors="replace")
    return found


def _alt_names(data, start, end):
    dns_names, ip_addresses = [], []
    seq_start, seq_end = _one(data, start, end, _SEQUENCE, "subjectAltName")
    for tag, cstart, cend in _children(data, seq_start, seq_end):
        raw = data[cstart:cend]
        if tag == _DNS_NAME:
            dns_names.append(raw.decode("ascii", errors="replace"))
        elif tag == _IP_ADDRESS and len(raw) in (4, 16):
            ip_addresses.append(str(ipaddress.ip_address(bytes(raw))))
    return dns_names, ip_addresses


def parse_certificate(der):
    """dict(dns_names, ip_addresses, common_name, not_before, not_after (aware UTC datetimes), has_san)."""
    data = bytearray(der)
    try:
        cert_start, cert_end = _one(data, 0, len(data), _SEQUENCE, "certificate")
        tbs_start, tbs_end = _one(data, cert_start, cert_end, _SEQUENCE, "tbsCertificate")
        fields = list(_children(data, tbs_start, tbs_end))
        if fields and fields[0][0] == 0xA0:  # [0] EXPLICIT version
            fields = fields[1:]
        if len(fields) < 6:
            raise CertificateParseError("tbsCertificate has %d fields" % len(fields))
        validity, subject = fields[3], fields[4]
        times = list(_children(data, validity[1], validity[2]))
        if validity[0] != _SEQUENCE or len(times) != 2:
            raise CertificateParseError("validity is not two times")
        result = dict(
            dns_names=[], ip_addresses=[], has_san=False,
            common_name=_common_name(data, subject[1], subject[2]),
            not_before=_time(times[0][0], bytes(data[times[0][1]:times[0][2]])),
            not_after=_time(times[1][0], bytes(data[times[1][1]:times[1][2]])),
        )
        for tag, start, end in fields[6:]:
            if tag != 0xA3:  # [3] EXPLICIT extensions (after the optional unique IDs)
                continue
            ext_start, ext_end = _one(data, start, end, _SEQUENCE, "extensions")
            for _tag, estart, eend in _children(data, ext_start, ext_end):
                parts = list(_children(data, estart, eend))
                if not parts or parts[0][0] != _OID or data[parts[0][1]:parts[0][2]] != _OID_SAN:
                    continue
                value = parts[-1]
                if value[0] != _OCTETS:
                    raise CertificateParseError("subjectAltName: the extension value is not an OCTET STRING")
                result["dns_names"], result["ip_addresses"] = _alt_names(data, value[1], value[2])
                result["has_san"] = True
        return result
    except (IndexError, ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, CertificateParseError):
            raise
        raise CertificateParseError(str(exc))
