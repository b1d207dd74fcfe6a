"""Undoing an eviction, also one a crash interrupted.

An ``applied`` entry is undone by a ``restore`` entry that names it
(``undoes``): intent (state before read from the switch now), the SET that
puts back what the original entry's state before recorded (ifAdminStatus, or
the original PVID, as NAV remembers it), the read-back, then ``mark_applied``
with the port ``enabled``, which marks the original ``undone`` in the same
transaction.

An entry still in ``intent`` was interrupted between its intent and its
outcome: what the switch did is unknown, so the switch is read. If the port
holds the entry's intended state, the SET happened: the entry is marked
``applied`` (with its isolation state) and restored as above. If the port is
as it was before, the SET never happened: the entry is marked ``failed`` and
there is nothing to undo. Anything else (a third value) is reported and left
for a person: NetGuard does not guess.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from netguard.enforce.actions import ADMIN_UP, PortReading, PortRef, read_port, set_pvid, set_verified
from netguard.enforce.journalled import Intent, Record, intend
from netguard.errors import NetGuardError
from netguard.snmp import SnmpTarget
from netguard.store.isolation import PortState
from netguard.store.journal import ActionJournal, JournalEntry

if TYPE_CHECKING:  # types only: importing this module loads no pysnmp API
    from netguard.snmp.client import SnmpClient

PORT_ACTIONS = ("port-shutdown", "quarantine-vlan")
# ARP isolations are restored by netguard.enforce.arp_isolate.restore_arp; restore --all lists them too.
RESTORABLE = (*PORT_ACTIONS, "arp-isolate")


class NotRestorable(NetGuardError):
    """A journal entry that restore cannot (or need not) undo."""


def restorable(journal: ActionJournal) -> list[JournalEntry]:
    """Every port action or ARP isolation still in force or interrupted, oldest first (``restore --all``)."""
    entries = journal.entries(status="applied") + journal.open_entries()
    return sorted((e for e in entries if e.action in RESTORABLE), key=lambda e: e.id)


def port_of(entry: JournalEntry) -> PortRef:
    before = entry.state_before
    switch, port, ifindex = entry.target.switch, entry.target.port, before.get("ifindex")
    if switch is None or port is None or not isinstance(ifindex, int):
        raise NotRestorable(f"journal entry {entry.id} names no switch port to restore")
    bridge_port = before.get("bridge_port")
    return PortRef(switch, port, ifindex, bridge_port if isinstance(bridge_port, int) else None)


def _isolation(entry: JournalEntry, status: str, reading: PortReading) -> PortState:
    t = entry.target
    assert t.mac is not None and t.switch is not None and t.port is not None
    original = entry.state_before.get("pvid")
    original_vlan = original if isinstance(original, int) else None
    if status == "enabled":
        return PortState(t.mac, t.switch, t.port, "enabled", current_vlan=reading.pvid)
    if entry.action == "quarantine-vlan":
        return PortState(t.mac, t.switch, t.port, "quarantined", original_vlan=original_vlan, current_vlan=reading.pvid)
    return PortState(t.mac, t.switch, t.port, "disabled", original_vlan=original_vlan, current_vlan=reading.pvid)


def _holds(reading: PortReading, state: dict[str, object]) -> bool:
    return all(reading.as_dict().get(k) == v for k, v in state.items())


async def settle_interrupted(
    entry: JournalEntry, *, journal: ActionJournal, client: SnmpClient, target: SnmpTarget, record: Record
) -> JournalEntry:
    """Give an interrupted entry the outcome the switch shows (see the module docstring)."""
    reading = await read_port(client, target, port_of(entry))
    intended = entry.state_after
    before = {k: entry.state_before.get(k) for k in intended}
    if _holds(reading, intended):
        settled = journal.mark_applied(
            entry.id,
            "interrupted; the switch was read afterwards and holds the intended state",
            isolation=_isolation(entry, "restricted", reading),
        )
    elif _holds(reading, before):
        settled = journal.mark_failed(
            entry.id, "interrupted before it took effect; the switch was read afterwards and shows the port as before"
        )
    else:
        raise NotRestorable(
            f"journal entry {entry.id} was interrupted and {entry.target.switch} {entry.target.port} now shows "
            f"{reading.as_dict()}, neither {before} nor {intended}: check the switch by hand"
        )
    record(settled)
    return settled


async def restore_entry(
    entry: JournalEntry,
    *,
    journal: ActionJournal,
    client: SnmpClient,
    target: SnmpTarget,
    operator: str,
    reason: str,
    record: Record,
) -> JournalEntry:
    """Undo ``entry``; returns the restore entry, or the settled original when there was nothing to undo."""
    if entry.action not in PORT_ACTIONS:
        raise NotRestorable(f"journal entry {entry.id} is a '{entry.action}', not a port action to restore")
    if entry.is_open:
        entry = await settle_interrupted(entry, journal=journal, client=client, target=target, record=record)
        if entry.status == "failed":
            return entry
    if entry.status != "applied":
        raise NotRestorable(f"journal entry {entry.id} is '{entry.status}': nothing to restore")
    ref = port_of(entry)
    now = await read_port(client, target, ref)
    if entry.action == "port-shutdown":
        admin = entry.state_before.get("admin_status")
        after: dict[str, object] = {"admin_status": admin if isinstance(admin, int) else ADMIN_UP}
    else:
        pvid = entry.state_before.get("pvid")
        if not isinstance(pvid, int):
            raise NotRestorable(f"journal entry {entry.id} did not record the original VLAN")
        after = {"pvid": pvid}
    step = intend(
        Intent("restore", entry.target, now.as_dict(), after),
        journal=journal,
        operator=operator,
        reason=reason,
        record=record,
        undoes=entry.id,
    )
    try:
        if entry.action == "port-shutdown":
            admin_status = int(str(after["admin_status"]))
            await set_verified(client, target, ref, ref.admin_oid(), admin_status, f"ifAdminStatus {admin_status}")
        else:
            await set_pvid(client, target, ref, int(str(after["pvid"])))
    except NetGuardError as exc:
        step.failed(str(exc))
        raise
    reading = await read_port(client, target, ref)
    done = step.applied("set and read back", _isolation(entry, "enabled", reading))
    record(journal.get(entry.id))
    return done
