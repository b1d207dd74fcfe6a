"""Conditions: the ``when:`` of a rule, compiled once into a predicate over facts.

Grammar (YAML)::

    when:                     # a mapping: every entry must hold (all)
      all: [COND, ...]        # every one holds
      any: [COND, ...]        # at least one holds
      none: [COND, ...]       # none holds
      FACT: {OP: VALUE, ...}  # a test of one fact; several OPs must all hold
      FACT: VALUE             # short for {equals: VALUE}

Operators by fact type:

=========  ==============================================================
text       equals, not_equals, in, not_in, matches, not_matches (regular
           expressions in RE2 syntax, searched anywhere in linear time,
           case-insensitive unless the pattern sets ``(?-i)``; see
           :mod:`rules.regex`), contains, startswith, exists
number     equals, not_equals, in, not_in, gt, gte, lt, lte, between and
           outside ([low, high], both inclusive), exists
bool       equals, exists
list       contains, contains_any, contains_all (items compared as text,
           ignoring case), empty, exists
=========  ==============================================================

A fact missing from the facts makes every test of it false except
``exists: false`` (and ``none`` over it), so a rule never matches on data it
was not given. Every error (unknown fact, wrong operator for the type, a
regular expression that does not compile) is found at load time, with the
file and line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from netguard.inventory.nodes import Reader, is_null, join
from rules.model import Domain, Predicate
from rules.regex import RegexError, compile_search

_OPS = {
    "text": {"equals", "not_equals", "in", "not_in", "matches", "not_matches", "contains", "startswith", "exists"},
    "number": {"equals", "not_equals", "in", "not_in", "gt", "gte", "lt", "lte", "between", "outside", "exists"},
    "bool": {"equals", "exists"},
    "list": {"contains", "contains_any", "contains_all", "empty", "exists"},
}
_COMBINATORS = ("all", "any", "none")
_MISSING = object()


def compile_condition(reader: Reader, node: yaml.Node, path: str, domain: Domain) -> Predicate | None:
    """A predicate for ``node``, or None after reporting every problem in it."""
    if not isinstance(node, yaml.MappingNode) or not node.value:
        reader.error(node, path, "a condition must be a mapping (all/any/none or FACT: {OP: VALUE})")
        return None
    parts: list[Predicate] = []
    ok = True
    for key_node, value in node.value:
        name = str(key_node.value)
        where = join(path, name)
        if name in _COMBINATORS:
            pred = _combinator(reader, name, value, where, domain)
        elif name in domain.facts:
            pred = _fact(reader, name, domain.facts[name], value, where)
        else:
            known = ", ".join(sorted([*_COMBINATORS, *domain.facts]))
            reader.error(key_node, where, f"unknown fact '{name}' for {domain.name} rules (known: {known})")
            pred = None
        if pred is None:
            ok = False
        else:
            parts.append(pred)
    if not ok:
        return None
    return parts[0] if len(parts) == 1 else _all(parts)


def fact_tests(node: yaml.Node | None) -> Iterator[tuple[str, yaml.Node]]:
    """Every ``FACT: test`` pair of a condition, at any depth (through all/any/none), as (name, test node);
    unknown names too: the caller picks the facts it knows."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, yaml.MappingNode):
            for key, value in item.value:
                name = str(key.value)
                if name in _COMBINATORS:
                    stack.append(value)
                else:
                    yield name, value
        elif isinstance(item, yaml.SequenceNode):
            stack.extend(item.value)


def referenced_facts(node: yaml.Node | None, domain: Domain) -> frozenset[str]:
    """The facts a (valid) condition names, at any depth: a capability that caches verdicts needs to
    know which facts a rule reads (a rule on the statement's shape alone can be evaluated once per shape)."""
    return frozenset(name for name, _ in fact_tests(node) if name in domain.facts)


def _all(preds: list[Predicate]) -> Predicate:
    return lambda facts: all(p(facts) for p in preds)


def _combinator(reader: Reader, name: str, node: yaml.Node, path: str, domain: Domain) -> Predicate | None:
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        reader.error(node, path, f"'{name}' takes a non-empty list of conditions")
        return None
    preds = [compile_condition(reader, item, f"{path}[{i}]", domain) for i, item in enumerate(node.value)]
    if any(p is None for p in preds):
        return None
    ready = [p for p in preds if p is not None]
    if name == "all":
        return _all(ready)
    if name == "any":
        return lambda facts: any(p(facts) for p in ready)
    return lambda facts: not any(p(facts) for p in ready)


