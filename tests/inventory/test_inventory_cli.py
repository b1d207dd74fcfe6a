"""`netguard inventory ...` through cli.main: exit codes, JSON, one-line errors, secrets never shown."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli import main

HERE = Path(__file__).parent
SMALL = HERE / "data" / "small.yaml"
EXAMPLE = HERE.parents[1] / "examples" / "huize-county.yaml"
SAMPLE_CSV = HERE.parents[1] / "examples" / "authorised-devices.csv"


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    base = {"NETGUARD_CONFIG": "", "NO_COLOR": "1"}
    return CliRunner().invoke(main, list(args), env={**base, **(env or {})}, catch_exceptions=False)


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output
    assert "internal error" not in result.output


@pytest.fixture
def county(tmp_path: Path) -> Path:
    path = tmp_path / "county.yaml"
    shutil.copy(SMALL, path)
    return path


@pytest.fixture
def config(tmp_path: Path, county: Path) -> Path:
    path = tmp_path / "netguard.yaml"
    path.write_text("inventory: county.yaml\n", encoding="utf-8")
    return path


# -- validate --------------------------------------------------------------------------


def test_validate_the_example_exits_0():
    result = run("inventory", "validate", str(EXAMPLE))
    assert result.exit_code == 0, result.output
    assert "valid (440 institutions" in result.output and "0 errors, 0 warnings" in result.output


def test_validate_uses_the_configured_inventory(config):
    result = run("--config", str(config), "inventory", "validate")
    assert result.exit_code == 0, result.output
    assert "county.yaml: valid (8 institutions" in result.output


def test_validate_reports_findings_with_exit_1(tmp_path):
    bad = tmp_path / "bad.yaml"
    text = SMALL.read_text(encoding="utf-8")
    bad.write_text(
        text.replace("gateway: 10.29.10.1", "gateway: 10.29.11.1").replace("tier: township", "tier: town", 1)
    )
    result = run("inventory", "validate", str(bad))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    line_gw = text.splitlines().index("    gateway: 10.29.10.1") + 1
    line_tier = text.splitlines().index("    tier: township") + 1
    assert lines[:2] == [
        f"{bad}:{line_tier}: institutions[2].tier: unknown tier 'town' (one of: county, township, village)",
        f"{bad}:{line_gw}: institutions[6].gateway: gateway 10.29.11.1 is outside its subnet (10.29.10.0/24)",
    ]
    assert lines[-1].startswith(f"{bad}: invalid: 2 errors, 0 warnings")
    no_traceback(result)


def test_validate_json_and_strict_warnings(tmp_path):
    warn = tmp_path / "warn.yaml"
    warn.write_text(SMALL.read_text(encoding="utf-8").replace('"env:SNMP_LEGACY_RO"', '"plain:legacy-community"'))
    result = run("inventory", "validate", str(warn), "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["errors"] == [] and data["counts"]["institutions"] == 8
    assert [w["path"] for w in data["warnings"]] == ["institutions[0].switches[1].snmp.community"]
    strict = run("inventory", "validate", str(warn), "--json", "--strict")
    assert strict.exit_code == 1 and json.loads(strict.stdout)["ok"] is False


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("county: [unclosed\n", "not valid YAML"),
        (b"\xff\xfe\x00bad", "is not UTF-8 text"),
    ],
)
def test_unreadable_inventory_is_a_usage_error_in_one_line(tmp_path, content, message):
    path = tmp_path / "inv.yaml"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif isinstance(content, bytes):
        path.write_bytes(content)
    for command in (["validate"], ["list"], ["show"], ["lookup", str(path), "10.0.0.1"]):
        args = ["inventory", *command] if command[0] == "lookup" else ["inventory", *command, str(path)]
        result = run(*args)
        assert result.exit_code == 2, (command, result.output)
        assert result.output.count("\n") == 1 and result.output.startswith("error: ")
        assert message in result.output
        no_traceback(result)


def test_no_inventory_configured_is_a_usage_error(tmp_path):
    result = run("inventory", "list", env={"XDG_CONFIG_HOME": str(tmp_path), "HOME": str(tmp_path)})
    assert result.exit_code == 2
    assert "no inventory given" in result.output
    no_traceback(result)


# -- list and show ---------------------------------------------------------------------


def test_list_json_is_one_array_and_filters_combine(county):
    result = run("inventory", "list", str(county), "--tier", "village", "--township", "娜姑镇", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    assert [(i["id"], i["township"], i["parent"]) for i in data] == [
        ("vc-nagu-01", "娜姑镇", "thc-nagu"),
        ("vc-nagu-02", "娜姑镇", "thc-nagu"),
    ]
    everything = json.loads(run("inventory", "list", str(county), "--json").stdout)
    assert len(everything) == 8 and everything[0]["subnets"] == ["10.0.0.0/23", "10.0.2.0/24"]
    two_tiers = json.loads(
        run("inventory", "list", str(county), "--tier", "county", "--tier", "township", "--json").stdout
    )
    assert [i["id"] for i in two_tiers] == ["dc", "rmyy", "thc-nagu", "thc-dahai"]


def test_list_table_and_unknown_township(county):
    result = run("inventory", "list", str(county), "--tier", "township")
    assert result.exit_code == 0
    assert (
        "2 of 8 institutions" in result.output and "娜姑镇卫生院" in result.output and "县人民医院" not in result.output
    )
    typo = run("inventory", "list", str(county), "--township", "娜姑")
    assert typo.exit_code == 2 and "no township '娜姑'" in typo.output and "did you mean '娜姑镇'" in typo.output


def test_list_on_an_invalid_inventory_is_exit_1_with_the_first_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL.read_text(encoding="utf-8").replace("parent: thc-dahai", "parent: thc-nowhere", 1))
    result = run("inventory", "list", str(bad))
    assert result.exit_code == 1
    assert result.output.startswith("error: invalid inventory: ") and "unknown parent 'thc-nowhere'" in result.output
    no_traceback(result)


def test_show_summary_per_tier_and_township(county):
    result = run("inventory", "show", str(county), "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["totals"]["institutions"] == 8
    assert [(r["key"], r["institutions"]) for r in data["tiers"]] == [("county", 2), ("township", 2), ("village", 4)]
    assert [(r["key"], r["institutions"]) for r in data["townships"]] == [
        ("娜姑镇", 3), ("大海乡", 3), ("(county seat)", 2),
    ]  # fmt: skip
    table = run("inventory", "show", str(county))
    assert table.exit_code == 0 and "Tier summary" in table.output and "Township summary" in table.output


def test_show_one_institution(config):
    result = run("--config", str(config), "inventory", "show", "dc", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["id"] == "dc" and data["servers"][0]["services"][1]["port"] == 3306
    assert [s["snmp_from"] for s in data["switches"]] == ["institution", "switch"]
    assert data["switches"][1]["snmp"] == {"version": "2c", "port": 161, "community": "env:SNMP_LEGACY_RO"}
    table = run("--config", str(config), "inventory", "show", "thc-nagu")
    assert table.exit_code == 0 and "娜姑镇卫生院 (thc-nagu)" in table.output and "vc-nagu-01" in table.output
    missing = run("--config", str(config), "inventory", "show", "thc-nag")
    assert missing.exit_code == 2 and "no institution 'thc-nag'" in missing.output


# -- lookup ----------------------------------------------------------------------------


def test_lookup(county):
    known = run("inventory", "lookup", str(county), "F8BC.1200.0001", "--json")
    assert known.exit_code == 0
    data = json.loads(known.stdout)
    assert (data["authorised"], data["institution"]["id"], data["device"]["owner"]) == (True, "rmyy", "张伟")
    assert data["vendor"] == "Dell Inc."
    gateway = json.loads(run("inventory", "lookup", str(county), "10.13.0.1", "--json").stdout)
    assert (gateway["authorised"], gateway["institution"]["id"], gateway["protected"]) == (
        False, "thc-nagu", "gateway of thc-nagu",
    )  # fmt: skip
    stranger = run("inventory", "lookup", str(county), "192.168.7.7")
    assert stranger.exit_code == 1 and "not in any county subnet" in stranger.output
    garbage = run("inventory", "lookup", str(county), "nonsense")
    assert garbage.exit_code == 2 and "neither a MAC nor an IP" in garbage.output


def test_lookup_shows_a_banned_mac_and_its_reason(county):
    county.write_text(
        county.read_text(encoding="utf-8") + "banned:\n  - {mac: 50-C7-BF-00-00-09, reason: 私接路由器}\n",
        encoding="utf-8",
    )
    data = json.loads(run("inventory", "lookup", str(county), "50:c7:bf:00:00:09", "--json").stdout)
    assert (data["banned"], data["authorised"]) == ("私接路由器", False)
    assert json.loads(run("inventory", "lookup", str(county), "F8BC.1200.0001", "--json").stdout)["banned"] is None
    text = run("inventory", "lookup", str(county), "50c7bf000009")
    assert "banned: 私接路由器" in text.output
    summary = json.loads(run("inventory", "show", str(county), "--json").stdout)
    assert [(b["mac"], b["reason"]) for b in summary["banned"]] == [("50:c7:bf:00:00:09", "私接路由器")]


# -- import ----------------------------------------------------------------------------


def test_import_is_a_dry_run_unless_asked_to_write(tmp_path, county, config):
    csv = tmp_path / "d.csv"
    csv.write_bytes("\ufeffinstitution_id,mac,kind\r\nthc-nagu,AA-BB-CC-00-00-01,pc\r\n".encode())
    before = county.read_bytes()
    dry = run("--config", str(config), "inventory", "import", str(csv), "--json")
    assert dry.exit_code == 0, dry.output
    data = json.loads(dry.stdout)
    assert (data["dry_run"], data["written"], [d["mac"] for d in data["added"]]) == (True, None, ["aa:bb:cc:00:00:01"])
    assert county.read_bytes() == before
    out = tmp_path / "merged.yaml"
    written = run("--config", str(config), "inventory", "import", str(csv), "--output", str(out))
    assert written.exit_code == 0 and f"wrote {out}" in written.output
    assert county.read_bytes() == before
    assert run("inventory", "validate", str(out)).exit_code == 0
    in_place = run("inventory", "import", str(csv), "--into", str(county), "--in-place")
    assert in_place.exit_code == 0
    assert county.read_bytes() == out.read_bytes()
    both = run("inventory", "import", str(csv), "--into", str(county), "--in-place", "--output", str(out))
    assert both.exit_code == 2


def test_import_with_errors_writes_nothing(tmp_path, county):
    csv = tmp_path / "d.csv"
    csv.write_text("institution_id,mac,ip\nthc-nagu,AA-BB-CC-00-00-01,\nthc-nagu,AA-BB-CC-00-00-0Z,\n", "utf-8")
    out = tmp_path / "merged.yaml"
    before = county.read_bytes()
    for extra in (["--output", str(out)], ["--in-place"]):
        result = run("inventory", "import", str(csv), "--into", str(county), *extra)
        assert result.exit_code == 1
        assert f"{csv}:3: column B (mac): 'AA-BB-CC-00-00-0Z' is not a valid MAC address" in result.output
        assert "nothing written" in result.output
        no_traceback(result)
    assert not out.exists()
    assert county.read_bytes() == before
    assert sorted(p.name for p in county.parent.iterdir()) == ["county.yaml", "d.csv"]  # no temp files left


def test_import_the_sample_csv_into_the_example(tmp_path):
    out = tmp_path / "huize.yaml"
    result = run("inventory", "import", str(SAMPLE_CSV), "--into", str(EXAMPLE), "--output", str(out), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["rows"], len(data["added"]), data["errors"]) == (12, 12, [])
    assert run("inventory", "validate", str(out)).exit_code == 0


# -- secrets ---------------------------------------------------------------------------

SECRET_VALUES = ("EnvCommunity-7f3a", "FileAuthKey-91c2", "InlinePlain-55d0")


def test_secret_values_never_appear_in_any_output(tmp_path):
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(f"county-auth: {SECRET_VALUES[1]}\ncounty-priv: x{SECRET_VALUES[1]}\n", encoding="utf-8")
    os.chmod(secrets, 0o600)
    inv = tmp_path / "county.yaml"
    inv.write_text(
        SMALL.read_text(encoding="utf-8").replace('"env:SNMP_LEGACY_RO"', f'"plain:{SECRET_VALUES[2]}"'), "utf-8"
    )
    config = tmp_path / "netguard.yaml"
    config.write_text("inventory: county.yaml\nsecrets_file: secrets.yaml\n", encoding="utf-8")
    env = {"SNMP_TOWNSHIP_RO": SECRET_VALUES[0], "SNMP_LEGACY_RO": SECRET_VALUES[0]}
    csv = tmp_path / "d.csv"
    csv.write_text("institution_id,mac\ndc,aa-bb-cc-00-00-01\n", encoding="utf-8")
    commands = [
        ["inventory", "validate"], ["inventory", "validate", "--strict"], ["inventory", "list"], ["inventory", "show"],
        ["inventory", "show", "dc"], ["inventory", "show", "thc-nagu"], ["inventory", "show", "rmyy"],
        ["inventory", "lookup", "10.0.2.3"], ["inventory", "import", str(csv)],
    ]  # fmt: skip
    outputs = []
    for command in commands:
        for extra in ([], ["--json"]):
            result = run("--config", str(config), *command, *extra, env=env)
            assert result.exit_code in (0, 1), (command, result.output)
            outputs.append(result.output)
    everything = "\n".join(outputs)
    for value in SECRET_VALUES:
        assert value not in everything
    # The references are shown instead.
    assert "env:SNMP_TOWNSHIP_RO" in everything and "secret:county-auth" in everything
    assert "plain:********" in everything
