"""``netguard discover run | list | unauthorised``: the inventory's devices, found and judged.

``run`` walks every managed switch of the selection and ARP-sweeps the
institutions without one (a progress bar on a terminal), reconciles into the
state store, writes ``device`` events and prints what changed and which
switches or sweeps failed. Then it looks for isolated devices seen on a port
where they are not isolated, or swept where no managed switch is (NAV's
re-detain; the swept ones are isolated by ARP): with ``--apply`` each is
isolated there too through ``evict``'s own code (guards, journal, an
``enforcement`` event per step); without it each is reported, and written as
a dry-run ``enforcement`` event, and nothing is touched. ``list`` is the table
of the devices present now; ``unauthorised`` only those that need action.
Every verdict uses the device policy (``discovery.device_rules`` after the
built-in pack). Every cell is data, shown literally (``commands.tables``);
``--json`` prints the same rows as objects. Exit codes: ``run`` 1 when a
switch failed or was read only in part, a sweep failed or was cut short, an
event could not be stored, or a re-detain was refused, failed or left over by
the limit; ``unauthorised`` 1 when any device needs action; 2 for usage
errors (unknown institution, nothing to discover).
"""

from __future__ import annotations

import datetime as dt
import getpass
from contextlib import closing

import click

from commands.context import AppContext, pass_app
from commands.discover_sweep import render_sweeps, sweep_dict
from commands.evict import Job, act_on_many, event_recorder, where_of
from commands.output import echo, json_option, plural, print_json, progress, say
from commands.scope import Scope, scope_options
from commands.tables import Column, print_table, wide_option
from netguard.discovery.changes import DeviceChange
from netguard.discovery.current import DeviceRow, current_devices
from netguard.discovery.policy import policy_from_config
from netguard.discovery.run import DiscoveryRun, SwitchOutcome, device_events, discover
from netguard.discovery.settings import DISCOVERY
from netguard.discovery.sweep_run import plan_sweeps, sweep_and_reconcile, sweep_events
from netguard.enforce.redetain import moved_while_isolated
from netguard.errors import EXIT_FINDINGS, InventoryError
from netguard.events import Event, EventStore, make_event, open_event_store
from netguard.inventory import Inventory, load_inventory
from netguard.runner import Progress
from netguard.store import StateStore

_inventory_option = click.option(
    "--inventory", "inventory_file", type=click.Path(dir_okay=False), help="Inventory (default: configured)."
)


def _load(app: AppContext, inventory_file: str | None) -> Inventory:
    return load_inventory(app.inventory_path(inventory_file))


@click.command("run")
@_inventory_option
@scope_options
@click.option("--timeout", type=click.FloatRange(min=0.1), default=2.0, show_default=True, help="Seconds per request.")
@click.option("--retries", type=click.IntRange(min=0), default=1, show_default=True, help="Retries per request.")
@click.option("--seen-events", is_flag=True, help="Also write a 'seen' event for every device seen again.")
@click.option(
    "--apply",
    "do_apply",
    is_flag=True,
    help="Re-detain isolated devices found on a new port; without it, only say what would be done.",
)
@json_option
@pass_app
def run_cmd(
    app: AppContext,
    inventory_file: str | None,
    scope: Scope,
    timeout: float,
    retries: int,
    seen_events: bool,
    do_apply: bool,
    as_json: bool,
) -> None:
    """Walk the switches, ARP-sweep the rest, record the devices.

    Institutions without a managed switch are ARP-swept from the interface
    the discovery section of netguard.yaml names for them. Sightings go to
    the state store, new, moved, conflicting and gone devices become 'device'
    events. An isolated device now seen on another port is isolated there
    too with --apply (reported only, without). Exit 1 when a switch or a
    sweep failed or a re-detain could not be done.

    \b
    Examples:
      netguard discover run --township 娜姑镇
      netguard discover run --tier village --json
      netguard discover run --apply
    """
    inv = _load(app, inventory_file)
    switches = list(inv.switches(scope.filter(inv)))
    settings = app.config.section(DISCOVERY)
    plan = plan_sweeps(scope.apply(inv), settings)
    if not switches and not plan.jobs:
        raise InventoryError(
            f"nothing to discover in {scope.describe()} ({inv.file}): no managed switch, and no sweep interface"
            " configured for the institutions without one (discovery.sweep_interface in netguard.yaml)"
        )
    policy = policy_from_config(app.config, inv)
    resolver = app.config.resolver()
    now = dt.datetime.now(dt.UTC)
    # One state store and one event store for the whole run (collection, events, re-detain), each opened once;
    # the event store only after the collection, as before, so a run still reconciles when it cannot open.
    with StateStore.from_config(app.config) as store:
        with progress("walking switches, sweeping", len(switches) + len(plan.jobs)) as advance:
            result = (
                discover(
                    inv,
                    switches,
                    resolver,
                    store.sightings,
                    timeout=timeout,
                    retries=retries,
                    seen_events=seen_events,
                    processors=[Progress(advance)],
                    policy=policy,
                )
                if switches
                else DiscoveryRun((), (), 0, 0.0)
            )
            swept = sweep_and_reconcile(
                inv,
                plan,
                settings.sweep,
                store.sightings,
                seen_events=seen_events,
                policy=policy,
                on_done=lambda _o: advance(1),
            )
        with closing(open_event_store(app.config)) as events:
            written = events.write(device_events(inv, result.changes, now) + sweep_events(inv, swept, now))
            redetained, failures = _redetain(app, inv, store, events, do_apply)
    if as_json:
        print_json({**_run_dict(result, written.failed), **sweep_dict(swept), "redetain": redetained})
    else:
        if switches:
            _render_run(result)
        render_sweeps(swept)
        _render_redetain(redetained, do_apply)
    if written.failed:
        first = written.errors[0] if written.errors else "unknown reason"
        echo(f"warning: {plural(written.failed, 'device event')} could not be stored (first: {first})", err=True)
    if failures:
        echo(
            f"warning: {plural(len(failures), 'enforcement event')} could not be stored (first: {failures[0]})",
            err=True,
        )
    stuck = [r for r in redetained if r["outcome"] in _NOT_DONE]
    if result.failed or swept.failed or written.failed or failures or stuck:
        raise click.exceptions.Exit(EXIT_FINDINGS)


