"""The linear wildcard matcher: the same answers as a (backtracking) regex, without its running time."""

from __future__ import annotations

import json
import random
import re

import pytest

from netguard.events.query.matching import (
    compile_matcher,
    compile_set,
    matcher,
    matcher_set,
    pattern_text,
    read_pattern,
)
from netguard.events.query.syntax import Pattern, Wild
from tests.events.deadline import deadline


def reference(pattern: Pattern, value: str, anywhere: bool, fold: bool) -> bool:
    rx = "".join(
        ".*" if s is Wild.STAR else "." if s is Wild.ONE else re.escape(s.lower() if fold else s)
        for s in pattern
        if isinstance(s, str | Wild)
    )
    if anywhere:
        rx = f".*{rx}.*"
    return re.fullmatch(rx, value.lower() if fold else value, re.DOTALL) is not None


def random_pattern(rng: random.Random) -> Pattern:
    parts: list[str | Wild] = []
    for _ in range(rng.randint(0, 6)):
        r = rng.random()
        if r < 0.3:
            parts.append(Wild.STAR)
        elif r < 0.5:
            parts.append(Wild.ONE)
        else:
            text = "".join(rng.choice("abA\n*?\\é") for _ in range(rng.randint(1, 3)))
            if parts and isinstance(parts[-1], str):
                parts[-1] += text
            else:
                parts.append(text)
    return tuple(parts)


def test_agrees_with_a_regex_on_random_patterns() -> None:
    rng = random.Random(7)
    for _ in range(5000):
        pattern = random_pattern(rng)
        assert read_pattern(pattern_text(pattern)) == pattern
        value = "".join(rng.choice("abAB\n*?\\éÉ") for _ in range(rng.randint(0, 9)))
        for anywhere in (True, False):
            for fold in (True, False):
                got = compile_matcher(pattern, anywhere=anywhere, fold=fold)(value)
                assert got == reference(pattern, value, anywhere, fold), (pattern, value, anywhere, fold)


def test_question_mark_matches_a_newline_and_one_character_only() -> None:
    m = matcher("from?patients", True, True)
    assert m("SELECT *\nFROM\npatients") and not m("from\n\npatients")
    assert matcher("患?", False, False)("患者") and not matcher("患?", False, False)("患")


@pytest.mark.parametrize(
    ("text", "tail"), [("*a*a*b", "b"), ("*a*a*a*a*a*b", "b"), ("a*?a*?a*?a*??b", "b"), ("*a?a?a?a?a*c*", "c")]
)
def test_pathological_patterns_on_long_values_finish(text: str, tail: str) -> None:
    # re's ".*a.*a.*b" over 2,000 'a's took 518 s; the matcher takes well under a millisecond.
    with deadline(20):
        for n in (2000, 8000, 200_000):
            for anywhere, fold in ((True, True), (False, False)):
                m = matcher(text, anywhere, fold)
                assert not m("a" * n)
                assert m("a" * n + tail)
                assert m("a" * n + tail.upper()) == fold


def test_a_set_matches_when_one_of_its_patterns_does() -> None:
    rng = random.Random(11)
    for _ in range(3000):
        patterns = [random_pattern(rng) for _ in range(rng.randint(1, 6))]
        value = "".join(rng.choice("abAB\n*?\\é") for _ in range(rng.randint(0, 9)))
        for anywhere in (True, False):
            for fold in (True, False):
                one_by_one = any(reference(pt, value, anywhere, fold) for pt in patterns)
                together = compile_set(patterns, anywhere=anywhere, fold=fold)(value)
                assert together == one_by_one, (patterns, value, anywhere, fold)


def test_a_thousand_patterns_are_filed_not_tried_one_by_one() -> None:
    texts = [f"h{i}*x" for i in range(500)] + [f"*-{i}.lan" for i in range(500)]
    s = matcher_set(json.dumps(texts), False, False)
    assert not s.rest and len(s.by_prefix) + len(s.by_suffix) <= 6
    assert s("h77-anything-x") and s("db-42.lan") and not s("h77-anything-y") and not s("db-42.lan.")
