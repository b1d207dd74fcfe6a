"""`netguard events`."""

from __future__ import annotations

import click


@click.group()
def events() -> None:
    """(events commands are being written.)"""
