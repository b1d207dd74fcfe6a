"""`netguard inventory`: validate, list, show, look up and import into the county inventory.

Parse, call :mod:`netguard.inventory`, render: tables for people, ``--json``
for scripts (one JSON document per run). FILE defaults to the configured
inventory. Exit codes: 0 fine, 1 the inventory or the import has errors (or a
lookup found nothing), 2 usage (missing file, not YAML, unknown id).

Secrets: nothing here resolves a reference, so no secret value can be printed;
tables and JSON show references such as ``secret:snmp-county-ro``.
"""

from __future__ import annotations

import difflib
import ipaddress
import time
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from commands.context import AppContext, pass_app
from commands.output import console, json_option, print_json
from netguard.addresses import normalize_mac
from netguard.errors import EXIT_FINDINGS, InventoryError
from netguard.inventory import (
    INSTITUTION_KINDS,
    F,
    Filter,
    Institution,
    Inventory,
    Tier,
    by_tier,
    by_township,
    check_inventory,
    import_csv,
    load_inventory,
    mac_vendor,
    totals,
)
from netguard.inventory.csvimport import ImportResult
from netguard.inventory.issues import Issue
from netguard.inventory.merge import write_atomic
from netguard.inventory.serialize import (
    device_dict,
    institution_dict,
    institution_row,
    protected_dict,
)
from netguard.inventory.summary import SummaryRow

TIER_CHOICE = click.Choice([t.value for t in Tier])


@click.group()
def inventory() -> None:
    """The county inventory: institutions, subnets, switches, servers, authorised devices."""


def _looks_like_file(arg: str) -> bool:
    return arg.endswith((".yaml", ".yml")) or Path(arg).is_file()


def _file_and_rest(app: AppContext, args: tuple[str, ...], most: int) -> tuple[Path, list[str]]:
    """Split optional leading FILE from the other positional arguments."""
    rest = list(args)
    if len(rest) > most + 1:
        raise click.UsageError(f"too many arguments: {' '.join(rest)}")
    explicit = rest.pop(0) if rest and (len(rest) > most or _looks_like_file(rest[0])) else None
    return app.inventory_path(explicit), rest


def _print_issues(issues: list[Issue]) -> None:
    for issue in issues:
        click.echo(str(issue))


# -- validate --------------------------------------------------------------------------


@inventory.command()
@click.argument("file", required=False)
@click.option("--strict", is_flag=True, help="Treat warnings (such as plain: secrets) as errors.")
@json_option
@pass_app
def validate(app: AppContext, file: str | None, strict: bool, as_json: bool) -> None:
    """Check FILE (default: the configured inventory) and report every problem with its line.

    Exit 0 when there is no error (warnings allowed unless --strict), 1 otherwise.
    """
    path = app.inventory_path(file)
    started = time.perf_counter()
    checked = check_inventory(path)
    elapsed = time.perf_counter() - started
    report = checked.report
    failed = bool(report.errors or (strict and report.warnings))
    inv = checked.inventory
    counts = totals(inv).to_dict() if inv is not None else None
    if as_json:
        print_json({"file": str(path), **report.to_dict(), "ok": not failed, "counts": counts, "seconds": elapsed})
    else:
        _print_issues(report.errors + report.warnings)
        what = ""
        if counts:
            what = (
                f" ({counts['institutions']} institutions, {counts['switches']} switches, "
                f"{counts['servers']} servers, {counts['devices']} devices)"
            )
        verdict = "invalid" if failed else "valid"
        click.echo(
            f"{path}: {verdict}{what}: {len(report.errors)} errors, {len(report.warnings)} warnings in {elapsed:.2f} s"
        )
    if failed:
        raise click.exceptions.Exit(EXIT_FINDINGS)


# -- list ------------------------------------------------------------------------------


