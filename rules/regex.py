"""Rule regular expressions (``matches``/``not_matches``), searched in time linear in the text.

Rule packs come from institutions as well as from NetGuard, and they run on
every command a bastion user enters, every audited SQL statement, every
device sighting. Python's ``re`` backtracks: ``(a+)+$`` takes exponential
time and ``.*a.*a.*b`` cubic time in the text's length (518 s on one
2,000-character command line), so one hostile or careless pattern in a rule
file would hang the thread that evaluates it, and with it a bastion session
or the whole audit pipeline. Capping the text's length does not save it (a
cubic pattern still needs minutes on a few thousand characters) and a cap
is a bypass (pad the command past it).

So patterns are compiled with RE2 (Google's automaton-based engine, PyPI
``google-re2``): a search is linear in the text whatever the pattern, and
RE2 bounds the memory a compiled pattern may use. RE2 refuses the two
features that need backtracking, backreferences (``\\1``) and lookaround
(``(?=``, ``(?!``, ``(?<=``, ``(?<!``); such a pattern is an error at load
time with its file and line, like any pattern that does not compile. The
rest of the syntax is Python's: classes, ``\\b``, ``\\s``, ``\\d``, ``\\w``,
groups, ``{m,n}``, inline flags such as ``(?-i)``. Differences worth
knowing: ``\\w``, ``\\d``, ``\\s`` and ``\\b`` are ASCII-only (``\\w`` does not
match Chinese characters; write them out or use ``[^\\s]``), and repetition
counts stop at 1000. Matching ignores case unless the pattern says ``(?-i)``.
"""

from __future__ import annotations

from collections.abc import Callable

import re2  # type: ignore[import-untyped]


class RegexError(ValueError):
    """A pattern RE2 will not compile; the message says why."""


def _options() -> object:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # the error goes to the rule file's report, not to stderr
    return options


def compile_search(pattern: str) -> Callable[[str], bool]:
    """A test "does ``pattern`` occur anywhere in the text", linear in the text's length."""
    try:
        compiled = re2.compile(pattern, _options())
    except re2.error as exc:
        raise RegexError(_reason(exc)) from None
    search = compiled.search

    def found(text: str) -> bool:
        return search(text) is not None

    return found


def _reason(exc: Exception) -> str:
    raw = exc.args[0] if exc.args else exc
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    if "invalid escape sequence: \\" in text and text[-1:].isdigit():
        return f"{text} (backreferences are not supported: rule patterns run in linear time)"
    if "invalid perl operator: (?" in text and any(op in text for op in ("(?=", "(?!", "(?<")):
        return f"{text} (lookaround is not supported: rule patterns run in linear time)"
    return text
