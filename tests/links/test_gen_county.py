"""examples/gen_county.py: the default output is unchanged, --loopback gives the same county in 127/8."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from netguard.inventory import check_inventory, load_inventory
from tests.links.netns import ROOT


def test_default_output_is_byte_identical(tmp_path: Path) -> None:
    out, csv = tmp_path / "county.yaml", tmp_path / "devices.csv"
    subprocess.run([sys.executable, str(ROOT / "examples" / "gen_county.py"), "--output", str(out), "--csv", str(csv)],
                   check=True, capture_output=True)  # fmt: skip
    assert out.read_bytes() == (ROOT / "examples" / "huize-county.yaml").read_bytes()
    assert csv.read_bytes() == (ROOT / "examples" / "authorised-devices.csv").read_bytes()


def test_loopback_county_is_the_same_county_in_127(loopback_county: Path) -> None:
    checked = check_inventory(loopback_county)
    assert not checked.report.errors
    lo = load_inventory(loopback_county)
    default = load_inventory(ROOT / "examples" / "huize-county.yaml")
    assert [i.id for i in lo] == [i.id for i in default]
    gateways = [i.gateway for i in lo]
    assert len(set(gateways)) == 440 and all(g.is_loopback for g in gateways)
    for a, b in zip(lo, default, strict=True):
        assert str(a.gateway).split(".")[1:] == str(b.gateway).split(".")[1:]
        assert [str(n).split(".", 1)[1] for n in a.networks] == [str(n).split(".", 1)[1] for n in b.networks]
    addresses = [s.address for s in lo.servers()] + [s.management for s in lo.switches()]
    addresses += [d.ip for d in lo.devices() if d.ip is not None]
    assert addresses and all(a.is_loopback for a in addresses)
