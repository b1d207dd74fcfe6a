"""The forwarding table: which MAC was learned on which port, in which VLAN.

Algorithm (Netdisco's and NAV's, with their fallbacks):

1. dot1dBasePortIfIndex maps bridge port numbers to ifIndex. Some switches
   leave it empty; then a bridge port is taken as the ifIndex of the same
   number when such an interface exists (true on most of them), and that
   assumption is noted.
2. Q-BRIDGE dot1qTpFdbPort is indexed by (FDB id, MAC). The FDB id is turned
   into a VLAN with dot1qVlanFdbId when the switch has it, else the FDB id is
   the VLAN (the usual independent-VLAN-learning case).
3. A switch without Q-BRIDGE rows falls back to BRIDGE-MIB dot1dTpFdbPort,
   indexed by MAC alone: no VLAN.
4. Rows whose status is ``invalid`` or ``self`` (the switch's own MACs) are
   skipped; so are rows on bridge port 0 (the MAC is known but not on a
   port) and rows whose index or port does not parse. Every skip is counted.
   A row whose bridge port maps to no ifIndex is kept with ``ifindex`` null.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from netguard.discovery import oids
from netguard.discovery.context import SwitchContext, suffix
from netguard.discovery.decode import mac_from_index
from netguard.discovery.records import FdbEntry

if TYPE_CHECKING:  # types only: importing the discovery package loads no pysnmp API
    from netguard.snmp.client import Walk

_SKIP_STATUS = {2: "invalid", 4: "self"}


async def collect_port_map(ctx: SwitchContext) -> dict[int, int]:
    """Bridge port -> ifIndex."""
    walk = await ctx.walk("dot1dBasePortIfIndex", oids.DOT1D_BASE_PORT_IFINDEX)
    ports: dict[int, int] = {}
    for oid, value in walk.rows:
        index = suffix(oid, walk.root)
        if len(index) != 1 or not isinstance(value, int):
            ctx.notes.skip("dot1dBasePortIfIndex", "row does not parse", index)
            continue
        ports[index[0]] = value
    return ports


async def walk_fdb(ctx: SwitchContext) -> tuple[str, dict[str, Walk]]:
    """The raw FDB walks: Q-BRIDGE when it has rows, else BRIDGE-MIB."""
    q = await ctx.columns(
        "dot1qTpFdbTable",
        {"port": oids.DOT1Q_TP_FDB_PORT, "status": oids.DOT1Q_TP_FDB_STATUS, "vlan": oids.DOT1Q_VLAN_FDB_ID},
    )
    if q["port"].rows:
        return "q-bridge", q
    d = await ctx.columns("dot1dTpFdbTable", {"port": oids.DOT1D_TP_FDB_PORT, "status": oids.DOT1D_TP_FDB_STATUS})
    return "bridge", d


def parse_fdb(
    ctx: SwitchContext, source: str, walks: dict[str, Walk], port_map: dict[int, int], ifindexes: set[int]
) -> tuple[FdbEntry, ...]:
    table = "dot1qTpFdbTable" if source == "q-bridge" else "dot1dTpFdbTable"
    key_len = 7 if source == "q-bridge" else 6
    statuses = {suffix(o, walks["status"].root): v for o, v in walks["status"].rows}
    fdb_vlan = _fdb_id_to_vlan(walks["vlan"]) if "vlan" in walks else {}
    entries: dict[tuple[str, int | None, int], FdbEntry] = {}
    for oid, value in walks["port"].rows:
        index = suffix(oid, walks["port"].root)
        mac = mac_from_index(index[-6:]) if len(index) == key_len else None
        if mac is None:
            ctx.notes.skip(table, "index is not a MAC", index)
            continue
        if not isinstance(value, int):
            ctx.notes.skip(table, "port is not an integer", index)
            continue
        status_value = statuses.get(index)
        if isinstance(status_value, int) and status_value in _SKIP_STATUS:
            ctx.notes.skip(table, f"status {_SKIP_STATUS[status_value]}", index)
            continue
        if value == 0:
            ctx.notes.skip(table, "bridge port 0 (MAC not on a port)", index)
            continue
        vlan = None
        if source == "q-bridge":
            fdb_id = index[0]
            vlan = fdb_vlan.get(fdb_id, fdb_id) or None
        ifindex = _ifindex(ctx, table, value, port_map, ifindexes, index)
        status = oids.FDB_STATUS_NAMES.get(status_value, str(status_value)) if isinstance(status_value, int) else None
        entry = FdbEntry(mac=mac, bridge_port=value, ifindex=ifindex, vlan=vlan, status=status, source=source)
        entries[(mac, vlan, value)] = entry
    return tuple(entries.values())


def _ifindex(
    ctx: SwitchContext, table: str, port: int, port_map: dict[int, int], ifindexes: set[int], index: tuple[int, ...]
) -> int | None:
    if port in port_map:
        return port_map[port]
    if not port_map and port in ifindexes:
        ctx.notes.skip(table, "bridge port taken as ifIndex: no dot1dBasePortIfIndex (row kept)", index)
        return port
    ctx.notes.skip(table, "bridge port maps to no ifIndex (row kept, ifindex null)", index)
    return None


def _fdb_id_to_vlan(walk: Walk) -> dict[int, int]:
    """dot1qVlanFdbId is indexed by (time mark, VLAN) and holds the FDB id."""
    mapping: dict[int, int] = {}
    for oid, value in walk.rows:
        index = suffix(oid, walk.root)
        if len(index) == 2 and isinstance(value, int) and value:
            mapping.setdefault(value, index[1])
    return mapping
