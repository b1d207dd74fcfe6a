"""The generated 会泽县 example: validates clean, has the county's shape, regenerates byte for byte."""

from __future__ import annotations

import runpy
from collections import Counter
from pathlib import Path

import pytest

from netguard.inventory import Tier, check_inventory, mac_vendor

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "huize-county.yaml"
SAMPLE_CSV = ROOT / "examples" / "authorised-devices.csv"


@pytest.fixture(scope="module")
def checked():
    return check_inventory(EXAMPLE)


def test_example_validates_clean(checked):
    assert [str(e) for e in checked.report.errors] == []
    assert [str(w) for w in checked.report.warnings] == []
    assert checked.inventory is not None


def test_example_has_the_county_shape(checked):
    inv = checked.inventory
    assert len(inv) == 440
    assert Counter(i.tier for i in inv) == {Tier.COUNTY: 17, Tier.TOWNSHIP: 23, Tier.VILLAGE: 400}
    kinds = Counter(i.kind for i in inv)
    assert (kinds["village-clinic"], kinds["private-clinic"], kinds["private-hospital"]) == (376, 24, 10)
    assert kinds["psychiatric-hospital"] == 1
    assert len(inv.townships()) == 23 and "娜姑镇" in inv.townships()
    assert inv.data_centre_institution().name == "会泽县卫生健康数据中心"
    for name in ("会泽县人民医院", "会泽县中医医院", "会泽县妇幼保健院", "会泽县疾病预防控制中心", "会泽县卫生健康局"):
        assert name in {i.name for i in inv.tier("county")}
    for village in inv.tier("village"):
        parent = inv.parent_of(village)
        assert parent is not None and parent.tier is Tier.TOWNSHIP and parent.township == village.township
    assert 2000 <= len(inv.devices()) <= 10000
    assert all(inst.switches for inst in inv.tier("township"))
    protocols = {s.protocol for s in inv.data_centre_institution().servers for s in s.services}
    assert {"mysql", "postgresql", "dicom", "hl7", "ssh"} <= protocols
    assert inv.protected


def test_example_devices_have_real_vendors(checked):
    devices = checked.inventory.devices()
    unknown = [d.mac for d in devices if mac_vendor(d.mac) is None]
    assert unknown == []


def test_generator_is_deterministic_and_matches_the_committed_example(tmp_path):
    gen = runpy.run_path(str(ROOT / "examples" / "gen_county.py"))
    out, csv = tmp_path / "county.yaml", tmp_path / "devices.csv"
    assert gen["main"](["--output", str(out), "--csv", str(csv)]) == 0
    assert out.read_bytes() == EXAMPLE.read_bytes(), "examples/huize-county.yaml is stale: run examples/gen_county.py"
    assert csv.read_bytes() == SAMPLE_CSV.read_bytes()


def test_generator_knobs_change_the_county_but_it_still_validates(tmp_path):
    gen = runpy.run_path(str(ROOT / "examples" / "gen_county.py"))
    out = tmp_path / "county.yaml"
    args = ["--seed", "7", "--device-scale", "0.5", "--managed-village-ratio", "0.5", "--output", str(out)]
    assert gen["main"]([*args, "--csv", ""]) == 0
    checked = check_inventory(out)
    assert checked.report.errors == []
    inv = checked.inventory
    assert inv is not None
    assert len(inv) == 440
    assert len(inv.devices()) < 3000
    assert sum(1 for i in inv.tier("village") if i.switches) > 100
