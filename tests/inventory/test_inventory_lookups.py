"""Lookups, filters and inheritance on a small county that uses every feature once."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from netguard.addresses import is_interface_name, normalize_mac
from netguard.inventory import F, Inventory, Predicate, Tier, load_inventory

SMALL = Path(__file__).parent / "data" / "small.yaml"


@pytest.fixture(scope="module")
def inv() -> Inventory:
    return load_inventory(SMALL)


def ids(view) -> list[str]:
    return [i.id for i in view]


def test_lookup_by_id_and_contains(inv):
    assert inv["rmyy"].name == "县人民医院"
    assert inv.by_id("nope") is None
    assert "vc-nagu-01" in inv and "nope" not in inv
    with pytest.raises(KeyError):
        inv["nope"]


@pytest.mark.parametrize("spelling", ["f8:bc:12:00:00:01", "F8-BC-12-00-00-01", "f8bc.1200.0001", "F8BC12000001"])
def test_lookup_by_mac_accepts_every_usual_spelling(inv, spelling):
    device = inv.by_mac(spelling)
    assert device is not None
    assert (device.mac, device.institution, device.owner) == ("f8:bc:12:00:00:01", "rmyy", "张伟")


def test_lookup_by_mac_unknown_or_malformed(inv):
    assert inv.by_mac("f8:bc:12:00:00:99") is None
    assert inv.by_mac("garbage") is None


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("10.0.0.0", "dc"),
        ("10.0.1.255", "dc"),
        ("10.0.2.77", "dc"),
        ("10.1.3.200", "rmyy"),
        ("10.1.4.50", "rmyy"),
        ("10.13.1.255", "thc-nagu"),
        ("10.13.10.9", "vc-nagu-01"),
        ("10.29.100.254", "pc-dahai-01"),
        ("10.0.3.0", None),
        ("10.13.2.0", None),
        ("9.255.255.255", None),
        ("192.168.1.1", None),
        ("::1", None),
        ("not-an-ip", None),
    ],
)
def test_lookup_by_ip_finds_the_institution_through_its_subnets(inv, ip, expected):
    found = inv.by_ip(ip)
    assert (found.id if found else None) == expected


def test_lookup_by_ip_accepts_address_objects_and_bound_devices(inv):
    assert inv.by_ip(ipaddress.ip_address("10.29.10.20")).id == "vc-dahai-01"
    device = inv.device_by_ip("10.29.10.20")
    assert device is not None and device.kind == "printer"
    assert inv.device_by_ip("10.29.10.21") is None


def test_village_inherits_township_from_its_parent(inv):
    assert inv["vc-nagu-01"].township == "娜姑镇"
    assert inv["pc-dahai-01"].township == "大海乡"
    assert inv["rmyy"].township is None
    assert inv.parent_of(inv["vc-nagu-01"]).id == "thc-nagu"
    assert ids(inv.children("thc-dahai")) == ["vc-dahai-01", "pc-dahai-01"]
    assert inv.township_centre("大海乡").id == "thc-dahai"


@pytest.mark.parametrize(
    ("switch", "source", "reference", "vlan"),
    [
        ("dc-acc1", "switch", "env:SNMP_LEGACY_RO", 999),
        ("dc-core1", "institution", "secret:dc-auth", 999),
        ("rmyy-core1", "defaults.tiers.county", "secret:county-auth", 4000),
        ("dahai-acc1", "defaults.townships.大海乡", "secret:snmp-dahai-ro", 999),
        ("nagu-acc1", "defaults.tiers.township", "env:SNMP_TOWNSHIP_RO", 999),
        ("vc-nagu-01-sw1", "defaults", "secret:snmp-village-ro", 999),
    ],
)
def test_switch_settings_come_from_the_most_specific_level(inv, switch, source, reference, vlan):
    sw = inv.switch(switch)
    assert sw is not None
    assert sw.snmp_from == source
    assert reference in [str(r) for r in sw.snmp.refs()]
    assert sw.quarantine_vlan == vlan


def test_snmp_v3_fields(inv):
    snmp = inv.switch("rmyy-core1").snmp
    assert (snmp.version, snmp.user, snmp.auth_protocol, snmp.priv_protocol) == ("3", "nms", "SHA256", "AES128")
    assert snmp.security_level == "authPriv"
    assert (str(snmp.auth_key), str(snmp.priv_key), snmp.community) == (
        "secret:county-auth",
        "secret:county-priv",
        None,
    )


def test_servers_services_and_transport(inv):
    server = inv.server("his-db01")
    assert server is not None and server.institution == "dc"
    assert [(s.name, s.port, s.protocol, s.transport, str(s.address)) for s in server.services] == [
        ("ssh", 22, "ssh", "tcp", "10.0.0.21"),
        ("mysql", 3306, "mysql", "tcp", "10.0.0.21"),
    ]


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"ip": "10.0.0.20"}, "HIS 数据库 VIP"),
        ({"mac": "000F.1400.0002"}, "关键医疗设备"),
        ({"ip": "10.13.0.1"}, "gateway of thc-nagu"),
        ({"ip": "10.0.0.1"}, "gateway of dc"),
        ({"ip": "10.1.4.2"}, "management address of switch rmyy-core1"),
        ({"ip": "10.0.0.21"}, "server his-db01"),
        ({"mac": "00:25:90:00:00:21"}, "server his-db01"),
        ({"ip": "10.13.10.77"}, None),
        ({"mac": "f8:bc:12:00:00:01"}, None),
    ],
)
def test_protected_reason(inv, kwargs, reason):
    assert inv.protected_reason(**kwargs) == reason


def test_filters_compose_like_nornir(inv):
    assert ids(inv.filter(F(tier="village") & F(township="娜姑镇"))) == ["vc-nagu-01", "vc-nagu-02"]
    assert ids(inv.filter(F(tier="county") | F(township="大海乡"))) == [
        "dc", "rmyy", "thc-dahai", "vc-dahai-01", "pc-dahai-01",
    ]  # fmt: skip
    assert ids(inv.filter(~F(tier=Tier.VILLAGE) & ~F(tier="county"))) == ["thc-nagu", "thc-dahai"]
    assert ids(inv.filter(F(kind__in={"private-clinic", "hospital"}))) == ["rmyy", "pc-dahai-01"]
    assert ids(inv.filter(F(name__contains="卫生院"))) == ["thc-nagu", "thc-dahai"]
    assert ids(inv.filter(F(id__startswith="vc-", township__ne="娜姑镇"))) == ["vc-dahai-01"]
    assert ids(inv.filter(Predicate(lambda i: len(i.devices) > 1))) == ["rmyy"]
    assert ids(inv.filter(tier="township")) == ["thc-nagu", "thc-dahai"]


def test_a_filter_returns_a_new_view_and_leaves_the_inventory_alone(inv):
    view = inv.filter(F(township="大海乡"))
    assert len(view) == 3 and len(inv) == 8
    assert view.root is inv and inv.root is inv
    # Lookups on a view see only its institutions; county-wide facts stay available.
    assert view.by_ip("10.13.10.9") is None and inv.by_ip("10.13.10.9") is not None
    assert view.by_mac("f8:bc:12:00:00:01") is None
    assert view.data_centre_institution().id == "dc"
    assert view.protected_reason(ip="10.0.0.20") == "HIS 数据库 VIP"
    assert ids(view.filter(F(tier="village"))) == ["vc-dahai-01", "pc-dahai-01"]
    assert view.filter(F(tier="village")).root is inv


@pytest.mark.parametrize("bad", [{"colour": "red"}, {"tier__near": "x"}, {"id__in": "abc"}, {}])
def test_filter_mistakes_fail_loudly(bad):
    with pytest.raises(ValueError):
        F(**bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AA-BB-CC-DD-EE-FF", "aa:bb:cc:dd:ee:ff"),
        ("aabb.ccdd.eeff", "aa:bb:cc:dd:ee:ff"),
        ("AABBCCDDEEFF", "aa:bb:cc:dd:ee:ff"),
        ("aabb-ccdd-eeff", "aa:bb:cc:dd:ee:ff"),
        (" aa:bb:cc:dd:ee:ff ", "aa:bb:cc:dd:ee:ff"),
        ("AA BB CC DD EE FF", "aa:bb:cc:dd:ee:ff"),
    ],
)
def test_normalize_mac(text, expected):
    assert normalize_mac(text) == expected


@pytest.mark.parametrize("text", ["a:b:c:d:e:f", "aa:bb:cc:dd:ee", "aa:bb-cc:dd:ee:ff", "aabbccddeeff00", "", "gg" * 6])
def test_normalize_mac_refuses_typos(text):
    with pytest.raises(ValueError):
        normalize_mac(text)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("eth1", True),
        ("ens19.107", True),
        ("x" * 15, True),
        ("x" * 16, False),
        ("网卡" * 2, True),  # 12 bytes
        ("网卡" * 3, False),  # 6 characters, 18 bytes: over the kernel's 15
        ("", False),
        ("eth 0", False),
        ("eth0:1", False),
        ("../eth0", False),
        ("eth0\n", False),
    ],
)
def test_interface_names_as_linux_takes_them(text, ok):
    assert is_interface_name(text) is ok
