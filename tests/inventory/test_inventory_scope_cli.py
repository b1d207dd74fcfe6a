"""The --institution/--township/--tier options, on a command built the way capabilities will build theirs."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from commands.scope import Scope, scope_options
from netguard.errors import InventoryError
from netguard.inventory import load_inventory

SMALL = Path(__file__).parent / "data" / "small.yaml"


@click.command()
@scope_options
@click.option("--role", default="access")
def switches(scope: Scope, role: str) -> None:
    inv = load_inventory(SMALL)
    click.echo(scope.describe())
    for switch in inv.switches(scope.filter(inv), role=role):
        click.echo(switch.id)
    click.echo(f"{len(scope.apply(inv))} institutions")


@pytest.mark.parametrize(
    ("args", "lines"),
    [
        ([], ["the whole county", "dc-acc1", "nagu-acc1", "vc-nagu-01-sw1", "dahai-acc1", "8 institutions"]),
        (
            ["--township", "娜姑镇", "--tier", "village"],
            ["township 娜姑镇; tier village", "vc-nagu-01-sw1", "2 institutions"],
        ),
        (
            ["--institution", "dc", "--institution", "thc-dahai", "--role", "core"],
            ["institution dc, thc-dahai", "dc-core1", "2 institutions"],
        ),
    ],
)
def test_scope_options_select_the_same_part_of_the_county_for_every_record_type(args, lines):
    result = CliRunner().invoke(switches, args)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == lines


def test_an_unknown_township_is_a_user_error_with_a_suggestion():
    result = CliRunner().invoke(switches, ["--township", "娜姑"])
    assert isinstance(result.exception, InventoryError)
    assert "no township '娜姑'" in str(result.exception) and "did you mean '娜姑镇'" in str(result.exception)


def test_an_unknown_tier_is_refused_by_the_option():
    result = CliRunner().invoke(switches, ["--tier", "city"])
    assert result.exit_code == 2 and "Invalid value for '--tier'" in result.output
