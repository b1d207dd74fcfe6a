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
from dataclasses import dataclass
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


# Zones whose offset is the same all through a wall-clock second (for a given fold): fixed offsets,
# and the tz database's, whose transitions fall on whole seconds. Another tzinfo class could vary
# its offset within a second, so times in it are never taken as "the same second".
_WHOLE_SECOND_ZONES = (ZoneInfo, dt.timezone)


def second_of(ts: dt.datetime) -> dt.datetime | None:
    """``ts`` without its fraction of a second, when :func:`in_second` may compare other times with it."""
    tz = ts.tzinfo
    if tz is None or type(tz) in _WHOLE_SECOND_ZONES:
        return ts.replace(microsecond=0)
    return None


def in_second(ts: dt.datetime, second: dt.datetime) -> bool:
    """Whether ``ts`` falls in the wall-clock second that starts at ``second`` (from :func:`second_of`).

    Then it has the same date, hour, minute and second and, with the same zone object and fold,
    the same UTC offset: what ``isoformat`` writes up to the fraction, and the same local time in
    any zone. (Subtracting two times of one zone object is plain wall-clock arithmetic.)
    """
    if ts.tzinfo is not second.tzinfo or ts.fold != second.fold:
        return False
    d = ts - second
    return not d.days and not d.seconds


_MS_FRACTIONS = (b"", *(b".%03d000" % i for i in range(1, 1000)))


@dataclass(slots=True)
class IsoJson:
    """``json.dumps(ts.isoformat())`` as UTF-8, the part up to the second rendered once per second.

    PostgreSQL's ``%m`` gives every statement a new millisecond time; formatting and encoding
    each whole had cost about a microsecond a statement.
    """

    second: dt.datetime | None = None  # the last second rendered (second_of)
    head: bytes = b""  # '"YYYY-MM-DDTHH:MM:SS'
    tail: bytes = b""  # the UTC offset, if any, and '"'

    def render(self, ts: dt.datetime) -> bytes:
        second = self.second
        if second is not None and in_second(ts, second):
            us = ts.microsecond
            # isoformat writes no fraction when it is zero, else six digits.
            return self.head + (_MS_FRACTIONS[us // 1000] if not us % 1000 else b".%06d" % us) + self.tail
        second = self.second = second_of(ts)
        if second is not None:
            text = second.isoformat()  # 19 characters up to the second: datetime's years have 4 digits
            self.head, self.tail = b'"' + text[:19].encode(), text[19:].encode() + b'"'
        return b'"' + ts.isoformat().encode() + b'"'
