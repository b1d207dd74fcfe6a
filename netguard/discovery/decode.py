"""Turning raw SNMP values into MACs, text and numbers, with the quirks real agents have.

* A MAC column (ifPhysAddress, ipNetToMediaPhysAddress, LLDP chassis ids of
  subtype macAddress) should hold six octets. Some agents send the MAC as
  *text* instead (``"00-1A-2B-3C-4D-5E"``, ``"001a.2b3c.4d5e"``, or the
  ``"0x001a2b..."`` hex dump an snmpwalk recording leaves); those are read with
  :func:`netguard.addresses.normalize_mac`. Anything else is not a MAC:
  :func:`mac_from_value` returns None and the collector counts the row.
* Text columns are decoded as UTF-8 when they are valid UTF-8 (Chinese
  interface aliases are common here), else as Latin-1, so no byte is lost;
  trailing NULs, which some agents pad with, are removed. Control characters
  are kept: rendering makes them visible.
"""

from __future__ import annotations

from netguard.addresses import normalize_mac
from netguard.snmp.values import Value

_ZERO_MAC = "00:00:00:00:00:00"


def mac_from_bytes(raw: bytes) -> str | None:
    if len(raw) == 6:
        return ":".join(f"{b:02x}" for b in raw)
    try:
        text = raw.decode("ascii").strip().strip("\x00")
    except UnicodeDecodeError:
        return None
    if text.lower().startswith("0x"):
        text = text[2:]
    try:
        return normalize_mac(text)
    except ValueError:
        return None


def mac_from_value(value: Value) -> str | None:
    if isinstance(value, bytes):
        return mac_from_bytes(value)
    if isinstance(value, str):
        try:
            return normalize_mac(value)
        except ValueError:
            return None
    return None


def mac_from_index(parts: tuple[int, ...]) -> str | None:
    """Six sub-identifiers of an index (the FDB tables' key) as a MAC."""
    if len(parts) != 6 or any(not 0 <= p <= 255 for p in parts):
        return None
    return ":".join(f"{p:02x}" for p in parts)


def is_zero_mac(mac: str) -> bool:
    return mac == _ZERO_MAC


def text_from_value(value: Value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        raw = value.rstrip(b"\x00")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")
    return str(value)


def int_from_value(value: Value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
