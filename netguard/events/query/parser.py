"""A recursive-descent parser for the search language.

Grammar (precedence NOT > AND > OR; juxtaposition means AND)::

    query    := or_expr?
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := not_expr (["AND"] not_expr)*
    not_expr := ("NOT" | "-") not_expr | primary
    primary  := "(" or_expr ")" | FIELD ":" value | VALUE
    value    := "*" | CMP VALUE | ("[" | "{") bound "TO" bound ("]" | "}")
              | "(" or_expr ")"          -- values for the same field
              | QUOTED | VALUE

Scanning is done on demand rather than by a separate tokenizer because a value
may contain a colon (``2026-11-25T08:00``, IPv6) while a field name ends at one.
``\\`` escapes the next character in unquoted words; inside quotes only ``\\"``
and ``\\\\`` are escapes and ``*``/``?`` are literal. Operators are upper case,
so ``or`` stays a search word. Errors carry the position for a caret.

Each ``(`` and ``NOT`` is a level of recursion: past
:data:`~netguard.events.query.syntax.MAX_DEPTH` levels the query is refused as
too complex, at the offending position, long before Python's recursion limit
could turn it into an internal error. The binder then checks the AND/OR/NOT
nesting of the plan against the same limit
(:func:`netguard.events.query.plan.check_limits`).
"""

from __future__ import annotations

from netguard.errors import QueryError
from netguard.events.query.syntax import (
    MAX_DEPTH,
    And,
    Between,
    Compare,
    Exists,
    MatchAll,
    Node,
    Not,
    Or,
    Pattern,
    Term,
    Wild,
)

_STOP = set(' \t\r\n()[]{}"')
_OPERATORS = ("AND", "OR", "NOT", "TO")


