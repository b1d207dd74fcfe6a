"""Interfaces: IF-MIB ifTable and ifXTable, one record per ifIndex.

An interface exists when any walked column has a row for its ifIndex, so a
switch without ifXTable (no ifName, ifAlias, ifHighSpeed) still lists its
ports by ifDescr. Speed is ifHighSpeed (Mbit/s) when the agent gives a
non-zero one, else ifSpeed (bit/s) converted, where the gauge's maximum
(4294967295) means "faster than this" and so unknown.
"""

from __future__ import annotations

from netguard.discovery import oids
from netguard.discovery.context import SwitchContext, suffix
from netguard.discovery.decode import int_from_value, is_zero_mac, mac_from_value, text_from_value
from netguard.discovery.records import Interface
from netguard.snmp.values import Value

COLUMNS = {
    "ifDescr": oids.IF_DESCR,
    "ifType": oids.IF_TYPE,
    "ifSpeed": oids.IF_SPEED,
    "ifPhysAddress": oids.IF_PHYS_ADDRESS,
    "ifAdminStatus": oids.IF_ADMIN_STATUS,
    "ifOperStatus": oids.IF_OPER_STATUS,
    "ifName": oids.IF_NAME,
    "ifHighSpeed": oids.IF_HIGH_SPEED,
    "ifAlias": oids.IF_ALIAS,
}
_GAUGE_MAX = 4294967295


async def collect_interfaces(ctx: SwitchContext) -> tuple[Interface, ...]:
    walks = await ctx.columns("interfaces", COLUMNS)
    table: dict[str, dict[int, Value]] = {}
    for column, walk in walks.items():
        values: dict[int, Value] = {}
        for oid, value in walk.rows:
            index = suffix(oid, walk.root)
            if len(index) != 1:
                ctx.notes.skip("interfaces", f"{column}: index is not one ifIndex", index)
                continue
            values[index[0]] = value
        table[column] = values
    ifindexes = sorted(set().union(*(set(v) for v in table.values())))
    result = []
    for ifindex in ifindexes:

        def col(name: str, ifindex: int = ifindex) -> Value:
            return table[name].get(ifindex)

        raw_mac = col("ifPhysAddress")
        mac = None
        if isinstance(raw_mac, bytes) and raw_mac:
            mac = mac_from_value(raw_mac)
            if mac is not None and is_zero_mac(mac):
                mac = None  # loopbacks and NULL interfaces: not an address of the switch
            elif mac is None:
                ctx.notes.skip("interfaces", "ifPhysAddress is not a MAC (interface kept, mac null)", (ifindex,))
        result.append(
            Interface(
                ifindex=ifindex,
                name=text_from_value(col("ifName")),
                descr=text_from_value(col("ifDescr")),
                alias=text_from_value(col("ifAlias")),
                type=int_from_value(col("ifType")),
                admin_status=_status(col("ifAdminStatus"), oids.IF_ADMIN_STATUS_NAMES),
                oper_status=_status(col("ifOperStatus"), oids.IF_OPER_STATUS_NAMES),
                speed_mbps=_speed(col("ifHighSpeed"), col("ifSpeed")),
                mac=mac,
            )
        )
    return tuple(result)


def _status(value: Value, names: dict[int, str]) -> str | None:
    if not isinstance(value, int):
        return None
    return names.get(value, str(value))


def _speed(high: Value, low: Value) -> int | None:
    if isinstance(high, int) and high > 0:
        return high
    if isinstance(low, int) and 0 <= low < _GAUGE_MAX:
        return low // 1_000_000
    return None
