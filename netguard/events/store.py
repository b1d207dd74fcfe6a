"""The event store interface, shared by the SQLite and Elasticsearch backends.

Producers (discovery, enforcement, links, compliance, audit, bastion) call
:meth:`EventStore.write` with events from :func:`netguard.events.make_event`;
views call :meth:`EventStore.search`. Both backends take the same query text
and, by construction (one parser, one binder, see :mod:`netguard.events.query`),
return the same events in the same order: newest first, ties by event id.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from netguard.errors import QueryError
from netguard.events.model import Event
from netguard.events.query import plan as p
from netguard.events.schema import FIELDS, KINDS, Field


@dataclass
class WriteResult:
    """What a write did. Failures are counted and their reasons kept, never dropped silently."""

    written: int = 0
    duplicates: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    failed_ids: list[str] = field(default_factory=list)  # every event refused for good (the sink keeps them)

    def merge(self, other: WriteResult, keep: int = 20) -> None:
        self.written += other.written
        self.duplicates += other.duplicates
        self.failed += other.failed
        self.errors.extend(other.errors[: max(0, keep - len(self.errors))])
        self.failed_ids.extend(other.failed_ids)

    def add_error(self, reason: str, keep: int = 20, *, event_id: str | None = None) -> None:
        self.failed += 1
        if event_id is not None:
            self.failed_ids.append(event_id)
        if len(self.errors) < keep:
            self.errors.append(reason)


@dataclass
class SearchResult:
    total: int
    hits: list[Event]


@dataclass(frozen=True)
class Bucket:
    value: str
    count: int
    sample: str | None = None  # a value of the sample field in this bucket (e.g. the fingerprint of an id)


@dataclass(frozen=True)
class TopResult:
    """The most frequent values of one field among the matching events.

    ``total``: matching events; ``other``: what the values beyond ``buckets``
    count (events, or values of an array field); ``missing``: events without
    the field (scalar fields only; None for array fields).
    """

    total: int
    buckets: list[Bucket]
    other: int
    missing: int | None


def _prefixed(value: object, prefix: str) -> bool:
    return isinstance(value, str) and value.startswith(prefix)


def check_kinds(kinds: Sequence[str]) -> None:
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise QueryError(f"unknown event kind '{unknown[0]}' (known: {', '.join(KINDS)})")


def build_plan(
    query: str | p.Plan, kinds: Sequence[str], since: str | None, until: str | None, now: int | None
) -> p.Plan:
    """The query, restricted to the kinds and the time window.

    A query given as text is checked against the size limits when it is compiled; one given as a
    plan (built by code) is checked here, so that no backend ever sees a plan past them.
    """
    n = now if now is not None else p.now_ms()
    if not isinstance(query, str):
        p.check_limits(query)
    parts: list[p.Plan] = [p.compile_query(query, now=n) if isinstance(query, str) else query]
    if kinds:
        parts.append(p.OneOf(FIELDS["netguard.kind"], tuple(kinds)))
    window = p.time_window(since, until, now=n)
    if not isinstance(window, p.MatchAll):
        parts.append(window)
    parts = [x for x in parts if not isinstance(x, p.MatchAll)]
    if not parts:
        return p.MatchAll()
    return parts[0] if len(parts) == 1 else p.All(tuple(parts))


class EventStore(ABC):
    """A backend: writes events, and answers the query language through a compiled plan.

    The public search methods are written once here; a backend implements the
    plan-level primitives (``_search``, ``_iter``, ``_count``) and the rest.
    """

    backend: str

    @abstractmethod
    def write(self, events: Iterable[Event]) -> WriteResult: ...

    def search(
        self,
        query: str | p.Plan = "",
        *,
        kinds: Sequence[str] = (),
        since: str | None = None,
        until: str | None = None,
        limit: int = 100,
        now: int | None = None,
    ) -> SearchResult:
        """The newest ``limit`` matches and the total count."""
        return self._search(_plan(query, kinds, since, until, now), kinds, limit)

    def iter_search(
        self,
        query: str | p.Plan = "",
        *,
        kinds: Sequence[str] = (),
        since: str | None = None,
        until: str | None = None,
        now: int | None = None,
        page_size: int = 1000,
    ) -> Iterator[Event]:
        """Every match, newest first, fetched in pages so memory stays flat."""
        return self._iter(_plan(query, kinds, since, until, now), kinds, page_size)

    def count(
        self,
        query: str | p.Plan = "",
        *,
        kinds: Sequence[str] = (),
        since: str | None = None,
        until: str | None = None,
        now: int | None = None,
    ) -> int:
        return self._count(_plan(query, kinds, since, until, now), kinds)

    def top(
        self,
        field: str,
        query: str | p.Plan = "",
        *,
        kinds: Sequence[str] = (),
        since: str | None = None,
        until: str | None = None,
        limit: int = 10,
        prefix: str = "",
        sample: str | None = None,
        now: int | None = None,
    ) -> TopResult:
        """The ``limit`` most frequent values of ``field`` (a keyword or ip field, array or not), most first.

        Ties are broken by the value. For an array field every element counts once per event;
        ``prefix`` keeps only values starting with it (``rule:`` in ``tags``). Backends aggregate in
        the store; this default counts in Python over every match.
        """
        spec = FIELDS.get(field)
        if spec is None:
            raise QueryError(f"unknown field '{field}'")
        return self._top(_plan(query, kinds, since, until, now), kinds, spec, limit, prefix, sample)

    def _top(
        self, plan: p.Plan, kinds: Sequence[str], f: Field, limit: int, prefix: str, sample: str | None
    ) -> TopResult:
        counts: dict[str, int] = {}
        samples: dict[str, str] = {}
        total = missing = 0
        for event in self._iter(plan, kinds, 1000):
            total += 1
            value = event.fields.get(f.name)
            values = value if isinstance(value, list) else [] if value is None else [value]
            values = [str(v) for v in values if _prefixed(str(v), prefix)]
            if not values and not f.array:
                missing += 1
            for v in values:
                counts[v] = counts.get(v, 0) + 1
                if sample is not None and v not in samples and event.fields.get(sample) is not None:
                    samples[v] = str(event.fields[sample])
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        buckets = [Bucket(v, c, samples.get(v)) for v, c in ranked[:limit]]
        other = sum(c for _, c in ranked[limit:])
        return TopResult(total, buckets, other, None if f.array else missing)

    @abstractmethod
    def _search(self, plan: p.Plan, kinds: Sequence[str], limit: int) -> SearchResult: ...

    @abstractmethod
    def _iter(self, plan: p.Plan, kinds: Sequence[str], page_size: int) -> Iterator[Event]: ...

    @abstractmethod
    def _count(self, plan: p.Plan, kinds: Sequence[str]) -> int: ...

    @abstractmethod
    def purge(self, before_ms: int) -> int:
        """Remove events older than ``before_ms`` (retention); returns how many (events or indices)."""

    @abstractmethod
    def refresh(self) -> None:
        """Make everything written so far visible to searches."""

    @abstractmethod
    def close(self) -> None: ...


def _plan(query: str | p.Plan, kinds: Sequence[str], since: str | None, until: str | None, now: int | None) -> p.Plan:
    check_kinds(kinds)
    return build_plan(query, kinds, since, until, now)