_NOT_DONE = ("refused", "failed", "left over")


def _redetain(
    app: AppContext, inv: Inventory, store: StateStore, events: EventStore, do_apply: bool
) -> tuple[list[dict[str, object]], list[str]]:
    """Isolated devices seen at a new place: re-detained with ``do_apply`` (evict's code), else only planned.

    A dry run changes nothing on any switch and writes no journal entry; each
    device it would act on is an ``enforcement`` event with
    ``netguard.enforce.dry_run`` true. Returns the rows (as ``evict redetain``
    prints them) and the events that could not be stored.
    """
    escapes = moved_while_isolated(store.isolation, store.sightings, inv)
    if not escapes:
        return [], []
    jobs = [Job(e.now, e.method, e.reason) for e in escapes]
    record, failures = event_recorder(events)
    rows = act_on_many(app, inv, store, record, jobs, do_apply=do_apply, limit=None, elsewhere_ok=True)
    if not do_apply:
        failures += _write(events, [_dry_run_event(job, row) for job, row in zip(jobs, rows, strict=True)])
    return rows, failures


def _dry_run_event(job: Job, row: dict[str, object]) -> Event:
    d = job.device
    method = str(row.get("method") or job.method)
    what = where_of(row)
    outcome = row["outcome"]
    message = (
        f"dry run: would {method} {what} (re-detain; run discover run --apply)"
        if outcome == "planned"
        else f"dry run: re-detaining {what} would be {outcome}: {row.get('error') or row.get('refusals')}"
    )
    fields: dict[str, object] = {
        "event.action": method,
        "event.outcome": "unknown",
        "user.name": getpass.getuser(),
        "organization.id": d.institution,
        "host.mac": d.mac,
        "host.ip": d.ips[0] if d.ips else None,
        "observer.name": d.switch,
        "observer.ingress.interface.name": d.port,
        "network.vlan.id": str(d.vlan) if d.vlan is not None else None,
        "netguard.enforce.reason": job.reason,
        "netguard.enforce.dry_run": True,
        "message": message,
    }
    return make_event("enforcement", fields)


def _write(events: EventStore, batch: list[Event]) -> list[str]:
    written = events.write(batch)
    return list(written.errors[: written.failed]) or ["unknown reason"] * written.failed


def _render_redetain(rows: list[dict[str, object]], do_apply: bool) -> None:
    if not rows:
        return
    verb = "re-detained" if do_apply else "to re-detain (dry run: --apply to act)"
    say(f"{plural(len(rows), 'isolated device')} seen at a new place, {verb}:")
    for r in rows:
        detail = r.get("error") or (
            f"journal entry {r['journal_id']}" if r["outcome"] == "applied" else r.get("method")
        )
        echo(f"  {r['outcome']}: {where_of(r)}: {detail}")


def _switch_dict(o: SwitchOutcome) -> dict[str, object]:
    r = o.report
    return {
        "id": o.switch.id,
        "institution": o.switch.institution,
        "complete": o.complete,
        "reason": o.reason,
        "fdb": len(r.fdb) if r else 0,
        "arp": len(r.arp) if r else 0,
        "uplinks": len(r.uplinks) if r else 0,
        "seconds": round(r.seconds, 3) if r else 0.0,
    }


def _change_dict(c: DeviceChange) -> dict[str, object]:
    r = c.record
    return {
        "action": c.action,
        "mac": r.mac,
        "ips": list(c.ips),
        "institution": r.institution_id,
        "switch": r.switch,
        "port": r.port,
        "vlan": r.vlan,
        "previous_port": f"{c.previous.switch} {c.previous.port}" if c.previous else None,
        "previous_switch": c.previous.switch if c.previous else None,
        "status": c.verdict.status.value,
        "reason": c.verdict.reason,
        "rule": c.verdict.rule_id,
        "rules": list(c.verdict.matched),
    }


