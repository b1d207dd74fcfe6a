"""ARP (IP -> MAC) tables: IP-MIB ipNetToMediaTable and ipNetToPhysicalTable.

ipNetToMediaPhysAddress is indexed by (ifIndex, IPv4 a.b.c.d).
ipNetToPhysicalPhysAddress is indexed by (ifIndex, address type, address),
where the address is length-prefixed as the SMI says for a variable-length
OCTET STRING index; some agents leave the length out, so both forms are
read. Zoned addresses (types 3 and 4) are skipped and counted. The two
tables usually hold the same IPv4 entries: one record per (IP, MAC, ifIndex)
is kept, naming the tables it came from. Entries with an empty or all-zero
MAC are incomplete resolutions, skipped and counted.
"""

from __future__ import annotations

import ipaddress

from netguard.addresses import normalize_ip
from netguard.discovery import oids
from netguard.discovery.context import SwitchContext, suffix
from netguard.discovery.decode import is_zero_mac, mac_from_value
from netguard.discovery.records import ArpEntry
from netguard.snmp.values import Oid

_ADDR_LEN = {1: 4, 2: 16}


async def collect_arp(ctx: SwitchContext) -> tuple[ArpEntry, ...]:
    walks = await ctx.columns(
        "arp", {"ipNetToMedia": oids.IP_NET_TO_MEDIA_PHYS, "ipNetToPhysical": oids.IP_NET_TO_PHYSICAL_PHYS}
    )
    found: dict[tuple[str, str, int], list[str]] = {}
    for source, walk in walks.items():
        for oid, value in walk.rows:
            index = suffix(oid, walk.root)
            parsed = _media_index(index) if source == "ipNetToMedia" else _physical_index(index)
            if isinstance(parsed, str):
                ctx.notes.skip(source, parsed, index)
                continue
            ifindex, ip = parsed
            if value == b"":
                ctx.notes.skip(source, "empty MAC (incomplete entry)", index)
                continue
            mac = mac_from_value(value)
            if mac is None:
                ctx.notes.skip(source, "MAC does not parse", index)
                continue
            if is_zero_mac(mac):
                ctx.notes.skip(source, "all-zero MAC (incomplete entry)", index)
                continue
            sources = found.setdefault((ip, mac, ifindex), [])
            if source not in sources:
                sources.append(source)
    return tuple(ArpEntry(ip=ip, mac=mac, ifindex=i, source=",".join(s)) for (ip, mac, i), s in found.items())


def _media_index(index: Oid) -> tuple[int, str] | str:
    if len(index) != 5 or any(not 0 <= p <= 255 for p in index[1:]):
        return "index is not ifIndex.a.b.c.d"
    return index[0], ".".join(str(p) for p in index[1:])


def _physical_index(index: Oid) -> tuple[int, str] | str:
    if len(index) < 3:
        return "index too short"
    ifindex, addr_type, rest = index[0], index[1], index[2:]
    if addr_type not in _ADDR_LEN:
        return f"address type {addr_type} (zoned or unknown) not read"
    size = _ADDR_LEN[addr_type]
    if len(rest) == size + 1 and rest[0] == size:
        rest = rest[1:]
    if len(rest) != size or any(not 0 <= p <= 255 for p in rest):
        return "address in index does not parse"
    ip = ipaddress.ip_address(bytes(rest))
    return ifindex, normalize_ip(str(ip))
