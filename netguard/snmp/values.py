"""pysnmp's ASN.1 values turned into plain Python values.

Collectors work on ``int``, ``bytes`` and ``str``, never on pyasn1 objects:
an OctetString becomes its raw bytes (a MAC may come as six octets *or* as
text such as ``"00-1a-2b-3c-4d-5e"``, and only the collector knows which it
expects), an IpAddress becomes its dotted text, an OBJECT IDENTIFIER its
dotted text, every integer type an ``int``. ``noSuchObject``,
``noSuchInstance``, ``endOfMibView`` and ``NULL`` become ``None``.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from pysnmp.proto import rfc1902, rfc1905

_univ = rfc1905.univ  # pyasn1 base types, reached through pysnmp (pyasn1 has no type stubs)


Oid = tuple[int, ...]
Value = int | bytes | str | None

_EMPTY = (rfc1905.NoSuchObject, rfc1905.NoSuchInstance, rfc1905.EndOfMibView, _univ.Null)


def parse_oid(text: str) -> Oid:
    """``"1.3.6.1"`` or ``".1.3.6.1"`` as a tuple of ints; ValueError when it is not an OID."""
    parts = text.strip().lstrip(".").split(".")
    try:
        oid = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"'{text}' is not a numeric OID") from None
    if len(oid) < 2 or any(p < 0 for p in oid):
        raise ValueError(f"'{text}' is not a numeric OID")
    return oid


def oid_text(oid: Oid) -> str:
    return ".".join(str(p) for p in oid)


def to_python(value: Any) -> Value:
    """The plain value of one pysnmp var-bind value."""
    if isinstance(value, _EMPTY):
        return None
    if isinstance(value, rfc1902.IpAddress):
        octets = bytes(value.asOctets())
        return str(ipaddress.IPv4Address(octets)) if len(octets) == 4 else octets
    if isinstance(value, _univ.OctetString):
        return bytes(value.asOctets())
    if isinstance(value, _univ.ObjectIdentifier):
        return oid_text(tuple(value))
    if isinstance(value, _univ.Integer):
        return int(value)
    return str(value)


def to_asn1(value: int | bytes | str) -> Any:
    """A value for a SET: ``int`` as Integer32, ``bytes``/``str`` as OctetString."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not an SNMP value")
    if isinstance(value, int):
        return rfc1902.Integer32(value)
    if isinstance(value, str):
        value = value.encode()
    return rfc1902.OctetString(value)
