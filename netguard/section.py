"""Configuration sections that capabilities read themselves.

``netguard.yaml`` has a section per capability (``discovery``, ``enforce``,
``links``, ``scan``, ``audit``, ``bastion``). The configuration module does
not know what goes in them: :func:`netguard.config.load_config` checks the
top-level names (:mod:`netguard.section_names`) and keeps each section's YAML
node, with its line numbers, as a :class:`RawSection`. A capability declares
what it reads as a :class:`Section` (a name, a frozen dataclass and a parse
function) and asks the configuration for it::

    @dataclass(frozen=True)
    class LinkSettings:
        interval_s: int = 60
        community: SecretRef | None = None

    def _parse(r: SectionReader, node: yaml.Node) -> LinkSettings | None:
        fields = r.mapping(node, "links", (), ("interval_s", "community"))
        if fields is None:
            return None
        return LinkSettings(
            interval_s=r.integer(fields, "interval_s", 1, 86_400) or 60,
            community=r.ref(fields, "community"),
        )

    LINKS = Section("links", LinkSettings, _parse)
    settings = config.section(LINKS)     # LinkSettings, or ConfigError at file:line

The parse function gets a :class:`SectionReader`, the inventory's line-aware
reader (:class:`netguard.inventory.nodes.Reader`: unknown keys with "did you
mean", duplicates, whole numbers, choices, secret references) plus paths
relative to the file, booleans and numbers. Every problem is collected with
its ``file:line: path`` and raised together as one
:class:`~netguard.errors.ConfigError`. Secret references are recorded with
where they are written, so ``config check`` resolves each one.

Nothing is registered anywhere: a section is a value the capability owns and
passes around, and ``netguard config check`` is handed the list of sections
to check by the command layer that imports the capabilities.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import yaml

from netguard.errors import ConfigError
from netguard.inventory.issues import Location, Report
from netguard.inventory.nodes import Fields, Reader, is_null, join
from netguard.secrets import SecretRef
from netguard.section_names import CAPABILITIES

T = TypeVar("T")

_TRUE = ("true", "yes", "on")
_FALSE = ("false", "no", "off")


@dataclass(frozen=True)
class RefAt:
    """A secret reference and where it is written."""

    ref: SecretRef
    where: Location


class SectionReader(Reader):
    """The inventory's reader plus what configuration values need; records secret references."""

    def __init__(self, file: str, report: Report, base: Path) -> None:
        super().__init__(file, report)
        self.base = base
        self.refs: list[RefAt] = []

    def ref(self, fields: Fields, name: str) -> SecretRef | None:
        ref = super().ref(fields, name)
        node = fields.get(name)
        if ref is not None and node is not None:
            self.refs.append(RefAt(ref, self.loc(node, join(fields.path, name))))
        return ref

    def path(self, fields: Fields, name: str) -> Path | None:
        """A path; relative ones are relative to the configuration file."""
        value = self.text(fields, name)
        if value is None:
            return None
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.base / path

    def boolean(self, fields: Fields, name: str) -> bool | None:
        value = self.text(fields, name)
        if value is None:
            return None
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        node = fields.get(name)
        assert node is not None
        self.error(node, join(fields.path, name), f"'{value}' is not true or false")
        return None

    def number(self, fields: Fields, name: str, low: float, high: float) -> float | None:
        value = self.text(fields, name)
        if value is None:
            return None
        node = fields.get(name)
        assert node is not None
        try:
            number = float(value)
        except ValueError:
            self.error(node, join(fields.path, name), f"'{value}' is not a number")
            return None
        if not low <= number <= high:  # also refuses nan
            self.error(node, join(fields.path, name), f"{value} is out of range ({low:g}-{high:g})")
            return None
        return number


class RawSection:
    """One top-level section as written: its YAML node (with line numbers), not yet interpreted.

    Not a dataclass: ``dataclasses.asdict`` would copy the node into the result,
    and the node holds the raw values, ``plain:`` secrets included.
    """

    __slots__ = ("base", "file", "name", "node")

    def __init__(self, name: str, file: str, base: Path, node: yaml.Node) -> None:
        self.name = name
        self.file = file
        self.base = base
        self.node = node

    @property
    def line(self) -> int:
        return int(self.node.start_mark.line) + 1

    def __repr__(self) -> str:
        return f"RawSection({self.name!r} at {self.file}:{self.line})"


@dataclass(frozen=True)
class Section(Generic[T]):
    """What a capability reads from its section: a name, a frozen dataclass and a parse function.

    ``parse`` reports problems on the reader and returns the settings (or None
    when the section's shape is hopeless). An absent section is parsed as an
    empty mapping at line 1, so defaults and required keys work the same way.
    """

    name: str
    type: type[T]
    parse: Callable[[SectionReader, yaml.Node], T | None]

    def __post_init__(self) -> None:
        if self.name not in CAPABILITIES:
            raise ValueError(f"section '{self.name}' is not in netguard.section_names.CAPABILITIES")


@dataclass(frozen=True)
class SectionResult(Generic[T]):
    """A parsed section, the secret references it holds and its warnings."""

    value: T
    refs: tuple[RefAt, ...]
    warnings: tuple[str, ...]


def read_section(spec: Section[T], raw: RawSection | None, file: str, base: Path) -> SectionResult[T]:
    """Parse one section with its spec; every problem raised together as a ConfigError."""
    report = Report()
    reader = SectionReader(file, report, base)
    node = raw.node if raw is not None else _empty_mapping(file)
    if is_null(node):  # "links:" with nothing under it
        node = yaml.MappingNode("tag:yaml.org,2002:map", [], start_mark=node.start_mark, end_mark=node.end_mark)
    value = spec.parse(reader, node)
    report.sort()
    if report.errors or value is None:
        issues = [str(i) for i in report.errors] or [f"{file}: {spec.name}: not readable"]
        raise ConfigError.of(issues)
    if not isinstance(value, spec.type):
        raise TypeError(f"section {spec.name}: parse returned {type(value).__name__}, not {spec.type.__name__}")
    return SectionResult(value, tuple(reader.refs), tuple(str(w) for w in report.warnings))


def _empty_mapping(file: str) -> yaml.MappingNode:
    mark = yaml.Mark(file, 0, 0, 0, None, 0)
    return yaml.MappingNode("tag:yaml.org,2002:map", [], start_mark=mark, end_mark=mark)
