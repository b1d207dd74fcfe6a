"""Device policy, re-detain on discovery and cross-switch moves, on the real namespace lab (root).

One lab (1 township, 2 village clinics) for the module. The township health
centre has a Mindray medical terminal and a rogue with a randomised MAC: a
rule file of the centre's own changes their status, and the verdict names the
rule in ``discover list/unauthorised --json`` and in the ``device`` events.
Then a rogue isolated on its port is re-cabled: ``discover run`` only says it
would re-detain it, ``discover run --apply`` does. Last, a rogue carried to
another switch is one ``moved`` event. Each test has its own netguard.yaml,
state store, event store and journal key.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from cli import main
from netguard.config import load_config
from netguard.events import open_event_store
from netguard.lab.recable import move_host
from netguard.lab.status import HostStatus
from netguard.secrets import write_private
from netguard.store import StateStore
from tests.enforce.helpers import store_opens
from tests.harness.lab import RunningLab, move_host_to_switch, ping, running_lab

THC1_RULES = """\
pack: thc1-devices
title: 乡镇1卫生院 device rules
domain: device
rules:
  - id: THC1-MINDRAY
    title: The laboratory's Mindray analysers
    severity: info
    action: allow
    when: {oui: "00:0f:14"}
  - id: THC1-NO-RANDOM-MAC
    title: No randomised MACs on the health centre's office VLAN
    severity: high
    action: deny
    when: {locally_administered: true, vlan: 10}
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    with running_lab(tmp_path_factory.mktemp("lab"), townships=1, villages=2) as running:
        yield running


def write_config(lab: RunningLab, where: Path, *, inventory: Path | None = None, rules: Any = None) -> Path:
    table = yaml.safe_load((lab.dir / "secrets.yaml").read_text(encoding="utf-8"))
    table["journal_key"] = os.urandom(32).hex()
    write_private(where / "secrets.yaml", yaml.safe_dump(table))
    doc: dict[str, Any] = {
        "inventory": str(inventory or lab.dir / "inventory.yaml"),
        "secrets_file": str(where / "secrets.yaml"),
        "state": {"path": str(where / "state.db"), "journal_key": "secret:journal_key"},
        "events": {"backend": "sqlite", "sqlite": {"path": str(where / "events.db")}},
    }
    if rules is not None:
        doc["discovery"] = {"device_rules": rules}
    path = where / "netguard.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def cli(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


def events(config: Path, kind: str) -> list[dict[str, Any]]:
    store = open_event_store(load_config(config))
    try:
        return [dict(e.fields) for e in store.iter_search("", kinds=[kind])]
    finally:
        store.close()


def reaches(namespace: str, gateway: str) -> bool:
    """Ping with a second and third chance: a port just brought back may drop the first ARP."""
    return any(ping(namespace, gateway) for _ in range(3))


def hosts(lab: RunningLab) -> list[HostStatus]:
    return [h for h in lab.refresh().hosts if h.switch is not None and not h.probe]


def talk(lab: RunningLab) -> None:
    for h in lab.refresh().hosts:
        assert reaches(h.namespace, h.gateway), h.namespace


