"""The scope a command runs on, from ``--institution``, ``--township`` and ``--tier``.

Every command that works on part of the county takes the same three options;
:func:`scope_filter` turns their values into one filter. Values of one option
are alternatives (``--township 娜姑镇 --township 大海乡``: either), different
options all apply. The filter uses only fields every record type can answer
(``institution__id``, ``tier``, ``township``), so the same scope selects
institutions, switches, servers or devices::

    scope = scope_filter(inv, townships=["娜姑镇"], tiers=["village"])
    inv.switches(scope, role="access")

A name the inventory does not know is a user error naming the file and the
closest known name, not a scope that silently matches nothing.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable

from netguard.errors import InventoryError
from netguard.inventory.filter import F, Filter, combine
from netguard.inventory.inventory import Inventory
from netguard.inventory.model import Tier


def scope_filter(
    inventory: Inventory,
    *,
    institutions: Iterable[str] = (),
    townships: Iterable[str] = (),
    tiers: Iterable[str | Tier] = (),
) -> Filter | None:
    """One filter for the options given, or None for the whole county."""
    root = inventory.root
    wanted_ids = _known("institution", institutions, [i.id for i in root], root)
    wanted_townships = _known("township", townships, root.townships(), root)
    wanted_tiers: set[Tier] = set()
    for tier in tiers:
        try:
            wanted_tiers.add(Tier(tier))
        except ValueError:
            raise InventoryError(f"no tier '{tier}' (one of {', '.join(t.value for t in Tier)})") from None
    parts: list[Filter] = []
    if wanted_ids:
        parts.append(F(institution__id__in=wanted_ids))
    if wanted_townships:
        parts.append(F(township__in=wanted_townships))
    if wanted_tiers:
        parts.append(F(tier__in=wanted_tiers))
    return combine(parts)


def _known(what: str, values: Iterable[str], known: Collection[str], root: Inventory) -> set[str]:
    chosen = set()
    for value in values:
        if value not in known:
            close = difflib.get_close_matches(value, sorted(known), n=1, cutoff=0.5)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            where = f" in {root.file}" if root.file else ""
            raise InventoryError(f"no {what} '{value}'{where}{hint}")
        chosen.add(value)
    return chosen
