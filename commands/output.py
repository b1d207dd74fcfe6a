"""Rendering helpers shared by every group: safe text, JSON, rich consoles, progress.

Data is shown exactly as stored. Every value that comes from data (events,
inventory, configuration, file names, SNMP strings, error messages quoting
them) goes through :func:`visible` / :func:`safe`: rich never interprets it as
markup or emoji (``[/tmp]``, ``tags[idx]`` and ``:ab:`` stay literal), and
control characters that could drive the terminal (ESC sequences, BEL, CR,
backspace, C1 codes, DEL, bidirectional overrides) are written as Python-style
escapes (``\\x1b``, ``\\r``, ``\\u202e``). ``--json`` carries the exact values.

Tables are :mod:`commands.tables`.
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
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from netguard.printable import visible
from netguard.secrets import Secret, SecretRef

__all__ = ["visible"]  # re-exported: the views import it from here; the rest is public by name

F = TypeVar("F", bound=Callable[..., Any])


def json_option(func: F) -> F:
    """The ``--json`` flag, the same on every command that lists or reports."""
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of tables.")(func)


# C0 controls, DEL, C1 controls, and the invisible characters that reorder or split lines
# (bidi marks, embeddings, overrides and isolates, line and paragraph separators, zero-width
# spaces and joiners, the byte-order mark).
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
