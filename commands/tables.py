"""Tables of data that fit the terminal, or (--wide) show everything.

Every cell is data, shown literally (:func:`commands.output.visible`). The natural
width of a column is its widest cell. Columns that must never be broken (timestamps,
addresses, ids: ``keep``) get their natural width and never wrap; the others share what
is left and are cut with an ellipsis, each at least its ``min_width``. While even that
narrowest layout does not fit, the lowest-priority column is hidden whole, and the
title says which and that ``--wide`` shows them. ``--wide`` keeps every column, wraps
the free ones, and is never narrower than the kept columns need (even if that is wider
than the terminal). Columns empty in every row are left out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich import box
from rich.cells import cell_len
from rich.console import JustifyMethod
from rich.table import Table
from rich.text import Text

from commands.output import console, safe, visible

F = TypeVar("F", bound=Callable[..., Any])


def wide_option(func: F) -> F:
    """The ``--wide`` flag of every command that prints a table."""
    return click.option(
        "--wide", is_flag=True, help="Show every column with full values (wrapped) instead of fitting the terminal."
    )(func)


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
    """A table of data cells that fits ``width``, or (``wide``) shows every column; print
    a wide one at least :func:`wide_width` wide."""
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
