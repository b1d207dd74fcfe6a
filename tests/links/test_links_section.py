"""The links section of netguard.yaml, read through the configuration's section API."""

from __future__ import annotations

from pathlib import Path

import pytest

from netguard.config import load_config
from netguard.errors import ConfigError
from netguard.links.settings import LINKS


def test_links_section_values_and_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("state: {}\nlinks:\n  count: 5\n  interval_ms: 250\n")
    settings = load_config(good).section(LINKS)
    assert settings.check.icmp.count == 5 and settings.check.icmp.interval_ms == 250
    bad = tmp_path / "bad.yaml"
    bad.write_text("state: {}\nlinks:\n  count: 3\n  intervall_ms: 250\n")
    with pytest.raises(ConfigError) as info:
        load_config(bad).section(LINKS)
    assert f"{bad}:3" in str(info.value) and "intervall_ms" in str(info.value)