def _run_dict(result: DiscoveryRun, failed_events: int) -> dict[str, object]:
    counts: dict[str, int] = {}
    for c in result.changes:
        counts[c.action] = counts.get(c.action, 0) + 1
    return {
        "switches": [_switch_dict(o) for o in result.switches],
        "failed": [o.switch.id for o in result.failed],
        "sightings": result.sightings,
        "changes": [_change_dict(c) for c in result.changes],
        "counts": counts,
        "events_failed": failed_events,
        "seconds": round(result.seconds, 3),
    }


def _render_run(result: DiscoveryRun) -> None:
    walked = len(result.switches) - len(result.failed)
    say(
        f"{plural(len(result.switches), 'switch', 'switches')}: {walked} read completely, "
        f"{len(result.failed)} failed or partial; {plural(result.sightings, 'sighting')} in {result.seconds:.1f} s"
    )
    if result.changes:
        rows: list[list[object]] = [
            [c.action, c.record.mac, ", ".join(c.ips), c.record.switch, c.record.port, c.verdict.status.value]
            for c in result.changes
        ]
        columns = [
            Column("change", keep=True, priority=9),
            Column("MAC", keep=True, priority=9),
            Column("IP", keep=True, priority=7),
            Column("switch", priority=5),
            Column("port", priority=5, min_width=4),
            Column("status", keep=True, priority=8),
        ]
        print_table("device changes", columns, rows)
    else:
        say("no device changes")
    if result.failed:
        print_table(
            "failed switches",
            [Column("switch", keep=True, priority=9), Column("reason", priority=8, min_width=20)],
            [[o.switch.id, o.reason] for o in result.failed],
            wide=True,  # a reason is only useful whole: wrapped, never cut
        )


_DEVICE_COLUMNS = [
    Column("MAC", keep=True, priority=9),
    Column("IP", keep=True, priority=7),
    Column("vendor", priority=3),
    Column("institution", priority=6),
    Column("switch", priority=4),
    Column("port", priority=5, min_width=4),
    Column("VLAN", priority=2, min_width=4, justify="right"),
    Column("first seen", keep=True, priority=0),
    Column("last seen", keep=True, priority=1),
    Column("how", priority=1),
    Column("status", keep=True, priority=8),
]


def _when(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")


def _device_row(d: DeviceRow) -> list[object]:
    return [
        d.mac,
        ", ".join(d.ips),
        d.vendor,
        d.institution,
        d.switch,
        d.port,
        d.vlan,
        _when(d.first_seen),
        _when(d.last_seen),
        ",".join(d.how),
        d.verdict.status.value,
    ]


def _devices(app: AppContext, inventory_file: str | None) -> list[DeviceRow]:
    inv = _load(app, inventory_file)
    policy = policy_from_config(app.config, inv)
    with StateStore.from_config(app.config) as store:
        return current_devices(store.sightings, inv, policy)


@click.command("list")
@_inventory_option
@json_option
@wide_option
@pass_app
def list_cmd(app: AppContext, inventory_file: str | None, as_json: bool, wide: bool) -> None:
    """The devices present now, from the last discovery runs.

    MAC, IPs, vendor, where, first and last seen, how seen, and status:
    authorised, infrastructure (a switch), unknown, denied or conflict
    (--json also names the device rule that decided).
    """
    rows = _devices(app, inventory_file)
    if as_json:
        print_json([d.as_dict() for d in rows])
        return
    print_table(f"devices present ({len(rows)}; times UTC)", _DEVICE_COLUMNS, [_device_row(d) for d in rows], wide=wide)


@click.command("unauthorised")
@_inventory_option
@json_option
@wide_option
@pass_app
def unauthorised_cmd(app: AppContext, inventory_file: str | None, as_json: bool, wide: bool) -> None:
    """The devices that need action: unknown, denied, in conflict.

    Exit 1 when there is any.
    """
    rows = [d for d in _devices(app, inventory_file) if d.verdict.status.needs_action]
    if as_json:
        print_json([d.as_dict() for d in rows])
    elif rows:
        columns = [
            Column("MAC", keep=True, priority=9),
            Column("IP", keep=True, priority=7),
            Column("institution", priority=6),
            Column("switch", priority=4),
            Column("port", priority=5, min_width=4),
            Column("status", keep=True, priority=8),
            Column("why", priority=3, min_width=12),
        ]
        data: list[list[object]] = [
            [d.mac, ", ".join(d.ips), d.institution, d.switch, d.port, d.verdict.status.value, d.verdict.reason]
            for d in rows
        ]
        print_table(f"devices that need action ({len(rows)})", columns, data, wide=wide)
    else:
        say("no unauthorised devices")
    if rows:
        raise click.exceptions.Exit(EXIT_FINDINGS)


device_commands = (run_cmd, list_cmd, unauthorised_cmd)
