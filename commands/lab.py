"""``netguard lab``: the built-in lab, for trying NetGuard without a network."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import click

from commands.context import AppContext, pass_app
from commands.output import echo, json_option, plural, print_json, progress
from netguard.errors import ConfigError
from netguard.events import Event, open_event_store
from netguard.inventory import load_inventory
from netguard.lab.county_events import LabCounty, county_events


@click.group(short_help="A simulated county to try NetGuard on.")
def lab() -> None:
    """The built-in lab: a simulated county to try and test NetGuard on."""


@lab.command(name="events")
@click.option(
    "--count", default=5000, show_default=True, type=click.IntRange(1, 10_000_000), help="How many events to write."
)
@click.option(
    "--hours",
    default=24.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Spread them over the last HOURS.",
)
@click.option("--seed", default=7, show_default=True, help="Random seed: the same seed gives the same events.")
@click.option(
    "--inventory", "inventory_file", metavar="FILE", help="Draw from this inventory (default: the configured one)."
)
@json_option
@pass_app
def events_(app: AppContext, count: int, hours: float, seed: int, inventory_file: str | None, as_json: bool) -> None:
    """Fill the configured event store with lab events of every kind.

    SQL statements, bastion logins, commands and transfers, device sightings,
    evictions, link samples and compliance findings, drawn from the inventory:
    every institution, address, server, switch and device named in an event
    exists there, so `netguard events search` finds something to pivot on.

    Repeatable: each time slot always holds the same event, so running it again
    adds only the slots since the last run (same --count, --hours and --seed)
    and never doubles the events already stored.
    """
    if inventory_file is None and app.config.inventory is None:
        raise ConfigError(
            "lab events are drawn from an inventory: pass --inventory FILE or set 'inventory:' in netguard.yaml "
            "(examples/huize-county.yaml is the example county)"
        )
    county = LabCounty.from_inventory(load_inventory(app.inventory_path(inventory_file)))
    step = max(1, int(hours * 3_600_000 / count))
    store = open_event_store(app.config)
    try:
        with progress("writing lab events", count) as advance:

            def stream() -> Iterator[Event]:
                for event in county_events(county, count, end_ms=int(time.time() * 1000), step_ms=step, seed=seed):
                    advance(1)
                    yield event

            result = store.write(stream())
        store.refresh()
    finally:
        store.close()
    report: dict[str, Any] = {"written": result.written, "duplicates": result.duplicates, "failed": result.failed}
    if as_json:
        print_json(report)
    else:
        echo(f"{plural(result.written, 'lab event')} written, {result.duplicates} already present")
