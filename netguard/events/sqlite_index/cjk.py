"""The short CJK words index (``events_cjk``).

**Short CJK words** (``events_cjk``). A trigram index cannot find a word of
one or two characters, and Chinese words mostly are (患者, 姓名). Each run of
CJK characters in an event's text is indexed by its bigrams, plus its last
character alone, in a contentless FTS5 table (``detail=none``: only "this
event has this token", the smallest index). Two characters that occur
together in the text occur together in a CJK run, so the bigram finds them; a
single character is a prefix query (``"患"*``), which finds every bigram that
starts with it and the unigram of a run's last character. Only events with
CJK text get a row. As with trigrams, the index only names candidates; the
exact, case-insensitive check is the linear matcher's.
"""

from __future__ import annotations

import re

# Han (with extensions and compatibility ideographs), kana, Hangul syllables and bopomofo:
# the scripts written without spaces. None has case, so lower-casing never changes them.
CJK_CHARS = (
    "\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
    "\U00020000-\U0002ebef\U00030000-\U0003134f"
)
CJK_RUN = re.compile(f"[{CJK_CHARS}]+")


def cjk_tokens(body: str) -> str:
    """The CJK bigrams of a text, and the last character of each CJK run, space-separated ('' if none)."""
    if body.isascii():
        return ""
    tokens: list[str] = []
    for run in CJK_RUN.findall(body):
        tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
        tokens.append(run[-1])
    return " ".join(dict.fromkeys(tokens))


def cjk_terms(run: str) -> list[str]:
    """The ``events_cjk`` MATCH terms every text holding ``run`` (a literal of one or two characters) has.

    The CJK characters of the run, taken as runs of one or two: a pair is a bigram, a single
    character a prefix query (the bigrams it starts, or a run's last character).
    """
    return [f'"{sub}"' if len(sub) == 2 else f'"{sub}"*' for sub in CJK_RUN.findall(run[:2])]


def cjk_word(run: str) -> str | None:
    """The ``events_cjk`` MATCH term that finds exactly the texts holding ``run``, if it is one or two CJK characters.

    Exactly, not just candidates: the tokens are the text's own CJK pairs and run ends, and these
    scripts have no case to fold.
    """
    if len(run) > 2 or not CJK_RUN.fullmatch(run):
        return None
    return cjk_terms(run)[0]
