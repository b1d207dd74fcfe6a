"""Commands typed in an interactive shell, reconstructed from keystrokes and echo.

This is an audit aid, not a security boundary (Warpgate says the same of its
own): a user can hide a command from any stream-based detector with aliases,
scripts, ``eval``, variables, a text editor or an uploaded file. Enforcement
is reliable only on exec requests, where the bastion sees the whole command
before the target does. See docs/bastion.md.

Two models run side by side for the line being typed:

* the **keys model** replays the line editor: printable characters insert at
  the cursor; Backspace, Ctrl-U, Ctrl-W, Ctrl-K, Ctrl-A/E/B/F, arrows left and
  right, Home/End and Delete edit; Ctrl-C cancels; bracketed pastes insert as
  typed, and each newline inside a multi-line paste ends a line;
* the **echo model** replays what the shell printed back on the current screen
  line (carriage return, backspace, erase-to-end, cursor moves, insert and
  delete characters), and remembers the prompt that stood there before the
  first keystroke.

The keys model is exact until a key whose effect only the shell knows (history
recall with the up/down arrows, Tab completion, Ctrl-R search). Before the next
edit, and at Enter, the keys model is then re-seeded from the echo model (the
screen line minus the prompt, and the screen cursor), so later edits still
apply even when they arrive in one chunk with the Enter, before their echo.
Each line says whether the echo was needed (``source``), so an officer knows
how far to trust it.

Cost: output is fed to the echo model only from its last newline on and at
most :data:`ECHO_LIMIT` characters, so a 200 MiB ``cat`` costs a scan for the
last newline per chunk, not a terminal emulation of every byte.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

ECHO_LIMIT = 4096
PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"
_CSI = re.compile(r"\x1b\[([0-9;?]*)([ -/]*)([@-~])")
_SS3 = re.compile(r"\x1bO([@-~])")


@dataclass(frozen=True)
class Line:
    """One command line the user entered."""

    text: str
    source: str  # "keys" (exact) or "echo" (reconstructed from what the shell printed)


@dataclass
class _Edit:
    chars: list[str] = field(default_factory=list)
    cursor: int = 0

    def insert(self, text: str) -> None:
        self.chars[self.cursor : self.cursor] = list(text)
        self.cursor += len(text)

    def backspace(self) -> None:
        if self.cursor:
            del self.chars[self.cursor - 1]
            self.cursor -= 1

    def delete(self) -> None:
        if self.cursor < len(self.chars):
            del self.chars[self.cursor]

    def kill_start(self) -> None:
        del self.chars[: self.cursor]
        self.cursor = 0

    def kill_end(self) -> None:
        del self.chars[self.cursor :]

    def kill_word(self) -> None:
        # readline's unix-word-rubout: spaces before the cursor, then the word.
        start = self.cursor
        while start and self.chars[start - 1] == " ":
            start -= 1
        while start and self.chars[start - 1] != " ":
            start -= 1
        del self.chars[start : self.cursor]
        self.cursor = start

    def move(self, delta: int) -> None:
        self.cursor = max(0, min(len(self.chars), self.cursor + delta))

    @property
    def text(self) -> str:
        return "".join(self.chars)


class _Screen:
    """One screen line, as far as a shell's line editor draws it."""

    def __init__(self) -> None:
        self.cells: list[str] = []
        self.cursor = 0
        self.pending = ""

    def reset(self) -> None:
        self.cells, self.cursor = [], 0

    def feed(self, text: str) -> None:
        text = self.pending + text
        self.pending = ""
        cut = max(text.rfind("\n"), -1)
        if cut >= 0:
            self.reset()
            text = text[cut + 1 :]
        if len(text) > ECHO_LIMIT:
            text = text[-ECHO_LIMIT:]
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == "\x1b":
                match = _CSI.match(text, i) or _SS3.match(text, i)
                if match is None:
                    if len(text) - i < 16:  # a sequence cut at the chunk boundary: finish it next time
                        self.pending = text[i:]
                        return
                    i += 1
                    continue
                if match.re is _CSI:
                    self._csi(match.group(1), match.group(3))
                i = match.end()
                continue
            if ch == "\r":
                self.cursor = 0
            elif ch == "\b":
                self.cursor = max(0, self.cursor - 1)
            elif ch == "\x07" or ord(ch) < 0x20:
                pass
            else:
                self._put(ch)
            i += 1

    def _put(self, ch: str) -> None:
        if self.cursor < len(self.cells):
            self.cells[self.cursor] = ch
        else:
            self.cells.extend(" " * (self.cursor - len(self.cells)))
            self.cells.append(ch)
        self.cursor += 1
        if len(self.cells) > ECHO_LIMIT:
            del self.cells[: len(self.cells) - ECHO_LIMIT]
            self.cursor = min(self.cursor, len(self.cells))

    def _csi(self, params: str, final: str) -> None:
        n = int(params) if params.isdigit() else 1
        if final == "K":
            if params in ("", "0"):
                del self.cells[self.cursor :]
            elif params == "2":
                self.cells = []
        elif final == "C":
            self.cursor += n
        elif final == "D":
            self.cursor = max(0, self.cursor - n)
        elif final == "G":
            self.cursor = max(0, n - 1)
        elif final == "P":
            del self.cells[self.cursor : self.cursor + n]
        elif final == "@":
            self.cells[self.cursor : self.cursor] = [" "] * n

    @property
    def text(self) -> str:
        return "".join(self.cells)


