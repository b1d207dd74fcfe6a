"""Building events: typed, normalised, with a deterministic id.

:func:`make_event` is the only way in. It checks every field against the kind
(a typo is an error, not a silently unmapped field), coerces values to their
declared type (so both backends compare like with like: IPs canonical, MACs
lowercase, numbers numbers), fills the ECS ``event.kind/category/type`` the
kind implies and ``related.*`` from the fields present, drops empty values, and
gives the event a deterministic id, so the same event produced twice (a log
re-read after a crash, a bulk request retried) gets the same id and is stored
once:

- an event read from a log takes its id from where it was read
  (:class:`LogPosition`: source, file, byte offset). Re-reading a line gives
  the same id whatever the parser made of it, and two identical statements
  from one connection in the same second stay two events, because they sit at
  two offsets. An event carrying ``log.offset`` without a position (or an
  explicit ``event.id``) is refused, so no reader falls back to content ids;
- any other event takes its id from a hash of its content.

Times must say their zone. A datetime or ISO string without one is refused,
naming the field: the collector's local zone is not the source's (a database
server's general log is written in the server's zone), and the state store
refuses such times too. Log readers localise with the zone configured for
their source (:mod:`netguard.events.logtime`). Epoch numbers are UTC by
definition and accepted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from netguard.addresses import normalize_ip, normalize_mac
from netguard.errors import NetGuardError
from netguard.events.schema import (
    FIELDS,
    KINDS,
    LONG_MAX,
    LONG_MIN,
    MAX_STRING,
    EventKind,
    Field,
    FieldType,
    closest_field,
)


class EventError(NetGuardError):
    """An event that does not fit its kind's schema (a producer bug or bad input)."""


@dataclass(frozen=True, slots=True)
class Event:
    """One event: flat ECS-style dotted field names to values."""

    kind: str
    id: str
    timestamp_ms: int
    fields: Mapping[str, Any]
    json: str  # the serialised document, made once and shared by every backend

    def get(self, name: str, default: Any = None) -> Any:
        return self.fields.get(name, default)

    @property
    def action(self) -> str:
        return str(self.fields.get("event.action", ""))

    @property
    def message(self) -> str:
        return str(self.fields.get("message", ""))


def format_timestamp(ms: int) -> str:
    """Epoch milliseconds to the ISO 8601 UTC form stored in ``@timestamp``."""
    t = _EPOCH + dt.timedelta(milliseconds=ms)  # exact, unlike a float through fromtimestamp
    if t.year < 1000:  # isoformat pads the year to four digits, strftime's %Y does not
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    return t.isoformat(timespec="milliseconds") + "Z"  # C code: a third of strftime's cost per event


_EPOCH = dt.datetime(1970, 1, 1)


class NaiveTimeError(ValueError):
    """A time without a zone where one is required."""


def to_epoch_ms(value: Any, *, naive_is_local: bool = True) -> int:
    """A datetime, a date, epoch seconds or an ISO 8601 string, as epoch milliseconds.

    A time without a zone (a naive datetime, a string without an offset, a
    bare date) is read as the local time when ``naive_is_local`` (what a
    person typing ``--since 2026-11-01`` means), and refused with
    :class:`NaiveTimeError` otherwise (events: see the module docstring).
    """
    if isinstance(value, bool):
        raise ValueError("a boolean is not a time")
    if isinstance(value, int | float):
        return round(value * 1000)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        value = dt.datetime.fromisoformat(text)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            if not naive_is_local:
                raise NaiveTimeError(f"{value.isoformat()} has no time zone; {_LOCALISE}")
            value = value.astimezone()
        return _dt_ms(value)
    if isinstance(value, dt.date):
        if not naive_is_local:
            raise NaiveTimeError(f"the date {value.isoformat()} has no time of day and no time zone; {_LOCALISE}")
        return _dt_ms(dt.datetime(value.year, value.month, value.day).astimezone())
    raise ValueError(f"cannot read {value!r} as a time")


_LOCALISE = (
    "give it an offset (or UTC), or localise it with the zone configured for its source "
    "(netguard.events.logtime.localize)"
)


