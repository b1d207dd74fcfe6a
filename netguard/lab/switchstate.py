"""Read a lab switch's live state from its namespace, and change it as a SET asks.

:func:`read_snapshot` asks iproute2 (``ip -j -d -s link``, ``ip -j addr``,
``ip -j neigh``, ``bridge -j fdb``) and turns the JSON into a
:class:`~netguard.lab.mib.Snapshot`. :func:`set_admin_status` and
:func:`set_pvid` do what a real switch does for ifAdminStatus and dot1qPvid:
take the veth down or up, or move the port into VLAN Q's bridge.
"""

from __future__ import annotations

from typing import Any

from netguard.lab import netns
from netguard.lab.mib import (
    Address,
    FdbEntry,
    Iface,
    LldpNeighbour,
    Neighbour,
    Snapshot,
    SwitchInfo,
    bridge_vlan,
    port_number,
)


def _iface(raw: dict[str, Any]) -> Iface:
    info = raw.get("linkinfo") or {}
    stats = raw.get("stats64") or raw.get("stats") or {}
    rx, tx = stats.get("rx") or {}, stats.get("tx") or {}
    flags = raw.get("flags") or []
    return Iface(
        ifindex=int(raw["ifindex"]),
        name=str(raw["ifname"]),
        kind=str(info.get("info_kind", "")),
        admin_up="UP" in flags,
        operstate=str(raw.get("operstate", "UNKNOWN")),
        lower_up="LOWER_UP" in flags,
        mac=str(raw.get("address", "")) if raw.get("link_type") == "ether" else "",
        mtu=int(raw.get("mtu", 1500)),
        master=raw.get("master"),
        alias=str(raw.get("ifalias", "")),
        rx_bytes=int(rx.get("bytes", 0)),
        rx_packets=int(rx.get("packets", 0)),
        rx_errors=int(rx.get("errors", 0)),
        tx_bytes=int(tx.get("bytes", 0)),
        tx_packets=int(tx.get("packets", 0)),
        tx_errors=int(tx.get("errors", 0)),
        rx_dropped=int(rx.get("dropped", 0)),
        tx_dropped=int(tx.get("dropped", 0)),
    )


def read_snapshot(namespace: str, info: SwitchInfo, lldp: tuple[LldpNeighbour, ...]) -> Snapshot:
    links = netns.ip_json(namespace, "-d", "-s", "link", "show")
    addrs = netns.ip_json(namespace, "-4", "addr", "show")
    neigh = netns.ip_json(namespace, "-4", "neigh", "show")
    fdb = netns.bridge_json(namespace, "fdb", "show")
    addresses = tuple(
        Address(ip=str(a["local"]), prefixlen=int(a["prefixlen"]), dev=str(link["ifname"]))
        for link in addrs
        for a in link.get("addr_info", [])
        if a.get("family") == "inet"
    )
    neighbours = tuple(
        Neighbour(
            ip=str(n["dst"]),
            mac=str(n.get("lladdr", "")),
            dev=str(n.get("dev", "")),
            state=str((n.get("state") or ["NONE"])[0]),
        )
        for n in neigh
    )
    learned = tuple(
        FdbEntry(mac=str(f["mac"]), port=str(f["ifname"]), bridge=str(f["master"]))
        for f in fdb
        if f.get("master") and f.get("state") != "permanent" and "self" not in (f.get("flags") or [])
    )
    return Snapshot(
        info=info,
        ifaces=tuple(_iface(raw) for raw in links),
        fdb=learned,
        neighbours=neighbours,
        addresses=addresses,
        lldp=lldp,
    )


class SetRefused(Exception):
    """A SET that the switch refuses; ``reason`` is the pass_persist error word."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _port_by_ifindex(namespace: str, ifindex: int) -> str:
    for raw in netns.ip_json(namespace, "link", "show"):
        if int(raw["ifindex"]) == ifindex:
            name = str(raw["ifname"])
            if port_number(name) is None:
                raise SetRefused("not-writable")  # bridges and lo are not ports
            return name
    raise SetRefused("not-writable")  # no such interface: rows cannot be created


def set_admin_status(namespace: str, ifindex: int, value: int) -> None:
    if value not in (1, 2):
        raise SetRefused("wrong-value")
    port = _port_by_ifindex(namespace, ifindex)
    netns.ip(namespace, "link", "set", port, "up" if value == 1 else "down")


def set_pvid(namespace: str, base_port: int, vlan: int) -> None:
    port = f"p{base_port}"
    links = {str(raw["ifname"]): raw for raw in netns.ip_json(namespace, "link", "show")}
    if port not in links:
        raise SetRefused("not-writable")
    target = f"br{vlan}"
    if target not in links or bridge_vlan(target) is None:
        raise SetRefused("inconsistent-value")  # no such VLAN on this switch
    netns.ip(namespace, "link", "set", port, "master", target)
