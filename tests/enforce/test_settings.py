"""The ``enforce`` section of netguard.yaml: defaults, values, and a wrong key named with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from netguard.config import load_config
from netguard.enforce.settings import ENFORCE, EnforceSettings
from netguard.errors import ConfigError


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "netguard.yaml"
    path.write_text("state:\n  path: s.db\n" + text, encoding="utf-8")
    return path


def test_defaults_and_values(tmp_path: Path) -> None:
    assert load_config(config(tmp_path, "")).section(ENFORCE) == EnforceSettings()
    text = "enforce:\n  max_actions_per_run: 3\n  snmp_timeout_s: 0.5\n  snmp_retries: 0\n"
    assert load_config(config(tmp_path, text)).section(ENFORCE) == EnforceSettings(3, 0.5, 0)


def test_a_bad_value_is_named_with_its_line(tmp_path: Path) -> None:
    path = config(tmp_path, "enforce:\n  max_actions_per_run: 0\n")
    with pytest.raises(ConfigError, match=r"netguard.yaml:4: enforce.max_actions_per_run: 0 is out of range"):
        load_config(path).section(ENFORCE)
    path = config(tmp_path, "enforce:\n  max_actions: 3\n")
    with pytest.raises(ConfigError, match="max_actions"):
        load_config(path).section(ENFORCE)
