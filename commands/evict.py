"""``netguard evict``: isolate a device at its switch port (or by ARP), and undo it.

``device`` locates the device from the last discovery, reads its port live
and prints the plan; only ``--apply`` acts, after every guard
(:mod:`netguard.enforce.guards`), through the action journal, with every SET
read back and an ``enforcement`` event per step. ``restore`` undoes an entry
(or every one with ``--all``), also one a crash left in ``intent``. ``list``
shows what is isolated now. ``unauthorised`` does ``device`` for every
device the last discovery found that needs action, within the per-run limit,
reporting the refused ones instead of stopping at them; ``redetain`` does it
for every isolated device discovery now sees at another place. A device on a
segment without a managed switch (seen only by an ARP sweep) is isolated by
ARP, in ``device``, ``unauthorised`` and ``redetain`` alike, and ``hold``
keeps those isolations in force (:mod:`commands.evict_arp`).

Exit codes: 2 for a refusal or usage error; 1 when a SET failed or did not
read back (or an ARP isolation could not be verified), or an event could not be stored (``unauthorised`` and
``redetain``: also when a device was refused, failed or left over by the
limit).
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, TypeVar

import click

from commands.context import AppContext, pass_app
from commands.evict_arp import (
    arp_device,
    arp_job,
    hold_cmd,
    refuse_protected,
    render_arp_plan,
    restore_arp_entry,
    where_to_evict,
)
from commands.evict_render import plan_json, render_outcome
from commands.output import echo, json_option, plural, print_json, say
from commands.tables import Column, print_table, wide_option
from netguard.config import Config
from netguard.discovery.current import DeviceRow, current_devices
from netguard.discovery.policy import policy_from_config
from netguard.enforce.apply import apply_plan
from netguard.enforce.arp_link import LinkError
from netguard.enforce.arp_plan import ARP_ISOLATE, Segment, arp_only
from netguard.enforce.guards import (
    DEFAULT_LIMIT,
    ActionLimit,
    AlreadyIsolated,
    EnforcementFailed,
    LimitReached,
    Refused,
)
from netguard.enforce.journalled import Record
from netguard.enforce.plan import METHODS, NotFound, Plan, SwitchWalks, make_plan
from netguard.enforce.redetain import moved_while_isolated
from netguard.enforce.restore import NotRestorable, restorable, restore_entry
from netguard.enforce.settings import ENFORCE
from netguard.errors import EXIT_FINDINGS, NetGuardError
from netguard.events import EventStore, make_event, open_event_store
from netguard.inventory import Inventory, load_inventory
from netguard.snmp import SnmpTarget, target_for_switch
from netguard.store import StateStore
from netguard.store.journal import JournalEntry, event_fields

if TYPE_CHECKING:  # the session is opened below, where pysnmp is imported: importing this module loads no pysnmp API
    from netguard.snmp.client import SnmpClient

T = TypeVar("T")
DEVICE_METHODS = (*METHODS, ARP_ISOLATE)


@click.group("evict")
def evict() -> None:
    """Isolate unauthorised devices at a port or by ARP; restore.

    Every command is a dry run unless --apply. See docs/evict.md.
    """


evict.add_command(hold_cmd)


def event_recorder(events: EventStore) -> tuple[Record, list[str]]:
    """A journal-entry → enforcement-event writer into an open store; the list collects events not stored."""
    failures: list[str] = []

    def record(entry: JournalEntry) -> None:
        fields = {k: v for k, v in event_fields(entry).items() if v is not None}
        written = events.write([make_event("enforcement", fields)])
        if written.failed:
            failures.append(written.errors[0] if written.errors else f"journal entry {entry.id}")

    return record, failures


@contextmanager
def recorder(config: Config) -> Iterator[tuple[Record, list[str]]]:
    """:func:`event_recorder` into the configured event store, opened for the block."""
    with closing(open_event_store(config)) as events:
        yield event_recorder(events)


def _warn_events(failures: list[str]) -> None:
    if failures:
        echo(
            f"warning: {plural(len(failures), 'enforcement event')} could not be stored (first: {failures[0]})",
            err=True,
        )
        raise click.exceptions.Exit(EXIT_FINDINGS)


def _target(app: AppContext, inv: Inventory, switch_id: str | None) -> SnmpTarget:
    switch = inv.root.switch(switch_id) if switch_id else None
    if switch is None:
        raise NotFound(f"switch '{switch_id}' is not in the inventory ({inv.file})")
    settings = app.config.section(ENFORCE)
    return target_for_switch(
        switch, app.config.resolver(), timeout=settings.snmp_timeout_s, retries=settings.snmp_retries
    )


def _with_client(work: Callable[[SnmpClient], Awaitable[T]]) -> T:
    async def run() -> T:
        from netguard.snmp.client import SnmpClient

        async with SnmpClient() as client:
            return await work(client)

    return asyncio.run(run())


def _render_plan(plan: Plan, applied: JournalEntry | None) -> None:
    d = plan.as_dict()
    ips = ", ".join(plan.device.ips) or "no IP"
    say(f"{d['mac']} ({ips}, {d['status']}) on {d['switch']} {d['port']} VLAN {d['vlan']}")
    say(f"  {d['method']}: {d['state_before']} -> {d['state_after']}")
    render_outcome(plan.refusals, applied)


@evict.command("device")
@click.argument("what", metavar="DEVICE")
@click.option("--method", type=click.Choice(DEVICE_METHODS), default="auto", show_default=True, help="How to isolate.")
@click.option("--reason", required=True, help="Why (recorded in the journal and the event).")
@click.option("--apply", "do_apply", is_flag=True, help="Act; without it only the plan is shown.")
@click.option("--force-shared-port", is_flag=True, help="Isolate even a port other authorised devices use.")
@json_option
@pass_app
def device_cmd(
    app: AppContext, what: str, method: str, reason: str, do_apply: bool, force_shared_port: bool, as_json: bool
) -> None:
    """Isolate one DEVICE (a MAC or an IP) at its port or by ARP.

    The port is the one the last discovery saw the device on. A device on a
    segment without a managed switch is isolated by ARP from this host
    (enforce.arp_interfaces); `auto` chooses that for it.

    \b
    Examples:
      netguard evict device 02:aa:bb:cc:dd:ee --reason "rogue in 办公 VLAN"
      netguard evict device 10.11.0.66 --reason 工单 --apply
    """
    if not reason.strip():
        raise NetGuardError("--reason must say why")
    inv = load_inventory(app.inventory_path(None))
    refuse_protected(inv, what)
    # One state store, one device policy and one look-up of the device for the choice of method and the action.
    policy = policy_from_config(app.config, inv)
    with StateStore.from_config(app.config) as store:
        where = where_to_evict(app, inv, store, what, method, policy)
        with recorder(app.config) as (record, failures):
            if isinstance(where, Segment):
                arp_plan, entry = arp_device(
                    inv, store, where, reason=reason, do_apply=do_apply, record=record, policy=policy
                )
                shown, render = arp_plan.as_dict(), partial(render_arp_plan, arp_plan, entry)
            else:
                plan, entry = _device_at_port(
                    app,
                    inv,
                    store,
                    record,
                    where,
                    method=method,
                    reason=reason,
                    do_apply=do_apply,
                    force=force_shared_port,
                )
                shown, render = plan.as_dict(), partial(_render_plan, plan, entry)
    if as_json:
        print_json(plan_json(shown, entry))
    else:
        render()
    _warn_events(failures)


def _device_at_port(
    app: AppContext,
    inv: Inventory,
    store: StateStore,
    record: Record,
    device: DeviceRow,
    *,
    method: str,
    reason: str,
    do_apply: bool,
    force: bool,
) -> tuple[Plan, JournalEntry | None]:
    """``evict device`` at the switch port the last discovery saw the device on: the plan, and the entry if applied."""
    target = _target(app, inv, device.switch)

    async def work(client: SnmpClient) -> tuple[Plan, JournalEntry | None]:
        plan = await make_plan(
            client, target, inv, store.sightings, store.isolation, device, method=method, force_shared_port=force
        )
        if not do_apply:
            return plan, None
        entry = await apply_plan(
            plan,
            journal=store.journal,
            client=client,
            target=target,
            operator=getpass.getuser(),
            reason=reason,
            limit=ActionLimit(1),
            record=record,
        )
        return plan, entry

    return _with_client(work)


@evict.command("restore")
@click.argument("entry_id", type=int, required=False, metavar="ID")
@click.option("--all", "everything", is_flag=True, help="Every eviction in force or interrupted.")
@click.option("--reason", default="restore", show_default=True, help="Why (recorded in the journal).")
@json_option
@pass_app
def restore_cmd(app: AppContext, entry_id: int | None, everything: bool, reason: str, as_json: bool) -> None:
    """Undo an eviction (journal entry ID), or --all.

    Also undoes an action a crash interrupted, after reading the switch.
    """
    if (entry_id is None) == (not everything):
        raise NetGuardError("give a journal entry ID or --all, not both")
    inv = load_inventory(app.inventory_path(None))
    results: list[dict[str, object]] = []
    failed = 0
    with StateStore.from_config(app.config) as store, recorder(app.config) as (record, failures):
        journal = store.journal
        entries = restorable(journal) if everything else [journal.get(int(str(entry_id)))]

        async def work(client: SnmpClient) -> None:
            nonlocal failed
            for entry in entries:
                try:
                    if entry.action == ARP_ISOLATE:
                        done = restore_arp_entry(entry, store, reason=reason, record=record)
                        results.append(_restored(entry, done, journal.get(entry.id).status))
                        continue
                    target = _target(app, inv, entry.target.switch)
                    done = await restore_entry(
                        entry,
                        journal=journal,
                        client=client,
                        target=target,
                        operator=getpass.getuser(),
                        reason=reason,
                        record=record,
                    )
                except (EnforcementFailed, NotRestorable, NotFound, LinkError) as exc:
                    if not everything:
                        raise
                    failed += 1
                    results.append({"journal_id": entry.id, "restored": False, "error": str(exc)})
                    continue
                results.append(_restored(entry, done, journal.get(entry.id).status))

        _with_client(work)
    if as_json:
        print_json(results)
    else:
        for r in results:
            if r.get("error"):
                echo(f"journal entry {r['journal_id']}: not restored: {r['error']}")
            elif r["restored"]:
                say(f"journal entry {r['journal_id']}: restored (journal entry {r['restore_id']})")
            else:
                say(f"journal entry {r['journal_id']}: {r['outcome']}, the switch never changed: nothing to undo")
        if not results:
            say("nothing to restore")
    _warn_events(failures)
    if failed:
        raise click.exceptions.Exit(EXIT_FINDINGS)


def _restored(entry: JournalEntry, done: JournalEntry, outcome: str) -> dict[str, object]:
    restored = done.id != entry.id
    return {
        "journal_id": entry.id,
        "restored": restored,
        "restore_id": done.id if restored else None,
        "outcome": outcome,
    }


@evict.command("list")
@json_option
@wide_option
@pass_app
def list_cmd(app: AppContext, as_json: bool, wide: bool) -> None:
    """What is isolated now, with the journal entry that did it."""
    with StateStore.from_config(app.config) as store:
        rows = store.isolation.restricted()
    if as_json:
        print_json(
            [
                {
                    "mac": r.mac,
                    "switch": r.switch,
                    "port": r.port,
                    "status": r.status,
                    "original_vlan": r.original_vlan,
                    "current_vlan": r.current_vlan,
                    "journal_id": r.journal_id,
                    "updated": r.updated.isoformat(),
                }
                for r in rows
            ]
        )
        return
    columns = [
        Column("MAC", keep=True, priority=9),
        Column("switch", keep=True, priority=8),
        Column("port", keep=True, priority=8),
        Column("status", keep=True, priority=9),
        Column("original VLAN", keep=True, priority=3),
        Column("VLAN now", keep=True, priority=2),
        Column("journal", keep=True, priority=7),
        Column("since", keep=True, priority=1),
    ]
    cells: list[list[object]] = [
        [r.mac, r.switch, r.port, r.status, r.original_vlan, r.current_vlan, r.journal_id, r.updated.isoformat()]
        for r in rows
    ]
    print_table(f"{plural(len(rows), 'isolated device')}", columns, cells, wide=wide)


@dataclass(frozen=True)
class Job:
    """One device to act on in a many-device run, with its method and reason."""

    device: DeviceRow
    method: str
    reason: str


def act_on_many(
    app: AppContext,
    inv: Inventory,
    store: StateStore,
    record: Record,
    jobs: list[Job],
    *,
    do_apply: bool,
    limit: int | None,
    elsewhere_ok: bool = False,
) -> list[dict[str, object]]:
    """Plan (and with ``do_apply`` act on) every job; a refusal or failure is a row, never a stop."""
    results: list[dict[str, object]] = []
    budget = ActionLimit(limit or app.config.section(ENFORCE).max_actions_per_run)
    walks = SwitchWalks()
    policy = policy_from_config(app.config, inv) if any(j.method == ARP_ISOLATE for j in jobs) else None

    async def work(client: SnmpClient) -> None:
        for job in jobs:
            device = job.device
            row: dict[str, object] = {
                "mac": device.mac,
                "ips": list(device.ips),
                "institution": device.institution,
                "switch": device.switch,
                "port": device.port,
            }
            try:
                if job.method == ARP_ISOLATE:
                    # One shared budget: ARP isolations count against the same per-run limit.
                    row.update(
                        arp_job(
                            app,
                            inv,
                            store,
                            device,
                            reason=job.reason,
                            do_apply=do_apply,
                            budget=budget,
                            record=record,
                            policy=policy,
                            elsewhere_ok=elsewhere_ok,
                        )
                    )
                    results.append(row)
                    continue
                target = _target(app, inv, device.switch)
                plan = await make_plan(
                    client,
                    target,
                    inv,
                    store.sightings,
                    store.isolation,
                    device,
                    method=job.method,
                    force_shared_port=False,
                    elsewhere_ok=elsewhere_ok,
                    walks=walks,
                )
                row.update(plan.as_dict())
                if not do_apply:
                    row["outcome"] = "refused" if plan.refusals else "planned"
                else:
                    entry = await apply_plan(
                        plan,
                        journal=store.journal,
                        client=client,
                        target=target,
                        operator=getpass.getuser(),
                        reason=job.reason,
                        limit=budget,
                        record=record,
                    )
                    row.update({"outcome": "applied", "journal_id": entry.id})
            except AlreadyIsolated as exc:
                row.update({"outcome": "isolated", "error": str(exc)})
            except LimitReached as exc:
                row.update({"outcome": "left over", "error": str(exc)})
            except Refused as exc:
                row.update({"outcome": "refused", "error": str(exc)})
            except (EnforcementFailed, NotFound, LinkError) as exc:
                row.update({"outcome": "failed", "error": str(exc)})
            results.append(row)

    _with_client(work)
    return results


def where_of(row: dict[str, object]) -> str:
    """Where a many-device row acts: its switch port, or for ARP isolation its IPs and institution."""
    if row.get("port") is not None:
        return f"{row['mac']} on {row['switch']} {row['port']}"
    ips = row.get("ips")
    addresses = ", ".join(str(ip) for ip in ips) if isinstance(ips, list) and ips else "no IP"
    return f"{row['mac']} ({addresses}) at {row.get('institution')}"


def _report_many(results: list[dict[str, object]], as_json: bool, none: str, failures: list[str]) -> None:
    if as_json:
        print_json(results)
    else:
        for r in results:
            where = where_of(r)
            detail = r.get("error") or (
                f"journal entry {r['journal_id']}" if r["outcome"] == "applied" else r.get("method")
            )
            echo(f"{r['outcome']}: {where}: {detail}")
        if not results:
            say(none)
    _warn_events(failures)
    if any(r["outcome"] in ("refused", "failed", "left over") for r in results):
        raise click.exceptions.Exit(EXIT_FINDINGS)


_limit_option = click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help=f"Most actions in this run (default: enforce.max_actions_per_run, else {DEFAULT_LIMIT}).",
)


@evict.command("unauthorised")
@click.option("--method", type=click.Choice(METHODS), default="auto", show_default=True, help="How to isolate.")
@click.option("--reason", default="unauthorised device found by discovery", show_default=True, help="Why (journalled).")
@click.option("--apply", "do_apply", is_flag=True, help="Act; without it only the plans are shown.")
@_limit_option
@json_option
@pass_app
def unauthorised_cmd(
    app: AppContext, method: str, reason: str, do_apply: bool, limit: int | None, as_json: bool
) -> None:
    """Isolate every unauthorised device the last discovery found.

    Unauthorised: unknown, denied, or in conflict; on a switch port, or, with
    --method auto, seen only by an ARP sweep where there is no managed switch
    (isolated by ARP: enforce.arp_interfaces).

    Guards apply to each device; a refused one is reported and skipped. At
    most --limit actions run; the rest are reported as left over.
    """
    inv = load_inventory(app.inventory_path(None))
    with StateStore.from_config(app.config) as store, recorder(app.config) as (record, failures):
        jobs: list[Job] = []
        for r in current_devices(store.sightings, inv, policy_from_config(app.config, inv)):
            if not r.verdict.status.needs_action:
                continue
            if r.switch is not None and r.port is not None:
                jobs.append(Job(r, method, reason))
            elif method == "auto" and arp_only(inv, r):
                jobs.append(Job(r, ARP_ISOLATE, reason))
        results = act_on_many(app, inv, store, record, jobs, do_apply=do_apply, limit=limit)
    _report_many(results, as_json, "no unauthorised device to act on", failures)


@evict.command("redetain")
@click.option("--apply", "do_apply", is_flag=True, help="Act; without it only the plans are shown.")
@_limit_option
@json_option
@pass_app
def redetain_cmd(app: AppContext, do_apply: bool, limit: int | None, as_json: bool) -> None:
    """Isolate again every isolated device seen on another port.

    Run it after discovery: a device re-cabled while isolated is isolated at
    its new port the same way (NAV's rule), every guard checked.
    """
    inv = load_inventory(app.inventory_path(None))
    with StateStore.from_config(app.config) as store, recorder(app.config) as (record, failures):
        jobs = [Job(e.now, e.method, e.reason) for e in moved_while_isolated(store.isolation, store.sightings, inv)]
        results = act_on_many(app, inv, store, record, jobs, do_apply=do_apply, limit=limit, elsewhere_ok=True)
    _report_many(results, as_json, "no isolated device has moved", failures)
