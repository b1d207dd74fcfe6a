"""How ``evict device`` ends a plan on the terminal and in ``--json``, whichever way it isolates.

Both plans (a switch port's, :class:`~netguard.enforce.plan.Plan`, and an ARP
isolation's, :class:`~netguard.enforce.arp_plan.ArpPlan`) print their own
head lines; the refusals and what became of the plan (applied with its
journal entry, or a dry run that would act or would be refused) read the same
for both and are printed here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from commands.output import echo, say
from netguard.enforce.guards import Refused
from netguard.store.journal import JournalEntry


def render_outcome(refusals: Sequence[Refused], applied: JournalEntry | None, *, with_outcome: bool = False) -> None:
    """The refusals, then one line: applied (its journal entry, and with ``with_outcome`` its outcome) or a dry run."""
    for r in refusals:
        echo(f"  refused ({r.kind}): {r}")
    if applied is not None:
        say(f"applied: journal entry {applied.id}" + (f" ({applied.outcome})" if with_outcome else ""))
    elif not refusals:
        say("dry run: nothing changed (--apply to do it)")
    else:
        say("dry run: nothing changed; --apply would be refused")


def plan_json(plan: Mapping[str, object], applied: JournalEntry | None) -> dict[str, object]:
    """The ``--json`` document of one plan: the plan, whether it was applied, and its journal entry."""
    return {**plan, "applied": applied is not None, "journal_id": applied.id if applied else None}
