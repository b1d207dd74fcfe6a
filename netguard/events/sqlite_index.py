"""Side indexes of the embedded event store, for the searches a JSON column cannot serve.

The ``events`` table keeps each document once; text goes through a trigram
FTS5 index (see :mod:`netguard.events.sqlite_store`). Two kinds of search
stayed full scans with a call into Python per row (1.7 s and 3.0 s on a
million events), and get an index here:

**Addresses** (``event_ips``). Each distinct IP address of an event is one row
``(addr, event, fields)``: ``addr`` the address as 16 big-endian bytes in IPv6
space, an IPv4 address as ``::ffff:a.b.c.d`` (so one byte order sorts both, and
an IPv6 network that holds ``::ffff:0:0/96`` holds the IPv4 addresses, as in
Elasticsearch); ``fields`` a bit mask of the IP fields that hold it
(:data:`IP_FIELD_BITS`: ``related.ip`` mostly repeats the others, so one row
serves them all). The primary key ``(addr, event)`` makes a CIDR a range scan
and an exact address a point lookup; a list of networks is one range scan
each. Addresses are packed with ``inet_pton`` (C), not ``ipaddress``.

**Short CJK words** (``events_cjk``). A trigram index cannot find a word of
one or two characters, and Chinese words mostly are (患者, 姓名). Each run of
CJK characters in an event's text is indexed by its bigrams, plus its last
character alone, in a contentless FTS5 table (``detail=none``: only "this
event has this token", the smallest index). Two characters that occur
together in the text occur together in a CJK run, so the bigram finds them; a
single character is a prefix query (``"患"*``), which finds every bigram that
starts with it and the unigram of a run's last character. Only events with
CJK text get a row. As with trigrams, the index only names candidates; the
exact, case-insensitive check is the linear matcher's.

Both are filled at write time from the values already in memory, and rebuilt
from the stored documents when an older store is upgraded (migration 2, which
calls the functions :func:`register_index_functions` registers).

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
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import socket
import sqlite3
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, compress, repeat
from operator import eq, is_, methodcaller, not_
from typing import Any

from netguard.events.schema import FIELDS, FieldType

# The IP fields the address index serves, each a bit of event_ips.fields. Append, never renumber:
# stored rows keep their bits. A field not listed here is searched the slow way, still correctly.
IP_FIELD_BITS: dict[str, int] = {"source.ip": 1, "destination.ip": 2, "host.ip": 4, "related.ip": 8}

_V4_PREFIX = bytes(10) + b"\xff\xff"

# Han (with extensions and compatibility ideographs), kana, Hangul syllables and bopomofo:
# the scripts written without spaces. None has case, so lower-casing never changes them.
CJK_CHARS = (
    "\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
    "\U00020000-\U0002ebef\U00030000-\U0003134f"
)
CJK_RUN = re.compile(f"[{CJK_CHARS}]+")


def ip_key(text: str) -> bytes | None:
    """The address as 16 sortable bytes in IPv6 space (IPv4 as ``::ffff:a.b.c.d``), or None."""
    try:
        if ":" in text:
            return socket.inet_pton(socket.AF_INET6, text)
        return _V4_PREFIX + socket.inet_pton(socket.AF_INET, text)
    except (OSError, TypeError, ValueError):
        return None


def ip_rows(fields: Mapping[str, Any], event: int) -> list[tuple[bytes, int, int]]:
    """The ``(addr, event, fields)`` rows of one event: one per distinct address."""
    # related.ip mostly repeats the other fields: gather the bits by text, pack each address once.
    bits: dict[str, int] = {}
    for name, bit in IP_FIELD_BITS.items():
        value = fields.get(name)
        if value is None:
            continue
        for text in value if isinstance(value, list) else (value,):
            bits[text] = bits.get(text, 0) | bit
    rows = []
    for text, mask in bits.items():
        key = ip_key(str(text))
        if key is not None:
            rows.append((key, event, mask))
    return rows


def cjk_tokens(body: str) -> str:
    """The CJK bigrams of a text, and the last character of each CJK run, space-separated ('' if none)."""
    if body.isascii():
        return ""
    tokens: list[str] = []
    for run in CJK_RUN.findall(body):
        tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
        tokens.append(run[-1])
    return " ".join(dict.fromkeys(tokens))


def cjk_terms(run: str) -> list[str]:
    """The ``events_cjk`` MATCH terms every text holding ``run`` (a literal of one or two characters) has.

    The CJK characters of the run, taken as runs of one or two: a pair is a bigram, a single
    character a prefix query (the bigrams it starts, or a run's last character).
    """
    return [f'"{sub}"' if len(sub) == 2 else f'"{sub}"*' for sub in CJK_RUN.findall(run[:2])]


class _Memo(dict[Any, Any]):
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
        self._values: Callable[[Any], Iterable[Any]] = dict.values
        if not all(map(dict.__instancecheck__, self.fields)):
            self._values = methodcaller("values")
        self.groups = self._grouped()
        nulls = self._nulls()
        if nulls:  # rare (a document read back): those events without their nulls, and the groups again
            for i in nulls:
                self.fields[i] = {n: v for n, v in self.fields[i].items() if v is not None}
            self.groups = self._grouped()

    def _grouped(self) -> list[Group]:
        positions: defaultdict[tuple[str, ...], list[int]] = defaultdict(list)
        for i, names in enumerate(map(tuple, self.fields)):
            positions[names].append(i)
        groups = []
        for names, at in positions.items():
            if len(positions) == 1:
                rowids, fields = self.rowids, self.fields
            else:
                rowids = list(map(self.rowids.__getitem__, at))
                fields = list(map(self.fields.__getitem__, at))
            columns = dict(zip(names, zip(*map(self._values, fields), strict=True), strict=True)) if names else {}
            groups.append(Group(names, at, rowids, fields, columns))
        return groups

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


class AddressKeys(_Memo):
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
    texts = _Memo(cjk_tokens)  # texts repeat within a batch (a message, a statement): each worked out once
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


def cjk_word(run: str) -> str | None:
    """The ``events_cjk`` MATCH term that finds exactly the texts holding ``run``, if it is one or two CJK characters.

    Exactly, not just candidates: the tokens are the text's own CJK pairs and run ends, and these
    scripts have no case to fold.
    """
    if len(run) > 2 or not CJK_RUN.fullmatch(run):
        return None
    return cjk_terms(run)[0]


# A run is looked up by at most this many of its trigrams: any of them names a superset of the events.
MAX_TRIGRAMS = 16


@functools.cache
def _unfolded() -> frozenset[str]:
    """The characters whose case SQLite's trigram tokenizer may fold otherwise than Python's ``str.lower``.

    The matcher finds ``pattern.lower()`` in ``text.lower()``; the trigram index holds the text as
    SQLite folds it, from older Unicode tables: it leaves ``Ɜ`` (U+A7AB, lower ``ɜ`` to Python), the
    Cherokee, Georgian Mtavruli, Deseret, Adlam... capitals as they are, and ``İ`` lowers to two
    characters. Every character a lower case changes or produces, but those of Latin (to U+024F, but
    ``İ``), Greek and Cyrillic (U+0370-U+04FF, but yot), which SQLite folds as Python does.
    """
    cased: set[str] = set()
    for code in range(0x80, 0x1F000):  # no cased letter lies above the Adlam block
        char = chr(code)
        lower = char.lower()
        if lower != char:
            cased.add(char)
            cased.update(lower)
    return frozenset(c for c in cased if not (ord(c) < 0x250 or 0x370 <= ord(c) < 0x500)) | frozenset(
        "\u0130\u0307\u037f\u03f3"
    )


def trigram_terms(run: str) -> list[str]:
    """The ``events_fts`` MATCH terms (trigrams, quoted) every text holding ``run`` (three characters or more) has.

    The index keeps no positions (``detail=none``), so a run is its trigrams ANDed: those that
    tile it, and the last, at most :data:`MAX_TRIGRAMS` (a pasted 8,000-character value is
    still a short query). A trigram with a character whose case SQLite folds otherwise than Python
    (:func:`_unfolded`) could miss a text the matcher finds: the run is split there, and an empty
    list means the index cannot tell.
    """
    if not run.isascii():
        unfolded = _unfolded()
        if any(c in unfolded for c in run):
            pieces = "".join("\0" if c in unfolded else c for c in run).split("\0")
            return [t for piece in pieces if len(piece) >= 3 for t in trigram_terms(piece)][:MAX_TRIGRAMS]
    starts = [*range(0, len(run) - 2, 3)][: MAX_TRIGRAMS - 1]
    starts.append(len(run) - 3)
    grams = dict.fromkeys(run[i : i + 3] for i in starts)
    return ['"' + g.replace('"', '""') + '"' for g in grams]


# Migration 2: the side indexes, filled from the documents already stored (in SQL, calling the
# functions register_index_functions adds to every connection before it migrates).
_IP_SOURCES = " UNION ALL ".join(
    f"SELECT ng_ip_key(j.value) AS addr, e.rowid AS event, {bit} AS bit "
    f"FROM events e, json_each(e.doc, '$.\"{name}\"') j"
    for name, bit in IP_FIELD_BITS.items()
)
MIGRATION = f"""
    CREATE TABLE event_ips (
        addr   BLOB NOT NULL,
        event  INTEGER NOT NULL,
        fields INTEGER NOT NULL,
        PRIMARY KEY (addr, event)
    ) WITHOUT ROWID;
    INSERT INTO event_ips(addr, event, fields)
        SELECT addr, event, sum(bit) FROM ({_IP_SOURCES}) WHERE addr IS NOT NULL GROUP BY addr, event;
    -- The trigram index without positions (detail=none): a third less work per event written. A run
    -- is then looked up as its trigrams ANDed rather than as a phrase: more candidates in theory,
    -- the same exact check after.
    DROP TABLE events_fts;
    CREATE VIRTUAL TABLE events_fts USING fts5(body, content='', detail=none, tokenize='trigram');
    INSERT INTO events_fts(events_fts, rank) VALUES ('automerge', 64);
    INSERT INTO events_fts(rowid, body)
        SELECT rowid, body FROM (SELECT rowid, ng_fts_body(doc) AS body FROM events) WHERE body != '';
    CREATE VIRTUAL TABLE events_cjk USING fts5(body, content='', detail=none, tokenize='ascii');
    INSERT INTO events_cjk(events_cjk, rank) VALUES ('automerge', 64);
    INSERT INTO events_cjk(rowid, body)
        SELECT rowid, tokens FROM (SELECT rowid, ng_cjk_tokens(doc) AS tokens FROM events) WHERE tokens != '';
    -- Fields most searches name, as columns: a scan reads them without parsing each document.
    -- (An index over them made counts read only the index, but cost a fifth of the write rate.)
    ALTER TABLE events ADD COLUMN outcome TEXT;
    ALTER TABLE events ADD COLUMN risk TEXT;
    ALTER TABLE events ADD COLUMN action TEXT;
    UPDATE events SET
        outcome = ng_doc_value(doc, 'event.outcome'),
        risk = ng_doc_value(doc, 'netguard.risk'),
        action = ng_doc_value(doc, 'event.action');
"""


def register_index_functions(conn: sqlite3.Connection, body_of: Callable[[Mapping[str, Any]], str]) -> None:
    """The functions migration 2 calls: ``ng_ip_key``, ``ng_cjk_tokens``, ``ng_fts_body``, ``ng_doc_value``.

    ``body_of(fields)`` is the text the trigram index holds for an event (passed in: it lives
    with the query compiler, which imports this module).
    """
    conn.create_function("ng_ip_key", 1, lambda t: None if t is None else ip_key(str(t)), deterministic=True)
    conn.create_function("ng_cjk_tokens", 1, lambda doc: cjk_tokens(body_of(json.loads(doc))), deterministic=True)
    conn.create_function("ng_fts_body", 1, lambda doc: body_of(json.loads(doc)), deterministic=True)
    conn.create_function("ng_doc_value", 2, _doc_value, deterministic=True)
    # Migration 3: one indexer for the whole pass, so it can list the shapes and values it met.
    indexer = TermIndexer(TERM_FIELDS, NUMBER_FIELDS)

    @functools.lru_cache(maxsize=1)
    def index_doc(doc: str) -> tuple[str, list[tuple[int, Any, int]]]:
        fields = json.loads(doc)
        return indexer.rows(fields, body_of(fields), 0)

    conn.create_function("ng_terms", 1, lambda doc: index_doc(doc)[0], deterministic=True)
    conn.create_function("ng_numbers", 1, lambda doc: json.dumps([[c, v] for c, v, _ in index_doc(doc)[1]]))
    conn.create_function("ng_new_shapes", 0, lambda: json.dumps(indexer.new_shapes, ensure_ascii=False))
    # ->> would cut a value at a NUL (see _doc_value)
    conn.create_function("ng_item", 2, lambda text, i: json.loads(text)[i], deterministic=True)
    conn.create_function("ng_new_values", 0, lambda: json.dumps(sorted(indexer.new_values), ensure_ascii=False))


@functools.lru_cache(maxsize=1)
def _parsed(doc: str) -> dict[str, Any]:
    # The three columns of one row are read from one parse.
    return dict(json.loads(doc))


def _doc_value(doc: str, name: str) -> Any:
    """A field of a stored document, whole (``->>`` would cut a string at a NUL, as ``json_extract`` does)."""
    return _parsed(doc).get(name)


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
    caches are per store and bounded.
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

    def batch_rows(self, batch: Batch) -> tuple[list[tuple[int, str]], list[tuple[int, Any, int]]]:
        """The batch's ``(rowid, token text)`` rows, in rowid order, and its ``(field code, value, event)`` rows."""
        several = len(batch.groups) > 1
        texts: list[str] = [""] * len(batch) if several else []
        numbers: list[tuple[int, Any, int]] = []
        # A text's rare symbols, as tokens: texts repeat within a batch (a message, a statement).
        symbols = _Memo(lambda body: "".join(" " + _SYMBOL_TOKENS[c] for c in set(_RARE_SYMBOL.findall(body))))
        for group in batch.groups:
            layout = self._layouts.get(group.names) or self._layout(group.names)
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
                        lists = _Memo(functools.partial(_joined, tokens.__getitem__))
                        pieces.append(list(map(lists.__getitem__, map(tuple, column))))
                    except TypeError:  # a list in a list: no token (a TypeError, raised below as before)
                        pieces.append([self._each(tokens, v) for v in column])
                else:
                    pieces.append([self._each(tokens, v) for v in column])
            bodies = map(batch.bodies.__getitem__, group.at) if several else batch.bodies
            pieces.append(map(symbols.__getitem__, bodies))
            made = map("".join, zip(*pieces, strict=False))  # the first piece repeats
            if several:
                batch.scatter(group, made, texts)
            else:
                texts = list(made)
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


# Migration 3: the terms, numbers, shapes and values of the events already stored (in SQL, through the
# functions register_index_functions adds; ng_new_shapes and ng_new_values return what the ng_terms
# calls before them found).
MIGRATION_3 = """
    CREATE VIRTUAL TABLE events_terms USING fts5(body, content='', detail=none, tokenize='ascii');
    INSERT INTO events_terms(events_terms, rank) VALUES ('automerge', 64);
    CREATE TABLE event_shapes (token TEXT PRIMARY KEY, fields TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE event_values (field TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (field, value)) WITHOUT ROWID;
    CREATE TABLE event_numbers (
        field INTEGER NOT NULL,
        value NOT NULL,
        event INTEGER NOT NULL,
        PRIMARY KEY (field, value, event)
    ) WITHOUT ROWID;
    INSERT INTO events_terms(rowid, body) SELECT rowid, ng_terms(doc) FROM events;
    INSERT INTO event_numbers(field, value, event)
        SELECT j.value ->> 0, j.value ->> 1, e.rowid FROM events e, json_each(ng_numbers(e.doc)) j;
    INSERT OR IGNORE INTO event_shapes(token, fields) SELECT j.key, j.value FROM json_each(ng_new_shapes()) j;
    INSERT OR IGNORE INTO event_values(field, value)
        SELECT ng_item(j.value, 0), ng_item(j.value, 1) FROM json_each(ng_new_values()) j;
"""
