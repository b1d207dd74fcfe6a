"""Uplink health as pure logic: counter rates across wraps, speed, port matching (as discovery's), verdicts."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

import pytest

from netguard.discovery.records import Interface
from netguard.discovery.uplinks import find_uplinks, names_port
from netguard.errors import NetGuardError
from netguard.events import Event
from netguard.inventory import load_inventory
from netguard.inventory.model import Tier
from netguard.links.classify import DEFAULT_THRESHOLDS, ThresholdPolicy, classify, judge_uplinks
from netguard.links.recording import link_events
from netguard.links.records import IcmpStats, LinkResult, LinkState, LinkTarget, UplinkHealth
from netguard.links.settings import parse_links_section
from netguard.links.uplinks import (
    COLUMNS,
    WRAP32,
    WRAP64,
    Sample,
    counter_rate,
    match_ports,
    port_health,
    uplink_jobs,
)
from netguard.secrets import SecretResolver
from netguard.snmp.values import Oid, Value

ROOT = Path(__file__).resolve().parents[2]
IFX = 7
T0 = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)


def sample(at: float, **columns: Value) -> Sample:
    values: dict[Oid, Value] = {(*COLUMNS[name], IFX): value for name, value in columns.items()}
    return Sample(at, values)


def test_counter_rate_allows_one_wrap_of_its_width() -> None:
    assert counter_rate(100, 600, 5.0, WRAP32) == 100.0
    assert counter_rate(WRAP32 - 100, 400, 5.0, WRAP32) == 100.0  # wrapped once
    assert counter_rate(WRAP64 - 10, 40, 1.0, WRAP64) == 50.0
    assert counter_rate(None, 5, 1.0, WRAP32) is None
    assert counter_rate(5, b"x", 1.0, WRAP32) is None
    assert counter_rate(5, 10, 0.0, WRAP32) is None


def test_port_health_prefers_64_bit_counters_and_takes_the_busier_direction() -> None:
    first = sample(10.0, oper=1, admin=1, high_speed=100, hc_in_octets=0, hc_out_octets=0, in_octets=0, out_octets=0,
                   in_errors=0, out_errors=0, in_discards=0, out_discards=0)  # fmt: skip
    # 4 s: in 2 MB (4 Mbit/s), out 10 MB (20 Mbit/s): 20 % of 100 Mbit/s. The 32-bit ones say less: not used.
    second = sample(14.0, oper=1, admin=1, high_speed=100, hc_in_octets=2_000_000, hc_out_octets=10_000_000,
                    in_octets=1, out_octets=1, in_errors=8, out_errors=4, in_discards=2, out_discards=0)  # fmt: skip
    h = port_health("sw1", "Gi0/1", IFX, first, second)
    assert h.oper_up is True and h.oper_status == "up" and h.counters == "64-bit"
    assert (h.in_bps, h.out_bps, h.speed_mbps) == (4_000_000.0, 20_000_000.0, 100.0)
    assert h.utilisation_pct == 20.0
    assert (h.errors_per_s, h.discards_per_s, h.interval_s) == (3.0, 0.5, 4.0)


def test_port_health_falls_back_to_32_bit_counters_with_a_wrap_and_if_speed() -> None:
    first = sample(0.0, oper=1, admin=1, speed=10_000_000, in_octets=WRAP32 - 1_000, out_octets=0)
    second = sample(2.0, oper=1, admin=1, speed=10_000_000, in_octets=249_000, out_octets=1_000)
    h = port_health("sw1", "p4", IFX, first, second)
    assert h.counters == "32-bit" and h.speed_mbps == 10.0
    assert h.in_bps == 1_000_000.0 and h.out_bps == 4_000.0
    assert h.utilisation_pct == 10.0
    assert h.errors_per_s is None  # the agent has no error counters: unknown, not zero


def test_an_unknown_speed_leaves_utilisation_unknown() -> None:
    first = sample(0.0, oper=1, speed=4294967295, in_octets=0, out_octets=0)
    second = sample(1.0, oper=1, speed=4294967295, in_octets=10, out_octets=10)
    h = port_health("sw1", "p4", IFX, first, second)
    assert h.in_bps == 80.0 and h.speed_mbps is None and h.utilisation_pct is None


def test_a_port_without_oper_status_is_unknown() -> None:
    h = port_health("sw1", "p4", IFX, sample(0.0), sample(1.0))
    assert h.oper_up is None and h.error


def test_ports_match_by_name_descr_or_ifindex() -> None:
    names = {1: "GE0/0/1", 2: "GE0/0/2"}
    descrs = {1: "GigabitEthernet0/0/1", 2: "GigabitEthernet0/0/2", 3: "Vlanif10"}
    found = match_ports(names, descrs, ["ge0/0/2", "GigabitEthernet0/0/1", "3", "Te1/0/1"])
    assert found == {"ge0/0/2": 2, "GigabitEthernet0/0/1": 1, "3": 3, "Te1/0/1": None}


def _up(util: float | None = 1.0, errors: float | None = 0.0, discards: float | None = 0.0) -> UplinkHealth:
    return UplinkHealth("sw1", "p4", True, utilisation_pct=util, errors_per_s=errors, discards_per_s=discards)


def test_the_uplink_verdict_per_tier() -> None:
    county, village = DEFAULT_THRESHOLDS[Tier.COUNTY], DEFAULT_THRESHOLDS[Tier.VILLAGE]
    assert judge_uplinks([], county) is None
    v = judge_uplinks([_up(util=85.0)], county)
    assert v is not None and v.state == "degraded" and "85 % utilisation ≥ 80 %" in v.reasons[0]
    v = judge_uplinks([_up(util=85.0)], village)  # a village uplink is allowed 90 %
    assert v is not None and v.state == "up"
    v = judge_uplinks([_up(errors=0.5)], county)  # fibre: any error is a fault
    assert v is not None and v.state == "degraded" and "0.5 errors/s > 0" in v.reasons[0]
    v = judge_uplinks([_up(errors=0.5)], village)
    assert v is not None and v.state == "up"
    v = judge_uplinks([_up(discards=12.0)], village)
    assert v is not None and v.state == "degraded" and "discards/s" in v.reasons[0]


def test_down_ports_and_unknown_ports() -> None:
    t = DEFAULT_THRESHOLDS[Tier.TOWNSHIP]
    down = UplinkHealth("sw1", "p5", False, oper_status="lowerLayerDown", admin_status="up")
    unknown = UplinkHealth("sw2", "p1", None, error="127.0.0.9:161: timeout: no answer")
    v = judge_uplinks([_up(), down], t)
    assert v is not None and v.state == "degraded" and v.reasons == ("uplink sw1 p5 is lowerLayerDown",)
    v = judge_uplinks([down, unknown], t)
    assert v is not None and v.state == "down" and v.notes and "timeout" in v.notes[0]
    v = judge_uplinks([unknown], t)
    assert v is not None and v.state == "unknown" and v.reasons == ()
    v = judge_uplinks([_up(), unknown], t)
    assert v is not None and v.state == "unknown"


def _target(tier: Tier) -> LinkTarget:
    return LinkTarget("inst", "名", tier, None, ipaddress.ip_address("127.0.0.1"))


def test_classify_an_unreachable_agent_leaves_the_link_up_and_down_ports_make_it_down() -> None:
    target = _target(Tier.TOWNSHIP)
    icmp = IcmpStats.from_rtts(target.address, [1.0, 1.0], sent=2)
    limits = DEFAULT_THRESHOLDS[Tier.TOWNSHIP]
    unknown = UplinkHealth("sw1", "p4", None, error="timeout")
    assert classify(target, icmp, limits, (), [unknown]) == (LinkState.UP, ())
    down = UplinkHealth("sw1", "p4", False, oper_status="down", admin_status="down")
    state, reasons = classify(target, icmp, limits, (), [down])
    assert state is LinkState.DOWN and reasons == ("uplink sw1 p4 is down (disabled)",)


def test_uplink_thresholds_and_settings_are_checked() -> None:
    policy = ThresholdPolicy.build({"village": {"util_warn_pct": 95, "errors_warn_per_s": 5}})
    assert policy.tiers[Tier.VILLAGE].util_warn_pct == 95.0
    with pytest.raises(NetGuardError, match="util_warn_pct 120 is out of range"):
        ThresholdPolicy.build({"county": {"util_warn_pct": 120}})
    config = parse_links_section({"uplink_interval_ms": 2000, "snmp_timeout_ms": 500, "snmp_retries": 0})
    assert (config.uplinks.interval_ms, config.uplinks.timeout_ms, config.uplinks.retries) == (2000, 500, 0)
    assert config.uplinks.interval_for(config.check.icmp) == 2.0
    default = parse_links_section({"count": 5, "interval_ms": 500})
    assert default.uplinks.interval_for(default.check.icmp) == 2.0  # the span of the five sends
    single = parse_links_section({"count": 1})
    assert single.uplinks.interval_for(single.check.icmp) == 1.0
    with pytest.raises(NetGuardError, match="uplink_interval_ms must be 100 to 30000"):
        parse_links_section({"uplink_interval_ms": 60_000})
    with pytest.raises(NetGuardError, match="snmp_retries"):
        parse_links_section({"snmp_retries": "two"})


def test_each_port_event_has_its_own_state_even_when_one_name_prefixes_another() -> None:
    target = _target(Tier.TOWNSHIP)
    icmp = IcmpStats.from_rtts(target.address, [1.0, 1.0], sent=2)
    limits = DEFAULT_THRESHOLDS[Tier.TOWNSHIP]
    quiet = UplinkHealth("sw1", "Gi0/1", True, utilisation_pct=1.0, oper_status="up")
    busy = UplinkHealth("sw1", "Gi0/1 backup", True, utilisation_pct=95.0, oper_status="up")
    unread = UplinkHealth("sw2", "p1", None, error="timeout")
    verdict = judge_uplinks([quiet, busy, unread], limits)
    assert verdict is not None and verdict.breached == {("sw1", "Gi0/1 backup")}
    state, reasons = classify(target, icmp, limits, (), [quiet, busy, unread])
    result = LinkResult(target, state, reasons, icmp, uplinks=(quiet, busy, unread), uplink=verdict)
    ports = {e.fields["observer.ingress.interface.name"]: e for e in link_events([result], T0) if _is_port(e)}
    assert ports["Gi0/1"].fields["netguard.link.state"] == "up"
    assert ports["Gi0/1 backup"].fields["netguard.link.state"] == "degraded"
    assert ports["p1"].fields["netguard.link.state"] == "unknown"
    # The reason column: the breaches, then the port that could not be read (no empty first part).
    assert result.explanation == f"{reasons[0]}; uplink sw2 p1 unknown: timeout"
    calm = LinkResult(target, LinkState.UP, (), icmp, uplinks=(unread,), uplink=judge_uplinks([unread], limits))
    assert calm.explanation == "uplink sw2 p1 unknown: timeout"


def _is_port(event: Event) -> bool:
    return event.fields.get("netguard.link.probe") == "snmp"


def test_a_switch_whose_credentials_cannot_be_resolved_is_a_job_with_the_reason_not_an_error() -> None:
    inv = load_inventory(ROOT / "examples" / "huize-county.yaml")
    value = "rmyy-legacy-community-value"
    jobs = uplink_jobs(inv, SecretResolver(environ={"SNMP_RMYY_LEGACY_RO": value}), timeout_s=1.0, retries=0)
    by_switch = {j.switch: j for j in jobs}
    assert set(by_switch) == {s.id for s in inv.switches() if s.uplinks}
    legacy = by_switch["hz-rmyy-acc10"]  # env: reference, resolved
    assert legacy.target is not None and legacy.problem is None
    # The county's default credentials are secret: references and no secrets file is configured.
    core = by_switch["hz-dc-core1"]
    assert core.target is None and core.problem is not None and core.problem.startswith("SNMP credentials: ")
    assert all(value not in (j.problem or "") for j in jobs)


def test_links_and_discovery_read_an_inventory_port_name_the_same_way() -> None:
    interfaces = (
        Interface(1, "GE0/0/1", "GigabitEthernet0/0/1", None, 6, "up", "up", 1000, None),
        Interface(2, None, "GigabitEthernet0/0/2", None, 6, "up", "up", 1000, None),
        Interface(7, "Eth-Trunk1", "Eth-Trunk1", None, 53, "up", "up", 2000, None),
        Interface(10, "Vlanif10", None, None, 136, "up", "up", None, None),
    )
    names = {i.ifindex: i.name for i in interfaces if i.name is not None}
    descrs = {i.ifindex: i.descr for i in interfaces if i.descr is not None}
    wanted = [" ge0/0/1 ", "GIGABITETHERNET0/0/2", "eth-trunk1", "7", "vlanif10", "10", "Te1/0/1", "0"]
    by_links = match_ports(names, descrs, wanted)
    for name in wanted:
        uplinks, unmatched = find_uplinks(interfaces, (), (), inventory_uplinks=[name])
        assert [u.ifindex for u in uplinks] == ([] if by_links[name] is None else [by_links[name]]), name
        assert unmatched == (() if by_links[name] is not None else (name,))
        assert [i.ifindex for i in interfaces if names_port(name, i.ifindex, i.name, i.descr)] == [
            u.ifindex for u in uplinks
        ]
    assert by_links == {
        " ge0/0/1 ": 1,
        "GIGABITETHERNET0/0/2": 2,
        "eth-trunk1": 7,
        "7": 7,
        "vlanif10": 10,
        "10": 10,
        "Te1/0/1": None,
        "0": None,
    }
