"""Tables fit the terminal: timestamps and addresses whole, long text cut, --wide shows all."""

from __future__ import annotations

import re
from pathlib import Path

from rich.cells import cell_len

from netguard.events import make_event
from tests.views.hostile import run

STAMP = re.compile(r"\b\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\b")
V6 = "fd00:10:2a::beef:1"
LONG = "alice ran a very long statement " + "x" * 300 + " END-OF-MESSAGE"


def _events() -> str:
    lines = []
    for n in range(6):
        lines.append(
            make_event(
                "sql",
                {
                    "event.action": "query",
                    "event.outcome": "failure",
                    "user.name": "zhang.wei.from.the.county.hospital",
                    "source.ip": V6 if n % 2 else f"10.1.200.{n + 10}",
                    "db.query.text": "SELECT 1",
                    "message": LONG,
                },
                timestamp=f"2026-11-30T08:00:0{n}Z",
            ).json
        )
        lines.append(
            make_event(
                "enforcement",
                {"event.action": "quarantine-vlan", "host.ip": "10.13.10.201", "message": "moved to vlan 999"},
                timestamp=f"2026-11-30T08:01:0{n}Z",
            ).json
        )
    return "\n".join(lines) + "\n"


def test_events_search_fits_80_columns_without_breaking_times_or_addresses(tmp_path: Path) -> None:
    cfg = tmp_path / "netguard.yaml"
    cfg.write_text("events:\n  sqlite:\n    path: e.db\n", encoding="utf-8")
    assert run("--config", str(cfg), "events", "import", "-", stdin=_events()).exit_code == 0
    out = run("--config", str(cfg), "events", "search", env={"COLUMNS": "80"})
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    rows = [line for line in lines if STAMP.match(line)]
    assert len(rows) == 12  # one line per event: nothing wrapped
    assert all(cell_len(line) <= 80 for line in lines), out.output
    assert sum(V6 in row for row in rows) == 3 and sum("10.13.10.201" in row for row in rows) == 6
    assert sum("10.1.200." in row for row in rows) == 3
    assert all("…" in row for row in rows if "alice" in row) and "END-OF-MESSAGE" not in out.output
    assert "--wide" in out.output.split("time (UTC)")[0]  # the title says what is hidden and how to see it

    wide = run("--config", str(cfg), "events", "search", "--wide", env={"COLUMNS": "80"})
    assert wide.exit_code == 0
    assert wide.output.count("x") == 6 * 300 and wide.output.count("zhang.we") == 6  # all of it, wrapped
    assert len(STAMP.findall(wide.output)) == 12 and wide.output.count(V6) == 3


def test_every_table_command_has_wide_and_fits_80_columns(tmp_path: Path) -> None:
    example = Path(__file__).parents[2] / "examples" / "huize-county.yaml"
    for args in (
        ("inventory", "list", str(example)),
        ("inventory", "show", str(example)),
        ("inventory", "show", str(example), "hz-dc"),
        ("events", "fields"),
        ("events", "fields", "sql"),
    ):
        narrow = run(*args, env={"COLUMNS": "80"})
        assert narrow.exit_code == 0, (args, narrow.output)
        assert all(cell_len(line) <= 80 for line in narrow.output.splitlines()), (args, narrow.output)
        assert run(*args, "--wide", env={"COLUMNS": "80"}).exit_code == 0, args
