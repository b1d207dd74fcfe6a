"""A ``sql`` event built straight into its stored JSON: the per-statement half, specialised.

:class:`~netguard.events.template.EventTemplate` serialises one shape's shared
fields once, but still checks and renders each statement's own fields through
the generic per-field machinery (about 35 us a statement here, more than
parsing and analysis together). A statement's own fields are always the same
few, with known types (:func:`audit.event_fields.statement_fields`), so
:class:`SqlEventLayout` builds them directly:

- per shape, once: the shared fields checked as ``make_event`` checks them,
  the fields ``derive`` would add that depend only on them (``event.kind``,
  ``event.category``, ``event.type``, ``netguard.kind``), all rendered to
  ``"name":value`` fragments;
- per set of own fields present (which of user, duration, port … a statement
  has varies little), once: a ``%``-format string with the shared fragments
  in canonical (sorted) order and a slot where each own field goes;
- per statement: each own field's value is checked, its fragment rendered
  (repeated strings through the factory's memo), ``related.*`` derived as
  ``derive`` does, and the fragments poured into the format string.

The result is ``make_event``'s event byte for byte (tests/audit compares them
on real server logs). Whatever this path does not handle (a value to truncate,
a type to coerce, a time without a zone, shared fields that feed ``related.*``
other than ``host.name``) makes :meth:`SqlEventLayout.make` return None, and
the caller takes the general path, which gives the same event or the same error.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Any

from audit.records import Statement
from netguard.events.model import (
    Event,
    LogPosition,
    check_fields,
    format_timestamp,
    kind_spec,
    timestamp_ms,
)
from netguard.events.schema import MAX_STRING
from netguard.events.template import EventFactory

KIND = "sql"
LAYOUTS = 64  # own-field sets remembered per shape; cleared when full

_enc: Callable[[str], str] = json.encoder.encode_basestring
_enc_ascii: Callable[[str], str] = json.encoder.encode_basestring_ascii
# A statement's own fields and the related.* fields derived from them, in canonical (sorted) order.
OWN = (
    "@timestamp",
    "db.namespace",
    "error.message",
    "event.duration",
    "event.outcome",
    "log.file.path",
    "log.offset",
    "netguard.sql.connection_id",
    "netguard.sql.rows_examined",
    "netguard.sql.rows_sent",
    "related.hosts",
    "related.ip",
    "related.user",
    "source.ip",
    "source.port",
    "user.name",
)
assert list(OWN) == sorted(OWN)
# Shared fields this path cannot take: its own, and those derive would fold into related.* or set itself.
_NOT_SHARED = frozenset(
    {*OWN, "destination.ip", "host.ip", "destination.address", "observer.name", "netguard.truncated", "event.id"}
)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class _General(Exception):
    """A value this path does not handle: the general path builds the event."""


def _text(value: Any) -> str | None:
    """A keyword/text value as make_event keeps it: the str, or None when it is dropped (None or empty)."""
    if value is None or value == "":
        return None
    if type(value) is not str or len(value) > MAX_STRING:
        raise _General
    return value


def _long(value: Any) -> int | None:
    if value is None or type(value) is int:
        return value
    raise _General


class Clock:
    """A statement time as epoch ms and as stored (``@timestamp``), remembered for the last time object.

    The MySQL parsers hand out one datetime per logged second (99 % of a slow log's statements
    share their predecessor's object), so this is one identity test instead of a conversion
    and a format per statement (~1.5 us). One per log source, shared by its shapes' layouts.
    """

    def __init__(self) -> None:
        self._last: tuple[dt.datetime | None, int, str] = (None, 0, "")

    def stamp(self, ts: dt.datetime) -> tuple[int, str]:
        last, ms, text = self._last
        if ts is not last:
            ms = timestamp_ms(KIND, ts)
            text = format_timestamp(ms)
            self._last = (ts, ms, text)
        return ms, text


class SqlEventLayout:
    """The direct path for one shape (see the module docstring); :attr:`usable` says whether it applies."""

    def __init__(self, factory: EventFactory, shared: Mapping[str, Any], clock: Clock | None = None) -> None:
        self._clock = clock or Clock()
        spec = kind_spec(KIND)
        truncated: list[str] = []
        doc = check_fields(KIND, spec, shared, truncated)  # the template made from `shared` has raised already
        action = doc.get("event.action")
        self.usable = isinstance(action, str) and action in spec.actions and not truncated
        self.usable = self.usable and doc.keys().isdisjoint(_NOT_SHARED)
        self._factory = factory
        self._host = doc.get("host.name")
        base: dict[str, Any] = {}
        if self.usable and isinstance(action, str):
            fixed = (
                ("event.kind", spec.ecs_kind),
                ("event.category", spec.category),
                ("event.type", spec.actions[action]),
            )
            base = {name: value for name, value in fixed if name not in doc}
            base.update(doc)
            base["netguard.kind"] = KIND
        self._base = base
        self._fragments = sorted((name, _enc(name) + ":" + _json(value)) for name, value in base.items())
        self._layouts: dict[tuple[str, ...], str] = {}

    def _layout(self, names: tuple[str, ...]) -> str:
        merged = sorted([*self._fragments, *((n, "") for n in names)])
        form = ",".join("%s" if text == "" else text.replace("%", "%%") for _, text in merged)
        if len(self._layouts) >= LAYOUTS:
            self._layouts.clear()
        self._layouts[names] = form
        return form

    def make(self, s: Statement, ip: str | None, error: str | None, position: LogPosition) -> Event | None:
        """The statement's event, or None when the general path must build it."""
        ts = s.ts
        if ts is None or ts.tzinfo is None or position.offset < 0:
            return None
        ts_ms, stamp = self._clock.stamp(ts)
        fragment = self._factory.fragment
        doc = self._base.copy()
        names: list[str] = []
        parts: list[str] = []
        name, part = names.append, parts.append  # (name, its "name":value fragment) per own field, sorted

        doc["@timestamp"] = stamp
        name("@timestamp")
        part('"@timestamp":"' + stamp + '"')
        try:
            db, err, outcome = _text(s.db), _text(error), _text(s.outcome)
            path, conn, user = _text(position.path), _text(s.connection_id), _text(s.user)
            duration, sent, examined = _long(s.duration_ns), _long(s.rows_sent), _long(s.rows_examined)
            port = _long(s.client_port)
            client = _text(s.client) if ip is None else None
        except _General:
            return None
        if db is not None:
            doc["db.namespace"] = db
            name("db.namespace")
            part(fragment("db.namespace", db))
        if err is not None:
            doc["error.message"] = err
            name("error.message")
            part('"error.message":' + _enc(err))
        if duration is not None:
            doc["event.duration"] = duration
            name("event.duration")
            part('"event.duration":' + int.__repr__(duration))
        if outcome is not None:
            doc["event.outcome"] = outcome
            name("event.outcome")
            part(fragment("event.outcome", outcome))
        if path is not None:
            doc["log.file.path"] = path
            name("log.file.path")
            part(fragment("log.file.path", path))
        doc["log.offset"] = position.offset
        name("log.offset")
        part('"log.offset":' + int.__repr__(position.offset))
        if conn is not None:
            doc["netguard.sql.connection_id"] = conn
            name("netguard.sql.connection_id")
            part(fragment("netguard.sql.connection_id", conn))
        if examined is not None:
            doc["netguard.sql.rows_examined"] = examined
            name("netguard.sql.rows_examined")
            part('"netguard.sql.rows_examined":' + int.__repr__(examined))
        if sent is not None:
            doc["netguard.sql.rows_sent"] = sent
            name("netguard.sql.rows_sent")
            part('"netguard.sql.rows_sent":' + int.__repr__(sent))
        hosts = [client] if client is not None else []
        if self._host is not None and self._host not in hosts:
            hosts.append(self._host)
        if hosts:
            doc["related.hosts"] = hosts
            name("related.hosts")
            part('"related.hosts":[' + ",".join([_enc(h) for h in hosts]) + "]")
        address = self._factory.ip("source.ip", ip, []) if ip else None
        if address is not None:
            doc["related.ip"] = [address]
            name("related.ip")
            part('"related.ip":[' + _enc(address) + "]")
        if user is not None:
            doc["related.user"] = [user]
            name("related.user")
            part('"related.user":[' + _enc(user) + "]")
        if address is not None:
            doc["source.ip"] = address
            name("source.ip")
            part('"source.ip":' + _enc(address))
        if port is not None:
            doc["source.port"] = port
            name("source.port")
            part('"source.port":' + int.__repr__(port))
        if user is not None:
            doc["user.name"] = user
            name("user.name")
            part(fragment("user.name", user))
        key = tuple(names)
        form = self._layouts.get(key) or self._layout(key)
        body = form % tuple(parts)
        event_id = position.event_id
        doc["event.id"] = event_id
        return Event(
            kind=KIND,
            id=event_id,
            timestamp_ms=ts_ms,
            fields=doc,
            json='{"event.id":' + _enc_ascii(event_id) + "," + body + "}",
        )
