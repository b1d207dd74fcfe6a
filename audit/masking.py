"""Literal masking: the statement text NetGuard stores and prints by default.

Audit logs of a hospital hold ID-card numbers, phone numbers and patients'
names, always as literals. One left-to-right scan with a tokenizer finds the
tokens that matter and rewrites only literals:

- string literals (``'…'`` with ``''`` and, in MySQL, backslash escapes; the
  prefixed forms ``N'…'`` ``E'…'`` ``X'…'`` ``B'…'``; PostgreSQL dollar quotes
  ``$tag$…$tag$``; in MySQL also ``"…"``) → ``?``;
- numbers standing alone (``42``, ``-`` is left as an operator, ``3.5e2``, ``0x1F``)
  → ``?``; digits inside identifiers (``t1``, ``患者2``) are not numbers;
- quoted identifiers (backticks; ``"…"`` in PostgreSQL and the other ANSI
  dialects) are kept, so tables and columns stay readable;
- comments are kept, with their digit runs masked (``/* id 110101… */``);
- PostgreSQL placeholders ``$1`` are kept.

Unlike the fingerprint, masking keeps case, spacing and identifiers: the
masked text is what a security officer reads. Unterminated quotes (a statement
cut by a log limit) mask to the end of the text rather than leak the tail.
"""

from __future__ import annotations

import re

# Dialects where "…" is a string, not an identifier.
_DOUBLE_QUOTE_STRINGS = frozenset({"mysql", "mariadb"})
# Dialects where a backslash escapes inside '…'.
_BACKSLASH_ESCAPES = frozenset({"mysql", "mariadb"})

# A number standing alone. Each alternative starts with a plain character class and
# checks what precedes it afterwards (a lookbehind first would make re try every
# position the slow way: this form is twice as fast). ASCII digits only, as in
# SQL (and pt's fingerprint): a fullwidth ９ is an identifier character.
# (What follows the first character: _simple puts it after a class of every first character.)
_NUM_REST = (
    r"(?:(?<=0)[xX][0-9a-fA-F]+|(?<=0)[bB][01]+"
    r"|(?<=[0-9])[0-9]*(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|(?<=\.)[0-9]+(?:[eE][+-]?[0-9]+)?)(?![\w])"
)
_NUM = r"[0-9.](?<![\w$.][0-9.])" + _NUM_REST
_DIGITS = re.compile(r"[0-9]{2,}")
_COMMENT = re.compile(r"(/\*.*?(?:\*/|\Z)|--[^\n]*)", re.S)  # the tokenizer's comments, but # (checked apart)
_E_STRING = re.compile(r"[eE](?<![\w][eE])'")


def _string_body(dialect: str) -> str:
    # Unrolled ("normal* (special normal*)*"): the engine runs through plain characters
    # in one step instead of trying an alternation at each.
    return r"[^'\\]*(?:(?:\\.|'')[^'\\]*)*" if dialect in _BACKSLASH_ESCAPES else r"[^']*(?:''[^']*)*"


def _string(dialect: str) -> str:
    return r"(?:'|[nNxXbB](?<!\w[nNxXbB])'|_(?<!\w_)\w+')" + _string_body(dialect) + r"(?:'|\Z)"


def _simple(dialect: str) -> re.Pattern[str]:
    """Strings and numbers only: enough for text with no identifiers, comments or placeholders to keep.

    The same alternatives as ``_string(dialect) | _NUM``, written as one character class of every
    possible first character, then a lookbehind on that character to pick the alternative (the
    classes are disjoint). A pattern that starts with one class lets the engine skip in C to the
    next candidate character instead of trying each alternative at every position: twice as fast
    on text that is mostly identifiers and CJK.
    """
    body = _string_body(dialect) + r"(?:'|\Z)"
    return re.compile(
        r"['nNxXbB_0-9.](?:"
        + r"(?<=')" + body
        + r"|(?<=[nNxXbB])(?<!\w[nNxXbB])'" + body
        + r"|(?<=_)(?<!\w_)\w+'" + body
        + r"|(?<![\w$.][0-9.])" + _NUM_REST
        + ")",
        re.S,
    )  # fmt: skip


