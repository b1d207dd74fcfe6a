"""Each kind of broken inventory gets its own precise error: file, line, field path, message.

Every case is a complete small inventory; the line that must be reported
carries the marker ``# <-``, so the expected line number is read from the
text instead of being counted by hand.
"""

from __future__ import annotations

import textwrap

import pytest

from netguard.errors import EXIT_FINDINGS, EXIT_USAGE, InventoryError
from netguard.inventory import InventoryInvalid, Severity, check_text, load_inventory

HEAD = """\
county: {name: 测试县}
data_centre: dc
defaults:
  snmp: {version: 2c, community: "secret:snmp-ro"}
institutions:
  - id: dc
    name: 数据中心
    tier: county
    subnets: [10.0.0.0/24]
    gateway: 10.0.0.1
  - id: thc-a
    name: 甲镇卫生院
    tier: township
    township: 甲镇
    subnets: [10.10.0.0/24]
    gateway: 10.10.0.1
"""

MARK = "# <-"


def run(body: str, head: str = HEAD):
    text = head + textwrap.indent(textwrap.dedent(body), "  ")
    lines = text.splitlines()
    marked = [n + 1 for n, line in enumerate(lines) if MARK in line]
    return check_text(text, "t.yaml"), marked


CASES = {
    "bad MAC": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
            devices:
              - {mac: "aa:bb:cc:dd:ee:zz", kind: pc}  # <-
        """,
        "institutions[2].devices[0].mac",
        "'aa:bb:cc:dd:ee:zz' is not a valid MAC address",
    ),
    "invalid subnet": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets:
              - 10.1.300.0/24  # <-
            gateway: 10.10.1.1
        """,
        "institutions[2].subnets[0]",
        "'10.1.300.0/24' is not a valid subnet",
    ),
    "host bits in subnet": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets: [10.10.1.5/24]  # <-
            gateway: 10.10.1.1
        """,
        "institutions[2].subnets[0]",
        "has host bits set (did you mean 10.10.1.0/24?)",
    ),
    "gateway outside subnet": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets: [10.10.1.0/24]
            gateway: 10.10.2.1  # <-
        """,
        "institutions[2].gateway",
        "gateway 10.10.2.1 is outside its subnet (10.10.1.0/24)",
    ),
    "gateway is the network address": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.0  # <-
        """,
        "institutions[2].gateway",
        "is the network address of 10.10.1.0/24",
    ),
    "subnet gateway outside its subnet": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets:
              - {network: 10.10.1.0/24, gateway: 10.10.9.1}  # <-
            gateway: 10.10.1.1
        """,
        "institutions[2].subnets[0].gateway",
        "gateway 10.10.9.1 is outside its subnet",
    ),
    "duplicate institution id": (
        """\
          - id: thc-a  # <-
            name: 乙镇卫生院
            tier: township
            township: 乙镇
            subnets: [10.11.0.0/24]
            gateway: 10.11.0.1
        """,
        "institutions[2].id",
        "duplicate institution id 'thc-a'",
    ),
    "unknown parent": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-b  # <-
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
        """,
        "institutions[2].parent",
        "unknown parent 'thc-b' (did you mean 'thc-a'?)",
    ),
    "unknown tier": (
        """\
          - id: v1
            name: 村卫生室
            tier: hamlet  # <-
            parent: thc-a
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
        """,
        "institutions[2].tier",
        "unknown tier 'hamlet' (one of: county, township, village)",
    ),
    "village whose parent is not a township": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: dc  # <-
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
        """,
        "institutions[2].parent",
        "a village institution's parent must be a township institution; 'dc' is county",
    ),
    "village without parent": (
        """\
          - id: v1  # <-
            name: 村卫生室
            tier: village
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
        """,
        "institutions[2]",
        "missing required field 'parent'",
    ),
    "village township differs from its parent's": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            township: 乙镇  # <-
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
        """,
        "institutions[2].township",
        "township '乙镇' differs from its parent's ('甲镇')",
    ),
    "unknown key (typo)": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets: [10.10.1.0/24]
            gatway: 10.10.1.1  # <-
            gateway: 10.10.1.1
        """,
        "institutions[2]",
        "unknown key 'gatway' (did you mean 'gateway'?)",
    ),
    "missing required field": (
        """\
          - id: v1  # <-
            tier: village
            parent: thc-a
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
        """,
        "institutions[2]",
        "missing required field 'name'",
    ),
    "duplicate key": (
        """\
          - id: v1
            name: 村卫生室
            name: 另一个名字  # <-
            tier: village
            parent: thc-a
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
        """,
        "institutions[2].name",
        "duplicate key 'name'",
    ),
    "secret written inline without a scheme": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
            switches:
              - id: sw1
                management: 10.10.1.2
                snmp: {version: 2c, community: public}  # <-
        """,
        "institutions[2].switches[0].snmp.community",
        "a secret must be a reference",
    ),
    "secret reference with an unknown scheme": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
            switches:
              - id: sw1
                management: 10.10.1.2
                snmp: {version: 2c, community: "vault:snmp"}  # <-
        """,
        "institutions[2].switches[0].snmp.community",
        "a secret must be a reference",
    ),
    "SNMP v3 auth protocol without its key": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
            switches:
              - id: sw1
                management: 10.10.1.2
                snmp: {version: 3, user: nms, auth_protocol: SHA}  # <-
        """,
        "institutions[2].switches[0].snmp",
        "'auth_protocol' and 'auth_key' go together: missing 'auth_key'",
    ),
    "SNMP unknown auth protocol": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
            switches:
              - id: sw1
                management: 10.10.1.2
                snmp: {version: 3, user: nms, auth_protocol: SHA999, auth_key: "secret:k"}  # <-
        """,
        "institutions[2].switches[0].snmp.auth_protocol",
        "unknown protocol 'SHA999'",
    ),
    "switch management address invalid": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
            switches:
              - {id: sw1, management: 10.10.1.256}  # <-
        """,
        "institutions[2].switches[0].management",
        "'10.10.1.256' is not a valid IP address",
    ),
    "duplicate switch id": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
            switches:
              - {id: sw1, management: 10.10.1.2}
              - {id: sw1, management: 10.10.1.3}  # <-
        """,
        "institutions[2].switches[1].id",
        "duplicate switch id 'sw1'",
    ),
    "duplicate switch management address": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
            switches:
              - {id: sw1, management: 10.10.1.2}
              - {id: sw2, management: 10.10.1.2}  # <-
        """,
        "institutions[2].switches[1].management",
        "management address 10.10.1.2 is used twice",
    ),
    "duplicate server id": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
            servers:
              - {id: his, address: 10.10.1.10}
              - {id: his, address: 10.10.1.11}  # <-
        """,
        "institutions[2].servers[1].id",
        "duplicate server id 'his'",
    ),
    "service port out of range": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
            servers:
              - id: his
                address: 10.10.1.10
                services:
                  - {name: web, port: 70000}  # <-
        """,
        "institutions[2].servers[0].services[0].port",
        "70000 is out of range (1-65535)",
    ),
    "duplicate authorised MAC, other spelling": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
            devices:
              - {mac: "aa:bb:cc:dd:ee:01", kind: pc}
              - {mac: AABB.CCDD.EE01, kind: pc}  # <-
        """,
        "institutions[2].devices[1].mac",
        "MAC aa:bb:cc:dd:ee:01 is authorised twice",
    ),
    "duplicate bound IP": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
            devices:
              - {mac: "aa:bb:cc:dd:ee:01", ip: 10.10.1.20}
              - {mac: "aa:bb:cc:dd:ee:02", ip: 10.10.1.20}  # <-
        """,
        "institutions[2].devices[1].ip",
        "IP 10.10.1.20 is bound to two devices",
    ),
    "device IP outside the institution's subnets": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
            devices:
              - {mac: "aa:bb:cc:dd:ee:01", ip: 10.10.9.20}  # <-
        """,
        "institutions[2].devices[0].ip",
        "IP 10.10.9.20 is outside the institution's subnets",
    ),
    "unknown device kind": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
            devices:
              - {mac: "aa:bb:cc:dd:ee:01", kind: toaster}  # <-
        """,
        "institutions[2].devices[0].kind",
        "unknown device kind 'toaster'",
    ),
    "institution without subnets": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets: []  # <-
            gateway: 10.10.1.1
        """,
        "institutions[2].subnets",
        "an institution needs at least one subnet",
    ),
    "township whose parent is a village": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
          - id: thc-b
            name: 乙镇卫生院
            tier: township
            township: 乙镇
            parent: v1  # <-
            subnets: [10.11.0.0/24]
            gateway: 10.11.0.1
        """,
        "institutions[3].parent",
        "a township institution's parent must be a county institution; 'v1' is village",
    ),
    "SNMP v2c with a v3 field": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
            switches:
              - id: sw1
                management: 10.10.1.2
                snmp: {version: 2c, community: "secret:c", user: nms}  # <-
        """,
        "institutions[2].switches[0].snmp.user",
        "only SNMP v3 takes this field",
    ),
    "switch without SNMP credentials anywhere": (
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
            switches:
              - {id: sw1, management: 10.10.1.2}  # <-
        """,
        "institutions[2].switches[0]",
        "no SNMP credentials",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES), ids=sorted(CASES))
def test_each_broken_inventory_gets_its_precise_error(case):
    body, path, message = CASES[case]
    head = (
        HEAD.replace('  snmp: {version: 2c, community: "secret:snmp-ro"}\n', "") if "SNMP credentials" in case else HEAD
    )
    checked, marked = run(body, head)
    assert checked.inventory is None
    assert len(checked.report.errors) == 1, [str(e) for e in checked.report.errors]
    error = checked.report.errors[0]
    assert (error.location.file, error.location.line, error.location.path) == ("t.yaml", marked[0], path)
    assert message in error.message
    assert str(error).startswith(f"t.yaml:{marked[0]}: {path}: ")


def test_overlapping_subnets_across_institutions_name_both_places():
    checked, marked = run(
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets: [10.10.0.128/25]  # <-
            gateway: 10.10.0.129
        """
    )
    assert [e.location.line for e in checked.report.errors] == marked
    error = checked.report.errors[0]
    assert error.message == "subnet 10.10.0.128/25 overlaps 10.10.0.0/24 of 甲镇卫生院 (thc-a)"
    assert [(r.line, r.path) for r in error.related] == [(15, "institutions[1].subnets[0]")]
    assert "(see line 15: institutions[1].subnets[0])" in str(error)


