"""Loading an inventory file: the two passes put together, with the outcomes a caller needs.

Two entry points, because callers want two things:

* :func:`load_inventory` for tools that *use* the inventory (discovery,
  eviction, links): it returns a valid :class:`Inventory` or raises, so no
  tool ever runs on a half-valid county. Errors in the data raise
  :class:`InventoryInvalid` (exit 1, findings); a missing file or broken YAML
  raises :class:`~netguard.errors.InventoryError` (exit 2, usage).
* :func:`check_inventory` / :func:`check_text` for ``validate`` and
  ``import``: they return every error and warning, and the inventory only when
  there is no error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from netguard.errors import EXIT_FINDINGS, InventoryError
from netguard.inventory.inventory import Inventory
from netguard.inventory.issues import Report
from netguard.inventory.parse import parse, read_text
from netguard.inventory.validate import check


class InventoryInvalid(InventoryError):
    """The inventory file was read but has errors; carries the full report."""

    exit_code = EXIT_FINDINGS

    def __init__(self, file: str, report: Report) -> None:
        self.report = report
        first = report.errors[0]
        more = len(report.errors) - 1
        tail = f" (and {more} more; run: netguard inventory validate {file})" if more else ""
        super().__init__(f"invalid inventory: {first}{tail}")


@dataclass(frozen=True)
class Checked:
    """The outcome of validating one file."""

    file: str
    report: Report
    inventory: Inventory | None

    @property
    def ok(self) -> bool:
        return self.report.ok


def check_text(text: str, file: str, path: Path | None = None) -> Checked:
    """Validate inventory text; ``file`` is the name used in messages."""
    report = Report()
    parsed = parse(text, file, report)
    inventory = check(parsed, report, path)
    return Checked(file, report, inventory)


def check_inventory(path: str | Path) -> Checked:
    """Validate a file. Raises InventoryError only when it cannot be read or is not YAML."""
    path = Path(path)
    return check_text(read_text(path), str(path), path)


def load_inventory(path: str | Path) -> Inventory:
    """Load and validate a file; raise InventoryInvalid (exit 1) if it has errors."""
    checked = check_inventory(path)
    if checked.inventory is None:
        raise InventoryInvalid(checked.file, checked.report)
    return checked.inventory
