"""Times read from logs that do not say their zone, made exact with the source's zone.

The MySQL/MariaDB general log writes ``251125 10:00:00`` in the server's
zone, not the collector's, and without saying which. Events refuse such
times (:mod:`netguard.events.model`), so a log reader localises each one with
the zone configured for its source (an IANA name such as ``Asia/Shanghai``,
read with :mod:`zoneinfo`), never with the zone of the machine it runs on.

Daylight-saving transitions make a wall-clock time ambiguous (the repeated
hour when clocks go back) or impossible (the skipped hour when they go
forward). :func:`localize` takes the earlier reading of an ambiguous time
unless told ``later=True``; a log reader that sees the clock go backwards by
less than the transition can ask for the later one. An impossible time is
refused: the log cannot have written it in that zone, so the configured zone
is wrong. China has kept one offset all year since 1991, so for this county
neither case arises; the rule is there for sources configured elsewhere.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from netguard.events.model import EventError


def load_zone(name: str, *, where: str = "time zone") -> ZoneInfo:
    """The zone called ``name`` (IANA, e.g. ``Asia/Shanghai``); ``where`` names the setting in errors."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise EventError(f"{where}: '{name}' is not a known time zone (an IANA name such as Asia/Shanghai)") from None


def localize(value: dt.datetime, zone: dt.tzinfo, *, later: bool = False) -> dt.datetime:
    """``value``, a wall-clock time without a zone, as an aware time in ``zone``.

    An aware ``value`` is refused: it already says its zone, and re-labelling
    it would silently shift it.
    """
    if value.tzinfo is not None and value.utcoffset() is not None:
        raise EventError(f"{value.isoformat()} already has a time zone; only a time without one is localised")
    aware = value.replace(tzinfo=zone, fold=1 if later else 0)
    # A time in a skipped hour does not survive the round trip through UTC.
    back = aware.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None, fold=0)
    if back != value.replace(tzinfo=None, fold=0):
        raise EventError(
            f"{value.isoformat()} does not exist in {zone} (clocks skipped it); is the source's zone right?"
        )
    return aware
