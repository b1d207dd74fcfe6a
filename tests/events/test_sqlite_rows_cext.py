"""The C accelerator of the SQLite store's index rows (``sqlite_index/_rows.c``) makes exactly the rows the
Python path makes: the same groups and columns, the same token texts (the same strings, in the same
order), the same number rows, the same caches and new values, and the same exception where Python raises
one. The Python path is checked always, the C path when it is built (``pip install -e .``)."""

from __future__ import annotations

import gc
import json
import math
import random
import sys
from collections import UserDict
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import Any

import pytest

from netguard.events.query.to_sqlite import fts_bodies, fts_body
from netguard.events.sqlite_index.batch import AddressKeys, Batch, accelerator
from netguard.events.sqlite_index.terms import NUMBER_FIELDS, TERM_FIELDS, TermIndexer
from netguard.lab.synthetic_events import synthetic_events
from tests.events.test_sqlite_batch_rows import _check, _corpus
from tests.harness.peers import require_peer

_C: ModuleType | None
try:  # built or not, whatever NETGUARD_NO_CEXT says (the tests below switch it)
    from netguard.events.sqlite_index import _rows as _C
except ImportError:
    _C = None
NOT_BUILT = "the C accelerator is not built (pip install -e .)"


@pytest.fixture
def c_built() -> None:
    """Skip a C-only test when the accelerator is not built; in CI (make test-deps builds it) fail it."""
    if _C is None:
        require_peer(NOT_BUILT)


needs_c = pytest.mark.usefixtures("c_built")


