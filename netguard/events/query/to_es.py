"""The plan as Elasticsearch query DSL.

Text fields are mapped as ``keyword`` (the official integ-test distribution
and every licence level have it; the ``wildcard`` type needs an x-pack module)
and matched with a case-insensitive ``wildcard`` query wrapped in ``*``, which
is the same "occurs anywhere" rule the SQLite backend applies. Everything runs
in filter context: search here is a set of matches ordered by time, not a
relevance ranking. A :class:`~.plan.OneOf` is one ``terms`` query however long
the list (one clause for Elasticsearch's clause limit).
"""

from __future__ import annotations

from typing import Any

from netguard.events.query import plan as p
from netguard.events.query.matching import pattern_text
from netguard.events.schema import FieldType


def to_es(plan: p.Plan) -> dict[str, Any]:
    if isinstance(plan, p.MatchAll):
        return {"match_all": {}}
    if isinstance(plan, p.All):
        return {"bool": {"filter": [to_es(i) for i in plan.items]}}
    if isinstance(plan, p.Any_):
        return {"bool": {"should": [to_es(i) for i in plan.items], "minimum_should_match": 1}}
    if isinstance(plan, p.Not):
        return {"bool": {"must_not": [to_es(plan.item)]}}
    if isinstance(plan, p.Exists):
        return {"exists": {"field": plan.field.name}}
    if isinstance(plan, p.Contains):
        value = "*" + pattern_text(plan.pattern) + "*"
        clauses = [{"wildcard": {f.name: {"value": value, "case_insensitive": True}}} for f in plan.fields]
        return clauses[0] if len(clauses) == 1 else {"bool": {"should": clauses, "minimum_should_match": 1}}
    name = plan.field.name
    if isinstance(plan, p.Eq):
        return {"term": {name: plan.value}}
    if isinstance(plan, p.OneOf):
        return {"terms": {name: list(plan.values)}}
    if isinstance(plan, p.Wildcard):
        return {"wildcard": {name: {"value": pattern_text(plan.pattern)}}}
    if isinstance(plan, p.IpIn):
        return {"term": {name: str(plan.network)}}
    if isinstance(plan, p.Range):
        bounds: dict[str, Any] = {
            k: v for k, v in (("gt", plan.gt), ("gte", plan.gte), ("lt", plan.lt), ("lte", plan.lte)) if v is not None
        }
        if plan.field.type is FieldType.DATE:
            bounds["format"] = "epoch_millis"
        return {"range": {name: bounds}}
    raise TypeError(f"no Elasticsearch form for {plan!r}")  # pragma: no cover
