"""``lab up`` and ``lab down``: build the planned county in namespaces, and remove it.

Order of ``up`` (each namespace and agent is recorded in the state file before
it is created, see :mod:`netguard.lab.state`):

1. one namespace per site, with its VLAN bridges (``br1`` transit, ``br10``
   data with the gateway address, ``br999`` quarantine), forwarding on, IPv6 off;
2. one namespace per terminal, cabled by a veth created from inside the site
   namespace (``ip link add pN type veth peer name eth0 netns H``), its address
   and a default route to its gateway, both inside the terminal's namespace;
3. the switch-to-switch cables into the ``br1`` bridges, and routes: the data
   centre knows every subnet, every other site routes via the data centre. No
   namespace has a link to the machine's interfaces, so nothing leaves the lab;
4. the scanner namespace (the NetGuard station) on the data centre's transit
   bridge, with a route to every lab subnet via the data centre;
5. one snmpd per managed switch (:mod:`netguard.lab.snmpd`; one of them also
   answers ``public``), the relay that makes their addresses reachable from
   the scanner namespace, and the open sshd on the data centre's EMR server
   (:mod:`netguard.lab.helpers`);
6. a warm-up: every terminal pings its gateway and every switch and the
   scanner the data centre, so the forwarding and ARP tables hold what a live
   network holds, and a terminal that cannot reach its gateway fails ``up``;
7. the inventory, netguard.yaml and secrets file for NetGuard.

Any failure tears down what was made and reports the failure. ``up`` on a
directory that has a lab, or when namespaces of a lab with the same name
exist, is refused: one lab per name and directory.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from netguard.lab import helpers, netns, snmpd
from netguard.lab.labfiles import new_credentials, write_config, write_inventory, write_secrets
from netguard.lab.netns import LabError
from netguard.lab.snmpd import SnmpCredentials
from netguard.lab.state import AgentRecord, LabState, load_state, state_path
from netguard.lab.topology import (
    DATA_VLAN,
    QUARANTINE_VLAN,
    TRANSIT_NET,
    TRANSIT_VLAN,
    Plan,
    Site,
    default_mgmt_block,
    plan_county,
)

AGEING_CS = 360_000  # bridge FDB ageing: one hour, so a test session sees what was learned
VLAN_NAMES = {TRANSIT_VLAN: "transit", DATA_VLAN: "office", QUARANTINE_VLAN: "quarantine"}


@dataclass(frozen=True)
class LabFiles:
    config: Path
    inventory: Path
    secrets: Path


@dataclass(frozen=True)
class UpResult:
    files: LabFiles
    namespaces: int
    agents: int
    seconds: float


@dataclass(frozen=True)
class DownResult:
    namespaces: tuple[str, ...]
    agents: tuple[int, ...]
    seconds: float


def lab_files(lab_dir: Path) -> LabFiles:
    return LabFiles(lab_dir / "netguard.yaml", lab_dir / "inventory.yaml", lab_dir / "secrets.yaml")


def plan_of(state: LabState) -> Plan:
    return plan_county(state.name, state.townships, state.villages, state.mgmt_block)


def _free_block(name: str, agents: int) -> ipaddress.IPv4Network:
    first = default_mgmt_block(name)
    for step in range(250):
        third = (first.network_address.packed[2] - 1 + step) % 250 + 1
        block = ipaddress.IPv4Network(f"127.77.{third}.0/24")
        if all(snmpd.address_free(block.network_address + n) for n in range(1, agents + 1)):
            return block
    raise LabError("no free loopback block 127.77.x.0/24 for the lab's SNMP agents")


def lab_up(lab_dir: Path, name: str = "lab", townships: int = 2, villages: int = 2) -> UpResult:
    netns.require_root("netguard lab up")
    netns.require_tools("ip", "bridge", "snmpd", "ping", "ssh-keygen")
    if not Path(helpers.SSHD).exists():
        raise LabError(f"the lab needs the OpenSSH server ({helpers.SSHD}; Debian: openssh-server) for its planted SSH")
    start = time.monotonic()
    try:
        plan = plan_county(name, townships, villages)
    except ValueError as exc:
        raise LabError(str(exc)) from None
    lab_dir = lab_dir.resolve()
    lab_dir.mkdir(parents=True, exist_ok=True)
    if load_state(lab_dir) is not None:
        raise LabError(
            f"a lab is already up in {lab_dir} (see {state_path(lab_dir)}); run: netguard lab down --dir {lab_dir}"
        )
    leftovers = netns.list_netns(plan.prefix)
    if leftovers:
        raise LabError(
            f"namespaces of a lab named '{name}' already exist ({', '.join(leftovers[:3])}...): "
            "bring that lab down, or choose another --name"
        )
    managed = [s for s in plan.sites if s.managed]
    plan = plan_county(name, townships, villages, _free_block(name, len(managed)))
    state = LabState(state_path(lab_dir), name, townships, villages, plan.mgmt_block)
    state.save()
    creds = new_credentials()
    try:
        _build(plan, state, creds)
        files = lab_files(lab_dir)
        write_secrets(files.secrets, creds)
        write_inventory(files.inventory, plan)
        write_config(files.config, files.inventory, files.secrets)
    except BaseException as exc:
        lab_down(lab_dir)
        if isinstance(exc, LabError):
            raise LabError(f"lab up failed and was undone: {exc}") from None
        raise
    state.complete = True
    state.up_seconds = round(time.monotonic() - start, 3)
    state.save()
    return UpResult(files, len(state.namespaces), len(state.agents), state.up_seconds)


def _build(plan: Plan, state: LabState, creds: SnmpCredentials) -> None:
    for site in plan.sites:
        _make_site(site, state)
    for site in plan.sites:
        _cable_hosts(plan, site, state)
    dc = plan.sites[0]
    for link in plan.links:
        parent, child = plan.site(link.parent), plan.site(link.child)
        netns.batch(
            parent.namespace,
            [
                f"link add {link.parent_port} type veth peer name {link.child_port} netns {child.namespace}",
                f"link set {link.parent_port} master br{TRANSIT_VLAN} up",
            ],
        )
        netns.ip(child.namespace, "link", "set", link.child_port, "master", f"br{TRANSIT_VLAN}", "up")
    netns.batch(dc.namespace, [f"route add {s.subnet} via {s.transit_ip}" for s in plan.sites[1:]])
    for site in plan.sites[1:]:
        netns.ip(site.namespace, "route", "add", "default", "via", str(dc.transit_ip))
    _make_scanner(plan, state)
    for site in plan.sites:
        if site.managed:
            _start_agent(plan, site, state, creds)
    helpers.start_relay(plan, state)
    helpers.start_open_sshd(plan, state)
    _warm_up(plan)


def _make_scanner(plan: Plan, state: LabState) -> None:
    """The NetGuard station: on the data centre's transit VLAN through a port that is not a switch port."""
    scan, dc = plan.scanner, plan.sites[0]
    state.add_namespace(scan.namespace)
    netns.add_netns(scan.namespace)
    netns.harden(scan.namespace)
    netns.batch(dc.namespace, netns.cable(scan.port, scan.namespace, scan.mac, "netguard-scanner", TRANSIT_VLAN))
    netns.batch(
        scan.namespace,
        [
            "link set lo up",
            f"addr add {scan.ip}/{TRANSIT_NET.prefixlen} dev eth0",
            "link set eth0 up",
            f"route add 10.0.0.0/8 via {dc.transit_ip}",
        ],
    )


