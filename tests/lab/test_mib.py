"""The lab switch's MIB from a snapshot (pure): order, tables, and the agent's pass_persist dialogue."""

from __future__ import annotations

import io
import itertools

from netguard.lab.agent import Agent, serve
from netguard.lab.mib import (
    DOT1D_BASE_PORT_TABLE,
    DOT1D_TP_FDB,
    DOT1Q_PVID,
    DOT1Q_TP_FDB,
    IF_TABLE,
    IP_NET_TO_MEDIA,
    LLDP_REM,
    Address,
    FdbEntry,
    Iface,
    LldpNeighbour,
    MibView,
    Neighbour,
    Snapshot,
    SwitchInfo,
    build_mib,
    format_oid,
    parse_oid,
    port_bitmap,
)

MAC_A = "18:66:da:c0:01:01"
MAC_B = "50:c7:bf:ba:01:02"


def _iface(ifindex: int, name: str, kind: str, master: str | None = None, up: bool = True) -> Iface:
    return Iface(
        ifindex=ifindex,
        name=name,
        kind=kind,
        admin_up=up,
        operstate="UP" if up else "DOWN",
        lower_up=up,
        mac="00:e0:fc:1a:00:01",
        mtu=1500,
        master=master,
    )


def snapshot(p3_up: bool = True) -> Snapshot:
    return Snapshot(
        info=SwitchInfo("sw1", "lab switch", "00:e0:fc:1a:00:01", ((10, "office"),)),
        ifaces=(
            _iface(1, "lo", "", up=True),
            _iface(2, "br1", "bridge"),
            _iface(3, "br10", "bridge"),
            _iface(4, "br999", "bridge"),
            _iface(7, "p1", "veth", "br10"),
            _iface(9, "p2", "veth", "br999"),
            _iface(12, "p3", "veth", "br1", up=p3_up),
        ),
        fdb=(
            FdbEntry(MAC_A, "p1", "br10"),
            FdbEntry(MAC_B, "p2", "br999"),
            FdbEntry("00:e0:fc:1a:00:00", "p3", "br1"),
            FdbEntry("aa:bb:cc:dd:ee:ff", "br10", "br10"),  # not a port: ignored
        ),
        neighbours=(
            Neighbour("10.11.0.10", MAC_A, "br10", "REACHABLE"),
            Neighbour("10.11.0.99", "", "br10", "FAILED"),
        ),
        addresses=(Address("10.11.0.1", 24, "br10"),),
        lldp=(LldpNeighbour("p3", "00:e0:fc:1a:00:00", "p4", "dc-sw", "core", "10.255.0.1"),),
    )


def test_oids_strictly_increasing_and_unique() -> None:
    entries = build_mib(snapshot())
    oids = [e[0] for e in entries]
    assert all(a < b for a, b in itertools.pairwise(oids))
    assert parse_oid(format_oid(oids[5])) == oids[5]


def test_tables_follow_the_snapshot() -> None:
    view = MibView(build_mib(snapshot()))
    assert view.get((*IF_TABLE, 2, 7)) == ((*IF_TABLE, 2, 7), "string", "p1")
    assert view.get((*IF_TABLE, 2, 1)) is None  # lo is not an interface of the switch
    assert view.get((*DOT1D_BASE_PORT_TABLE, 2, 3)) == ((*DOT1D_BASE_PORT_TABLE, 2, 3), "integer", "12")
    a = tuple(int(x, 16) for x in MAC_A.split(":"))
    b = tuple(int(x, 16) for x in MAC_B.split(":"))
    assert view.get((*DOT1Q_TP_FDB, 2, 10, *a)) is not None
    assert view.get((*DOT1Q_TP_FDB, 2, 999, *b)) == ((*DOT1Q_TP_FDB, 2, 999, *b), "integer", "2")
    assert view.get((*DOT1D_TP_FDB, 2, *a)) == ((*DOT1D_TP_FDB, 2, *a), "integer", "1")
    assert view.get((*DOT1D_TP_FDB, 2, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF)) is None
    assert view.get((*DOT1Q_PVID, 2)) == ((*DOT1Q_PVID, 2), "gauge", "999")
    assert view.get((*IP_NET_TO_MEDIA, 2, 3, 10, 11, 0, 10)) == (
        (*IP_NET_TO_MEDIA, 2, 3, 10, 11, 0, 10),
        "octet",
        "18 66 da c0 01 01",
    )
    assert view.get((*IP_NET_TO_MEDIA, 2, 3, 10, 11, 0, 99)) is None  # FAILED entries are not ARP
    assert view.get((*LLDP_REM, 9, 0, 3, 1)) == ((*LLDP_REM, 9, 0, 3, 1), "string", "dc-sw")


def test_lldp_neighbour_disappears_when_its_port_is_down() -> None:
    view = MibView(build_mib(snapshot(p3_up=False)))
    assert view.get((*LLDP_REM, 9, 0, 3, 1)) is None
    assert view.get((*IF_TABLE, 7, 12))[2] == "2"  # type: ignore[index]


def test_next_stays_inside_the_root() -> None:
    view = MibView(build_mib(snapshot()))
    lldp_root = (1, 0, 8802, 1, 1, 2)
    last_lldp = [e[0] for e in view.entries if e[0][: len(lldp_root)] == lldp_root][-1]
    assert view.next(last_lldp, lldp_root) is None  # the IF-MIB that follows belongs to another handler
    first = view.next((1, 3, 6, 1, 2, 1), (1, 3, 6, 1, 2, 1))
    assert first is not None and first[0][:7] == (1, 3, 6, 1, 2, 1, 2)


def test_port_bitmap() -> None:
    assert port_bitmap([1]) == "80"
    assert port_bitmap([1, 2, 9]) == "c0 80"
    assert port_bitmap([]) == "00"


class CannedAgent(Agent):
    """The real protocol handling over a fixed snapshot (no namespace)."""

    def __init__(self) -> None:
        super().__init__("none", snapshot().info, (), (1, 3, 6, 1, 2, 1))

    def _view(self, oid: tuple[int, ...], continuing: bool) -> MibView:
        return MibView(build_mib(snapshot()))


def test_pass_persist_dialogue() -> None:
    agent = CannedAgent()
    requests = (
        "PING\n"
        "get\n.1.3.6.1.2.1.2.2.1.2.7\n"
        "get\n.1.3.6.1.2.1.2.2.1.2.1\n"
        "getnext\n.1.3.6.1.2.1.2.2.1.2.7\n"
        "set\n.1.3.6.1.2.1.2.2.1.2.7\nstring foo\n"
        "set\n.1.3.6.1.2.1.2.2.1.7.7\nstring down\n"
        "getnext\n.1.3.6.1.2.1.99\n"
    )
    out = io.StringIO()
    serve(agent, io.StringIO(requests), out)
    assert out.getvalue().splitlines() == [
        "PONG",
        ".1.3.6.1.2.1.2.2.1.2.7",
        "string",
        "p1",
        "NONE",
        ".1.3.6.1.2.1.2.2.1.2.9",
        "string",
        "p2",
        "not-writable",
        "wrong-type",
        "NONE",
    ]
