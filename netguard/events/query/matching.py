"""Wildcard matching in time linear in the value's length, whatever the pattern.

A pattern is literal runs, ``?`` (one character) and ``*`` (any run). Split on
``*`` it is a list of segments, each of a fixed length (a ``?`` is one
character). A value matches ``S0*S1*...*Sk`` exactly when ``S0`` is its prefix,
``Sk`` its suffix (not overlapping ``S0``), and ``S1 .. Sk-1`` occur in that
order in between: taking the leftmost occurrence of each middle segment is
always right, because whatever a later segment could use, an earlier choice
leaves it more room. So there is no backtracking: each segment is looked for
once, left to right, with ``str.find`` (no ``?``) or a regular expression
without quantifiers (literals and ``.`` only, which cannot backtrack), and the
work is bounded by the value's length times the segment's length.

A backtracking regex such as ``.*a.*a.*b`` takes time cubic in the value's
length (518 s on one 2,000-character command line), holding the event store's
lock all the while; this is why the SQLite backend matches with this module.
Elasticsearch compiles the same patterns to automata, also linear.

Patterns cross the SQL boundary as text in Elasticsearch's wildcard syntax
(``\\*``, ``\\?``, ``\\\\`` are literal): :func:`pattern_text` writes it and
:func:`matcher` reads it back, once per distinct pattern (cached).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass

from netguard.events.query.syntax import Pattern, Wild


@dataclass(frozen=True)
class _Segment:
    """A run between two ``*``: fixed length; ``regex`` is None when it has no ``?``."""

    text: str
    regex: re.Pattern[str] | None

    @property
    def length(self) -> int:
        return len(self.text)

    def at(self, value: str, i: int) -> bool:
        if self.regex is None:
            return value.startswith(self.text, i)
        return self.regex.match(value, i) is not None

    def find(self, value: str, start: int, end: int) -> int:
        """The leftmost i >= start where the segment occurs within value[start:end], or -1."""
        if self.regex is None:
            return value.find(self.text, start, end)
        m = self.regex.search(value, start, end)
        return -1 if m is None else m.start()


@dataclass(frozen=True)
class Matcher:
    """A compiled pattern: its segments split on ``*``; ``fold`` lowers the value first.

    ``prefix`` and ``suffix`` are the literal text every match starts and ends with (maybe
    empty), ``required`` the longest literal run every match contains: cheap checks in C that
    settle most values before the segments are looked at.
    """

    segments: tuple[_Segment, ...]
    fold: bool
    prefix: str
    suffix: str
    required: str

    def __call__(self, value: str) -> bool:
        return self.match_folded(value.lower() if self.fold else value)

    def match_folded(self, value: str) -> bool:
        """The match on a value already lowered if the matcher folds case."""
        if self.required not in value:
            return False
        segs = self.segments
        first = segs[0]
        if len(segs) == 1:
            return len(value) == first.length and first.at(value, 0)
        last = segs[-1]
        end = len(value) - last.length
        if end < first.length or not first.at(value, 0) or not last.at(value, end):
            return False
        pos = first.length
        for seg in segs[1:-1]:
            if seg.length == 0:
                continue
            i = seg.find(value, pos, end)
            if i < 0:
                return False
            pos = i + seg.length
        return True


@dataclass(frozen=True)
class MatcherSet:
    """Several patterns, any of which may match (``user:(adm* OR svc-*? OR ...)``), checked in one call.

    Patterns are filed by their literal prefix (else suffix) so that a value is compared with
    the few patterns that can match it: a dictionary look-up per distinct prefix length, not a
    thousand matchers per value. Patterns with neither (``*web*``) are tried one by one, each
    first by its required literal (a substring test in C).
    """

    fold: bool
    by_prefix: tuple[tuple[int, dict[str, tuple[Matcher, ...]]], ...]
    by_suffix: tuple[tuple[int, dict[str, tuple[Matcher, ...]]], ...]
    rest: tuple[Matcher, ...]

    def __call__(self, value: str) -> bool:
        if self.fold:
            value = value.lower()
        for length, table in self.by_prefix:
            for m in table.get(value[:length], ()):
                if m.match_folded(value):
                    return True
        for length, table in self.by_suffix:
            for m in table.get(value[len(value) - length :], ()):
                if m.match_folded(value):
                    return True
        return any(m.match_folded(value) for m in self.rest)


def _filed(pairs: list[tuple[str, Matcher]]) -> tuple[tuple[int, dict[str, tuple[Matcher, ...]]], ...]:
    tables: dict[int, dict[str, list[Matcher]]] = {}
    for key, m in pairs:
        tables.setdefault(len(key), {}).setdefault(key, []).append(m)
    return tuple((n, {k: tuple(v) for k, v in t.items()}) for n, t in sorted(tables.items()))


def compile_set(patterns: list[Pattern], *, anywhere: bool, fold: bool) -> MatcherSet:
    matchers = [compile_matcher(pt, anywhere=anywhere, fold=fold) for pt in patterns]
    prefixed = [(m.prefix, m) for m in matchers if m.prefix]
    suffixed = [(m.suffix, m) for m in matchers if not m.prefix and m.suffix]
    rest = tuple(m for m in matchers if not m.prefix and not m.suffix)
    return MatcherSet(fold, _filed(prefixed), _filed(suffixed), rest)


def pattern_text(pattern: Pattern, *, lower: bool = False) -> str:
    """The pattern in wildcard syntax: ``*``/``?`` are wildcards, ``\\`` escapes a literal ``*``, ``?``, ``\\``."""
    out = []
    for seg in pattern:
        if isinstance(seg, Wild):
            out.append(seg.value)
        else:
            out.append(re.sub(r"([*?\\])", r"\\\1", seg.lower() if lower else seg))
    return "".join(out)


def read_pattern(text: str) -> Pattern:
    """The inverse of :func:`pattern_text`."""
    parts: list[str | Wild] = []
    buf: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            buf.append(text[i + 1])
            i += 2
            continue
        if ch in "*?":
            if buf:
                parts.append("".join(buf))
                buf = []
            parts.append(Wild.STAR if ch == "*" else Wild.ONE)
        else:
            buf.append(ch)
        i += 1
    if buf:
        parts.append("".join(buf))
    return tuple(parts)


def compile_matcher(pattern: Pattern, *, anywhere: bool, fold: bool) -> Matcher:
    """``anywhere``: the pattern may occur anywhere in the value; ``fold``: ignore case (``str.lower``)."""
    items = [seg.lower() if fold and isinstance(seg, str) else seg for seg in pattern]
    groups: list[list[str | Wild]] = [[]]
    for seg in (Wild.STAR, *items, Wild.STAR) if anywhere else items:
        if seg is Wild.STAR:
            groups.append([])
        else:
            groups[-1].append(seg)
    literals = [x for x in items if isinstance(x, str)]
    prefix = "" if anywhere or not items or not isinstance(items[0], str) else items[0]
    suffix = "" if anywhere or not items or not isinstance(items[-1], str) else items[-1]
    required = max(literals, key=len, default="")
    return Matcher(tuple(_segment(g) for g in groups), fold, prefix, suffix, required)


def _segment(items: list[str | Wild]) -> _Segment:
    text = "".join(x if isinstance(x, str) else "?" for x in items)
    if not any(x is Wild.ONE for x in items):
        return _Segment(text, None)
    regex = "".join(re.escape(x) if isinstance(x, str) else "." for x in items)
    return _Segment(text, re.compile(regex, re.DOTALL))


@functools.lru_cache(maxsize=512)
def matcher(text: str, anywhere: bool, fold: bool) -> Matcher:
    return compile_matcher(read_pattern(text), anywhere=anywhere, fold=fold)


@functools.lru_cache(maxsize=64)
def matcher_set(texts: str, anywhere: bool, fold: bool) -> MatcherSet:
    """The patterns of a JSON list of pattern texts (see :func:`pattern_text`) as one :class:`MatcherSet`."""
    return compile_set([read_pattern(t) for t in json.loads(texts)], anywhere=anywhere, fold=fold)
