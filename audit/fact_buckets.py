"""Cache keys for the number facts of an execution: where a value lies among the rules' thresholds.

A verdict cache keyed by the raw ``rows_sent`` misses once per distinct row
count, which on a slow log is nearly every statement. But a rule never sees the
number itself, only how it compares with the constants in its condition: every
number operator (``equals``, ``not_equals``, ``in``, ``not_in``, ``gt``,
``gte``, ``lt``, ``lte``, ``between``, ``outside``; rules/conditions.py)
compares ``float(value)`` with constants. With the constants of all loaded
rules on one fact sorted, c1 < … < cn, every test has the same outcome for all
values in one of the 2n+1 pieces (-inf, c1), {c1}, (c1, c2), …, {cn}, (cn, +inf):
the piece's index is the value's *bucket*, and a verdict cached under it is the
verdict of every value in it. ``exists`` only tells a missing value (None,
its own bucket) from a present one. A value that is not a finite number keeps
its raw self as the key.

The rules engine compiles a condition into an opaque predicate, so the
constants are read from the ``when:`` node the loader keeps on each rule
(``Rule.condition``). Where there is none (a rule built in code) or a constant
is not a number, the fact is not bucketed: its key holds the raw value, as
before. Exact, only slower.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

import yaml

from rules.conditions import fact_tests
from rules.model import Rule

Bucket = Callable[[Any], Any]
_EXACT = 2**53  # every int up to this converts to float exactly
_MEMO = 20_000


class _Unreadable(Exception):
    """A rule's constants are not known (no condition kept, or a constant that is not a number)."""


def thresholds(rules: Iterable[Rule], facts: Collection[str]) -> dict[str, tuple[float, ...] | None]:
    """For each of ``facts``: the sorted constants the rules compare it with, or None when some rule's are unknown."""
    found: dict[str, set[float] | None] = {f: set() for f in facts}
    for rule in rules:
        read = rule.facts & found.keys()
        if not read:
            continue
        try:
            if rule.condition is None:
                raise _Unreadable
            constants = _constants(rule.condition, read)
        except _Unreadable:
            for fact in read:
                found[fact] = None
            continue
        for fact, values in constants.items():
            known = found[fact]
            if known is not None:
                known |= values
    return {f: None if v is None else tuple(sorted(v)) for f, v in found.items()}


def bucketer(limits: tuple[float, ...]) -> Bucket:
    """The bucket of a value among ``limits`` (sorted): 2i for below limits[i], 2i+1 for equal to it."""
    count = len(limits)

    def bucket(value: Any) -> Any:
        if value.__class__ is int and -_EXACT <= value <= _EXACT:
            # The usual row count: compared as it is (float() of it is exact here, so the same answer).
            i = bisect.bisect_left(limits, value)
            return 2 * i + (i < count and limits[i] == value)
        if value is None:
            return None
        if not isinstance(value, (int, float)):
            return ("raw", value)
        try:
            x = float(value)
        except OverflowError:  # an int past float's range: the rules' own float() fails on it too
            return ("raw", value)
        if not math.isfinite(x):
            return ("raw", value)
        i = bisect.bisect_left(limits, x)
        return 2 * i + (i < count and limits[i] == x)

    return bucket


class Buckets(dict[Any, Any]):
    """value -> its bucket among ``limits``: computed on first sight, then a dict subscript (bounded)."""

    def __init__(self, limits: tuple[float, ...]) -> None:
        super().__init__()
        self._bucket = bucketer(limits)

    def __missing__(self, value: Any) -> Any:
        # Values equal as keys (1, 1.0, True) are equal numbers: the same bucket.
        if len(self) >= _MEMO:
            self.clear()
        found = self[value] = self._bucket(value)
        return found


def bucketers(limits: Mapping[str, tuple[float, ...] | None]) -> dict[str, Buckets | None]:
    """The buckets of each fact, None where the raw value must be the key."""
    return {fact: None if found is None else Buckets(found) for fact, found in limits.items()}


def _constants(when: yaml.Node, facts: Collection[str]) -> dict[str, set[float]]:
    """The numbers each of ``facts`` is compared with anywhere in the condition (all/any/none nest)."""
    out: dict[str, set[float]] = {f: set() for f in facts}
    for name, test in fact_tests(when):
        if name in out:
            out[name] |= _numbers(test)
    return out


def _numbers(test: yaml.Node) -> set[float]:
    """``FACT: 5`` or ``FACT: {OP: 5, OP: [1, 2]}``: the constants (``exists`` takes none)."""
    if isinstance(test, yaml.ScalarNode):
        operands = [test]
    elif isinstance(test, yaml.MappingNode):
        operands = []
        for op, value in test.value:
            if str(op.value) == "exists":
                continue
            operands.extend(value.value if isinstance(value, yaml.SequenceNode) else [value])
    else:
        raise _Unreadable
    if not all(isinstance(node, yaml.ScalarNode) for node in operands):
        raise _Unreadable
    try:
        return {float(node.value) for node in operands}
    except ValueError:
        raise _Unreadable from None