@pytest.fixture(params=["c", "python"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each test once on the C path (skipped when not built) and once on the Python path."""
    if request.param == "python":
        monkeypatch.setenv("NETGUARD_NO_CEXT", "1")
        assert accelerator() is None
    else:
        monkeypatch.delenv("NETGUARD_NO_CEXT", raising=False)
        if accelerator() is None:
            require_peer(NOT_BUILT)
    yield request.param


def test_the_switch_forces_the_python_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETGUARD_NO_CEXT", "1")
    assert Batch([1], [{"a": "b"}]).accel is None
    monkeypatch.delenv("NETGUARD_NO_CEXT")
    assert Batch([1], [{"a": "b"}]).accel is _C


def test_either_path_makes_the_per_event_rows_on_the_whole_corpus(path: str) -> None:
    events = _corpus()
    indexer = TermIndexer(TERM_FIELDS, NUMBER_FIELDS)
    keys = AddressKeys()
    rowids = list(range(1, len(events) + 1))
    _check(indexer, events, rowids, keys)  # every token made
    _check(indexer, events, rowids, keys)  # every token from the cache
    indexer.CACHE = 11  # caches emptied while a text is made
    _check(indexer, events[::5], rowids[::5], keys)


# --- C against Python, exactly


class _Odd(UserDict[str, Any]):
    """A mapping that is not a dict."""


class _ListLike(list[Any]):
    """A list subclass that hashes: Python reads it as a list in one place and as a value in another."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self))


def _more_hostile() -> list[dict[str, Any]]:
    base = next(iter(synthetic_events(1, kinds=("sql",)))).fields
    return [
        dict(base) | {"user.name": "x" * 200_000, "message": "y" * 100_000 + " * ( ="},  # huge values
        dict(base) | {"user.name": "\U0001f600 astral", "tags": ["\x00", "\ud800", "é"]},
        dict(base) | {"related.user": [None, None], "tags": ["a", "a", None]},
        dict(base) | {"tags": ("a", "b")},  # a tuple: one value (hashable), as in Python
        dict(base) | {"user.name": ["a", None, "b"], "related.user": ["c"]},
        {"user.name": "only", "netguard.kind": "sql"},
        {"netguard.kind": "sql", "user.name": "other order"},  # the same names in another order: another group
        dict(base) | {"netguard.sql.rows_sent": -0.0, "event.duration": 2**70},
    ]


def _batches() -> list[tuple[list[int], list[Mapping[str, Any]]]]:
    events = [e.fields for e in _corpus()] + _more_hostile()
    rowids = list(range(1, len(events) + 1))
    parts = [(rowids, events), (rowids[:1], events[:1]), (rowids[-40:], events[-40:])]
    same = [f for f in events if tuple(f) == tuple(events[0])]
    parts.append((list(range(1, len(same) + 1)), same))  # one group
    return parts


def _made(rowids: list[int], fields: list[Mapping[str, Any]], indexer: TermIndexer) -> tuple[Any, ...]:
    batch = Batch(rowids, [dict(f) if isinstance(f, dict) else f for f in fields])
    batch.bodies = fts_bodies(batch)
    groups = [(g.names, g.at, g.rowids, g.columns) for g in batch.groups]
    terms, numbers = indexer.batch_rows(batch)
    return groups, batch.fields, batch.bodies, terms, repr(numbers)


def _both(monkeypatch: pytest.MonkeyPatch, run: Any) -> tuple[Any, Any]:
    monkeypatch.delenv("NETGUARD_NO_CEXT", raising=False)
    c = run()
    monkeypatch.setenv("NETGUARD_NO_CEXT", "1")
    python = run()
    monkeypatch.delenv("NETGUARD_NO_CEXT")
    return c, python


@needs_c
@pytest.mark.parametrize("part", range(4))
def test_c_makes_the_python_rows_exactly(monkeypatch: pytest.MonkeyPatch, part: int) -> None:
    rowids, fields = _batches()[part]
    indexers: list[TermIndexer] = []

    def run() -> tuple[Any, ...]:
        indexer = TermIndexer(TERM_FIELDS, NUMBER_FIELDS)
        indexers.append(indexer)
        first = _made(rowids, fields, indexer)
        again = _made(rowids, fields, indexer)  # from the caches
        return first, again

    c, python = _both(monkeypatch, run)
    assert c == python  # groups, columns, bodies, (rowid, text) rows in order, number rows: all equal
    for (_, _, _, c_terms, _), (_, _, _, py_terms, _) in zip(c, python, strict=True):
        assert [t for _, t in c_terms] == [t for _, t in py_terms]  # the same strings, token order too
    c_ix, py_ix = indexers
    assert c_ix.new_values == py_ix.new_values and c_ix.new_shapes == py_ix.new_shapes
    assert {n: dict(t) for n, t in c_ix._fields.items()} == {n: dict(t) for n, t in py_ix._fields.items()}


@needs_c
def test_c_hands_odd_events_to_python_with_the_same_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    base = next(iter(synthetic_events(1, kinds=("sql",)))).fields
    odd: list[list[Any]] = [
        [dict(base), _Odd(dict(base))],  # a mapping that is not a dict: grouped in Python
        [dict(base), {**base, 7: "a key that is not a str"}],
        [dict(base), dict(base) | {"tags": _ListLike(["a", "b"])}, dict(base) | {"user.name": _ListLike(["c"])}],
        [dict(base) | {"user.name": frozenset({"a"})}],  # hashable, not JSON: Python's TypeError
    ]
    for fields in odd:

        def run(fields: list[Any] = fields) -> Any:
            indexer = TermIndexer(TERM_FIELDS, NUMBER_FIELDS)
            try:
                batch = Batch(list(range(len(fields))), fields)
                batch.bodies = [fts_body(f) for f in fields]
                return repr(indexer.batch_rows(batch))
            except Exception as e:
                return type(e), str(e)

        c, python = _both(monkeypatch, run)
        assert c == python


@needs_c
@pytest.mark.parametrize(
    "value",
    [[["a list in a list"]], [{"a": "dict"}], {"a": "dict"}, [["x"], "y"], {"a set"}],
)
def test_c_raises_what_python_raises(monkeypatch: pytest.MonkeyPatch, value: Any) -> None:
    base = next(iter(synthetic_events(1, kinds=("sql",)))).fields
    for name in ("user.name", "tags"):  # a scalar field, a list field

        def run(name: str = name) -> tuple[type[BaseException], str]:
            indexer = TermIndexer(TERM_FIELDS, NUMBER_FIELDS)
            batch = Batch([1, 2], [dict(base), dict(base) | {name: value}])
            batch.bodies = fts_bodies(batch)
            with pytest.raises(TypeError) as raised:
                indexer.batch_rows(batch)
            return raised.type, str(raised.value)

        c, python = _both(monkeypatch, run)
        assert c == python


@needs_c
def test_c_group_matches_python_grouping() -> None:
    assert _C is not None
    fields: list[dict[str, Any]] = [{"a": 1, "b": None}, {"b": 2, "a": 3}, {}, {"a": 4, "b": 5}, {"a": math.nan}]
    assert _C.group(fields) == (
        [
            (("a", "b"), [0, 3], ((1, 4), (None, 5))),
            (("b", "a"), [1], ((2,), (3,))),
            ((), [2], ()),
            (("a",), [4], ((fields[4]["a"],),)),
        ],
        True,
    )
    assert _C.group([{"a": 1}]) == ([(("a",), [0], ((1,),))], False)  # no null
    assert _C.group([{"a": 1}, UserDict(a=1)]) is None  # not a dict: Python's to group
    assert _C.group([{1: 1}]) is None  # not a str key
    # equal names that are different str objects (a document read back) are one group
    names = [json.loads('{"user.name": 1, "x": 2}'), json.loads('{"user.name": 3, "x": 4}')]
    assert _C.group(names) == ([(("user.name", "x"), [0, 1], ((1, 3), (2, 4)))], False)


@needs_c
def test_c_holds_no_reference_it_does_not_own() -> None:
    assert _C is not None
    value, key = "a value seen once " + str(id(object())), "a key " + str(id(object()))
    fields = [{key: value, "user.name": value}] * 50
    before = sys.getrefcount(value), sys.getrefcount(key)
    for _ in range(20):
        indexer = TermIndexer(TERM_FIELDS, NUMBER_FIELDS)
        batch = Batch(list(range(50)), fields)
        batch.bodies = fts_bodies(batch)
        indexer.batch_rows(batch)
        del batch, indexer
    gc.collect()  # an indexer and its token caches are a cycle
    assert (sys.getrefcount(value), sys.getrefcount(key)) == before
    for bad in ([{"user.name": [["nested"]]}], [{"user.name": frozenset({value})}]):
        before = sys.getrefcount(value), sys.getrefcount(key)
        with pytest.raises(TypeError):
            _C.texts(
                "a",
                (TermIndexer(TERM_FIELDS, NUMBER_FIELDS)._tokens_of("user.name"),),
                ((bad[0]["user.name"],),),
                [""],
                [],
                None,
            )
        assert (sys.getrefcount(value), sys.getrefcount(key)) == before


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(12)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False, 0, 1, -1, 2**64, 1.5, math.nan, -0.0])
    if choice == 2 and depth < 2:
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if choice == 3 and rng.random() < 0.1:  # rare: no token can be made of it, the batch fails
        return rng.choice([{"a": 1}, ("t", 1), frozenset({"f"}), b"bytes"])
    if choice == 4:
        return rng.choice(["\ud800", "\x00", "a\x00b", "患者", "é", "", "*(=)", "\U0001f600"]) * rng.randrange(1, 3)
    return rng.choice(["alice", "bob", "db01", "10.0.0.1", "fd00::1", "success", "failure", "high", "sql"])