def _dt_ms(value: dt.datetime) -> int:
    delta = value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def _coerce_one(f: Field, value: Any, truncated: list[str]) -> Any:
    t = f.type
    if t is FieldType.KEYWORD or t is FieldType.TEXT:
        text = value if isinstance(value, str) else str(value)
        if len(text) > MAX_STRING:
            truncated.append(f.name)
            text = text[:MAX_STRING]
        return text
    if t is FieldType.LONG:
        if isinstance(value, bool):
            raise ValueError("a boolean is not a number")
        number = int(value)
        # As Elasticsearch's long, and what SQLite's numbers index can hold: a larger one would fail
        # the whole batch it is written in.
        if not LONG_MIN <= number <= LONG_MAX:
            raise ValueError(f"{number} is outside a signed 64-bit integer")
        return number
    if t is FieldType.DOUBLE:
        if isinstance(value, bool):
            raise ValueError("a boolean is not a number")
        real = float(value)
        if not math.isfinite(real):  # Elasticsearch refuses them, and JSON has no spelling for them
            raise ValueError(f"{real} is not a finite number")
        return real
    if t is FieldType.BOOLEAN:
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise ValueError("expected true or false")
    if t is FieldType.IP:
        return normalize_ip(str(value))
    if t is FieldType.MAC:
        return normalize_mac(str(value))
    if t is FieldType.ORDINAL:
        text = str(value)
        if text not in f.levels:
            raise ValueError(f"expected one of {', '.join(f.levels)}")
        return text
    if t is FieldType.DATE:
        return format_timestamp(to_epoch_ms(value, naive_is_local=False))
    raise ValueError(f"unknown field type {t}")  # pragma: no cover - exhaustive


def _coerce(f: Field, value: Any, truncated: list[str]) -> Any:
    if f.array:
        items = value if isinstance(value, list | tuple | set | frozenset) else [value]
        out: list[Any] = []
        for item in items:
            if item is None or item == "":
                continue
            v = _coerce_one(f, item, truncated)
            if v not in out:
                out.append(v)
        return out
    return _coerce_one(f, value, truncated)


_RELATED = {
    "related.ip": ("source.ip", "destination.ip", "host.ip"),
    "related.user": ("user.name",),
    "related.hosts": ("host.name", "destination.address", "observer.name"),
}


@dataclass(frozen=True, slots=True)
class LogPosition:
    """Where a log reader found an event: its identity (see the module docstring).

    ``source`` is the configured name of the log source, ``file_key`` the
    identity the checkpoint registry gave the file
    (:attr:`netguard.store.checkpoints.Checkpoint.file_key`: it survives
    renames and changes when the file is truncated or replaced), ``offset``
    the byte offset of the record's first byte, ``path`` where it was read
    (stored as ``log.file.path``; not part of the id, a rotated file keeps it).
    """

    source: str
    file_key: str
    offset: int
    path: str

    @property
    def event_id(self) -> str:
        key = "\x00".join(("log", self.source, self.file_key, str(self.offset)))
        return hashlib.blake2b(key.encode("utf-8"), digest_size=16).hexdigest()


def make_event(
    kind: str, fields: Mapping[str, Any], *, timestamp: Any = None, position: LogPosition | None = None
) -> Event:
    """Validate and normalise ``fields`` as an event of ``kind``.

    ``timestamp`` (or ``fields['@timestamp']``) defaults to now and must carry
    its zone. ``position`` is where a log reader found the event: it sets
    ``log.file.path`` and ``log.offset`` and the id. Raises :class:`EventError`
    naming the field for an unknown field or a bad value.
    """
    spec = kind_spec(kind)
    ts_ms, fields, given_id = time_position_id(kind, fields, timestamp, position)
    truncated: list[str] = []
    doc = check_fields(kind, spec, fields, truncated)
    derive(kind, spec, doc, truncated, ts_ms)
    return _finish(kind, ts_ms, doc, given_id)


# The pieces of make_event, shared with netguard.events.template (events built from a template
# must come out identical).


def kind_spec(kind: str) -> EventKind:
    spec = KINDS.get(kind)
    if spec is None:
        raise EventError(f"unknown event kind '{kind}' (known: {', '.join(KINDS)})")
    return spec


def timestamp_ms(kind: str, when: Any) -> int:
    """The event's time in epoch milliseconds; now when ``when`` is None; a zoneless time refused."""
    try:
        return to_epoch_ms(when, naive_is_local=False) if when is not None else _dt_ms(dt.datetime.now(dt.UTC))
    except (ValueError, TypeError) as exc:
        raise EventError(f"{kind} event: @timestamp: {exc}") from None


def time_position_id(
    kind: str, fields: Mapping[str, Any], timestamp: Any, position: LogPosition | None
) -> tuple[int, Mapping[str, Any], Any]:
    """The event's time; its fields with the log position's added; the id it was given (by the position or
    ``event.id``), if any. A ``log.offset`` without a position is refused: the id comes from the position."""
    ts_ms = timestamp_ms(kind, timestamp if timestamp is not None else fields.get("@timestamp"))
    if position is not None:
        return ts_ms, {**fields, **_position_fields(kind, position)}, position.event_id
    given_id = fields.get("event.id")
    if fields.get("log.offset") is not None and not given_id:
        raise EventError(
            f"{kind} event: log.offset is set but no position: an event read from a log takes its id from "
            "its source, file and offset (make_event(..., position=LogPosition(...)))"
        )
    return ts_ms, fields, given_id