def _filter(
    tiers: tuple[str, ...], townships: tuple[str, ...], kinds: tuple[str, ...], name: str | None
) -> Filter | None:
    """Options of one kind are alternatives (OR), kinds of options all apply (AND)."""
    conditions: list[Filter] = []
    if tiers:
        conditions.append(F(tier__in={Tier(t) for t in tiers}))
    if townships:
        conditions.append(F(township__in=set(townships)))
    if kinds:
        conditions.append(F(kind__in=set(kinds)))
    if name:
        conditions.append(F(name__contains=name) | F(id__contains=name))
    if not conditions:
        return None
    combined = conditions[0]
    for extra in conditions[1:]:
        combined = combined & extra
    return combined


@inventory.command(name="list")
@click.argument("file", required=False)
@click.option("--tier", "tiers", multiple=True, type=TIER_CHOICE, help="Only this tier (repeatable).")
@click.option("--township", "townships", multiple=True, help="Only this township, e.g. 娜姑镇 (repeatable).")
@click.option(
    "--kind", "kinds", multiple=True, type=click.Choice(sorted(INSTITUTION_KINDS)), help="Only this kind (repeatable)."
)
@click.option("--name", help="Only institutions whose name or id contains this text.")
@json_option
@pass_app
def list_(
    app: AppContext,
    file: str | None,
    tiers: tuple[str, ...],
    townships: tuple[str, ...],
    kinds: tuple[str, ...],
    name: str | None,
    as_json: bool,
) -> None:
    """List institutions, filtered; --json prints one array."""
    inv = load_inventory(app.inventory_path(file))
    for township in townships:
        if township not in inv.townships():
            raise InventoryError(f"no township '{township}' in {inv.file}{_suggest(township, inv.townships())}")
    view = inv.filter(_filter(tiers, townships, kinds, name))
    if as_json:
        print_json([institution_row(i) for i in view])
        return
    table = Table(title=f"{inv.county}: {len(view)} of {len(inv)} institutions")
    for col in ("ID", "Name", "Tier", "Kind", "Township", "Gateway", "Subnets", "Switches", "Servers", "Devices"):
        table.add_column(col, justify="right" if col in ("Switches", "Servers", "Devices") else "left")
    for i in view:
        table.add_row(
            i.id, i.name, i.tier.value, i.kind, i.township or "", str(i.gateway),
            " ".join(str(s.network) for s in i.subnets),
            str(len(i.switches)), str(len(i.servers)), str(len(i.devices)),
        )  # fmt: skip
    console().print(table)


def _suggest(name: str, known: Any) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""


# -- show ------------------------------------------------------------------------------


@inventory.command()
@click.argument("args", nargs=-1, metavar="[FILE] [INSTITUTION_ID]")
@json_option
@pass_app
def show(app: AppContext, args: tuple[str, ...], as_json: bool) -> None:
    """Without an id: summary per tier and per township. With one: that institution in full.

    A single argument is taken as FILE when it ends in .yaml/.yml or is an existing file.
    """
    path, rest = _file_and_rest(app, args, most=1)
    inv = load_inventory(path)
    if rest:
        inst = inv.by_id(rest[0])
        if inst is None:
            raise InventoryError(f"no institution '{rest[0]}' in {path}{_suggest(rest[0], (i.id for i in inv))}")
        _show_institution(inv, inst, as_json)
    else:
        _show_summary(inv, as_json)


def _summary_table(title: str, rows: list[SummaryRow], total: SummaryRow | None = None) -> Table:
    table = Table(title=title)
    table.add_column(title.split(maxsplit=1)[0])
    for col in ("Institutions", "Subnets", "Addresses", "Switches", "Servers", "Services", "Devices", "Bound IPs"):
        table.add_column(col, justify="right")
    for row in [*rows, *([total] if total else [])]:
        table.add_row(
            row.key, str(row.institutions), str(row.subnets), str(row.addresses), str(row.switches),
            str(row.servers), str(row.services), str(row.devices), str(row.devices_with_ip),
        )  # fmt: skip
    return table


