"""`netguard lab events` fills the configured store with every kind of event, searchable at once."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cli import main
from netguard.events import KINDS


def test_lab_events_are_searchable_by_kind_and_time(tmp_path: Path) -> None:
    cfg = tmp_path / "netguard.yaml"
    cfg.write_text("events:\n  sqlite:\n    path: e.db\n", encoding="utf-8")
    runner = CliRunner()
    out = runner.invoke(main, ["--config", str(cfg), "lab", "events", "--count", "900", "--hours", "2", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["written"] == 900
    for kind in KINDS:
        found = runner.invoke(
            main, ["--config", str(cfg), "events", "search", "--kind", kind, "--since", "3h", "--json"]
        )
        assert json.loads(found.output)["total"] == 100, kind
    older = runner.invoke(main, ["--config", str(cfg), "events", "search", "--until", "3h", "--json"])
    assert json.loads(older.output)["total"] == 0
