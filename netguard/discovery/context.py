"""The per-switch walking context collectors share: one target, bounded parallel walks, one Notes.

A switch answers several table walks at once (the client pipelines: while
one answer is decoded the agent works on the next request), but never more
than ``parallel`` of them, so a small access switch's CPU is not swamped.
The columns of one table go in one GETBULK stream (one var-bind per column
per repetition): nine interface columns cost the requests of about one, and
an empty table (no LLDP, no Q-BRIDGE) costs a single request, which matters
more than anything else when hundreds of small switches are walked.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from netguard.discovery.notes import Notes
from netguard.snmp.target import SnmpTarget
from netguard.snmp.values import Oid

if TYPE_CHECKING:  # types only: importing the discovery package loads no pysnmp API
    from netguard.snmp.client import SnmpClient, Walk


@dataclass
class SwitchContext:
    client: SnmpClient
    target: SnmpTarget
    parallel: int = 4
    notes: Notes = field(default_factory=Notes)
    _gate: asyncio.Semaphore | None = field(default=None, init=False, repr=False)

    async def walk(self, table: str, root: Oid) -> Walk:
        """Walk ``root``; a failure or an early stop is noted against ``table``."""
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.parallel)
        async with self._gate:
            walk = await self.client.walk(self.target, root)
        return self.notes.walked(table, walk)

    async def columns(self, table: str, roots: dict[str, Oid]) -> dict[str, Walk]:
        """Several columns of one table walked together (one GETBULK stream); keyed like ``roots``."""
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.parallel)
        names = list(roots)
        async with self._gate:
            walks = await self.client.walk_columns(self.target, [roots[n] for n in names])
        return {n: self.notes.walked(f"{table}.{n}", w) for n, w in zip(names, walks, strict=True)}


def suffix(oid: Oid, root: Oid) -> Oid:
    return oid[len(root) :]
