"""The ``netguard`` command: parse, call the library, render. No logic.

Exit codes: 0 ok, 1 findings or failed checks, 2 usage or configuration error,
3 an internal error (a bug: run with --debug and report the traceback).
"""

from __future__ import annotations

import sys
from typing import Any

import click

import commands.lab_net  # noqa: F401 - registers lab up/status/down on the lab group
from commands.audit import audit
from commands.bastion import bastion
from commands.config import config_group
from commands.context import AppContext
from commands.discover import discover
from commands.events import events
from commands.evict import evict
from commands.inventory import inventory
from commands.lab import lab
from commands.links import links
from commands.output import visible
from commands.scan import scan
from commands.schedule import schedule
from netguard import __version__
from netguard.errors import EXIT_USAGE, NetGuardError

EXIT_INTERNAL = 3


class NetGuardGroup(click.Group):
    """Turns user errors into one line and an exit code; --debug shows the traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NetGuardError as exc:
            if _debug(ctx):
                raise
            click.echo(_shown(f"error: {exc}"), err=True)
            ctx.exit(exc.exit_code)
        except click.ClickException as exc:
            # It may quote an argument pasted from data. (message is Final for typing only.)
            setattr(exc, "message", _shown(exc.message))  # noqa: B010
            raise
        except (click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            if _debug(ctx):
                raise
            # Not the exception's text: it may quote a configuration value (a URL with a password).
            click.echo(_shown(f"internal error: {type(exc).__name__} (run with --debug for the traceback)"), err=True)
            ctx.exit(EXIT_INTERNAL)


def _shown(message: str) -> str:
    """An error message may quote data (a query, a file name, a value): its control
    characters are made visible; its own line breaks (a caret under a query) are kept."""
    return "\n".join(visible(line) for line in message.split("\n"))


def _debug(ctx: click.Context) -> bool:
    obj = ctx.find_object(AppContext)
    return bool(obj and obj.debug)


@click.group(cls=NetGuardGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="NETGUARD_CONFIG",
    help="netguard.yaml to use (default: NETGUARD_CONFIG, ./netguard.yaml, ~/.config/netguard/, /etc/netguard/).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(__version__, prog_name="netguard")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, debug: bool) -> None:
    """NetGuard: security and network governance for a county health intranet.

    Terminal discovery and eviction, an SSH bastion, database audit, link
    checks, and compliance scans mapped to 等保2.0 (GB/T 22239-2019).
    """
    ctx.obj = AppContext(config_path=config_path, debug=debug)


main.add_command(config_group)
main.add_command(inventory)
main.add_command(lab)
main.add_command(events)
main.add_command(links)
main.add_command(bastion)
main.add_command(audit)
main.add_command(discover)
main.add_command(scan)
main.add_command(evict)
main.add_command(schedule)


if __name__ == "__main__":
    sys.exit(main(standalone_mode=True) or EXIT_USAGE)
