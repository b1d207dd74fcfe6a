"""The ARP sweep's pure parts: frames against scapy's own parser, target planning, settings,
and the reconciliation of sweep results into a real state store (the sweeper itself is
replaced by recorded results here; test_sweep_lab.py sends real frames)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import struct
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner
from scapy.layers.l2 import ARP, Ether

from cli import main
from netguard.arpsweep import ArpReply, SweepError, SweepOptions, SweepResult, parse_networks, plan_targets
from netguard.arpsweep.frames import parse_reply, reply_filter, request_for, request_template
from netguard.discovery.current import current_devices
from netguard.discovery.settings import DiscoverySettings
from netguard.discovery.sweep_run import plan_sweeps, sweep_and_reconcile, sweep_events
from netguard.inventory import Inventory, load_inventory
from netguard.lab.labfiles import write_inventory
from netguard.lab.topology import plan_county
from netguard.store.db import connect
from netguard.store.sightings import SightingRepository

OWN_MAC = "02:00:00:00:00:fe"
UNMANAGED = "lab-vc1-2"  # 1 township, 2 villages: the second village has no managed switch


@pytest.mark.parametrize("source", ["10.11.12.250", "0.0.0.0"])
def test_a_request_frame_is_byte_for_byte_scapys_who_has(source: str) -> None:
    raw = request_for(request_template(OWN_MAC, source), ipaddress.IPv4Address("10.11.12.66"))
    scapy_built = Ether(dst="ff:ff:ff:ff:ff:ff", src=OWN_MAC) / ARP(
        op=1, hwsrc=OWN_MAC, psrc=source, hwdst="00:00:00:00:00:00", pdst="10.11.12.66"
    )
    assert raw == bytes(scapy_built)
    frame = Ether(raw)
    assert frame.dst == "ff:ff:ff:ff:ff:ff" and frame.src == OWN_MAC and frame.type == 0x0806
    arp = frame[ARP]
    assert (arp.op, arp.hwsrc, arp.psrc, arp.pdst) == (1, OWN_MAC, source, "10.11.12.66")


def test_replies_are_read_and_everything_else_is_not() -> None:
    reply = bytes(Ether(dst=OWN_MAC, src="50:c7:bf:ba:00:02") / ARP(
        op=2, hwsrc="50:c7:bf:ba:00:02", psrc="10.11.12.66", hwdst=OWN_MAC, pdst="10.11.12.250"
    ))  # fmt: skip
    parsed = parse_reply(reply)
    assert parsed is not None
    assert ipaddress.IPv4Address(parsed.sender_ip) == ipaddress.IPv4Address("10.11.12.66")
    assert parsed.sender_mac.hex(":") == "50:c7:bf:ba:00:02" and parsed.target_mac.hex(":") == OWN_MAC
    request = request_for(request_template(OWN_MAC, "0.0.0.0"), ipaddress.IPv4Address("10.0.0.1"))
    assert parse_reply(request) is None  # a who-has, not a reply
    assert parse_reply(reply[:30]) is None  # truncated
    assert parse_reply(bytes(Ether(dst=OWN_MAC, type=0x0800)) + bytes(40)) is None  # IPv4, not ARP


def test_the_kernel_filter_accepts_arp_replies_to_our_mac_only() -> None:
    program = list(struct.iter_unpack("HBBI", reply_filter(OWN_MAC)))
    ks = [insn[3] for insn in program]
    # ethertype ARP, operation 2 (reply), destination 02:00:00:00 + 00:fe, then accept / drop
    assert ks[1] == 0x0806 and ks[3] == 2 and ks[5] == 0x02000000 and ks[7] == 0x00FE
    assert ks[8] > 0 and ks[9] == 0


def test_targets_are_host_addresses_once_without_our_own() -> None:
    nets = parse_networks(["10.1.0.0/30", "10.1.0.0/31", "10.1.0.9/32", "10.1.0.8/29"])
    targets = [str(t) for t in plan_targets(nets, ipaddress.IPv4Address("10.1.0.9"))]
    # /30: .1 .2 (no network, no broadcast); /31: .0 .1 (both usable); /32 is our own; /29: .9-.14 less .9
    assert targets == ["10.1.0.1", "10.1.0.2", "10.1.0.0", *(f"10.1.0.{n}" for n in range(10, 15))]


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        (["10.1.2.300/24"], "'10.1.2.300/24' is not an IPv4 network"),
        (["eth0"], "'eth0' is not an IPv4 network"),
        (["fd00::/64"], "fd00::/64 is IPv6: ARP is IPv4 only"),
    ],
)
def test_networks_that_are_not_ipv4_cidrs_are_refused(texts: list[str], message: str) -> None:
    with pytest.raises(SweepError, match="^" + message.replace("(", r"\(").replace(".", r"\.")):
        parse_networks(texts)


def test_a_slash_8_is_refused_not_cut() -> None:
    with pytest.raises(SweepError) as caught:
        plan_targets(parse_networks(["10.0.0.0/8"]))
    assert str(caught.value) == (
        "10.0.0.0/8 has 16777216 addresses (16777216 in all to sweep); a sweep covers at most 65536:"
        " sweep smaller networks, or raise the limit (--max-hosts)"
    )
    assert len(plan_targets(parse_networks(["10.0.0.0/16"]))) == 65534


def test_options_out_of_range_are_refused() -> None:
    for bad in ({"rate": 0}, {"retries": 11}, {"timeout_ms": 0}, {"deadline_s": 0}, {"max_hosts": 0}):
        with pytest.raises(SweepError, match="out of range"):
            SweepOptions(**bad)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["10.1.2.300/24", "--interface", "nosuch0"], "'10.1.2.300/24' is not an IPv4 network"),
        (["10.0.0.0/8", "--interface", "nosuch0"], "10.0.0.0/8 has 16777216 addresses"),
        (["10.1.2.0/24", "--interface", "nosuch0"], "no network interface 'nosuch0' here (interfaces: "),
        (["10.1.2.0/24", "--interface", "lo"], "interface 'lo' is not Ethernet"),
        (["10.1.2.0/24"], "--interface IFACE is needed"),
        (["--interface", "lo"], "give either a CIDR or --institution ID"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(args: list[str], message: str) -> None:
    # None of these reaches a socket: the networks and the interface are checked first.
    result = CliRunner().invoke(main, ["discover", "sweep", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


# --- discover run's sweeps, on the lab's inventory (written without building the lab) ---


@pytest.fixture
def inventory(tmp_path: Path) -> Inventory:
    path = tmp_path / "inventory.yaml"
    write_inventory(path, plan_county("swp", 1, 2))
    return load_inventory(path)


def test_only_institutions_without_a_switch_are_planned_and_the_rest_are_listed(inventory: Inventory) -> None:
    nothing = plan_sweeps(inventory, DiscoverySettings())
    assert nothing.jobs == ()
    uncovered = nothing.uncovered
    assert [(u.institution, u.reason) for u in uncovered] == [
        (UNMANAGED, "no managed switch, and no sweep interface configured for it")
    ]
    settings = DiscoverySettings("eth9", (("lab-vc1-2", "eth0"), ("nowhere", "eth1")))
    plan = plan_sweeps(inventory, settings)
    assert [(j.institution.id, j.interface, [str(n) for n in j.networks]) for j in plan.jobs] == [
        (UNMANAGED, "eth0", ["10.11.12.0/24"])
    ]
    assert [(u.institution, u.reason) for u in plan.uncovered] == [
        ("nowhere", "discovery.sweep_interfaces names an institution not in the inventory")
    ]


def _recorded(*pairs: tuple[str, str], complete: bool = True) -> SweepResult:
    replies = tuple(ArpReply(ip, mac, None) for ip, mac in pairs)
    return SweepResult("eth0", OWN_MAC, "10.11.12.250", ("10.11.12.0/24",), 253, replies, 506,
                       253 - len(pairs), 0, complete, None if complete else "deadline", 1.0)  # fmt: skip


def test_sweeps_reconcile_into_the_store_with_verdicts_and_events(inventory: Inventory, tmp_path: Path) -> None:
    conn = connect(tmp_path / "state.db")
    repo = SightingRepository(conn, grace_runs=1)
    plan = plan_sweeps(inventory, DiscoverySettings("eth0"))
    lab = plan_county("swp", 1, 2)
    pc, rogue = (h for h in lab.hosts_of("t1v2") if h.role != "probe")
    results = iter(
        [
            _recorded((str(pc.ip), pc.mac), (str(rogue.ip), rogue.mac)),
            _recorded((str(pc.ip), pc.mac), ("10.11.12.77", rogue.mac), complete=False),
            _recorded((str(pc.ip), pc.mac)),
        ]
    )
    asked: list[tuple[str, list[str]]] = []

    def sweeper(iface: str, nets: Sequence[ipaddress.IPv4Network], _o: SweepOptions) -> SweepResult:
        asked.append((iface, [str(n) for n in nets]))
        return next(results)

    def run() -> list[tuple[str, str, str | None, str]]:
        swept = sweep_and_reconcile(inventory, plan, SweepOptions(), repo, sweeper=sweeper)
        events = sweep_events(inventory, swept, dt.datetime.now(dt.UTC))
        assert len(events) == len(swept.changes)
        return [(c.action, c.record.mac, c.record.ip, c.verdict.status.value) for c in swept.changes]

    first = run()
    assert asked == [("eth0", ["10.11.12.0/24"])]
    assert sorted(first) == sorted(
        [
            ("new", pc.mac, str(pc.ip), "authorised"),
            ("new", rogue.mac, str(rogue.ip), "unknown"),
        ]
    )
    rows = {r.mac: r for r in current_devices(repo, inventory)}
    assert rows[rogue.mac].how == ("arp",) and rows[rogue.mac].ips == (str(rogue.ip),)
    assert rows[rogue.mac].institution == UNMANAGED and rows[rogue.mac].port is None
    # The rogue changed its address: a move. An incomplete sweep expires nothing.
    assert run() == [("moved", rogue.mac, "10.11.12.77", "unknown")]
    # A complete sweep without the rogue: gone after one miss (grace_runs 1).
    assert run() == [("gone", rogue.mac, "10.11.12.77", "unknown")]
    assert [r.mac for r in current_devices(repo, inventory)] == [pc.mac]
