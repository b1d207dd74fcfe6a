"""`netguard discover`: find what is on the network, over SNMP.

``netguard discover switch HOST[:PORT]`` walks one switch (v2c with
``--community REF``, v3 with ``--user`` and the key options) and prints its
interfaces, forwarding table, ARP table, LLDP neighbours and uplinks: a rich
summary for people, one JSON document with ``--json``. Communities and keys
are secret references, resolved here and never printed.

Exit codes: 0 the whole switch was read; 1 it answered only in part (a table
failed or stopped early) or not at all, the document saying why; 2 usage
(bad address, a reference that does not resolve).

``netguard discover run`` walks every managed switch of the inventory (or of
``--institution/--township/--tier``) and ARP-sweeps the institutions without
one, reconciles the sightings into the state store and writes ``device``
events (:mod:`netguard.discovery.run`, :mod:`netguard.discovery.sweep_run`);
exit 1 when a switch or a sweep failed or was cut short, each listed with its
reason. ``discover sweep`` ARP-sweeps one network from one interface and
stores nothing (:mod:`commands.discover_sweep`). ``discover list`` shows the
devices present now with their verdicts, ``discover unauthorised`` only those
that need action (exit 1 when any do).
"""

from __future__ import annotations

import asyncio
from typing import Any

import click
from rich.console import Group
from rich.table import Table
from rich.text import Text

from commands.context import AppContext, pass_app
from commands.discover_devices import device_commands
from commands.discover_sweep import sweep_cmd
from commands.output import console, json_option, print_json, safe, status
from netguard.discovery import SwitchReport, walk_switch
from netguard.errors import EXIT_FINDINGS
from netguard.inventory.model import SNMP_AUTH_PROTOCOLS, SNMP_PRIV_PROTOCOLS
from netguard.secrets import SecretResolver, parse_ref
from netguard.snmp import SnmpTarget, TargetError, split_host_port


@click.group()
def discover() -> None:
    """Find devices on the network.

    Reads switches' tables over SNMP (one switch, or every managed switch of
    the inventory into the state store) and ARP-sweeps segments without one.
    """


for _command in (*device_commands, sweep_cmd):
    discover.add_command(_command)


