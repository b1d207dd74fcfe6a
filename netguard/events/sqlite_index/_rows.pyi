"""The C accelerator of the SQLite store's index rows (``_rows.c``); see its docstrings."""

from typing import Any

def group(
    fields: list[Any], /
) -> tuple[list[tuple[tuple[str, ...], list[int], tuple[tuple[Any, ...], ...]]], bool] | None: ...
def texts(
    prefix: str,
    caches: tuple[dict[Any, str], ...],
    columns: tuple[tuple[Any, ...], ...],
    symbols: list[str],
    out: list[str],
    at: list[int] | None,
    /,
) -> None: ...
def bodies(columns: tuple[tuple[Any, ...], ...], out: list[str], at: list[int] | None, /) -> bool: ...