def _make_site(site: Site, state: LabState) -> None:
    state.add_namespace(site.namespace)
    netns.add_netns(site.namespace)
    netns.exec_in(
        site.namespace,
        [
            "sysctl",
            "-q",
            "-w",
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
            "net.ipv4.ip_forward=1",
        ],
    )
    vlans = [TRANSIT_VLAN, DATA_VLAN] + ([QUARANTINE_VLAN] if site.managed else [])
    commands = ["link set lo up"]
    for vlan in vlans:
        commands.append(f"link add br{vlan} address {site.mac} type bridge ageing_time {AGEING_CS}")
        commands.append(f"link set br{vlan} up")
    commands.append(f"addr add {site.gateway}/{site.subnet.prefixlen} dev br{DATA_VLAN}")
    commands.append(f"addr add {site.transit_ip}/{TRANSIT_NET.prefixlen} dev br{TRANSIT_VLAN}")
    netns.batch(site.namespace, commands)


def _cable_hosts(plan: Plan, site: Site, state: LabState) -> None:
    hosts = plan.hosts_of(site.key)
    for host in hosts:
        state.add_namespace(host.namespace)
        netns.add_netns(host.namespace)
        netns.harden(host.namespace)
    netns.batch(
        site.namespace,
        [cmd for h in hosts for cmd in netns.cable(h.port, h.namespace, h.mac, f"{h.name}-{h.kind}", DATA_VLAN)],
    )
    for h in hosts:
        netns.batch(
            h.namespace,
            [
                "link set lo up",
                f"addr add {h.ip}/{h.prefixlen} dev eth0",
                "link set eth0 up",
                f"route add default via {h.gateway}",
            ],
        )


