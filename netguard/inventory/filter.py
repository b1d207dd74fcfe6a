"""Composable institution filters, after nornir's ``F``.

``F(tier="village") & F(township="娜姑镇")``, ``|`` and ``~`` combine filters;
:meth:`Inventory.filter <netguard.inventory.Inventory.filter>` returns a new
view and never changes the inventory it was called on. A keyword is a field of
:class:`~netguard.inventory.model.Institution`, optionally with an operator
suffix: ``F(id__in={"a", "b"})``, ``F(name__contains="卫生院")``,
``F(id__startswith="vc-")``, ``F(kind__ne="private-clinic")``. Several
keywords in one ``F`` must all hold. For anything else, ``Predicate(func)``.

Unknown fields or operators raise ``ValueError`` when the filter is built, not
silently match nothing later.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from netguard.inventory.model import Institution

FIELDS = ("id", "name", "tier", "kind", "township", "parent")
OPERATORS = ("eq", "ne", "in", "contains", "startswith")


class Filter:
    """Base of all filters: a predicate over institutions that combines with & | ~."""

    __slots__ = ()

    def __call__(self, institution: Institution) -> bool:
        raise NotImplementedError

    def __and__(self, other: Filter) -> Filter:
        return _And(self, other)

    def __or__(self, other: Filter) -> Filter:
        return _Or(self, other)

    def __invert__(self) -> Filter:
        return _Not(self)


class F(Filter):
    """Match institutions by field values; all keywords must hold."""

    __slots__ = ("_conditions",)

    def __init__(self, **conditions: Any) -> None:
        if not conditions:
            raise ValueError("F() needs at least one condition, e.g. F(tier='village')")
        parsed: list[tuple[str, str, Any]] = []
        for key, value in conditions.items():
            name, _, op = key.partition("__")
            op = op or "eq"
            if name not in FIELDS:
                raise ValueError(f"cannot filter on '{name}' (fields: {', '.join(FIELDS)})")
            if op not in OPERATORS:
                raise ValueError(f"unknown filter operator '__{op}' (operators: {', '.join(OPERATORS)})")
            if op == "in" and (isinstance(value, str) or not isinstance(value, Collection)):
                raise ValueError(f"{key} needs a collection of values, not {value!r}")
            parsed.append((name, op, value))
        self._conditions = tuple(parsed)

    def __call__(self, institution: Institution) -> bool:
        return all(_test(getattr(institution, name), op, value) for name, op, value in self._conditions)

    def __repr__(self) -> str:
        args = ", ".join(f"{n}{'' if op == 'eq' else '__' + op}={v!r}" for n, op, v in self._conditions)
        return f"F({args})"


class Predicate(Filter):
    """Any function of an institution, as a combinable filter."""

    __slots__ = ("_func",)

    def __init__(self, func: Callable[[Institution], bool]) -> None:
        self._func = func

    def __call__(self, institution: Institution) -> bool:
        return bool(self._func(institution))

    def __repr__(self) -> str:
        return f"Predicate({getattr(self._func, '__name__', self._func)!r})"


def _test(actual: Any, op: str, expected: Any) -> bool:
    if op == "eq":
        return bool(actual == expected)
    if op == "ne":
        return bool(actual != expected)
    if op == "in":
        return actual in expected
    if actual is None:
        return False
    if op == "contains":
        return str(expected) in str(actual)
    return str(actual).startswith(str(expected))


class _And(Filter):
    __slots__ = ("a", "b")

    def __init__(self, a: Filter, b: Filter) -> None:
        self.a, self.b = a, b

    def __call__(self, institution: Institution) -> bool:
        return self.a(institution) and self.b(institution)

    def __repr__(self) -> str:
        return f"({self.a!r} & {self.b!r})"


class _Or(Filter):
    __slots__ = ("a", "b")

    def __init__(self, a: Filter, b: Filter) -> None:
        self.a, self.b = a, b

    def __call__(self, institution: Institution) -> bool:
        return self.a(institution) or self.b(institution)

    def __repr__(self) -> str:
        return f"({self.a!r} | {self.b!r})"


class _Not(Filter):
    __slots__ = ("a",)

    def __init__(self, a: Filter) -> None:
        self.a = a

    def __call__(self, institution: Institution) -> bool:
        return not self.a(institution)

    def __repr__(self) -> str:
        return f"~{self.a!r}"
