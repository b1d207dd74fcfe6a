"""A click group whose subcommands are imported only when one is used.

The groups under ``commands/`` import what they work with (SNMP, SSH, SQL parsing,
packet crafting, Elasticsearch, rich), and importing all of them took most of a
second on an idle core before ``netguard --version`` could answer. Following
click's "lazily loading subcommands" pattern, the group holds a map from a command's
name to ``"module:attribute"``: ``list_commands`` answers from the map, and
``get_command`` imports the module of the one command asked for. ``--help`` lists
the commands with a short help kept beside the map, so listing them imports none;
a test holds that text equal to each command's own short help.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import click


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives (``"commands.events:events"``) and its one-line help for listings."""

    target: str
    short_help: str

    def load(self) -> click.Command:
        module_name, _, attribute = self.target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.target} is a {type(command).__name__}, not a click command")
        return command

    def get_short_help_str(self, limit: int = 45) -> str:
        """The short help, whole: as click shows a command's own ``short_help`` (never cut to
        ``limit``; the listing wraps it on a narrow terminal)."""
        return self.short_help


class LazyGroup(click.Group):
    """A group with commands added as usual plus commands named in ``lazy``, imported on use."""

    def __init__(self, *args: Any, lazy: Mapping[str, LazyCommand] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: Mapping[str, LazyCommand] = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        return self.lazy[cmd_name].load()

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's own listing, with the lazy commands' short help taken from the map: listing imports none."""
        shown: list[tuple[str, click.Command | LazyCommand]] = []
        for name in self.list_commands(ctx):
            if name in self.commands or name not in self.lazy:
                command = super().get_command(ctx, name)
                if command is not None and not command.hidden:
                    shown.append((name, command))
            else:
                shown.append((name, self.lazy[name]))
        if shown:
            limit = formatter.width - 6 - max(len(name) for name, _ in shown)
            with formatter.section("Commands"):
                formatter.write_dl([(name, command.get_short_help_str(limit)) for name, command in shown])
