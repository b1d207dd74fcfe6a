"""Rendering helpers shared by every group: JSON, rich consoles, tables, progress.

Data is shown exactly as stored. Every value that comes from data (events,
inventory, configuration, file names, SNMP strings, error messages quoting
them) goes through :func:`visible` / :func:`safe`: rich never interprets it as
markup or emoji (``[/tmp]``, ``tags[idx]`` and ``:ab:`` stay literal), and
control characters that could drive the terminal (ESC sequences, BEL, CR,
backspace, C1 codes, DEL, bidirectional overrides) are written as Python-style
escapes (``\\x1b``, ``\\r``, ``\\u202e``). ``--json`` carries the exact values.

Tables fit the terminal (:func:`table`): columns that must never be broken
(timestamps, addresses, ids) keep their full width and are hidden whole rather
than cut when the terminal is too narrow; free text is cut with an ellipsis.
``--wide`` shows every column with full values, wrapped.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import click
from rich import box
from rich.cells import cell_len
from rich.console import Console, JustifyMethod
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from netguard.secrets import Secret, SecretRef

F = TypeVar("F", bound=Callable[..., Any])


def json_option(func: F) -> F:
    """The ``--json`` flag, the same on every command that lists or reports."""
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of tables.")(func)


def wide_option(func: F) -> F:
    """The ``--wide`` flag of every command that prints a table."""
    return click.option(
        "--wide", is_flag=True, help="Show every column with full values (wrapped) instead of fitting the terminal."
    )(func)


# C0 controls, DEL, C1 controls, and the invisible characters that reorder or split lines
# (bidi embeddings/overrides/isolates, line and paragraph separators).
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(value: object) -> str:
    """``value`` as text with every control character written as a Python-style escape."""
    return _INVISIBLE.sub(_escape, "" if value is None else str(value))


def safe(value: object, style: str = "") -> Text:
    """Data as a rich ``Text``: never markup, never emoji, control characters visible."""
    return Text(visible(value), style=style)


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 error``, ``2 errors``, ``0 errors`` (``nouns`` for irregular plurals)."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def echo(message: object, err: bool = False) -> None:
    """One line that may quote data, with control characters visible (instead of click.echo)."""
    click.echo(visible(message), err=err)


def say(message: object) -> None:
    """A line of data for people (a heading above tables): like :func:`echo`, and wrapped at
    the terminal's width."""
    console().print(safe(message), soft_wrap=False)


def _default(obj: Any) -> Any:
    if isinstance(obj, Secret | SecretRef):
        return str(obj)  # redacted / the reference, never the value
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if not f.name.startswith("_")}
    if isinstance(obj, dt.datetime | dt.date):
        return obj.isoformat()
    if isinstance(
        obj, Path | ipaddress.IPv4Address | ipaddress.IPv6Address | ipaddress.IPv4Network | ipaddress.IPv6Network
    ):
        return str(obj)
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    return str(obj)


# json escapes C0 controls itself; these it leaves raw with ensure_ascii=False.
_JSON_RAW = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def json_safe(text: str) -> str:
    """JSON text with DEL, C1 and bidi controls as ``\\uXXXX`` escapes: the same JSON value,
    but nothing that a terminal would act on."""
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def dumps(data: Any) -> str:
    return json_safe(json.dumps(data, ensure_ascii=False, indent=2, default=_default))


def print_json(data: Any) -> None:
    click.echo(dumps(data))


class _DataConsole(Console):
    """A console on which a plain string is never markup, never emoji, and shows its control
    characters (newlines excepted, for messages of several lines): the net under every
    string any command prints or puts in a table, whether or not it went through safe()."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        lines = text.split("\n")
        return super().render_str("\n".join(visible(line) for line in lines), **kwargs)


def console(stderr: bool = False, width: int | None = None) -> Console:
    """A console that uses colour only on a terminal and honours NO_COLOR; ``width``
    overrides the terminal's."""
    stream = sys.stderr if stderr else sys.stdout
    is_tty = stream.isatty()
    # COLUMNS, when set, wins (rich reads it); a pipe without it gets a wide page.
    sized = is_tty or os.environ.get("COLUMNS", "").isdigit()
    return _DataConsole(
        file=stream,
        no_color=bool(os.environ.get("NO_COLOR")) or not is_tty,
        highlight=False,
        markup=False,  # strings printed are data unless they are a styled Text
        emoji=False,
        soft_wrap=not is_tty,
        width=width or (None if sized else 200),
    )


