"""`netguard events ...` through the real command line (click's runner, real SQLite and ES stores)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from cli import main
from netguard.lab.county_events import LAB_KINDS
from netguard.lab.synthetic_events import synthetic_events


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "netguard.yaml"
    path.write_text("events:\n  backend: sqlite\n  sqlite:\n    path: var/events.db\n", encoding="utf-8")
    return path


def ndjson(count: int, seed: int = 4) -> str:
    return "".join(e.json + "\n" for e in synthetic_events(count, seed=seed))


def run(config: Path, *args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(main, ["--config", str(config), *args], input=stdin)


def test_import_search_export_round_trip(config: Path) -> None:
    imported = run(config, "events", "import", "--json", "-", stdin=ndjson(300))
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.output) == {"written": 300, "duplicates": 0, "failed": 0, "errors": []}
    again = run(config, "events", "import", "--json", "-", stdin=ndjson(300))
    assert json.loads(again.output)["duplicates"] == 300

    found = run(config, "events", "search", "--json", "--kind", "sql", "--limit", "5", "risk:>=high")
    assert found.exit_code == 0
    body = json.loads(found.output)
    expected = [
        e for e in synthetic_events(300, seed=4) if e.kind == "sql" and e.get("netguard.risk") in ("high", "critical")
    ]
    assert body["total"] == len(expected) > 5
    assert len(body["hits"]) == 5 and all(h["netguard.kind"] == "sql" for h in body["hits"])
    stamps = [h["@timestamp"] for h in body["hits"]]
    assert stamps == sorted(stamps, reverse=True)

    exported = run(config, "events", "export", "kind:device")
    lines = [json.loads(x) for x in exported.output.splitlines()]
    assert len(lines) == sum(1 for e in synthetic_events(300, seed=4) if e.kind == "device")


def test_table_output_is_plain_without_a_terminal(config: Path) -> None:
    run(config, "events", "import", "-", stdin=ndjson(30))
    out = run(config, "events", "search", "kind:link")
    assert out.exit_code == 0
    assert "\x1b[" not in out.output and "3 events" in out.output


def test_malformed_query_points_at_the_error(config: Path) -> None:
    out = run(config, "events", "search", "user:alice AND (")
    assert out.exit_code == 2
    assert "Traceback" not in out.output
    lines = out.output.splitlines()
    assert lines[0] == "error: the query ends where a term was expected at position 16"
    assert lines[2].index("^") == 2 + 16


def test_bad_lines_are_counted_and_named_not_dropped(config: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.ndjson"
    good = ndjson(3)
    src.write_text(good + "not json\n" + '{"netguard.kind": "sql", "event.action": "query", "usr": "x"}\n', "utf-8")
    out = run(config, "events", "import", str(src))
    assert out.exit_code == 1
    assert f"{src}:4: not valid JSON" in out.output
    assert f"{src}:5: sql event: 'usr' is not a field of this kind" in out.output
    assert "3 written, 0 already present, 2 failed" in out.output


def test_unknown_kind_and_bad_window_are_usage_errors(config: Path) -> None:
    assert run(config, "events", "search", "--kind", "nope").exit_code == 2
    bad = run(config, "events", "search", "--since", "yesterday")
    assert bad.exit_code == 2 and "--since takes a duration" in bad.output


def test_fields_lists_kinds_and_aliases(config: Path) -> None:
    kinds = json.loads(run(config, "events", "fields", "--json").output)
    assert {k["kind"] for k in kinds} >= {"sql", "bastion-login", "device", "compliance"}
    sql = {f["field"]: f for f in json.loads(run(config, "events", "fields", "sql", "--json").output)}
    assert sql["db.query.text"]["type"] == "text" and sql["db.query.text"]["alias"] == "sql"


def test_search_on_elasticsearch_from_the_cli(
    tmp_path: Path, es_node: Any, es_client: Elasticsearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"cli{os.getpid()}"
    monkeypatch.setenv("NG_TEST_ES_PASSWORD", es_node.password or "")
    auth = f"    username: {es_node.username}\n    password: env:NG_TEST_ES_PASSWORD\n" if es_node.password else ""
    if es_node.ca_certs is not None:
        auth += f"    ca_certs: {es_node.ca_certs}\n"
    cfg = tmp_path / "netguard.yaml"
    cfg.write_text(
        f"events:\n  backend: elasticsearch\n  elasticsearch:\n    hosts: [{es_node.url}]\n"
        f"    replicas: 0\n    index_prefix: {prefix}\n{auth}",
        "utf-8",
    )
    try:
        assert run(cfg, "events", "import", "-", stdin=ndjson(200)).exit_code == 0
        lite = tmp_path / "lite.yaml"
        lite.write_text("events:\n  sqlite:\n    path: lite.db\n", "utf-8")
        run(lite, "events", "import", "-", stdin=ndjson(200))
        q = ["events", "search", "--json", "--limit", "500", "outcome:failure AND NOT kind:link"]
        es_hits = json.loads(run(cfg, *q).output)
        lite_hits = json.loads(run(lite, *q).output)
        assert es_hits["total"] == lite_hits["total"] > 0
        assert es_hits["hits"] == lite_hits["hits"]
        dumped = run(cfg, *q).output
        assert not es_node.password or es_node.password not in dumped
    finally:
        es_client.indices.delete(index=f"{prefix}-*", allow_no_indices=True)
        es_client.indices.delete_index_template(name=f"{prefix}-*")


def test_purge_is_a_dry_run_without_apply_and_guards_retention(config: Path) -> None:
    import time

    now = int(time.time() * 1000)
    kinds = tuple(LAB_KINDS)  # not 'deletion': records of deletions are never purged (test_deletions.py)
    old = "".join(
        e.json + "\n" for e in synthetic_events(40, start_ms=now - 300 * 86_400_000, step_ms=60_000, kinds=kinds)
    )
    recent = "".join(e.json + "\n" for e in synthetic_events(30, seed=9, start_ms=now - 10 * 86_400_000, kinds=kinds))
    assert run(config, "events", "import", "-", stdin=old + recent).exit_code == 0

    short = run(config, "events", "purge", "--older-than", "30d", "--apply")
    assert short.exit_code == 2 and "keeps less than 180 days" in short.output

    dry = json.loads(run(config, "events", "purge", "--older-than", "200d", "--json").output)
    assert (dry["events_older"], dry["applied"], dry["removed"]) == (40, False, 0)
    assert json.loads(run(config, "events", "search", "--json", "--limit", "1").output)["total"] == 70

    done = json.loads(run(config, "events", "purge", "--older-than", "200d", "--apply", "--json").output)
    assert (done["removed"], done["removed_unit"]) == (40, "events")
    left = json.loads(run(config, "events", "search", "--json", "--limit", "100", "NOT kind:deletion").output)
    assert left["total"] == 30 and all(h["@timestamp"] >= dry["cutoff"] for h in left["hits"])
    records = json.loads(run(config, "events", "search", "--json", "--kind", "deletion").output)["hits"]
    assert [r["event.outcome"] for r in records] == ["success", "unknown"]  # newest first: the result, the intent
    assert records[0]["netguard.deletion.removed"] == 40 and records[0]["event.id"] == done["deletion_record"]
