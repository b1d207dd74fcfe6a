"""Binding: the syntax tree checked against the event schema, values typed.

The plan is what both backends compile (:mod:`.to_sqlite`, :mod:`.to_es`).
Every decision about meaning is taken here, once, so the backends only
translate and cannot disagree: which field an alias names, whether a value is
a number, a CIDR or a day, what ``risk:>=high`` expands to, what ``now-24h``
is (one ``now`` per query), and which fields a bare word searches.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass

from netguard.addresses import normalize_ip, normalize_mac
from netguard.errors import QueryError
from netguard.events.model import to_epoch_ms
from netguard.events.query import syntax as s
from netguard.events.query.parser import parse
from netguard.events.schema import DEFAULT_TEXT_FIELDS, FIELDS, Field, FieldType, closest_field, resolve_field

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Eq:
    field: Field
    value: str | int | float | bool


@dataclass(frozen=True)
class OneOf:
    field: Field
    values: tuple[str, ...]


@dataclass(frozen=True)
class Wildcard:
    """Case-sensitive match of a whole keyword value."""

    field: Field
    pattern: s.Pattern


@dataclass(frozen=True)
class Contains:
    """Case-insensitive occurrence anywhere in one of the text fields."""

    fields: tuple[Field, ...]
    pattern: s.Pattern


@dataclass(frozen=True)
class Range:
    field: Field
    gt: str | int | float | None = None
    gte: str | int | float | None = None
    lt: str | int | float | None = None
    lte: str | int | float | None = None


@dataclass(frozen=True)
class IpIn:
    field: Field
    network: IpNetwork


@dataclass(frozen=True)
class Exists:
    field: Field


@dataclass(frozen=True)
class All:
    items: tuple[Plan, ...]


@dataclass(frozen=True)
class Any_:
    items: tuple[Plan, ...]


@dataclass(frozen=True)
class Not:
    item: Plan


@dataclass(frozen=True)
class MatchAll:
    pass


Plan = Eq | OneOf | Wildcard | Contains | Range | IpIn | Exists | All | Any_ | Not | MatchAll

_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_NOW_EXPR = re.compile(r"^now(?:([+-])(\d+)([smhdw]))?$")
_ORDER_TESTS = {
    "gt": lambda j, i: j > i,
    "gte": lambda j, i: j >= i,
    "lt": lambda j, i: j < i,
    "lte": lambda j, i: j <= i,
}
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def now_ms() -> int:
    return to_epoch_ms(dt.datetime.now(dt.UTC))


def compile_query(text: str, *, now: int | None = None) -> Plan:
    """Parse and bind ``text``; raises :class:`QueryError` with a position."""
    return _Binder(text, now if now is not None else now_ms()).bind(parse(text))


def parse_duration_ms(text: str) -> int | None:
    m = _DURATION.match(text.strip())
    return int(m.group(1)) * _UNIT_MS[m.group(2)] if m else None


def time_window(since: str | None, until: str | None, *, now: int | None = None) -> Plan:
    """``--since 24h`` / ``--since 2026-11-01`` / ``--until now-1h`` as a plan on @timestamp."""
    n = now if now is not None else now_ms()
    field = FIELDS["@timestamp"]
    gte = lt = None
    if since:
        gte = _window_bound(since, n, "--since")
    if until:
        lt = _window_bound(until, n, "--until")
    if gte is None and lt is None:
        return MatchAll()
    return Range(field, gte=gte, lt=lt)


def _window_bound(text: str, now: int, option: str) -> int:
    ago = parse_duration_ms(text)
    if ago is not None:
        return now - ago
    try:
        return _date_value(text, now)[0]
    except ValueError:
        raise QueryError(f"{option} takes a duration (24h, 7d, 30m) or a date (2026-11-01), not '{text}'") from None


def _date_value(text: str, now: int) -> tuple[int, int]:
    """A date as [start, end) in epoch ms: a whole day for a bare date, one ms otherwise."""
    m = _NOW_EXPR.match(text)
    if m:
        value = now
        if m.group(1):
            delta = int(m.group(2)) * _UNIT_MS[m.group(3)]
            value = now + delta if m.group(1) == "+" else now - delta
        return value, value + 1
    if _DAY.match(text):
        start = to_epoch_ms(dt.date.fromisoformat(text))
        return start, to_epoch_ms(dt.date.fromisoformat(text) + dt.timedelta(days=1))
    value = to_epoch_ms(text)
    return value, value + 1


class _Binder:
    def __init__(self, text: str, now: int) -> None:
        self.text = text
        self.now = now

    def error(self, message: str, pos: int) -> QueryError:
        return QueryError(message, self.text, pos)

    def field(self, name: str, pos: int) -> Field:
        f = resolve_field(name)
        if f is None:
            hint = closest_field(name)
            suggestion = f"; did you mean '{hint}'?" if hint else ""
            raise self.error(f"unknown field '{name}'{suggestion}", pos)
        return f

    def bind(self, node: s.Node) -> Plan:
        if isinstance(node, s.MatchAll):
            return MatchAll()
        if isinstance(node, s.And):
            return All(tuple(self.bind(i) for i in node.items))
        if isinstance(node, s.Or):
            return Any_(tuple(self.bind(i) for i in node.items))
        if isinstance(node, s.Not):
            return Not(self.bind(node.item))
        if isinstance(node, s.Exists):
            return Exists(self.field(node.field, node.pos))
        if isinstance(node, s.Term):
            return self.term(node)
        if isinstance(node, s.Compare):
            f = self.field(node.field, node.pos)
            key = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}[node.op]
            return self.range(f, {key: node.value}, node.value_pos)
        bounds: dict[str, str] = {}
        if node.low is not None:
            bounds["gte" if node.include_low else "gt"] = node.low
        if node.high is not None:
            bounds["lte" if node.include_high else "lt"] = node.high
        return self.range(self.field(node.field, node.pos), bounds, node.value_pos)

    def term(self, node: s.Term) -> Plan:
        if not node.value:
            raise self.error("an empty phrase matches nothing useful", node.value_pos)
        if node.field is None:
            return Contains(tuple(FIELDS[n] for n in DEFAULT_TEXT_FIELDS), node.value)
        f = self.field(node.field, node.pos)
        wild = s.has_wildcard(node.value) and not node.quoted
        text = s.literal(node.value)
        t = f.type
        if t is FieldType.TEXT:
            return Contains((f,), node.value)
        if t is FieldType.KEYWORD:
            return Wildcard(f, node.value) if wild else Eq(f, text)
        if t is FieldType.MAC:
            if wild:  # stored lower case: match the pattern the same way
                return Wildcard(f, tuple(seg.lower() if isinstance(seg, str) else seg for seg in node.value))
            try:
                return Eq(f, normalize_mac(text))
            except ValueError:
                raise self.error(f"'{text}' is not a MAC address", node.value_pos) from None
        if wild:
            raise self.error(
                f"wildcards apply to keyword and text fields, not to {t.value} field '{f.name}'", node.value_pos
            )
        if t is FieldType.IP:
            return self.ip(f, text, node.value_pos)
        if t is FieldType.BOOLEAN:
            if text not in ("true", "false"):
                raise self.error(f"'{f.name}' is true or false, not '{text}'", node.value_pos)
            return Eq(f, text == "true")
        if t is FieldType.ORDINAL:
            if text not in f.levels:
                raise self.error(f"'{f.name}' is one of {', '.join(f.levels)}; not '{text}'", node.value_pos)
            return Eq(f, text)
        if t is FieldType.DATE:
            start, end = self.date(text, node.value_pos)
            return Range(f, gte=start, lt=end)
        return Eq(f, self.number(f, text, node.value_pos))

    def ip(self, f: Field, text: str, pos: int) -> Plan:
        try:
            if "/" in text:
                return IpIn(f, ipaddress.ip_network(text, strict=False))
            return Eq(f, normalize_ip(text))
        except ValueError:
            raise self.error(f"'{text}' is not an IP address or CIDR network", pos) from None

    def number(self, f: Field, text: str, pos: int) -> int | float:
        try:
            return int(text) if f.type is FieldType.LONG else float(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                raise self.error(f"'{f.name}' is a number; '{text}' is not", pos) from None
            return value

    def date(self, text: str, pos: int) -> tuple[int, int]:
        try:
            return _date_value(text, self.now)
        except ValueError:
            raise self.error(f"'{text}' is not a date (2026-11-25, 2026-11-25T08:00:00, now-24h)", pos) from None

    def range(self, f: Field, bounds: dict[str, str], pos: int) -> Plan:
        t = f.type
        if t is FieldType.TEXT:
            raise self.error(f"ranges do not apply to text field '{f.name}'", pos)
        if t in (FieldType.IP, FieldType.BOOLEAN, FieldType.MAC):
            hint = " (use CIDR, e.g. 10.1.0.0/16)" if t is FieldType.IP else ""
            raise self.error(f"ranges do not apply to {t.value} field '{f.name}'{hint}", pos)
        if t is FieldType.ORDINAL:
            return self.ordinal_range(f, bounds, pos)
        typed: dict[str, str | int | float] = {}
        for key, raw in bounds.items():
            if t is FieldType.DATE:
                start, end = self.date(raw, pos)
                # A bare day as an upper bound means "through that day" when inclusive.
                typed[key] = {"gt": end - 1, "gte": start, "lt": start, "lte": end - 1}[key]
            elif t is FieldType.KEYWORD:
                typed[key] = raw
            else:
                typed[key] = self.number(f, raw, pos)
        return Range(f, **typed)

    def ordinal_range(self, f: Field, bounds: dict[str, str], pos: int) -> Plan:
        levels = f.levels
        keep = list(range(len(levels)))
        for key, raw in bounds.items():
            if raw not in levels:
                raise self.error(f"'{f.name}' is one of {', '.join(levels)}; not '{raw}'", pos)
            i = levels.index(raw)
            keep = [j for j in keep if _ORDER_TESTS[key](j, i)]
        return OneOf(f, tuple(levels[j] for j in keep))
