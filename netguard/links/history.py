"""The trend of one institution's link: its ICMP samples from the event store, in time buckets.

Samples are the ``link`` events with action ``sample`` and probe ``icmp``
that :mod:`netguard.links.recording` writes on every check. The window (by
default the last 7 days) is cut into equal buckets; each bucket reports how
many samples fell in it, their mean loss, mean and worst RTT, and the worst
state seen (down > degraded > up), so one bad check in a quiet hour shows.
Buckets without samples are kept (as gaps), so the time axis stays honest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from netguard.errors import QueryError
from netguard.events import Event, EventStore
from netguard.events.query import parse_duration_ms
from netguard.events.query import plan as p
from netguard.events.schema import FIELDS
from netguard.links.records import LinkState

_RANK = {LinkState.UP.value: 0, LinkState.DEGRADED.value: 1, LinkState.DOWN.value: 2}


@dataclass(frozen=True)
class Bucket:
    start_ms: int
    end_ms: int
    samples: int
    loss: float | None  # mean percent
    rtt_avg_ms: float | None  # mean of the samples' means
    rtt_max_ms: float | None  # worst single RTT
    worst_state: str | None


@dataclass(frozen=True)
class History:
    institution: str
    since_ms: int
    until_ms: int
    samples: int
    buckets: tuple[Bucket, ...]


def sample_plan(institution: str) -> p.Plan:
    return p.All(
        (
            p.Eq(FIELDS["organization.id"], institution),
            p.Eq(FIELDS["event.action"], "sample"),
            p.Eq(FIELDS["netguard.link.probe"], "icmp"),
        )
    )


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def bucketise(institution: str, events: Iterable[Event], since_ms: int, until_ms: int, count: int) -> History:
    width = max(1, -(-(until_ms - since_ms) // max(1, count)))
    rows: list[list[Event]] = [[] for _ in range(count)]
    total = 0
    for event in events:
        index = (event.timestamp_ms - since_ms) // width
        if 0 <= index < count:
            rows[index].append(event)
            total += 1
    buckets = []
    for n, row in enumerate(rows):
        losses = [float(e.get("netguard.link.loss")) for e in row if e.get("netguard.link.loss") is not None]
        means = [float(e.get("netguard.link.rtt_avg_ms")) for e in row if e.get("netguard.link.rtt_avg_ms") is not None]
        worst = [float(e.get("netguard.link.rtt_max_ms")) for e in row if e.get("netguard.link.rtt_max_ms") is not None]
        states = [str(e.get("netguard.link.state")) for e in row if e.get("netguard.link.state") in _RANK]
        buckets.append(
            Bucket(
                start_ms=since_ms + n * width,
                end_ms=min(until_ms, since_ms + (n + 1) * width),
                samples=len(row),
                loss=_mean(losses),
                rtt_avg_ms=_mean(means),
                rtt_max_ms=max(worst) if worst else None,
                worst_state=max(states, key=_RANK.__getitem__) if states else None,
            )
        )
    return History(institution, since_ms, until_ms, total, tuple(buckets))


def link_history(
    store: EventStore, institution: str, *, since: str = "7d", buckets: int = 24, now_ms: int | None = None
) -> History:
    """The institution's ICMP samples over ``since`` (a duration such as 24h or 7d), in ``buckets`` buckets."""
    now = now_ms if now_ms is not None else p.now_ms()
    span = parse_duration_ms(since)
    if span is None or span <= 0:
        raise QueryError(f"--since takes a duration such as 24h or 7d, not '{since}'")
    start = now - span
    events = store.iter_search(sample_plan(institution), kinds=("link",), since=f"{span // 1000}s", now=now)
    return bucketise(institution, events, start, now, buckets)