def _show_summary(inv: Inventory, as_json: bool) -> None:
    tiers, townships, total = by_tier(inv), by_township(inv), totals(inv)
    if as_json:
        print_json(
            {
                "county": inv.county,
                "file": str(inv.file) if inv.file else None,
                "data_centre": inv.data_centre,
                "totals": total.to_dict(),
                "tiers": [r.to_dict() for r in tiers],
                "townships": [r.to_dict() for r in townships],
                "protected": [protected_dict(p) for p in inv.protected],
            }
        )
        return
    out = console()
    dc = inv.data_centre_institution()
    out.print(f"{inv.county} ({inv.file}): data centre {dc.name} ({dc.id}), {len(inv.protected)} protected assets")
    out.print(_summary_table("Tier summary", tiers, total))
    out.print(_summary_table("Township summary", townships))


def _show_institution(inv: Inventory, inst: Institution, as_json: bool) -> None:
    if as_json:
        data = institution_dict(inst)
        data["children"] = [c.id for c in inv.children(inst.id)]
        print_json(data)
        return
    out = console()
    where = f"{inst.source.file}:{inst.source.line}" if inst.source else ""
    parent = inv.parent_of(inst)
    out.print(f"{inst.name} ({inst.id}): {inst.tier.value}, {inst.kind}")
    out.print(
        f"township: {inst.township or '-'}   parent: {f'{parent.name} ({parent.id})' if parent else '-'}   "
        f"gateway: {inst.gateway}   defined at {where}"
    )
    subnets = Table(title="Subnets")
    for col in ("Network", "Gateway", "VLAN", "Name"):
        subnets.add_column(col)
    for s in inst.subnets:
        subnets.add_row(str(s.network), str(s.gateway or ""), str(s.vlan or ""), s.name or "")
    out.print(subnets)
    if inst.switches:
        table = Table(title="Switches")
        for col in ("ID", "Management", "Role", "Vendor/model", "SNMP", "From", "Quarantine VLAN", "Uplinks"):
            table.add_column(col)
        for sw in inst.switches:
            model = " ".join(x for x in (sw.vendor, sw.model) if x)
            vlan = str(sw.quarantine_vlan or "")
            table.add_row(sw.id, str(sw.management), sw.role, model, sw.snmp.describe(), sw.snmp_from, vlan,
                          ", ".join(sw.uplinks))  # fmt: skip
        out.print(table)
    if inst.servers:
        table = Table(title="Servers")
        for col in ("ID", "Name", "Role", "Address", "Services"):
            table.add_column(col)
        for sv in inst.servers:
            services = ", ".join(f"{s.name} {s.protocol}/{s.port}" for s in sv.services)
            table.add_row(sv.id, sv.name or "", sv.role or "", str(sv.address), services)
        out.print(table)
    children = inv.children(inst.id)
    if children:
        out.print(f"{len(children)} institutions under it: " + ", ".join(c.id for c in children))
    table = Table(title=f"Authorised devices ({len(inst.devices)})")
    for col in ("MAC", "IP", "Kind", "Owner", "Note", "Vendor (OUI)"):
        table.add_column(col)
    for d in inst.devices:
        table.add_row(d.mac, str(d.ip or ""), d.kind, d.owner or "", d.note or "", mac_vendor(d.mac) or "")
    out.print(table)


# -- lookup ----------------------------------------------------------------------------


