"""docs/events.md is generated from the schema; it must match the code."""

from __future__ import annotations

from pathlib import Path

from netguard.events.docs import render
from netguard.events.schema import FIELDS, KINDS


def test_events_reference_is_current() -> None:
    committed = (Path(__file__).parents[2] / "docs" / "events.md").read_text(encoding="utf-8")
    assert committed == render(), "run: python -m netguard.events.docs > docs/events.md"


def test_every_kind_and_field_is_documented() -> None:
    text = render()
    for kind in KINDS:
        assert f"## `{kind}`" in text
    for name in FIELDS:
        assert f"| `{name}` |" in text
