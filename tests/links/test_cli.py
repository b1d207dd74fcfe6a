"""`netguard links check` on the loopback county through the real command line (click's runner, real packets)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli import main
from netguard.inventory import load_inventory
from netguard.links.icmp import IcmpUnavailable
from netguard.store import StateStore
from tests.harness.peers import require_peer

FAST = ("--count", "2", "--interval", "20", "--timeout", "500", "--gap", "0.5")


@pytest.fixture
def config(tmp_path: Path, loopback_county: Path) -> Path:
    path = tmp_path / "netguard.yaml"
    path.write_text(
        f"inventory: {loopback_county}\nstate: {{path: var/state.db}}\nevents: {{sqlite: {{path: var/events.db}}}}\n",
        encoding="utf-8",
    )
    return path


def run(config: Path, *args: str) -> Any:
    result = CliRunner().invoke(main, ["--config", str(config), *args])
    if isinstance(result.exception, IcmpUnavailable) or "cannot send ICMP" in result.output:
        require_peer(f"ICMP sockets are not allowed here: {result.output.strip()}")
    return result


def test_whole_county_json(config: Path, loopback_county: Path) -> None:
    result = run(config, "links", "check", "--json", *FAST)
    rows = json.loads(result.output)
    inv = load_inventory(loopback_county)
    assert [r["institution"] for r in rows] == [i.id for i in inv]
    for row, inst in zip(rows, inv, strict=True):
        assert row["target"] == str(inst.gateway) and row["tier"] == inst.tier.value
        assert row["township"] == inst.township and row["loss"] == 0 and row["rtt_avg_ms"] is not None
        bastion_only = [(s, svc) for s in inst.servers for svc in s.services
                        if svc.protocol == "ssh" and s.role != "bastion"]  # fmt: skip
        expected_services = sum(
            1 for s in inst.servers for svc in s.services if svc.transport == "tcp" or svc.protocol == "dns"
        )
        assert len(row["services"]) == expected_services - len(bastion_only)
        for server, svc in bastion_only:  # SSH that must answer the bastion only is not a link check
            assert f"{server.id}/{svc.name} tcp/{svc.port} (ssh: bastion only)" in row["services_not_checked"]
        if row["state"] != "up":  # loopback answers every ping: only a service nobody listens on degrades a link
            failed = [f"{s['server']}/{s['service']}" for s in row["services"] if not s["connected"]]
            assert row["state"] == "degraded" and failed
            assert all(part.split(" ", 1)[0] in failed for part in row["reason"].split("; "))
    assert result.exit_code == (0 if all(r["state"] == "up" for r in rows) else 1)
    with StateStore.open(config.parent / "var" / "state.db") as store:
        [scan] = store.checks.scans()
        assert scan.label == "links" and sum(scan.counts.values()) == 440 + sum(len(r["services"]) for r in rows)


def test_filters_table_and_exit_code(config: Path) -> None:
    result = run(config, "links", "check", "--township", "娜姑镇", "--tier", "village", *FAST)
    assert result.exit_code == 0, result.output
    assert "21 institutions: 21 up, 0 degraded, 0 down · 42 probes, 42 replies (0.0 % lost)" in result.output
    assert "娜姑镇 · village" in result.output and "\x1b[" not in result.output
    one = json.loads(run(config, "links", "check", "--json", "--institution", "thc-nagu", *FAST).output)
    assert [(r["institution"], r["state"], r["target"]) for r in one] == [("thc-nagu", "up", "127.13.0.1")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--institution", "vc-nagu-99x"), "no institution 'vc-nagu-99x'"),
        (("--township", "娜姑"), "no township '娜姑'"),
        (("--institution", "thc-nagu", "--tier", "village"), "no institution matches the selection"),
    ],
)
def test_bad_selection_is_one_line_and_exit_2(config: Path, args: tuple[str, ...], message: str) -> None:
    result = run(config, "links", "check", *args, *FAST)
    assert result.exit_code == 2 and result.output.startswith(f"error: {message}")
    assert "Traceback" not in result.output


def test_history_of_an_unknown_institution_names_the_closest(config: Path) -> None:
    result = run(config, "links", "history", "thc-nagux")
    assert result.exit_code == 2 and result.output.startswith("error: no institution 'thc-nagux'")
    assert "did you mean 'thc-nagu'?" in result.output and "Traceback" not in result.output


def test_data_is_shown_literally(tmp_path: Path) -> None:
    inventory = tmp_path / "odd.yaml"
    inventory.write_text(
        'county: {name: "[bold]县[/bold]", code: t}\ndata_centre: dc\ninstitutions:\n'
        '  - {id: dc, name: "[red]中心[/red] :smile: \\e[31mX\\u200b", tier: county, kind: data-centre,'
        " subnets: [127.44.0.0/24], gateway: 127.44.0.1}\n",
        encoding="utf-8",
    )
    config = tmp_path / "netguard.yaml"
    config.write_text(f"inventory: {inventory}\n", encoding="utf-8")
    result = run(config, "links", "check", "--no-record", *FAST)
    assert result.exit_code == 0, result.output
    assert "[red]中心[/red] :smile: \\x1b[31mX\\u200b" in result.output
    assert "[bold]县[/bold]" in result.output and "\x1b" not in result.output and "😄" not in result.output