def _random_events(rng: random.Random, count: int) -> list[dict[str, Any]]:
    base = [e.fields for e in synthetic_events(40)]
    events = []
    for _ in range(count):
        fields = dict(rng.choice(base))
        for name in rng.sample(sorted(fields), k=min(3, len(fields))):
            if rng.random() < 0.5:
                fields[name] = _random_value(rng)
            elif rng.random() < 0.3:
                del fields[name]
        if rng.random() < 0.1:  # another order of the same names
            names = list(fields)
            rng.shuffle(names)
            fields = {n: fields[n] for n in names}
        events.append(fields)
    return events


@needs_c
@pytest.mark.parametrize("seed", range(30))
def test_c_and_python_agree_on_random_documents(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    """Random values in random fields (nulls, lists, lists in lists, dicts, tuples, sets, bytes, NaN,
    surrogates, NULs): the same rows from both paths, or the same exception."""
    events = _random_events(random.Random(seed), 60)

    def run() -> Any:
        indexer = TermIndexer(TERM_FIELDS, NUMBER_FIELDS)
        out = []
        for part in [events, events[:1], *(events[i : i + 6] for i in range(0, len(events), 6))]:
            try:
                batch = Batch(list(range(1, len(part) + 1)), [dict(f) for f in part])
                batch.bodies = [str(b) for b in map(fts_body_or_error, batch.fields)]
                out.append(repr(indexer.batch_rows(batch)))
            except Exception as e:
                out.append(repr((type(e), str(e))))
                indexer.rolled_back()  # as the store does: a failed batch's values and shapes are not kept
        return out, sorted(map(repr, indexer.new_values))

    c, python = _both(monkeypatch, run)
    assert c == python


def fts_body_or_error(fields: Mapping[str, Any]) -> str:
    """An event's body, or its error's text (a random document may hold a text that is not a str)."""
    try:
        return fts_body(fields)
    except Exception as e:
        return f"{type(e).__name__}: {e}"


@needs_c
def test_c_bodies_join_as_fts_body_does() -> None:
    assert _C is not None
    columns = (("a\x00b", "é", "\U0001f600x", "\x00"), ("c", "患者", "\ud800", "d\x00"))
    out = ["", "", "", "", "untouched"]
    assert _C.bodies(columns, out, [0, 1, 2, 3]) is True
    assert out == [fts_body({"message": a, "db.query.text": b}) for a, b in zip(*columns, strict=True)] + ["untouched"]
    assert out[:4] == ["a\x1fb\x1fc", "é\x1f患者", "\U0001f600x\x1f\ud800", "\x1f\x1fd\x1f"]
    for odd in ("", 5, None, ["list"]):  # not a non-empty str: nothing put, Python makes these bodies
        out = ["", ""]
        assert _C.bodies((("x", odd),), out, [0, 1]) is False
        assert out == ["", ""]
