"""``netguard lab up | status | down``: the simulated county in network namespaces.

Adds three commands to the ``lab`` group of :mod:`commands.lab`; importing this
module registers them (cli.py's map of groups loads ``lab`` from here).
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from commands.lab import lab
from commands.output import console, json_option, print_json, safe, say, status
from netguard.lab.build import lab_down, lab_up
from netguard.lab.status import lab_status
from netguard.lab.topology import MAX_TOWNSHIPS, MAX_VILLAGES
from netguard.paths import data_dir


def _default_dir() -> Path:
    return data_dir() / "lab"


dir_option = click.option(
    "--dir",
    "lab_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The lab's directory: state, inventory, netguard.yaml, secrets (default: DATA_DIR/netguard/lab).",
)


@lab.command(name="up")
@click.option(
    "--townships",
    default=2,
    show_default=True,
    type=click.IntRange(1, MAX_TOWNSHIPS),
    help="Township health centres in the lab.",
)
@click.option(
    "--villages",
    default=2,
    show_default=True,
    type=click.IntRange(1, MAX_VILLAGES),
    help="Village clinics per township; the last one has no managed switch.",
)
@click.option(
    "--name",
    default="lab",
    show_default=True,
    help="Namespaces are named ng-NAME-...; two labs at once need two names (and two --dir).",
)
@dir_option
@json_option
def up(townships: int, villages: int, name: str, lab_dir: Path | None, as_json: bool) -> None:
    """Build the lab county in network namespaces (needs root).

    A data centre, township health centres and village clinics, each with an
    access switch made of Linux bridges (one per VLAN) that answers SNMP on a
    loopback address, a gateway, authorised and rogue terminals; the last
    village clinic has no managed switch. Writes the lab's inventory and a
    netguard.yaml for it. Refused when a lab is already up in the directory.
    """
    lab_dir = lab_dir or _default_dir()
    with status(f"building the lab in {lab_dir}"):
        result = lab_up(lab_dir, name=name, townships=townships, villages=villages)
    if as_json:
        print_json(
            {
                "config": str(result.files.config),
                "inventory": str(result.files.inventory),
                "namespaces": result.namespaces,
                "agents": result.agents,
                "seconds": result.seconds,
            }
        )
        return
    say(f"lab '{name}' is up: {result.namespaces} namespaces, {result.agents} SNMP agents, in {result.seconds:.1f} s")
    say(f"config:    {result.files.config}")
    say(f"inventory: {result.files.inventory}")
    say(f"try: netguard --config {result.files.config} inventory show")


def _row(table: Table, *cells: str) -> None:
    # What the namespaces say is shown as it is: never rich markup, control characters visible.
    table.add_row(*(safe(cell) for cell in cells))


@lab.command(name="status")
@dir_option
@json_option
def status_(lab_dir: Path | None, as_json: bool) -> None:
    """List the lab's hosts and switches.

    Each host with its namespace, address, MAC, gateway, role, port and VLAN.
    """
    report = lab_status(lab_dir or _default_dir())
    if as_json:
        print_json(report)
        return
    out = console()
    say(f"lab '{report.name}' in {report.dir}; config {report.config}")
    hosts = Table(title="Hosts")
    for column in ("Namespace", "IP", "MAC", "Gateway", "Institution", "Role", "Switch", "Port", "VLAN", "Port up"):
        hosts.add_column(column)
    for h in report.hosts:
        _row(
            hosts,
            h.namespace,
            h.ip,
            h.mac,
            h.gateway,
            h.institution,
            h.role + (" (probe)" if h.probe else ""),
            h.switch or "(unmanaged)",
            h.port,
            str(h.vlan) if h.vlan is not None else "-",
            "yes" if h.port_up else "NO",
        )
    out.print(hosts)
    switches = Table(title="Switches")
    for column in ("ID", "Institution", "Namespace", "SNMP", "Version", "Agent", "Uplinks"):
        switches.add_column(column)
    for s in report.switches:
        _row(
            switches,
            s.id,
            s.institution,
            s.namespace,
            s.snmp,
            s.snmp_version,
            f"pid {s.agent_pid}" if s.agent_running else "NOT RUNNING",
            ", ".join(s.uplinks),
        )
    out.print(switches)
    sc = report.scanner
    relay = "agents reachable" if sc.relay_running else "SNMP relay NOT RUNNING"
    say(f"scanner: {sc.namespace} {sc.ip} {sc.mac}" + ("" if sc.present else " (missing)") + f"; {relay}")
    planted = [f"SSH open to all at {sc.open_ssh}"] if sc.open_ssh else []
    planted += [f"{s} answers 'public'" for s in sc.default_community_switches]
    say("planted for the scan: " + ("; ".join(planted) if planted else "nothing (fixed)"))


@lab.command(name="down")
@dir_option
@json_option
def down(lab_dir: Path | None, as_json: bool) -> None:
    """Remove the lab: its SNMP agents, then every namespace.

    Removing a namespace removes its veths and bridges with it.
    """
    lab_dir = lab_dir or _default_dir()
    result = lab_down(lab_dir)
    if as_json:
        print_json({"namespaces": list(result.namespaces), "agents": list(result.agents), "seconds": result.seconds})
        return
    if not result.namespaces and not result.agents:
        say(f"no lab in {lab_dir}: nothing to remove")
        return
    say(
        f"removed {len(result.namespaces)} namespaces and stopped {len(result.agents)} SNMP agents "
        f"in {result.seconds:.1f} s; kept the inventory, netguard.yaml and secrets in {lab_dir}"
    )
    say("namespaces: " + " ".join(result.namespaces))
    if result.agents:
        say("agent pids: " + " ".join(str(pid) for pid in result.agents))
