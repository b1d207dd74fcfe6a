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

from commands.context import AppContext, pass_app
from commands.output import echo, json_option, plural, print_json, say
from commands.tables import Column, print_table, wide_option
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
    banned_dict,
    device_dict,
    institution_dict,
    institution_row,
    protected_dict,
)
from netguard.inventory.summary import SummaryRow

TIER_CHOICE = click.Choice([t.value for t in Tier])


@click.group(short_help="The county inventory: institutions and their assets.")
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
        echo(issue)


# -- validate --------------------------------------------------------------------------


@inventory.command(short_help="Check the inventory: every problem with its line.")
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
            nouns = (
                ("institutions", "institution"),
                ("switches", "switch"),
                ("servers", "server"),
                ("devices", "device"),
            )
            what = " ({})".format(", ".join(plural(counts[key], noun, key) for key, noun in nouns))
        verdict = "invalid" if failed else "valid"
        echo(
            f"{path}: {verdict}{what}: {plural(len(report.errors), 'error')}, "
            f"{plural(len(report.warnings), 'warning')} in {elapsed:.2f} s"
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


@inventory.command(name="list", epilog="KIND is one of: " + ", ".join(sorted(INSTITUTION_KINDS)) + ".")
@click.argument("file", required=False)
@click.option("--tier", "tiers", multiple=True, type=TIER_CHOICE, help="Only this tier (repeatable).")
@click.option("--township", "townships", multiple=True, help="Only this township, e.g. 娜姑镇 (repeatable).")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(sorted(INSTITUTION_KINDS)),
    metavar="KIND",
    help="Only this kind of institution (repeatable).",
)
@click.option("--name", help="Only institutions whose name or id contains this text.")
@wide_option
@json_option
@pass_app
def list_(
    app: AppContext,
    file: str | None,
    tiers: tuple[str, ...],
    townships: tuple[str, ...],
    kinds: tuple[str, ...],
    name: str | None,
    wide: bool,
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
    columns = [
        Column("ID", keep=True, priority=9),
        Column("Name", priority=8, min_width=12),
        Column("Tier", keep=True, priority=4),
        Column("Kind", priority=3),
        Column("Township", keep=True, priority=5),
        Column("Gateway", keep=True, priority=7),
        Column("Subnets", priority=6, min_width=18),
        *(Column(c, keep=True, priority=2, justify="right") for c in ("Switches", "Servers", "Devices")),
    ]
    rows: list[list[object]] = [
        [
            i.id, i.name, i.tier.value, i.kind, i.township or "", i.gateway,
            " ".join(str(s.network) for s in i.subnets), len(i.switches), len(i.servers), len(i.devices),
        ]
        for i in view
    ]  # fmt: skip
    print_table(f"{inv.county}: {len(view)} of {plural(len(inv), 'institution')}", columns, rows, wide=wide)


def _suggest(name: str, known: Any) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""


# -- show ------------------------------------------------------------------------------


@inventory.command()
@click.argument("args", nargs=-1, metavar="[FILE] [INSTITUTION_ID]")
@wide_option
@json_option
@pass_app
def show(app: AppContext, args: tuple[str, ...], wide: bool, as_json: bool) -> None:
    """Without an id: summary per tier and per township. With one: that institution in full.

    A single argument is taken as FILE when it ends in .yaml/.yml or is an existing file.
    """
    path, rest = _file_and_rest(app, args, most=1)
    inv = load_inventory(path)
    if rest:
        inst = inv.by_id(rest[0])
        if inst is None:
            raise InventoryError(f"no institution '{rest[0]}' in {path}{_suggest(rest[0], (i.id for i in inv))}")
        _show_institution(inv, inst, as_json, wide)
    else:
        _show_summary(inv, as_json, wide)


def _summary_table(title: str, rows: list[SummaryRow], total: SummaryRow | None = None, *, wide: bool) -> None:
    numbers = ("Institutions", "Subnets", "Addresses", "Switches", "Servers", "Services", "Devices", "Bound IPs")
    columns = [
        Column(title.split(maxsplit=1)[0], keep=True, priority=9),
        *(Column(c, keep=True, priority=8 - n, justify="right") for n, c in enumerate(numbers)),
    ]
    cells: list[list[object]] = [
        [
            row.key, row.institutions, row.subnets, row.addresses, row.switches,
            row.servers, row.services, row.devices, row.devices_with_ip,
        ]
        for row in [*rows, *([total] if total else [])]
    ]  # fmt: skip
    print_table(title, columns, cells, wide=wide)


def _show_summary(inv: Inventory, as_json: bool, wide: bool) -> None:
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
                "banned": [banned_dict(b) for b in inv.banned],
            }
        )
        return
    dc = inv.data_centre_institution()
    say(f"{inv.county} ({inv.file}): data centre {dc.name} ({dc.id}), {plural(len(inv.protected), 'protected asset')}")
    _summary_table("Tier summary", tiers, total, wide=wide)
    _summary_table("Township summary", townships, wide=wide)