def _start_agent(plan: Plan, site: Site, state: LabState, creds: SnmpCredentials) -> None:
    assert site.management is not None
    lldp = []
    for link in plan.links:
        if site.key in (link.child, link.parent):
            mine, theirs = (link.child_port, link.parent) if link.child == site.key else (link.parent_port, link.child)
            other = plan.site(theirs)
            if not other.managed:
                continue  # the village router speaks no LLDP
            their_port = link.parent_port if link.child == site.key else link.child_port
            lldp.append(
                {
                    "local_port": mine,
                    "chassis_mac": other.mac,
                    "port_id": their_port,
                    "sys_name": other.switch_id,
                    "sys_desc": f"NetGuard lab switch {other.switch_id}",
                    "mgmt_ip": str(other.transit_ip),
                }
            )
    site_creds = creds if site.snmp_version == "3" else SnmpCredentials(creds.community)
    conf = snmpd.write_agent_files(
        state.dir / "agents" / site.key,
        namespace=site.namespace,
        address=site.management,
        creds=site_creds,
        agent_config={
            "name": site.switch_id,
            "description": f"NetGuard lab switch {site.switch_id}",
            "base_mac": site.mac,
            "vlan_names": {str(v): n for v, n in VLAN_NAMES.items()},
            "lldp": lldp,
        },
        sys_name=site.switch_id,
        sys_descr=f"NetGuard lab switch {site.switch_id} (Linux bridges in netns {site.namespace})",
        sys_location=site.name,
        default_community=site.default_community,
    )
    pid = snmpd.start_snmpd(conf)
    state.add_agent(AgentRecord(site.key, pid, str(conf), str(site.management)))
    snmpd.wait_listening(pid, site.management)


def _warm_up(plan: Plan) -> None:
    dc = plan.sites[0]
    jobs = [(h.namespace, str(h.gateway)) for h in plan.hosts]
    jobs += [(s.namespace, str(dc.transit_ip)) for s in plan.sites[1:]]
    jobs.append((plan.scanner.namespace, str(dc.transit_ip)))
    procs = [
        (
            ns,
            target,
            subprocess.Popen(
                ["ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", "1", "-W", "2", target],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ),
        )
        for ns, target in jobs
    ]
    failed = [f"{ns} → {target}" for ns, target, proc in procs if proc.wait(timeout=15) != 0]
    if failed:
        raise LabError(f"{len(failed)} lab hosts cannot reach their gateway: {', '.join(failed[:5])}")


def lab_down(lab_dir: Path) -> DownResult:
    """Remove the lab recorded in ``lab_dir``: agents first, then every namespace (and so every veth)."""
    netns.require_root("netguard lab down")
    start = time.monotonic()
    lab_dir = lab_dir.resolve()
    state = load_state(lab_dir)
    if state is None:
        return DownResult((), (), 0.0)
    for helper in state.helpers:
        helpers.stop_helper(helper)
    stopped = [a.pid for a in state.agents if snmpd.stop_snmpd(a.pid, Path(a.conf))]
    agents_dir = lab_dir / "agents"
    for pid in _stray_agents(agents_dir):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
            stopped.append(pid)
    for pid in helpers.stray_helpers(lab_dir):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
    prefix = f"ng-{state.name}-"
    # Recorded ones first, newest first; then any of this lab's names a crash left unrecorded.
    names = list(reversed(state.namespaces)) + [n for n in netns.list_netns(prefix) if n not in state.namespaces]
    removed = [n for n in names if netns.delete_netns(n)]
    shutil.rmtree(agents_dir, ignore_errors=True)
    state.path.unlink(missing_ok=True)
    return DownResult(tuple(removed), tuple(stopped), round(time.monotonic() - start, 3))


def _stray_agents(agents_dir: Path) -> list[int]:
    """snmpd processes serving this lab's agent configurations that the state file missed."""
    marker = str(agents_dir).encode() + b"/"
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        args = snmpd.cmdline(int(entry))
        if args and args[0].endswith(b"snmpd") and any(arg.startswith(marker) for arg in args):
            found.append(int(entry))
    return found
