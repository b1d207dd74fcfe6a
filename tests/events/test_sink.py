"""The event sink: batching, ordered acks, the spool through an outage, back-pressure, restart.

The logic is exercised on the real SQLite store behind a switch that makes
writes fail the way an unreachable cluster does; the outage itself is then
played for real against a dedicated Elasticsearch node that is frozen
(SIGSTOP), resumed, stopped (SIGTERM) and started again.
"""

from __future__ import annotations

import os
import signal
import stat
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from netguard.errors import StoreError
from netguard.events.es_store import ElasticsearchEventStore
from netguard.events.model import Event
from netguard.events.query import plan as p
from netguard.events.sink import Ack, EventSink, SinkFull
from netguard.events.spool import Spool
from netguard.events.sqlite_store import SQLiteEventStore
from netguard.events.store import EventStore, SearchResult, WriteResult
from netguard.lab.synthetic_events import synthetic_events
from tests.harness.elasticsearch import EsNode, NodeProcess, configured_versions, start_timeout
from tests.harness.peers import PeerUnavailable, require_peer


class SwitchedStore(EventStore):
    """A real SQLite store whose writes can be made to fail whole (``down``) or hang (``hang``)."""

    backend = "sqlite"

    def __init__(self, inner: SQLiteEventStore) -> None:
        self.inner = inner
        self.down = threading.Event()
        self.hang = threading.Event()
        self.released = threading.Event()
        self.refuse: set[str] = set()
        self.writes = 0

    def write(self, events: Iterable[Event]) -> WriteResult:
        batch = list(events)
        self.writes += 1
        if self.hang.is_set():
            self.released.wait(30)
        if self.down.is_set():
            raise StoreError("cannot reach Elasticsearch at http://127.0.0.1:9: ConnectionError")
        result = self.inner.write([e for e in batch if e.id not in self.refuse])
        for e in batch:
            if e.id in self.refuse:
                result.add_error(f"event {e.id}: mapper_parsing_exception: bad value", event_id=e.id)
        return result

    def _search(self, plan: p.Plan, kinds: Sequence[str], limit: int) -> SearchResult:
        return self.inner._search(plan, kinds, limit)

    def _iter(self, plan: p.Plan, kinds: Sequence[str], page_size: int) -> Iterator[Event]:
        return self.inner._iter(plan, kinds, page_size)

    def _count(self, plan: p.Plan, kinds: Sequence[str]) -> int:
        return self.inner._count(plan, kinds)

    def purge(self, before_ms: int) -> int:
        return self.inner.purge(before_ms)

    def refresh(self) -> None:
        self.inner.refresh()

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SwitchedStore]:
    s = SwitchedStore(SQLiteEventStore(tmp_path / "events.db"))
    yield s
    s.close()


def _events(n: int, start: int = 0) -> list[Event]:
    every = list(synthetic_events(start + n))
    return every[start:]


def _stored_ids(store: EventStore) -> list[str]:
    store.refresh()
    return [e.id for e in store.iter_search()]


def test_batches_are_written_and_acked_in_submission_order(store: SwitchedStore, tmp_path: Path) -> None:
    events = _events(1200)
    seen: list[Ack] = []
    sink = EventSink(store, tmp_path / "spool.db", batch_size=500, batch_seconds=0.05)
    try:
        for i in range(0, 1200, 100):
            sink.submit(events[i : i + 100], ack=seen.append if i % 200 == 0 else f"token-{i}")
        assert sink.flush(30)
        tokens = sink.poll_acks()
    finally:
        stats = sink.close()
    assert [a.seq for a in seen] == sorted(a.seq for a in seen) == [1, 3, 5, 7, 9, 11]
    assert [t for t, _ in tokens] == [f"token-{i}" for i in range(100, 1200, 200)]
    assert all(a.durable and a.events == 100 for a in seen + [a for _, a in tokens])
    assert max(a.batch.events for a in seen) <= 500
    assert sorted(_stored_ids(store)) == sorted(e.id for e in events)
    assert (stats.submitted, stats.acked, stats.stored, stats.spooled, stats.pending) == (1200, 1200, 1200, 0, 0)
    assert store.writes < 12  # submissions were gathered into batches


