"""From a parsed statement to what NetGuard reports about it.

For each :class:`~audit.records.Statement`: mask its literals (always: the
masked text is also what sqlglot sees, so analysis never handles PII), take
the pt-query-digest fingerprint, analyse the shape, classify it.

Speed comes from the masked text: a log repeats a few hundred shapes with
different literals, and one shape's masked text is the same string every time.
A dict keyed by (dialect, masked text) holds the shape's analysis, the
fingerprint of the masked text, the verdict when the classifier looks only at
the analysis (the built-in one), and the shape's pre-rendered JSON fields per
verdict. Another classifier (a SqlClassifier: its verdict depends on the
database, and the user, client, hour, rows of the execution) is asked per
statement, but it hands out cached Verdict objects, so one shape sees only a
few distinct verdicts: the rendered fields are keyed by the verdict's identity
(each entry holds its verdict, so an id is never reused while the entry lives)
and at most :data:`_VARIANTS` are kept per shape. The fingerprint is
reused only when :func:`~audit.fingerprint.masked_is_equivalent` proves it
equal to the raw text's (ids must match pt-query-digest, which fingerprints
raw text); otherwise the raw text is fingerprinted. The dict is cleared when it
outgrows :data:`SHAPES` shapes or :data:`SHAPE_TEXT` characters of them, so
memory stays bounded.

:func:`to_json` renders one result as the object ``netguard audit parse --json``
prints; the statement text is the masked one unless ``raw`` is asked for, and
bound parameters (PII) appear only then. :meth:`Pipeline.json_line` gives the
same object as one line of JSON, reusing the shape's pre-rendered fields.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from audit.analysis import Analyser, Analysis
from audit.fingerprint import fingerprint, fingerprint_id, plain_is_equivalent
from audit.masking import Masker, bind_parameters, mask_error
from audit.records import Statement
from audit.risk import BuiltinClassifier, Classifier, Verdict
from audit.timestamps import IsoJson

SHAPES = 20_000
# And at most this many characters of masked text as keys: 20,000 usual statements are a few MB, but
# multi-row INSERTs (each row count its own masked text, tens of KB) would be GBs in a long follow.
SHAPE_TEXT = 16_000_000
_MEMO = 4096
_VARIANTS = 16  # rendered verdicts per shape; cleared when full


class Audited(NamedTuple):
    """A statement with its analysis (an immutable NamedTuple: one per statement, built cheaply)."""

    statement: Statement
    masked: str
    fingerprint: str
    fingerprint_id: str
    analysis: Analysis
    verdict: Verdict


@dataclass(slots=True)
class _Shape:
    """One masked text's cached results (mutable: the JSON fields are filled on first use)."""

    analysis: Analysis
    fingerprint: str
    fingerprint_id: str
    verdict: Verdict | None  # None when the verdict depends on the execution
    masked_json: str  # the masked text (the shape's key) as a JSON string
    # id(verdict) -> (verdict, the shape's JSON fields with it, without the braces)
    rendered: dict[int, tuple[Verdict, str]] = field(default_factory=dict)
    # The same, UTF-8 encoded, for json_bytes (filled on first use: encoding can fail on a lone surrogate)
    masked_utf8: bytes | None = None
    rendered_utf8: dict[int, tuple[Verdict, bytes]] = field(default_factory=dict)

    def fields_json(self, verdict: Verdict) -> str:
        found = self.rendered.get(id(verdict))
        if found is not None and found[0] is verdict:
            return found[1]
        text = json.dumps(
            _shape_fields(self.fingerprint, self.fingerprint_id, self.analysis, verdict), ensure_ascii=False
        )[1:-1]
        if len(self.rendered) >= _VARIANTS:
            self.rendered.clear()
        self.rendered[id(verdict)] = (verdict, text)
        return text

    def fields_utf8(self, verdict: Verdict) -> bytes:
        """``fields_json(verdict)`` encoded as UTF-8, remembered alike."""
        found = self.rendered_utf8.get(id(verdict))
        if found is not None and found[0] is verdict:
            return found[1]
        data = self.fields_json(verdict).encode()
        if len(self.rendered_utf8) >= _VARIANTS:
            self.rendered_utf8.clear()
        self.rendered_utf8[id(verdict)] = (verdict, data)
        return data


