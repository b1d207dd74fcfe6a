"""``--institution``, ``--township`` and ``--tier``: the same three options on every command that
works on part of the county (discovery, link checks, scans).

``@scope_options`` adds them and hands the command one :class:`Scope`; ``scope.apply(inv)``
gives the institutions view and ``scope.filter(inv)`` the filter for
``inv.switches(...)``/``servers(...)``/``devices(...)``. Unknown names are checked against the
inventory by :func:`netguard.inventory.scope_filter` (one line, exit code 2).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from netguard.inventory import Filter, Inventory, Tier, scope_filter


@dataclass(frozen=True)
class Scope:
    institutions: tuple[str, ...] = ()
    townships: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()

    def filter(self, inventory: Inventory) -> Filter | None:
        return scope_filter(inventory, institutions=self.institutions, townships=self.townships, tiers=self.tiers)

    def apply(self, inventory: Inventory) -> Inventory:
        return inventory.filter(self.filter(inventory))

    def describe(self) -> str:
        """For titles and logs: ``township 娜姑镇, tier village`` or ``the whole county``."""
        parts = [
            f"{what} {', '.join(values)}"
            for what, values in (("institution", self.institutions), ("township", self.townships), ("tier", self.tiers))
            if values
        ]
        return "; ".join(parts) or "the whole county"


def scope_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the three options; the command receives ``scope: Scope`` instead of them."""

    @functools.wraps(func)
    def wrapper(
        *args: Any, institutions: tuple[str, ...], townships: tuple[str, ...], tiers: tuple[str, ...], **kwargs: Any
    ) -> Any:
        return func(*args, scope=Scope(institutions, townships, tiers), **kwargs)

    options = (
        click.option("--tier", "tiers", multiple=True, type=click.Choice([t.value for t in Tier]),
                     help="Only this tier (repeatable)."),
        click.option("--township", "townships", multiple=True, help="Only this township, e.g. 娜姑镇 (repeatable)."),
        click.option("--institution", "institutions", multiple=True, metavar="ID",
                     help="Only this institution (repeatable)."),
    )  # fmt: skip
    decorated: Callable[..., Any] = wrapper
    for option in options:
        decorated = option(decorated)
    return decorated
