"""Elasticsearch index templates, one per event kind, generated from the schema.

Indices are time-based, ``<prefix>-<kind>-YYYY.MM``, so retention (six months
under 8.1.5.4 d) is dropping whole indices. Mappings are explicit and
``dynamic: false``: :func:`netguard.events.make_event` has already refused
unknown fields, and a stray one must never change a mapping in production.

Flat, ``subobjects: false`` (version 3). Documents carry dotted names
(``"db.query.text": ...``). Under the object mapping of version 2 the node
split each name and walked ``db`` -> ``query`` -> ``text`` for every field of
every document; with ``subobjects: false`` and the fields mapped by their
full dotted names it finds each leaf directly. Same fields, types, ``_source``
and queries; a third less node CPU per SQL event (44 -> 32 us, measured on a
warm one-node 8.19 on this 2-core machine; bench/results/audit.txt). Needs
Elasticsearch 8.3 or later (``subobjects`` at the root of a mapping).

Upgrades. :meth:`~netguard.events.es_store.ElasticsearchEventStore.ensure_templates`
replaces templates older than :data:`TEMPLATE_VERSION`; a template applies
only to indices created after it, so an index made under version 2 keeps
its object mapping (and takes writes as before: the documents are the same)
until its month ends, and the next month's index is flat. Field names and
types are the same in both, so one query or aggregation over
``<prefix>-<kind>-*`` reads old and new indices alike; nothing is reindexed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from netguard.events.model import format_timestamp
from netguard.events.schema import KINDS, EventKind, FieldType, kind_fields

TEMPLATE_VERSION = 3  # 3: flat, subobjects false (see the module docstring)

_ES_TYPE = {
    FieldType.KEYWORD: {"type": "keyword"},
    FieldType.TEXT: {"type": "keyword"},  # matched with case-insensitive wildcards; see query/to_es.py
    FieldType.ORDINAL: {"type": "keyword"},
    FieldType.MAC: {"type": "keyword"},
    FieldType.LONG: {"type": "long"},
    FieldType.DOUBLE: {"type": "double"},
    FieldType.DATE: {"type": "date", "format": "strict_date_optional_time||epoch_millis"},
    FieldType.IP: {"type": "ip"},
    FieldType.BOOLEAN: {"type": "boolean"},
}


def properties(kind: EventKind) -> dict[str, Any]:
    """The kind's fields as nested object ``properties`` (the version 2 mapping; kept for comparison)."""
    root: dict[str, Any] = {}
    for f in kind_fields(kind):
        parts = f.name.split(".")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {"properties": {}})["properties"]
        node[parts[-1]] = dict(_ES_TYPE[f.type])
    return root


def flat_properties(kind: EventKind) -> dict[str, Any]:
    """The kind's fields by their full dotted names, for a ``subobjects: false`` mapping."""
    return {f.name: dict(_ES_TYPE[f.type]) for f in kind_fields(kind)}


def index_pattern(prefix: str, kind: str) -> str:
    return f"{prefix}-{kind}-*"


def index_name(prefix: str, kind: str, timestamp_ms: int) -> str:
    stamp = format_timestamp(timestamp_ms)
    return f"{prefix}-{kind}-{stamp[0:4]}.{stamp[5:7]}"


def month_bounds(timestamp_ms: int) -> tuple[int, int]:
    """[start, end) in epoch ms around ``timestamp_ms`` over which :func:`index_name` stays the same.

    That is the UTC calendar month; before the year 1000 (where format_timestamp does not pad the
    year, so the name is not a month's) just the one millisecond.
    """
    t = _EPOCH + dt.timedelta(milliseconds=timestamp_ms)
    if t.year < 1000:
        return timestamp_ms, timestamp_ms + 1
    start = (dt.datetime(t.year, t.month, 1) - _EPOCH) // _MS
    if t.year == dt.MAXYEAR and t.month == 12:
        return start, (dt.datetime.max - _EPOCH) // _MS + 1
    return start, (dt.datetime(t.year + t.month // 12, t.month % 12 + 1, 1) - _EPOCH) // _MS


_EPOCH = dt.datetime(1970, 1, 1)
_MS = dt.timedelta(milliseconds=1)


def template(prefix: str, kind: EventKind, replicas: int) -> dict[str, Any]:
    return {
        "index_patterns": [index_pattern(prefix, kind.name)],
        "priority": 200,
        "version": TEMPLATE_VERSION,
        "_meta": {"managed_by": "netguard", "kind": kind.name},
        "template": {
            "settings": {"number_of_shards": 1, "number_of_replicas": replicas},
            "mappings": {"dynamic": False, "subobjects": False, "properties": flat_properties(kind)},
        },
    }


def all_templates(prefix: str, replicas: int) -> dict[str, dict[str, Any]]:
    return {f"{prefix}-{k.name}": template(prefix, k, replicas) for k in KINDS.values()}