_enc: Callable[[str], str] = json.encoder.encode_basestring
_new_tuple = tuple.__new__
_OUTCOMES = {outcome: _enc(outcome) for outcome in ("success", "failure", "unknown")}
_OUTCOMES_UTF8 = {outcome: text.encode() for outcome, text in _OUTCOMES.items()}
_T = TypeVar("_T")


def _str(value: str | None) -> str:
    return "null" if value is None else _enc(value)


def _num(value: float | None) -> str:
    # Values here are ints or finite floats (durations from integer nanoseconds): repr is their JSON.
    return "null" if value is None else repr(value)


def _ms(ns: int | None) -> float | None:
    return None if ns is None else ns / 1_000_000


def _shape_fields(fp: str, fp_id: str, a: Analysis, verdict: Verdict) -> dict[str, Any]:
    return {
        "statement_type": a.statement_type,
        "tables": list(a.tables),
        "columns_read": list(a.columns_read),
        "columns_written": list(a.columns_written),
        "where_less": a.where_less,
        "has_limit": a.has_limit,
        "joins": a.joins,
        "select_star": a.select_star,
        "fingerprint": fp,
        "fingerprint_id": fp_id,
        "risk": verdict.risk,
        "rules": [
            {"id": r.id, "title": r.title, "severity": r.severity, "reference": r.reference} for r in verdict.rules
        ],
        "parse_error": a.parse_error,
    }


def _statement_fields(s: Statement, text: str, raw: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ts": s.ts.isoformat() if s.ts else None,
        "user": s.user,
        "db": s.db,
        "client": s.client,
        "statement": text,
        "source": s.source,
        "offset": s.offset,
        "line": s.line,
        "dialect": s.dialect,
        "system": s.system,
        "connection_id": s.connection_id,
        "client_port": s.client_port,
        "application": s.application,
        "duration_ms": _ms(s.duration_ns),
        "lock_time_ms": _ms(s.lock_time_ns),
        "rows_sent": s.rows_sent,
        "rows_examined": s.rows_examined,
        "outcome": s.outcome,
        # Server messages quote the offending value ('invalid input syntax for type integer: "张三"').
        "error": s.error if raw else mask_error(s.error),
    }
    if raw and s.params:
        out["parameters"] = list(s.params)
    return out


def to_json(item: Audited, raw: bool = False) -> dict[str, Any]:
    s = item.statement
    text = bind_parameters(s.text, s.params) if raw else item.masked
    out = _statement_fields(s, text, raw)
    out.update(_shape_fields(item.fingerprint, item.fingerprint_id, item.analysis, item.verdict))
    return out


