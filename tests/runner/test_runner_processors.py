"""Processors: every hook in order, a broken processor is data, events written in batches."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from netguard.events import make_event
from netguard.events.model import Event
from netguard.events.sqlite_store import SQLiteEventStore
from netguard.events.store import WriteResult
from netguard.runner import Collect, EventWriter, Processor, Progress, RunInfo, Runner, RunResult, TargetResult


class Echo:
    """Returns its target; raises for negative ones; handles only even ones when ``evens``."""

    def __init__(self, name: str, evens: bool = False) -> None:
        self.name = name
        self.evens = evens

    def handles(self, target: int) -> bool:
        return not self.evens or target % 2 == 0

    async def run(self, target: int, context: Any) -> int:
        await asyncio.sleep(0)
        if target < 0:
            raise RuntimeError(f"negative {target}")
        return target


class Recorder(Processor):
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def run_started(self, info: RunInfo) -> None:
        self.calls.append(("run_started", info.tasks, info.targets))

    def task_started(self, task: str, target: Any, target_id: str) -> None:
        self.calls.append(("task_started", target_id, task))

    def target_done(self, target: Any, results: tuple[TargetResult[Any, Any], ...]) -> None:
        self.calls.append(("target_done", str(target), tuple((r.task, r.status.value) for r in results)))

    def run_done(self, result: RunResult[Any, Any]) -> None:
        self.calls.append(("run_done", result.counts()["ok"], result.interrupted))


def test_processors_see_every_hook_in_order():
    recorder = Recorder()
    Runner(concurrency=1).run_sync([1, 2, -3], [Echo("a"), Echo("b", evens=True)], None, processors=[recorder])
    assert recorder.calls == [
        ("run_started", ("a", "b"), 3),
        ("task_started", "1", "a"),
        ("target_done", "1", (("a", "ok"), ("b", "skipped"))),
        ("task_started", "2", "a"),
        ("task_started", "2", "b"),
        ("target_done", "2", (("a", "ok"), ("b", "ok"))),
        ("task_started", "-3", "a"),
        ("target_done", "-3", (("a", "failed"), ("b", "skipped"))),
        ("run_done", 3, False),
    ]


def test_with_concurrency_hooks_keep_their_order_per_target():
    recorder = Recorder()
    targets = list(range(30))
    Runner(concurrency=5).run_sync(targets, [Echo("a"), Echo("b")], None, processors=[recorder])
    calls = recorder.calls
    assert calls[0][0] == "run_started" and calls[-1][0] == "run_done"
    for t in map(str, targets):
        mine = [c for c in calls if c[1] == t]
        assert mine == [
            ("task_started", t, "a"),
            ("task_started", t, "b"),
            ("target_done", t, (("a", "ok"), ("b", "ok"))),
        ]


def test_a_processor_that_raises_is_recorded_and_the_others_still_run():
    class Broken(Processor):
        def target_done(self, target: Any, results: tuple[TargetResult[Any, Any], ...]) -> None:
            if target == 2:
                raise KeyError("no such column")

        def run_done(self, result: RunResult[Any, Any]) -> None:
            raise OSError("disk full")

    recorder = Recorder()
    result = Runner(concurrency=2).run_sync([1, 2, 3], [Echo("a")], None, processors=[Broken(), recorder])
    assert [r.value for r in result.results] == [1, 2, 3]
    assert result.processor_errors == (
        "Broken.target_done: KeyError: 'no such column'",
        "Broken.run_done: OSError: disk full",
    )
    assert sorted(c[1] for c in recorder.calls if c[0] == "target_done") == ["1", "2", "3"]
    assert recorder.calls[-1][0] == "run_done"


def test_progress_advances_once_per_target_and_collect_keeps_what_it_is_asked_to():
    ticks: list[int] = []
    failures = Collect(keep=lambda r: r.failed)
    everything = Collect()
    Runner(concurrency=3).run_sync(
        [1, -2, 3, -4], [Echo("a")], None, processors=[Progress(ticks.append), failures, everything]
    )
    assert ticks == [1, 1, 1, 1]
    assert sorted(r.target_id for r in failures.results) == ["-2", "-4"]
    assert sorted(r.target_id for r in everything.results) == ["-2", "-4", "1", "3"]


def _sample(result: TargetResult[int, int]) -> list[Event]:
    if result.skipped:
        return []
    if result.target == 13:
        return [make_event("link", {"event.action": "sample", "netguard.link.loss": "thirteen"})]
    return [
        make_event(
            "link",
            {
                "event.action": "sample",
                "event.outcome": "success" if result.ok else "failure",
                "netguard.link.target": f"t{result.target}",
                "netguard.link.probe": "tcp",
                "netguard.link.state": "up" if result.ok else "down",
                "error.message": result.reason,
            },
            timestamp=1_700_000_000 + abs(result.target),
        )
    ]


def test_event_writer_writes_batches_to_a_real_store_and_counts_what_it_could_not(tmp_path):
    store = SQLiteEventStore(tmp_path / "events.db")
    batches: list[int] = []

    def write(events: Sequence[Event]) -> WriteResult:
        batches.append(len(events))
        return store.write(events)

    writer: EventWriter[int, int] = EventWriter(write, _sample, batch_size=4)
    targets = [*range(10), 13, -20]
    result = Runner(concurrency=3).run_sync(targets, [Echo("a")], None, processors=[writer])
    try:
        assert result.failed_targets == ("-20",)
        assert batches == [4, 4, 3]  # full batches as they fill, the rest at run_done
        assert (writer.outcome.written, writer.outcome.failed) == (11, 1)
        assert writer.outcome.errors == [
            "13 a: EventError: link event: netguard.link.loss: could not convert string to float: 'thirteen'"
        ]
        store.refresh()
        assert store.count(kinds=["link"]) == 11
        down = store.search("netguard.link.state:down", kinds=["link"]).hits
        assert [e.get("netguard.link.target") for e in down] == ["t-20"]
        assert down[0].get("error.message") == "RuntimeError: negative -20"
    finally:
        store.close()


def test_event_writer_keeps_going_when_the_store_fails():
    attempts: list[int] = []

    def write(events: Sequence[Event]) -> WriteResult:
        attempts.append(len(events))
        if len(attempts) == 1:
            raise ConnectionError("store unreachable")
        return WriteResult(written=len(events))

    writer: EventWriter[int, int] = EventWriter(write, _sample, batch_size=2)
    Runner(concurrency=1).run_sync([1, 2, 3, 4, 5], [Echo("a")], None, processors=[writer])
    assert attempts == [2, 2, 1]
    assert (writer.outcome.written, writer.outcome.failed) == (3, 2)
    assert writer.outcome.errors == ["writing 2 events: ConnectionError: store unreachable"]


def test_event_writer_batch_size_is_checked():
    with pytest.raises(ValueError, match="batch_size"):
        EventWriter(lambda events: WriteResult(), _sample, batch_size=0)


def test_event_writer_sends_full_batches_as_they_fill_and_never_half_a_result():
    batches: list[list[str]] = []

    def three(result: TargetResult[int, int]) -> Iterator[Event]:
        for n in range(3):
            if result.target == 9 and n == 2:
                raise ValueError("third event of 9 is malformed")
            yield make_event("link", {"event.action": "sample", "netguard.link.target": f"t{result.target}-{n}"})

    def write(events: Sequence[Event]) -> WriteResult:
        batches.append([str(e.get("netguard.link.target")) for e in events])
        return WriteResult(written=len(events))

    writer: EventWriter[int, int] = EventWriter(write, three, batch_size=4)
    Runner(concurrency=1).run_sync([1, 9, 2, 3], [Echo("a")], None, processors=[writer])
    assert batches == [
        ["t1-0", "t1-1", "t1-2", "t2-0"],
        ["t2-1", "t2-2", "t3-0", "t3-1"],
        ["t3-2"],
    ]  # nothing of 9: its events were not all made
    assert (writer.outcome.written, writer.outcome.failed) == (9, 1)
    assert writer.outcome.errors == ["9 a: ValueError: third event of 9 is malformed"]
