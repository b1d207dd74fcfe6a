"""``lab status``: the lab's hosts and switches, from the plan and the live namespaces.

The plan (re-derived from the state file) says what each host *is* (address,
MAC, institution, role); the namespaces say what it is *now*: whether its
namespace exists, and on its switch whether the port is up and which VLAN's
bridge it is in (so an eviction shows here as port down or VLAN 999).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netguard.lab import helpers, netns, snmpd
from netguard.lab.build import lab_files, plan_of
from netguard.lab.mib import bridge_vlan
from netguard.lab.netns import LabError
from netguard.lab.snmpd import DEFAULT_COMMUNITY_LINE
from netguard.lab.state import LabState, load_state


@dataclass(frozen=True)
class HostStatus:
    namespace: str
    ip: str
    mac: str
    gateway: str
    institution: str
    role: str  # authorised | rogue
    kind: str
    probe: bool
    switch: str | None  # inventory id of its managed switch, None in the unmanaged village
    site_namespace: str
    port: str
    vlan: int | None
    port_up: bool
    present: bool


@dataclass(frozen=True)
class SwitchStatus:
    id: str
    institution: str
    namespace: str
    snmp: str  # address:port
    snmp_version: str
    agent_pid: int | None
    agent_running: bool
    mac: str
    transit_ip: str
    uplinks: tuple[str, ...]


@dataclass(frozen=True)
class GatewayStatus:
    institution: str
    namespace: str
    gateway: str
    subnet: str
    managed: bool


@dataclass(frozen=True)
class ScannerStatus:
    """Where scans run: ``ip netns exec NAMESPACE netguard --config CONFIG scan``."""

    namespace: str
    ip: str
    mac: str
    present: bool
    relay_running: bool  # the switches' agents are reachable from it
    open_ssh: str | None  # the planted SSH exposure (address:22) while its sshd runs
    default_community_switches: tuple[str, ...]  # switches planted to answer `public`


@dataclass(frozen=True)
class LabStatus:
    name: str
    dir: str
    config: str
    inventory: str
    complete: bool
    up_seconds: float | None
    hosts: tuple[HostStatus, ...]
    switches: tuple[SwitchStatus, ...]
    gateways: tuple[GatewayStatus, ...]
    scanner: ScannerStatus


def _ports(namespace: str) -> dict[str, dict[str, Any]]:
    if not netns.netns_exists(namespace):
        return {}
    return {str(raw["ifname"]): raw for raw in netns.ip_json(namespace, "link", "show")}


def lab_status(lab_dir: Path) -> LabStatus:
    netns.require_root("netguard lab status")
    lab_dir = lab_dir.resolve()
    state = load_state(lab_dir)
    if state is None:
        raise LabError(f"no lab in {lab_dir} (no lab-state.json); start one with: netguard lab up --dir {lab_dir}")
    return _status(state)


def _status(state: LabState) -> LabStatus:
    plan = plan_of(state)
    files = lab_files(state.dir)
    agents = {a.site: a for a in state.agents}
    hosts = []
    for site in plan.sites:
        ports = _ports(site.namespace)
        for h in plan.hosts_of(site.key):
            port_name = state.moved.get(h.namespace, h.port)
            port = ports.get(port_name, {})
            hosts.append(
                HostStatus(
                    namespace=h.namespace,
                    ip=str(h.ip),
                    mac=h.mac,
                    gateway=str(h.gateway),
                    institution=h.institution,
                    role="rogue" if h.role == "rogue" else "authorised",
                    kind=h.kind,
                    probe=h.role == "probe",
                    switch=site.switch_id if site.managed else None,
                    site_namespace=site.namespace,
                    port=port_name,
                    vlan=bridge_vlan(port.get("master")),
                    port_up="UP" in (port.get("flags") or []),
                    present=netns.netns_exists(h.namespace),
                )
            )
    switches = []
    for site in plan.sites:
        if not site.managed or site.management is None:
            continue
        agent = agents.get(site.key)
        switches.append(
            SwitchStatus(
                id=site.switch_id,
                institution=site.institution,
                namespace=site.namespace,
                snmp=f"{site.management}:161",
                snmp_version=site.snmp_version,
                agent_pid=agent.pid if agent else None,
                agent_running=bool(agent and snmpd.is_our_snmpd(agent.pid, Path(agent.conf))),
                mac=site.mac,
                transit_ip=str(site.transit_ip),
                uplinks=tuple(p for p in (site.uplink, *site.downlinks) if p),
            )
        )
    gateways = tuple(
        GatewayStatus(s.institution, s.namespace, str(s.gateway), str(s.subnet), s.managed) for s in plan.sites
    )
    running = {h.name for h in state.helpers if helpers.is_ours(h)}
    public = []
    for site in plan.sites:
        agent = agents.get(site.key)
        conf = Path(agent.conf) if agent is not None else None
        if conf is not None and conf.exists() and DEFAULT_COMMUNITY_LINE in conf.read_text("utf-8").splitlines():
            public.append(site.switch_id)
    scanner = ScannerStatus(
        namespace=plan.scanner.namespace,
        ip=str(plan.scanner.ip),
        mac=plan.scanner.mac,
        present=netns.netns_exists(plan.scanner.namespace),
        relay_running=helpers.RELAY in running,
        open_ssh=f"{plan.ssh_host.ip}:22" if helpers.SSH in running else None,
        default_community_switches=tuple(public),
    )
    return LabStatus(
        name=state.name,
        dir=str(state.dir),
        config=str(files.config),
        inventory=str(files.inventory),
        complete=state.complete,
        up_seconds=state.up_seconds,
        hosts=tuple(hosts),
        switches=tuple(switches),
        gateways=gateways,
        scanner=scanner,
    )
