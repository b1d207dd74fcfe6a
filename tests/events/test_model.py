"""Building events: schema checks, normalisation, deterministic ids."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from netguard.events import KINDS, Event, EventError, make_event
from netguard.events.logtime import load_zone, localize
from netguard.events.model import LogPosition, NaiveTimeError, format_timestamp, to_epoch_ms
from netguard.events.schema import FIELDS, MAX_STRING
from netguard.events.sqlite_store import SQLiteEventStore
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


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**400, float("nan"), float("inf"), "-inf"])
def test_numbers_outside_their_type_are_refused(value: object) -> None:
    """A long is a signed 64-bit integer and a double finite, as in a query and in Elasticsearch's
    mapping: the store's numbers index could not hold anything else."""
    with pytest.raises(EventError, match=r"netguard\.sql\.rows_sent: "):
        make_event("sql", {"event.action": "query", "netguard.sql.rows_sent": value})
    if isinstance(value, int) and abs(value) < 2**64:
        return  # a double holds it
    with pytest.raises(EventError, match=r"netguard\.link\.rtt_avg_ms: "):
        make_event("link", {"event.action": "sample", "netguard.link.loss": 0, "netguard.link.rtt_avg_ms": value})


def test_numbers_at_the_edges_of_their_type_are_kept() -> None:
    e = make_event("sql", {"event.action": "query", "netguard.sql.rows_sent": -(2**63)})
    assert e.fields["netguard.sql.rows_sent"] == -(2**63)
    e = make_event("sql", {"event.action": "query", "netguard.sql.rows_sent": 2**63 - 1})
    assert e.fields["netguard.sql.rows_sent"] == 2**63 - 1
    e = make_event("link", {"event.action": "sample", "netguard.link.loss": 0, "netguard.link.rtt_avg_ms": 1.7e308})
    assert e.fields["netguard.link.rtt_avg_ms"] == 1.7e308


def test_long_text_is_cut_and_marked() -> None:
    e = make_event("sql", {"event.action": "query", "db.query.text": "x" * (MAX_STRING + 10)})
    assert len(e.fields["db.query.text"]) == MAX_STRING
    assert e.fields["netguard.truncated"] == ["db.query.text"]


def test_timestamps_round_trip() -> None:
    ms = to_epoch_ms("2026-11-25T10:00:00.123Z")
    assert format_timestamp(ms) == "2026-11-25T10:00:00.123Z"
    assert to_epoch_ms("2026-11-25T18:00:00+08:00") == to_epoch_ms("2026-11-25T10:00:00Z")


# --- time: a time without a zone is refused, naming the field


def test_a_time_without_a_zone_is_refused_naming_the_field() -> None:
    fields = {"event.action": "query", "user.name": "alice"}
    for naive in (dt.datetime(2026, 11, 25, 10, 0), "2026-11-25T10:00:00", "2026-11-25 10:00", dt.date(2026, 11, 25)):
        with pytest.raises(EventError, match=r"sql event: @timestamp: .*no time zone") as info:
            make_event("sql", fields, timestamp=naive)
        assert "localise it with the zone configured for its source" in str(info.value)
        with pytest.raises(EventError, match=r"@timestamp: .*no time zone"):
            make_event("sql", fields | {"@timestamp": naive})


