"""A small BER codec for SNMPv2c GET and GETBULK: requests out, responses in, plain Python values.

Why: walking a large table, pysnmp spends three quarters of its CPU in
pyasn1, which builds several ASN.1 objects per var-bind and clones type
specifications as it goes (profiled on the Huawei S12704 forwarding table).
An SNMPv2c response is one fixed shape, so this module reads it directly into
the tuples and plain values collectors use (see :mod:`netguard.snmp.values`).

The decoder is deliberately narrow: definite lengths only, the SNMPv2 SMI
application types, values inside their types' ranges. Anything else raises
:class:`BerError`, and the caller hands the datagram to pysnmp's decoder, so
a response this module does not understand is still read as before (and one
neither understands is dropped, as pysnmp drops it). A decoded value is the
same as :func:`~netguard.snmp.values.to_python` gives for pysnmp's object,
except ``endOfMibView``, which is :data:`END_OF_MIB` here so a walk can tell
the end of the MIB from an empty value.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Final

from netguard.snmp.values import Oid, Value, oid_text

GET: Final = 0xA0
GET_BULK: Final = 0xA5
RESPONSE: Final = 0xA2
VERSION_2C: Final = 1

_SEQUENCE = 0x30
_INTEGER = 0x02
_OCTETS = 0x04
_NULL = 0x05
_OID = 0x06
_IP = 0x40
_COUNTER32 = 0x41
_GAUGE32 = 0x42
_TIMETICKS = 0x43
_OPAQUE = 0x44
_COUNTER64 = 0x46
_NO_SUCH_OBJECT = 0x80
_NO_SUCH_INSTANCE = 0x81
_END_OF_MIB_VIEW = 0x82

_UNSIGNED_MAX = {_COUNTER32: 2**32 - 1, _GAUGE32: 2**32 - 1, _TIMETICKS: 2**32 - 1, _COUNTER64: 2**64 - 1}
_EMPTY = (_NULL, _NO_SUCH_OBJECT, _NO_SUCH_INSTANCE)


class BerError(ValueError):
    """The bytes are not an SNMPv2c message this decoder reads (maybe pysnmp does)."""


class EndOfMib:
    """The type of :data:`END_OF_MIB`: an agent's ``endOfMibView``."""

    def __repr__(self) -> str:
        return "END_OF_MIB"


END_OF_MIB: Final = EndOfMib()

VarBind = tuple[Oid, "Value | EndOfMib"]


@dataclass(frozen=True)
class Response:
    """One decoded Response-PDU."""

    request_id: int
    error_status: int
    error_index: int
    var_binds: list[VarBind]


# -- encoding ------------------------------------------------------------------------------


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + _length(len(body)) + body


