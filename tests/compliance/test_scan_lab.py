"""`netguard scan` against real peers in a namespace: the planted problems fail, fixing them shows in the diff."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from tests.compliance.conftest import ScanLab


def _results(done: Any) -> tuple[dict[str, Any], dict[tuple[str, str], dict[str, Any]]]:
    report = json.loads(done.stdout)
    return report, {(r["control"], r["target"]): r for r in report["results"]}


def test_scan_finds_what_was_planted_and_the_second_scan_shows_the_fix(scan_lab: ScanLab) -> None:
    config = scan_lab.config("main", retention="90d")
    html = scan_lab.root / "report.html"
    done = scan_lab.netguard(config, "scan", "--json", "--html", str(html))
    assert done.returncode == 1, done.stderr
    report, by = _results(done)
    result = {key: r["result"] for key, r in by.items()}
    # Links: the loopback gateways answer, the village behind the downed veth does not.
    assert result[("DJ-LINK-UP", "t-thc")] == "pass"
    assert result[("DJ-LINK-UP", "t-vc-dead")] == "fail"
    assert by[("DJ-LINK-UP", "t-vc-dead")]["facts"]["link_state"] == "down"
    # The bastion's own ssh does not answer: a degraded data-centre link. The database servers' ssh is
    # not a link check at all (bastion only: from the scanner, closed is healthy).
    dc_link = by[("DJ-LINK-UP", "t-dc")]["evidence"]
    assert result[("DJ-LINK-UP", "t-dc")] == "fail" and "bastion01/ssh" in dc_link and "db-closed" not in dc_link
    # SNMP: the agent that takes `public` fails, the one with a private community passes.
    assert result[("DJ-SNMP-DEFAULT-COMMUNITY", "sw-public")] == "fail"
    assert by[("DJ-SNMP-DEFAULT-COMMUNITY", "sw-public")]["facts"]["snmp_default_answers"] == 1
    assert result[("DJ-SNMP-DEFAULT-COMMUNITY", "sw-private")] == "pass"
    assert (
        "k7-not-a-default" not in done.stdout
        and "public" not in by[("DJ-SNMP-DEFAULT-COMMUNITY", "sw-public")]["evidence"]
    )
    # SSH: the listener makes db-open fail; db-closed refuses; the bastion's own SSH does not apply.
    assert result[("DJ-SSH-BASTION-ONLY", "db-open")] == "fail"
    assert result[("DJ-SSH-BASTION-ONLY", "db-closed")] == "pass"
    assert result[("DJ-SSH-BASTION-ONLY", "bastion01")] == "na"
    # Stores: no bastion sessions; retention 90 days; one sql event for db-open only.
    assert result[("DJ-BASTION-RECORDINGS", "county")] == "na"
    # No discovery has run here: no sightings, so the rogue-device control does not apply anywhere.
    assert {result[("DJ-NO-ROGUE-DEVICE", i)] for i in ("t-dc", "t-thc", "t-vc-dead")} == {"na"}
    assert result[("DJ-AUDIT-RETENTION", "county")] == "fail"
    assert result[("DJ-DB-AUDITED", "db-open")] == "pass" and result[("DJ-DB-AUDITED", "db-closed")] == "fail"
    assert report["previous_scan"] is None and report["events_failed"] == 0
    assert report["counts"]["fail"] == sum(1 for r in result.values() if r == "fail")
    # Recorded: one compliance scan in the state store with every result, and one event per result.
    with sqlite3.connect(scan_lab.root / "main-state.db") as db:
        stored = db.execute("SELECT count(*) FROM check_results WHERE scan_id = ?", (report["scan_id"],)).fetchone()[0]
        label = db.execute("SELECT label FROM check_scans WHERE scan_id = ?", (report["scan_id"],)).fetchone()[0]
    assert stored == len(by) and label == "compliance"
    query = f"netguard.compliance.scan_id:{report['scan_id']}"
    events = scan_lab.netguard(config, "events", "search", "--json", "--limit", "1", query)
    assert events.returncode == 0, events.stderr
    assert json.loads(events.stdout)["total"] == len(by)
    page = html.read_text(encoding="utf-8")
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "\\x1b[31m" in page
    assert "DJ-SSH-BASTION-ONLY" in page and "Allow port 22" in page

    # Fix two things: stop the SSH listener, keep audit data 200 days. The diff shows both fixed.
    scan_lab.listener.kill()
    scan_lab.listener.wait(10)
    config = scan_lab.config("main", retention="200d")
    done = scan_lab.netguard(config, "scan", "--json")
    assert done.returncode == 1, done.stderr  # the dead link and the public community remain
    second, by2 = _results(done)
    assert second["previous_scan"] == report["scan_id"]
    fixed = {(c["control"], c["target"]) for c in second["fixed"]}
    assert fixed == {("DJ-SSH-BASTION-ONLY", "db-open"), ("DJ-AUDIT-RETENTION", "county")}
    assert second["new_failures"] == []
    assert by2[("DJ-SSH-BASTION-ONLY", "db-open")]["result"] == "pass"
    assert by2[("DJ-SNMP-DEFAULT-COMMUNITY", "sw-public")]["result"] == "fail"
    terminal = scan_lab.netguard(config, "scan")
    assert terminal.returncode == 1
    assert "since scan" in terminal.stdout and "0 new failures, 0 fixed" in terminal.stdout
    assert "\x1b" not in terminal.stdout and "\\x1b[31m" in terminal.stdout


def test_a_collector_that_fails_gives_error_and_the_scan_goes_on(scan_lab: ScanLab) -> None:
    broken = scan_lab.root / "not-a-database"
    broken.mkdir()
    config = scan_lab.config("broken", retention="200d", events=broken)
    done = scan_lab.netguard(config, "scan", "--json")
    assert done.returncode == 1, done.stderr
    report, by = _results(done)
    assert by[("DJ-DB-AUDITED", "county")]["result"] == "error"
    assert report["collectors"]["sql-events"]["error"]
    assert by[("DJ-SNMP-DEFAULT-COMMUNITY", "sw-private")]["result"] == "pass"
    assert by[("DJ-AUDIT-RETENTION", "county")]["result"] == "pass"
    assert report["events_failed"] > 0 and "could not be stored" in done.stderr
    assert "Traceback" not in done.stderr
