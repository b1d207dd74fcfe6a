"""How values are written to and read from the state database.

Timestamps are stored as ISO 8601 text in UTC with microseconds, so they sort
as text and read back as aware datetimes. JSON is stored canonically (sorted
keys, no whitespace, UTF-8, no NaN) because the action journal hashes it: the
same value must always give the same bytes. MAC addresses are stored lowercase
and colon-separated, IP addresses in their compressed form, so a lookup finds
a device however a switch or a user spelled it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from netguard import addresses
from netguard.errors import StoreError


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_db_time(value: datetime) -> str:
    """An aware datetime as sortable UTC text; a naive one is refused (its zone is unknown)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise StoreError(f"timestamp {value.isoformat()} has no time zone; pass an aware datetime")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def from_db_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def opt_from_db_time(value: str | None) -> datetime | None:
    return None if value is None else from_db_time(value)


def canonical_json(value: Any) -> str:
    """The one serialisation of ``value`` that hashing relies on."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"value cannot be stored as JSON: {exc}") from None


def json_object(value: str) -> dict[str, Any]:
    loaded = json.loads(value)
    if not isinstance(loaded, dict):
        raise StoreError("stored JSON is not an object")
    return loaded


def normalize_mac(value: str) -> str:
    """:func:`netguard.addresses.normalize_mac`, failing as a StoreError."""
    try:
        return addresses.normalize_mac(value)
    except ValueError as exc:
        raise StoreError(str(exc)) from None


def normalize_ip(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    try:
        return addresses.normalize_ip(value)
    except ValueError:
        raise StoreError(f"'{value}' is not an IP address") from None