def _show_institution(inv: Inventory, inst: Institution, as_json: bool, wide: bool) -> None:
    if as_json:
        data = institution_dict(inst)
        data["children"] = [c.id for c in inv.children(inst.id)]
        print_json(data)
        return
    where = f"{inst.source.file}:{inst.source.line}" if inst.source else ""
    parent = inv.parent_of(inst)
    say(f"{inst.name} ({inst.id}): {inst.tier.value}, {inst.kind}")
    say(
        f"township: {inst.township or '-'}   parent: {f'{parent.name} ({parent.id})' if parent else '-'}   "
        f"gateway: {inst.gateway}   defined at {where}"
    )
    print_table(
        "Subnets",
        [Column("Network", keep=True, priority=9), Column("Gateway", keep=True, priority=8),
         Column("VLAN", keep=True, priority=7), Column("Name", priority=6)],
        [[s.network, s.gateway or "", s.vlan or "", s.name or ""] for s in inst.subnets],
        wide=wide,
    )  # fmt: skip
    if inst.switches:
        print_table(
            "Switches",
            [Column("ID", keep=True, priority=9), Column("Management", keep=True, priority=8),
             Column("Role", keep=True, priority=6), Column("Vendor/model", priority=4),
             Column("SNMP", priority=3), Column("From", keep=True, priority=2),
             Column("Quarantine VLAN", keep=True, priority=5), Column("Uplinks", priority=7)],
            [
                [sw.id, sw.management, sw.role, " ".join(x for x in (sw.vendor, sw.model) if x), sw.snmp.describe(),
                 sw.snmp_from, sw.quarantine_vlan or "", ", ".join(sw.uplinks)]
                for sw in inst.switches
            ],
            wide=wide,
        )  # fmt: skip
    if inst.servers:
        print_table(
            "Servers",
            [Column("ID", keep=True, priority=9), Column("Name", priority=6), Column("Role", keep=True, priority=5),
             Column("Address", keep=True, priority=8), Column("Services", priority=7)],
            [
                [sv.id, sv.name or "", sv.role or "", sv.address,
                 ", ".join(f"{s.name} {s.protocol}/{s.port}" for s in sv.services)]
                for sv in inst.servers
            ],
            wide=wide,
        )  # fmt: skip
    children = inv.children(inst.id)
    if children:
        say(f"{plural(len(children), 'institution')} under it: " + ", ".join(c.id for c in children))
    print_table(
        f"Authorised devices ({len(inst.devices)})",
        [Column("MAC", keep=True, priority=9), Column("IP", keep=True, priority=8), Column("Kind", priority=6),
         Column("Owner", priority=7), Column("Note", priority=4), Column("Vendor (OUI)", priority=5)],
        [[d.mac, d.ip or "", d.kind, d.owner or "", d.note or "", mac_vendor(d.mac) or ""] for d in inst.devices],
        wide=wide,
    )  # fmt: skip


# -- lookup ----------------------------------------------------------------------------


@inventory.command(short_help="What the inventory knows about a MAC or IP.")
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
    ban = None if is_ip else inv.ban(query)
    data = {
        "query": query,
        "institution": institution_row(inst) if inst else None,
        "device": device_dict(device) if device else None,
        "authorised": device is not None,
        "protected": protected,
        "banned": (ban.reason or "banned") if ban else None,
        "vendor": None if is_ip else mac_vendor(query),
    }
    if as_json:
        print_json(data)
    else:
        where = f"{inst.name} ({inst.id}, {inst.tier.value})" if inst else "not in any county subnet"
        echo(f"{query}: {where}")
        if device:
            echo(f"  authorised {device.kind}: {device.mac} {device.ip or ''} owner {device.owner or '-'}")
        else:
            echo("  not an authorised device")
        if data["vendor"]:
            echo(f"  vendor: {data['vendor']}")
        if protected:
            echo(f"  protected: {protected}")
        if ban:
            echo(f"  banned: {ban.reason or 'listed in banned'}")
    if device is None and inst is None:
        raise click.exceptions.Exit(EXIT_FINDINGS)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# -- import ----------------------------------------------------------------------------


@inventory.command(name="import", short_help="Merge authorised devices from a spreadsheet CSV.")
@click.argument("csv_file", metavar="CSV")
@click.option("--into", "into", help="Inventory YAML to merge into (default: the configured inventory).")
@click.option("--output", "-o", "output", type=click.Path(dir_okay=False), help="Write the merged inventory here.")
@click.option("--in-place", is_flag=True, help="Overwrite the --into file with the merged inventory.")
@wide_option
@json_option
@pass_app
def import_(
    app: AppContext, csv_file: str, into: str | None, output: str | None, in_place: bool, wide: bool, as_json: bool
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
        _render_import(result, written, wide)
    if not result.ok:
        raise click.exceptions.Exit(EXIT_FINDINGS)


def _render_import(result: ImportResult, written: str | None, wide: bool) -> None:
    if not result.ok:
        echo(f"{result.csv_file}: {plural(len(result.report.errors), 'error')}: nothing written")
        return
    if result.added:
        print_table(
            f"Devices to add to {result.into}",
            [Column("CSV line", keep=True, priority=9, justify="right"), Column("Institution", keep=True, priority=8),
             Column("MAC", keep=True, priority=7), Column("IP", keep=True, priority=6),
             Column("Kind", priority=4), Column("Owner", priority=5), Column("Note", priority=3)],
            [[d.origin.line, d.institution, d.mac, d.ip or "", d.kind, d.owner or "", d.note or ""]
             for d in result.added],
            wide=wide,
        )  # fmt: skip
    tail = f"wrote {written}" if written else "dry run: nothing written (use --output FILE or --in-place)"
    echo(f"{plural(result.rows, 'row')}: {len(result.added)} to add, {len(result.unchanged)} already present; {tail}")
