"""The per-switch walking context collectors share: one target, bounded parallel walks, one Notes.

A switch answers several table walks at once (the client pipelines: while
one answer is decoded the agent works on the next request), but never more
than ``parallel`` of them, so a small access switch's CPU is not swamped.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from netguard.discovery.notes import Notes
from netguard.snmp.client import SnmpClient, Walk
from netguard.snmp.target import SnmpTarget
from netguard.snmp.values import Oid


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
        """Several columns of one table, walked in parallel; keyed like ``roots``."""
        names = list(roots)
        walks = await asyncio.gather(*(self.walk(f"{table}.{n}", roots[n]) for n in names))
        return dict(zip(names, walks, strict=True))


def suffix(oid: Oid, root: Oid) -> Oid:
    return oid[len(root) :]