def _integer(value: int) -> bytes:
    return _tlv(_INTEGER, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def encode_oid(oid: Oid) -> bytes:
    """The contents octets of an OBJECT IDENTIFIER (no tag, no length)."""
    if len(oid) < 2 or oid[0] > 2 or (oid[0] < 2 and oid[1] >= 40) or min(oid) < 0:
        raise BerError(f"{oid_text(oid)} cannot be encoded as an OID")
    out = bytearray()
    for arc in (oid[0] * 40 + oid[1], *oid[2:]):
        chunk = [arc & 0x7F]
        rest = arc >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


def encode_request(
    community: bytes, request_id: int, pdu: int, oids: list[Oid], *, non_repeaters: int = 0, max_repetitions: int = 0
) -> bytes:
    """An SNMPv2c GetRequest (``pdu=GET``) or GetBulkRequest (``pdu=GET_BULK``) asking for ``oids``."""
    null = _tlv(_NULL, b"")
    binds = b"".join(_tlv(_SEQUENCE, _tlv(_OID, encode_oid(oid)) + null) for oid in oids)
    second, third = (non_repeaters, max_repetitions) if pdu == GET_BULK else (0, 0)
    body = _integer(request_id) + _integer(second) + _integer(third) + _tlv(_SEQUENCE, binds)
    return _tlv(_SEQUENCE, _integer(VERSION_2C) + _tlv(_OCTETS, community) + _tlv(pdu, body))


# -- decoding ------------------------------------------------------------------------------


def _header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, start of contents, end of contents) of the TLV at ``pos``; single-byte tags only."""
    if pos + 2 > end:
        raise BerError("truncated: a header runs past the end")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise BerError(f"multi-byte tag at offset {pos}")
    n = data[pos + 1]
    pos += 2
    if n & 0x80:
        width = n & 0x7F
        if width == 0:
            raise BerError(f"indefinite length at offset {pos - 2}")
        if width > 4 or pos + width > end:
            raise BerError(f"bad length at offset {pos - 2}")
        n = int.from_bytes(data[pos : pos + width], "big")
        pos += width
    if pos + n > end:
        raise BerError(f"truncated: {n} bytes of contents at offset {pos}, {end - pos} left")
    return tag, pos, pos + n


def _expect(data: bytes, pos: int, end: int, tag: int) -> tuple[int, int]:
    got, start, stop = _header(data, pos, end)
    if got != tag:
        raise BerError(f"tag 0x{got:02x} at offset {pos} where 0x{tag:02x} belongs")
    return start, stop


def _int(data: bytes, start: int, stop: int) -> int:
    if start == stop:
        raise BerError(f"empty integer at offset {start}")
    return int.from_bytes(data[start:stop], "big", signed=True)


def decode_oid(raw: bytes) -> Oid:
    """An OBJECT IDENTIFIER's contents octets as a tuple; BerError when they are not minimal base-128."""
    if not raw or raw[-1] & 0x80:
        raise BerError("empty or unterminated OID")
    if raw.isascii():  # every arc below 128: one octet each, the common case for table prefixes
        first = raw[0]
        head = (first // 40, first % 40) if first < 80 else (2, first - 80)
        return head + tuple(raw[1:])
    arcs: list[int] = []
    arc = 0
    fresh = True
    for octet in raw:
        if fresh and octet == 0x80:
            raise BerError("non-minimal OID arc")
        arc = (arc << 7) | (octet & 0x7F)
        fresh = not octet & 0x80
        if fresh:
            arcs.append(arc)
            arc = 0
    first = arcs[0]
    head = (first // 40, first % 40) if first < 80 else (2, first - 80)
    return head + tuple(arcs[1:])


def _value(data: bytes, tag: int, start: int, stop: int) -> Value | EndOfMib:
    if tag in (_OCTETS, _OPAQUE):
        return data[start:stop]
    if tag == _INTEGER:
        value = _int(data, start, stop)
        if not -(2**31) <= value < 2**31:
            raise BerError(f"Integer32 out of range at offset {start}")
        return value
    if tag in _UNSIGNED_MAX:
        value = _int(data, start, stop)
        if not 0 <= value <= _UNSIGNED_MAX[tag]:
            raise BerError(f"unsigned value out of range at offset {start}")
        return value
    if tag == _OID:
        return oid_text(decode_oid(data[start:stop]))
    if tag == _IP:
        if stop - start != 4:
            raise BerError(f"IpAddress of {stop - start} octets at offset {start}")
        return str(ipaddress.IPv4Address(data[start:stop]))
    if tag in _EMPTY or tag == _END_OF_MIB_VIEW:
        if stop != start:
            raise BerError(f"a non-empty NULL-like value at offset {start}")
        return END_OF_MIB if tag == _END_OF_MIB_VIEW else None
    raise BerError(f"value type 0x{tag:02x} at offset {start - 2}")


def decode_response(data: bytes) -> tuple[bytes, Response]:
    """(community, response) of an SNMPv2c Response-PDU; BerError for anything else."""
    start, end = _expect(data, 0, len(data), _SEQUENCE)
    if end != len(data):
        raise BerError(f"{len(data) - end} bytes after the message")
    v_start, v_end = _expect(data, start, end, _INTEGER)
    if _int(data, v_start, v_end) != VERSION_2C:
        raise BerError("not an SNMPv2c message")
    c_start, c_end = _expect(data, v_end, end, _OCTETS)
    p_start, p_end = _expect(data, c_end, end, RESPONSE)
    if p_end != end:
        raise BerError("bytes after the PDU")
    fields: list[int] = []
    pos = p_start
    for _ in range(3):
        i_start, pos = _expect(data, pos, p_end, _INTEGER)
        fields.append(_int(data, i_start, pos))
    b_start, b_end = _expect(data, pos, p_end, _SEQUENCE)
    if b_end != p_end:
        raise BerError("bytes after the var-binds")
    binds: list[VarBind] = []
    pos = b_start
    while pos < b_end:
        s_start, s_end = _expect(data, pos, b_end, _SEQUENCE)
        o_start, o_end = _expect(data, s_start, s_end, _OID)
        tag, x_start, x_end = _header(data, o_end, s_end)
        if x_end != s_end:
            raise BerError(f"bytes after the value at offset {x_end}")
        binds.append((decode_oid(data[o_start:o_end]), _value(data, tag, x_start, x_end)))
        pos = s_end
    return data[c_start:c_end], Response(fields[0], fields[1], fields[2], binds)
