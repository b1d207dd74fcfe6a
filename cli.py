"""The ``netguard`` command: parse, call the library, render. No logic.

Exit codes: 0 ok, 1 findings or failed checks, 2 usage or configuration error,
3 an internal error (a bug: run with --debug and report the traceback).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from commands.config import config_group
from commands.context import AppContext
from commands.discover import discover
from commands.events import events
from commands.inventory import inventory
from commands.lab import lab
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
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            if _debug(ctx):
                raise
            click.echo(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", err=True)
            ctx.exit(EXIT_INTERNAL)


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
    """NetGuard: discovery and eviction, SSH bastion, database audit, links and 等保2.0 compliance."""
    ctx.obj = AppContext(config_path=config_path, debug=debug)


main.add_command(config_group)
main.add_command(inventory)
main.add_command(lab)
main.add_command(events)
main.add_command(discover)


if __name__ == "__main__":
    sys.exit(main(standalone_mode=True) or EXIT_USAGE)
