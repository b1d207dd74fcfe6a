"""Events from a template are exactly the events make_event builds from the same fields."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest

from netguard.events import KINDS, EventError, make_event
from netguard.events.model import LogPosition
from netguard.events.schema import MAX_STRING
from netguard.events.template import EventFactory
from netguard.lab.synthetic_events import _BUILDERS, _common


def _same(kind: str, shared: dict[str, Any], own: dict[str, Any], **kw: Any) -> None:
    expected = make_event(kind, {**shared, **own}, **kw)
    got = EventFactory(kind).template(shared).make(own, **kw)
    assert got.json == expected.json
    assert got == expected


def test_every_kind_with_any_split_of_its_fields() -> None:
    rng = random.Random(3)
    for kind in KINDS:
        for i in range(60):
            fields = _common(rng) | _BUILDERS[kind](rng, i)
            names = list(fields)
            shared_names = set(rng.sample(names, rng.randint(0, len(names))))
            shared = {n: v for n, v in fields.items() if n in shared_names}
            own = {n: v for n, v in fields.items() if n not in shared_names}
            _same(kind, shared, own, timestamp=1_796_000_000 + i)


def test_one_template_many_events() -> None:
    factory = EventFactory("sql")
    template = factory.template({"event.action": "query", "db.system": "mysql", "db.query.text": "SELECT ?"})
    for i in range(200):
        own = {
            "@timestamp": dt.datetime(2026, 11, 30, 8, 0, i % 60, i * 1000, tzinfo=dt.UTC),
            "user.name": f"u{i % 3}",
            "source.ip": ["10.0.0.1", "::ffff:10.0.0.2", "fe80::1"][i % 3],
            "netguard.sql.rows_sent": i,
        }
        position = LogPosition("src", "k", i * 10, "/var/log/x.log")
        expected = make_event(
            "sql",
            {"event.action": "query", "db.system": "mysql", "db.query.text": "SELECT ?", **own},
            position=position,
        )
        assert template.make(own, position=position) == expected


def test_overrides_removals_truncation_and_content_ids() -> None:
    shared = {"event.action": "query", "user.name": "shared", "db.query.text": "x" * (MAX_STRING + 5), "tags": ["a"]}
    _same("sql", shared, {"user.name": "mine"}, timestamp=5)
    _same("sql", shared, {"user.name": None, "tags": []}, timestamp=5)  # None and empty drop the shared value
    _same("sql", shared, {"error.message": "e" * (MAX_STRING + 1), "related.hosts": ["h", "h"]}, timestamp=5)
    _same("sql", {"event.action": "query"}, {"netguard.sql.where_less": "true", "source.port": "5432"}, timestamp=5)
    _same("sql", {}, {"event.action": "query", "event.id": "given"}, timestamp=5)
    _same("sql", {}, {"event.action": "query", "message": "中文 \x00 \u2028"}, timestamp=5)


def test_errors_are_make_events_errors() -> None:
    template = EventFactory("sql").template({"event.action": "query"})
    for bad in ({"user.nme": "x"}, {"source.ip": "not an address"}, {"netguard.sql.rows_sent": "many"}):
        with pytest.raises(EventError) as expected:
            make_event("sql", {"event.action": "query", **bad}, timestamp=1)
        with pytest.raises(EventError) as got:
            template.make(bad, timestamp=1)
        assert str(got.value) == str(expected.value)
    with pytest.raises(EventError, match=r"log\.offset is set but no position"):
        template.make({"log.offset": 5}, timestamp=1)
    with pytest.raises(EventError, match="has no time zone"):
        template.make({}, timestamp=dt.datetime(2026, 1, 1))
    with pytest.raises(EventError, match="cannot be shared"):
        EventFactory("sql").template({"event.action": "query", "log.offset": 1})
    with pytest.raises(EventError, match="unknown event kind"):
        EventFactory("nope")
