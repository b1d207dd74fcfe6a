"""The address index (``event_ips``).

**Addresses** (``event_ips``). Each distinct IP address of an event is one row
``(addr, event, fields)``: ``addr`` the address as 16 big-endian bytes in IPv6
space, an IPv4 address as ``::ffff:a.b.c.d`` (so one byte order sorts both, and
an IPv6 network that holds ``::ffff:0:0/96`` holds the IPv4 addresses, as in
Elasticsearch); ``fields`` a bit mask of the IP fields that hold it
(:data:`IP_FIELD_BITS`: ``related.ip`` mostly repeats the others, so one row
serves them all). The primary key ``(addr, event)`` makes a CIDR a range scan
and an exact address a point lookup; a list of networks is one range scan
each. Addresses are packed with ``inet_pton`` (C), not ``ipaddress``.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any

# The IP fields the address index serves, each a bit of event_ips.fields. Append, never renumber:
# stored rows keep their bits. A field not listed here is searched the slow way, still correctly.
IP_FIELD_BITS: dict[str, int] = {"source.ip": 1, "destination.ip": 2, "host.ip": 4, "related.ip": 8}

_V4_PREFIX = bytes(10) + b"\xff\xff"


def ip_key(text: str) -> bytes | None:
    """The address as 16 sortable bytes in IPv6 space (IPv4 as ``::ffff:a.b.c.d``), or None."""
    try:
        if ":" in text:
            return socket.inet_pton(socket.AF_INET6, text)
        return _V4_PREFIX + socket.inet_pton(socket.AF_INET, text)
    except (OSError, TypeError, ValueError):
        return None


def ip_rows(fields: Mapping[str, Any], event: int) -> list[tuple[bytes, int, int]]:
    """The ``(addr, event, fields)`` rows of one event: one per distinct address."""
    # related.ip mostly repeats the other fields: gather the bits by text, pack each address once.
    bits: dict[str, int] = {}
    for name, bit in IP_FIELD_BITS.items():
        value = fields.get(name)
        if value is None:
            continue
        for text in value if isinstance(value, list) else (value,):
            bits[text] = bits.get(text, 0) | bit
    rows = []
    for text, mask in bits.items():
        key = ip_key(str(text))
        if key is not None:
            rows.append((key, event, mask))
    return rows
