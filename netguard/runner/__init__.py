"""The collector runner: tasks over inventory targets, with processors for what happens around them.

A capability is a set of :class:`Task` objects (``name``, ``handles``, async
``run``); :class:`Runner` runs them over a filtered inventory view with bounded
concurrency and a timeout per target, and returns a :class:`RunResult` where a
target that raised, hung or was cancelled is a failed row, never an exception.
:class:`Processor` hooks (progress, event writing, reconciliation) see the run
as it goes. docs/architecture.md shows a capability plugged in end to end.
"""

from netguard.runner.processors import Collect, EventWriter, Processor, Progress
from netguard.runner.result import RunInfo, RunResult, Status, TargetResult, redactor
from netguard.runner.runner import Runner
from netguard.runner.task import SyncTask, Task, target_id

__all__ = [
    "Collect",
    "EventWriter",
    "Processor",
    "Progress",
    "RunInfo",
    "RunResult",
    "Runner",
    "Status",
    "SyncTask",
    "TargetResult",
    "Task",
    "redactor",
    "target_id",
]
