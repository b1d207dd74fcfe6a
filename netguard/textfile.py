"""Decoding the text files admins edit (netguard.yaml, the inventory YAML, CSV) with a line to fix.

"not UTF-8 text" is no help in a file of thousands of lines: the error names the
line and column of the first byte that is not UTF-8 (an editor's numbering,
both 1-based) and the byte itself, never the line's text, which may hold a
secret. Excel's byte order mark is accepted and ignored.
"""

from __future__ import annotations

from pathlib import Path

from netguard.errors import NetGuardError

BOM = b"\xef\xbb\xbf"


def bad_byte(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of the byte at ``offset``."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return data.count(b"\n", 0, offset) + 1, column


def undecodable(data: bytes) -> tuple[int, int, int] | None:
    """(line, column, byte) of the first byte that is not UTF-8, or None when all of it is."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = bad_byte(data, exc.start)
        return line, column, data[exc.start]
    return None


def decode_utf8(data: bytes, file: str, error: type[NetGuardError]) -> str:
    """The text of ``data`` (a leading BOM dropped); ``error`` names ``file:line`` when it is not UTF-8."""
    body = data[len(BOM) :] if data.startswith(BOM) else data
    where = undecodable(body)
    if where is not None:
        line, column, byte = where
        raise error(f"{file}:{line}: is not UTF-8 text (byte 0x{byte:02x} at column {column}); save the file as UTF-8")
    return body.decode("utf-8")


def read_bytes(path: Path, what: str, error: type[NetGuardError]) -> bytes:
    """The bytes of the ``what`` file ``path`` ("inventory file" ...); ``error`` says why it cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise error(f"{what} {path} is a directory, not a file") from None
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from None
