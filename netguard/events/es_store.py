"""The Elasticsearch event store, for a county that outgrows one machine.

Writes are ``create`` operations with the event's deterministic id into
``<prefix>-<kind>-YYYY.MM``: a batch sent twice (a retry after a timeout, a log
re-read after a crash) is answered 409 for every event already there, which we
count as a duplicate, so delivery is at-least-once and storage exactly-once.
Batches are bounded in count and bytes and at most ``in_flight`` per write are
pending, so memory stays flat however long the stream. They are sent by one
pool of ``in_flight`` threads that the store owns for its whole life (made on
the first write, shut down by :meth:`close`), not a pool per write: a
long-running producer's sink writes a small batch twice a second.

Bulk ingest. Each event's document is the JSON made once when the event was
built (:attr:`Event.json`); a request body is that text with an action line
per event (its head, index and op, made once per kind and month), joined and
encoded once. Requests are about 5 MB (5,000 SQL events;
``batch_size``/``batch_bytes``) and a writer that can hand over more at a time
(the event sink, :data:`WRITE_BATCH` events per write) gets ``in_flight`` of
them indexed in parallel while it goes on producing. Per-document cost on the
node falls by a sixth from 2,000-event requests to 5,000-10,000.

What a SQL event costs the node, and what was tried (node CPU from
``_nodes/stats``, one-node 8.19 on this 2-core machine, 100,000 slow-log
events per run, variants in turns, medians; the JVM warmed first: a fresh
node spends about twice as much on its first few hundred thousand documents,
which is what the 80-100 us measured earlier were):

- the object mapping of template version 2: 44-46 us; flat with
  ``subobjects: false`` (version 3, :mod:`netguard.events.mappings`): 32 us.
  Kept.
- ids the node generates (``create`` without ``_id``): 28 us against 32.
  The deterministic ids are what make storage exactly-once (a re-sent batch
  answers 409): kept. A time-prefixed ``_id`` (friendlier to Lucene's terms
  dictionary) saved nothing at 100,000 documents an index.
- no ``doc_values`` on keywords never sorted on (statement text, error,
  message, file path, fingerprint, connection id, related.hosts): 30 us, and
  ``top``/aggregations on them would be gone: not taken.
- ``index.translog.durability: async``: 32 us, no gain (one fsync per
  5,000-event request), and a node crash could then lose a batch already
  acknowledged to the sink, whose checkpoint has moved past it: not taken.
- ``refresh_interval: -1`` during a load: 31 us, within the noise. Refreshes
  are left to Elasticsearch: a shard that no search has touched for 30 s
  (``index.search.idle.after``) skips its scheduled refreshes anyway, and a
  loader that died before restoring the setting would leave indices
  unsearchable.

Per-event answers: 429 (the cluster is busy) and 5xx (a shard not yet
available, e.g. just after a restart) are transient and retried with
back-off; if some are still refused after the last attempt the write fails
as a whole (:class:`StoreError`), so the caller (the event sink) keeps the
batch and re-sends it later, where the stored part answers 409. Every other
refusal is permanent: counted, its reason kept, its id in
``WriteResult.failed_ids``.

Index templates are installed when the store is made; with
``defer_templates`` (a sink that must start while the cluster is down) a
failure there is put off to the first write, which installs them before any
index can be created without them.

The 8.x Python client is used on purpose: it talks to 8.x servers natively and
to 9.x servers through REST API compatibility (``compatible-with=8``).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError

from netguard.config import ElasticsearchConfig
from netguard.errors import StoreError
from netguard.events.mappings import TEMPLATE_VERSION, all_templates, index_name, index_pattern, month_bounds
from netguard.events.model import Event, event_from_doc
from netguard.events.query import plan as p
from netguard.events.query.to_es import to_es
from netguard.events.schema import DELETION_KIND, Field
from netguard.events.store import Bucket, EventStore, SearchResult, TopResult, WriteResult
from netguard.secrets import SecretResolver, redact_url

MAX_PAGE = 10_000
WRITE_BATCH = 10_000  # events per write() that let in_flight requests of batch_size run side by side
_SORT = [{"@timestamp": {"order": "desc"}}, {"event.id": {"order": "asc"}}]


def make_client(cfg: ElasticsearchConfig, resolver: SecretResolver) -> Elasticsearch:
    kwargs: dict[str, Any] = {
        "request_timeout": cfg.request_timeout,
        "retry_on_timeout": True,
        "max_retries": 3,
        "verify_certs": cfg.verify_certs,
    }
    if cfg.api_key is not None:
        kwargs["api_key"] = resolver.resolve(cfg.api_key).reveal()
    elif cfg.username is not None:
        if cfg.password is None:
            raise StoreError("events.elasticsearch.username is set but password is not")
        kwargs["basic_auth"] = (cfg.username, resolver.resolve(cfg.password).reveal())
    if cfg.ca_certs is not None:
        kwargs["ca_certs"] = str(cfg.ca_certs)
    return Elasticsearch(list(cfg.hosts), **kwargs)


class ElasticsearchEventStore(EventStore):
    backend = "elasticsearch"

    def __init__(
        self,
        client: Elasticsearch,
        *,
        prefix: str = "netguard",
        replicas: int = 1,
        batch_size: int = 5000,
        batch_bytes: int = 8 * 1024 * 1024,
        in_flight: int = 2,
        hosts: Sequence[str] = (),
        defer_templates: bool = False,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.replicas = replicas
        self.batch_size = batch_size
        self.batch_bytes = batch_bytes
        self.in_flight = max(1, in_flight)
        self.where = ", ".join(redact_url(h) for h in hosts) or "Elasticsearch"
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._templates_ready = False
        try:
            self._guard(self.ensure_templates)
            self._templates_ready = True
        except StoreError:
            if not defer_templates:
                raise

    @classmethod
    def from_config(cls, cfg: ElasticsearchConfig, resolver: SecretResolver) -> ElasticsearchEventStore:
        return cls(make_client(cfg, resolver), prefix=cfg.index_prefix, replicas=cfg.replicas, hosts=cfg.hosts)

    def _guard(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a client call; turn transport and API errors into one clear StoreError."""
        try:
            return call(*args, **kwargs)
        except ApiError as exc:
            reason = _api_reason(exc)
            raise StoreError(f"Elasticsearch at {self.where} refused the request: {reason}") from None
        except TransportError as exc:
            detail = f"{type(exc).__name__}: {exc.message}"
            raise StoreError(f"cannot reach Elasticsearch at {self.where}: {detail}") from None

    def ensure_templates(self) -> None:
        """Install or upgrade the index templates (idempotent, one round trip when current)."""
        wanted = all_templates(self.prefix, self.replicas)
        existing: dict[str, int] = {}
        resp = self.client.options(ignore_status=404).indices.get_index_template(name=f"{self.prefix}-*")
        for item in resp.body.get("index_templates", []) if resp.meta.status == 200 else []:
            existing[item["name"]] = int(item["index_template"].get("version") or 0)
        for name, body in wanted.items():
            if existing.get(name, -1) < TEMPLATE_VERSION:
                self.client.indices.put_index_template(name=name, **body)

    # --- writing
    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.in_flight, thread_name_prefix="netguard-bulk")
            if not self._templates_ready:
                self._guard(self.ensure_templates)
                self._templates_ready = True
            return self._pool

    def write(self, events: Iterable[Event]) -> WriteResult:
        result = WriteResult()
        pending: list[Future[WriteResult]] = []
        pool = self._executor()
        try:
            for lines, ids in self._batches(events):
                if len(pending) >= self.in_flight:
                    result.merge(pending.pop(0).result())
                pending.append(pool.submit(self._send, lines, ids))
            while pending:
                result.merge(pending.pop(0).result())
        except StoreError as exc:
            # Say how far it got: the caller keeps its checkpoint and re-sends; ids make that safe.
            for fut in pending:
                if not fut.exception():
                    result.merge(fut.result())
            raise StoreError(
                f"{exc} (after {result.written} events stored, {result.duplicates} already present)"
            ) from None
        except BaseException:
            for fut in pending:  # an interrupted producer: do not leave sends queued on the shared pool
                fut.cancel()
            raise
        return result

    def _batches(self, events: Iterable[Event]) -> Iterator[tuple[list[str], list[str]]]:
        lines: list[str] = []
        ids: list[str] = []
        size = 0
        # The action line's head is the same for a kind's events of one month: made once per
        # (kind, month), not formatted from the timestamp per event (that was 1-2 us of 50 here).
        kind, start, end, head = "", 0, -1, ""
        for event in events:
            ms = event.timestamp_ms
            if event.kind != kind or not start <= ms < end:
                kind, (start, end) = event.kind, month_bounds(ms)
                head = f'{{"create":{{"_index":"{index_name(self.prefix, kind, ms)}","_id":"'
            action = head + event.id + '"}}\n'
            source = event.json + "\n"
            lines += (action, source)
            ids.append(event.id)
            size += len(action) + len(source)
            if len(ids) >= self.batch_size or size >= self.batch_bytes:
                yield lines, ids
                lines, ids, size = [], [], 0
        if ids:
            yield lines, ids

    def _send(self, lines: list[str], ids: list[str]) -> WriteResult:
        result = WriteResult()
        delay = 0.5
        attempts = 6
        for attempt in range(attempts):
            body = "".join(lines).encode("utf-8", "surrogatepass")  # one buffer, not one per line
            resp = self._guard(self.client.bulk, body=body, filter_path="errors,items.*.status,items.*.error")
            answer = resp.body
            if not answer.get("errors"):
                result.written += len(ids)
                return result
            retry_lines: list[str] = []
            retry_ids: list[str] = []
            last = ""
            for i, item in enumerate(answer["items"]):
                op = next(iter(item.values()))
                status = op.get("status", 0)
                err = op.get("error") or {}
                if status in (200, 201):
                    result.written += 1
                elif status == 409:
                    result.duplicates += 1
                elif status == 429 or status >= 500:
                    retry_lines += lines[2 * i : 2 * i + 2]
                    retry_ids.append(ids[i])
                    last = f"{status} {err.get('type', '')}: {err.get('reason', '')}"
                else:
                    reason = f"event {ids[i]}: {err.get('type', status)}: {err.get('reason', '')}"
                    result.add_error(reason, event_id=ids[i])
            if not retry_ids:
                return result
            if attempt == attempts - 1:
                raise StoreError(
                    f"Elasticsearch at {self.where} still refused {len(retry_ids)} events after {attempts} attempts "
                    f"({last})"
                )
            lines, ids = retry_lines, retry_ids
            time.sleep(delay)  # the cluster is busy (429) or a shard is not available yet (5xx)
            delay *= 2
        return result

    # --- reading
    def _indices(self, kinds: Sequence[str]) -> str:
        if kinds:
            return ",".join(index_pattern(self.prefix, k) for k in kinds)
        return f"{self.prefix}-*"

    def _search_page(
        self, query: dict[str, Any], kinds: Sequence[str], size: int, after: list[Any] | None, total: bool
    ) -> dict[str, Any]:
        extra: dict[str, Any] = {"search_after": after} if after else {}
        resp = self._guard(
            self.client.search,
            index=self._indices(kinds),
            query=query,
            sort=_SORT,
            size=size,
            track_total_hits=total,
            ignore_unavailable=True,
            allow_no_indices=True,
            **extra,
        )
        return dict(resp.body)

    def _search(self, plan: p.Plan, kinds: Sequence[str], limit: int) -> SearchResult:
        dsl = to_es(plan)
        body = self._search_page(dsl, kinds, min(limit, MAX_PAGE), None, True)
        hits = [event_from_doc(h["_source"]) for h in body["hits"]["hits"]]
        if limit > MAX_PAGE and len(hits) == MAX_PAGE:
            hits += list(self._pages(dsl, kinds, limit - MAX_PAGE, body["hits"]["hits"][-1]["sort"]))
        return SearchResult(total=int(body["hits"]["total"]["value"]), hits=hits)

    def _pages(
        self,
        dsl: dict[str, Any],
        kinds: Sequence[str],
        limit: int | None,
        after: list[Any] | None,
        page_size: int = 1000,
    ) -> Iterator[Event]:
        """``search_after`` pagination over the (time, id) sort."""
        left = limit
        while left is None or left > 0:
            size = page_size if left is None else min(page_size, left)
            page = self._search_page(dsl, kinds, size, after, False)["hits"]["hits"]
            for h in page:
                yield event_from_doc(h["_source"])
            if left is not None:
                left -= len(page)
            if len(page) < size:
                return
            after = page[-1]["sort"]

    def _iter(self, plan: p.Plan, kinds: Sequence[str], page_size: int) -> Iterator[Event]:
        return self._pages(to_es(plan), kinds, None, None, page_size)

    def _count(self, plan: p.Plan, kinds: Sequence[str]) -> int:
        resp = self._guard(
            self.client.count,
            index=self._indices(kinds),
            query=to_es(plan),
            ignore_unavailable=True,
            allow_no_indices=True,
        )
        return int(resp.body["count"])

    def _top(
        self, plan: p.Plan, kinds: Sequence[str], f: Field, limit: int, prefix: str, sample: str | None
    ) -> TopResult:
        """A terms aggregation (most first, ties by value), with a missing-count and a sample per bucket."""
        terms: dict[str, Any] = {
            "field": f.name,
            "size": limit,
            "shard_size": max(limit * 10, 100),
            "order": [{"_count": "desc"}, {"_key": "asc"}],
        }
        if prefix:
            # Lucene's regular expressions: a backslash makes any character literal.
            terms["include"] = "".join(c if c.isalnum() else "\\" + c for c in prefix) + ".*"
        aggs: dict[str, Any] = {"top": {"terms": terms}}
        if sample:
            aggs["top"]["aggs"] = {"sample": {"top_hits": {"size": 1, "_source": [sample], "sort": _SORT}}}
        if not f.array:
            aggs["missing"] = {"missing": {"field": f.name}}
        resp = self._guard(
            self.client.search,
            index=self._indices(kinds),
            query=to_es(plan),
            size=0,
            aggs=aggs,
            track_total_hits=True,
            ignore_unavailable=True,
            allow_no_indices=True,
        )
        body = resp.body
        agg = body.get("aggregations", {})
        buckets = []
        for b in agg.get("top", {}).get("buckets", []):
            value = b.get("key_as_string", b["key"])
            hits = b.get("sample", {}).get("hits", {}).get("hits", [])
            picked = hits[0]["_source"].get(sample) if hits and sample else None
            buckets.append(Bucket(str(value), int(b["doc_count"]), None if picked is None else str(picked)))
        other = int(agg.get("top", {}).get("sum_other_doc_count", 0))
        missing = int(agg["missing"]["doc_count"]) if "missing" in agg else None
        return TopResult(int(body["hits"]["total"]["value"]), buckets, other, missing)

    def purge(self, before_ms: int) -> int:
        """Drop monthly indices that end before ``before_ms``; returns how many indices.

        The indices of deletion records are kept (see SQLiteEventStore.purge).
        """
        resp = self._guard(self.client.indices.get, index=f"{self.prefix}-*", allow_no_indices=True)
        dropped = 0
        for name in resp.body:
            m = re.fullmatch(re.escape(self.prefix) + r"-([a-z-]+)-(\d{4})\.(\d{2})", name)
            if not m or m.group(1) == DELETION_KIND:
                continue
            year, month = int(m.group(2)), int(m.group(3))
            end = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=dt.UTC)
            if end.timestamp() * 1000 <= before_ms:
                self._guard(self.client.indices.delete, index=name)
                dropped += 1
        return dropped

    def refresh(self) -> None:
        self._guard(
            self.client.indices.refresh, index=f"{self.prefix}-*", ignore_unavailable=True, allow_no_indices=True
        )

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        self.client.close()


def _api_reason(exc: ApiError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    err = body.get("error")
    if isinstance(err, dict):
        return f"{exc.meta.status} {err.get('type', '')}: {err.get('reason', '')}".strip()
    return f"{exc.meta.status} {exc.message}"
