"""The ``netguard`` command: parse, call the library, render. No logic.

Exit codes: 0 ok, 1 findings or failed checks, 2 usage or configuration error,
3 an internal error (a bug: run with --debug and report the traceback).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from commands.context import AppContext
from commands.lazy import LazyCommand, LazyGroup
from netguard import __version__
from netguard.errors import EXIT_USAGE, NetGuardError
from netguard.printable import visible

EXIT_INTERNAL = 3

# Each group is imported only when it is run or its own help is asked for (commands/lazy.py):
# importing them all cost most of a second before even --version could answer. The short help
# is what `netguard --help` lists; tests/commands/test_lazy_groups.py holds it equal to each
# group's own.
GROUPS: dict[str, LazyCommand] = {
    "audit": LazyCommand("commands.audit:audit", "Database query auditing: who ran which SQL, from where."),
    "bastion": LazyCommand("commands.bastion:bastion", "The SSH bastion: every admin session recorded."),
    "config": LazyCommand("commands.config:config_group", "Show the configuration in force and check that it works."),
    "discover": LazyCommand("commands.discover:discover", "Find devices on the network."),
    "events": LazyCommand("commands.events:events", "Search, export and import the audit trail."),
    "evict": LazyCommand("commands.evict:evict", "Isolate unauthorised devices at a port or by ARP; restore."),
    "inventory": LazyCommand("commands.inventory:inventory", "The county inventory: institutions and their assets."),
    # commands.lab_net adds up/status/down to commands.lab's group: importing it loads both.
    "lab": LazyCommand("commands.lab_net:lab", "A simulated county to try NetGuard on."),
    "links": LazyCommand("commands.links:links", "Check every institution's link to the county data centre."),
    "scan": LazyCommand("commands.scan:scan", "Run a compliance scan of the county (等保2.0 controls)."),
    "schedule": LazyCommand(
        "commands.schedule:schedule", "The daily compliance scan, as a systemd timer or a cron entry."
    ),
}


class NetGuardGroup(LazyGroup):
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
    if obj is None:  # a group that failed to import did so before main() made the AppContext
        return bool(ctx.params.get("debug"))
    return obj.debug


@click.group(cls=NetGuardGroup, lazy=GROUPS, context_settings={"help_option_names": ["-h", "--help"]})
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


if __name__ == "__main__":
    sys.exit(main(standalone_mode=True) or EXIT_USAGE)
