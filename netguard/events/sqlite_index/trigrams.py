"""The ``events_fts`` MATCH terms of a run of text: its trigrams, as the trigram index holds them."""

from __future__ import annotations

import functools

# A run is looked up by at most this many of its trigrams: any of them names a superset of the events.
MAX_TRIGRAMS = 16


@functools.cache
def _unfolded() -> frozenset[str]:
    """The characters whose case SQLite's trigram tokenizer may fold otherwise than Python's ``str.lower``.

    The matcher finds ``pattern.lower()`` in ``text.lower()``; the trigram index holds the text as
    SQLite folds it, from older Unicode tables: it leaves ``Ɜ`` (U+A7AB, lower ``ɜ`` to Python), the
    Cherokee, Georgian Mtavruli, Deseret, Adlam... capitals as they are, and ``İ`` lowers to two
    characters. Every character a lower case changes or produces, but those of Latin (to U+024F, but
    ``İ``), Greek and Cyrillic (U+0370-U+04FF, but yot), which SQLite folds as Python does.
    """
    cased: set[str] = set()
    for code in range(0x80, 0x1F000):  # no cased letter lies above the Adlam block
        char = chr(code)
        lower = char.lower()
        if lower != char:
            cased.add(char)
            cased.update(lower)
    return frozenset(c for c in cased if not (ord(c) < 0x250 or 0x370 <= ord(c) < 0x500)) | frozenset(
        "\u0130\u0307\u037f\u03f3"
    )


def trigram_terms(run: str) -> list[str]:
    """The ``events_fts`` MATCH terms (trigrams, quoted) every text holding ``run`` (three characters or more) has.

    The index keeps no positions (``detail=none``), so a run is its trigrams ANDed: those that
    tile it, and the last, at most :data:`MAX_TRIGRAMS` (a pasted 8,000-character value is
    still a short query). A trigram with a character whose case SQLite folds otherwise than Python
    (:func:`_unfolded`) could miss a text the matcher finds: the run is split there, and an empty
    list means the index cannot tell.
    """
    if not run.isascii():
        unfolded = _unfolded()
        if any(c in unfolded for c in run):
            pieces = "".join("\0" if c in unfolded else c for c in run).split("\0")
            return [t for piece in pieces if len(piece) >= 3 for t in trigram_terms(piece)][:MAX_TRIGRAMS]
    starts = [*range(0, len(run) - 2, 3)][: MAX_TRIGRAMS - 1]
    starts.append(len(run) - 3)
    grams = dict.fromkeys(run[i : i + 3] for i in starts)
    return ['"' + g.replace('"', '""') + '"' for g in grams]
