"""`netguard discover switch` end to end against snmpsim: the JSON document, the table, errors, secrets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cli import main
from tests.harness import snmp_recordings as recordings
from tests.harness.snmp_fixtures import Agents
from tests.harness.snmpsim import V3_AUTH_KEY, V3_PRIV_KEY, free_udp_port


def netguard(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def discover_json(agents: Agents, name: str, *extra: str, env: dict[str, str] | None = None) -> tuple[int, Any]:
    result = netguard("discover", "switch", f"127.0.0.1:{agents.port}", *extra, "--json", env=env)
    return result.exit_code, json.loads(result.stdout)


def test_json_document_of_a_real_switch(snmp_agents: Agents) -> None:
    env = {"NG_TEST_COMMUNITY": "real/hpe-procurve-516733-b21"}
    code, doc = discover_json(snmp_agents, "", "--community", "env:NG_TEST_COMMUNITY", env=env)
    assert code == 0
    assert doc["reachable"] and doc["complete"] and not doc["partial"] and doc["errors"] == []
    assert doc["system"]["name"]
    assert len(doc["interfaces"]) == 42
    for interface in doc["interfaces"]:
        assert {"ifindex", "name", "admin_status", "oper_status"} <= set(interface)
    assert doc["fdb_source"] == "q-bridge" and len(doc["fdb"]) == 277
    for entry in doc["fdb"]:
        assert entry["mac"] == entry["mac"].lower() and len(entry["mac"].split(":")) == 6
        assert isinstance(entry["ifindex"], int) and (entry["vlan"] is None or isinstance(entry["vlan"], int))
    assert len(doc["lldp"]) == 5
    assert doc["uplinks"] == sorted({n["ifindex"] for n in doc["lldp"]})
    assert all(isinstance(u, int) for u in doc["uplinks"])
    assert "real/hpe-procurve" not in json.dumps(doc)


def test_json_arp_entries(snmp_agents: Agents) -> None:
    code, doc = discover_json(snmp_agents, "", "--community", "plain:real/maipu-sm4200-16gef8ge-ac")
    assert code == 0
    assert len(doc["arp"]) == 51
    assert all({"ip", "mac", "ifindex"} <= set(a) for a in doc["arp"])


def test_v3_options_read_the_same_switch(snmp_agents: Agents, tmp_path: Path) -> None:
    priv = tmp_path / "priv-key"
    priv.write_text(V3_PRIV_KEY + "\n")
    priv.chmod(0o600)
    env = {"NG_TEST_AUTH": V3_AUTH_KEY}
    v3 = ["--user", "netguard", "--auth-proto", "sha", "--auth-key", "env:NG_TEST_AUTH"]
    v3 += ["--priv-proto", "AES", "--priv-key", f"file:{priv}", "--context", "real/h3c-e528-2"]
    code, doc = discover_json(snmp_agents, "", *v3, env=env)
    code2, doc2 = discover_json(snmp_agents, "", "--community", "plain:real/h3c-e528-2")
    assert code == code2 == 0
    assert doc["interfaces"] == doc2["interfaces"] and doc["fdb"] == doc2["fdb"] and doc["lldp"] == doc2["lldp"]
    text = json.dumps(doc)
    assert V3_AUTH_KEY not in text and V3_PRIV_KEY not in text


def test_wrong_community_is_one_document_with_the_reason_and_exit_1(snmp_agents: Agents) -> None:
    result = netguard(
        "discover", "switch", f"127.0.0.1:{snmp_agents.port}", "--community", "plain:s3cr3t-community",
        "--timeout", "0.5", "--retries", "0", "--json",
    )  # fmt: skip
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert not doc["reachable"] and doc["interfaces"] == [] and doc["fdb"] == []
    assert [e["kind"] for e in doc["errors"]] == ["timeout"]
    assert "wrong community or unreachable" in doc["errors"][0]["message"]
    assert "s3cr3t" not in result.output


def test_v3_wrong_key_exit_1_auth_failure(snmp_agents: Agents) -> None:
    v3 = ["--user", "netguard", "--auth-proto", "SHA", "--auth-key", "plain:wrong-auth-key-s3cr3t"]
    v3 += ["--priv-proto", "AES", "--priv-key", f"plain:{V3_PRIV_KEY}", "--context", "edge/quirks"]
    result = netguard("discover", "switch", f"127.0.0.1:{snmp_agents.port}", *v3, "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert [e["kind"] for e in doc["errors"]] == ["auth-failure"]
    assert "s3cr3t" not in result.output and V3_PRIV_KEY not in result.output


def test_a_partial_walk_exits_1_and_keeps_the_rows(snmp_agents: Agents) -> None:
    code, doc = discover_json(snmp_agents, "", "--community", "plain:edge/partial")
    assert code == 1
    assert doc["reachable"] and doc["partial"] and not doc["complete"]
    assert doc["errors"][0]["table"] == "dot1qTpFdbTable.port" and doc["errors"][0]["rows_kept"] == len(doc["fdb"])


def test_the_table_shows_data_literally(snmp_agents: Agents) -> None:
    result = netguard("discover", "switch", f"127.0.0.1:{snmp_agents.port}", "--community", "plain:edge/quirks")
    assert result.exit_code == 0
    shown = recordings.LOCATION.replace("\x07", "\\x07")
    assert shown in result.stdout
    assert "\x07" not in result.stdout
    assert "GigabitEthernet0/2" in result.stdout and "core-1" in result.stdout
    assert "status self" in result.stdout  # skipped rows are counted in the summary


def test_carriage_returns_in_a_real_sysdescr_are_made_visible(snmp_agents: Agents) -> None:
    result = netguard("discover", "switch", f"127.0.0.1:{snmp_agents.port}", "--community", "plain:real/h3c-e528-2")
    assert result.exit_code == 0
    assert "\\r\\n" in result.stdout and "\r" not in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--community", "plain:x", "--user", "u"], "either --community"),
        ([], "either --community"),
        (["--community", "plain:x", "--auth-proto", "SHA"], "need --user"),
        (["--community", "env:NG_TEST_SURELY_UNSET"], "NG_TEST_SURELY_UNSET"),
        (["--community", "public"], "must be a reference"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["discover", "switch", f"127.0.0.1:{free_udp_port()}", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_bad_address_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["discover", "switch", "127.0.0.1:99999", "--community", "plain:x"])
    assert result.exit_code == 2
    assert "99999" in result.output


def test_a_community_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "community"
    path.write_text("public\n")
    path.chmod(0o644)
    result = CliRunner().invoke(main, ["discover", "switch", "127.0.0.1:1161", "--community", f"file:{path}"])
    assert result.exit_code == 2
    assert "chmod 600" in result.output and "public" not in result.output