@inventory.command()
@click.argument("args", nargs=-1, required=True, metavar="[FILE] MAC_OR_IP")
@json_option
@pass_app
def lookup(app: AppContext, args: tuple[str, ...], as_json: bool) -> None:
    """What the inventory knows about a MAC or IP: institution, authorised device, protection.

    Exit 0 when the address is known (an authorised device, or an IP in a county subnet), 1 if not.
    """
    path, rest = _file_and_rest(app, args, most=1)
    if not rest:
        raise click.UsageError("give a MAC or an IP address")
    inv = load_inventory(path)
    query = rest[0].strip()
    is_ip = _is_ip(query)
    if not is_ip:
        try:
            normalize_mac(query)
        except ValueError:
            raise InventoryError(f"'{query}' is neither a MAC nor an IP address") from None
    device = inv.device_by_ip(query) if is_ip else inv.by_mac(query)
    inst = inv.by_id(device.institution) if device else inv.by_ip(query) if is_ip else None
    protected = inv.protected_reason(ip=query) if is_ip else inv.protected_reason(mac=query)
    data = {
        "query": query,
        "institution": institution_row(inst) if inst else None,
        "device": device_dict(device) if device else None,
        "authorised": device is not None,
        "protected": protected,
        "vendor": None if is_ip else mac_vendor(query),
    }
    if as_json:
        print_json(data)
    else:
        where = f"{inst.name} ({inst.id}, {inst.tier.value})" if inst else "not in any county subnet"
        click.echo(f"{query}: {where}")
        if device:
            click.echo(f"  authorised {device.kind}: {device.mac} {device.ip or ''} owner {device.owner or '-'}")
        else:
            click.echo("  not an authorised device")
        if data["vendor"]:
            click.echo(f"  vendor: {data['vendor']}")
        if protected:
            click.echo(f"  protected: {protected}")
    if device is None and inst is None:
        raise click.exceptions.Exit(EXIT_FINDINGS)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# -- import ----------------------------------------------------------------------------


@inventory.command(name="import")
@click.argument("csv_file", metavar="CSV")
@click.option("--into", "into", help="Inventory YAML to merge into (default: the configured inventory).")
@click.option("--output", "-o", "output", type=click.Path(dir_okay=False), help="Write the merged inventory here.")
@click.option("--in-place", is_flag=True, help="Overwrite the --into file with the merged inventory.")
@json_option
@pass_app
def import_(
    app: AppContext, csv_file: str, into: str | None, output: str | None, in_place: bool, as_json: bool
) -> None:
    """Merge authorised devices from a spreadsheet CSV into the inventory.

    A dry run unless --output or --in-place is given. The merged inventory is
    validated first; on any error nothing is written and the exit code is 1.
    """
    if output and in_place:
        raise click.UsageError("--output and --in-place exclude each other")
    target = app.inventory_path(into)
    result = import_csv(csv_file, target)
    destination = target if in_place else Path(output) if output else None
    written = None
    if result.ok and destination is not None:
        assert result.text is not None  # a clean result always carries the text to write
        try:
            write_atomic(destination, result.text)
        except OSError as exc:
            raise InventoryError(f"cannot write {destination}: {exc.strerror or exc}") from None
        written = str(destination)
    if as_json:
        print_json(
            {
                "csv": result.csv_file,
                "into": result.into,
                "encoding": result.encoding,
                "rows": result.rows,
                "added": [dict(d.entry(), institution=d.institution, line=d.origin.line) for d in result.added],
                "unchanged": len(result.unchanged),
                **result.report.to_dict(),
                "written": written,
                "dry_run": destination is None,
            }
        )
    else:
        _print_issues(result.report.errors + result.report.warnings)
        _render_import(result, written)
    if not result.ok:
        raise click.exceptions.Exit(EXIT_FINDINGS)


def _render_import(result: ImportResult, written: str | None) -> None:
    if not result.ok:
        click.echo(f"{result.csv_file}: {len(result.report.errors)} errors: nothing written")
        return
    if result.added:
        table = Table(title=f"Devices to add to {result.into}")
        for col in ("CSV line", "Institution", "MAC", "IP", "Kind", "Owner", "Note"):
            table.add_column(col)
        for d in result.added:
            table.add_row(str(d.origin.line), d.institution, d.mac, d.ip or "", d.kind, d.owner or "", d.note or "")
        console().print(table)
    tail = f"wrote {written}" if written else "dry run: nothing written (use --output FILE or --in-place)"
    click.echo(f"{result.rows} rows: {len(result.added)} to add, {len(result.unchanged)} already present; {tail}")