def test_times_with_a_zone_and_epoch_numbers_are_exact() -> None:
    fields = {"event.action": "query"}
    utc = make_event("sql", fields, timestamp=dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC))
    shanghai = make_event("sql", fields, timestamp=dt.datetime(2026, 11, 25, 18, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    text = make_event("sql", fields, timestamp="2026-11-25T18:00:00+08:00")
    epoch = make_event("sql", fields, timestamp=to_epoch_ms("2026-11-25T10:00:00Z") / 1000)
    assert {e.fields["@timestamp"] for e in (utc, shanghai, text, epoch)} == {"2026-11-25T10:00:00.000Z"}


def test_query_times_typed_by_a_person_are_still_read_as_local_time() -> None:
    # --since 2026-11-01 means the person's midnight; only events refuse to guess.
    local_midnight = dt.datetime(2026, 11, 1).astimezone()
    assert to_epoch_ms(dt.date(2026, 11, 1)) == round(local_midnight.timestamp() * 1000)
    with pytest.raises(NaiveTimeError):
        to_epoch_ms(dt.date(2026, 11, 1), naive_is_local=False)


def test_log_times_are_localised_with_the_sources_zone() -> None:
    zone = load_zone("Asia/Shanghai", where="audit.sources.his.timezone")
    # The MariaDB general log's "261125 18:00:00", written by a server in Shanghai.
    wall = dt.datetime.strptime("261125 18:00:00", "%y%m%d %H:%M:%S")
    event = make_event("sql", {"event.action": "query"}, timestamp=localize(wall, zone))
    assert event.fields["@timestamp"] == "2026-11-25T10:00:00.000Z"


def test_localising_refuses_what_would_be_a_guess() -> None:
    with pytest.raises(EventError, match=r"audit\.sources\.his\.timezone: 'Asia/Shangai' is not a known time zone"):
        load_zone("Asia/Shangai", where="audit.sources.his.timezone")
    new_york = load_zone("America/New_York")
    with pytest.raises(EventError, match="does not exist in America/New_York"):
        localize(dt.datetime(2026, 3, 8, 2, 30), new_york)  # clocks jump from 02:00 to 03:00
    with pytest.raises(EventError, match="already has a time zone"):
        localize(dt.datetime(2026, 3, 8, 2, 30, tzinfo=dt.UTC), new_york)
    # 01:30 happens twice on 2026-11-01: the earlier reading by default, the later on request.
    first = localize(dt.datetime(2026, 11, 1, 1, 30), new_york)
    second = localize(dt.datetime(2026, 11, 1, 1, 30), new_york, later=True)
    assert (second - first) == dt.timedelta(0)  # same wall time ...
    assert second.astimezone(dt.UTC) - first.astimezone(dt.UTC) == dt.timedelta(hours=1)  # ... an hour apart


# --- identity of events read from a log: source, file and offset


def _read_log(path: Path, position_of: Callable[[int], LogPosition]) -> list[Event]:
    """A tiny line reader: one sql event per line, identity from where the line starts."""
    events = []
    offset = 0
    with path.open("rb") as fh:
        for raw in fh:
            text = raw.decode().rstrip("\n")
            stamp, conn, _, statement = text.split(" ", 3)
            wall = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S")
            events.append(
                make_event(
                    "sql",
                    {"event.action": "query", "netguard.sql.connection_id": conn, "db.query.text": statement},
                    timestamp=localize(wall, ZoneInfo("Asia/Shanghai")),
                    position=position_of(offset),
                )
            )
            offset += len(raw)
    return events


def test_identical_lines_stay_two_events_and_rereading_stores_nothing_twice(tmp_path: Path) -> None:
    log = tmp_path / "general.log"
    same = "2026-11-25T18:00:00 42 Query SELECT * FROM patients WHERE id = 7\n"
    log.write_text(same + same + "2026-11-25T18:00:01 42 Query SELECT 1\n", encoding="utf-8")

    def at(offset: int) -> LogPosition:
        return LogPosition(source="his-general", file_key="k1", offset=offset, path=str(log))

    first = _read_log(log, at)
    assert first[0].fields["db.query.text"] == first[1].fields["db.query.text"]
    assert first[0].fields["@timestamp"] == first[1].fields["@timestamp"]
    assert len({e.id for e in first}) == 3  # content-hashing would have merged the first two
    assert [e.fields["log.offset"] for e in first] == [0, len(same), 2 * len(same)]
    assert {e.fields["log.file.path"] for e in first} == {str(log)}

    store = SQLiteEventStore(tmp_path / "events.db")
    try:
        assert store.write(first).written == 3
        again = store.write(_read_log(log, at))  # a re-read after a crash
        assert (again.written, again.duplicates) == (0, 3)
        assert store.count() == 3
    finally:
        store.close()


def test_a_log_events_id_is_its_position_not_its_content() -> None:
    pos = LogPosition(source="his-general", file_key="k1", offset=120, path="/var/log/mysql/general.log")
    a = make_event("sql", {"event.action": "query", "db.query.text": "SELECT 1"}, timestamp=0, position=pos)
    # the same line parsed differently (a newer parser) is still the same event
    b = make_event("sql", {"event.action": "query", "db.query.text": "SELECT ?"}, timestamp=0, position=pos)
    moved = LogPosition(source="his-general", file_key="k1", offset=120, path="/var/log/mysql/general.log.1")
    c = make_event("sql", {"event.action": "query", "db.query.text": "SELECT 1"}, timestamp=0, position=moved)
    other_file = LogPosition(source="his-general", file_key="k2", offset=120, path="/var/log/mysql/general.log")
    d = make_event("sql", {"event.action": "query", "db.query.text": "SELECT 1"}, timestamp=0, position=other_file)
    assert a.id == b.id == c.id != d.id
    assert a.id == pos.event_id and a.fields["event.id"] == a.id


def test_a_log_offset_without_a_position_is_refused() -> None:
    with pytest.raises(EventError, match=r"log\.offset is set but no position"):
        make_event("sql", {"event.action": "query", "log.offset": 12}, timestamp=0)
    with pytest.raises(EventError, match=r"log\.offset: -1 is negative"):
        make_event("sql", {"event.action": "query"}, timestamp=0, position=LogPosition("s", "k", -1, "/x"))
    # an exported event comes back with its id and keeps it
    kept = make_event("sql", {"event.action": "query", "log.offset": 12, "event.id": "abc"}, timestamp=0)
    assert kept.id == "abc"


def test_month_bounds_span_exactly_the_timestamps_of_one_index_name() -> None:
    # The Elasticsearch store makes an action head once per span (netguard/events/es_store.py _batches).
    import random

    from netguard.events.mappings import index_name, month_bounds

    rng = random.Random(4)
    first, last = to_epoch_ms("0001-01-01T00:00:00Z"), to_epoch_ms("9999-12-31T23:59:59.999Z")
    edges = [first, last, 0, -1, to_epoch_ms("2026-12-01T00:00:00Z"), to_epoch_ms("1000-01-01T00:00:00Z") - 1]
    for ms in edges + [rng.randrange(first, last + 1) for _ in range(5000)]:
        start, end = month_bounds(ms)
        assert start <= ms < end
        assert index_name("p", "sql", start) == index_name("p", "sql", ms) == index_name("p", "sql", end - 1)
        if ms >= to_epoch_ms("1000-01-01T00:00:00Z") and end <= last:
            assert index_name("p", "sql", end) != index_name("p", "sql", ms)  # the whole month, no more
            assert index_name("p", "sql", start - 1) != index_name("p", "sql", ms)
    assert month_bounds(to_epoch_ms("2026-02-14T12:00:00Z")) == (
        to_epoch_ms("2026-02-01T00:00:00Z"),
        to_epoch_ms("2026-03-01T00:00:00Z"),
    )
