"""The syntax tree the parser produces: what the user typed, not yet bound to fields."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Wild(Enum):
    STAR = "*"
    ONE = "?"


# How deep parentheses, NOT and AND/OR groups may nest (docs/query.md): the parser
# checks the first two, the plan the nesting left after simplification.
MAX_DEPTH = 16

# A value as typed: literal runs and wildcards, e.g. ("adm", Wild.STAR).
Pattern = tuple[str | Wild, ...]


def has_wildcard(p: Pattern) -> bool:
    return any(isinstance(s, Wild) for s in p)


def literal(p: Pattern) -> str:
    return "".join(s if isinstance(s, str) else s.value for s in p)


@dataclass(frozen=True)
class Term:
    """``field:value``, ``field:"phrase"`` or a bare value (field None)."""

    field: str | None
    value: Pattern
    quoted: bool
    pos: int
    value_pos: int


@dataclass(frozen=True)
class Compare:
    """``field:>=value``."""

    field: str
    op: str
    value: str
    pos: int
    value_pos: int


@dataclass(frozen=True)
class Between:
    """``field:[lo TO hi]`` (``{`` ``}`` exclusive, ``*`` open)."""

    field: str
    low: str | None
    high: str | None
    include_low: bool
    include_high: bool
    pos: int
    value_pos: int


@dataclass(frozen=True)
class Exists:
    """``field:*``."""

    field: str
    pos: int


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class MatchAll:
    pass


Node = Term | Compare | Between | Exists | And | Or | Not | MatchAll
