"""The runner: errors as data, timeouts, the concurrency bound, cancellation, redaction."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from netguard.inventory import load_inventory
from netguard.runner import Collect, Runner, RunResult, Status, SyncTask, redactor, target_id
from netguard.secrets import Secret

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Step:
    """A configurable async task: raise for some targets, hang for others, record what ran."""

    name: str = "step"
    raise_on: frozenset[str] = frozenset()
    hang_on: frozenset[str] = frozenset()
    only: frozenset[str] | None = None
    ran: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)

    def handles(self, target: str) -> bool:
        return self.only is None or target in self.only

    async def run(self, target: str, context: Any) -> str:
        self.ran.append(target)
        try:
            if target in self.raise_on:
                raise ValueError(f"{target} answered nonsense")
            if target in self.hang_on:
                await asyncio.Event().wait()
            await asyncio.sleep(0)
            return target.upper()
        except asyncio.CancelledError:
            self.cancelled.append(target)
            raise


TARGETS = [f"t{i}" for i in range(8)]


def test_a_target_that_raises_does_not_stop_the_run():
    step = Step(raise_on=frozenset({"t2", "t5"}))
    result = Runner(concurrency=3, timeout=5).run_sync(TARGETS, [step], None)
    assert sorted(step.ran) == TARGETS
    assert [r.target_id for r in result.results] == TARGETS  # target order, whatever finished first
    assert [r.value for r in result.ok] == ["T0", "T1", "T3", "T4", "T6", "T7"]
    assert result.failed_targets == ("t2", "t5")
    bad = result.failed[0]
    assert (bad.status, bad.error_type, bad.reason) == (Status.FAILED, "ValueError", "ValueError: t2 answered nonsense")
    assert bad.value is None and bad.duration >= 0
    assert result.counts() == {"ok": 6, "failed": 2, "skipped": 0, "not_run": 0}
    assert not result.interrupted


def test_a_hanging_target_times_out_while_the_others_finish():
    step = Step(hang_on=frozenset({"t1"}))
    result = Runner(concurrency=2, timeout=0.3).run_sync(TARGETS, [step], None)
    assert result.failed_targets == ("t1",)
    hung = result.failed[0]
    assert hung.error_type == "TimeoutError"
    assert hung.reason == "TimeoutError: no result within 0.3 s"
    assert step.cancelled == ["t1"]  # the hung coroutine was cancelled, not left behind
    assert len(result.ok) == 7


def test_a_tasks_own_timeout_keeps_its_message():
    class Slow:
        name = "slow"

        def handles(self, target: str) -> bool:
            return True

        async def run(self, target: str, context: Any) -> None:
            raise TimeoutError("agent did not answer 3 retries")

    result = Runner(timeout=5).run_sync(["a"], [Slow()], None)
    assert result.failed[0].reason == "TimeoutError: agent did not answer 3 retries"


def test_concurrency_bound_is_observed_and_reached():
    active = 0
    peak = 0

    class Probe:
        name = "probe"

        def handles(self, target: int) -> bool:
            return True

        async def run(self, target: int, context: Any) -> int:
            nonlocal active, peak
            active += 1
            peak = max(peak, active)
            try:
                for _ in range(5):
                    await asyncio.sleep(0)
                return target
            finally:
                active -= 1

    result = Runner(concurrency=4, timeout=5).run_sync(range(40), [Probe()], None)
    assert peak == 4
    assert [r.value for r in result.results] == list(range(40))


def test_tasks_run_in_order_per_target_and_unhandled_targets_are_skipped():
    first = Step(name="first")
    second = Step(name="second", only=frozenset({"t0", "t3"}))
    result = Runner(concurrency=2).run_sync(TARGETS[:4], [first, second], None)
    assert [(r.target_id, r.task, r.status.value) for r in result.results] == [
        ("t0", "first", "ok"), ("t0", "second", "ok"),
        ("t1", "first", "ok"), ("t1", "second", "skipped"),
        ("t2", "first", "ok"), ("t2", "second", "skipped"),
        ("t3", "first", "ok"), ("t3", "second", "ok"),
    ]  # fmt: skip
    assert sorted(second.ran) == ["t0", "t3"]
    assert result.failed_targets == ()


def test_handles_that_raises_is_a_failed_result():
    class Picky:
        name = "picky"

        def handles(self, target: str) -> bool:
            raise KeyError(target)

        async def run(self, target: str, context: Any) -> None:  # pragma: no cover - never reached
            raise AssertionError

    result = Runner().run_sync(["x"], [Picky()], None)
    assert (result.failed[0].error_type, result.failed[0].reason) == ("KeyError", "KeyError: 'x'")


def test_a_task_cancelled_from_inside_is_a_failed_result_and_the_run_goes_on():
    class Cancels:
        name = "cancels"

        def handles(self, target: str) -> bool:
            return True

        async def run(self, target: str, context: Any) -> str:
            if target == "b":
                future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                future.cancel()
                await future  # a library's own future, cancelled under it
            return target

    result = Runner().run_sync(["a", "b", "c"], [Cancels()], None)
    assert [r.status.value for r in result.results] == ["ok", "failed", "ok"]
    assert result.failed[0].reason == "CancelledError: cancelled"


def test_blocking_work_runs_in_threads_and_a_stuck_thread_only_fails_its_target():
    release = threading.Event()

    def lookup(target: str, context: dict[str, str]) -> str:
        if target == "stuck":
            release.wait(30)
        if target == "broken":
            raise OSError("no route to host")
        return f"{context['prefix']}{target}"

    task = SyncTask("lookup", lookup, accepts=lambda t: t != "ignored")
    try:
        result = Runner(concurrency=4, timeout=0.5).run_sync(
            ["a", "stuck", "broken", "ignored", "b"], [task], {"prefix": "sw-"}
        )
    finally:
        release.set()
    assert [(r.status.value, r.value, r.reason) for r in result.results] == [
        ("ok", "sw-a", None),
        ("failed", None, "TimeoutError: no result within 0.5 s"),
        ("failed", None, "OSError: no route to host"),
        ("skipped", None, None),
        ("ok", "sw-b", None),
    ]


def test_reasons_never_carry_a_known_secret():
    community = Secret("n0t-public!")

    class Snmp:
        name = "snmp"

        def handles(self, target: str) -> bool:
            return True

        async def run(self, target: str, context: Any) -> None:
            raise PermissionError(f"agent refused community '{community.reveal()}' from {target}")

    result = Runner(redact=redactor([community, "other"])).run_sync(["sw1"], [Snmp()], None)
    reason = result.failed[0].reason
    assert reason == "PermissionError: agent refused community '********' from sw1"


def test_long_reasons_are_capped():
    step = Step(raise_on=frozenset({"x" * 5000}))
    result = Runner().run_sync(["x" * 5000], [step], None)
    reason = result.failed[0].reason
    assert reason is not None and len(reason) == 1000 and reason.endswith("…")


def test_cancelling_the_run_stops_every_target_and_reports_what_finished():
    step = Step(hang_on=frozenset(TARGETS[2:]))
    seen = Collect()
    done: list[Any] = []

    class Done(Collect):
        def run_done(self, result: Any) -> None:
            done.append(result)

    async def scenario() -> None:
        run = asyncio.create_task(
            Runner(concurrency=3, timeout=60).run(TARGETS, [step], None, processors=[seen, Done()])
        )
        while len(step.ran) < 4:  # t0, t1 finished; two workers now hang on t2 and t3 (t4 queued)
            await asyncio.sleep(0)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        assert asyncio.all_tasks() == {asyncio.current_task()}  # nothing left running

    asyncio.run(scenario())
    assert sorted(step.cancelled) == sorted(set(step.ran) - {"t0", "t1"})
    [result] = done
    assert result.interrupted
    assert [r.target_id for r in result.results] == ["t0", "t1"]
    assert result.not_run == len(TARGETS) - 2
    assert [r.target_id for r in seen.results] == ["t0", "t1"]


def test_ctrl_c_stops_a_blocking_run_cleanly(tmp_path):
    script = tmp_path / "interrupt.py"
    script.write_text(
        textwrap.dedent(
            """
            import asyncio, sys
            from netguard.runner import Processor, Runner

            class Hang:
                name = "hang"
                def handles(self, target): return True
                async def run(self, target, context):
                    if target == 0:
                        return "quick"
                    print("started", flush=True)
                    await asyncio.Event().wait()

            class Report(Processor):
                def run_done(self, result):
                    print("run_done", result.interrupted, result.counts(), flush=True)

            try:
                Runner(concurrency=2, timeout=600).run_sync(range(5), [Hang()], None, processors=[Report()])
            except KeyboardInterrupt:
                print("interrupted cleanly", flush=True)
                sys.exit(130)
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "started"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    lines = out.splitlines()
    assert set(lines[:-2]) <= {"started"}  # the other hanging target may have started too
    assert lines[-2:] == [
        "run_done True {'ok': 1, 'failed': 0, 'skipped': 0, 'not_run': 4}",
        "interrupted cleanly",
    ]
    assert "Traceback" not in err


def test_runner_settings_are_checked():
    with pytest.raises(ValueError, match="concurrency must be at least 1"):
        Runner(concurrency=0)
    with pytest.raises(ValueError, match="timeout must be more than 0"):
        Runner(timeout=0)


def test_target_ids_of_inventory_records():
    inv = load_inventory(ROOT / "tests" / "inventory" / "data" / "small.yaml")
    assert target_id(inv["rmyy"]) == "rmyy"
    assert target_id(inv.switches()[0]) == "dc-core1"
    assert target_id(inv.devices()[0]) == "00:25:90:00:00:21"
    assert target_id(42) == "42"


def test_an_empty_view_is_an_empty_result():
    result: RunResult[str, str] = Runner().run_sync([], [Step()], None)
    assert result.results == () and result.counts()["ok"] == 0 and result.info.targets == 0
