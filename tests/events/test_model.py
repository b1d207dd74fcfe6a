"""Building events: schema checks, normalisation, deterministic ids."""

from __future__ import annotations

import pytest

from netguard.events import KINDS, EventError, make_event
from netguard.events.model import format_timestamp, to_epoch_ms
from netguard.events.schema import FIELDS, MAX_STRING
from netguard.lab.synthetic_events import synthetic_event


def test_every_kind_builds_and_declares_only_known_fields() -> None:
    import random

    rng = random.Random(1)
    for kind in KINDS:
        event = synthetic_event(kind, 1, rng)
        assert event.kind == kind
        assert set(event.fields) <= set(FIELDS)
        assert event.fields["netguard.kind"] == kind


def test_ids_are_deterministic_and_content_based() -> None:
    base = {"event.action": "login", "user.name": "alice", "source.ip": "10.1.2.3"}
    a = make_event("bastion-login", base, timestamp="2026-11-25T10:00:00Z")
    b = make_event("bastion-login", dict(base), timestamp="2026-11-25T10:00:00Z")
    c = make_event("bastion-login", base | {"user.name": "bob"}, timestamp="2026-11-25T10:00:00Z")
    assert a.id == b.id != c.id
    assert a.json == b.json


def test_values_are_normalised() -> None:
    e = make_event(
        "device",
        {
            "event.action": "seen",
            "host.ip": "::ffff:10.0.0.1",
            "host.mac": "AABB.CCDD.EEFF",
            "netguard.device.authorised": "true",
            "network.vlan.id": 20,
            "netguard.device.seen_by": ["arp", "arp", ""],
        },
        timestamp=1_790_000_000.5,
    )
    assert e.fields["host.ip"] == "10.0.0.1"
    assert e.fields["host.mac"] == "aa:bb:cc:dd:ee:ff"
    assert e.fields["netguard.device.authorised"] is True
    assert e.fields["network.vlan.id"] == "20"
    assert e.fields["netguard.device.seen_by"] == ["arp"]
    assert e.fields["related.ip"] == ["10.0.0.1"]
    assert e.fields["@timestamp"] == "2026-09-21T14:13:20.500Z"
    assert e.fields["event.category"] == "network" and e.fields["event.type"] == "info"


def test_unknown_fields_and_bad_values_are_refused() -> None:
    with pytest.raises(EventError, match="'usr' is not a field of this kind; did you mean user"):
        make_event("sql", {"event.action": "query", "usr": "x"})
    with pytest.raises(EventError, match=r"'host\.mac' does not belong to"):
        make_event("sql", {"event.action": "query", "host.mac": "x"})
    with pytest.raises(EventError, match=r"source\.ip"):
        make_event("sql", {"event.action": "query", "source.ip": "10.0.0.300"})
    with pytest.raises(EventError, match=r"event\.action 'drop' is not one of"):
        make_event("sql", {"event.action": "drop"})
    with pytest.raises(EventError, match="unknown event kind"):
        make_event("nope", {"event.action": "x"})
    with pytest.raises(EventError, match=r"netguard\.risk: expected one of"):
        make_event("sql", {"event.action": "query", "netguard.risk": "severe"})


def test_long_text_is_cut_and_marked() -> None:
    e = make_event("sql", {"event.action": "query", "db.query.text": "x" * (MAX_STRING + 10)})
    assert len(e.fields["db.query.text"]) == MAX_STRING
    assert e.fields["netguard.truncated"] == ["db.query.text"]


def test_timestamps_round_trip() -> None:
    ms = to_epoch_ms("2026-11-25T10:00:00.123Z")
    assert format_timestamp(ms) == "2026-11-25T10:00:00.123Z"
    assert to_epoch_ms("2026-11-25T18:00:00+08:00") == to_epoch_ms("2026-11-25T10:00:00Z")
