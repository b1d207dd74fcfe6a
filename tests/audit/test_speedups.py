"""The shortcuts taken for speed give exactly what the slow ways give."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

import pytest

import commands.audit
from audit.fingerprint import _NUMBER_GLUE, fingerprint, masked_is_equivalent, plain_is_equivalent
from audit.lines import read_lines
from audit.masking import _NUM, Masker, _pattern, _replace, _simple, _string
from audit.pipeline import Audited, Pipeline, to_json
from audit.records import BadLine, Statement
from audit.timestamps import IsoJson
from bench.audit import workload

FRAGMENTS = [
    "SELECT", " * ", "FROM", " t1 ", " 患者 ", "WHERE", " id ", "=", " 42", " -5", "+3", " 1-2", " 1E5", " 0x1F",
    " 3.5", " .5", " 5.", " 'a'", " '2026-11-30'", " 'it''s'", " N'李四'", " x'1F'", " 'a\\'b'", " \"dq\"",
    " `bt`", " IN (1, 2, 3)", " VALUES (1, 'a'), (2, 'b')", " NULL", " /* c 1 */", " -- c\n", " # c\n", " $1",
    " $$x$$", " LIMIT 5, 10", " ORDER BY a ASC", " UNION SELECT 1", "\n\t", "'", " e'x'", " 患者2", " t.5",
    " a+b", " 1 - 2", " (5)", " 9a", " _x'y'", " 0b101", " 0B1", " ９", " 1²", " ١", "''", " N", "x", " :p1",
    " -- c 12\n", " --x", " -- 'q\n", " a--1", " -- 门诊 3\n  WHERE 5", " 1--2", " '--'", " '-- x",
]  # fmt: skip


def test_masked_fingerprint_shortcut_is_exact() -> None:
    masker = Masker("mysql")
    r = random.Random(5)
    his = [s.text for s in workload(5000)]
    fuzz = ["".join(r.choice(FRAGMENTS) for _ in range(r.randint(1, 12))) for _ in range(30000)]
    # pt cuts multi-row INSERT and REPLACE statements (anchored at the start) before replacing literals.
    starts = [
        "INSERT INTO t",
        "insert into t",
        "REPLACE INTO t",
        "INSERT IGNORE INTO t",
        " INSERT INTO t",
        "ınsert into t",
    ]
    fuzz += [r.choice(starts) + text for text in fuzz[:6000]]
    for text in his + fuzz:
        if not any(c in text for c in ("\\", '"', "`", "#", "/*", "$")):  # what the pipeline tests first
            assert plain_is_equivalent(text) == masked_is_equivalent(text), text
        if masked_is_equivalent(text):
            assert fingerprint(masker.mask(text)) == fingerprint(text), text
    # The shortcut is actually used: for most of a HIS workload, and for some of the fuzz.
    assert sum(map(masked_is_equivalent, his)) > len(his) // 2
    assert sum(map(masked_is_equivalent, fuzz)) > 1000


def test_json_line_equals_to_json() -> None:
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    pipeline, reference = Pipeline(), Pipeline()
    for i, s in enumerate(workload(3000)):
        source = "" if i % 5 == 0 else "x.log"  # json_line remembers the last source's rendering
        stmt = Statement(source, i * 100, i + 1, s.text, "mysql", "mariadb", user=s.user, client=s.client)
        for raw in (False, True):
            item = pipeline.process(stmt)
            line = pipeline.json_line(item, raw)
            assert json.loads(line) == to_json(reference.process(stmt), raw)
            # What parse --json writes: the same line, as UTF-8, built from parts kept encoded.
            assert pipeline.json_bytes(item, raw) == line.encode()
            if not raw:
                assert line == json.dumps(to_json(item), ensure_ascii=False)


def test_parse_output_bytes_as_the_text_layer_writes_them(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """_print writes UTF-8 stdout in encoded batches: the bytes the text layer would write, in order.

    Any other encoding goes through the text layer; so does a line UTF-8 cannot hold (a lone
    surrogate, as a jsonl export can carry), with the stream's own error handler.
    """
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    stmts = [
        Statement("x.log", i, i + 1, text, "mysql", "mariadb", user="张三", duration_ns=i * 1_234_567)
        for i, text in enumerate(s.text for s in workload(700))
    ]
    stmts[300] = stmts[300]._replace(text="SELECT '\udcff' FROM t", user="a\udcffb")
    items: list[Statement | BadLine] = [BadLine("x.log", 1, 1, "bad", "bad"), *stmts[:400]]
    items += [BadLine("x.log", 2, 2, "bad", "b"), *stmts[400:]]
    cases = [("utf-8", "surrogateescape", False), ("utf-8", "strict", False), ("gb18030", "surrogateescape", False)]
    for encoding, errors, unbuffered in [*cases, ("utf-8", "surrogateescape", True)]:
        written = io.BytesIO()
        plain = io.TextIOWrapper(written, encoding=encoding, errors=errors)
        pipeline = Pipeline()
        expected: bytes | None = None
        try:
            for item in items:
                if isinstance(item, Statement):
                    plain.write(pipeline.json_line(pipeline.process(item)) + "\n")
            plain.flush()
            expected = written.getvalue()
        except UnicodeEncodeError:
            pass  # strict: the line with the surrogate cannot be written at all
        got = io.BytesIO()
        # PYTHONUNBUFFERED: the text layer straight over the raw file
        binary: BinaryIO = io.FileIO(tmp_path / "out", "w") if unbuffered else got
        stdout = io.TextIOWrapper(binary, encoding=encoding, errors=errors, write_through=unbuffered)
        monkeypatch.setattr(sys, "stdout", stdout)
        pipeline = Pipeline()
        audited: Iterator[Audited | BadLine] = (pipeline.process(i) if isinstance(i, Statement) else i for i in items)
        if expected is None:
            with pytest.raises(UnicodeEncodeError):
                commands.audit._print(audited, pipeline, False, True)
            continue
        assert commands.audit._print(audited, pipeline, False, True) == 2
        assert ((tmp_path / "out").read_bytes() if unbuffered else got.getvalue()) == expected


def test_block_reading_matches_line_by_line() -> None:
    r = random.Random(1)
    pieces = [b"a", b"bc", b"\n", "患".encode(), b"\x00", b"\r\n", b"xyzxyzxyz", b"\xff"]
    for _ in range(1500):
        data = b"".join(r.choice(pieces) for _ in range(r.randint(0, 60)))
        expected = []
        offset = 0
        for number, raw in enumerate(data.split(b"\n")[: -1 if data.endswith(b"\n") else None] if data else [], 1):
            expected.append((number, offset))
            offset += len(raw) + 1
        for chunk in (1, 3, 100):
            for max_line in (4, 1000):
                got = [(line.number, line.offset) for line in read_lines(io.BytesIO(data), max_line, chunk)]
                assert got == expected, (data, chunk, max_line)
                texts = [line.text for line in read_lines(io.BytesIO(data), max_line, chunk)]
                assert all(t is None or ("\x00" not in t and "\n" not in t) for t in texts)


def test_masking_shortcuts_equal_the_tokenizer() -> None:
    """Masker.mask's fast paths (one pattern; comments cut out) give what the full tokenizer gives."""
    r = random.Random(8)
    his = [s.text for s in workload(3000)]
    fuzz = ["".join(r.choice(FRAGMENTS) for _ in range(r.randint(1, 12))) for _ in range(30000)]
    for dialect in ("mysql", "postgres"):
        masker = Masker(dialect)
        tokenizer = _pattern(dialect)
        for text in his + fuzz:
            assert masker.mask(text) == tokenizer.sub(_replace, text), (dialect, text)
            if not any(c in text for c in '`"#$'):  # what the pipeline tests before mask_plain
                assert masker.mask_plain(text) == masker.mask(text), (dialect, text)


