"""Rendering helpers shared by every group: JSON, rich consoles, progress."""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from netguard.secrets import Secret, SecretRef

F = TypeVar("F", bound=Callable[..., Any])


def json_option(func: F) -> F:
    """The ``--json`` flag, the same on every command that lists or reports."""
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of tables.")(func)


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


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=_default)


def print_json(data: Any) -> None:
    click.echo(dumps(data))


def console(stderr: bool = False) -> Console:
    """A console that uses colour only on a terminal and honours NO_COLOR."""
    stream = sys.stderr if stderr else sys.stdout
    is_tty = stream.isatty()
    return Console(
        file=stream,
        no_color=bool(os.environ.get("NO_COLOR")) or not is_tty,
        highlight=False,
        soft_wrap=not is_tty,
        width=None if is_tty else 200,
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
