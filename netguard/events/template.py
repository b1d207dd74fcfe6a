"""Events of one kind that share most of their fields, built for a fraction of ``make_event``'s cost.

A log reader emits a stream of events where most fields repeat: every
execution of one SQL shape has the same statement type, tables, fingerprint,
masked text, risk and rules; only the time, user, client, offsets and counters
change. :func:`~netguard.events.model.make_event` checks and coerces every
field of every event and serialises the whole document; an
:class:`EventTemplate` checks, coerces and serialises the shared fields once,
and each event pays only for its own.

The result is exactly ``make_event(kind, {**shared, **fields}, timestamp=…,
position=…)``: the same id, the same fields, the same stored JSON byte for
byte (tests/events compares them). How:

- the shared fields go through ``make_event``'s checks once; their JSON
  fragments (``"name":value``, as the canonical serialisation writes them) are
  kept sorted by name;
- an event's own fields go through the same checks, the common cases (a short
  string for a keyword or text field, an int for a long) inline, and IP
  addresses through a bounded memo owned by the :class:`EventFactory`
  (clients repeat, and parsing an address is the costliest coercion);
- the derived fields (``event.kind/category/type``, ``related.*``,
  ``netguard.truncated``, ``@timestamp``) are made by ``make_event``'s own
  :func:`~netguard.events.model.derive`;
- the event's fragments are sorted and merged with the shared ones, which is
  the canonical JSON: ``json.dumps(sort_keys=True)`` orders keys the same way.

A field given both shared and per event takes the event's value, as a dict
merge would; ``None`` there removes the shared value, as ``make_event`` skips
``None``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from netguard.events.model import (
    Event,
    EventError,
    LogPosition,
    check_field,
    check_fields,
    content_id,
    derive,
    kind_spec,
    time_position_id,
)
from netguard.events.schema import FIELDS, MAX_STRING, EventKind, FieldType

MEMO_SIZE = 4096

_enc: Callable[[str], str] = json.encoder.encode_basestring
_enc_ascii: Callable[[str], str] = json.encoder.encode_basestring_ascii
# make_event sets these itself; a template cannot share them.
_PER_EVENT = frozenset({"@timestamp", "event.id", "log.file.path", "log.offset"})


def _fragment(name: str, value: Any) -> str:
    """``"name":value`` exactly as ``json.dumps(sort_keys=True, ensure_ascii=False, separators=(",", ":"))``."""
    return _enc(name) + ":" + _value(value)


def _value(value: Any) -> str:
    if type(value) is str:
        return _enc(value)
    if type(value) is int:
        return int.__repr__(value)
    if type(value) is list:
        try:  # a list of strings (tags, related.*): encode_basestring refuses anything else
            return "[" + ",".join([_enc(v) for v in value]) + "]"
        except TypeError:
            pass
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class EventFactory:
    """Makes the :class:`EventTemplate` s of one kind and holds what they share: the address memo.

    One per producer (a log follower); the memo is per instance and bounded by
    :data:`MEMO_SIZE` entries (cleared when full).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.spec: EventKind = kind_spec(kind)
        self._ips: dict[tuple[str, str], Any] = {}
        self._names: dict[str, str] = {}  # field name -> '"name":'
        self._strings: dict[tuple[str, str], str] = {}  # (name, string value) -> fragment: users, databases repeat

    def template(self, shared: Mapping[str, Any]) -> EventTemplate:
        return EventTemplate(self, shared)

    def fragment(self, name: str, value: Any) -> str:
        """:func:`_fragment`, remembering field names and string values (bounded)."""
        if type(value) is str:
            key = (name, value)
            found = self._strings.get(key)
            if found is None:
                found = _fragment(name, value)
                if len(self._strings) >= MEMO_SIZE:
                    self._strings.clear()
                self._strings[key] = found
            return found
        prefix = self._names.get(name)
        if prefix is None:
            prefix = self._names[name] = _enc(name) + ":"
        return prefix + _value(value)

    def ip(self, name: str, value: str, truncated: list[str]) -> Any:
        """An IP field's value normalised, remembered."""
        key = (name, value)
        found = self._ips.get(key)
        if found is None:
            found = check_field(self.kind, self.spec, name, value, truncated)
            if len(self._ips) >= MEMO_SIZE:
                self._ips.clear()
            self._ips[key] = found
        return found


class EventTemplate:
    """``make_event`` with the ``shared`` fields fixed (see the module docstring)."""

    def __init__(self, factory: EventFactory, shared: Mapping[str, Any]) -> None:
        per_event = sorted(_PER_EVENT & shared.keys())
        if per_event:
            raise EventError(f"{factory.kind} event template: {', '.join(per_event)} cannot be shared")
        self._factory = factory
        self._kind = factory.kind
        self._spec = factory.spec
        self._truncated: list[str] = []
        self._doc = check_fields(self._kind, self._spec, shared, self._truncated)
        self._names = frozenset(self._doc)
        self._fragments = sorted((name, _fragment(name, value)) for name, value in self._doc.items())

    def make(self, fields: Mapping[str, Any], *, timestamp: Any = None, position: LogPosition | None = None) -> Event:
        """``make_event(kind, {**shared, **fields}, timestamp=timestamp, position=position)``."""
        kind, spec = self._kind, self._spec
        ts_ms, fields, given_id = time_position_id(kind, fields, timestamp, position)
        doc = self._doc.copy()
        own: list[str] = []  # names whose value this event sets
        touched = False  # a shared field overridden or removed
        truncated = self._truncated.copy()
        allowed = spec.allowed
        for name, value in fields.items():
            if name in ("@timestamp", "event.id"):
                continue
            if name in self._names:
                touched = True
                del doc[name]
            if value is None:
                continue
            f = FIELDS.get(name) if name in allowed else None
            if f is None or f.array:
                coerced = check_field(kind, spec, name, value, truncated)
            elif type(value) is str and (f.type is FieldType.KEYWORD or f.type is FieldType.TEXT):
                coerced = value if len(value) <= MAX_STRING else check_field(kind, spec, name, value, truncated)
            elif type(value) is int and f.type is FieldType.LONG:
                coerced = value
            elif type(value) is str and f.type is FieldType.IP:
                coerced = self._factory.ip(name, value, truncated)
            else:
                coerced = check_field(kind, spec, name, value, truncated)
            if coerced in ("", []):
                continue
            doc[name] = coerced
            own.append(name)
        own += derive(kind, spec, doc, truncated, ts_ms)
        own = list(dict.fromkeys(own))
        fragment = self._factory.fragment
        if touched or not self._names.isdisjoint(own):
            parts = [(n, fragment(n, doc[n])) for n in doc]
        else:
            parts = self._fragments + [(n, fragment(n, doc[n])) for n in own]
        parts.sort()
        body = ",".join([text for _, text in parts])
        event_id = str(given_id) if given_id else content_id("{" + body + "}")
        doc["event.id"] = event_id
        text = '{"event.id":' + _enc_ascii(event_id) + ("," + body + "}" if body else "}")
        return Event(kind=kind, id=event_id, timestamp_ms=ts_ms, fields=doc, json=text)