class CommandTracker:
    """Feeds on one interactive session's input and output; yields the lines entered."""

    def __init__(self) -> None:
        self._keys = _Edit()
        self._screen = _Screen()
        self._uncertain = False
        self._derived = False
        self._prompt: str | None = None
        self._in_paste = False
        self._pending_input = ""
        self._in_decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._out_decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def output(self, data: bytes) -> None:
        text = self._out_decoder.decode(data)
        if text:
            self._screen.feed(text)

    def input(self, data: bytes) -> list[tuple[bytes, Line | None]]:
        """Split input into pieces to forward; a piece that ends a line carries the line.

        The caller forwards each piece in order; for a piece with a line it may
        instead refuse the line (send Ctrl-U in place of the Enter and tell the
        user), since the Enter is the last byte of that piece.
        """
        text = self._pending_input + self._in_decoder.decode(data)
        self._pending_input = ""
        pieces: list[tuple[bytes, Line | None]] = []
        start = 0
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == "\x1b":
                consumed = self._escape(text, i)
                if consumed == 0:  # cut sequence: keep it for the next chunk
                    self._pending_input = text[i:]
                    text = text[:i]
                    break
                i += consumed
                continue
            i += 1
            if ch in "\r\n":
                if ch == "\n" and i >= 2 and text[i - 2] == "\r":
                    continue  # CR LF is one Enter
                line = self._finish()
                pieces.append((text[start:i].encode("utf-8"), line))
                start = i
                continue
            if self._in_paste:
                self._first_key()
                self._keys.insert(ch)
                continue
            self._key(ch)
        if start < len(text):
            pieces.append((text[start:].encode("utf-8"), None))
        return pieces

    def _first_key(self) -> None:
        if self._prompt is None:
            self._prompt = self._screen.text
        self._sync()

    def _sync(self) -> None:
        """After a key only the shell understood, take the line as the shell echoed it."""
        if not self._uncertain:
            return
        prompt = self._prompt or ""
        echoed = self._screen.text
        offset = len(prompt) if echoed.startswith(prompt) else 0
        self._keys = _Edit(list(echoed[offset:]), max(0, self._screen.cursor - offset))
        self._keys.move(0)
        self._uncertain = False
        self._derived = True

    def _key(self, ch: str) -> None:
        self._first_key()
        edit = self._keys
        if ch in ("\x7f", "\x08"):
            edit.backspace()
        elif ch == "\x15":
            edit.kill_start()
        elif ch == "\x17":
            edit.kill_word()
        elif ch == "\x0b":
            edit.kill_end()
        elif ch == "\x01":
            edit.move(-len(edit.chars))
        elif ch == "\x05":
            edit.move(len(edit.chars))
        elif ch == "\x02":
            edit.move(-1)
        elif ch == "\x06":
            edit.move(1)
        elif ch == "\x03":
            self._reset()
        elif ch in ("\t", "\x12", "\x10", "\x0e"):  # completion, reverse search, history: only the shell knows
            self._uncertain = True
        elif ord(ch) >= 0x20:
            edit.insert(ch)

    def _escape(self, text: str, i: int) -> int:
        for marker, state in ((PASTE_START, True), (PASTE_END, False)):
            if text.startswith(marker, i):
                self._in_paste = state
                return len(marker)
        if len(text) - i < len(PASTE_START) and PASTE_START.startswith(text[i:]):
            return 0
        match = _CSI.match(text, i) or _SS3.match(text, i)
        if match is None:
            if i + 1 >= len(text):
                return 0
            self._uncertain = True  # Alt-key bindings (Alt-B, Alt-.): shell-defined
            return 2
        final = match.group(match.lastindex or 1)
        params = match.group(1) if match.re is _CSI else ""
        self._first_key()
        if final == "D":
            self._keys.move(-1)
        elif final == "C":
            self._keys.move(1)
        elif final == "H" or (final == "~" and params in ("1", "7")):
            self._keys.move(-len(self._keys.chars))
        elif final == "F" or (final == "~" and params in ("4", "8")):
            self._keys.move(len(self._keys.chars))
        elif final == "~" and params == "3":
            self._keys.delete()
        else:
            self._uncertain = True  # up/down history recall, function keys
        return match.end() - i

    def _finish(self) -> Line | None:
        self._sync()
        line = Line(self._keys.text.strip(), "echo" if self._derived else "keys")
        self._reset()
        return line if line.text else None

    def _reset(self) -> None:
        self._keys = _Edit()
        self._uncertain = False
        self._derived = False
        self._prompt = None
