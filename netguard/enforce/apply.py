"""Running one planned eviction at a switch port through the action journal.

The journal's steps (guards and limit, intent, outcome, an event for each) are
:mod:`netguard.enforce.journalled`'s; what is done here between the intent and
the outcome is the SNMP SET with its read-back, and the isolation state an
applied SET leaves the port in.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from netguard.enforce.actions import set_pvid, shut_down
from netguard.enforce.guards import ActionLimit, EnforcementFailed
from netguard.enforce.journalled import Intent, Record, begin, pause_after_intent
from netguard.enforce.plan import Plan
from netguard.snmp import SnmpTarget
from netguard.store.isolation import PortState
from netguard.store.journal import ActionJournal, JournalEntry, Target

if TYPE_CHECKING:  # types only: importing this module loads no pysnmp API
    from netguard.snmp.client import SnmpClient


def isolation_after(plan: Plan) -> PortState:
    d, reading = plan.device, plan.facts.reading
    assert d.switch is not None and d.port is not None
    if plan.method == "quarantine-vlan":
        return PortState(
            d.mac, d.switch, d.port, "quarantined", original_vlan=reading.pvid, current_vlan=plan.quarantine_vlan
        )
    return PortState(d.mac, d.switch, d.port, "disabled", original_vlan=reading.pvid, current_vlan=reading.pvid)


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
    d = plan.device
    intent = Intent(
        plan.method,
        Target(mac=d.mac, ip=d.ips[0] if d.ips else None, switch=plan.switch.id, port=plan.facts.ref.port),
        plan.state_before,
        plan.state_after,
    )
    step = begin(plan.refusals, intent, journal=journal, operator=operator, reason=reason, limit=limit, record=record)
    if pause := pause_after_intent():
        await asyncio.sleep(pause)
    try:
        if plan.method == "port-shutdown":
            await shut_down(client, target, plan.facts.ref)
        else:
            assert plan.quarantine_vlan is not None
            await set_pvid(client, target, plan.facts.ref, plan.quarantine_vlan)
    except EnforcementFailed as exc:
        step.failed(str(exc))
        raise
    return step.applied("set and read back", isolation_after(plan))
