"""Outside data made safe to show: every invisible or terminal-controlling character written as an escape.

Log lines, SQL, commands, SNMP strings and file names reach terminals and
reports; a raw ESC can rewrite the screen, a bidi override can reorder what an
officer reads, a zero-width space can hide a difference. The views
(``commands/output.py``) and the HTML report (``netguard/compliance/html.py``)
share this one definition of what to escape.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, the Arabic letter mark, zero-width and directional marks, the line
# and paragraph separators, bidi embeddings/overrides/isolates, word joiners and the BOM.
INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _code(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _named_or_code(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or _code(char)


def visible(value: object, *, named: bool = True) -> str:
    """``value`` as text with every invisible character written as a Python-style escape.

    ``named`` writes tab, newline and CR as ``\\t``, ``\\n``, ``\\r``; without it every
    escape is by code (``\\x0a``).
    """
    text = "" if value is None else str(value)
    if named:
        return INVISIBLE.sub(_named_or_code, text)
    return INVISIBLE.sub(lambda m: _code(m.group()), text)
