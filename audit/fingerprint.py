"""pt-query-digest's fingerprint and checksum, reproduced step for step.

A fingerprint is a statement with its literals abstracted away, so every
execution of one query shape gets the same string. Ids only line up across
tools if the rules are *exactly* Percona Toolkit's (``QueryRewriter::fingerprint``
in pt-query-digest / pt-fingerprint 3.x); this module is a transcription of it,
in the same order, and the tests compare it with Debian's ``pt-fingerprint`` on
a corpus. The steps:

1. special cases: mysqldump's ``SELECT /*!40001 SQL_NO_CACHE */ * FROM `` →
   ``mysqldump``; a percona-toolkit checksum comment → ``percona-toolkit``;
   ``administrator command: …`` unchanged; ``CALL proc(…)`` → ``call proc``;
2. a multi-row ``INSERT``/``REPLACE … VALUES (…), (…)`` is cut after its first row;
3. comments removed (``/* … */`` but not ``/*! … */``; ``--`` and ``#`` to end of line);
   ``USE db`` → ``use ?`` and stop;
4. escaped quotes dropped, then ``"…"`` and ``'…'`` → ``?`` (non-greedy, across lines);
5. anything that starts like a number (``[0-9+-][0-9a-f.xb+-]*``) → ``?``, even
   inside identifiers (``t1`` → ``t?``: that is pt's rule, kept for compatibility);
   then ``x?``, ``b?``, ``.?``, ``+?``, ``-?`` → ``?``;
6. trim, collapse whitespace runs to one space, lowercase (ASCII only: Perl's
   ``lc`` on undecoded bytes), ``null`` → ``?``;
7. ``IN (?, ?)`` / ``VALUES (?, ?), (?)`` → ``in(?+)`` / ``values(?+)``; a
   repeated ``select … union select …`` → ``select … /*repeat union*/``; the first
   ``limit ?, ?`` / ``limit ? offset ?`` → ``limit ?``; ``asc`` after ``order by``
   dropped.

Perl's ``\\w``, ``\\s`` and ``\\b`` see bytes, so every pattern here is ASCII-only
(``re.ASCII``): a Chinese character is not a word character to pt.

The checksum is pt's ``make_checksum``: ``uc md5_hex(fingerprint)`` over the
UTF-8 bytes, all 32 hex digits since Percona Toolkit 3.0.11 (older versions
printed the last 16; pt-query-digest 3.2.1's report shows ``ID 0x`` + all 32).
"""

from __future__ import annotations

import hashlib
import re

_A = re.ASCII
_MYSQLDUMP = re.compile(r"\ASELECT /\*!40001 SQL_NO_CACHE \*/ \* FROM `", _A)
_PT_CHECKSUM = re.compile(r"/\*\w+\.\w+:[0-9]/[0-9]\*/", _A)
_CALL = re.compile(r"\A\s*(call\s+\S+)\(", _A | re.I)
# pt's pattern with its first VALUES( made atomic: when the row list after the first
# VALUES( has no "), (", none after a later one has either, and retrying each later
# VALUES( (a lazy scan to the end every time) is quadratic on a long statement.
_MULTI_INSERT = re.compile(
    r"\A((?:INSERT|REPLACE)(?: IGNORE)?\s+INTO(?>.+?VALUES\s*\().*?\))\s*,\s*\(", _A | re.I | re.S
)
_MLC = re.compile(r"/\*[^!].*?\*/", _A | re.S)
# Perl's \Z is "end, or before a final newline".
_OLC = re.compile(r"(?:--|#)[^'\"\r\n]*(?=[\r\n]|\Z)", _A)
_USE = re.compile(r"\Ause \S+(?=\n?\Z)", _A | re.I)
_ESCAPED_QUOTE = re.compile(r"\\[\"']", _A)
_DQ = re.compile(r'".*?"', _A | re.S)
_SQ = re.compile(r"'.*?'", _A | re.S)
_NUMBER = re.compile(r"[0-9+-][0-9a-f.xb+-]*", _A)
_NUMBER_PREFIX = re.compile(r"[xb.+-]\?", _A)
_LEADING_SPACE = re.compile(r"\A\s+", _A)
_SPACES = re.compile(r"[ \n\t\r\f]+", _A)
_NULL = re.compile(r"\bnull\b", _A)
_LISTS = re.compile(r"\b(in|values?)(?:[\s,]*\([\s?,]*\))+", _A)
_UNION = re.compile(r"\b(select\s.*?)(?:(\sunion(?:\sall)?)\s\1)+", _A)
# Every _UNION match holds this; searching it first spares the lazy scan from each
# "select" to the end of the text (quadratic) when there is no union at all.
_UNION_WORD = re.compile(r"\sunion", _A)
_LIMIT = re.compile(r"\blimit \?(?:, ?\?| offset \?)?", _A)
_ORDER_BY = re.compile(r"\bORDER BY ", _A | re.I)
_ASC = re.compile(r"(.+?)\s+ASC", _A | re.I)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fingerprint(query: str) -> str:
    """The pt-query-digest fingerprint of one statement."""
    if _MYSQLDUMP.search(query):
        return "mysqldump"
    if _PT_CHECKSUM.search(query):
        return "percona-toolkit"
    if query.startswith("administrator command: "):
        return query
    call = _CALL.search(query)
    if call:
        return call.group(1).translate(_ASCII_LOWER)
    multi = _MULTI_INSERT.search(query)
    if multi:
        query = multi.group(1)

    query = _MLC.sub("", query)
    query = _OLC.sub("", query)
    query, used = _USE.subn("use ?", query, count=1)
    if used:
        return query

    query = _ESCAPED_QUOTE.sub("", query)
    query = _DQ.sub("?", query)
    query = _SQ.sub("?", query)
    query = _NUMBER.sub("?", query)
    query = _NUMBER_PREFIX.sub("?", query)

    query = _LEADING_SPACE.sub("", query, count=1)
    if query.endswith("\n"):  # chomp
        query = query[:-1]
    query = _SPACES.sub(" ", query)
    query = query.translate(_ASCII_LOWER)
    query = _NULL.sub("?", query)
    query = _LISTS.sub(r"\1(?+)", query)
    if _UNION_WORD.search(query) is not None:
        query = _UNION.sub(r"\1 /*repeat\2*/", query)
    query = _LIMIT.sub("limit ?", query, count=1)

    order = _ORDER_BY.search(query)
    if order:
        # Perl: pos() after `m/\bORDER BY /gi`, then `s/\G(.+?)\s+ASC/$1/gi`: every
        # "asc" after the first ORDER BY goes (with the whitespace before it).
        query = query[: order.end()] + _drop_asc(query[order.end() :])
    return query


