"""The events of a write (or purge) as a batch, and the address and CJK rows made from it.

The rows of all the indexes are made a batch at a time (:class:`Batch`), not an
event at a time: a batch's events are grouped by their list of field names
(make_event's fixed order keeps a kind's events to a few such lists), each
group's values transposed into columns, and each column worked on with ``map``
over C functions and dict lookups (a token cache per field, a packed address
per text, the tokens of a repeated text once per batch). Python's cost per
event, not hashing, was most of what making the rows cost: about 15 us an
event made one by one, about 6 us a batch at a time (``bench/events_rows_cost.py``).
The rows are the same (the token text's order aside): stores written before
stay valid, and a purge deletes what was written, by making the rows again.

The grouping and the terms index's token texts have a C version (``_rows.c``, built by
``pip install -e .``, optional), where the Python loops above had nothing left to take out: the
cost was the transposed intermediates (a tuple of names per event, zip tuples, each text's list
of pieces) and reading each event's dict twice. It makes the same rows: on 100,000 events
(``bench/events_rows_cost.py``, medians of 5 interleaved turns, load 1.6-1.8) the batch and its
text bodies take 1.3 us an event instead of 2.5, the terms 1.1 instead of 1.9, all the rows 3.7
instead of 5.6. Without it, or with ``NETGUARD_NO_CEXT=1`` set, the rows are made in Python.
"""

from __future__ import annotations

import os
import sqlite3
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, compress, repeat
from operator import eq, is_, methodcaller, not_
from types import ModuleType
from typing import Any

from netguard.events.schema import FIELDS
from netguard.events.sqlite_index.addresses import IP_FIELD_BITS, ip_key, ip_rows
from netguard.events.sqlite_index.cjk import cjk_tokens


def accelerator() -> ModuleType | None:
    """The C version of the hot loops (``_rows``), or None: not built, or ``NETGUARD_NO_CEXT`` set."""
    if os.environ.get("NETGUARD_NO_CEXT"):
        return None
    try:
        from netguard.events.sqlite_index import _rows
    except ImportError:
        return None
    return _rows


