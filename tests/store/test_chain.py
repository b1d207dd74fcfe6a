"""The keyed hash chain (netguard.hashchain): pure logic, so built in memory."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from netguard.errors import SecretError
from netguard.hashchain import GENESIS, ChainKey, Link, link_digest, verify_links

KEY = ChainKey.from_text("3f1c" * 16)
OTHER = ChainKey.from_text("9a0e" * 16)
CTX = "test.records"


def chain(payloads: list[str], key: ChainKey | None = KEY, context: str = CTX, start: str = GENESIS) -> list[Link]:
    links: list[Link] = []
    prev = start
    for seq, payload in enumerate(payloads, start=1):
        digest = link_digest(prev, payload, key, context)
        links.append(Link(seq, prev, digest, payload, None if key is None else key.key_id))
        prev = digest
    return links


def test_a_key_is_long_named_by_a_fingerprint_and_never_shown() -> None:
    with pytest.raises(SecretError, match="at least 32 bytes") as exc:
        ChainKey(b"short-but-secret")
    assert "short-but-secret" not in str(exc.value)
    secret = "3f1c" * 16
    assert secret not in repr(KEY) and secret not in str(KEY)
    assert KEY.key_id.startswith("hmac-sha256:") and secret not in KEY.key_id
    assert KEY.key_id == ChainKey.from_text(f"  {secret}\n").key_id  # as read from a secrets file
    assert KEY.key_id != OTHER.key_id


def test_the_keyed_digest_cannot_be_recomputed_without_the_key() -> None:
    plain = hashlib.sha256((GENESIS + "x").encode()).hexdigest()
    assert link_digest(GENESIS, "x", None, CTX) == plain  # the unkeyed (legacy) form is plain SHA-256
    keyed = link_digest(GENESIS, "x", KEY, CTX)
    assert keyed != plain and keyed != link_digest(GENESIS, "x", OTHER, CTX)
    # contexts sharing a key do not share digests
    assert keyed != link_digest(GENESIS, "x", KEY, "other.records")


def test_an_intact_keyed_chain_verifies_and_agrees_with_its_witnesses() -> None:
    links = chain(["a", "b", "c"])
    check = verify_links(links, key=KEY, context=CTX, witnessed=[(1, links[0].digest), (3, links[2].digest)])
    assert check.ok and check.links == 3 and check.last_seq == 3 and check.head == links[-1].digest
    assert (check.unkeyed, check.unverified, check.witnesses) == (0, 0, 2)
    assert verify_links([], key=KEY, context=CTX).head == GENESIS


def test_an_edited_payload_is_caught_even_with_a_recomputed_plain_hash() -> None:
    links = chain(["a", "b", "c"])
    edited = replace(links[1], payload="B")
    check = verify_links([links[0], edited, links[2]], key=KEY, context=CTX)
    assert check.broken is not None and check.broken.seq == 2 and "edited" in check.broken.problem
    # the forger recomputes every digest, but has only SHA-256 (or a key of their own)
    forged = chain(["a", "B", "c"], key=None)
    forged = [replace(link, key_id=KEY.key_id) for link in forged]
    check = verify_links(forged, key=KEY, context=CTX)
    assert check.broken is not None and check.broken.seq == 1 and not check.ok


def test_removed_and_reordered_links_are_caught() -> None:
    a, b, c = chain(["a", "b", "c"])
    gap = verify_links([a, c], key=KEY, context=CTX)
    assert gap.broken is not None and gap.broken.seq == 3 and "2 is missing" in gap.broken.problem
    swapped = verify_links([a, replace(c, seq=2), replace(b, seq=3)], key=KEY, context=CTX)
    assert swapped.broken is not None and swapped.broken.seq == 2


def test_unkeyed_links_verify_before_the_cut_over_and_are_a_downgrade_after_it() -> None:
    legacy = chain(["a", "b"], key=None)
    keyed = chain(["c", "d"], start=legacy[-1].digest)
    links = legacy + [replace(link, seq=link.seq + 2) for link in keyed]
    check = verify_links(links, key=KEY, context=CTX)
    assert check.ok and check.unkeyed == 2
    # the first keyed link seals the unkeyed part: rewrite it (recomputed) and the seal breaks
    rewritten = chain(["A", "b"], key=None)
    check = verify_links(rewritten + links[2:], key=KEY, context=CTX)
    assert check.broken is not None and check.broken.seq == 3
    # a keyed link turned back into a plain hash
    last = links[3]
    plain = replace(last, key_id=None, digest=link_digest(last.prev, last.payload, None, CTX))
    check = verify_links([*links[:3], plain], key=KEY, context=CTX)
    assert check.broken is not None and check.broken.seq == 4
    assert "unkeyed after the keyed cut-over" in check.broken.problem


def test_another_key_is_told_apart_from_tampering() -> None:
    links = chain(["a", "b"])
    wrong = verify_links(links, key=OTHER, context=CTX)
    assert wrong.broken is None and wrong.unverified == 2 and wrong.other_keys == (KEY.key_id,) and not wrong.ok
    nokey = verify_links(links, key=None, context=CTX)
    assert nokey.broken is None and nokey.unverified == 2 and nokey.other_keys == () and not nokey.ok
    # without the key the links are still checked for order and linkage
    nokey = verify_links([links[1]], key=None, context=CTX)
    assert nokey.broken is not None and nokey.broken.seq == 2


def test_witnesses_reveal_truncation_and_rewritten_history() -> None:
    links = chain(["a", "b", "c", "d"])
    witnessed = [(n, link.digest) for n, link in enumerate(links, start=1)]
    cut = verify_links(links[:2], key=KEY, context=CTX, witnessed=witnessed)
    assert cut.broken is None and cut.truncated is not None and not cut.ok
    assert (cut.truncated.last_seq, cut.truncated.witnessed_seq) == (2, 4)
    # the whole chain rebuilt from entry 3 on, correctly keyed (an insider with the key): the witness disagrees
    rebuilt = links[:2] + [replace(link, seq=link.seq + 2) for link in chain(["C", "d"], start=links[1].digest)]
    check = verify_links(rebuilt, key=KEY, context=CTX, witnessed=witnessed)
    assert check.broken is None and check.rewritten == (3, 4) and check.truncated is None and not check.ok
    # two witnesses of one link that disagree with each other: the chain cannot match both
    check = verify_links(links, key=KEY, context=CTX, witnessed=[(1, links[0].digest), (1, "f" * 64)])
    assert check.rewritten == (1,)
