"""Validation findings as data, each pinned to a file, a line and a field path.

An admin fixing a 5,000-line inventory needs every problem at once, each
pointing at its line, in the form editors and CI annotate:
``huize.yaml:123: institutions[5].subnets[0]: '10.1.300.0/24' is not a valid subnet``.
So validation never stops at the first problem: it collects :class:`Issue`
objects in a :class:`Report`, errors and warnings apart. A problem that
involves two places (an overlap, a duplicate) names the other place in
``related`` rather than inside the message, so a tool that moves lines around
(the CSV import maps merged lines back to CSV rows) can rewrite both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Source:
    """Where something is written: file, 1-based line, field path, and the lines of its fields."""

    file: str
    line: int
    path: str
    fields: tuple[tuple[str, int], ...] = ()

    def line_of(self, name: str) -> int:
        for key, line in self.fields:
            if key == name:
                return line
        return self.line

    def at(self, name: str) -> Location:
        """The location of one field of this record."""
        return Location(self.file, self.line_of(name), f"{self.path}.{name}" if self.path else name)

    @property
    def location(self) -> Location:
        return Location(self.file, self.line, self.path)


@dataclass(frozen=True)
class Location:
    file: str
    line: int
    path: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}" if self.path else f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Issue:
    """One finding. ``str(issue)`` is the one-line form ``file:line: path: message``
    (``file:line: path: warning: message`` for a warning)."""

    location: Location
    message: str
    severity: Severity = Severity.ERROR
    related: tuple[Location, ...] = ()

    def __str__(self) -> str:
        label = "warning: " if self.severity is Severity.WARNING else ""
        text = f"{self.location}: {label}{self.message}"
        if self.related:
            others = "; ".join(self._other(r) for r in self.related)
            text += f" (see {others})"
        return text

    def _other(self, other: Location) -> str:
        where = f"line {other.line}" if other.file == self.location.file else f"{other.file}:{other.line}"
        return f"{where}: {other.path}" if other.path else where

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.location.file,
            "line": self.location.line,
            "path": self.location.path,
            "severity": self.severity.value,
            "message": self.message,
            "related": [{"file": r.file, "line": r.line, "path": r.path} for r in self.related],
            "text": str(self),
        }


@dataclass
class Report:
    """Errors and warnings collected over one validation run."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, where: Location, message: str, related: Iterable[Location] = ()) -> None:
        self.errors.append(Issue(where, message, Severity.ERROR, tuple(related)))

    def warning(self, where: Location, message: str, related: Iterable[Location] = ()) -> None:
        self.warnings.append(Issue(where, message, Severity.WARNING, tuple(related)))

    def extend(self, other: Report) -> None:
        self.errors.extend(other.errors)
        self.warnings.extend(other.warnings)

    def sort(self) -> None:
        """File order, so the output reads top to bottom like the file."""
        key = _sort_key
        self.errors.sort(key=key)
        self.warnings.sort(key=key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "errors": [i.to_dict() for i in self.errors],
            "warnings": [i.to_dict() for i in self.warnings],
        }


def _sort_key(issue: Issue) -> tuple[str, int, str]:
    return (issue.location.file, issue.location.line, issue.location.path)