def test_an_outage_spools_to_disk_and_delivers_once_when_back(store: SwitchedStore, tmp_path: Path) -> None:
    events = _events(900)
    sink = EventSink(
        store, tmp_path / "spool.db", batch_size=200, batch_seconds=0.02, retry_initial=0.05, retry_max=0.2
    )
    try:
        sink.submit(events[:300], ack="before")
        assert sink.flush(30)
        store.down.set()
        sink.submit(events[300:700], ack="during")
        sink.submit(events[200:400], ack="resent")  # a producer re-reading after a crash
        assert sink.flush(30)
        during = dict(sink.poll_acks())
        assert during["during"].durable and during["during"].batch.spooled > 0
        assert sink.stats().spool_events == 600
        assert len(_stored_ids(store)) == 300
        store.down.clear()
        sink.submit(events[700:], ack="after")
        assert sink.wait_delivered(30)
        stats = sink.stats()
    finally:
        sink.close()
    ids = _stored_ids(store)
    assert len(ids) == len(set(ids)) == 900
    assert set(ids) == {e.id for e in events}
    # "after" may have joined the backlog too: while the spool holds events, new ones queue behind them.
    assert stats.spooled >= 600 and stats.delivered_from_spool == stats.spooled
    assert stats.duplicates == 200  # the re-sent events were already there: counted, not stored twice
    assert stats.failed_writes >= 1 and "cannot reach" in stats.last_error
    assert stats.spool_events == 0


def test_a_new_sink_drains_the_spool_an_old_process_left(store: SwitchedStore, tmp_path: Path) -> None:
    events = _events(500)
    store.down.set()
    first = EventSink(store, tmp_path / "spool.db", batch_seconds=0.02)
    first.submit(events, ack="x")
    assert first.flush(30)
    assert first.close().spool_events == 500
    assert len(_stored_ids(store)) == 0
    store.down.clear()
    second = EventSink(store, tmp_path / "spool.db", batch_seconds=0.02)
    try:
        assert second.wait_delivered(30)
    finally:
        stats = second.close()
    assert sorted(_stored_ids(store)) == sorted(e.id for e in events)
    assert stats.delivered_from_spool == 500


def test_a_full_spool_pushes_back_on_the_producer_and_loses_nothing(store: SwitchedStore, tmp_path: Path) -> None:
    events = _events(400)
    one_batch = sum(len(e.json.encode()) for e in events[:50])
    store.down.set()
    sink = EventSink(
        store,
        tmp_path / "spool.db",
        batch_size=50,
        batch_seconds=0.01,
        max_pending=100,
        spool_max_bytes=2 * one_batch,
        retry_initial=0.05,
        retry_max=0.1,
    )
    accepted: list[Event] = []
    refused = 0
    try:
        for i in range(0, 400, 50):
            try:
                sink.submit(events[i : i + 50], timeout=0.3)
                accepted += events[i : i + 50]
            except SinkFull as exc:
                refused += 1
                assert "event sink full: 50 events not accepted" in str(exc)
                assert "cannot reach" in str(exc)  # says why
        stats = sink.stats()
        assert refused > 0 and stats.refused_submits == refused and stats.refused_events == 50 * refused
        assert stats.spool_bytes <= 2 * one_batch
        store.down.clear()
        assert sink.wait_delivered(30)
    finally:
        sink.close()
    assert sorted(_stored_ids(store)) == sorted(e.id for e in accepted)


def test_events_the_store_refuses_for_good_are_kept_and_counted(store: SwitchedStore, tmp_path: Path) -> None:
    events = _events(10)
    store.refuse = {events[3].id, events[7].id}
    acks: list[Ack] = []
    sink = EventSink(store, tmp_path / "spool.db", batch_seconds=0.01)
    try:
        sink.submit(events, ack=acks.append)
        assert sink.flush(30)
        kept = sink.spool.rejected()
    finally:
        stats = sink.close()
    assert acks[0].durable and acks[0].batch.rejected == 2 and acks[0].batch.stored == 8
    assert {i for i, _ in kept} == store.refuse
    assert all("mapper_parsing_exception" in why for _, why in kept)
    assert stats.rejected == 2 and stats.stored == 8