def parse(text: str) -> Node:
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0

    # --- scanning
    def error(self, message: str, pos: int | None = None) -> QueryError:
        return QueryError(message, self.text, self.pos if pos is None else pos)

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        self.skip_ws()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def at_end(self) -> bool:
        return self.peek() == ""

    def peek_keyword(self, word: str) -> bool:
        self.skip_ws()
        end = self.pos + len(word)
        if self.text[self.pos : end] != word:
            return False
        return end == len(self.text) or self.text[end] in _STOP

    def take_keyword(self, word: str) -> bool:
        if self.peek_keyword(word):
            self.pos += len(word)
            return True
        return False

    def read_word(self, stop_at_colon: bool, extra_stop: str = "") -> tuple[Pattern, str, int]:
        """Read an unquoted word: (pattern, raw text, start). Empty if none."""
        self.skip_ws()
        start = self.pos
        parts: list[str | Wild] = []
        buf: list[str] = []
        raw: list[str] = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch in _STOP or ch in extra_stop or (stop_at_colon and ch == ":"):
                break
            if ch == "\\":
                if self.pos + 1 >= len(self.text):
                    raise self.error("a backslash must escape a character")
                buf.append(self.text[self.pos + 1])
                raw.append(self.text[self.pos : self.pos + 2])
                self.pos += 2
                continue
            if ch in "*?":
                if buf:
                    parts.append("".join(buf))
                    buf = []
                parts.append(Wild.STAR if ch == "*" else Wild.ONE)
            else:
                buf.append(ch)
            raw.append(ch)
            self.pos += 1
        if buf:
            parts.append("".join(buf))
        return tuple(parts), "".join(raw), start

    def read_quoted(self) -> tuple[Pattern, int]:
        start = self.pos
        self.pos += 1  # opening quote
        buf: list[str] = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\" and self.pos + 1 < len(self.text) and self.text[self.pos + 1] in '"\\':
                buf.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if ch == '"':
                self.pos += 1
                return (("".join(buf),) if buf else ()), start
            buf.append(ch)
            self.pos += 1
        raise self.error("unterminated quoted phrase", start)

    # --- grammar
    def parse(self) -> Node:
        if self.at_end():
            return MatchAll()
        node = self.or_expr(None)
        if not self.at_end():
            ch = self.peek()
            if ch == ")":
                raise self.error("unbalanced ')'")
            raise self.error(f"unexpected '{ch}'")
        return node

    def or_expr(self, field: tuple[str, int] | None) -> Node:
        items = [self.and_expr(field)]
        while self.take_keyword("OR"):
            items.append(self.and_expr(field))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self, field: tuple[str, int] | None) -> Node:
        items = [self.not_expr(field)]
        while True:
            if self.take_keyword("AND"):
                items.append(self.not_expr(field))
                continue
            ch = self.peek()
            if ch in ("", ")") or self.peek_keyword("OR"):
                break
            items.append(self.not_expr(field))
        return items[0] if len(items) == 1 else And(tuple(items))

    def nested(self, at: int) -> None:
        """Enter one more level of ``(`` or ``NOT`` (left again by the caller's ``finally``)."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"the query is too complex: more than {MAX_DEPTH} levels of parentheses and NOT", at)

    def not_expr(self, field: tuple[str, int] | None) -> Node:
        self.skip_ws()
        at = self.pos
        if self.take_keyword("NOT"):
            pass
        elif self.peek() == "-" and self.pos + 1 < len(self.text) and not self.text[self.pos + 1].isspace():
            self.pos += 1
        else:
            return self.primary(field)
        self.nested(at)
        try:
            return Not(self.not_expr(field))
        finally:
            self.depth -= 1

    def primary(self, field: tuple[str, int] | None) -> Node:
        ch = self.peek()
        if ch == "":
            raise self.error("the query ends where a term was expected")
        if ch == "(":
            open_at = self.pos
            self.pos += 1
            if self.peek() == ")":
                raise self.error("empty parentheses")
            self.nested(open_at)
            try:
                node = self.or_expr(field)
            finally:
                self.depth -= 1
            if self.peek() != ")":
                raise self.error("missing ')'", open_at if self.at_end() else None)
            self.pos += 1
            return node
        if ch == ")":
            raise self.error("unbalanced ')'")
        if ch in "[]{}":
            raise self.error(f"unexpected '{ch}' (a range needs a field, e.g. bytes:[1 TO 5])")
        for word in _OPERATORS:
            if self.peek_keyword(word):
                raise self.error(f"'{word}' where a term was expected")
        if field is not None:
            return self.value(field[0], field[1])
        if ch == '"':
            pattern, start = self.read_quoted()
            return Term(None, pattern, True, start, start)
        pattern, raw, start = self.read_word(stop_at_colon=True)
        if self.pos < len(self.text) and self.text[self.pos] == ":":
            if not raw:
                raise self.error("a field name is missing before ':'")
            if pattern and any(isinstance(p, Wild) for p in pattern):
                raise self.error("a field name cannot contain wildcards", start)
            self.pos += 1
            return self.value(raw, start)
        if not raw:
            raise self.error(f"unexpected '{self.peek()}'")
        return Term(None, pattern, False, start, start)

    def value(self, field: str, field_pos: int) -> Node:
        if self.pos < len(self.text) and self.text[self.pos].isspace():
            raise self.error(f"a value must follow '{field}:' without a space")
        ch = self.peek()
        start = self.pos
        if ch == "":
            raise self.error(f"a value is missing after '{field}:'")
        if ch == "(":
            open_at = self.pos
            self.pos += 1
            self.nested(open_at)
            try:
                node = self.or_expr((field, field_pos))
            finally:
                self.depth -= 1
            if self.peek() != ")":
                raise self.error("missing ')'", open_at)
            self.pos += 1
            return node
        if ch == '"':
            pattern, qstart = self.read_quoted()
            return Term(field, pattern, True, field_pos, qstart)
        if ch in "[{":
            return self.between(field, field_pos)
        for op in (">=", "<=", ">", "<"):
            if self.text.startswith(op, self.pos):
                self.pos += len(op)
                if self.peek() == '"':
                    pattern, vstart = self.read_quoted()
                    raw = "".join(p for p in pattern if isinstance(p, str))
                else:
                    _, raw, vstart = self.read_word(stop_at_colon=False)
                if not raw:
                    raise self.error(f"a value is missing after '{field}:{op}'")
                return Compare(field, op, raw, field_pos, vstart)
        pattern, raw, vstart = self.read_word(stop_at_colon=False)
        if not raw:
            raise self.error(f"a value is missing after '{field}:'", start)
        if pattern == (Wild.STAR,):
            return Exists(field, field_pos)
        return Term(field, pattern, False, field_pos, vstart)

    def between(self, field: str, field_pos: int) -> Node:
        open_at = self.pos
        include_low = self.text[self.pos] == "["
        self.pos += 1
        low = self.bound()
        if not self.take_keyword("TO"):
            raise self.error("expected 'TO' in a range, e.g. bytes:[1000 TO 5000]")
        high = self.bound()
        close = self.peek()
        if close not in ("]", "}"):
            raise self.error("a range must end with ']' or '}'", open_at if close == "" else None)
        self.pos += 1
        if low is None and high is None:
            return Exists(field, field_pos)
        return Between(field, low, high, include_low, close == "]", field_pos, open_at)

    def bound(self) -> str | None:
        if self.peek() == '"':
            pattern, _ = self.read_quoted()
            return "".join(p for p in pattern if isinstance(p, str))
        _, raw, start = self.read_word(stop_at_colon=False, extra_stop="")
        if not raw:
            raise self.error("a range bound is missing")
        if raw in _OPERATORS:
            raise self.error("a range bound is missing", start)
        return None if raw == "*" else raw
