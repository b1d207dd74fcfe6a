"""Hostile values: what an attacker (or an unlucky admin) can get into stored data, and how they must look."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from cli import main

SMALL = Path(__file__).parents[1] / "inventory" / "data" / "small.yaml"

# Each must reach the terminal exactly as shown in SHOWN (control characters escaped).
HOSTILE_NAME = "县人民医院 [/tmp] tags[idx] :ab: \x1b[31mRED\x07\r\x08\u202e"
HOSTILE_OWNER = "[bold]张伟[/bold]"
HOSTILE_NOTE = "grep -E '[a-z]+@x' \x1b]0;pwn\x07"
HOSTILE_MAC = "00:ab:cd:ab:cd:01"  # :ab: and :cd: are emoji codes in rich markup
LITERALS = ("[/tmp]", "tags[idx]", ":ab:", "[bold]", "'[a-z]+@x'", ":cd:")
ESCAPED = ("\\x1b[31mRED\\x07\\r\\x08\\u202e", "\\x1b]0;pwn\\x07")
RAW = ("\x1b", "\x07", "\r", "\x08", "\u202e")


def yaml_quoted(text: str) -> str:
    """A YAML double-quoted scalar holding ``text`` exactly."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F or char == "\u202e":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def run(*args: str, env: dict[str, str] | None = None, stdin: str | bytes | None = None) -> Result:
    base = {"NETGUARD_CONFIG": "", "NO_COLOR": "1", "COLUMNS": "250"}
    return CliRunner().invoke(main, list(args), env={**base, **(env or {})}, input=stdin)


def assert_literal(output: str, *expected: str) -> None:
    """Every expected text is there as is, and no raw control character got through."""
    for text in expected:
        assert text in output, (text, output)
    for char in RAW:
        assert char not in output, (char, output)
    assert "Traceback" not in output and "internal error" not in output