def without_medical(lab: RunningLab, where: Path) -> Path:
    """The lab's inventory without the medical terminal: only a rule can authorise it now."""
    medical = next(h for h in hosts(lab) if h.kind == "medical-device")
    doc = yaml.safe_load((lab.dir / "inventory.yaml").read_text(encoding="utf-8"))
    for inst in doc["institutions"]:
        inst["devices"] = [d for d in inst.get("devices", []) if d["mac"] != medical.mac]
    path = where / "inventory.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_the_centre_rule_file_changes_the_status_of_its_medical_and_randomised_terminals(
    lab: RunningLab, tmp_path: Path
) -> None:
    medical = next(h for h in hosts(lab) if h.kind == "medical-device")
    randomised = next(h for h in hosts(lab) if int(h.mac[:2], 16) & 0x02)
    assert medical.institution == randomised.institution == "lab-thc1"
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "thc1.yaml").write_text(THC1_RULES, encoding="utf-8")
    talk(lab)

    # Without the centre's rules: the unlisted medical terminal is unknown; the randomised one is
    # unknown too, flagged by the built-in rule.
    (tmp_path / "plain").mkdir()
    plain = write_config(lab, tmp_path / "plain", inventory=without_medical(lab, tmp_path))
    assert cli(plain, "discover", "run").exit_code == 0
    rows = {r["mac"]: r for r in as_json(cli(plain, "discover", "list", "--json")) if r["port"]}
    assert (rows[medical.mac]["status"], rows[medical.mac]["rule"]) == ("unknown", None)
    assert (rows[randomised.mac]["status"], rows[randomised.mac]["rule"]) == ("unknown", "DEV-RANDOMISED-MAC")

    # With them (the file scoped to the centre, as the centre's own): allowed and denied, by those rules.
    (tmp_path / "ruled").mkdir()
    ruled = write_config(
        lab,
        tmp_path / "ruled",
        inventory=tmp_path / "inventory.yaml",
        rules=[{"file": str(tmp_path / "rules" / "thc1.yaml"), "institution": "lab-thc1"}],
    )
    run = cli(ruled, "discover", "run", "--json")
    assert run.exit_code == 0, run.output
    changes = {c["mac"]: c for c in as_json(run)["changes"] if c["action"] == "new"}
    assert (changes[medical.mac]["status"], changes[medical.mac]["rule"]) == ("authorised", "THC1-MINDRAY")
    assert (changes[randomised.mac]["status"], changes[randomised.mac]["rule"]) == ("denied", "THC1-NO-RANDOM-MAC")

    rows = {r["mac"]: r for r in as_json(cli(ruled, "discover", "list", "--json")) if r["port"]}
    assert (rows[medical.mac]["status"], rows[medical.mac]["rule"], rows[medical.mac]["authorised"]) == (
        "authorised",
        "THC1-MINDRAY",
        True,
    )
    assert rows[randomised.mac]["status"] == "denied"
    assert rows[randomised.mac]["rules"] == ["DEV-RANDOMISED-MAC", "THC1-NO-RANDOM-MAC"]
    # Nothing else changed: every other host keeps the status the inventory gives it.
    for h in hosts(lab):
        if h.mac not in (medical.mac, randomised.mac):
            assert rows[h.mac]["status"] == ("unknown" if h.role == "rogue" else "authorised"), h.namespace
            assert rows[h.mac]["rule"] is None

    unauthorised = cli(ruled, "discover", "unauthorised", "--json")
    assert unauthorised.exit_code == 1
    listed = {r["mac"]: r for r in as_json(unauthorised)}
    assert medical.mac not in listed
    assert (listed[randomised.mac]["status"], listed[randomised.mac]["rule"]) == ("denied", "THC1-NO-RANDOM-MAC")

    news = {e["host.mac"]: e for e in events(ruled, "device") if e["event.action"] == "new"}
    assert (
        news[medical.mac]["rule.id"] == "THC1-MINDRAY" and news[medical.mac]["netguard.device.status"] == "authorised"
    )
    assert news[medical.mac]["rule.ruleset"] == "thc1-devices" and news[medical.mac]["netguard.device.authorised"]
    denied = news[randomised.mac]
    assert (denied["rule.id"], denied["netguard.device.status"], denied["netguard.device.authorised"]) == (
        "THC1-NO-RANDOM-MAC",
        "denied",
        False,
    )
    assert denied["netguard.device.rules"] == ["DEV-RANDOMISED-MAC", "THC1-NO-RANDOM-MAC"]
    # The events are searchable by the rule that decided.
    store = open_event_store(load_config(ruled))
    try:
        hits = [dict(e.fields)["host.mac"] for e in store.iter_search("rule.id:THC1-NO-RANDOM-MAC", kinds=["device"])]
    finally:
        store.close()
    assert hits == [randomised.mac]