def test_overlap_check_finds_a_later_subnet_inside_a_wide_earlier_one():
    # The wide /16 comes first in address order and covers several later networks:
    # the sweep must compare each with the widest reach so far, not only the neighbour.
    checked, _ = run(
        """\
          - id: big
            name: 大网
            tier: county
            subnets: [10.20.0.0/16, 10.21.0.0/24]
            gateway: 10.20.0.1
          - id: small
            name: 小网
            tier: county
            subnets: [10.20.1.0/24, 10.20.200.0/24, 10.21.0.128/25]
            gateway: 10.20.1.1
        """
    )
    overlaps = sorted(e.message for e in checked.report.errors)
    assert overlaps == [
        "subnet 10.20.1.0/24 overlaps 10.20.0.0/16 of 大网 (big)",
        "subnet 10.20.200.0/24 overlaps 10.20.0.0/16 of 大网 (big)",
        "subnet 10.21.0.128/25 overlaps 10.21.0.0/24 of 大网 (big)",
    ]


def test_all_errors_are_collected_not_just_the_first():
    checked, marked = run(
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: nowhere  # <-
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
            devices:
              - {mac: "not-a-mac"}  # <-
              - {mac: "aa:bb:cc:dd:ee:01", ip: 10.10.1.999}  # <-
        """
    )
    assert [e.location.line for e in checked.report.errors] == marked


def test_plain_secret_is_a_warning_not_an_error_and_its_value_is_never_shown():
    checked, marked = run(
        """\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
            switches:
              - id: sw1
                management: 10.10.1.2
                snmp: {version: 2c, community: "plain:Hunter2-Value"}  # <-
        """
    )
    assert checked.report.errors == []
    assert checked.inventory is not None
    [warning] = checked.report.warnings
    assert warning.severity is Severity.WARNING
    assert (warning.location.line, warning.location.path) == (marked[0], "institutions[2].switches[0].snmp.community")
    switch = checked.inventory.switch("sw1")
    assert switch is not None
    for text in (str(warning), repr(switch), repr(switch.snmp), switch.snmp.describe()):
        assert "Hunter2-Value" not in text


@pytest.mark.parametrize(
    "snmp",
    ['{version: 2c, community: "S3cretCommunity"}', "S3cretCommunity", "[S3cretCommunity]"],
)
def test_a_secret_written_in_the_wrong_place_is_not_echoed(snmp):
    checked, _ = run(
        f"""\
          - id: v1
            name: 村卫生室
            tier: village
            parent: thc-a
            subnets: [10.10.1.0/24]
            gateway: 10.10.1.1
            switches:
              - id: sw1
                management: 10.10.1.2
                snmp: {snmp}
        """
    )
    assert checked.report.errors
    assert all("S3cretCommunity" not in str(e) for e in checked.report.errors)


def test_data_centre_must_be_county_tier():
    checked = check_text(HEAD.replace("data_centre: dc", "data_centre: thc-a"), "t.yaml")
    assert [(e.location.line, e.location.path, e.message) for e in checked.report.errors] == [
        (2, "data_centre", "the data centre 'thc-a' must be a county-tier institution, not township")
    ]


def test_top_level_problems():
    text = "county: {name: x}\ndata_centre: nowhere\ninstitutions: []\nextra: 1\n"
    checked = check_text(text, "t.yaml")
    got = sorted((e.location.line, e.message) for e in checked.report.errors)
    assert got == [
        (2, "unknown institution 'nowhere'"),
        (4, "unknown key 'extra' (allowed: banned, county, data_centre, defaults, institutions, protected, version)"),
    ]


def test_unknown_township_in_defaults_and_unknown_institution_in_protected():
    head = HEAD.replace("institutions:\n", "  townships:\n    乙镇: {quarantine_vlan: 5}\ninstitutions:\n")
    text = head + "protected:\n  - {ip: 10.0.0.5, institution: dcc}\n  - {reason: nothing}\n"
    checked = check_text(text, "t.yaml")
    messages = sorted(e.message for e in checked.report.errors)
    assert messages == [
        "a protected asset needs a 'mac' or an 'ip' (or both)",
        "no institution is in township '乙镇'",
        "unknown institution 'dcc' (did you mean 'dc'?)",
    ]


def test_yaml_syntax_error_is_a_usage_error_with_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("county: {name: x}\ninstitutions:\n  - id: [unclosed\n", encoding="utf-8")
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    assert info.value.exit_code == EXIT_USAGE
    assert str(info.value).startswith(f"{path}:")
    assert "not valid YAML" in str(info.value)


def test_load_inventory_raises_findings_error_with_the_first_problem(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(HEAD.replace("gateway: 10.0.0.1", "gateway: 10.0.9.1"), encoding="utf-8")
    with pytest.raises(InventoryInvalid) as info:
        load_inventory(path)
    assert info.value.exit_code == EXIT_FINDINGS
    assert f"{path}:10: institutions[0].gateway: gateway 10.0.9.1 is outside its subnet" in str(info.value)
