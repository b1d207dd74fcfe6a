"""LLDP neighbours: LLDP-MIB lldpRemTable, one record per (local port, remote index).

The table is indexed by (time mark, local port number, remote index); the
time mark is ignored. The local port number is an LLDP number, not an
ifIndex: it is mapped through lldpLocPortId when that names an interface
(ifName or ifDescr), else through the bridge port map, else taken as an
ifIndex when one with that number exists; otherwise the neighbour is kept
with ``ifindex`` null and the fact counted.

Chassis and port ids are shown by subtype: a MAC (subtype 4 for chassis,
3 for port) as ``aa:bb:cc:dd:ee:ff``, a network address (chassis subtype 5,
IANA family 1/2) as an IP, anything else as text when it is printable and as
colon-separated hex when it is not.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from netguard.discovery import oids
from netguard.discovery.context import SwitchContext, suffix
from netguard.discovery.decode import int_from_value, mac_from_bytes, text_from_value
from netguard.discovery.records import Interface, LldpNeighbour
from netguard.snmp.values import Value

if TYPE_CHECKING:  # types only: importing the discovery package loads no pysnmp API
    from netguard.snmp.client import Walk

REMOTE = {
    "chassis_subtype": oids.LLDP_REM_CHASSIS_ID_SUBTYPE,
    "chassis": oids.LLDP_REM_CHASSIS_ID,
    "port_subtype": oids.LLDP_REM_PORT_ID_SUBTYPE,
    "port": oids.LLDP_REM_PORT_ID,
    "port_descr": oids.LLDP_REM_PORT_DESC,
    "sys_name": oids.LLDP_REM_SYS_NAME,
    "sys_descr": oids.LLDP_REM_SYS_DESC,
}
LOCAL = {"port_subtype": oids.LLDP_LOC_PORT_ID_SUBTYPE, "port": oids.LLDP_LOC_PORT_ID}


async def walk_lldp(ctx: SwitchContext) -> dict[str, Walk]:
    remote = await ctx.columns("lldpRemTable", REMOTE)
    if not remote["chassis"].rows and not remote["port"].rows:
        return remote
    local = await ctx.columns("lldpLocPortTable", LOCAL)
    return {**remote, **{f"local_{k}": w for k, w in local.items()}}


def parse_lldp(
    ctx: SwitchContext, walks: dict[str, Walk], interfaces: tuple[Interface, ...], port_map: dict[int, int]
) -> tuple[LldpNeighbour, ...]:
    rows: dict[tuple[int, int], dict[str, Value]] = {}
    for column in REMOTE:
        walk = walks[column]
        for oid, value in walk.rows:
            index = suffix(oid, walk.root)
            if len(index) != 3:
                ctx.notes.skip("lldpRemTable", "index is not timeMark.localPort.index", index)
                continue
            rows.setdefault((index[1], index[2]), {})[column] = value
    local_names = _local_port_names(walks)
    by_name = {}
    for i in interfaces:
        for n in (i.descr, i.name):
            if n:
                by_name[n] = i.ifindex
    ifindexes = {i.ifindex for i in interfaces}
    result = []
    for (local_port, _remote), cols in sorted(rows.items()):
        ifindex = _local_ifindex(local_port, local_names, by_name, port_map, ifindexes)
        if ifindex is None:
            ctx.notes.skip("lldpRemTable", "local port maps to no ifIndex (kept, ifindex null)", (local_port,))
        chassis_subtype = int_from_value(cols.get("chassis_subtype"))
        port_subtype = int_from_value(cols.get("port_subtype"))
        result.append(
            LldpNeighbour(
                local_port=local_port,
                ifindex=ifindex,
                chassis_id=_id_text(cols.get("chassis"), mac_subtype=4, addr_subtype=5, subtype=chassis_subtype),
                chassis_id_subtype=chassis_subtype,
                port_id=_id_text(cols.get("port"), mac_subtype=3, addr_subtype=4, subtype=port_subtype),
                port_id_subtype=port_subtype,
                port_descr=text_from_value(cols.get("port_descr")),
                sys_name=text_from_value(cols.get("sys_name")),
                sys_descr=text_from_value(cols.get("sys_descr")),
            )
        )
    return tuple(result)


def _local_port_names(walks: dict[str, Walk]) -> dict[int, str]:
    walk = walks.get("local_port")
    if walk is None:
        return {}
    names = {}
    for oid, value in walk.rows:
        index = suffix(oid, walk.root)
        text = text_from_value(value)
        if len(index) == 1 and text:
            names[index[0]] = text
    return names


def _local_ifindex(
    local_port: int, local_names: dict[int, str], by_name: dict[str, int], port_map: dict[int, int], ifindexes: set[int]
) -> int | None:
    name = local_names.get(local_port)
    if name and name in by_name:
        return by_name[name]
    if local_port in port_map:
        return port_map[local_port]
    if local_port in ifindexes:
        return local_port
    return None


def _id_text(value: Value, *, mac_subtype: int, addr_subtype: int, subtype: int | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, bytes):
        return str(value)
    if subtype == mac_subtype:
        mac = mac_from_bytes(value)
        if mac:
            return mac
    if subtype == addr_subtype and len(value) in (5, 17) and value[0] in (1, 2):
        return str(ipaddress.ip_address(value[1:]))
    text = text_from_value(value)
    if text is not None and text.isprintable():
        return text
    return ":".join(f"{b:02x}" for b in value)