def test_close_is_bounded_and_spools_what_a_hung_write_holds(store: SwitchedStore, tmp_path: Path) -> None:
    events = _events(300)
    store.hang.set()
    sink = EventSink(store, tmp_path / "spool.db", batch_size=100, batch_seconds=0.01)
    sink.submit(events[:100], ack="a")
    sink.submit(events[100:], ack="b")
    while store.writes == 0:
        time.sleep(0.01)
    t0 = time.monotonic()
    stats = sink.close(timeout=0.5)
    assert time.monotonic() - t0 < 10  # bounded, not the 30 s the write hangs for
    acks = dict(sink.poll_acks())
    assert acks["a"].durable and acks["b"].durable
    assert stats.spool_events == 300 and stats.not_durable == 0
    store.hang.clear()
    store.released.set()
    # The hung write may still land; the next sink's delivery of the spooled copies then finds duplicates.
    again = EventSink(store, tmp_path / "spool.db", batch_seconds=0.01)
    try:
        assert again.wait_delivered(30)
    finally:
        again.close()
    ids = _stored_ids(store)
    assert len(ids) == len(set(ids)) == 300


def test_the_spool_is_private_and_has_one_owner(tmp_path: Path) -> None:
    path = tmp_path / "spool" / "events.db"
    spool = Spool(path)
    try:
        spool.append(_events(3))
        for f in path.parent.iterdir():
            if f.name.startswith("events.db"):
                assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
        with pytest.raises(StoreError, match="is in use by another sink"):
            Spool(path)
    finally:
        spool.close()
    reopened = Spool(path)
    try:
        assert len(reopened) == 3 and reopened.bytes > 0
    finally:
        reopened.close()


def test_a_callback_that_raises_does_not_stop_the_sink(store: SwitchedStore, tmp_path: Path) -> None:
    def broken(ack: Ack) -> None:
        raise RuntimeError("producer bug")

    sink = EventSink(store, tmp_path / "spool.db", batch_seconds=0.01)
    try:
        sink.submit(_events(5), ack=broken)
        sink.submit(_events(5, start=5), ack="fine")
        assert sink.flush(30)
        assert [t for t, _ in sink.poll_acks()] == ["fine"]
    finally:
        stats = sink.close()
    assert stats.callback_errors == 1 and stats.stored == 10


# --- the writer a sink calls twice a second keeps one pool of bulk threads


def test_the_elasticsearch_writer_reuses_one_pool_across_writes(es_node: EsNode, es_client: Elasticsearch) -> None:
    prefix = "pool" + os.urandom(4).hex()
    store = ElasticsearchEventStore(Elasticsearch(**es_node.client_kwargs()), prefix=prefix, replicas=0, batch_size=113)
    used: list[threading.Thread] = []
    bulk = store.client.bulk

    def spy(**kwargs: Any) -> Any:
        used.append(threading.current_thread())
        return bulk(**kwargs)

    store.client.bulk = spy  # type: ignore[method-assign]
    try:
        events = _events(5 * 339)
        total = WriteResult()
        for i in range(5):
            total.merge(store.write(events[i * 339 : (i + 1) * 339]))
        assert total.written == len(events) and total.failed == 0
        assert len(used) == 15  # three batches of 113 per write
        assert len({id(t) for t in used}) <= store.in_flight  # a pool per write would start new threads each time
    finally:
        store.close()
        es_client.options(ignore_status=404).indices.delete(index=f"{prefix}-*", allow_no_indices=True)
        es_client.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-*")
    assert not any(t.is_alive() for t in used)  # close() ends them


# --- the real thing: a dedicated Elasticsearch node, frozen, stopped and started again


