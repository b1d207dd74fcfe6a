"""What a table shows is what was stored: no markup, no emoji, control characters made visible.

Every view is fed the same hostile values (tests/views/hostile.py) through the real
command line; each must show them literally, exit normally, and let no raw control
character reach the terminal. --json keeps the exact values.
"""

from __future__ import annotations

import json
from pathlib import Path

from commands.output import visible
from netguard.events import make_event
from tests.views.hostile import (
    ESCAPED,
    HOSTILE_MAC,
    HOSTILE_NAME,
    HOSTILE_NOTE,
    HOSTILE_OWNER,
    LITERALS,
    SMALL,
    assert_literal,
    run,
    yaml_quoted,
)


def test_visible_escapes_every_control_character_like_python() -> None:
    assert visible("a\x1b[2J\x07\r\x08\x00\x7f\x9b\t\n\u2028\u202e b") == (
        "a\\x1b[2J\\x07\\r\\x08\\x00\\x7f\\x9b\\t\\n\\u2028\\u202e b"
    )
    assert visible("[/tmp] :ab: 患者 tags[idx]") == "[/tmp] :ab: 患者 tags[idx]"
    assert visible(None) == "" and visible(42) == "42"


def test_visible_escapes_zero_width_characters_but_not_visible_spaces() -> None:
    assert visible("X\u200bY\u200dZ\u2060\ufeff\u061c") == "X\\u200bY\\u200dZ\\u2060\\ufeff\\u061c"
    assert visible("娜姑\u3000镇\xa0卫生院") == "娜姑\u3000镇\xa0卫生院"


def _hostile_events() -> str:
    sql = make_event(
        "sql",
        {
            "event.action": "query",
            "user.name": HOSTILE_OWNER,
            "source.ip": "10.1.0.9",
            "db.query.text": "SELECT * FROM t WHERE x = '[/tmp]'",
            "message": HOSTILE_NAME + " " + HOSTILE_MAC,
        },
        timestamp="2026-11-30T08:00:00Z",
    )
    command = make_event(
        "bastion-command",
        {
            "event.action": "exec",
            "user.name": "eve",
            "process.command_line": HOSTILE_NOTE,
            "message": HOSTILE_NOTE + " tags[idx]",
        },
        timestamp="2026-11-30T08:00:01Z",
    )
    return sql.json + "\n" + command.json + "\n"


def test_events_search_shows_stored_text_literally(hostile_config: Path) -> None:
    assert run("--config", str(hostile_config), "events", "import", "-", stdin=_hostile_events()).exit_code == 0
    for extra in ((), ("--wide",)):
        out = run("--config", str(hostile_config), "events", "search", *extra, env={"COLUMNS": "400"})
        assert out.exit_code == 0, out.output
        assert_literal(out.output, *LITERALS, *ESCAPED, HOSTILE_MAC, "[bold]张伟[/bold]")
    exported = run("--config", str(hostile_config), "events", "export")
    messages = {json.loads(line)["message"] for line in exported.output.splitlines()}
    assert messages == {HOSTILE_NAME + " " + HOSTILE_MAC, HOSTILE_NOTE + " tags[idx]"}
    assert "\u202e" not in exported.output  # the same JSON value, written as an escape


def test_inventory_list_show_and_lookup_show_stored_text_literally(hostile_county: Path) -> None:
    county = str(hostile_county)
    listed = run("inventory", "list", county)
    assert listed.exit_code == 0, listed.output
    assert_literal(listed.output, "县人民医院 [/tmp] tags[idx] :ab: ", ESCAPED[0])
    shown = run("inventory", "show", county, "rmyy")
    assert shown.exit_code == 0, shown.output
    assert_literal(shown.output, *LITERALS, *ESCAPED, HOSTILE_MAC)
    found = run("inventory", "lookup", county, HOSTILE_MAC)
    assert found.exit_code == 0, found.output
    assert_literal(found.output, HOSTILE_MAC, HOSTILE_OWNER, ESCAPED[0])
    as_json = json.loads(run("inventory", "show", county, "rmyy", "--json").output)
    assert as_json["name"] == HOSTILE_NAME and as_json["devices"][0]["note"] == HOSTILE_NOTE


def test_config_show_shows_values_literally(tmp_path: Path) -> None:
    cfg = tmp_path / "netguard.yaml"
    inventory = "inv [/tmp] :ab: \x1b[2J.yaml"
    cfg.write_text(f"inventory: {yaml_quoted(inventory)}\n", encoding="utf-8")
    out = run("--config", str(cfg), "config", "show")
    assert out.exit_code == 0, out.output
    assert_literal(out.output, "inv [/tmp] :ab: \\x1b[2J.yaml")


def test_lab_events_from_a_hostile_inventory_show_it_literally(hostile_config: Path) -> None:
    made = run("--config", str(hostile_config), "lab", "events", "--count", "400", "--hours", "1")
    assert made.exit_code == 0, made.output
    out = run("--config", str(hostile_config), "events", "search", "institution:rmyy", "--limit", "400")
    assert out.exit_code == 0, out.output
    assert "event" in out.output.splitlines()[0]
    assert_literal(out.output, "县人民医院 [/tmp] tags[idx] :ab: \\x1b[31mRED")


def test_error_lines_quoting_data_show_control_characters(hostile_county: Path, hostile_config: Path) -> None:
    missing = run("inventory", "show", str(hostile_county), "rm\x1b[2Jyy")
    assert missing.exit_code == 2
    assert_literal(missing.output, "no institution 'rm\\x1b[2Jyy'")
    bad_field = run("--config", str(hostile_config), "events", "search", "us\x07r:x")
    assert bad_field.exit_code == 2
    assert_literal(bad_field.output, "us\\x07r")


def test_usage_errors_quoting_arguments_show_control_characters(hostile_county: Path) -> None:
    out = run("inventory", "show", str(hostile_county), "a\x1b[2Jb", "extra")
    assert out.exit_code == 2
    assert_literal(out.output, "too many arguments: ", "a\\x1b[2Jb extra")


def test_inventory_import_and_validate_show_csv_and_yaml_values_literally(tmp_path: Path) -> None:
    county = tmp_path / "county.yaml"
    county.write_text(SMALL.read_text(encoding="utf-8"), encoding="utf-8")
    csv = tmp_path / "d.csv"
    owner, note = "[bold]张伟[/bold] :ab:", "tags[idx] \x1b[2Jgone"
    csv.write_text(f'institution_id,mac,kind,owner,note\nthc-nagu,00:ab:cd:00:cd:ab,pc,{owner},"{note}"\n', "utf-8")
    preview = run("inventory", "import", str(csv), "--into", str(county))
    assert preview.exit_code == 0, preview.output
    assert_literal(preview.output, "00:ab:cd:00:cd:ab", owner, "tags[idx] \\x1b[2Jgone")
    broken = tmp_path / "broken.yaml"
    bad_ip = "10.1.0.1[/tmp]\x1b[2J"
    broken.write_text(
        SMALL.read_text(encoding="utf-8").replace("gateway: 10.1.0.1", "gateway: " + yaml_quoted(bad_ip), 1), "utf-8"
    )
    checked = run("inventory", "validate", str(broken))
    assert checked.exit_code == 1
    assert_literal(checked.output, "10.1.0.1[/tmp]\\x1b[2J")
