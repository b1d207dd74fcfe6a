"""The ARP-isolation side of ``netguard evict``: one device, its restore, and ``hold``.

``evict device --method arp-isolate`` (or ``auto`` for a device on a segment
without a managed switch) runs here, on the host that has a leg on the
segment (``enforce.arp_interfaces``); ``restore`` hands ARP entries here;
``hold`` is the long-running refresher (:mod:`netguard.enforce.hold`),
meant to run as a service (examples/netguard-arp-hold.service);
:func:`arp_job` is one device of ``evict unauthorised`` or a re-detain that
only ARP isolation can reach.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import signal
from types import FrameType

import click

from commands.context import AppContext, pass_app
from commands.evict_render import render_outcome
from commands.output import echo, plural, say
from netguard.discovery.current import DeviceRow
from netguard.enforce.arp_isolate import apply_arp_plan, restore_arp, sides_of
from netguard.enforce.arp_link import Link
from netguard.enforce.arp_plan import ArpPlan, Segment, device_address, find_segment, make_arp_plan
from netguard.enforce.guards import ActionLimit, ProtectedTarget
from netguard.enforce.hold import Holder, held_isolations
from netguard.enforce.journalled import Record
from netguard.enforce.plan import NotFound, locate
from netguard.enforce.settings import ENFORCE
from netguard.inventory import Inventory
from netguard.store import StateStore
from netguard.store.journal import JournalEntry
from rules.engine import RuleSet


def refuse_protected(inv: Inventory, what: str) -> None:
    """The argument itself protected (a gateway's IP, the enforcer's MAC): refused even in a dry run."""
    protected = inv.protected_reason(mac=what, ip=what)
    if protected is not None:
        raise ProtectedTarget(f"{what} is protected ({protected}); NetGuard never evicts it")


def where_to_evict(
    app: AppContext, inv: Inventory, store: StateStore, what: str, method: str, policy: RuleSet
) -> Segment | DeviceRow:
    """Where to evict ``what``: the segment to isolate it on by ARP, or the switch port it is located at.

    ``auto`` takes ARP isolation only for a device on no switch port whose
    institution has no managed switch in the inventory. The device found at a
    port is returned so that it is not located (every current device judged) again.
    """
    settings = app.config.section(ENFORCE)
    if method == "arp-isolate":
        return find_segment(store.sightings, inv, settings, what)
    if method != "auto":
        return locate(store.sightings, inv, what, policy)
    try:
        return locate(store.sightings, inv, what, policy)
    except NotFound as not_on_a_port:
        try:
            _mac, ip = device_address(store.sightings, what)
        except NotFound:
            raise not_on_a_port from None
        institution = inv.root.by_ip(ip)
        if institution is None or institution.switches:
            raise not_on_a_port from None
    return find_segment(store.sightings, inv, settings, what)


def arp_device(
    inv: Inventory,
    store: StateStore,
    segment: Segment,
    *,
    reason: str,
    do_apply: bool,
    record: Record,
    policy: RuleSet | None = None,
    limit: ActionLimit | None = None,
    elsewhere_ok: bool = False,
) -> tuple[ArpPlan, JournalEntry | None]:
    """Plan the ARP isolation of the device on ``segment`` and, with ``do_apply``, act on it
    (within ``limit``, one action when not given); the entry is None in a dry run."""
    with Link(segment.interface) as link:
        plan = make_arp_plan(link, segment, inv, store.isolation, policy, elsewhere_ok=elsewhere_ok)
        if not do_apply:
            return plan, None
        entry = apply_arp_plan(
            plan,
            link=link,
            journal=store.journal,
            operator=getpass.getuser(),
            reason=reason,
            limit=limit if limit is not None else ActionLimit(1),
            record=record,
        )
    return plan, entry


def arp_job(
    app: AppContext,
    inv: Inventory,
    store: StateStore,
    device: DeviceRow,
    *,
    reason: str,
    do_apply: bool,
    budget: ActionLimit,
    record: Record,
    policy: RuleSet | None,
    elsewhere_ok: bool,
) -> dict[str, object]:
    """Plan (and with ``do_apply`` act on) one swept device by ARP: a row as ``evict unauthorised`` prints it.

    Refusals, the limit, NotFound and LinkError are raised for the caller to turn into rows.
    """
    segment = find_segment(store.sightings, inv, app.config.section(ENFORCE), device.mac)
    plan, entry = arp_device(
        inv,
        store,
        segment,
        reason=reason,
        do_apply=do_apply,
        record=record,
        policy=policy,
        limit=budget,
        elsewhere_ok=elsewhere_ok,
    )
    row = plan.as_dict()
    if entry is None:
        return {**row, "outcome": "refused" if plan.refusals else "planned"}
    return {**row, "outcome": "applied", "journal_id": entry.id}


def render_arp_plan(plan: ArpPlan, applied: JournalEntry | None) -> None:
    s = plan.sides
    say(f"{s.device_mac} ({s.device_ip}, {plan.verdict.status.value}) on {plan.segment.institution.id}'s segment")
    say(f"  arp-isolate from {s.interface} ({s.enforcer_mac}): gateway {s.gateway_ip} is at {s.gateway_mac}")
    say(f"  the device and the gateway are to see each other at {s.enforcer_mac}")
    render_outcome(plan.refusals, applied, with_outcome=True)


def restore_arp_entry(entry: JournalEntry, store: StateStore, *, reason: str, record: Record) -> JournalEntry:
    with Link(sides_of(entry).interface) as link:
        return restore_arp(
            entry, link=link, journal=store.journal, operator=getpass.getuser(), reason=reason, record=record
        )


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@click.command("hold")
@click.option(
    "--interval",
    type=click.FloatRange(0.2, 60),
    default=None,
    help="Seconds between poison refreshes (default: enforce.arp_refresh_s, else 2).",
)
@pass_app
def hold_cmd(app: AppContext, interval: float | None) -> None:
    """Keep every ARP isolation in force until stopped.

    Re-sends the poison, answers the isolated hosts' ARP requests for each
    other, and picks up new and restored isolations from the state store
    without a restart. SIGTERM or Ctrl-C stops it cleanly. Run it on the
    enforcer, as a service. See docs/evict.md.
    """
    every = interval or app.config.section(ENFORCE).arp_refresh_s

    def log(line: str) -> None:
        echo(f"{_stamp()} {line}", err=True)

    stopping: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    os.set_blocking(write_fd, False)
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    old_wakeup = signal.set_wakeup_fd(write_fd)
    try:
        with StateStore.from_config(app.config) as store:
            holder = Holder(lambda: held_isolations(store.isolation, store.journal), log, interval=every)
            log(f"holding ARP isolations, refreshed every {every:g} s")
            holder.run(stop=lambda: bool(stopping), wakeup_fd=read_fd)
    finally:
        signal.set_wakeup_fd(old_wakeup)
        for s, handler in previous.items():
            signal.signal(s, handler)
        os.close(read_fd)
        os.close(write_fd)
    c = holder.counters
    log(
        f"stopped: {plural(c.reloads, 'reload')}, {plural(c.poisoned, 'poison round')}, "
        f"{plural(c.answered, 'ARP request')} answered, "
        f"{plural(len(c.problems), 'isolation or interface', 'isolations or interfaces')} that could not be held"
    )