# It re-cables a rogue: after the policy test, before the cross-switch move.
def test_discover_run_redetains_an_isolated_rogue_on_its_new_port_only_with_apply(
    lab: RunningLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    talk(lab)
    config = write_config(lab, tmp_path)
    assert cli(config, "discover", "run").exit_code == 0
    rogue = next(h for h in hosts(lab) if h.role == "rogue" and h.switch == "lab-vc1-1-acc1")
    evicted = cli(config, "evict", "device", rogue.mac, "--method", "port-shutdown", "--reason", "rogue", "--apply")
    assert evicted.exit_code == 0, evicted.output
    assert not ping(rogue.namespace, rogue.gateway)
    again = cli(config, "discover", "run", "--json")
    assert again.exit_code == 0 and as_json(again)["redetain"] == []  # isolated where it is: nothing to do

    new_port = move_host(lab.dir, rogue.namespace)  # plugged in elsewhere: free again
    assert reaches(rogue.namespace, rogue.gateway)
    with StateStore.from_config(load_config(config)) as store:
        journalled = len(store.journal.entries())
    with store_opens(monkeypatch) as opened:
        dry = cli(config, "discover", "run", "--json")
    assert dry.exit_code == 0, dry.output
    # Collection, device events, the re-detain plan and its dry-run event: one store of each for all.
    assert opened == {"state": 1, "events": 1}
    [planned] = as_json(dry)["redetain"]
    assert (planned["mac"], planned["port"], planned["method"], planned["outcome"]) == (
        rogue.mac,
        new_port,
        "port-shutdown",
        "planned",
    )
    assert reaches(rogue.namespace, rogue.gateway)  # a dry run touches nothing
    with StateStore.from_config(load_config(config)) as store:
        assert len(store.journal.entries()) == journalled
    told = cli(config, "discover", "run")  # the same for people
    assert told.exit_code == 0 and f"planned: {rogue.mac} on {rogue.switch} {new_port}: port-shutdown" in told.output
    assert "dry run" in told.output and reaches(rogue.namespace, rogue.gateway)
    dry_events = [e for e in events(config, "enforcement") if e.get("netguard.enforce.dry_run")]
    assert len(dry_events) == 2
    for would in dry_events:
        assert (would["host.mac"], would["observer.ingress.interface.name"], would["event.action"]) == (
            rogue.mac,
            new_port,
            "port-shutdown",
        )
        assert "re-detain" in would["netguard.enforce.reason"] and "--apply" in would["message"]

    applied = cli(config, "discover", "run", "--apply", "--json")
    assert applied.exit_code == 0, applied.output
    [done] = as_json(applied)["redetain"]
    assert done["outcome"] == "applied" and done["port"] == new_port
    assert not ping(rogue.namespace, rogue.gateway)
    with StateStore.from_config(load_config(config)) as store:
        entry = store.journal.entries()[-1]
    assert entry.id == done["journal_id"] and entry.target.port == new_port and entry.status == "applied"
    acts = [e for e in events(config, "enforcement") if e.get("netguard.enforce.journal_id") == str(entry.id)]
    assert acts and all(e["netguard.enforce.dry_run"] is False for e in acts)
    assert {e["event.outcome"] for e in acts} >= {"success"}
    listed = {(r["port"], r["status"]) for r in as_json(cli(config, "evict", "list", "--json"))}
    assert listed == {(rogue.port, "disabled"), (new_port, "disabled")}
    # A further run has nothing left to re-detain.
    assert as_json(cli(config, "discover", "run", "--apply", "--json"))["redetain"] == []

    # Leave the lab as found: the new port comes back up (the old one is gone with its veth).
    restored = cli(config, "evict", "restore", str(entry.id), "--json")
    assert restored.exit_code == 0, restored.output
    assert reaches(rogue.namespace, rogue.gateway)


# Last: it carries a rogue to another switch, which the lab's status does not follow.
def test_a_rogue_carried_to_another_switch_is_one_moved_event(lab: RunningLab, tmp_path: Path) -> None:
    talk(lab)
    config = write_config(lab, tmp_path)
    assert cli(config, "discover", "run").exit_code == 0
    rogue = next(h for h in hosts(lab) if h.role == "rogue" and h.switch == "lab-vc1-1-acc1")
    port, address = move_host_to_switch(lab, rogue.namespace, "t1")
    result = cli(config, "discover", "run", "--json")
    assert result.exit_code == 0, result.output
    changes = [c for c in as_json(result)["changes"] if c["mac"] == rogue.mac]
    assert [(c["action"], c["switch"], c["port"], c["previous_port"]) for c in changes] == [
        ("moved", "lab-thc1-acc1", port, f"{rogue.switch} {rogue.port}")
    ]
    assert changes[0]["previous_switch"] == rogue.switch and changes[0]["institution"] == "lab-thc1"
    mine = [e for e in events(config, "device") if e["host.mac"] == rogue.mac]
    assert sorted(e["event.action"] for e in mine) == ["moved", "new"]  # no "gone", no second "new"
    [moved] = [e for e in mine if e["event.action"] == "moved"]
    assert (moved["observer.name"], moved["observer.ingress.interface.name"]) == ("lab-thc1-acc1", port)
    assert moved["netguard.device.previous_port"] == f"{rogue.switch} {rogue.port}"
    assert f"from {rogue.switch} {rogue.port} to lab-thc1-acc1 {port}" in moved["message"]
    # One place now, and later runs neither re-announce it nor report it gone from the old switch.
    rows = [r for r in as_json(cli(config, "discover", "list", "--json")) if r["mac"] == rogue.mac and r["port"]]
    assert [(r["switch"], r["port"]) for r in rows] == [("lab-thc1-acc1", port)]
    for _ in range(3):  # past the grace runs of the old switch
        assert reaches(rogue.namespace, address.rsplit(".", 1)[0] + ".1")
        later = cli(config, "discover", "run", "--json")
        assert later.exit_code == 0
        assert [c for c in as_json(later)["changes"] if c["mac"] == rogue.mac] == []
