"""netguard.yaml: loading, one-line errors, `config show` and `config check`, secrets never printed."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from netguard.config import load_config
from netguard.errors import ConfigError
from netguard.secrets import write_private

SECRET = "Sup3r-S3cret-Value"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "netguard.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_relative_paths_follow_the_file_and_defaults_fill_in(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "inventory: county.yaml\nevents:\n  sqlite:\n    path: var/e.db\n"))
    assert cfg.inventory == tmp_path / "county.yaml"
    assert cfg.events_sqlite_path == tmp_path / "var" / "e.db"
    assert cfg.events_backend == "sqlite"
    assert cfg.state_path.name == "state.db"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("inventori: x\n", "netguard.yaml:1: unknown key 'inventori' (did you mean 'inventory'?)"),
        ("events:\n  backend: mongo\n", "netguard.yaml:2: events.backend: unknown events backend 'mongo'"),
        (
            "events:\n  elasticsearch:\n    password: hunter2\n",
            "netguard.yaml:3: events.elasticsearch.password: a secret must be a reference",
        ),
        ("events: [1, 2]\n", "netguard.yaml:1: events: expected a mapping"),
        ("state:\n  grace_runs: soon\n", "netguard.yaml:2: state.grace_runs: 'soon' is not a whole number"),
        (
            "events:\n  elasticsearch:\n    index_prefix: NetGuard\n",
            "netguard.yaml:3: events.elasticsearch.index_prefix: 'NetGuard' must be lower case",
        ),
        ("inventory: [unclosed\n", "netguard.yaml:1: not valid YAML"),
        # The quote opens on line 3; the parser notices at the end of the file (line 4 reported before).
        ("events:\n  elasticsearch:\n    password: 'plain:hunter2\n", "netguard.yaml:3: not valid YAML"),
    ],
)
def test_bad_configuration_is_one_line_exit_2(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(path)
    code, out = run("--config", str(path), "config", "show")
    assert code == 2
    assert out.startswith("error: ") and "Traceback" not in out
    assert "hunter2" not in out


def test_missing_config_file_is_a_usage_error(tmp_path: Path) -> None:
    code, out = run("--config", str(tmp_path / "nope.yaml"), "config", "show")
    assert code == 2 and "does not exist" in out


def test_show_prints_references_never_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NG_ES_PW", SECRET)
    path = write(
        tmp_path,
        "events:\n  elasticsearch:\n    hosts: ['http://127.0.0.1:9200']\n"
        "    username: ops\n    password: env:NG_ES_PW\n",
    )
    code, out = run("--config", str(path), "config", "show", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["events"]["elasticsearch"]["password"] == "env:NG_ES_PW"
    assert data["events"]["elasticsearch"]["hosts"] == ["http://127.0.0.1:9200"]
    assert SECRET not in out
    code, out = run("--config", str(path), "config", "show")
    assert code == 0 and SECRET not in out


def test_check_reports_unresolvable_secrets_and_open_secrets_files(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(f"es: {SECRET}\n", encoding="utf-8")
    os.chmod(secrets, 0o644)
    path = write(
        tmp_path,
        "secrets_file: secrets.yaml\nevents:\n  backend: elasticsearch\n  elasticsearch:\n"
        "    hosts: [http://127.0.0.1:9]\n    request_timeout: 1\n    api_key: env:NG_MISSING_KEY\n",
    )
    code, out = run("--config", str(path), "config", "check", "--json")
    assert code == 1
    checks = {c["check"]: c for c in json.loads(out)}
    assert not checks["secrets file"]["ok"] and "chmod 600" in checks["secrets file"]["detail"]
    assert not checks["elasticsearch api_key"]["ok"]
    assert "NG_MISSING_KEY" in checks["elasticsearch api_key"]["detail"]
    assert not checks["event store (elasticsearch)"]["ok"]
    assert SECRET not in out


def test_check_passes_on_a_working_embedded_setup(tmp_path: Path) -> None:
    write_private(tmp_path / "secrets.yaml", f"x: {SECRET}\n")
    assert (tmp_path / "secrets.yaml").stat().st_mode & 0o777 == 0o600
    path = write(tmp_path, "secrets_file: secrets.yaml\nevents:\n  sqlite:\n    path: e.db\n")
    code, out = run("--config", str(path), "config", "check")
    assert code == 0, out
    assert "FAIL" not in out and SECRET not in out


def test_grace_runs_reach_the_state_store(tmp_path: Path) -> None:
    from netguard.store import StateStore

    cfg = load_config(write(tmp_path, "state:\n  path: s.db\n  grace_runs: 5\n"))
    with StateStore.from_config(cfg) as store:
        assert store.sightings.grace_runs == 5


@pytest.mark.parametrize("what", ["config", "inventory", "csv"])
def test_a_directory_or_missing_file_where_a_file_is_named_is_one_clear_line(tmp_path: Path, what: str) -> None:
    """The configuration, the inventory and an imported CSV say the same thing of a directory or a missing file."""
    from netguard.errors import InventoryError
    from netguard.inventory import import_csv, load_inventory

    folder = tmp_path / "a folder"
    folder.mkdir()
    county = Path(__file__).parents[2] / "examples" / "huize-county.yaml"
    read: dict[str, tuple[Callable[[Path], object], type[Exception], str]] = {
        "config": (load_config, ConfigError, "configuration file"),
        "inventory": (load_inventory, InventoryError, "inventory file"),
        "csv": (lambda p: import_csv(p, county), InventoryError, "CSV file"),
    }
    load, error, name = read[what]
    with pytest.raises(error) as raised:
        load(folder)
    assert str(raised.value) == f"{name} {folder} is a directory, not a file"
    with pytest.raises(error) as raised:
        load(tmp_path / "nothing here")
    assert str(raised.value) == f"{name} {tmp_path / 'nothing here'} does not exist"