def _fact(reader: Reader, fact: str, kind: str, node: yaml.Node, path: str) -> Predicate | None:
    if isinstance(node, yaml.ScalarNode):
        tests = [("equals", node)]
    elif isinstance(node, yaml.MappingNode) and node.value:
        tests = [(str(k.value), v) for k, v in node.value]
    else:
        reader.error(node, path, f"expected a value or {{operator: value}} for '{fact}'")
        return None
    preds: list[Predicate] = []
    for op, value in tests:
        where = join(path, op)
        if op not in _OPS[kind]:
            reader.error(
                node,
                where,
                f"operator '{op}' does not apply to {kind} fact '{fact}' (use one of: {', '.join(sorted(_OPS[kind]))})",
            )
            continue
        test = _operator(reader, op, kind, value, where)
        if test is not None:
            preds.append(_on_fact(fact, op, test))
    if len(preds) != len(tests):
        return None
    return preds[0] if len(preds) == 1 else _all(preds)


def _on_fact(fact: str, op: str, test: Any) -> Predicate:
    if op == "exists":
        want = bool(test)
        return lambda facts: (facts.get(fact, _MISSING) not in (_MISSING, None)) == want

    def pred(facts: Mapping[str, Any]) -> bool:
        value = facts.get(fact)
        return value is not None and bool(test(value))

    return pred


def _scalar(reader: Reader, node: yaml.Node, path: str) -> str | None:
    if not isinstance(node, yaml.ScalarNode) or is_null(node):
        reader.error(node, path, "expected a single value")
        return None
    return str(node.value)


def _scalars(reader: Reader, node: yaml.Node, path: str) -> list[str] | None:
    if isinstance(node, yaml.ScalarNode) and not is_null(node):
        return [str(node.value)]
    if not isinstance(node, yaml.SequenceNode) or not all(isinstance(i, yaml.ScalarNode) for i in node.value):
        reader.error(node, path, "expected a list of values")
        return None
    return [str(i.value) for i in node.value]


def _number(reader: Reader, text: str, node: yaml.Node, path: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        reader.error(node, path, f"'{text}' is not a number")
        return None


def _bool(reader: Reader, text: str, node: yaml.Node, path: str) -> bool | None:
    lowered = text.lower()
    if lowered in ("true", "yes"):
        return True
    if lowered in ("false", "no"):
        return False
    reader.error(node, path, f"'{text}' is not true or false")
    return None


def _operator(reader: Reader, op: str, kind: str, node: yaml.Node, path: str) -> Any:
    """The one-argument test for ``op`` with its compiled argument, or None after an error."""
    if op in ("exists", "empty") or kind == "bool":
        text = _scalar(reader, node, path)
        flag = None if text is None else _bool(reader, text, node, path)
        if flag is None:
            return None
        if op == "exists":
            return flag
        if op == "empty":
            return lambda v: (len(v) == 0) == flag
        return lambda v: bool(v) == flag
    if op in ("matches", "not_matches"):
        text = _scalar(reader, node, path)
        if text is None:
            return None
        try:
            found = compile_search(text)
        except RegexError as exc:
            reader.error(node, path, f"regular expression does not compile: {exc}")
            return None
        if op == "matches":
            return lambda v: found(str(v))
        return lambda v: not found(str(v))
    if kind == "list":
        items = _scalars(reader, node, path)
        if items is None:
            return None
        wanted = {i.casefold() for i in items}

        def folded(v: Any) -> set[str]:
            return {str(x).casefold() for x in v}

        if op == "contains":
            return lambda v: wanted <= folded(v)
        if op == "contains_any":
            return lambda v: bool(wanted & folded(v))
        return lambda v: wanted <= folded(v)
    if op in ("in", "not_in"):
        items = _scalars(reader, node, path)
        if items is None:
            return None
        if kind == "number":
            nums = [_number(reader, i, node, path) for i in items]
            if any(n is None for n in nums):
                return None
            numset = set(nums)
            return (lambda v: float(v) in numset) if op == "in" else (lambda v: float(v) not in numset)
        textset = {i.casefold() for i in items}
        if op == "in":
            return lambda v: str(v).casefold() in textset
        return lambda v: str(v).casefold() not in textset
    if op in ("between", "outside"):
        items = _scalars(reader, node, path)
        if items is None or len(items) != 2:
            reader.error(node, path, f"'{op}' takes [low, high]")
            return None
        low, high = (_number(reader, i, node, path) for i in items)
        if low is None or high is None:
            return None
        if op == "between":
            return lambda v: low <= float(v) <= high
        return lambda v: not low <= float(v) <= high
    text = _scalar(reader, node, path)
    if text is None:
        return None
    if kind == "number":
        num = _number(reader, text, node, path)
        if num is None:
            return None
        compare = {
            "equals": lambda v: float(v) == num,
            "not_equals": lambda v: float(v) != num,
            "gt": lambda v: float(v) > num,
            "gte": lambda v: float(v) >= num,
            "lt": lambda v: float(v) < num,
            "lte": lambda v: float(v) <= num,
        }
        return compare[op]
    folded_text = text.casefold()
    if op == "equals":
        return lambda v: str(v).casefold() == folded_text
    if op == "not_equals":
        return lambda v: str(v).casefold() != folded_text
    if op == "contains":
        return lambda v: folded_text in str(v).casefold()
    return lambda v: str(v).casefold().startswith(folded_text)