@discover.command("switch")
@click.argument("address", metavar="HOST[:PORT]")
@click.option(
    "--community",
    "community_ref",
    metavar="REF",
    help="SNMPv2c community: env:NAME, secret:NAME, file:PATH, plain:VALUE.",
)
@click.option("--user", help="SNMPv3 user (switches to v3).")
@click.option(
    "--auth-proto", type=click.Choice(SNMP_AUTH_PROTOCOLS, case_sensitive=False), help="SNMPv3 authentication protocol."
)
@click.option("--auth-key", "auth_key_ref", metavar="REF", help="SNMPv3 authentication key, as a secret reference.")
@click.option(
    "--priv-proto", type=click.Choice(SNMP_PRIV_PROTOCOLS, case_sensitive=False), help="SNMPv3 privacy protocol."
)
@click.option("--priv-key", "priv_key_ref", metavar="REF", help="SNMPv3 privacy key, as a secret reference.")
@click.option("--context", default="", help="SNMPv3 context name.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=2.0, show_default=True, help="Seconds per request.")
@click.option("--retries", type=click.IntRange(min=0), default=1, show_default=True, help="Retries per request.")
@click.option(
    "--uplink",
    "uplinks",
    multiple=True,
    metavar="PORT",
    help="A port known to be an uplink (ifName, ifDescr or ifIndex); repeatable.",
)
@json_option
@pass_app
def switch_cmd(
    app: AppContext,
    address: str,
    community_ref: str | None,
    user: str | None,
    auth_proto: str | None,
    auth_key_ref: str | None,
    priv_proto: str | None,
    priv_key_ref: str | None,
    context: str,
    timeout: float,
    retries: int,
    uplinks: tuple[str, ...],
    as_json: bool,
) -> None:
    """Walk one switch over SNMP.

    System group, interfaces, forwarding table, ARP, LLDP and uplinks.
    """
    if (community_ref is None) == (user is None):
        raise click.UsageError("give either --community REF (SNMPv2c) or --user NAME (SNMPv3)")
    if user is None and (auth_proto or auth_key_ref or priv_proto or priv_key_ref or context):
        raise click.UsageError("--auth-*, --priv-* and --context are SNMPv3 options: they need --user")
    try:
        host, port = split_host_port(address)
    except TargetError as exc:
        raise click.BadParameter(str(exc), param_hint="HOST[:PORT]") from None
    refs = {
        name: parse_ref(ref)
        for name, ref in (("community", community_ref), ("auth", auth_key_ref), ("priv", priv_key_ref))
        if ref
    }
    # Only a secret:NAME reference needs the configuration (for its secrets file).
    resolver = app.config.resolver() if any(r.scheme == "secret" for r in refs.values()) else SecretResolver()
    secrets = {name: resolver.resolve(ref) for name, ref in refs.items()}
    target = SnmpTarget(
        host,
        port,
        version="3" if user else "2c",
        community=secrets.get("community"),
        user=user,
        auth_protocol=auth_proto.upper() if auth_proto else None,
        auth_key=secrets.get("auth"),
        priv_protocol=priv_proto.upper() if priv_proto else None,
        priv_key=secrets.get("priv"),
        context=context,
        timeout=timeout,
        retries=retries,
    )
    with status(f"walking {target.label}"):
        report = asyncio.run(_walk(target, uplinks))
    if as_json:
        print_json(report_dict(report))
    else:
        console().print(render_report(report))
    if not report.complete:
        raise click.exceptions.Exit(EXIT_FINDINGS)


async def _walk(target: SnmpTarget, uplinks: tuple[str, ...]) -> SwitchReport:
    # pysnmp's API is loaded when a switch is walked, not for the group's other commands.
    from netguard.snmp.client import SnmpClient

    async with SnmpClient() as client:
        return await walk_switch(client, target, inventory_uplinks=uplinks)


def report_dict(report: SwitchReport) -> dict[str, Any]:
    """The --json document: every record, plus what failed and what was skipped."""
    errors = []
    if report.error is not None:
        errors.append(
            {
                "table": None,
                "kind": report.error.kind.value,
                "message": report.error.message,
                "oid": report.error.oid,
                "rows_kept": 0,
            }
        )
    errors += [
        {
            "table": p.table,
            "kind": p.problem.kind.value,
            "message": p.problem.message,
            "oid": p.problem.oid,
            "rows_kept": p.rows_kept,
        }
        for p in report.problems
    ]
    return {
        "device": report.device,
        "reachable": report.reachable,
        "complete": report.complete,
        "partial": report.partial,
        "seconds": round(report.seconds, 3),
        "system": report.system,
        "interfaces": list(report.interfaces),
        "fdb_source": report.fdb_source,
        "fdb": list(report.fdb),
        "arp": list(report.arp),
        "lldp": list(report.lldp),
        "uplinks": [u.ifindex for u in report.uplinks],
        "uplink_reasons": list(report.uplinks),
        "mac_counts": list(report.mac_counts),
        "errors": errors,
        "skipped": list(report.skipped),
    }


def visible(value: object) -> Text:
    """A table cell: the project's :func:`commands.output.safe`, with ``-`` for a missing value."""
    return Text("-") if value is None else safe(value)


def render_report(report: SwitchReport) -> Group:
    parts: list[Any] = []
    head = Text()
    head.append(safe(f"{report.device}  "))
    if not report.reachable:
        head.append("unreachable", style="bold red")
    else:
        head.append("complete" if report.complete else "partial", style="green" if report.complete else "yellow")
    head.append(f"  ({report.seconds:.1f} s)")
    parts.append(head)
    if report.error is not None:
        parts.append(visible(f"error: {report.error.kind.value}: {report.error.message}"))
    if report.system is not None:
        sys_table = Table(show_header=False, box=None)
        for label, value in (
            ("name", report.system.name),
            ("description", report.system.descr),
            ("object id", report.system.object_id),
            ("location", report.system.location),
            ("bridge address", report.system.bridge_address),
        ):
            sys_table.add_row(Text(label), visible(value))
        parts.append(sys_table)
        counts = Text(
            f"{len(report.interfaces)} interfaces, {len(report.fdb)} forwarding entries"
            f" ({report.fdb_source or 'no FDB'}), {len(report.arp)} ARP entries, {len(report.lldp)} LLDP neighbours,"
            f" {len(report.uplinks)} uplinks"
        )
        parts.append(counts)
        parts.append(_interfaces_table(report))
    if report.lldp:
        lldp = Table(title=Text("LLDP neighbours"))
        for col in ("ifIndex", "local port", "chassis", "port", "system"):
            lldp.add_column(Text(col))
        for n in report.lldp:
            lldp.add_row(
                visible(n.ifindex),
                visible(n.local_port),
                visible(n.chassis_id),
                visible(n.port_id),
                visible(n.sys_name),
            )
        parts.append(lldp)
    if report.problems or report.skipped:
        notes = Table(title=Text("problems and skipped rows"))
        for col in ("table", "what", "count / rows kept", "example"):
            notes.add_column(Text(col))
        for p in report.problems:
            notes.add_row(
                visible(p.table),
                visible(f"{p.problem.kind.value}: {p.problem.message}"),
                visible(p.rows_kept),
                visible(p.problem.oid),
            )
        for s in report.skipped:
            notes.add_row(visible(s.table), visible(s.reason), visible(s.count), visible(s.example))
        parts.append(notes)
    return Group(*parts)


def _interfaces_table(report: SwitchReport) -> Table:
    macs = {c.ifindex: c.macs for c in report.mac_counts}
    uplinks = {u.ifindex: ", ".join(u.reasons) for u in report.uplinks}
    table = Table(title=Text("interfaces"))
    for col in ("ifIndex", "name", "alias", "admin", "oper", "Mbit/s", "MACs", "uplink"):
        table.add_column(Text(col))
    for i in report.interfaces:
        table.add_row(
            visible(i.ifindex),
            visible(i.name or i.descr),
            visible(i.alias or None),
            visible(i.admin_status),
            visible(i.oper_status),
            visible(i.speed_mbps),
            visible(macs.get(i.ifindex, 0)),
            visible(uplinks.get(i.ifindex)),
        )
    return table
