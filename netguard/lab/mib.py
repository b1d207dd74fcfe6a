"""A lab switch's MIB, computed from a snapshot of its namespace.

:func:`build_mib` turns a :class:`Snapshot` (what ``ip``/``bridge`` say about
the switch namespace right now, plus the LLDP neighbours the lab cabled) into
the sorted list of ``(oid, type, value)`` an SNMP agent serves. It is pure, so
the tables are tested without namespaces; the agent only has to look values up
and find the next OID with a binary search.

What the tables say (the OIDs of DESIGN.md §3):

- IF-MIB ``ifTable``/``ifXTable``: every interface but ``lo``; ``ifIndex`` is the
  kernel's ifindex in the namespace, ``ifName``/``ifDescr`` the port name,
  admin status from the UP flag, oper status from the operstate; the kernel's
  byte, packet, error and drop counters as the 32-bit ``ifIn/Out*`` columns
  (wrapped, as a real agent's) and the 64-bit ``ifHCIn/OutOctets``, so link
  checks measure the traffic that really crossed the veth.
- BRIDGE-MIB: the base port of ``pN`` is ``N`` (stable while the port moves
  between VLAN bridges, as on a real switch); ``dot1dBasePortIfIndex`` maps it
  to the ifIndex; ``dot1dTpFdbTable`` and Q-BRIDGE ``dot1qTpFdbTable`` (FDB id =
  VLAN id = the number in the bridge's name) list the *learned* MACs of
  ``bridge fdb show`` (permanent entries are the switch's own); ``dot1qPvid`` is
  the VLAN of the bridge each port is in; ``dot1qVlanCurrentTable`` and
  ``dot1qVlanStaticTable`` describe the VLANs.
- IP-MIB: ``ipAddrTable`` (the switch's own addresses), ``ipNetToMediaTable``
  and ``ipNetToPhysicalTable`` from the neighbour table (FAILED and INCOMPLETE
  entries are left out, as real agents do).
- LLDP-MIB: local system and ports, and one remote entry per cabled neighbour
  whose local port is up.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

Oid = tuple[int, ...]
Entry = tuple[Oid, str, str]  # (oid, pass_persist type, value as pass_persist writes it)

IF_TABLE = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IF_NUMBER = (1, 3, 6, 1, 2, 1, 2, 1, 0)
IFX_TABLE = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
IP_FORWARDING = (1, 3, 6, 1, 2, 1, 4, 1, 0)
IP_ADDR_TABLE = (1, 3, 6, 1, 2, 1, 4, 20, 1)
IP_NET_TO_MEDIA = (1, 3, 6, 1, 2, 1, 4, 22, 1)
IP_NET_TO_PHYSICAL = (1, 3, 6, 1, 2, 1, 4, 35, 1)
DOT1D_BASE = (1, 3, 6, 1, 2, 1, 17, 1)
DOT1D_BASE_PORT_TABLE = (1, 3, 6, 1, 2, 1, 17, 1, 4, 1)
DOT1D_TP_FDB = (1, 3, 6, 1, 2, 1, 17, 4, 3, 1)
DOT1Q_TP_FDB = (1, 3, 6, 1, 2, 1, 17, 7, 1, 2, 2, 1)
DOT1Q_VLAN_CURRENT = (1, 3, 6, 1, 2, 1, 17, 7, 1, 4, 2, 1)
DOT1Q_VLAN_STATIC = (1, 3, 6, 1, 2, 1, 17, 7, 1, 4, 3, 1)
DOT1Q_PVID = (1, 3, 6, 1, 2, 1, 17, 7, 1, 4, 5, 1, 1)
IF_ADMIN_STATUS = (*IF_TABLE, 7)
LLDP_LOCAL = (1, 0, 8802, 1, 1, 2, 1, 3)
LLDP_LOC_PORT = (1, 0, 8802, 1, 1, 2, 1, 3, 7, 1)
LLDP_REM = (1, 0, 8802, 1, 1, 2, 1, 4, 1, 1)
LLDP_REM_MAN_ADDR = (1, 0, 8802, 1, 1, 2, 1, 4, 2, 1)

PORT_RE = re.compile(r"p(\d+)")
BRIDGE_RE = re.compile(r"br(\d+)")
OPER = {"UP": 1, "DOWN": 2, "TESTING": 3, "DORMANT": 5, "NOTPRESENT": 6, "LOWERLAYERDOWN": 7}
NEIGH_STATE = {"REACHABLE": 1, "STALE": 2, "DELAY": 3, "PROBE": 4, "PERMANENT": 6, "NOARP": 6}


@dataclass(frozen=True)
class Iface:
    ifindex: int
    name: str
    kind: str  # veth, bridge, ...
    admin_up: bool
    operstate: str
    lower_up: bool
    mac: str
    mtu: int
    master: str | None
    alias: str = ""
    rx_bytes: int = 0
    rx_packets: int = 0
    rx_errors: int = 0
    tx_bytes: int = 0
    tx_packets: int = 0
    tx_errors: int = 0
    rx_dropped: int = 0
    tx_dropped: int = 0


@dataclass(frozen=True)
class FdbEntry:
    mac: str
    port: str
    bridge: str


@dataclass(frozen=True)
class Neighbour:
    ip: str
    mac: str
    dev: str
    state: str  # REACHABLE, STALE, PERMANENT ...


@dataclass(frozen=True)
class Address:
    ip: str
    prefixlen: int
    dev: str


@dataclass(frozen=True)
class LldpNeighbour:
    local_port: str
    chassis_mac: str
    port_id: str
    sys_name: str
    sys_desc: str
    mgmt_ip: str


@dataclass(frozen=True)
class SwitchInfo:
    name: str
    description: str
    base_mac: str
    vlan_names: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class Snapshot:
    info: SwitchInfo
    ifaces: tuple[Iface, ...]
    fdb: tuple[FdbEntry, ...]
    neighbours: tuple[Neighbour, ...]
    addresses: tuple[Address, ...]
    lldp: tuple[LldpNeighbour, ...]


def parse_oid(text: str) -> Oid:
    text = text.strip().lstrip(".")
    if not text:
        return ()
    return tuple(int(part) for part in text.split("."))


def format_oid(oid: Oid) -> str:
    return "." + ".".join(str(n) for n in oid)


def port_number(name: str) -> int | None:
    m = PORT_RE.fullmatch(name)
    return int(m.group(1)) if m else None


def bridge_vlan(name: str | None) -> int | None:
    m = BRIDGE_RE.fullmatch(name or "")
    return int(m.group(1)) if m else None


def mac_octets(mac: str) -> tuple[int, ...]:
    return tuple(int(part, 16) for part in mac.split(":"))


def octets(mac: str) -> str:
    return " ".join(f"{b:02x}" for b in mac_octets(mac)) if mac else ""


def text(value: str) -> str:
    # pass_persist reads one line per value: a newline would desynchronise the protocol.
    return value.replace("\r", " ").replace("\n", " ")


def port_bitmap(ports: Iterable[int]) -> str:
    """A Q-BRIDGE PortList: bit 7 of octet 0 is base port 1."""
    ports = sorted(ports)
    size = max((ports[-1] + 7) // 8, 1) if ports else 1
    bits = bytearray(size)
    for p in ports:
        bits[(p - 1) // 8] |= 0x80 >> ((p - 1) % 8)
    return " ".join(f"{b:02x}" for b in bits)


def build_mib(snap: Snapshot) -> list[Entry]:
    """Every (oid, type, value) of the switch, sorted in lexicographic OID order."""
    ifaces = [i for i in snap.ifaces if i.name != "lo"]
    # Bridge ports: pN veths that are in a VLAN bridge, by base port N.
    ports: dict[int, Iface] = {}
    for i in ifaces:
        number = port_number(i.name)
        if number is not None and bridge_vlan(i.master) is not None:
            ports[number] = i
    entries = [*_if_mib(ifaces), *_ip_mib(snap, ifaces), *_bridge_mib(snap, ifaces, ports), *_lldp_mib(snap, ports)]
    entries.sort(key=lambda e: e[0])
    return entries


def _if_mib(ifaces: list[Iface]) -> list[Entry]:
    entries: list[Entry] = [(IF_NUMBER, "integer", str(len(ifaces)))]
    for i in ifaces:
        x = i.ifindex
        oper = OPER.get(i.operstate, 1 if (i.admin_up and i.lower_up) else 4)
        if oper == 7 and port_number(i.name) is not None:
            oper = 2  # a switch port whose cable has no peer is simply down
        rows: list[tuple[int, str, str]] = [
            (1, "integer", str(x)),
            (2, "string", text(i.name)),
            (3, "integer", "6" if i.kind == "veth" else "53"),
            (4, "integer", str(i.mtu)),
            (5, "gauge", "1000000000"),
            (6, "octet", octets(i.mac)),
            (7, "integer", "1" if i.admin_up else "2"),
            (8, "integer", str(oper)),
            (9, "timeticks", "0"),
            (10, "counter", str(i.rx_bytes % 2**32)),
            (11, "counter", str(i.rx_packets % 2**32)),
            (13, "counter", str(i.rx_dropped % 2**32)),
            (14, "counter", str(i.rx_errors % 2**32)),
            (16, "counter", str(i.tx_bytes % 2**32)),
            (17, "counter", str(i.tx_packets % 2**32)),
            (19, "counter", str(i.tx_dropped % 2**32)),
            (20, "counter", str(i.tx_errors % 2**32)),
        ]
        entries.extend(((*IF_TABLE, col, x), t, v) for col, t, v in rows)
        entries.append(((*IFX_TABLE, 1, x), "string", text(i.name)))
        entries.append(((*IFX_TABLE, 6, x), "counter64", str(i.rx_bytes % 2**64)))
        entries.append(((*IFX_TABLE, 10, x), "counter64", str(i.tx_bytes % 2**64)))
        entries.append(((*IFX_TABLE, 15, x), "gauge", "1000"))
        entries.append(((*IFX_TABLE, 18, x), "string", text(i.alias)))
    return entries


def _ipv4(address: str) -> Oid:
    return tuple(int(part) for part in address.split("."))


def _ip_mib(snap: Snapshot, ifaces: list[Iface]) -> list[Entry]:
    by_name = {i.name: i for i in ifaces}
    entries: list[Entry] = [(IP_FORWARDING, "integer", "1")]
    for a in snap.addresses:
        dev = by_name.get(a.dev)
        if dev is None:
            continue
        ip = _ipv4(a.ip)
        mask = str(ipaddress.IPv4Network(f"0.0.0.0/{a.prefixlen}").netmask)
        entries.append(((*IP_ADDR_TABLE, 1, *ip), "ipaddress", a.ip))
        entries.append(((*IP_ADDR_TABLE, 2, *ip), "integer", str(dev.ifindex)))
        entries.append(((*IP_ADDR_TABLE, 3, *ip), "ipaddress", mask))
    for nb in snap.neighbours:
        dev = by_name.get(nb.dev)
        if dev is None or not nb.mac or nb.state not in NEIGH_STATE:
            continue
        ip = _ipv4(nb.ip)
        x = dev.ifindex
        kind = "4" if nb.state in ("PERMANENT", "NOARP") else "3"  # static : dynamic
        entries.append(((*IP_NET_TO_MEDIA, 1, x, *ip), "integer", str(x)))
        entries.append(((*IP_NET_TO_MEDIA, 2, x, *ip), "octet", octets(nb.mac)))
        entries.append(((*IP_NET_TO_MEDIA, 3, x, *ip), "ipaddress", nb.ip))
        entries.append(((*IP_NET_TO_MEDIA, 4, x, *ip), "integer", kind))
        index = (x, 1, 4, *ip)
        entries.append(((*IP_NET_TO_PHYSICAL, 4, *index), "octet", octets(nb.mac)))
        entries.append(((*IP_NET_TO_PHYSICAL, 6, *index), "integer", kind))
        entries.append(((*IP_NET_TO_PHYSICAL, 7, *index), "integer", str(NEIGH_STATE[nb.state])))
    return entries


def _bridge_mib(snap: Snapshot, ifaces: list[Iface], ports: dict[int, Iface]) -> list[Entry]:
    entries: list[Entry] = [
        ((*DOT1D_BASE, 1, 0), "octet", octets(snap.info.base_mac)),
        ((*DOT1D_BASE, 2, 0), "integer", str(len(ports))),
        ((*DOT1D_BASE, 3, 0), "integer", "2"),  # transparent-only
    ]
    for number, i in ports.items():
        entries.append(((*DOT1D_BASE_PORT_TABLE, 1, number), "integer", str(number)))
        entries.append(((*DOT1D_BASE_PORT_TABLE, 2, number), "integer", str(i.ifindex)))
    learned: dict[Oid, int] = {}  # MAC -> base port (the first VLAN's, as BRIDGE-MIB has no VLAN)
    qlearned: dict[Oid, int] = {}  # (VLAN, MAC) -> base port
    for f in snap.fdb:
        port = port_number(f.port)
        vlan = bridge_vlan(f.bridge)
        if port is None or vlan is None or port not in ports:
            continue
        mac = mac_octets(f.mac)
        learned.setdefault(mac, port)
        qlearned[(vlan, *mac)] = port
    for mac, number in learned.items():
        entries.append(((*DOT1D_TP_FDB, 1, *mac), "octet", " ".join(f"{b:02x}" for b in mac)))
        entries.append(((*DOT1D_TP_FDB, 2, *mac), "integer", str(number)))
        entries.append(((*DOT1D_TP_FDB, 3, *mac), "integer", "3"))  # learned
    for index, number in qlearned.items():
        entries.append(((*DOT1Q_TP_FDB, 2, *index), "integer", str(number)))
        entries.append(((*DOT1Q_TP_FDB, 3, *index), "integer", "3"))
    vlans = sorted({v for i in ifaces if i.kind == "bridge" and (v := bridge_vlan(i.name)) is not None})
    names = dict(snap.info.vlan_names)
    for vlan in vlans:
        members = [number for number, i in ports.items() if bridge_vlan(i.master) == vlan]
        entries.append(((*DOT1Q_VLAN_CURRENT, 3, 0, vlan), "gauge", str(vlan)))
        entries.append(((*DOT1Q_VLAN_CURRENT, 4, 0, vlan), "octet", port_bitmap(members)))
        entries.append(((*DOT1Q_VLAN_CURRENT, 5, 0, vlan), "octet", port_bitmap(members)))
        entries.append(((*DOT1Q_VLAN_CURRENT, 6, 0, vlan), "integer", "2"))  # permanent
        entries.append(((*DOT1Q_VLAN_STATIC, 1, vlan), "string", text(names.get(vlan, f"VLAN{vlan:04d}"))))
        entries.append(((*DOT1Q_VLAN_STATIC, 5, vlan), "integer", "1"))  # active
    for number, i in ports.items():
        entries.append(((*DOT1Q_PVID, number), "gauge", str(bridge_vlan(i.master))))
    return entries


def _lldp_mib(snap: Snapshot, ports: dict[int, Iface]) -> list[Entry]:
    entries: list[Entry] = [
        ((*LLDP_LOCAL, 1, 0), "integer", "4"),  # chassis id subtype: macAddress
        ((*LLDP_LOCAL, 2, 0), "octet", octets(snap.info.base_mac)),
        ((*LLDP_LOCAL, 3, 0), "string", text(snap.info.name)),
        ((*LLDP_LOCAL, 4, 0), "string", text(snap.info.description)),
    ]
    for number, i in ports.items():
        entries.append(((*LLDP_LOC_PORT, 2, number), "integer", "5"))  # port id subtype: interfaceName
        entries.append(((*LLDP_LOC_PORT, 3, number), "string", text(i.name)))
        entries.append(((*LLDP_LOC_PORT, 4, number), "string", text(i.alias or i.name)))
    for rem_index, nb in enumerate(snap.lldp, start=1):
        local_port = port_number(nb.local_port)
        local = ports.get(local_port) if local_port is not None else None
        if local_port is None or local is None or not (local.admin_up and local.operstate == "UP"):
            continue  # LLDP ages out when the link is down
        index = (0, local_port, rem_index)
        entries.append(((*LLDP_REM, 4, *index), "integer", "4"))
        entries.append(((*LLDP_REM, 5, *index), "octet", octets(nb.chassis_mac)))
        entries.append(((*LLDP_REM, 6, *index), "integer", "5"))
        entries.append(((*LLDP_REM, 7, *index), "string", text(nb.port_id)))
        entries.append(((*LLDP_REM, 8, *index), "string", text(nb.port_id)))
        entries.append(((*LLDP_REM, 9, *index), "string", text(nb.sys_name)))
        entries.append(((*LLDP_REM, 10, *index), "string", text(nb.sys_desc)))
        if nb.mgmt_ip:
            entries.append(((*LLDP_REM_MAN_ADDR, 3, *index, 1, 4, *_ipv4(nb.mgmt_ip)), "integer", "2"))
    return entries


class MibView:
    """Lookups over a sorted table: exact ``get`` and lexicographic ``next``."""

    def __init__(self, entries: list[Entry]) -> None:
        self.entries = entries
        self.keys = [e[0] for e in entries]

    def get(self, oid: Oid) -> Entry | None:
        i = bisect.bisect_left(self.keys, oid)
        return self.entries[i] if i < len(self.keys) and self.keys[i] == oid else None

    def next(self, oid: Oid, root: Oid = ()) -> Entry | None:
        """The first entry strictly after ``oid`` (tuple order is SNMP's order), within ``root``."""
        i = bisect.bisect_right(self.keys, oid)
        if i < len(self.keys) and self.keys[i][: len(root)] == root:
            return self.entries[i]
        return None
