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
"""

from __future__ import annotations

import functools
import json
import re
import socket
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from typing import Any

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


def store_rows(
    conn: sqlite3.Connection, rows: Iterable[tuple[int, Mapping[str, Any], str]], *, delete: bool = False
) -> None:
    """Add (or, with ``delete``, remove) the side-index entries of events given as (rowid, fields, text body)."""
    ips: list[tuple[bytes, int, int]] = []
    cjk: list[tuple[int, str]] = []
    for rowid, fields, body in rows:
        ips.extend(ip_rows(fields, rowid))
        if tokens := cjk_tokens(body):
            cjk.append((rowid, tokens))
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


def trigram_terms(run: str) -> list[str]:
    """The ``events_fts`` MATCH terms (trigrams, quoted) every text holding ``run`` (three characters or more) has.

    The index keeps no positions (``detail=none``), so a run is its trigrams ANDed: those that
    tile it, and the last, at most :data:`MAX_TRIGRAMS` (a pasted 8,000-character value is
    still a short query).
    """
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


@functools.lru_cache(maxsize=1)
def _parsed(doc: str) -> dict[str, Any]:
    # The three columns of one row are read from one parse.
    return dict(json.loads(doc))


def _doc_value(doc: str, name: str) -> Any:
    """A field of a stored document, whole (``->>`` would cut a string at a NUL, as ``json_extract`` does)."""
    return _parsed(doc).get(name)