def _pattern(dialect: str) -> re.Pattern[str]:
    backslash = dialect in _BACKSLASH_ESCAPES
    dq_body = r'(?:[^"\\]|\\.|"")*' if backslash else r'(?:[^"]|"")*'
    parts = [
        r"(?P<comment>/\*.*?(?:\*/|\Z)|--[^\n]*" + (r"|#[^\n]*" if backslash else "") + ")",
        r"(?P<ident>`(?:[^`]|``)*(?:`|\Z))",
        # E'…' always takes backslash escapes in PostgreSQL.
        # (Each alternative starts with a plain character or class, the lookbehind after it:
        # then the engine skips ahead to the next possible start instead of trying every position.)
        r"(?P<estr>[eE](?<![\w][eE])'[^'\\]*(?:(?:\\.|'')[^'\\]*)*(?:'|\Z))",
        r"(?P<str>" + _string(dialect) + ")",
    ]
    if dialect in _DOUBLE_QUOTE_STRINGS:
        parts.append(r'(?P<dstr>"' + dq_body + r'(?:"|\Z))')
    else:
        parts.append(r'(?P<ident2>"(?:[^"]|"")*(?:"|\Z))')
        parts.append(r"(?P<dollar>\$(?P<tag>[A-Za-z_][A-Za-z_0-9]*|)\$.*?(?:\$(?P=tag)\$|\Z))")
        parts.append(r"(?P<param>\$\d+)")
    parts.append(r"(?P<num>" + _NUM + ")")
    return re.compile("|".join(parts), re.S)


def _replace(match: re.Match[str]) -> str:
    kind = match.lastgroup
    if kind in ("ident", "ident2", "param"):
        return match.group(0)
    if kind == "comment":
        return _DIGITS.sub("?", match.group(0))
    return "?"


class Masker:
    """Masks literals for one dialect (the compiled pattern is kept per instance)."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self._pattern = _pattern(dialect)
        self._simple = _simple(dialect)

    def mask(self, text: str) -> str:
        # Most statements hold nothing to keep verbatim: then one pattern with a
        # constant replacement does (3x faster than a callback per literal).
        # The full tokenizer is needed for quoted identifiers, "…", comments, $ forms and E'…'.
        if "`" in text or '"' in text or "#" in text or "$" in text:
            return self._pattern.sub(_replace, text)
        return self.mask_plain(text)

    def mask_plain(self, text: str) -> str:
        """``mask(text)`` for text the caller knows holds none of `` ` `` ``"`` ``#`` ``$`` (one scan less each)."""
        if "/*" in text or "--" in text:
            if "'" in text:
                return self._pattern.sub(_replace, text)
            # Comments and no quotes: nothing can hide a comment's start, so cut the text at
            # comments and mask the pieces (4x faster than the tokenizer's callback per token).
            parts = _COMMENT.split(text)
            parts[0::2] = [self._simple.sub("?", part) for part in parts[0::2]]
            parts[1::2] = [_DIGITS.sub("?", part) for part in parts[1::2]]
            return "".join(parts)
        if ("e'" in text or "E'" in text) and _E_STRING.search(text):
            return self._pattern.sub(_replace, text)
        return self._simple.sub("?", text)


_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")


def mask_error(message: str | None) -> str | None:
    """A server error message with its quoted values masked ('invalid input syntax for type integer: "张三"')."""
    return None if message is None else _QUOTED.sub("?", message)


def bind_parameters(text: str, params: tuple[str, ...]) -> str:
    """Put PostgreSQL ``$n`` parameters back into the text (raw output only: they hold PII)."""
    if not params:
        return text

    def one(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        return params[index] if 0 <= index < len(params) else match.group(0)

    return re.sub(r"\$(\d+)(?!\d)", one, text)
