"""Configuration errors as precise as inventory errors: ``file:line: path: message``, all at once."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from netguard.config import load_config
from netguard.errors import ConfigError, InventoryError, StoreError
from netguard.inventory import check_inventory
from netguard.secrets import SecretRef, write_private
from netguard.store import StateStore
from tests.config.conftest import run_cli

VALUE = "V4lue-Never-Shown"


def error_of(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value


def test_an_unknown_top_level_key_gets_a_suggestion_and_its_line(write_config) -> None:
    path = write_config("inventory: county.yaml\n\nevnets:\n  backend: sqlite\n")
    assert str(error_of(path)) == f"{path}:3: unknown key 'evnets' (did you mean 'events'?)"


def test_a_nested_unknown_key_names_its_path(write_config) -> None:
    path = write_config("events:\n  sqlite:\n    pth: e.db\n")
    assert str(error_of(path)) == f"{path}:3: events.sqlite: unknown key 'pth' (did you mean 'path'?)"


def test_every_problem_is_reported_and_config_check_lists_them(write_config) -> None:
    path = write_config("evnets: {}\nstate:\n  grace_runs: -1\nevents:\n  backend: mongo\n")
    issues = error_of(path).issues
    assert [i.split(": ", 1)[0] for i in issues] == [f"{path}:1", f"{path}:3", f"{path}:5"]
    assert "(and 2 more; run: netguard config check)" in str(error_of(path))
    code, out = run_cli("--config", str(path), "config", "check")
    assert code == 2
    assert [line for line in out.splitlines() if line.startswith("error: ")] == [f"error: {i}" for i in issues]
    code, out = run_cli("--config", str(path), "config", "check", "--json")
    assert code == 2 and [c["detail"] for c in json.loads(out)] == list(issues)


def test_an_unknown_reference_scheme_is_reported_as_one(write_config) -> None:
    path = write_config("state:\n  journal_key: sekret:journal-key\n")
    message = str(error_of(path))
    assert message.startswith(f"{path}:2: state.journal_key: unknown reference scheme 'sekret:'")
    assert "did you mean 'secret:'?" in message and "env:, secret:, file:, plain:" in message


def test_an_inline_value_with_a_colon_is_not_echoed(write_config) -> None:
    path = write_config(f"state:\n  journal_key: 'Vault:{VALUE}'\n")
    message = str(error_of(path))
    assert "unknown scheme" in message and "env:, secret:, file:, plain:" in message
    assert VALUE not in message and "Vault" not in message


def test_a_misspelt_secret_name_gets_a_suggestion_never_a_value(write_config, tmp_path: Path) -> None:
    write_private(tmp_path / "secrets.yaml", f"journal-key: {VALUE}\nes-password: {VALUE}2\n")
    path = write_config("secrets_file: secrets.yaml\nstate:\n  journal_key: secret:journal-kye\n")
    code, out = run_cli("--config", str(path), "config", "check", "--json")
    assert code == 1
    check = next(c for c in json.loads(out) if c["check"] == "state journal_key")
    assert not check["ok"]
    assert check["detail"].startswith(f"{path}:3: state.journal_key: secret:journal-kye: ")
    assert "(did you mean secret:journal-key?)" in check["detail"]
    assert VALUE not in out


def test_the_journal_key_is_a_reference_resolved_by_config_check(write_config, tmp_path: Path) -> None:
    write_private(tmp_path / "secrets.yaml", f"journal-key: {VALUE}\n")
    path = write_config("secrets_file: secrets.yaml\nstate:\n  path: s.db\n  journal_key: secret:journal-key\n")
    cfg = load_config(path)
    assert cfg.journal_key == SecretRef("secret", "journal-key")
    assert cfg.resolver().resolve(cfg.journal_key).reveal() == VALUE
    code, out = run_cli("--config", str(path), "config", "check", "--json")
    checks = {c["check"]: c for c in json.loads(out)}
    assert checks["state journal_key"] == {
        "check": "state journal_key",
        "ok": True,
        "detail": "secret:journal-key resolves",
    }
    assert VALUE not in out and code == 0, out
    code, out = run_cli("--config", str(path), "config", "show", "--json")
    assert code == 0 and json.loads(out)["state"]["journal_key"] == "secret:journal-key"
    assert load_config(write_config("state:\n  path: s.db\n", "other.yaml")).journal_key is None


def test_grace_runs_zero_is_refused_at_load_by_the_stores_own_rule(write_config, tmp_path: Path) -> None:
    path = write_config("state:\n  path: s.db\n  grace_runs: 0\n")
    message = str(error_of(path))
    assert message.startswith(f"{path}:3: state.grace_runs: must be between 1 and ")
    with pytest.raises(StoreError) as info:
        StateStore.open(tmp_path / "s.db", grace_runs=0)
    assert message.split("state.grace_runs: ", 1)[1] in str(info.value)
    assert load_config(write_config("state:\n  grace_runs: 1\n", "one.yaml")).grace_runs == 1


SYNTAX = [
    # (text, line to fix): the problem mark of the parser is one line later, or past the end.
    ("a: 1\nevents:\n  backend: 'sqlite\n", 3),
    ("a: 1\nevents:\n  backend: 'sqlite\nstate:\n  path: x\n", 3),
    ("inventory: x\nevents: [sqlite,\nstate: {}\n", 2),
    ("inventory: x\nevents: {backend: sqlite\n", 2),
    ("inventory: x\n events: 1\n", 2),
    ("inventory: x\nstate:\n\tpath: x\n", 3),
]


@pytest.mark.parametrize(("text", "line"), SYNTAX)
def test_a_yaml_syntax_error_names_the_line_to_fix_in_the_config(write_config, text: str, line: int) -> None:
    path = write_config(text)
    assert str(error_of(path)).startswith(f"{path}:{line}: not valid YAML: ")


@pytest.mark.parametrize(("text", "line"), SYNTAX)
def test_a_yaml_syntax_error_names_the_line_to_fix_in_the_inventory(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "county.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InventoryError, match=re.escape(f"{path}:{line}: not valid YAML: ")):
        check_inventory(path)


def test_a_syntax_error_never_quotes_the_line(write_config) -> None:
    path = write_config(f"events:\n  elasticsearch:\n    password: 'plain:{VALUE}\n")
    assert VALUE not in str(error_of(path))


def test_non_utf8_bytes_in_the_config_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "netguard.yaml"
    path.write_bytes(
        "inventory: 县.yaml\nstate:\n  path: s\xe9.db\n".encode("latin-1", errors="replace").replace(
            b"?", "县".encode()
        )
    )
    message = str(error_of(path))
    assert message == f"{path}:3: is not UTF-8 text (byte 0xe9 at column 10); save the file as UTF-8"
    code, out = run_cli("--config", str(path), "config", "show")
    assert code == 2 and out == f"error: {message}\n"


def test_non_utf8_bytes_in_the_inventory_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "county.yaml"
    path.write_bytes(
        "county: 会泽县\ninstitutions:\n  - id: a\n    name: \xb2\xe2\n".encode(
            "utf-8", errors="surrogateescape"
        ).replace(b"\xc2\xb2\xc3\xa2", b"\xb2\xe2")
    )
    with pytest.raises(InventoryError) as info:
        check_inventory(path)
    assert str(info.value).startswith(f"{path}:4: is not UTF-8 text (byte 0xb2 at column 11)")


def test_a_bom_is_accepted(write_config, tmp_path: Path) -> None:
    path = tmp_path / "netguard.yaml"
    path.write_bytes(b"\xef\xbb\xbfstate:\n  grace_runs: 4\n")
    assert load_config(path).grace_runs == 4