def _position_fields(kind: str, position: LogPosition) -> dict[str, Any]:
    if position.offset < 0:
        raise EventError(f"{kind} event: log.offset: {position.offset} is negative")
    return {"log.file.path": position.path, "log.offset": position.offset}


def check_fields(kind: str, spec: EventKind, fields: Mapping[str, Any], truncated: list[str]) -> dict[str, Any]:
    """Each field checked against the kind and coerced; None and empty values dropped; cut fields noted."""
    doc: dict[str, Any] = {}
    for name, value in fields.items():
        if name in ("@timestamp", "event.id") or value is None:
            continue
        doc_value = check_field(kind, spec, name, value, truncated)
        if doc_value in ([], ""):
            continue
        doc[name] = doc_value
    return doc


def check_field(kind: str, spec: EventKind, name: str, value: Any, truncated: list[str]) -> Any:
    """One field's value coerced to its type; EventError naming the field when it does not fit."""
    if name not in spec.allowed:
        hint = closest_field(name)
        known = f"; did you mean {hint}?" if hint else ""
        where = "is not a field of" if name not in FIELDS else "does not belong to"
        raise EventError(f"{kind} event: '{name}' {where} this kind{known}")
    try:
        return _coerce(FIELDS[name], value, truncated)
    except (ValueError, TypeError, OverflowError) as exc:
        raise EventError(f"{kind} event: {name}: {exc}") from None


def derive(kind: str, spec: EventKind, doc: dict[str, Any], truncated: list[str], ts_ms: int) -> list[str]:
    """The fields the kind implies, ``related.*``, ``netguard.truncated``, ``@timestamp``; returns the names set."""
    action = doc.get("event.action")
    if action is None:
        raise EventError(f"{kind} event: event.action is required (one of {', '.join(spec.actions)})")
    if action not in spec.actions:
        raise EventError(f"{kind} event: event.action '{action}' is not one of {', '.join(spec.actions)}")
    set_names: list[str] = []
    for name, value in (
        ("event.kind", spec.ecs_kind),
        ("event.category", spec.category),
        ("event.type", spec.actions[action]),
    ):
        if name not in doc:
            doc[name] = value
            set_names.append(name)
    doc["netguard.kind"] = kind
    set_names.append("netguard.kind")
    for target, sources in _RELATED.items():
        if target in spec.allowed:
            values = list(doc.get(target, []))
            for src in sources:
                v = doc.get(src)
                if v is not None and v not in values:
                    values.append(v)
            if values:
                doc[target] = values
                set_names.append(target)
    if truncated:
        doc["netguard.truncated"] = sorted(set(truncated) | set(doc.get("netguard.truncated", [])))
        set_names.append("netguard.truncated")
    doc["@timestamp"] = format_timestamp(ts_ms)
    set_names.append("@timestamp")
    return set_names


def _finish(kind: str, ts_ms: int, doc: dict[str, Any], given_id: Any) -> Event:
    # The canonical serialisation both names the event (its hash is the id) and,
    # with the id spliced in front, is the stored document: serialised once.
    canonical = _canonical(doc)
    event_id = str(given_id) if given_id else content_id(canonical)
    doc["event.id"] = event_id
    text = '{"event.id":' + json.dumps(event_id) + ("," + canonical[1:] if len(canonical) > 2 else "}")
    return Event(kind=kind, id=event_id, timestamp_ms=ts_ms, fields=doc, json=text)


def _canonical(doc: Mapping[str, Any]) -> str:
    return json.dumps(
        {k: v for k, v in doc.items() if k != "event.id"}, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )


def content_id(canonical: str) -> str:
    """The id of an event not read from a log: a hash of its canonical JSON."""
    return hashlib.blake2b(canonical.encode("utf-8"), digest_size=16).hexdigest()


def event_from_doc(doc: Mapping[str, Any], text: str | None = None) -> Event:
    """Rebuild an event read back from a store (already normalised)."""
    return Event(
        kind=str(doc["netguard.kind"]),
        id=str(doc["event.id"]),
        timestamp_ms=to_epoch_ms(doc["@timestamp"]),
        fields=dict(doc),
        json=text if text is not None else json.dumps(doc, ensure_ascii=False, separators=(",", ":")),
    )