@pytest.fixture(scope="module")
def own_node() -> Iterator[NodeProcess]:
    """A node for this module alone, so stopping it disturbs no other test."""
    version = configured_versions()[0]
    proc = NodeProcess(version)
    try:
        proc.prepare()
        keystore = proc.start_keystore()
        if keystore is not None:
            keystore.communicate((proc.password or "").encode(), timeout=120)
        proc.start()
        proc.wait_ready(time.monotonic() + start_timeout())
    except PeerUnavailable as exc:
        proc.stop()
        require_peer(f"Elasticsearch {version} unavailable: {exc}")
    yield proc
    proc.stop()


def _client(proc: NodeProcess) -> Elasticsearch:
    kwargs: dict[str, object] = {"hosts": [proc.base_url], "request_timeout": 10, "max_retries": 0}
    if proc.password is not None:
        kwargs["basic_auth"] = ("elastic", proc.password)
    if proc.tls:
        kwargs["ca_certs"] = str(proc.ca_file)
    return Elasticsearch(**kwargs)  # type: ignore[arg-type]


def _signal_node(proc: NodeProcess, sig: signal.Signals) -> None:
    assert proc.process is not None
    os.killpg(proc.process.pid, sig)


@pytest.mark.elasticsearch
def test_a_sink_facing_a_stopped_node_loses_nothing_and_stores_nothing_twice(
    own_node: NodeProcess, tmp_path: Path
) -> None:
    prefix = "sink" + os.urandom(4).hex()
    events = _events(3000)
    spool_path = tmp_path / "spool.db"
    options = {"batch_size": 250, "batch_seconds": 0.05, "retry_initial": 0.2, "retry_max": 1.0}
    client = _client(own_node)
    store = ElasticsearchEventStore(client, prefix=prefix, replicas=0, batch_size=250)
    try:
        sink = EventSink(store, spool_path, **options)  # type: ignore[arg-type]
        sink.submit(events[:1000], ack="up")
        assert sink.flush(60)

        # 1. The node hangs (SIGSTOP): requests time out; events go to the spool and are acknowledged.
        _signal_node(own_node, signal.SIGSTOP)
        try:
            sink.submit(events[1000:1500], ack="frozen")
            sink.submit(events[500:1000], ack="re-read")  # already stored: must not be stored twice
            assert sink.flush(60)
            # (a loaded machine may time out earlier writes too: those are spooled as well)
            assert sink.stats().spool_events >= 1000
        finally:
            _signal_node(own_node, signal.SIGCONT)
        assert sink.wait_delivered(120)
        assert {t for t, a in sink.poll_acks() if a.durable} == {"up", "frozen", "re-read"}
        assert sink.stats().duplicates >= 500  # a timed-out write may have landed: more duplicates, never twice

        # 2. The node stops (SIGTERM), and the producer's process ends while it is down.
        own_node.stop(keep=True)
        sink.submit(events[1500:2500], ack="down")
        assert sink.flush(60)
        final = sink.close(timeout=30)
        assert final.spool_events >= 1000 and final.failed_writes >= 2
        store.close()

        # 3. A new process starts while the node is still down: its store defers the templates,
        #    its sink takes the old spool; then the node comes back and everything is delivered.
        client = _client(own_node)
        store = ElasticsearchEventStore(client, prefix=prefix, replicas=0, batch_size=250, defer_templates=True)
        sink = EventSink(store, spool_path, **options)  # type: ignore[arg-type]
        sink.submit(events[2500:], ack="back")
        assert sink.flush(60)
        waiting = sink.stats().spool_events
        assert waiting >= 1500
        own_node.start()
        own_node.wait_ready(time.monotonic() + start_timeout())
        assert sink.wait_delivered(180)
        stats = sink.close(timeout=30)
        ids = _stored_ids(store)
        assert len(ids) == 3000, f"{len(ids)} stored of 3000"
        assert len(set(ids)) == len(ids)  # nothing twice
        assert set(ids) == {e.id for e in events}  # nothing lost
        assert store.count() == 3000
        assert stats.rejected == 0 and stats.delivered_from_spool == waiting
    finally:
        if own_node.process is None:
            own_node.start()
            own_node.wait_ready(time.monotonic() + start_timeout())
        client.options(ignore_status=404).indices.delete(index=f"{prefix}-*", allow_no_indices=True)
        client.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-*")
        store.close()