class Pipeline:
    def __init__(self, classifier: Classifier | None = None, analyser: Analyser | None = None) -> None:
        self.classifier: Classifier = classifier or BuiltinClassifier()
        # The built-in rules look only at the analysis: their verdict is cached with the shape. A
        # SqlClassifier's is not, even when shape_only: its shape facts depend on the database too
        # (sensitive tables per database), and the shape here is (dialect, masked text). It caches
        # per (analysis, database) itself, one lookup, and hands out one object per verdict.
        self._verdict_per_shape = isinstance(self.classifier, BuiltinClassifier)
        self.analyser = analyser or Analyser()
        self._maskers: dict[str, Masker] = {}
        self._shapes: dict[tuple[str, str], _Shape] = {}
        self._shape_text = 0  # characters of the masked texts in _shapes
        self._last: tuple[Audited, _Shape | None] | None = None
        # json_line's rendered parts: the last time, who ran it and where, lock times (bounded by _MEMO)
        self._ts: tuple[dt.datetime | None, str] = (None, "null")
        self._who: dict[tuple[Any, ...], tuple[str, str, str]] = {}
        self._lock: dict[int | None, str] = {}
        # json_bytes's, encoded
        self._ts_utf8: tuple[dt.datetime | None, bytes] = (None, b"null")
        self._iso = IsoJson()  # renders a new time of an already seen second cheaply
        self._who_utf8: dict[tuple[Any, ...], bytes] = {}
        self._lock_utf8: dict[int | None, bytes] = {}

    def _masker(self, dialect: str) -> Masker:
        masker = self._maskers.get(dialect)
        if masker is None:
            masker = self._maskers[dialect] = Masker(dialect)
        return masker

    def _shape(self, stmt: Statement, masked: str) -> _Shape:
        key = (stmt.dialect, masked)
        shape = self._shapes.get(key)
        if shape is None:
            if len(self._shapes) >= SHAPES or self._shape_text + len(masked) > SHAPE_TEXT:
                self._shapes.clear()
                self._shape_text = 0
            self._shape_text += len(masked)
            analysis = self.analyser.analyse(masked, stmt.dialect)
            fp = fingerprint(masked)
            verdict = self.classifier.classify(stmt, analysis) if self._verdict_per_shape else None
            shape = self._shapes[key] = _Shape(analysis, fp, fingerprint_id(fp), verdict, _enc(masked))
        return shape

    def process(self, stmt: Statement) -> Audited:
        # The hot path, once per statement: the lookups of _masker and _shape inlined.
        dialect, text = stmt.dialect, stmt.text
        masker = self._maskers.get(dialect) or self._masker(dialect)
        # What both the masker and the fingerprint shortcut test first, tested once: the usual
        # statement holds none of it (then the shortcut applies unless masked_is_equivalent's
        # later tests say otherwise).
        if "`" in text or '"' in text or "#" in text or "$" in text or "/*" in text or "\\" in text:
            masked, same = masker.mask(text), False
        else:
            masked = masker.mask_plain(text)
            same = plain_is_equivalent(text)
        shape = self._shapes.get((dialect, masked))
        if shape is None:
            shape = self._shape(stmt, masked)
        reusable: _Shape | None = shape
        if same:
            fp, fp_id = shape.fingerprint, shape.fingerprint_id
        else:
            fp = fingerprint(text)
            fp_id = fingerprint_id(fp)
            reusable = None
        verdict = shape.verdict
        if verdict is None:
            verdict = self.classifier.classify(stmt, shape.analysis)
        item = _new_tuple(Audited, (stmt, masked, fp, fp_id, shape.analysis, verdict))  # 3x Audited(...)
        self._last = (item, reusable)
        return item

    def json_line(self, item: Audited, raw: bool = False) -> str:
        """``json.dumps(to_json(item, raw))``, reusing the shape's rendered fields when they apply."""
        shape = self._last[1] if self._last is not None and self._last[0] is item else None
        if shape is None:
            return json.dumps(to_json(item, raw), ensure_ascii=False)
        fields_json = shape.fields_json(item.verdict)
        s = item.statement
        if raw or s.error is not None:
            head = json.dumps(_statement_fields(s, bind_parameters(s.text, s.params) if raw else item.masked, raw))
            return head[:-1] + ", " + fields_json + "}"
        # The common case by hand: same keys, order and encoding as _statement_fields. Who ran it
        # and where repeat from statement to statement: their rendered parts are remembered (one
        # lookup), and so are the last time and the lock times (a handful of values).
        ts = s.ts
        if ts is not self._ts[0]:
            self._ts = (ts, _str(ts.isoformat() if ts else None))
        key = (s.user, s.db, s.client, s.source, s.dialect, s.system, s.connection_id, s.client_port, s.application)
        who = self._who.get(key)
        if who is None:
            who = self._remember(self._who, key, _who_parts(s))
        duration, lock, sent, examined = s.duration_ns, s.lock_time_ns, s.rows_sent, s.rows_examined
        lock_text = self._lock.get(lock)
        if lock_text is None:
            lock_text = self._remember(self._lock, lock, "null" if lock is None else repr(lock / 1_000_000))
        outcome = _OUTCOMES.get(s.outcome) or _enc(s.outcome)
        return (
            f'{{"ts": {self._ts[1]}, {who[0]}{shape.masked_json}{who[1]}{s.offset}, "line": {s.line}{who[2]}'
            f"{'null' if duration is None else repr(duration / 1_000_000)}, "
            f'"lock_time_ms": {lock_text}, "rows_sent": {"null" if sent is None else repr(sent)}, '
            f'"rows_examined": {"null" if examined is None else repr(examined)}, "outcome": {outcome}, '
            f'"error": null, {fields_json}}}'
        )

    def json_bytes(self, item: Audited, raw: bool = False) -> bytes:
        """``json_line(item, raw)`` encoded as UTF-8 (strictly: a lone surrogate raises UnicodeEncodeError).

        What ``parse --json`` writes. Encoding a line of CJK text costs more than rendering it, so
        the parts that repeat (the shape's fields and masked text, who ran it and where) are kept
        encoded and only the per-statement numbers are rendered; the rest goes through json_line.
        """
        shape = self._last[1] if self._last is not None and self._last[0] is item else None
        s = item.statement
        if shape is None or raw or s.error is not None:
            return self.json_line(item, raw).encode()
        fields = shape.fields_utf8(item.verdict)
        masked = shape.masked_utf8
        if masked is None:
            masked = shape.masked_utf8 = shape.masked_json.encode()
        ts = s.ts
        if ts is not self._ts_utf8[0]:
            self._ts_utf8 = (ts, b"null" if ts is None else self._iso.render(ts))
        key = (s.user, s.db, s.client, s.source, s.dialect, s.system, s.connection_id, s.client_port, s.application)
        who = self._who_utf8.get(key)
        if who is None:
            who = self._remember(self._who_utf8, key, _who_template(s))
        duration, lock, sent, examined = s.duration_ns, s.lock_time_ns, s.rows_sent, s.rows_examined
        lock_text = self._lock_utf8.get(lock)
        if lock_text is None:
            lock_text = self._remember(self._lock_utf8, lock, b"null" if lock is None else b"%a" % (lock / 1_000_000))
        outcome = _OUTCOMES_UTF8.get(s.outcome) or _enc(s.outcome).encode()
        # %a of an int or a float is its repr, as json_line writes it.
        return who % (
            self._ts_utf8[1], masked, s.offset, s.line,
            b"null" if duration is None else b"%a" % (duration / 1_000_000), lock_text,
            b"null" if sent is None else b"%a" % sent, b"null" if examined is None else b"%a" % examined,
            outcome, fields,
        )  # fmt: skip

    @staticmethod
    def _remember(memo: dict[Any, _T], key: Any, value: _T) -> _T:
        if len(memo) >= _MEMO:
            memo.clear()
        memo[key] = value
        return value


def _who_parts(s: Statement) -> tuple[str, str, str]:
    """The rendered fields around the statement text and the offset and line, for json_line."""
    return (
        f'"user": {_str(s.user)}, "db": {_str(s.db)}, "client": {_str(s.client)}, "statement": ',
        f', "source": {_enc(s.source)}, "offset": ',
        f', "dialect": {_enc(s.dialect)}, "system": {_enc(s.system)}, '
        f'"connection_id": {_str(s.connection_id)}, "client_port": {_num(s.client_port)}, '
        f'"application": {_str(s.application)}, "duration_ms": ',
    )


def _who_template(s: Statement) -> bytes:
    """json_bytes's line for who ran it and where, with ``%`` slots for the rest (``%%`` in the values escaped)."""
    who = _who_parts(s)
    parts = [part.encode().replace(b"%", b"%%") for part in who]
    return (
        b'{"ts": %b, ' + parts[0] + b"%b" + parts[1] + b'%d, "line": %d' + parts[2] + b"%b, "
        b'"lock_time_ms": %b, "rows_sent": %b, "rows_examined": %b, "outcome": %b, "error": null, %b}'
    )
