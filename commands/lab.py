"""``netguard lab``: the built-in lab, for trying NetGuard without a network."""

from __future__ import annotations

import time
from collections.abc import Iterator

import click

from commands.context import AppContext, pass_app
from commands.output import console, json_option, print_json, progress
from netguard.events import Event, open_event_store
from netguard.lab.synthetic_events import synthetic_events


@click.group()
def lab() -> None:
    """The built-in lab: a simulated county to try and test NetGuard on."""


@lab.command(name="events")
@click.option("--count", default=5000, show_default=True, type=click.IntRange(1, 10_000_000))
@click.option("--hours", default=24.0, show_default=True, help="Spread them over the last HOURS.")
@click.option("--seed", default=7, show_default=True, help="Random seed: the same seed gives the same mix of events.")
@json_option
@pass_app
def events_(app: AppContext, count: int, hours: float, seed: int, as_json: bool) -> None:
    """Fill the configured event store with synthetic events of every kind.

    Plausible SQL statements, bastion logins, commands and transfers, device
    sightings, evictions, link samples and compliance findings for the example
    county, so that `netguard events search` has something to find.
    """
    step = max(1, int(hours * 3_600_000 / count))
    start = int(time.time() * 1000) - step * count
    store = open_event_store(app.config)
    try:
        with progress("writing lab events", count) as advance:

            def stream() -> Iterator[Event]:
                for event in synthetic_events(count, seed=seed, start_ms=start, step_ms=step):
                    advance(1)
                    yield event

            result = store.write(stream())
        store.refresh()
    finally:
        store.close()
    if as_json:
        print_json({"written": result.written, "duplicates": result.duplicates, "failed": result.failed})
    else:
        console().print(f"{result.written} lab events written, {result.duplicates} already present", markup=False)