def test_unrolled_string_pattern_equals_the_plain_one() -> None:
    """The string body is written unrolled for speed; the plain alternation is the reference."""
    r = random.Random(9)
    pieces = ["'", "''", "\\", "\\'", "a", "患", "\n", " ", "x'", "N'", "_u'", "e'", "E'", "1", "--", "/*", "*/"]
    texts = ["".join(r.choice(pieces) for _ in range(r.randint(1, 14))) for _ in range(30000)]
    for dialect in ("mysql", "postgres"):
        body = r"(?:[^'\\]|\\.|'')*" if dialect == "mysql" else r"(?:[^']|'')*"
        plain = re.compile(r"(?:'|[nNxXbB](?<!\w[nNxXbB])'|_(?<!\w_)\w+')" + body + r"(?:'|\Z)", re.S)
        unrolled = re.compile(_string(dialect), re.S)
        for text in texts:
            assert [m.span() for m in plain.finditer(text)] == [m.span() for m in unrolled.finditer(text)], text


def test_first_character_class_patterns_equal_the_alternations() -> None:
    """_simple starts with one class of every first character, _NUMBER_GLUE at the rarer character, for
    speed: the same matches (for _NUMBER_GLUE, only whether there is one counts)."""
    r = random.Random(10)
    texts = ["".join(r.choice(FRAGMENTS) for _ in range(r.randint(1, 12))) for _ in range(20000)]
    glue = re.compile(r"[+\-.][0-9]|[0-9][+\-.eExXbB]")
    for dialect in ("mysql", "postgres"):
        plain = re.compile(_string(dialect) + "|" + _NUM, re.S)
        fast = _simple(dialect)
        for text in texts:
            assert [m.span() for m in plain.finditer(text)] == [m.span() for m in fast.finditer(text)], text
    for text in texts + [s.text for s in workload(3000)]:
        for piece in (text, text[len(text) // 3 :], text[: len(text) // 2]):
            assert (glue.search(piece) is None) == (_NUMBER_GLUE.search(piece) is None), piece


class _HalfHourly(dt.tzinfo):
    """A tzinfo whose offset changes within a second: IsoJson must not take its seconds as whole."""

    def utcoffset(self, ts: dt.datetime | None) -> dt.timedelta:
        return dt.timedelta(minutes=30 if ts is not None and ts.microsecond >= 500_000 else 0)

    def dst(self, ts: dt.datetime | None) -> dt.timedelta:
        return dt.timedelta(0)

    def tzname(self, ts: dt.datetime | None) -> str:
        return "HH"


def _odd_times(r: random.Random) -> list[dt.datetime]:
    """Times in runs that share a second (as %m gives them), across the edges where its text changes."""
    new_york, london, shanghai = ZoneInfo("America/New_York"), ZoneInfo("Europe/London"), ZoneInfo("Asia/Shanghai")
    starts = [
        dt.datetime(2026, 11, 1, 1, 59, 59, tzinfo=new_york),  # DST ends at 2:00: 1:xx comes twice
        dt.datetime(2026, 11, 1, 1, 30, tzinfo=new_york, fold=1),
        dt.datetime(2026, 3, 8, 1, 59, 59, tzinfo=new_york),  # DST starts: 2:xx does not exist
        dt.datetime(2026, 3, 29, 0, 59, 59, tzinfo=london),
        dt.datetime(2026, 10, 25, 1, 59, 59, tzinfo=london, fold=1),
        dt.datetime(2026, 12, 31, 23, 59, 59, tzinfo=shanghai),  # a new year
        dt.datetime(1900, 1, 1, 0, 0, 0, tzinfo=shanghai),  # local mean time: +08:05:43
        dt.datetime(999, 12, 31, 23, 59, 59, tzinfo=dt.UTC),  # a 3-digit year
        dt.datetime(2026, 6, 30, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=-3, minutes=-30))),
        dt.datetime(2026, 6, 30, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(seconds=1, microseconds=7))),
        dt.datetime(2026, 6, 30, 23, 59, 59),  # naive
        dt.datetime(2026, 6, 30, 23, 59, 59, tzinfo=_HalfHourly()),
    ]
    out: list[dt.datetime] = []
    for start in starts:
        ts = start
        for _ in range(300):
            step = r.choice([0, 1, 1, 7, 999, 1000, 500_000, 999_000, 1_000_000, 3_600_000_000])
            if r.random() < 0.2:  # not a whole millisecond (MariaDB's microseconds)
                step += r.randint(1, 999)
            ts = ts + dt.timedelta(microseconds=step)
            if r.random() < 0.1:
                ts = ts.replace(fold=1 - ts.fold)
            if r.random() < 0.1:
                ts = ts.replace(microsecond=r.choice([0, 999_000, 999_999, 1000]))
            out.append(ts)
    return out


def test_iso_json_renders_as_isoformat() -> None:
    """IsoJson (the second's text cached, the fraction appended) against json.dumps(ts.isoformat())."""
    r = random.Random(3)
    times = _odd_times(r)
    for order in (times, sorted(times, key=lambda t: (t.year, t.microsecond)), r.sample(times, len(times))):
        iso = IsoJson()
        for ts in order:
            assert iso.render(ts) == json.dumps(ts.isoformat()).encode(), repr(ts)
