"""Thresholds per tier, overrides per institution, the verdict and its reasons (pure logic)."""

from __future__ import annotations

import ipaddress

import pytest

from netguard.errors import ConfigError, NetGuardError
from netguard.inventory.model import Tier
from netguard.links.classify import DEFAULT_THRESHOLDS, ThresholdPolicy, classify
from netguard.links.records import IcmpStats, LinkState, LinkTarget, TcpResult, TcpTarget, UplinkHealth
from netguard.links.settings import parse_links_section

ADDR = ipaddress.ip_address("10.13.10.1")


def target(tier: Tier, institution: str = "x") -> LinkTarget:
    return LinkTarget(institution, "某卫生室", tier, "娜姑镇", ADDR)


def stats(*rtts: float | None) -> IcmpStats:
    return IcmpStats.from_rtts(ADDR, rtts, sent=len(rtts))


@pytest.mark.parametrize(
    ("tier", "expected"),
    [(Tier.COUNTY, LinkState.DEGRADED), (Tier.TOWNSHIP, LinkState.DEGRADED), (Tier.VILLAGE, LinkState.UP)],
)
def test_the_same_link_is_judged_by_its_tier(tier: Tier, expected: LinkState) -> None:
    state, reasons = classify(target(tier), stats(80, 82, 81, 79), DEFAULT_THRESHOLDS[tier])
    assert state is expected
    assert bool(reasons) == (expected is LinkState.DEGRADED)


def test_zabbix_defaults_on_village_links_must_be_exceeded() -> None:
    village = DEFAULT_THRESHOLDS[Tier.VILLAGE]
    assert (village.loss_warn, village.rtt_warn_ms) == (20.0, 150.0)
    one_in_five = stats(10, None, 10, 10, 10)  # 20 % is not above 20 %
    assert classify(target(Tier.VILLAGE), one_in_five, village) == (LinkState.UP, ())
    two_in_five = stats(10, None, None, 10, 10)
    state, reasons = classify(target(Tier.VILLAGE), two_in_five, village)
    assert state is LinkState.DEGRADED and reasons == ("loss 40 % > 20 %",)


def test_no_reply_is_down_with_the_errors_seen() -> None:
    lost = IcmpStats.from_rtts(ADDR, [None, None, None], sent=3, errors=["host unreachable (from 10.13.0.1)"] * 2)
    state, reasons = classify(target(Tier.COUNTY), lost, DEFAULT_THRESHOLDS[Tier.COUNTY])
    assert state is LinkState.DOWN
    assert reasons == ("no reply to 3 probes to 10.13.10.1; host unreachable (from 10.13.0.1)",)


def test_services_jitter_and_uplinks_add_reasons() -> None:
    svc = TcpTarget("x", "his01", "his", ADDR, 8080)
    tcp = [TcpResult(svc, False, error="connection refused"), TcpResult(svc, True, connect_ms=400.0)]
    uplinks = [
        UplinkHealth("sw1", "Gi0/1", oper_up=False),
        UplinkHealth("sw1", "Gi0/2", oper_up=True, utilisation_pct=91.26, errors_per_s=2.5),
    ]
    policy = ThresholdPolicy.build(institutions={"x": {"jitter_warn_ms": 5}})
    limits = policy.for_target(target(Tier.VILLAGE))
    state, reasons = classify(target(Tier.VILLAGE), stats(10, 40, 10), limits, tcp, uplinks)
    assert state is LinkState.DEGRADED
    assert reasons == (
        "jitter 30 ms > 5 ms",
        "his01/his 10.13.10.1:8080: connection refused",
        "his01/his 10.13.10.1:8080: connect 400 ms > 150 ms",
        "uplink sw1 Gi0/1 is down",
        "uplink sw1 Gi0/2 at 91.3 % utilisation ≥ 90 %",  # the village limit (Zabbix's {$IF.UTIL.MAX})
        "uplink sw1 Gi0/2: 2.5 errors/s > 2",
    )


def test_overrides_per_tier_and_institution() -> None:
    policy = ThresholdPolicy.build(
        tiers={"village": {"rtt_warn_ms": 300}}, institutions={"vc-far": {"rtt_warn_ms": 600, "loss_warn": 50}}
    )
    assert policy.for_target(target(Tier.VILLAGE, "vc-near")).rtt_warn_ms == 300
    far = policy.for_target(target(Tier.VILLAGE, "vc-far"))
    assert (far.rtt_warn_ms, far.loss_warn, far.loss_down) == (600, 50, 100)
    assert policy.for_target(target(Tier.COUNTY, "hz-x")) == DEFAULT_THRESHOLDS[Tier.COUNTY]
    assert policy.unknown_institutions(["vc-near"]) == ["vc-far"]


@pytest.mark.parametrize(
    ("tiers", "institutions", "message"),
    [
        ({"villages": {}}, None, "unknown tier 'villages'"),
        ({"village": {"rtt_ms": 1}}, None, "tier village: unknown key 'rtt_ms'"),
        (None, {"vc-1": {"loss_warn": "high"}}, "institution vc-1: loss_warn must be a number"),
        (None, {"vc-1": {"loss_warn": 120}}, "loss_warn 120 is out of range"),
        ({"county": {"loss_down": 1}}, None, "loss_down must be above loss_warn"),
        (None, ["vc-1"], "link institutions must be a mapping"),
    ],
)
def test_bad_overrides_name_what_and_where(tiers: object, institutions: object, message: str) -> None:
    with pytest.raises(NetGuardError, match=message):
        ThresholdPolicy.build(tiers, institutions)  # type: ignore[arg-type]


def test_links_section_is_parsed_and_checked() -> None:
    parsed = parse_links_section(
        {
            "count": 10,
            "interval_ms": 500,
            "gap_ms": 0.5,
            "socket": "dgram",
            "thresholds": {"township": {"loss_warn": 2}},
        },
    )
    assert (parsed.check.icmp.count, parsed.check.icmp.interval_ms, parsed.check.icmp.gap_ms) == (10, 500, 0.5)
    assert parsed.check.socket_kind == "dgram"
    assert parsed.policy.tiers[Tier.TOWNSHIP].loss_warn == 2
    with pytest.raises(ConfigError, match="unknown key 'cuont' in links"):
        parse_links_section({"cuont": 3}, "site.yaml")
    with pytest.raises(ConfigError, match=r"site\.yaml: links: count must be at least 1"):
        parse_links_section({"count": 0}, "site.yaml")
    with pytest.raises(ConfigError, match=r"links\.socket must be one of auto, raw, dgram"):
        parse_links_section({"socket": "tcp"})


def test_jitter_is_the_mean_difference_of_consecutive_replies() -> None:
    s = stats(10.0, None, 14.0, 11.0, None)
    assert (s.sent, s.received, s.loss) == (5, 3, 40.0)
    assert (s.rtt_min_ms, s.rtt_avg_ms, s.rtt_max_ms) == (10.0, 11.667, 14.0)
    assert s.jitter_ms == 3.5  # |14-10| and |11-14|, lost probes skipped
    assert stats(5.0).jitter_ms is None and stats(None).rtt_avg_ms is None
