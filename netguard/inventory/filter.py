"""Composable filters over inventory records, after nornir's ``F``.

``F(tier="village") & F(township="娜姑镇")``, ``|`` and ``~`` combine filters.
:meth:`Inventory.filter <netguard.inventory.Inventory.filter>` narrows the
institutions; :meth:`~netguard.inventory.Inventory.switches`, ``servers()`` and
``devices()`` take the same filters and return a
:class:`~netguard.inventory.views.RecordView`. Nothing changes the inventory a
filter was applied to.

A keyword names a field, optionally with an operator suffix:
``F(id__in={"a", "b"})``, ``F(name__contains="卫生院")``,
``F(id__startswith="vc-")``, ``F(kind__ne="private-clinic")``,
``F(management__within="10.13.0.0/16")``. Several keywords in one ``F`` must
all hold. For anything else, ``Predicate(func)``.

How a field is found, so one filter can serve every record type:

1. the record's own field (a switch's ``role``, a device's ``kind``);
2. otherwise ``tier``, ``township`` and ``parent`` come from the record's
   institution, which is how "every access switch of the village tier in
   娜姑镇" reads: ``F(role="access", tier="village", township="娜姑镇")``;
3. ``institution__<field>`` always means the institution's field, for names
   a record shares with it (``F(institution__kind="village-clinic")`` on
   devices, whose own ``kind`` is the device's). On an institution it is the
   institution itself, so ``F(institution__id__in=...)`` scopes any record.

Mistakes fail when they can be seen: an unknown field, operator, tier, MAC or
address when the filter is built; a field the record type lacks (``role`` on
devices) when the filter is applied to a view, before any record is tested.
Expected values are normalised once: MACs to ``aa:bb:cc:dd:ee:ff``, addresses
to :mod:`ipaddress` objects, tiers to :class:`~netguard.inventory.model.Tier`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Collection
from typing import Any

from netguard.addresses import normalize_mac
from netguard.inventory.model import Device, Institution, Server, Switch, Tier

Record = Institution | Switch | Server | Device

RECORD_FIELDS: dict[type, tuple[str, ...]] = {
    Institution: ("id", "name", "tier", "kind", "township", "parent"),
    Switch: ("id", "institution", "management", "role", "name", "vendor", "model", "quarantine_vlan", "snmp_from"),
    Server: ("id", "institution", "address", "name", "role", "os", "mac"),
    Device: ("mac", "institution", "kind", "ip", "owner", "note"),
}
FIELDS = RECORD_FIELDS[Institution]
# What a switch, server or device takes from its institution when it lacks the field.
INHERITED = ("tier", "township", "parent")
OPERATORS = ("eq", "ne", "in", "contains", "startswith", "within")

_KNOWN = frozenset(name for names in RECORD_FIELDS.values() for name in names)
_IP_FIELDS = frozenset({"management", "address", "ip"})
_VIA = "institution"


def record_name(record_type: type) -> str:
    return {Institution: "institutions", Switch: "switches", Server: "servers", Device: "devices"}.get(
        record_type, record_type.__name__
    )


class Filter:
    """Base of all filters: a predicate over records that combines with & | ~."""

    __slots__ = ()

    def __call__(self, record: Record, institution: Institution | None = None) -> bool:
        """Does ``record`` match? ``institution`` is the record's own (itself for an institution)."""
        raise NotImplementedError

    def check(self, record_type: type) -> None:
        """Raise ValueError if this filter names a field ``record_type`` cannot answer."""

    def __and__(self, other: Filter) -> Filter:
        return _And(self, other)

    def __or__(self, other: Filter) -> Filter:
        return _Or(self, other)

    def __invert__(self) -> Filter:
        return _Not(self)


class F(Filter):
    """Match records by field values; all keywords must hold."""

    __slots__ = ("_conditions",)

    def __init__(self, **conditions: Any) -> None:
        if not conditions:
            raise ValueError("F() needs at least one condition, e.g. F(tier='village')")
        self._conditions = tuple(_parse(key, value) for key, value in conditions.items())

    def __call__(self, record: Record, institution: Institution | None = None) -> bool:
        return all(_test(_value(record, institution, via, n), op, v) for via, n, op, v in self._conditions)

    def check(self, record_type: type) -> None:
        own = RECORD_FIELDS.get(record_type, ())
        for via, name, _op, _value in self._conditions:
            if not via and name not in own and (record_type is Institution or name not in INHERITED):
                hint = "" if record_type is Institution else "; institution__<field> for their institution's"
                allowed = own if record_type is Institution else (*own, *INHERITED)
                raise ValueError(
                    f"cannot filter {record_name(record_type)} on '{name}' (fields: {', '.join(allowed)}{hint})"
                )

    def __repr__(self) -> str:
        args = ", ".join(
            f"{_VIA + '__' if via else ''}{n}{'' if op == 'eq' else '__' + op}={v!r}"
            for via, n, op, v in self._conditions
        )
        return f"F({args})"


