"""The example configuration passes its own `config check`, as the README tells a new user to run it."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from netguard.inventory import load_inventory
from netguard.secrets import write_private
from tests.config.conftest import run_cli

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def readme_exports() -> dict[str, str]:
    """The `export NAME=value` lines of the README's "Using it" block."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return dict(re.findall(r"^export ([A-Z0-9_]+)=(\S+)", text, flags=re.MULTILINE))


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """examples/ as in a fresh checkout (its ../var beside it), after `make demo`'s secrets step."""
    examples = tmp_path / "examples"
    examples.mkdir()
    for name in ("netguard.yaml", "huize-county.yaml", "secrets.sample.yaml"):
        shutil.copy(EXAMPLES / name, examples / name)
    return examples


def demo_secrets(examples: Path) -> Path:
    """What the demo does (Makefile): copy the sample to var/secrets.yaml, mode 0600, unless it exists."""
    target = examples.parent / "var" / "secrets.yaml"
    if not target.exists():
        write_private(target, (examples / "secrets.sample.yaml").read_text(encoding="utf-8"))
    return target


def test_the_example_passes_config_check(checkout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exports = readme_exports()
    assert exports, "README documents the environment the example inventory needs"
    for name, value in exports.items():
        monkeypatch.setenv(name, value)
    demo_secrets(checkout)
    code, out = run_cli("--config", str(checkout / "netguard.yaml"), "config", "check", "--json")
    checks = json.loads(out)
    assert code == 0, [c for c in checks if not c["ok"]]
    names = {c["check"] for c in checks}
    assert {"secrets file", "inventory", "state journal_key", "state store", "event store (sqlite)"} <= names
    assert sum(1 for n in names if n.startswith("snmp ")) >= 8  # every SNMP reference of the county resolved
    secrets = (checkout / "secrets.sample.yaml").read_text(encoding="utf-8")
    for value in re.findall(r"^[a-z-]+: (\S+)$", secrets, flags=re.MULTILINE):
        assert value not in out


def test_without_the_demo_step_it_fails_and_says_why(checkout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in readme_exports():
        monkeypatch.delenv(name, raising=False)
    code, out = run_cli("--config", str(checkout / "netguard.yaml"), "config", "check", "--json")
    failed = {c["check"]: c["detail"] for c in json.loads(out) if not c["ok"]}
    assert code == 1
    assert "does not exist" in failed["secrets file"]
    assert any("is not set" in d for d in failed.values())


def test_every_reference_of_the_example_is_in_the_sample_or_the_readme() -> None:
    inventory = load_inventory(EXAMPLES / "huize-county.yaml")
    refs = {ref for switch in inventory.switches() for ref in switch.snmp.refs()}
    sample = (EXAMPLES / "secrets.sample.yaml").read_text(encoding="utf-8")
    names = set(re.findall(r"^([a-z0-9-]+):", sample, flags=re.MULTILINE))
    for ref in refs:
        assert ref.target in (names if ref.scheme == "secret" else readme_exports()), str(ref)
