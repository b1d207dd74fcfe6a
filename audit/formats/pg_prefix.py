"""PostgreSQL's ``log_line_prefix`` turned into a regular expression.

The stderr log has no fixed layout: each line starts with whatever
``log_line_prefix`` the admin configured, then ``SEVERITY:  message``. The
prefix is compiled once: literal text is matched literally, each escape
becomes a group (``%u`` user, ``%d`` database, ``%h``/``%r`` client,
``%p`` pid, ``%m``/``%t``/``%n`` time, ``%c`` session id, ``%a`` application…),
a padding such as ``%-10u`` allows surrounding spaces, and ``%q`` makes the
rest of the prefix optional (background processes stop the prefix there).
Free-text escapes are non-greedy; the ``SEVERITY:  `` that must follow anchors
them. The severity list is PostgreSQL's own.
"""

from __future__ import annotations

import re

from netguard.errors import NetGuardError

SEVERITIES = (
    "DEBUG1|DEBUG2|DEBUG3|DEBUG4|DEBUG5|INFO|NOTICE|WARNING|ERROR|LOG|FATAL|PANIC|DETAIL|HINT|QUERY|CONTEXT|LOCATION|"
    "STATEMENT"
)
_TS = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
_ZONE = r"(?: (?P<{name}>[A-Za-z][A-Za-z0-9_/+-]*|[+-]\d\d(?::?\d\d)?))?"
_ESCAPES: dict[str, str] = {
    "a": r"(?P<app>.*?)",
    "u": r"(?P<user>.*?)",
    "d": r"(?P<db>.*?)",
    "r": r"(?P<client>\[local\]|[^ (]*)(?:\((?P<port>\d+)\))?",
    "h": r"(?P<host>\[local\]|[^ ]*?)",
    "b": r".*?",
    "p": r"(?P<pid>\d+)",
    "P": r"\d*",
    "t": r"(?P<t>" + _TS + r")" + _ZONE.format(name="tz_t"),
    "m": r"(?P<m>" + _TS + r"\.\d{3})" + _ZONE.format(name="tz_m"),
    "n": r"(?P<n>\d+\.\d+)",
    "i": r".*?",
    "e": r"[0-9A-Z]{5}",
    "c": r"(?P<session>[0-9a-f]+\.[0-9a-f]+)",
    "l": r"\d+",
    "s": _TS + r"(?: \S+)?",
    "v": r"[^ ]*?",
    "x": r"\d+",
    "Q": r"-?\d+",
}
_ESCAPE = re.compile(r"%(-?\d+)?(.)")


class PrefixError(NetGuardError):
    """A --log-line-prefix that cannot be used."""


def compile_prefix(prefix: str) -> re.Pattern[str]:
    """The regex for one whole log line: prefix, ``SEVERITY:  ``, message (groups ``severity``, ``message``)."""
    parts: list[str] = []
    optional_from: int | None = None
    used: set[str] = set()
    pos = 0
    for m in _ESCAPE.finditer(prefix):
        parts.append(re.escape(prefix[pos : m.start()]))
        pos = m.end()
        padding, code = m.group(1), m.group(2)
        if code == "%":
            parts.append("%")
            continue
        if code == "q":
            optional_from = len(parts)
            continue
        if code not in _ESCAPES:
            raise PrefixError(f"--log-line-prefix: unknown escape %{code} in {prefix!r}")
        pattern = _ESCAPES[code]
        if code in used:  # a repeated escape: match it again without capturing
            pattern = re.sub(r"\(\?P<\w+>", "(?:", pattern)
        used.add(code)
        parts.append(r" *" + pattern + r" *" if padding else pattern)
    parts.append(re.escape(prefix[pos:]))
    if optional_from is not None:
        parts[optional_from:] = ["(?:" + "".join(parts[optional_from:]) + ")?"]
    # An empty field still leaves its literal text behind; a trailing space in the
    # prefix is where the severity starts.
    return re.compile("".join(parts) + r"(?P<severity>" + SEVERITIES + r"):  (?P<message>.*)", re.S)