@dataclasses.dataclass(frozen=True)
class Column:
    """A table column. ``keep``: never cut (timestamps, addresses, ids), hidden whole if it
    cannot fit. ``priority``: columns with the lowest priority are hidden first."""

    header: str
    keep: bool = False
    priority: int = 0
    justify: JustifyMethod = "left"
    min_width: int = 8  # narrowest a cut column may get


_GAP = 2  # SIMPLE_HEAD, no edges, collapsed padding: two spaces between columns


def table(title: str, columns: list[Column], rows: list[list[object]], *, width: int, wide: bool = False) -> Table:
    """A table of data cells (all shown literally) that fits ``width`` unless ``wide``.

    Natural width of a column = its widest cell. Kept columns get their natural width
    and never wrap; the others share what is left, cut with an ellipsis. While even
    the narrowest layout does not fit, the lowest-priority column is hidden, and the
    title says which and that --wide shows them. Columns empty in every row are left out. ``wide``: every column, kept ones
    whole, the others wrapped (print it at least :func:`wide_width` wide).
    """
    cells = [[visible(c) for c in row] for row in rows]
    natural = _natural(columns, cells)
    # A column no row has a value in (who, for device sightings) only takes room.
    shown = [i for i in range(len(columns)) if not cells or any(row[i] for row in cells)] or [0]
    hidden: list[str] = []
    if not wide:
        while len(shown) > 1 and _narrowest(columns, natural, shown) > width:
            victim = min(shown[1:], key=lambda i: (columns[i].priority, -i))
            shown.remove(victim)
            hidden.append(columns[victim].header)
    caption = f"{title} (not shown at this width: {', '.join(hidden)}; --wide shows them)" if hidden else title
    out = Table(
        title=safe(caption),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    free = [i for i in shown if not columns[i].keep]
    spare = width - sum(natural[i] for i in shown if columns[i].keep) - _GAP * (len(shown) - 1)
    widths = _share(spare, [natural[i] for i in free], [columns[i].min_width for i in free])
    for i in shown:
        col = columns[i]
        if col.keep:
            out.add_column(safe(col.header), no_wrap=True, min_width=natural[i], justify=col.justify)
        else:  # cut to one line, or (--wide) wrapped at that width
            out.add_column(
                safe(col.header),
                no_wrap=not wide,
                overflow="fold" if wide else "ellipsis",
                width=widths[free.index(i)],
                justify=col.justify,
            )
    for row in cells:
        out.add_row(*(Text(row[i]) for i in shown))
    return out


def wide_width(columns: list[Column], rows: list[list[object]]) -> int:
    """The narrowest width that shows every column of a --wide table without breaking a kept one."""
    natural = _natural(columns, [[visible(c) for c in row] for row in rows])
    return _narrowest(columns, natural, list(range(len(columns))))


def _natural(columns: list[Column], cells: list[list[str]]) -> list[int]:
    return [max([cell_len(col.header)] + [cell_len(r[i]) for r in cells]) for i, col in enumerate(columns)]


def _narrowest(columns: list[Column], natural: list[int], shown: list[int]) -> int:
    need = sum(natural[i] if columns[i].keep else min(natural[i], columns[i].min_width) for i in shown)
    return need + _GAP * (len(shown) - 1)


def print_table(title: str, columns: list[Column], rows: list[list[object]], *, wide: bool = False) -> None:
    """Render :func:`table` on stdout: fitted to the console, or --wide (never narrower than
    its kept columns need, even if that is wider than the terminal)."""
    out = console()
    if wide and wide_width(columns, rows) > out.width:
        out = console(width=wide_width(columns, rows))
    out.print(table(title, columns, rows, width=out.width, wide=wide), soft_wrap=False)


def _share(spare: int, wants: list[int], least: list[int]) -> list[int]:
    """Split ``spare`` characters among columns wanting ``wants``: each first gets its least
    (or less, if it wants less), then what is left goes in equal shares, small wants met
    in full first."""
    widths = [min(w, low) for w, low in zip(wants, least, strict=True)]
    spare -= sum(widths)
    order = sorted(range(len(wants)), key=lambda i: wants[i] - widths[i])
    for n, i in enumerate(order):
        extra = max(0, min(wants[i] - widths[i], spare // (len(order) - n)))
        widths[i] += extra
        spare -= extra
    return [max(1, w) for w in widths]


@contextmanager
def progress(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr for long work; silent when stderr is not a terminal."""
    err = console(stderr=True)
    if not err.is_terminal:
        yield lambda n: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


@contextmanager
def status(message: str) -> Iterator[None]:
    """A spinner on stderr while waiting on a store; nothing when stderr is not a terminal."""
    err = console(stderr=True)
    if not err.is_terminal:
        yield
        return
    with err.status(message):
        yield
