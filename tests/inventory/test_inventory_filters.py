"""Filters on switches, servers and devices, the views they return, and the CLI scope."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from netguard.errors import InventoryError
from netguard.inventory import (
    Device,
    F,
    Institution,
    Inventory,
    Predicate,
    Server,
    Switch,
    load_inventory,
    scope_filter,
)

SMALL = Path(__file__).parent / "data" / "small.yaml"


@pytest.fixture(scope="module")
def inv() -> Inventory:
    return load_inventory(SMALL)


def ids(records) -> list[str]:
    return [r.mac if isinstance(r, Device) else r.id for r in records]


def test_every_access_switch_of_the_village_tier_in_nagu(inv):
    assert ids(inv.switches(role="access", tier="village", township="娜姑镇")) == ["vc-nagu-01-sw1"]
    # The same question asked as institutions first, then switches.
    assert ids(inv.filter(tier="village", township="娜姑镇").switches(role="access")) == ["vc-nagu-01-sw1"]


def test_switch_filters_compose(inv):
    assert ids(inv.switches(F(role="access") & F(township="娜姑镇"))) == ["nagu-acc1", "vc-nagu-01-sw1"]
    assert ids(inv.switches(~F(role="access"))) == ["dc-core1", "rmyy-core1"]
    assert ids(inv.switches(F(tier="county") | F(township="大海乡"), role="access")) == ["dc-acc1", "dahai-acc1"]
    assert ids(inv.switches(institution__kind="township-health-centre")) == ["nagu-acc1", "dahai-acc1"]
    core = inv.switch("dc-core1")
    assert core is not None
    assert ids(inv.switches(management=str(core.management))) == ["dc-core1"]
    assert ids(inv.switches(management__within=f"{core.management}/32")) == ["dc-core1"]


def test_server_filters(inv):
    assert ids(inv.servers(institution="dc")) == ["his-db01"]
    assert ids(inv.servers(address="10.0.0.21")) == ["his-db01"]
    assert ids(inv.servers(address__within="10.0.0.0/24", tier="county")) == ["his-db01"]
    assert ids(inv.servers(address__within="10.1.0.0/16")) == []
    assert ids(inv.servers(Predicate(lambda s: any(v.protocol == "mysql" for v in s.services)))) == ["his-db01"]


def test_device_filters(inv):
    assert ids(inv.devices(kind="pc")) == ["f8:bc:12:00:00:01", "a4:bb:6d:00:00:03", "48:c3:5a:00:00:04"]
    assert ids(inv.devices(kind="pc", tier="county")) == ["f8:bc:12:00:00:01"]
    # Any usual MAC spelling, normalised when the filter is built.
    assert ids(inv.devices(mac="F8-BC-12-00-00-01")) == ["f8:bc:12:00:00:01"]
    assert ids(inv.devices(mac__in={"f8bc.1200.0001", "A4BB6D000003"})) == ["f8:bc:12:00:00:01", "a4:bb:6d:00:00:03"]
    assert ids(inv.devices(ip__within="10.1.0.0/16")) == ["00:0f:14:00:00:02"]
    assert ids(inv.devices(ip="10.29.10.20")) == ["10:c5:95:00:00:05"]
    # A device's own kind, and its institution's kind through institution__.
    assert ids(inv.devices(institution__kind="village-clinic")) == ["48:c3:5a:00:00:04", "10:c5:95:00:00:05"]
    assert ids(inv.devices(kind="pc", institution__kind="village-clinic")) == ["48:c3:5a:00:00:04"]


def test_institution_filters_answer_institution_paths(inv):
    assert [i.id for i in inv.filter(institution__id__in={"rmyy", "dc"})] == ["dc", "rmyy"]
    assert [i.id for i in inv.filter(tier="county")] == ["dc", "rmyy"]


def test_record_views_are_sequences_that_keep_their_root(inv):
    nagu = inv.filter(township="娜姑镇")
    switches = nagu.switches()
    assert isinstance(switches[0], Switch) and len(switches) == 2
    assert switches.root is inv and nagu.root is inv
    narrowed = switches.filter(tier="village")
    assert ids(narrowed) == ["vc-nagu-01-sw1"] and narrowed.root is inv
    assert ids(switches) == ["nagu-acc1", "vc-nagu-01-sw1"]  # the view it came from is unchanged
    assert narrowed.institution_of(narrowed[0]).id == "vc-nagu-01"
    assert ids(inv.switches()) == ids(s for i in inv for s in i.switches)
    assert repr(narrowed).startswith("<1 switches of ")
    assert isinstance(inv.servers()[0], Server)
    assert ipaddress.ip_address("10.0.0.21") in {s.address for s in inv.servers()}


@pytest.mark.parametrize(
    ("kind", "bad", "message"),
    [
        ("institutions", {"role": "access"}, "cannot filter institutions on 'role'"),
        ("devices", {"name": "x"}, "cannot filter devices on 'name'"),
        ("devices", {"management": "10.0.0.1"}, "cannot filter devices on 'management'"),
        ("servers", {"kind": "pc"}, "cannot filter servers on 'kind'"),
    ],
)
def test_a_field_the_record_type_lacks_fails_when_applied(inv, kind, bad, message):
    select = {"institutions": inv.filter, "devices": inv.devices, "servers": inv.servers}[kind]
    with pytest.raises(ValueError, match=message):
        select(**bad)
    with pytest.raises(ValueError, match=message):
        select(F(tier="county") | F(**bad))


@pytest.mark.parametrize(
    "bad",
    [
        {"colour": "red"},
        {"tier": "vilage"},
        {"mac": "not-a-mac"},
        {"ip": "10.0.0.300"},
        {"ip__within": "nonsense"},
        {"role__within": "10.0.0.0/8"},
        {"institution__role": "access"},
        {"institution__kind__near": "x"},
        {"a__b__c": 1},
        {"tier__in": "village"},
    ],
)
def test_filter_mistakes_fail_when_built(bad):
    with pytest.raises(ValueError):
        F(**bad)


def test_the_institution_of_a_record_is_needed_to_match_inherited_fields(inv):
    switch = inv.switches()[0]
    assert F(role="core")(switch)
    with pytest.raises(TypeError):
        F(tier="county")(switch)
    institution: Institution = inv[switch.institution]
    assert F(tier="county")(switch, institution)


def test_scope_filter_from_cli_options(inv):
    scope = scope_filter(inv, townships=["娜姑镇"], tiers=["village"])
    assert [i.id for i in inv.filter(scope)] == ["vc-nagu-01", "vc-nagu-02"]
    assert ids(inv.switches(scope, role="access")) == ["vc-nagu-01-sw1"]
    two = scope_filter(inv, institutions=["rmyy", "thc-nagu"], tiers=["county", "township"])
    assert [i.id for i in inv.filter(two)] == ["rmyy", "thc-nagu"]
    assert ids(inv.devices(two)) == ["f8:bc:12:00:00:01", "00:0f:14:00:00:02", "a4:bb:6d:00:00:03"]
    assert scope_filter(inv) is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"townships": ["娜姑"]}, "no township '娜姑' in .*small.yaml \\(did you mean '娜姑镇'\\?\\)"),
        ({"institutions": ["rmy"]}, "no institution 'rmy' .*did you mean 'rmyy'"),
        ({"tiers": ["city"]}, "no tier 'city' \\(one of county, township, village\\)"),
    ],
)
def test_scope_names_the_inventory_does_not_know_are_user_errors(inv, options, message):
    with pytest.raises(InventoryError, match=message):
        scope_filter(inv.filter(tier="village"), **options)
