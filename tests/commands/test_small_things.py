"""Imports keep the good lines, purge previews, empty windows, plurals, help texts."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from rich.cells import cell_len

from cli import main
from netguard.lab.synthetic_events import synthetic_events


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "netguard.yaml"
    path.write_text("events:\n  sqlite:\n    path: e.db\n", encoding="utf-8")
    return path


def run(config: Path | None, *args: str, stdin: bytes | str | None = None, columns: int = 80) -> Result:
    head = ["--config", str(config)] if config else []
    env = {"NETGUARD_CONFIG": "", "NO_COLOR": "1", "COLUMNS": str(columns)}
    return CliRunner().invoke(main, [*head, *args], input=stdin, env=env)


def test_import_keeps_the_good_lines_around_undecodable_and_malformed_ones(config: Path, tmp_path: Path) -> None:
    good = [e.json.encode() for e in synthetic_events(5, seed=3)]
    lines = [
        b"\xef\xbb\xbf" + good[0],  # a byte-order mark on line 1 is not an error
        good[1],
        b'{"netguard.kind": "sql", "message": "caf\xe9"}',  # Latin-1, not UTF-8
        good[2],
        b"\xff\xfe{}",
        b'{"netguard.kind": "sql"',  # cut short
        b"[" * 100_000,  # nested beyond any parser's recursion
        b'{"netguard.kind": "sql", "event.action": "query", "@timestamp": 1e300}',  # beyond any calendar
        good[3],
        b"",
        good[4],
    ]
    src = tmp_path / "mixed.ndjson"
    src.write_bytes(b"\n".join(lines) + b"\n")
    out = run(config, "events", "import", str(src))
    assert out.exit_code == 1, out.output
    assert "Traceback" not in out.output and "internal error" not in out.output
    assert f"{src}:3: not UTF-8 (byte 0xe9 at column 41)" in out.output
    assert f"{src}:5: not UTF-8 (byte 0xff at column 1)" in out.output
    assert f"{src}:6: not valid JSON" in out.output and f"{src}:7: not valid JSON" in out.output
    assert f"{src}:8: " in out.output
    assert "5 written, 0 already present, 5 failed" in out.output
    stored = json.loads(run(config, "events", "search", "--json", "--limit", "10").output)
    assert stored["total"] == 5
    piped = run(config, "events", "import", "--json", "-", stdin=src.read_bytes())
    report = json.loads(piped.output)
    assert (report["written"], report["duplicates"], report["failed"]) == (0, 5, 5)
    assert report["errors"][0].startswith("-:3: not UTF-8")


def test_purge_previews_any_window_and_only_applying_a_short_one_needs_force(config: Path) -> None:
    now = int(time.time() * 1000)
    events = "".join(e.json + "\n" for e in synthetic_events(20, start_ms=now - 60 * 86_400_000, step_ms=60_000))
    assert run(config, "events", "import", "-", stdin=events).exit_code == 0
    preview = run(config, "events", "purge", "--older-than", "30d")
    assert preview.exit_code == 0, preview.output
    assert "20 events are older than" in preview.output and "--force" in preview.output
    assert json.loads(run(config, "events", "purge", "--older-than", "30d", "--json").output)["events_older"] == 20
    refused = run(config, "events", "purge", "--older-than", "30d", "--apply")
    assert refused.exit_code == 2 and "keeps less than 180 days" in refused.output
    done = run(config, "events", "purge", "--older-than", "30d", "--apply", "--force")
    assert done.exit_code == 0 and "removed 20 events" in done.output
    one = "".join(e.json + "\n" for e in synthetic_events(1, start_ms=now - 400 * 86_400_000))
    run(config, "events", "import", "-", stdin=one)
    assert "1 event is older than" in run(config, "events", "purge", "--older-than", "200d").output


@pytest.mark.parametrize("command", ["search", "export"])
def test_an_inverted_or_empty_window_is_a_usage_error(config: Path, command: str) -> None:
    out = run(config, "events", command, "--since", "24h", "--until", "48h")
    assert out.exit_code == 2
    assert out.output.startswith("error: --since 24h is not before --until 48h")
    same = run(config, "events", command, "--since", "2026-11-01", "--until", "2026-11-01")
    assert same.exit_code == 2
    assert run(config, "events", command, "--since", "48h", "--until", "24h").exit_code == 0


def test_counts_are_pluralised(config: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ndjson"
    bad.write_text("not json\n", encoding="utf-8")
    assert "0 written, 0 already present, 1 failed" in run(config, "events", "import", str(bad)).output
    one = "".join(e.json + "\n" for e in synthetic_events(1))
    run(config, "events", "import", "-", stdin=one)
    assert run(config, "events", "search").output.startswith("1 event ")
    county = tmp_path / "county.yaml"
    small = Path(__file__).parents[1] / "inventory" / "data" / "small.yaml"
    county.write_text(small.read_text(encoding="utf-8").replace("parent: thc-dahai", "parent: thc-x", 1), "utf-8")
    checked = run(None, "inventory", "validate", str(county))
    assert checked.exit_code == 1 and ": 1 error, 0 warnings in" in checked.output
    assert "1 errors" not in checked.output
    valid = run(None, "inventory", "validate", str(small)).output
    assert "1 server," in valid and "1 servers" not in valid


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found: list[tuple[tuple[str, ...], click.Command]] = [(path, group)]
    ctx = click.Context(group)
    for name in group.list_commands(ctx):  # not group.commands: the top level loads its groups lazily
        cmd = group.get_command(ctx, name)
        assert cmd is not None, (path, name)
        if isinstance(cmd, click.Group):
            found += _commands(cmd, (*path, name))
        else:
            found.append(((*path, name), cmd))
    return found


def test_help_fits_80_columns_with_whole_short_help_and_help_for_every_option() -> None:
    assert isinstance(main, click.Group)
    for path, cmd in _commands(main):
        out = run(None, *path, "--help")
        assert out.exit_code == 0, path
        assert all(cell_len(line) <= 80 for line in out.output.splitlines()), (path, out.output)
        if isinstance(cmd, click.Group) and path[:1] != ("config",):  # config's texts are its owner's
            listing = out.output.split("Commands:", 1)[1]
            assert "..." not in listing, (path, listing)  # each group's first line shown whole
        usage = out.output.split("\n\n", 1)[0]
        assert "|" not in usage, (path, usage)  # no choice lists spilled over the usage lines
        for param in cmd.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert param.help, (path, param.name)
