"""Turning the timestamps databases write into aware datetimes.

Servers write local time without a zone (MariaDB's logs; PostgreSQL's ``%t``/``%m``
with a zone *abbreviation* such as ``CST``, which is ambiguous: China Standard
Time or US Central). A timestamp with an explicit offset or ``Z``/``UTC``/``GMT``
is taken as written; every other one is read in the configured zone (an IANA
name through :mod:`zoneinfo`; the machine's local zone by default).
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from netguard.errors import NetGuardError

_UTC_NAMES = frozenset({"UTC", "GMT", "Z", "UCT"})
_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})?$")


class TimezoneError(NetGuardError):
    """An unknown --timezone."""


def zone(name: str | None) -> dt.tzinfo:
    """The zone to read naive timestamps in: ``name`` (IANA), or the machine's local zone."""
    if not name:
        local = dt.datetime.now().astimezone().tzinfo
        assert local is not None
        return local
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TimezoneError(f"unknown time zone '{name}' (use an IANA name such as Asia/Shanghai)") from exc


def with_zone(naive: dt.datetime, label: str | None, default: dt.tzinfo) -> dt.datetime:
    """Attach the zone ``label`` names when it is unambiguous, else ``default``."""
    if label:
        if label in _UTC_NAMES:
            return naive.replace(tzinfo=dt.UTC)
        m = _OFFSET.match(label)
        if m:
            minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
            sign = -1 if m.group(1) == "-" else 1
            return naive.replace(tzinfo=dt.timezone(sign * dt.timedelta(minutes=minutes)))
    return naive.replace(tzinfo=default)


def from_epoch(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
