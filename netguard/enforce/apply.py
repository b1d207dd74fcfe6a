"""Running one planned eviction through the action journal.

The order is the journal's (:mod:`netguard.store.journal`): the guards and the
per-run limit first (nothing is written for a refused action), then the intent
with the operator, the reason and the port's state as just read from the
switch, then the SET with its read-back, then the outcome: ``mark_applied``
with the port's isolation state in the same transaction, or ``mark_failed``
with why. ``record`` is called with the entry after the intent and after the
outcome, so each becomes an ``enforcement`` event.

Test hook (tests only): ``NETGUARD_TEST_PAUSE_AFTER_INTENT=SECONDS`` sleeps
between the intent and the SET, so a test can kill the process there and check
that ``evict restore`` recovers an interrupted action. Never set it in use.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from netguard.enforce.actions import set_pvid, shut_down
from netguard.enforce.guards import ActionLimit, EnforcementFailed
from netguard.enforce.plan import Plan
from netguard.snmp import SnmpTarget
from netguard.store.isolation import PortState
from netguard.store.journal import ActionJournal, JournalEntry, Target

if TYPE_CHECKING:  # types only: importing this module loads no pysnmp API
    from netguard.snmp.client import SnmpClient

PAUSE_HOOK = "NETGUARD_TEST_PAUSE_AFTER_INTENT"

Record = Callable[[JournalEntry], None]


def isolation_after(plan: Plan) -> PortState:
    d, reading = plan.device, plan.facts.reading
    assert d.switch is not None and d.port is not None
    if plan.method == "quarantine-vlan":
        return PortState(
            d.mac, d.switch, d.port, "quarantined", original_vlan=reading.pvid, current_vlan=plan.quarantine_vlan
        )
    return PortState(d.mac, d.switch, d.port, "disabled", original_vlan=reading.pvid, current_vlan=reading.pvid)


async def _pause_for_tests() -> None:
    seconds = os.environ.get(PAUSE_HOOK)
    if seconds:
        await asyncio.sleep(float(seconds))


async def apply_plan(
    plan: Plan,
    *,
    journal: ActionJournal,
    client: SnmpClient,
    target: SnmpTarget,
    operator: str,
    reason: str,
    limit: ActionLimit,
    record: Record,
) -> JournalEntry:
    """Guards, intent, SET with read-back, outcome; raises the first refusal or EnforcementFailed."""
    if plan.refusals:
        raise plan.refusals[0]
    limit.take()
    d = plan.device
    entry_id = journal.record_intent(
        operator=operator,
        action=plan.method,
        target=Target(mac=d.mac, ip=d.ips[0] if d.ips else None, switch=plan.switch.id, port=plan.facts.ref.port),
        state_before=plan.state_before,
        state_after=plan.state_after,
        reason=reason,
    )
    record(journal.get(entry_id))
    await _pause_for_tests()
    try:
        if plan.method == "port-shutdown":
            await shut_down(client, target, plan.facts.ref)
        else:
            assert plan.quarantine_vlan is not None
            await set_pvid(client, target, plan.facts.ref, plan.quarantine_vlan)
    except EnforcementFailed as exc:
        record(journal.mark_failed(entry_id, str(exc)))
        raise
    entry = journal.mark_applied(entry_id, "set and read back", isolation=isolation_after(plan))
    record(entry)
    return entry