class Predicate(Filter):
    """Any function of a record, as a combinable filter."""

    __slots__ = ("_func",)

    def __init__(self, func: Callable[[Any], bool]) -> None:
        self._func = func

    def __call__(self, record: Record, institution: Institution | None = None) -> bool:
        return bool(self._func(record))

    def __repr__(self) -> str:
        return f"Predicate({getattr(self._func, '__name__', self._func)!r})"


def _parse(key: str, value: Any) -> tuple[bool, str, str, Any]:
    """``institution__kind__in`` -> (via institution, field, operator, normalised value)."""
    parts = key.split("__")
    op = "eq"
    if len(parts) > 1 and parts[-1] in OPERATORS:
        op = parts.pop()
    via = len(parts) == 2 and parts[0] == _VIA
    if via:
        parts = parts[1:]
    if len(parts) != 1 or not parts[0]:
        raise ValueError(f"cannot read filter '{key}' (write field, field__operator or institution__field)")
    name = parts[0]
    known = RECORD_FIELDS[Institution] if via else _KNOWN
    if name not in known:
        raise ValueError(f"cannot filter on '{key}' (fields: {', '.join(sorted(known))})")
    if op == "in" and (isinstance(value, str) or not isinstance(value, Collection)):
        raise ValueError(f"{key} needs a collection of values, not {value!r}")
    return via, name, op, _normalise(key, name, op, value)


def _normalise(key: str, name: str, op: str, value: Any) -> Any:
    if op in ("contains", "startswith") or value is None:
        return value
    if op == "within":
        if name not in _IP_FIELDS:
            raise ValueError(f"{key}: 'within' applies to addresses ({', '.join(sorted(_IP_FIELDS))})")
        try:
            return ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            raise ValueError(f"{key}: '{value}' is not a network") from None
    if op == "in":
        return frozenset(_normalise(key, name, "eq", v) for v in value)
    try:
        if name == "tier":
            return Tier(value)
        if name == "mac":
            return normalize_mac(str(value))
        if name in _IP_FIELDS and isinstance(value, str):
            return ipaddress.ip_address(value.strip())
    except ValueError:
        what = {"tier": f"tier (one of {', '.join(t.value for t in Tier)})", "mac": "MAC"}.get(name, "address")
        raise ValueError(f"{key}: '{value}' is not a valid {what}") from None
    return value


def _value(record: Record, institution: Institution | None, via: bool, name: str) -> Any:
    if not via and name in RECORD_FIELDS.get(type(record), ()):
        return getattr(record, name)
    owner = record if isinstance(record, Institution) else institution
    if owner is None:
        raise TypeError(f"matching '{name}' on a {type(record).__name__} needs its institution")
    return getattr(owner, name)


def _test(actual: Any, op: str, expected: Any) -> bool:
    if op == "eq":
        return bool(actual == expected)
    if op == "ne":
        return bool(actual != expected)
    if op == "in":
        return actual in expected
    if actual is None:
        return False
    if op == "within":
        return bool(actual.version == expected.version and actual in expected)
    if op == "contains":
        return str(expected) in str(actual)
    return str(actual).startswith(str(expected))


class _And(Filter):
    __slots__ = ("a", "b")

    def __init__(self, a: Filter, b: Filter) -> None:
        self.a, self.b = a, b

    def __call__(self, record: Record, institution: Institution | None = None) -> bool:
        return self.a(record, institution) and self.b(record, institution)

    def check(self, record_type: type) -> None:
        self.a.check(record_type)
        self.b.check(record_type)

    def __repr__(self) -> str:
        return f"({self.a!r} & {self.b!r})"


class _Or(Filter):
    __slots__ = ("a", "b")

    def __init__(self, a: Filter, b: Filter) -> None:
        self.a, self.b = a, b

    def __call__(self, record: Record, institution: Institution | None = None) -> bool:
        return self.a(record, institution) or self.b(record, institution)

    def check(self, record_type: type) -> None:
        self.a.check(record_type)
        self.b.check(record_type)

    def __repr__(self) -> str:
        return f"({self.a!r} | {self.b!r})"


class _Not(Filter):
    __slots__ = ("a",)

    def __init__(self, a: Filter) -> None:
        self.a = a

    def __call__(self, record: Record, institution: Institution | None = None) -> bool:
        return not self.a(record, institution)

    def check(self, record_type: type) -> None:
        self.a.check(record_type)

    def __repr__(self) -> str:
        return f"~{self.a!r}"


def combine(filters: Collection[Filter]) -> Filter | None:
    """All of ``filters`` (AND), or None when there are none."""
    combined: Filter | None = None
    for f in filters:
        combined = f if combined is None else combined & f
    return combined
