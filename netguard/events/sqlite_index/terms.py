"""The schema-3 index of a store: terms, numbers, shapes and values."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import sqlite3
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import repeat
from operator import is_
from types import ModuleType
from typing import Any

from netguard.events.schema import FIELDS, FieldType
from netguard.events.sqlite_index.batch import Batch, Group, Memo

# --- schema 3: the terms index, the numbers index, the values dictionary
#
# ``events_terms`` is a contentless FTS5 table (detail=none, the ascii tokenizer) holding, for every
# event, tokens that name exactly what a filter asks about, so a boolean query over them is one FTS5
# query that merges posting lists, as a search engine's inverted index does:
#
# - ``a``: every event (the left side of a NOT);
# - ``t`` + 16 hex digits: one keyword value of one field (keyword, mac, boolean and ordinal fields,
#   every item of a list): a 64-bit BLAKE2b hash of the field name and the value as JSON, so the
#   token keeps the case and the type the exact comparison sees;
# - ``s`` + 16 hex digits: the event's shape, the set of fields it carries. ``event_shapes`` lists
#   each shape once with its fields, so ``field:*`` is the OR of the few shapes that have the field:
#   one token per event serves every "exists" query;
# - ``c`` + hex code: each rare ASCII symbol (``*``, ``(``, ``=`` ...) of the event's text, the runs a
#   trigram cannot see (``sql:\*``); the common ones (space, ``.``, ``-`` ...) are in nearly every
#   text and would name every event.
#
# ``event_numbers(field, value, event)`` holds each numeric field's value under a small code, so a
# range is one index range scan. ``event_values(field, value)`` is the dictionary of keyword values
# seen, so a wildcard on a keyword field is tried on its distinct values, then looked up as tokens.

TERM_TYPES = frozenset({FieldType.KEYWORD, FieldType.MAC, FieldType.BOOLEAN, FieldType.ORDINAL})
# Every keyword-like field but the event id (the unique index has it).
TERM_FIELDS = frozenset(f.name for f in FIELDS.values() if f.type in TERM_TYPES) - {"event.id"}
ALL_TOKEN = "a"
NO_TOKEN = "n"  # never indexed: the FTS5 query of an empty set
# Every event's text holds these; indexing them would name every event.
COMMON_SYMBOLS = frozenset(" .-_/:@,")
RARE_SYMBOLS = frozenset(chr(c) for c in range(33, 127) if not chr(c).isalnum()) - COMMON_SYMBOLS


def number_code(name: str) -> int:
    """A field's stable code in ``event_numbers`` (31 bits of its name's hash, never 0)."""
    return (int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "big") >> 1) or 1


def term_token(name: str, value: Any) -> str:
    """The token of ``name`` equal to ``value`` (exact: typed and case-sensitive)."""
    text = f"{name}\0{json.dumps(value, ensure_ascii=False)}".encode("utf-8", "surrogatepass")
    return "t" + hashlib.blake2b(text, digest_size=8).hexdigest()


def shape_token(names: Iterable[str]) -> str:
    text = "\0".join(sorted(names)).encode("utf-8", "surrogatepass")
    return "s" + hashlib.blake2b(text, digest_size=8).hexdigest()


def symbol_token(char: str) -> str:
    return f"c{ord(char):02x}"


_SYMBOL_TOKENS = {c: symbol_token(c) for c in RARE_SYMBOLS}


# One regex pass in C finds them: 3x quicker than a set intersection, which hashes every character.
_RARE_SYMBOL = re.compile("[" + re.escape("".join(sorted(RARE_SYMBOLS))) + "]")


def symbol_tokens(body: str) -> list[str]:
    """The tokens of the rare symbols in a text (one each, however often it occurs)."""
    return [_SYMBOL_TOKENS[c] for c in set(_RARE_SYMBOL.findall(body))]


def _number_fields() -> dict[str, int]:
    codes = {f.name: number_code(f.name) for f in FIELDS.values() if f.type in (FieldType.LONG, FieldType.DOUBLE)}
    # A log offset is unique per event and never a filter: its index would cost a write for nothing.
    codes.pop("log.offset", None)
    return codes


NUMBER_FIELDS = _number_fields()


@dataclass(frozen=True)
class _Layout:
    """What to index in an event with a given list of fields: its term and number fields, its shape."""

    scalars: tuple[str, ...]  # term fields holding one value
    arrays: tuple[str, ...]  # term fields holding a list
    numbers: tuple[str, ...]
    codes: tuple[int, ...]  # the numbers' codes, in the same order
    shape: str


class _FieldTokens(dict[Any, str]):
    """One field's token cache: value -> its token after a space (so an event's text is its pieces joined)."""

    __slots__ = ("indexer", "name")

    def __init__(self, name: str, indexer: TermIndexer) -> None:
        super().__init__()
        self.name = name
        self.indexer = indexer

    def __missing__(self, value: Any) -> str:
        if value is None:  # an item of a list may be null (a document read back): no token
            return ""
        return self.indexer._add(self, value)


def _joined(token: Callable[[Any], str], items: Iterable[Any]) -> str:
    return "".join(map(token, items))


# Number rows hold what is an int or a float (a bool is an int); any other type is checked value by value.
_NUMBER_TYPES = frozenset({int, float, bool})


class TermIndexer:
    """Makes each event's ``events_terms`` tokens and ``event_numbers`` rows, caching what repeats.

    ``term_fields`` and ``number_fields`` name the fields indexed (the schema's, passed in by the
    store). This runs for every stored event, so the work is done per batch and kept in C: the
    events of a kind mostly carry the same fields in the same order, so what to read is worked out
    once per list of field names (:class:`_Layout`), and each field's values are read down the
    column of a :class:`Group` with ``map`` and looked up, with ``map`` again, in that field's
    token cache (a dict whose ``__missing__`` makes a new token). A keyword field holds strings and
    a boolean field booleans (the schema coerces them), so ``True == 1`` cannot mix two keys. The
    caches are per store and bounded. Where the C accelerator is built (``Batch.accel``), each
    group's texts are made in C from the same caches (:meth:`_c_texts`), the same strings.
    """

    CACHE = 200_000
    LAYOUTS = 10_000  # field-name orders seen; make_event's fixed order keeps them to a handful

    def __init__(self, term_fields: frozenset[str], number_fields: Mapping[str, int]) -> None:
        self._terms = term_fields
        self._numbers = number_fields
        self._fields: dict[str, _FieldTokens] = {}
        self._cached = 0  # tokens in all the field caches
        self._layouts: dict[tuple[str, ...], _Layout] = {}
        self.new_shapes: dict[str, list[str]] = {}  # shapes first seen since the last committed()
        self.new_values: set[tuple[str, Any]] = set()

    def _add(self, tokens: _FieldTokens, value: Any) -> str:
        """A value's token, made and kept in its field's cache (called on a miss)."""
        if self._cached >= self.CACHE:
            for cache in self._fields.values():
                cache.clear()
            self._cached = 0
        token = tokens[value] = " " + term_token(tokens.name, value)
        self._cached += 1
        if isinstance(value, str):
            self.new_values.add((tokens.name, value))
        return token

    def _tokens_of(self, name: str) -> _FieldTokens:
        tokens = self._fields.get(name)
        if tokens is None:
            tokens = self._fields[name] = _FieldTokens(name, self)
        return tokens

    def _layout(self, names: tuple[str, ...]) -> _Layout:
        layout = self._layouts.get(names)
        if layout is None:
            if len(self._layouts) >= self.LAYOUTS:
                self._layouts.clear()  # new_shapes keeps what the open batch still has to write
            terms = [n for n in names if n in self._terms]
            numbers = tuple(n for n in names if n in self._numbers)
            shape = shape_token(names)
            self.new_shapes[shape] = sorted(names)
            layout = self._layouts[names] = _Layout(
                scalars=tuple(n for n in terms if not FIELDS[n].array),
                arrays=tuple(n for n in terms if FIELDS[n].array),
                numbers=numbers,
                codes=tuple(self._numbers[n] for n in numbers),
                shape=shape,
            )
        return layout

    @staticmethod
    def _each(tokens: _FieldTokens, value: Any) -> str:
        """The tokens of a value that is not what the schema says (a list, or one value, or one with nulls)."""
        return "".join(map(tokens.__getitem__, value if isinstance(value, list) else (value,)))

    def _texts(
        self,
        group: Group,
        layout: _Layout,
        symbols: Memo,
        bodies: list[str],
        texts: list[str],
        several: bool,
    ) -> None:
        """The token texts of a group's events, put in ``texts`` (at the events' places if ``several``)."""
        pieces: list[Iterable[str]] = [repeat(f"{ALL_TOKEN} {layout.shape}")]
        for name in layout.scalars:
            tokens = self._tokens_of(name)
            column = group.column(name)
            try:
                pieces.append(list(map(tokens.__getitem__, column)))
            except TypeError:  # a list where the schema says one value: unhashable
                pieces.append([self._each(tokens, v) for v in column])
        for name in layout.arrays:
            tokens = self._tokens_of(name)
            column = group.column(name)
            if all(map(list.__instancecheck__, column)):
                try:  # lists repeat within a batch (tags, related.user): each joined once
                    lists = Memo(functools.partial(_joined, tokens.__getitem__))
                    pieces.append(list(map(lists.__getitem__, map(tuple, column))))
                except TypeError:  # a list in a list: no token (a TypeError, raised below as before)
                    pieces.append([self._each(tokens, v) for v in column])
            else:
                pieces.append([self._each(tokens, v) for v in column])
        pieces.append(map(symbols.__getitem__, bodies))
        made = map("".join, zip(*pieces, strict=False))  # the first piece repeats
        if several:
            deque(map(texts.__setitem__, group.at, made), maxlen=0)
        else:
            texts.extend(made)

    def _c_texts(
        self,
        accel: ModuleType,
        group: Group,
        layout: _Layout,
        symbols: Memo,
        bodies: list[str],
        texts: list[str],
        several: bool,
    ) -> bool:
        """:meth:`_texts` in C (``_rows.texts``: each value's token from the same caches, the text built
        once). False if a value is not what a field holds (unhashable, not JSON): :meth:`_texts` then
        makes the group's texts, or raises, as it does without C; the tokens C made are the same."""
        names = layout.scalars + layout.arrays
        try:
            accel.texts(
                f"{ALL_TOKEN} {layout.shape}",
                tuple(map(self._tokens_of, names)),
                tuple(map(group.columns.__getitem__, names)),
                list(map(symbols.__getitem__, bodies)),
                texts,
                group.at if several else None,
            )
        except Exception:  # any: the Python path makes the same rows, or raises what it raises
            if not several:
                texts.clear()
            return False
        return True

    def batch_rows(self, batch: Batch) -> tuple[list[tuple[int, str]], list[tuple[int, Any, int]]]:
        """The batch's ``(rowid, token text)`` rows, in rowid order, and its ``(field code, value, event)`` rows."""
        several = len(batch.groups) > 1
        texts: list[str] = [""] * len(batch) if several else []
        numbers: list[tuple[int, Any, int]] = []
        # A text's rare symbols, as tokens: texts repeat within a batch (a message, a statement).
        symbols = Memo(lambda body: "".join(" " + _SYMBOL_TOKENS[c] for c in set(_RARE_SYMBOL.findall(body))))
        for group in batch.groups:
            layout = self._layouts.get(group.names) or self._layout(group.names)
            bodies = list(map(batch.bodies.__getitem__, group.at)) if several else batch.bodies
            if batch.accel is None or not self._c_texts(batch.accel, group, layout, symbols, bodies, texts, several):
                self._texts(group, layout, symbols, bodies, texts, several)
            for name, code in zip(layout.numbers, layout.codes, strict=True):
                column = group.column(name)
                if set(map(type, column)) <= _NUMBER_TYPES:
                    numbers.extend(zip(repeat(code), column, group.rowids))
                else:
                    numbers.extend(
                        (code, v, e) for v, e in zip(column, group.rowids, strict=True) if isinstance(v, (int, float))
                    )
        return list(zip(batch.rowids, texts, strict=True)), numbers

    def rows(self, fields: Mapping[str, Any], body: str, event: int) -> tuple[str, list[tuple[int, Any, int]]]:
        """One event's token text and its ``(field code, value, event)`` number rows: what :meth:`batch_rows`
        makes for it, without the set-up a batch costs (the upgrade of a stored event calls this per event)."""
        if any(map(is_, fields.values(), repeat(None))):
            fields = {n: v for n, v in fields.items() if v is not None}  # a null is no field, as in a Batch
        names = tuple(fields)
        layout = self._layouts.get(names) or self._layout(names)
        get = fields.__getitem__
        pieces = [f"{ALL_TOKEN} {layout.shape}"]
        caches = list(map(self._tokens_of, layout.scalars))
        try:
            pieces += map(dict.__getitem__, caches, map(get, layout.scalars))  # (__missing__ still applies)
        except TypeError:  # a list where the schema says one value
            pieces[1:] = map(self._each, caches, map(get, layout.scalars))
        pieces += [self._each(self._tokens_of(n), get(n)) for n in layout.arrays]
        if body:
            pieces += [" " + _SYMBOL_TOKENS[c] for c in set(_RARE_SYMBOL.findall(body))]
        numbers = [
            (code, value, event)
            for code, value in zip(layout.codes, map(get, layout.numbers), strict=True)
            if isinstance(value, (int, float))
        ]
        return "".join(pieces), numbers

    def store(
        self,
        conn: sqlite3.Connection,
        rows: Batch | Iterable[tuple[int, Mapping[str, Any], str]],
        *,
        delete: bool = False,
    ) -> None:
        """Add (or, with ``delete``, remove) the terms and numbers of a batch (or of (rowid, fields, body) rows)."""
        terms, numbers = self.batch_rows(rows if isinstance(rows, Batch) else Batch.of_rows(rows))
        if delete:
            conn.executemany("INSERT INTO events_terms(events_terms, rowid, body) VALUES ('delete', ?, ?)", terms)
            conn.executemany("DELETE FROM event_numbers WHERE field = ? AND value = ? AND event = ?", numbers)
            return
        conn.executemany("INSERT INTO events_terms(rowid, body) VALUES (?, ?)", terms)
        conn.executemany("INSERT INTO event_numbers(field, value, event) VALUES (?, ?, ?)", numbers)
        if self.new_shapes:
            conn.executemany(
                "INSERT OR IGNORE INTO event_shapes(token, fields) VALUES (?, ?)",
                [(t, json.dumps(f, ensure_ascii=False)) for t, f in self.new_shapes.items()],
            )
        if self.new_values:
            conn.executemany("INSERT OR IGNORE INTO event_values(field, value) VALUES (?, ?)", sorted(self.new_values))

    def committed(self) -> None:
        """The batch is stored: the shapes and values it added need not be written again."""
        self.new_shapes.clear()
        self.new_values.clear()

    def rolled_back(self) -> None:
        """The batch was not stored: forget the cache, so its shapes and values are written with the next."""
        self._layouts.clear()
        for cache in self._fields.values():
            cache.clear()
        self._cached = 0
        self.new_shapes.clear()
        self.new_values.clear()
