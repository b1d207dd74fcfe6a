"""Results of a run, as data: one per (target, task), and the aggregate.

Errors are data (nornir's ``Result``/``AggregatedResult``): a target that
raised, timed out or was cancelled is a :class:`TargetResult` with status
``failed``, the exception's type and a one-line reason; the run goes on and
:attr:`RunResult.failed_targets` lists them. A task that does not handle a
target gives a ``skipped`` result, so every (target, task) pair is accounted
for.

Reasons never carry secrets the runner was told about: the message passes
through the run's redactor (:func:`redactor` replaces every known secret value)
before it is stored, because a library may quote what it was given ("bad
community 'public'"). Reasons are capped at :data:`MAX_REASON` characters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from netguard.secrets import REDACTED, Secret

T = TypeVar("T")
V = TypeVar("V")

MAX_REASON = 1000


class Status(StrEnum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class TargetResult(Generic[T, V]):
    """What one task did on one target. ``value`` is set only when ``ok``;
    ``error_type`` and ``reason`` only when ``failed``; ``duration`` in seconds."""

    target: T
    target_id: str
    task: str
    status: Status
    value: V | None = None
    error_type: str | None = None
    reason: str | None = None
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    @property
    def failed(self) -> bool:
        return self.status is Status.FAILED

    @property
    def skipped(self) -> bool:
        return self.status is Status.SKIPPED


@dataclass(frozen=True)
class RunInfo:
    """What a run is about to do, for processors' ``run_started``."""

    tasks: tuple[str, ...]
    targets: int
    concurrency: int
    timeout: float
    started: dt.datetime


@dataclass(frozen=True)
class RunResult(Generic[T, V]):
    """Every result of a run in target order (then task order), and what went wrong around them.

    ``interrupted``: the run was cancelled (Ctrl-C); ``results`` then holds the
    targets that finished and ``not_run`` counts the others. ``processor_errors``:
    hooks that raised (the run carried on without them for that call).
    """

    info: RunInfo
    results: tuple[TargetResult[T, V], ...]
    duration: float
    not_run: int = 0
    interrupted: bool = False
    processor_errors: tuple[str, ...] = ()

    @property
    def ok(self) -> tuple[TargetResult[T, V], ...]:
        return tuple(r for r in self.results if r.ok)

    @property
    def failed(self) -> tuple[TargetResult[T, V], ...]:
        return tuple(r for r in self.results if r.failed)

    @property
    def skipped(self) -> tuple[TargetResult[T, V], ...]:
        return tuple(r for r in self.results if r.skipped)

    @property
    def failed_targets(self) -> tuple[str, ...]:
        """Ids of the targets with at least one failed task, in target order."""
        return tuple(dict.fromkeys(r.target_id for r in self.results if r.failed))

    def counts(self) -> dict[str, int]:
        """Results per status, plus targets not run; for summaries and ``--json``."""
        out = {s.value: 0 for s in Status}
        for r in self.results:
            out[r.status.value] += 1
        out["not_run"] = self.not_run
        return out


def reason_of(exc: BaseException, redact: Callable[[str], str]) -> str:
    """``Type: message`` (or just the type), redacted, on at most MAX_REASON characters."""
    message = str(exc).strip()
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    text = redact(text)
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def no_redaction(text: str) -> str:
    return text


def redactor(secrets: Iterable[Secret | str]) -> Callable[[str], str]:
    """A function that replaces every given secret value in a text with ``********``.

    Longer values first, so a secret that contains another is replaced whole.
    """
    values = sorted({s.reveal() if isinstance(s, Secret) else s for s in secrets} - {""}, key=len, reverse=True)

    def redact(text: str) -> str:
        for value in values:
            text = text.replace(value, REDACTED)
        return text

    return redact
