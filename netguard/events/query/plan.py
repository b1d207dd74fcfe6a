"""Binding: the syntax tree checked against the event schema, values typed.

The plan is what both backends compile (:mod:`.to_sqlite`, :mod:`.to_es`).
Every decision about meaning is taken here, once, so the backends only
translate and cannot disagree: which field an alias names, whether a value is
a number, a CIDR or a day, what ``risk:>=high`` expands to, what ``now-24h``
is (one ``now`` per query), and which fields a bare word searches.

Values are checked against what both backends can hold: numbers are finite
(no ``nan``, ``inf``) and a long is a signed 64-bit integer; times lie in the
years 1 to 9999; an IPv4-mapped CIDR (``::ffff:10.0.0.0/104``) is the IPv4
network it maps (``10.0.0.0/8``). Outside these, the value is a usage error
with its position, never a backend failure.

A list of values for one field (``user:(a OR b OR ...)``, also written
``user:a OR user:b OR ...``, and the negated ``-user:a -user:b``) becomes one
:class:`OneOf`, a single clause however long the list. Then the size is
checked once for both backends (:func:`check_limits`): at most
:data:`MAX_CLAUSES` clauses, as Elasticsearch counts them (a bare word is one
per text field it searches), nested at most :data:`MAX_DEPTH` levels deep.
Elasticsearch refuses more than 1,024 clauses on a small node and more than
~30 nested ``bool`` queries, and SQLite's parser stack holds about 50 nested
parentheses: a query past the limits is refused the same way on both.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from netguard.addresses import normalize_ip, normalize_mac
from netguard.errors import QueryError
from netguard.events.model import to_epoch_ms
from netguard.events.query import syntax as s
from netguard.events.query.parser import parse
from netguard.events.schema import (
    DEFAULT_TEXT_FIELDS,
    FIELDS,
    LONG_MAX,
    LONG_MIN,
    Field,
    FieldType,
    closest_field,
    resolve_field,
)

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Eq:
    field: Field
    value: str | int | float | bool


@dataclass(frozen=True)
class OneOf:
    field: Field
    values: tuple[str | int | float | bool, ...]


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

    def bounds(self) -> list[tuple[str, str | int | float]]:
        """The range's comparisons as (SQL operator, bound), open ends left out: ``[(">=", 1000)]``."""
        ops = ((">", self.gt), (">=", self.gte), ("<", self.lt), ("<=", self.lte))
        return [(op, b) for op, b in ops if b is not None]


@dataclass(frozen=True)
class IpIn:
    """The address is in the network; an IPv4 address counts as ``::ffff:a.b.c.d`` (as in Elasticsearch),
    so ``::/0`` and ``::/64`` hold every IPv4 address and ``0.0.0.0/0`` no IPv6 one."""

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

# The documented limits (docs/query.md), the same for both backends.
MAX_CLAUSES = 1024
MAX_DEPTH = s.MAX_DEPTH
MAX_WILD_ONE = 8  # '?' in a text pattern, or after a '*' in a keyword pattern: see _Binder.check_pattern
MAX_VALUES = 65_536  # values in one list: Elasticsearch's index.max_terms_count

