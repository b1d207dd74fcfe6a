"""``netguard schedule install|status|remove``: the daily compliance scan as a systemd timer or a cron entry.

The rendering and the file handling are :mod:`netguard.schedule`; this module
picks the defaults (the configuration in use, the ``netguard`` executable
that is running, systemd when it is the running init) and prints every path
it wrote or removed.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import click

from commands.context import AppContext, pass_app
from commands.output import echo, json_option, print_json
from netguard.config import find_config
from netguard.schedule import (
    ScheduleError,
    ScheduleStatus,
    detect_kind,
    install,
    make_spec,
    remove,
    status,
)
from netguard.schedule.render import Kind

DEFAULT_REPORTS = "/var/lib/netguard/reports"
_root_option = click.option(
    "--root",
    type=click.Path(file_okay=False),
    help="Write under this directory instead of / (packaging, tests); systemctl is not called.",
)


def _netguard_executable() -> str:
    argv0 = Path(sys.argv[0])
    if argv0.name == "netguard" and argv0.is_file():
        return str(argv0.absolute())
    # Run as `python cli.py` or `python -m ...`: the console script beside this interpreter.
    beside = Path(sys.executable).parent / "netguard"
    found = str(beside) if beside.is_file() else shutil.which("netguard")
    if found is None:
        raise ScheduleError("cannot find the netguard executable: pass --netguard PATH")
    return str(Path(found).absolute())


def _config_file(app: AppContext, explicit: str | None, root: str | None) -> str:
    if explicit:
        path = Path(explicit).absolute()
    else:
        found = find_config(app.config_path)
        if found is None:
            raise ScheduleError("no netguard.yaml in use: pass --config FILE (the configuration the daily scan uses)")
        path = found.absolute()
    if root is None and not path.is_file():
        raise ScheduleError(f"--config {path}: no such file")
    return str(path)


@click.group()
def schedule() -> None:
    """The daily compliance scan, as a systemd timer or a cron entry."""


@schedule.command("install")
@click.option("--at", "at", default="02:30", show_default=True, help="Time of day (HH:MM, local time).")
@click.option(
    "--reports", default=DEFAULT_REPORTS, show_default=True, help="Directory for the dated reports (made 0750)."
)
@click.option("--keep", default=30, show_default=True, type=int, help="How many reports to keep.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="netguard.yaml for the scan.")
@click.option("--systemd", "kind", flag_value="systemd", help="A systemd timer (default when systemd runs).")
@click.option("--cron", "kind", flag_value="cron", help="A line in /etc/cron.d (default without systemd).")
@click.option("--netguard", "netguard_exe", type=click.Path(dir_okay=False), help="netguard executable to run.")
@_root_option
@pass_app
def install_cmd(
    app: AppContext,
    at: str,
    reports: str,
    keep: int,
    config_file: str | None,
    kind: Kind | None,
    netguard_exe: str | None,
    root: str | None,
) -> None:
    """Install or update the daily scan (idempotent).

    The same options again change nothing; other options rewrite what differs.

    \b
    Examples:
      netguard schedule install --at 02:30
      netguard schedule install --cron --keep 90 --reports /srv/netguard/reports
    """
    root_dir = Path(root) if root else Path("/")
    spec = make_spec(
        at=at,
        reports=str(Path(reports).absolute()),
        keep=keep,
        config=_config_file(app, config_file, root),
        netguard=str(Path(netguard_exe).absolute()) if netguard_exe else _netguard_executable(),
        kind=kind or detect_kind(root_dir),
    )
    outcome = install(spec, root_dir, manage=root is None)
    if not outcome.changed:
        echo(f"schedule unchanged: {spec.kind}, daily at {spec.at}")
    elif outcome.first:
        echo(f"schedule installed: {spec.kind}, daily at {spec.at}, keeping {spec.keep} reports")
    else:
        echo(f"schedule updated: {spec.kind}, daily at {spec.at}")
        for change in outcome.changes:
            echo(f"  changed {change}")
    for path in outcome.written:
        echo(f"wrote {path}")
    for path in outcome.unchanged:
        echo(f"unchanged {path}")
    for path in outcome.removed:
        echo(f"removed {path}")
    for command in outcome.commands:
        echo(f"ran {command}")
    echo(f"reports: {outcome.reports}")


@schedule.command("status")
@_root_option
@json_option
def status_cmd(root: str | None, as_json: bool) -> None:
    """Whether the daily scan is installed, and its last report."""
    st = status(Path(root) if root else Path("/"))
    if as_json:
        print_json(_as_json(st))
        return
    if not st.installed:
        echo("schedule: not installed (netguard schedule install)")
        return
    o = st.options
    echo(f"schedule: {o.get('kind')}, daily at {o.get('at')}, keeping {o.get('keep')} reports in {o.get('reports')}")
    echo(f"config: {o.get('config')}")
    for path, exists in st.files:
        echo(f"  {path}{'' if exists else ' (missing)'}")
    if st.last_run is None:
        echo("last run: none yet")
    else:
        r = st.last_run
        echo(f"last run: {r.started} .. {r.finished}, exit code {r.exit_code}")
    echo(f"last report: {st.reports[0] if st.reports else 'none'} ({len(st.reports)} kept)")
    for problem in st.problems:
        echo(f"warning: {problem}", err=True)


def _as_json(st: ScheduleStatus) -> dict[str, Any]:
    last = st.last_run
    return {
        "installed": st.installed,
        **st.options,
        "files": [{"path": str(p), "exists": e} for p, e in st.files],
        "last_report": str(st.reports[0]) if st.reports else None,
        "reports_kept": len(st.reports),
        "last_run": None
        if last is None
        else {"stamp": last.stamp, "started": last.started, "finished": last.finished, "exit_code": last.exit_code},
        "problems": list(st.problems),
    }


@schedule.command("remove")
@_root_option
def remove_cmd(root: str | None) -> None:
    """Remove exactly what install wrote (the reports are kept)."""
    removed = remove(Path(root) if root else Path("/"), manage=root is None)
    if not removed:
        echo("schedule: nothing to remove")
    for path in removed:
        echo(f"removed {path}")