def _drop_asc(tail: str) -> str:
    """Perl's ``s/\\G(.+?)\\s+ASC/$1/gi``: each match must start where the last one ended.

    ``re.sub`` has no ``\\G``; unanchored, it would retry the lazy scan from every
    position of a tail with no (further) ASC, which is quadratic on a long statement.
    The results are the same: a match anywhere implies one at the anchor.
    """
    kept: list[str] = []
    pos = 0
    while (match := _ASC.match(tail, pos)) is not None:
        kept.append(match.group(1))
        pos = match.end()
    kept.append(tail[pos:])
    return "".join(kept)


def fingerprint_id(fp: str) -> str:
    """pt-query-digest's checksum of a fingerprint: uppercase MD5 hex of its UTF-8 bytes."""
    return hashlib.md5(fp.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest().upper()


# What makes the masked text's fingerprint differ from the raw text's (see
# masked_is_equivalent). Plain substring tests: far faster than one regex here.
_STRINGS = re.compile(r"'[^']*'")
# On the text with its strings cut to '': a string opened right after a letter or _ (N'…', x'…',
# E'…', _utf8mb4'…'). A literal start (''), then a look back: the engine finds '' in C.
_PREFIXED = re.compile(r"''(?<=[^\W\d]'')")
# Signs, decimals, exponents, hex/binary: is there ``[+\-.][0-9]|[0-9][+\-.eExXbB]``? Written to start
# at the sign or letter (a class the engine skips to in C), looking back for the digit: digit runs
# (ID-card and phone numbers) are long, these characters next to them rare.
_NUMBER_GLUE = re.compile(r"[+\-.eExXbB](?:(?<=[0-9].)|(?<=[+\-.])(?=[0-9]))")
_MULTI_ROW = re.compile(r"\)\s*,\s*\(")
_SPECIAL_STARTS = ("call", "use", "administrator")


def _plain_line_comments(raw: str) -> bool:
    """Every ``--`` runs to the end of its line without a quote: pt drops it whole, and the masked copy too."""
    i = raw.find("--")
    while i >= 0:
        end = raw.find("\n", i)
        rest = raw[i : end if end >= 0 else len(raw)]
        if "'" in rest or "\r" in rest:
            return False
        if end < 0:
            return True
        i = raw.find("--", end)
    return True


def masked_is_equivalent(raw: str) -> bool:
    """True when ``fingerprint(mask(raw)) == fingerprint(raw)``, so a cache keyed by masked text is exact.

    pt replaces strings (``'.*?'``) and then runs of ``[0-9+-][0-9a-f.xb+-]*``; the
    masker replaces string tokens and standalone numbers. With no escapes, no
    ``"``, no block comments, ``--`` comments free of quotes (pt removes them
    first, whole, from either text) and no doubled or unbalanced quotes, both see
    the same string spans. Outside strings, a standalone decimal number is preceded by
    neither a word character, ``$``, ``.`` (the masker's rule) nor ``+``/``-``
    (excluded here), and followed by neither a word character nor ``+``/``-``: so
    pt's run is exactly that number in the raw text, and the ``?`` the masker
    leaves is not part of any run. Everything after the literal steps
    (whitespace, case, lists, LIMIT, ORDER BY) then works on identical text. A
    multi-row INSERT goes the slow way: pt cuts it before replacing literals. The
    test suite checks the equivalence on generated statements.
    """
    if (
        "\\" in raw or '"' in raw or "`" in raw or "#" in raw or "/*" in raw or "$" in raw
    ):  # escapes, "…", quoted identifiers, block and # comments, PostgreSQL $ forms
        return False
    return plain_is_equivalent(raw)


def plain_is_equivalent(raw: str) -> bool:
    """``masked_is_equivalent(raw)`` for text the caller knows holds none of ``\\ " ` # /* $``."""
    if "--" in raw and not _plain_line_comments(raw):
        return False
    if "'" in raw:
        if raw.count("'") % 2 or "''" in raw:
            return False
        # No escapes, no doubled quotes: quotes pair up, every other one opens a string. Prefixes
        # and number glue only matter outside strings (dates such as '2026-11-30' are the usual case).
        outside = _STRINGS.sub("''", raw)
        if _PREFIXED.search(outside) is not None:
            return False
    else:
        outside = raw
    if _NUMBER_GLUE.search(outside) is not None:
        return False
    # pt cuts a multi-row INSERT or REPLACE (only at the very start: its pattern is anchored) before it
    # replaces literals; other statements are not cut.
    if raw[:7].upper().startswith(("INSERT", "REPLACE")) and _MULTI_ROW.search(raw) is not None:
        return False
    return not raw.lstrip()[:13].lower().startswith(_SPECIAL_STARTS)
