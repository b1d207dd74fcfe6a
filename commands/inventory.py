"""`netguard inventory`."""

from __future__ import annotations

import click


@click.group()
def inventory() -> None:
    """(inventory commands are being written.)"""
