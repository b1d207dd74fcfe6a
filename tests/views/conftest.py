"""Fixtures for the view tests: an inventory and a configuration full of hostile values."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.views.hostile import HOSTILE_MAC, HOSTILE_NAME, HOSTILE_NOTE, HOSTILE_OWNER, SMALL, yaml_quoted


@pytest.fixture
def hostile_county(tmp_path: Path) -> Path:
    text = SMALL.read_text(encoding="utf-8")
    text = text.replace("name: 县人民医院", "name: " + yaml_quoted(HOSTILE_NAME), 1)
    text = text.replace(
        "owner: 张伟, note: 内科", f"owner: {yaml_quoted(HOSTILE_OWNER)}, note: {yaml_quoted(HOSTILE_NOTE)}", 1
    )
    text = text.replace("f8:bc:12:00:00:01", HOSTILE_MAC, 1)
    path = tmp_path / "county.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def hostile_config(tmp_path: Path, hostile_county: Path) -> Path:
    path = tmp_path / "netguard.yaml"
    path.write_text(f"inventory: {hostile_county.name}\nevents:\n  sqlite:\n    path: events.db\n", encoding="utf-8")
    return path
