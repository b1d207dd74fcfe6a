"""Filtered views of switches, servers and devices: what a run's targets come from.

:meth:`Inventory.switches <netguard.inventory.Inventory.switches>` (and
``servers()``, ``devices()``) return a :class:`RecordView`: an immutable
sequence of one record type, in file order, that remembers the whole inventory
it came from (:attr:`RecordView.root`). ``view.filter(...)`` narrows it further
with the same :mod:`~netguard.inventory.filter` filters and returns a new view.
Each record is matched together with its institution, which is how a filter on
switches can say ``tier="village"``; the institution comes from the root, so a
view filtered from a view still sees every field.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from netguard.inventory.filter import F, Filter, record_name
from netguard.inventory.model import Device, Institution, Server, Switch

if TYPE_CHECKING:  # the inventory builds views; a view only reads it back
    from netguard.inventory.inventory import Inventory

R = TypeVar("R", Switch, Server, Device)


def build_filter(where: Filter | None, conditions: dict[str, Any], record_type: type) -> Filter | None:
    """``where & F(**conditions)``, checked against ``record_type`` before any record is tested."""
    test = where
    if conditions:
        test = F(**conditions) if test is None else test & F(**conditions)
    if test is not None:
        test.check(record_type)
    return test


class RecordView(Sequence[R], Generic[R]):
    """Switches, servers or devices selected from an inventory; filtering returns a new view."""

    __slots__ = ("_records", "_root", "kind")

    def __init__(self, records: Iterable[R], kind: type[R], root: Inventory) -> None:
        self._records: tuple[R, ...] = tuple(records)
        self.kind: type[R] = kind
        self._root = root

    @property
    def root(self) -> Inventory:
        """The whole inventory the records were selected from."""
        return self._root

    def institution_of(self, record: R) -> Institution:
        return self._root[record.institution]

    def filter(self, where: Filter | None = None, /, **conditions: Any) -> RecordView[R]:
        """A new view of the records matching ``where`` and ``F(**conditions)``."""
        test = build_filter(where, conditions, self.kind)
        if test is None:
            return RecordView(self._records, self.kind, self._root)
        chosen = (r for r in self._records if test(r, self.institution_of(r)))
        return RecordView(chosen, self.kind, self._root)

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[R]:
        return iter(self._records)

    @overload
    def __getitem__(self, index: int) -> R: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[R, ...]: ...

    def __getitem__(self, index: int | slice) -> R | tuple[R, ...]:
        return self._records[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RecordView):
            return self._records == other._records
        if isinstance(other, tuple):
            return self._records == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{len(self)} {record_name(self.kind)} of {self._root.county}>"
