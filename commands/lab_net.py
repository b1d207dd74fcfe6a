"""``netguard lab up | status | down``: the simulated county in network namespaces.

Adds three commands to the ``lab`` group of :mod:`commands.lab`; importing this
module registers them (cli.py imports it).
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from commands.lab import lab
from commands.output import console, json_option, print_json, status
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
    out = console()
    out.print(
        f"lab '{name}' is up: {result.namespaces} namespaces, {result.agents} SNMP agents, in {result.seconds:.1f} s",
        markup=False,
    )
    out.print(f"config:    {result.files.config}", markup=False)
    out.print(f"inventory: {result.files.inventory}", markup=False)
    out.print(f"try: netguard --config {result.files.config} inventory show", markup=False)


def _row(table: Table, *cells: str) -> None:
    # Text cells: what the namespaces say is shown as it is, never read as rich markup.
    table.add_row(*(Text(cell) for cell in cells))


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
    out.print(f"lab '{report.name}' in {report.dir}; config {report.config}", markup=False)
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
        console().print(f"no lab in {lab_dir}: nothing to remove", markup=False)
        return
    out = console()
    out.print(
        f"removed {len(result.namespaces)} namespaces and stopped {len(result.agents)} SNMP agents "
        f"in {result.seconds:.1f} s; kept the inventory, netguard.yaml and secrets in {lab_dir}",
        markup=False,
    )
    out.print("namespaces: " + " ".join(result.namespaces), markup=False)
    if result.agents:
        out.print("agent pids: " + " ".join(str(pid) for pid in result.agents), markup=False)
