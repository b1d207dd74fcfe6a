"""Elasticsearch index templates, one per event kind, generated from the schema.

Indices are time-based, ``<prefix>-<kind>-YYYY.MM``, so retention (six months
under 8.1.5.4 d) is dropping whole indices. Mappings are explicit and
``dynamic: false``: :func:`netguard.events.make_event` has already refused
unknown fields, and a stray one must never change a mapping in production.
"""

from __future__ import annotations

from typing import Any

from netguard.events.model import format_timestamp
from netguard.events.schema import KINDS, EventKind, FieldType, kind_fields

TEMPLATE_VERSION = 2

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
    """Nested ``properties`` for the kind's dotted field names."""
    root: dict[str, Any] = {}
    for f in kind_fields(kind):
        parts = f.name.split(".")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {"properties": {}})["properties"]
        node[parts[-1]] = dict(_ES_TYPE[f.type])
    return root


def index_pattern(prefix: str, kind: str) -> str:
    return f"{prefix}-{kind}-*"


def index_name(prefix: str, kind: str, timestamp_ms: int) -> str:
    stamp = format_timestamp(timestamp_ms)
    return f"{prefix}-{kind}-{stamp[0:4]}.{stamp[5:7]}"


def template(prefix: str, kind: EventKind, replicas: int) -> dict[str, Any]:
    return {
        "index_patterns": [index_pattern(prefix, kind.name)],
        "priority": 200,
        "version": TEMPLATE_VERSION,
        "_meta": {"managed_by": "netguard", "kind": kind.name},
        "template": {
            "settings": {"number_of_shards": 1, "number_of_replicas": replicas},
            "mappings": {"dynamic": False, "properties": properties(kind)},
        },
    }


def all_templates(prefix: str, replicas: int) -> dict[str, dict[str, Any]]:
    return {f"{prefix}-{k.name}": template(prefix, k, replicas) for k in KINDS.values()}