_DURATION = re.compile(r"^([0-9]+)\s*([smhdw])$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_NOW_EXPR = re.compile(r"^now(?:([+-])([0-9]+)([smhdw]))?$")
# Plain decimal notation only: Python's float() would also take nan, inf, 1_000 and non-ASCII digits.
_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
# 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999Z: what Python's datetime and both backends hold.
TIME_MIN_MS, TIME_MAX_MS = -62_135_596_800_000, 253_402_300_799_999
_MAPPED_V4 = ipaddress.IPv6Network("::ffff:0:0/96")
_ORDER_TESTS = {
    "gt": lambda j, i: j > i,
    "gte": lambda j, i: j >= i,
    "lt": lambda j, i: j < i,
    "lte": lambda j, i: j <= i,
}
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def now_ms() -> int:
    return to_epoch_ms(dt.datetime.now(dt.UTC))


def compile_query(text: str, *, now: int | None = None) -> Plan:
    """Parse and bind ``text``; raises :class:`QueryError` with a position."""
    plan = _Binder(text, now if now is not None else now_ms()).bind(parse(text))
    check_limits(plan, text)
    return plan


def check_limits(plan: Plan, text: str = "") -> None:
    """Refuse a plan past :data:`MAX_CLAUSES` or :data:`MAX_DEPTH` (a usage error, the same on both backends)."""
    longest = _longest_list(plan)
    if longest > MAX_VALUES:
        raise QueryError(f"the query is too complex: a list of {longest} values, at most {MAX_VALUES}", text)
    clauses, depth = plan_size(plan)
    if depth > MAX_DEPTH:
        raise QueryError(
            f"the query is too complex: AND, OR and NOT nest {depth} levels deep, at most {MAX_DEPTH}", text
        )
    if clauses > MAX_CLAUSES:
        raise QueryError(
            f"the query is too complex: {clauses} conditions, at most {MAX_CLAUSES} (a bare word counts once for "
            "each text field it searches; a list of values for one field, user:(a OR b OR ...), counts once)",
            text,
        )


def _longest_list(plan: Plan) -> int:
    if isinstance(plan, All | Any_):
        return max((_longest_list(i) for i in plan.items), default=0)
    if isinstance(plan, Not):
        return _longest_list(plan.item)
    return len(plan.values) if isinstance(plan, OneOf) else 0


def plan_size(plan: Plan) -> tuple[int, int]:
    """(clauses, nesting depth) as Elasticsearch sees the compiled query."""
    if isinstance(plan, All | Any_):
        sizes = [plan_size(i) for i in plan.items]
        return sum(c for c, _ in sizes), 1 + max((d for _, d in sizes), default=0)
    if isinstance(plan, Not):
        clauses, depth = plan_size(plan.item)
        return clauses, depth + 1
    if isinstance(plan, Contains):
        return len(plan.fields), int(len(plan.fields) > 1)
    return 1, 0


def any_of(items: Iterable[Plan]) -> Plan:
    """OR: nested ORs flattened, and values for one field gathered into one :class:`OneOf`."""
    flat: list[Plan] = []
    for item in items:
        flat.extend(item.items if isinstance(item, Any_) else (item,))
    merged = _gather(flat, lambda x: x)
    return merged[0] if len(merged) == 1 else Any_(tuple(merged))


def all_of(items: Iterable[Plan]) -> Plan:
    """AND: nested ANDs flattened, and ``NOT f:a AND NOT f:b`` gathered into ``NOT f:(a OR b)``."""
    flat: list[Plan] = []
    for item in items:
        flat.extend(item.items if isinstance(item, All) else (item,))
    merged = _gather(flat, lambda x: x.item if isinstance(x, Not) else None)
    return merged[0] if len(merged) == 1 else All(tuple(merged))


def _gather(items: list[Plan], inner: Callable[[Plan], Plan | None]) -> list[Plan]:
    """Merge the items whose ``inner`` is an Eq or OneOf on the same field, at the first one's place."""
    # Values keyed by type too: True == 1, but a boolean and a number are different values.
    by_field: dict[str, dict[tuple[type, str | int | float | bool], str | int | float | bool]] = {}
    counts: dict[str, int] = {}
    for item in items:
        x = inner(item)
        if isinstance(x, Eq | OneOf):
            counts[x.field.name] = counts.get(x.field.name, 0) + 1
    out: list[Plan] = []
    for item in items:
        x = inner(item)
        if not isinstance(x, Eq | OneOf) or counts[x.field.name] < 2:
            out.append(item)
            continue
        values = by_field.get(x.field.name)
        if values is None:
            values = by_field[x.field.name] = {}
            out.append(item)  # the place of the merged item, replaced below
        for v in (x.value,) if isinstance(x, Eq) else x.values:
            values.setdefault((type(v), v), v)
    result: list[Plan] = []
    for item in out:
        x = inner(item)
        if isinstance(x, Eq | OneOf) and x.field.name in by_field:
            one: Plan = OneOf(x.field, tuple(by_field[x.field.name].values()))
            result.append(Not(one) if isinstance(item, Not) else one)
        else:
            result.append(item)
    return result


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
    try:
        if ago is not None:
            return _in_time_range(now - ago)
        return _date_value(text, now)[0]
    except OverflowError:
        raise QueryError(f"{option} '{text}' is out of range (times run from year 1 to 9999)") from None
    except ValueError:
        raise QueryError(f"{option} takes a duration (24h, 7d, 30m) or a date (2026-11-01), not '{text}'") from None


def _in_time_range(ms: int) -> int:
    if not TIME_MIN_MS <= ms <= TIME_MAX_MS:
        raise OverflowError(ms)
    return ms


def _date_value(text: str, now: int) -> tuple[int, int]:
    """A date as [start, end) in epoch ms: a whole day for a bare date, one ms otherwise.

    ValueError if it is not a date, OverflowError if it is one outside the years 1 to 9999.
    """
    m = _NOW_EXPR.match(text)
    if m:
        value = now
        if m.group(1):
            delta = int(m.group(2)) * _UNIT_MS[m.group(3)]
            value = now + delta if m.group(1) == "+" else now - delta
        return _in_time_range(value), _in_time_range(value) + 1
    if _DAY.match(text):
        day = dt.date.fromisoformat(text)
        start = _in_time_range(to_epoch_ms(day))
        if day == dt.date.max:  # no next day to end at: the end of time NetGuard stores
            return start, TIME_MAX_MS + 1
        return start, min(to_epoch_ms(day + dt.timedelta(days=1)), TIME_MAX_MS + 1)
    value = _in_time_range(to_epoch_ms(text))
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
            return all_of(self.bind(i) for i in node.items)
        if isinstance(node, s.Or):
            return any_of(self.bind(i) for i in node.items)
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
            self.check_pattern(node.value, True, node.value_pos)
            return Contains(tuple(FIELDS[n] for n in DEFAULT_TEXT_FIELDS), node.value)
        f = self.field(node.field, node.pos)
        wild = s.has_wildcard(node.value) and not node.quoted
        text = s.literal(node.value)
        t = f.type
        if t is FieldType.TEXT:
            self.check_pattern(node.value, True, node.value_pos)
            return Contains((f,), node.value)
        if t in (FieldType.KEYWORD, FieldType.MAC) and wild:
            self.check_pattern(node.value, False, node.value_pos)
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

    def check_pattern(self, pattern: s.Pattern, anywhere: bool, pos: int) -> None:
        """Refuse what Elasticsearch cannot turn into an automaton (and so refuses): many ``?`` after a ``*``.

        Matching ``*a??????`` needs a state for every subset of the last few characters that
        could have been the ``a``: 2 to the power of the ``?`` count. Lucene gives up past about
        10,000 states (measured: 10 ``?`` pass in a text field, 12 fail; 12 pass after a keyword's
        ``*``, 14 fail). SQLite's matcher has no such limit, so the plan sets one for both.
        """
        after_star = anywhere
        count = 0
        for seg in pattern:
            after_star = after_star or seg is s.Wild.STAR
            if after_star and seg is s.Wild.ONE:
                count += 1
        if count > MAX_WILD_ONE:
            where = "in a text field" if anywhere else "after a '*'"
            raise self.error(
                f"the pattern is too complex: at most {MAX_WILD_ONE} '?' {where}, not {count} (use '*')", pos
            )

    def ip(self, f: Field, text: str, pos: int) -> Plan:
        try:
            if "/" in text:
                net = _unmapped(ipaddress.ip_network(text, strict=False))
                if net.prefixlen == net.max_prefixlen:  # one address: a value, so a list of them is one clause
                    return Eq(f, normalize_ip(str(net.network_address)))
                return IpIn(f, net)
            return Eq(f, normalize_ip(text))
        except ValueError:
            raise self.error(f"'{text}' is not an IP address or CIDR network", pos) from None

    def number(self, f: Field, text: str, pos: int) -> int | float:
        if not _NUMBER.match(text):
            raise self.error(f"'{f.name}' is a number; '{text}' is not", pos)
        if f.type is FieldType.LONG:
            # Elasticsearch refuses a long query value outside 64 bits; SQLite cannot bind one.
            value: int | float = int(text) if _INTEGER.match(text) else float(text)
            if not LONG_MIN <= value <= LONG_MAX or (isinstance(value, float) and abs(value) >= 2.0**63):
                raise self.error(f"'{text}' is out of range for '{f.name}' (a 64-bit integer)", pos)
            return int(value) if isinstance(value, float) and value.is_integer() else value
        value = float(text)
        if not math.isfinite(value):
            raise self.error(f"'{text}' is out of range for '{f.name}' (a double)", pos)
        return value

    def date(self, text: str, pos: int) -> tuple[int, int]:
        try:
            return _date_value(text, self.now)
        except OverflowError:
            raise self.error(f"'{text}' is out of range (times run from year 1 to 9999)", pos) from None
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


def _unmapped(net: IpNetwork) -> IpNetwork:
    """An IPv6 network inside ``::ffff:0:0/96`` is the IPv4 network it maps (Elasticsearch refuses it as written)."""
    if isinstance(net, ipaddress.IPv6Network) and net.prefixlen >= 96 and net.subnet_of(_MAPPED_V4):
        mapped = net.network_address.ipv4_mapped
        assert mapped is not None  # inside ::ffff:0:0/96
        return ipaddress.IPv4Network((mapped, net.prefixlen - 96))
    return net