class Memo(dict[Any, Any]):
    """A dict that computes a missing value with ``make`` and keeps it: looked up with ``map`` it stays in C."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[Any], Any]) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, key: Any) -> Any:
        value = self[key] = self.make(key)
        return value


@dataclass(frozen=True, slots=True)
class Group:
    """The events of a batch that carry the same fields in the same order (make_event's fixed order
    keeps a kind's events to a few such groups): what to read is worked out once per group, and each
    field is taken as a column of values and worked on with ``map``, in C, rather than event by event."""

    names: tuple[str, ...]
    at: list[int]  # the events' positions in the batch
    rowids: list[int]
    fields: list[Mapping[str, Any]]
    columns: dict[str, tuple[Any, ...]]  # each field's values, in the events' order

    def column(self, name: str) -> tuple[Any, ...]:
        """The values of a field every event of the group has."""
        return self.columns[name]


class Batch:
    """The events of one write (or purge) to index: rowids, fields, text bodies, grouped by their fields.

    A null value is no field (make_event drops them; a document read back may still hold one), as
    the per-event indexer always treated it: such an event is indexed without it. ``bodies`` (the
    trigram index's text of each event, see :func:`netguard.events.query.to_sqlite.fts_bodies`) is
    set before the batch is indexed.

    A group's columns are its events' values transposed (``zip`` over their ``values()``, which
    reads each dict front to back once): reading a field down 20,000 dicts instead would touch each
    dict's memory once per field, three times slower.
    """

    def __init__(self, rowids: Sequence[int], fields: Sequence[Mapping[str, Any]]) -> None:
        self.rowids = list(rowids)
        self.fields = list(fields)
        self.bodies: list[str] = []
        # The C accelerator, if any, kept for the steps that come after (TermIndexer.batch_rows).
        self.accel = accelerator()
        self._values: Callable[[Any], Iterable[Any]] = dict.values
        if not all(map(dict.__instancecheck__, self.fields)):
            self._values = methodcaller("values")
        self.groups, maybe_nulls = self._grouped()
        nulls = self._nulls() if maybe_nulls else set()
        if nulls:  # rare (a document read back): those events without their nulls, and the groups again
            for i in nulls:
                self.fields[i] = {n: v for n, v in self.fields[i].items() if v is not None}
            self.groups, _ = self._grouped()

    def _grouped(self) -> tuple[list[Group], bool]:
        """The events' groups, and False if no value is null for sure (else :meth:`_nulls` looks)."""
        made = self.accel.group(self.fields) if self.accel is not None else None
        if made is not None:  # C: the same groups, in the same order, the same columns
            grouped, maybe_nulls = made
            return [self._group(names, at, columns, len(grouped)) for names, at, columns in grouped], maybe_nulls
        # Python, or an event that is not a dict, or a key that is not a str
        positions: defaultdict[tuple[str, ...], list[int]] = defaultdict(list)
        for i, names in enumerate(map(tuple, self.fields)):
            positions[names].append(i)
        return [self._group(names, at, None, len(positions)) for names, at in positions.items()], True

    def _group(
        self, names: tuple[str, ...], at: list[int], columns: Iterable[tuple[Any, ...]] | None, of: int
    ) -> Group:
        """A group of ``of``: its columns given (by C), else the events' values transposed."""
        if of == 1:
            rowids, fields = self.rowids, self.fields
        else:
            rowids = list(map(self.rowids.__getitem__, at))
            fields = list(map(self.fields.__getitem__, at))
        if columns is None:
            columns = zip(*map(self._values, fields), strict=True)
        return Group(names, at, rowids, fields, dict(zip(names, columns, strict=True)) if names else {})

    def _nulls(self) -> set[int]:
        """The positions of the events with a null value."""
        found: set[int] = set()
        for group in self.groups:
            for column in group.columns.values():
                # A truth test is cheaper than ``is None`` through map, and most columns have no false value.
                if not all(column) and any(map(is_, column, repeat(None))):
                    found.update(compress(group.at, map(is_, column, repeat(None))))
        return found

    @classmethod
    def of_rows(cls, rows: Iterable[tuple[int, Mapping[str, Any], str]]) -> Batch:
        """The batch of events given as (rowid, fields, text body)."""
        rows = list(rows)
        batch = cls([r[0] for r in rows], [r[1] for r in rows])
        batch.bodies = [r[2] for r in rows]
        return batch

    def __len__(self) -> int:
        return len(self.rowids)

    def scatter(self, group: Group, values: Iterable[Any], out: list[Any]) -> None:
        """Put a group's values (one per event, in the group's order) at the events' places in ``out``."""
        deque(map(out.__setitem__, group.at, values), maxlen=0)


class AddressKeys(Memo):
    """Addresses packed by :func:`ip_key`, by their text: a store keeps one, as a network's addresses repeat."""

    LIMIT = 100_000  # addresses kept; the cache is emptied (between batches) when it holds more

    def __init__(self) -> None:
        super().__init__(lambda text: ip_key(str(text)))


def _ip_rows(batch: Batch, keys: AddressKeys | None = None) -> list[tuple[bytes, int, int]]:
    """The ``event_ips`` rows of a batch: those of :func:`ip_rows`, worked out per group."""
    if keys is None:
        keys = AddressKeys()
    elif len(keys) > keys.LIMIT:
        keys.clear()
    rows: list[tuple[bytes, int, int]] = []
    related = "related.ip"
    for group in batch.groups:
        present = [(n, b) for n, b in IP_FIELD_BITS.items() if n in group.names]
        if not present:
            continue
        scalars = [(n, b) for n, b in present if n != related and not FIELDS[n].array]
        columns = [group.column(n) for n, _ in scalars]
        # The usual event: one address per field, and related.ip exactly their list (make_event
        # derives it so): each address is one row, of its field's bit (and related.ip's).
        usual = len(scalars) == len(present) - (related in group.names) and all(
            not any(map(eq, columns[i], columns[j])) for i in range(len(columns)) for j in range(i)
        )
        if usual and related in group.names:
            usual = list(map(list, zip(*columns, strict=True))) == list(group.column(related))
        if not usual or not all(all(map(str.__instancecheck__, c)) for c in columns):
            rows.extend(chain.from_iterable(map(ip_rows, group.fields, group.rowids)))
            continue
        extra = IP_FIELD_BITS[related] if related in group.names else 0
        for (_, bit), column in zip(scalars, columns, strict=True):
            packed = list(map(keys.__getitem__, column))
            made = zip(packed, group.rowids, repeat(bit | extra))
            rows.extend(made if None not in packed else (r for r in made if r[0] is not None))
    return rows


def _cjk_rows(batch: Batch) -> list[tuple[int, str]]:
    """The ``events_cjk`` rows of a batch: (rowid, :func:`cjk_tokens` of its text) where there are tokens."""
    wide = list(map(not_, map(str.isascii, batch.bodies)))  # O(1) each: CPython keeps the flag
    if not any(wide):
        return []
    texts = Memo(cjk_tokens)  # texts repeat within a batch (a message, a statement): each worked out once
    made = map(texts.__getitem__, compress(batch.bodies, wide))
    return [row for row in zip(compress(batch.rowids, wide), made, strict=True) if row[1]]


def store_rows(
    conn: sqlite3.Connection,
    rows: Batch | Iterable[tuple[int, Mapping[str, Any], str]],
    *,
    delete: bool = False,
    keys: AddressKeys | None = None,
) -> None:
    """Add (or, with ``delete``, remove) the side-index entries of a batch (or of events as (rowid, fields, body)).

    ``keys``: the store's cache of packed addresses (else one for this batch).
    """
    batch = rows if isinstance(rows, Batch) else Batch.of_rows(rows)
    ips = _ip_rows(batch, keys)
    cjk = _cjk_rows(batch)
    if delete:
        conn.executemany("DELETE FROM event_ips WHERE addr = ? AND event = ?", [(a, e) for a, e, _ in ips])
        conn.executemany("INSERT INTO events_cjk(events_cjk, rowid, body) VALUES ('delete', ?, ?)", cjk)
    else:
        conn.executemany("INSERT INTO event_ips(addr, event, fields) VALUES (?, ?, ?)", ips)
        conn.executemany("INSERT INTO events_cjk(rowid, body) VALUES (?, ?)", cjk)
