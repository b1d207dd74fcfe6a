"""Keyed hash chains: append-only records that prove they were not rewritten.

A chain is a sequence of links numbered 1, 2, 3, ...; each link stores the
digest of the one before it (``prev``; :data:`GENESIS` for the first) and its
own digest over ``prev`` and its payload (a canonical text the owner of the
chain builds from the record, e.g. sorted JSON):

    digest = HMAC-SHA256(key, context + "\\n" + prev + payload)

Editing, removing or reordering a link breaks the chain at that link. A plain
hash (SHA-256) is not enough: whoever can write the records can recompute
every digest after an edit. With a key that is never stored beside the records
(NetGuard keeps it in the secrets file), a forger cannot. ``context`` separates
chains that share a key (the action journal's entries and outcomes, the
bastion's recordings): a link from one never verifies in another.

Each keyed link names the key it was made with by its :attr:`ChainKey.key_id`,
a fingerprint derived from the key (an HMAC of a fixed text; it does not reveal
the key). Verification can therefore tell "made with another key" (a
configuration problem, or a forger who used a key of their own) from "made
with this key and changed since" (tampering).

Unkeyed links (``key_id`` None, ``digest = SHA-256(prev + payload)``) exist only
to verify records written before a chain was keyed; the cut-over is the first
keyed link. Its digest covers ``prev``, the head of the unkeyed part, so the
unkeyed part cannot change afterwards without breaking the first keyed link;
an unkeyed link *after* a keyed one is reported as a downgrade. What no key
can show, for the unkeyed part before the cut-over or for links cut off at
the end, an independent copy of the heads can: :func:`verify_links` compares
the chain against ``(seq, head)`` pairs witnessed elsewhere (the event store)
and reports truncation (a witnessed seq beyond the chain's end) and rewritten
history (a witnessed head the chain no longer has).

This module knows nothing about what it chains; owners map their rows to
:class:`Link` and read the :class:`ChainCheck`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field

from netguard.errors import SecretError

GENESIS = "0" * 64
MIN_KEY_BYTES = 32
_KEY_ID_TEXT = b"netguard hash-chain key id v1"


@dataclass(frozen=True)
class ChainKey:
    """A chain key (from the secrets file); ``repr`` and ``str`` never show it."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_KEY_BYTES:
            raise SecretError(
                f"a hash-chain key needs at least {MIN_KEY_BYTES} bytes (got {len(self.secret)}); "
                "make one with: openssl rand -hex 32"
            )

    @classmethod
    def from_text(cls, text: str) -> ChainKey:
        """The key as written in the secrets file (its UTF-8 bytes, surrounding blanks removed)."""
        return cls(text.strip().encode("utf-8"))

    @property
    def key_id(self) -> str:
        """A fingerprint that names the key without revealing it; stored with every link."""
        return "hmac-sha256:" + hmac.new(self.secret, _KEY_ID_TEXT, hashlib.sha256).hexdigest()[:16]

    def __str__(self) -> str:
        return f"chain key {self.key_id}"


def link_digest(prev: str, payload: str, key: ChainKey | None, context: str) -> str:
    """The digest of a link; ``key=None`` is the unkeyed (legacy) form, which ignores ``context``."""
    if key is None:
        return hashlib.sha256((prev + payload).encode("utf-8")).hexdigest()
    message = f"{context}\n{prev}{payload}".encode()
    return hmac.new(key.secret, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Link:
    """One stored link as read back: what the owner stored, and the payload rebuilt from the record."""

    seq: int
    prev: str
    digest: str
    payload: str
    key_id: str | None


@dataclass(frozen=True)
class Break:
    """The first link that does not hold."""

    seq: int
    problem: str


@dataclass(frozen=True)
class Truncation:
    """A witness saw link ``witnessed_seq``; the chain now ends at ``last_seq``."""

    last_seq: int
    witnessed_seq: int


@dataclass(frozen=True)
class ChainCheck:
    links: int
    head: str
    last_seq: int
    unkeyed: int  # links before the cut-over, verified with plain SHA-256
    unverified: int  # keyed links not checked: no key given, or made with another key
    other_keys: tuple[str, ...]  # key ids found that are not the given key's
    broken: Break | None
    rewritten: tuple[int, ...]  # seqs whose witnessed head the chain no longer has
    truncated: Truncation | None
    witnesses: int

    @property
    def ok(self) -> bool:
        """Every link verified with the key, and every witness agrees."""
        return self.broken is None and self.unverified == 0 and not self.rewritten and self.truncated is None


def verify_links(
    links: Iterable[Link],
    *,
    key: ChainKey | None,
    context: str,
    witnessed: Iterable[tuple[int, str]] = (),
    noun: str = "link",
) -> ChainCheck:
    """Walk ``links`` in order and check numbering, linkage, digests, keys and witnesses.

    Links must come ordered by ``seq``. The walk goes on after the first break
    (so counts, the head and witness comparisons cover every link) but only the
    first break is reported: after it, later links prove nothing more.
    """
    seen: dict[int, set[str]] = {}
    for seq, head in witnessed:
        seen.setdefault(int(seq), set()).add(str(head))
    prev = GENESIS
    expected_seq = 1
    count = unkeyed = unverified = 0
    keyed_seen = False
    other: list[str] = []
    broken: Break | None = None
    rewritten: list[int] = []
    visited: set[int] = set()
    for link in links:
        count += 1
        visited.add(link.seq)
        problem: str | None = None
        if link.seq != expected_seq:
            problem = f"does not follow the previous {noun} ({noun} {expected_seq} is missing: removed or reordered)"
        elif link.prev != prev:
            problem = f"does not link to the previous {noun} (one was removed or reordered)"
        elif link.key_id is None:
            if keyed_seen:
                problem = f"is unkeyed after the keyed cut-over (a keyed {noun} was replaced by a plain hash)"
            elif link_digest(link.prev, link.payload, None, context) != link.digest:
                problem = f"content does not match its hash (the {noun} was edited)"
            else:
                unkeyed += 1
        else:
            keyed_seen = True
            if key is None or link.key_id != key.key_id:
                unverified += 1
                if key is not None and link.key_id not in other:
                    other.append(link.key_id)
            elif not hmac.compare_digest(link_digest(link.prev, link.payload, key, context), link.digest):
                problem = f"content does not match its keyed hash (the {noun} was edited)"
        if problem is not None and broken is None:
            broken = Break(link.seq, problem)
        heads = seen.get(link.seq)
        if heads is not None and heads != {link.digest}:
            rewritten.append(link.seq)
        prev = link.digest
        expected_seq = link.seq + 1
    last_seq = expected_seq - 1
    rewritten += [seq for seq in seen if seq <= last_seq and seq not in visited]
    beyond = [seq for seq in seen if seq > last_seq]
    return ChainCheck(
        links=count,
        head=prev,
        last_seq=last_seq,
        unkeyed=unkeyed,
        unverified=unverified,
        other_keys=tuple(other),
        broken=broken,
        rewritten=tuple(sorted(rewritten)),
        truncated=Truncation(last_seq, max(beyond)) if beyond else None,
        witnesses=sum(len(h) for h in seen.values()),
    )
