"""The one rule for ``grace_runs``: how many complete collections may miss a device (NAV's grace).

A sighting ends when its device has been missed in ``grace_runs`` consecutive
complete collections; 0 would end every sighting in the run that fails to see
it once, so the least is 1. The state store enforces this rule when it opens
and :mod:`netguard.config` applies the same function when it reads
``state.grace_runs``, so a bad value is refused at ``file:line`` before any
store is opened. The configuration imports this module, so the store package
imports the configuration only for type checking (no import cycle).
"""

from __future__ import annotations

DEFAULT_GRACE_RUNS = 3
MIN_GRACE_RUNS = 1
MAX_GRACE_RUNS = 10_000


def grace_runs_problem(value: int) -> str | None:
    """Why ``value`` is not a usable grace, or None when it is."""
    if not MIN_GRACE_RUNS <= value <= MAX_GRACE_RUNS:
        return f"must be between {MIN_GRACE_RUNS} and {MAX_GRACE_RUNS} complete collections, not {value}"
    return None
