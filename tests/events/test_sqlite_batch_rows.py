"""The SQLite store's index rows, made per batch (grouped by the events' fields), are those the
per-event code made: the same token set per event, number rows, address rows, CJK tokens and text
bodies, on the whole synthetic corpus and on hostile documents. Stores already written stay valid
(their rows are deleted on purge by being made again), and every search answer is unchanged."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping
from typing import Any

import pytest

from netguard.events.model import Event
from netguard.events.query.to_sqlite import fts_bodies, fts_body
from netguard.events.schema import KINDS
from netguard.events.sqlite_index import batch as index_rows
from netguard.events.sqlite_index.addresses import IP_FIELD_BITS, ip_key
from netguard.events.sqlite_index.batch import AddressKeys, Batch
from netguard.events.sqlite_index.cjk import cjk_tokens
from netguard.events.sqlite_index.terms import (
    ALL_TOKEN,
    NUMBER_FIELDS,
    TERM_FIELDS,
    TermIndexer,
    shape_token,
    symbol_tokens,
    term_token,
)
from netguard.lab.synthetic_events import START_MS, synthetic_events


# --- the per-event code the batch path replaced, kept here as the reference (no caches)
def _old_terms(fields: Mapping[str, Any], body: str, event: int) -> tuple[set[str], list[tuple[int, Any, int]]]:
    if any(v is None for v in fields.values()):
        fields = {n: v for n, v in fields.items() if v is not None}
    names = tuple(fields)
    tokens = [ALL_TOKEN, shape_token(names)]
    for name in [n for n in names if n in TERM_FIELDS]:
        value = fields[name]
        for v in value if isinstance(value, list) else (value,):
            if v is not None:
                tokens.append(term_token(name, v))
    numbers = [
        (NUMBER_FIELDS[n], fields[n], event)
        for n in names
        if n in NUMBER_FIELDS and isinstance(fields[n], (int, float))
    ]
    if body:
        tokens += symbol_tokens(body)
    return set(tokens), numbers


def _old_ip_rows(fields: Mapping[str, Any], event: int) -> list[tuple[bytes, int, int]]:
    bits: dict[str, int] = {}
    for name, bit in IP_FIELD_BITS.items():
        value = fields.get(name)
        if value is None:
            continue
        for text in value if isinstance(value, list) else (value,):
            bits[text] = bits.get(text, 0) | bit
    return [(key, event, mask) for text, mask in bits.items() if (key := ip_key(str(text))) is not None]


def _comparable(rows: list[tuple[Any, ...]]) -> list[str]:
    # repr: a NaN is not equal to itself, and True == 1; the rows must hold the same objects' values.
    return sorted(map(repr, rows))


def _hostile() -> list[dict[str, Any]]:
    """Documents as a store may read them back or a producer hand them over, not as make_event makes them."""
    base = next(iter(synthetic_events(1, kinds=("sql",)))).fields
    v6 = next(iter(synthetic_events(4, kinds=("bastion-login",)))).fields
    docs: list[dict[str, Any]] = [
        dict(base) | {"user.name": None},  # a null scalar: not a field
        dict(base) | {"message": None, "host.name": None},
        dict(base) | {"related.user": ["pacs", None], "tags": [None]},  # nulls in lists
        dict(base) | {"tags": []},  # an empty list
        dict(base) | {"user.name": ["alice", "bob"]},  # a list where the schema says one value
        dict(base) | {"related.user": "alice"},  # one value where the schema says a list
        dict(base) | {"user.name": "nul\x00inside", "message": "a\x00b\x00"},
        dict(base) | {"user.name": "lone \ud800 surrogate", "message": "text \udfff here * ( ="},
        dict(base) | {"netguard.sql.rows_sent": 10**40, "event.duration": -(2**63)},  # huge ints
        dict(base) | {"netguard.sql.rows_sent": True, "event.duration": 1.5},  # a boolean, a float
        dict(base) | {"netguard.sql.rows_sent": math.nan, "event.duration": math.inf},  # not finite
        dict(base) | {"netguard.sql.rows_sent": "12", "event.duration": [1, 2]},  # not numbers
        # Types the schema would coerce (not 1 in a boolean field: 1 == True, so a cache keyed by value would
        # give it True's token, as the per-event cache did: make_event coerces, so it never holds one).
        dict(base) | {"netguard.sql.where_less": "yes", "event.outcome": True, "tags": [False, 2.5]},
        dict(base) | {"source.ip": "not an address", "related.ip": ["not an address"]},
        dict(base) | {"source.ip": "fd00::1", "related.ip": ["fd00::1", "10.0.0.1"]},  # an extra related address
        dict(base) | {"source.ip": "10.0.0.1", "destination.ip": "10.0.0.1", "related.ip": ["10.0.0.1"]},
        dict(base) | {"source.ip": "10.0.0.2", "destination.ip": "10.0.0.3", "related.ip": ["10.0.0.2"]},
        dict(base) | {"source.ip": ["10.0.0.4", "10.0.0.5"], "related.ip": ["10.0.0.4", "10.0.0.5"]},
        dict(base) | {"source.ip": 167772161, "related.ip": [167772161]},  # an int where an address is due
        {n: v for n, v in base.items() if n not in ("source.ip",)} | {"related.ip": ["10.9.9.9"]},
        {n: v for n, v in base.items() if not n.endswith(".ip")} | {"host.ip": "fd00::7"},
        dict(base) | {"message": "", "db.query.text": ""},  # empty texts are left out of the body
        dict(base) | {"message": "患者姓名 and 姓名", "organization.name": "é accent only"},
        dict(base) | {"message": "日本語のテキスト 한국어 患", "netguard.kind": "bastion-command"},  # another kind
        {"netguard.kind": "sql", "message": "no shape but this"},
        {},
        dict(v6),
        dict(v6) | {"source.ip": "fd00:10:1::1", "related.ip": ["fd00:10:1::1"]},
    ]
    return docs


def _corpus() -> list[Event]:
    events = list(synthetic_events(3_000, kinds=tuple(KINDS)))  # every kind, deletions too
    for i, fields in enumerate(_hostile()):
        doc = json.dumps(fields)
        events.append(Event("sql", f"hostile-{i}", START_MS, fields, doc))
    return events


def _check(indexer: TermIndexer, events: list[Event], rowids: list[int], keys: AddressKeys | None = None) -> None:
    batch = Batch(rowids, [e.fields for e in events])
    batch.bodies = fts_bodies(batch)
    assert batch.bodies == [fts_body(e.fields) for e in events]
    terms, numbers = indexer.batch_rows(batch)
    assert [r for r, _ in terms] == rowids  # rowid order: FTS5 flushes its buffer on a rowid out of order
    want_numbers: list[tuple[int, Any, int]] = []
    for (rowid, text), event, body in zip(terms, events, batch.bodies, strict=True):
        tokens, nums = _old_terms(event.fields, body, rowid)
        assert set(text.split(" ")) == tokens, event.fields  # single spaces, no empty token
        want_numbers += nums
    assert _comparable(numbers) == _comparable(want_numbers)
    want_ips = [r for e, rowid in zip(events, rowids, strict=True) for r in _old_ip_rows(e.fields, rowid)]
    assert sorted(index_rows._ip_rows(batch, keys)) == sorted(want_ips)
    want_cjk = [(rowid, t) for rowid, b in zip(rowids, batch.bodies, strict=True) if (t := cjk_tokens(b))]
    got_cjk = index_rows._cjk_rows(batch)
    assert [(r, set(t.split(" "))) for r, t in got_cjk] == [(r, set(t.split(" "))) for r, t in want_cjk]


def test_batch_rows_are_the_per_event_rows_on_the_whole_corpus() -> None:
    events = _corpus()
    indexer = TermIndexer(TERM_FIELDS, NUMBER_FIELDS)
    keys = AddressKeys()
    keys.LIMIT = 500  # emptied now and then
    rowids = list(range(1, len(events) + 1))
    _check(indexer, events, rowids, keys)  # every token made
    _check(indexer, events, rowids, keys)  # every token from the cache
    shuffled = list(zip(events, rowids, strict=True))
    random.Random(3).shuffle(shuffled)
    for start in range(0, len(shuffled), 700):  # other groupings, rowids with gaps (duplicates left out)
        part = sorted(shuffled[start : start + 700], key=lambda p: p[1])
        _check(indexer, [e for e, _ in part], [r for _, r in part], keys)


def test_one_layout_per_batch_and_one_event_per_batch_give_the_same_rows() -> None:
    events = _corpus()
    indexer = TermIndexer(TERM_FIELDS, NUMBER_FIELDS)
    same = [e for e in events if tuple(e.fields) == tuple(events[0].fields)]
    assert len(same) > 1
    _check(indexer, same, list(range(10, 10 + len(same))))
    for i, event in enumerate(events[::50] + events[-30:]):
        _check(indexer, [event], [i + 1])
        text, numbers = indexer.rows(event.fields, fts_body(event.fields), i + 1)
        tokens, want = _old_terms(event.fields, fts_body(event.fields), i + 1)
        assert set(text.split(" ")) == tokens and _comparable(numbers) == _comparable(want)


def test_a_tiny_cache_is_emptied_and_refilled_without_changing_a_row() -> None:
    indexer = TermIndexer(TERM_FIELDS, NUMBER_FIELDS)
    indexer.CACHE = 7
    events = _corpus()[::7]
    _check(indexer, events, list(range(1, len(events) + 1)))
    assert indexer._cached <= 7


def test_new_values_and_shapes_are_listed_once_per_commit_and_again_after_a_rollback() -> None:
    indexer = TermIndexer(TERM_FIELDS, NUMBER_FIELDS)
    events = _corpus()
    fields = [{n: v for n, v in e.fields.items() if v is not None} for e in events]
    want_values = {
        (n, x)
        for f in fields
        for n, v in f.items()
        if n in TERM_FIELDS
        for x in (v if isinstance(v, list) else [v])
        if isinstance(x, str)
    }
    want_shapes = {shape_token(tuple(f)) for f in fields}
    batch = Batch.of_rows((i, e.fields, "") for i, e in enumerate(events))
    indexer.batch_rows(batch)
    assert indexer.new_values == want_values
    assert set(indexer.new_shapes) == want_shapes
    indexer.committed()
    indexer.batch_rows(batch)
    assert not indexer.new_values and not indexer.new_shapes
    indexer.rolled_back()
    indexer.batch_rows(batch)
    assert indexer.new_values == want_values and set(indexer.new_shapes) == want_shapes


def test_a_value_no_token_can_be_made_of_fails_the_batch_as_before() -> None:
    indexer = TermIndexer(TERM_FIELDS, NUMBER_FIELDS)
    with pytest.raises(TypeError):
        indexer.batch_rows(Batch.of_rows([(1, {"user.name": {"a": 1}}, "")]))
