"""Installing, inspecting and removing the daily scan schedule.

Every path is taken under ``root`` (``/`` on a real machine; a temporary
directory in tests, a staging directory when packaging). Install renders the
files (:func:`netguard.schedule.render.plan`), compares each with what is on
disk (content and mode) and writes only those that differ, each atomically
(a temporary file in the same directory, then rename), so a second install
with the same options writes nothing. The manifest records the options and
the files; a reinstall with other options says which changed, and a switch
of kind (systemd ↔ cron) deletes the files of the old kind. Remove deletes
exactly the files the manifest lists (only ever the schedule's known paths,
whatever the manifest says) and keeps the reports: they are the county's
evidence.

systemctl is called only on a live system (``manage``): after a change,
``daemon-reload``, ``enable`` and ``restart`` of the timer (restart so a new
time applies now); before removal, ``disable --now``.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from netguard.schedule.render import (
    CRON,
    KINDS,
    LAST_RUN,
    MANIFEST,
    REPORT_RE,
    SERVICE,
    TIMER,
    TIMER_UNIT,
    WRAPPER,
    Kind,
    ScheduleError,
    ScheduleSpec,
    plan,
)

Runner = Callable[[Sequence[str]], None]
SYSTEMD_MARKER = PurePosixPath("/run/systemd/system")
_KNOWN_FILES = {WRAPPER, SERVICE, TIMER, CRON}


def run_command(argv: Sequence[str]) -> None:
    """Run a system command (systemctl); its failure is a :class:`ScheduleError` with its stderr."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ScheduleError(f"{' '.join(argv)}: {exc}") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise ScheduleError(f"{' '.join(argv)} failed (exit {done.returncode}): {detail[0] if detail else ''}")


def under(root: Path, path: PurePosixPath) -> Path:
    """``path`` (absolute) inside ``root``."""
    return root / path.relative_to("/")


def detect_kind(root: Path = Path("/")) -> Kind:
    """systemd when it is the running init (the check sd_booted(3) makes), else cron."""
    return "systemd" if under(root, SYSTEMD_MARKER).is_dir() else "cron"


@dataclass(frozen=True)
class InstallOutcome:
    written: tuple[Path, ...]
    unchanged: tuple[Path, ...]
    removed: tuple[Path, ...]
    changes: tuple[str, ...]  # "at: 02:00 -> 03:30"; empty on a first install
    first: bool
    reports: Path
    commands: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed)


@dataclass(frozen=True)
class Installed:
    options: dict[str, Any]
    files: tuple[PurePosixPath, ...]


@dataclass(frozen=True)
class LastRun:
    stamp: str
    started: str
    finished: str
    exit_code: int


@dataclass(frozen=True)
class ScheduleStatus:
    installed: bool
    options: dict[str, Any] = field(default_factory=dict)
    files: tuple[tuple[Path, bool], ...] = ()  # (path, exists)
    reports: tuple[Path, ...] = ()  # newest first
    last_run: LastRun | None = None
    problems: tuple[str, ...] = ()


def read_manifest(root: Path) -> Installed | None:
    """What install recorded, or None when nothing is installed."""
    path = under(root, MANIFEST)
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        options = body["options"]
        files = tuple(PurePosixPath(f) for f in body["files"])
        if not isinstance(options, dict) or options.get("kind") not in KINDS:
            raise ValueError("no valid options")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _os_error(exc) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ScheduleError(f"{path}: not a schedule manifest ({type(exc).__name__}); fix or delete it") from None
    return Installed(options=options, files=files)


def _same(path: Path, content: str, mode: int) -> bool:
    try:
        return path.read_text(encoding="utf-8") == content and (path.stat().st_mode & 0o7777) == mode
    except (OSError, UnicodeDecodeError):
        return False


def _write(path: Path, content: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(content)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[str, ...]:
    return tuple(f"{k}: {before.get(k)} -> {v}" for k, v in after.items() if before.get(k) != v)


def _os_error(exc: OSError) -> ScheduleError:
    where = f"{exc.filename}: " if exc.filename else ""
    return ScheduleError(f"{where}{exc.strerror or type(exc).__name__} (install and remove need root, or --root DIR)")


def install(spec: ScheduleSpec, root: Path = Path("/"), *, manage: bool, run: Runner = run_command) -> InstallOutcome:
    """Write the schedule under ``root``; see the module docstring."""
    try:
        return _install(spec, root, manage, run)
    except OSError as exc:
        raise _os_error(exc) from None


def _install(spec: ScheduleSpec, root: Path, manage: bool, run: Runner) -> InstallOutcome:
    previous = read_manifest(root)
    files = plan(spec)
    wanted = {f.path for f in files}
    commands: list[str] = []

    def systemctl(*args: str) -> None:
        argv = ["systemctl", *args]
        run(argv)
        commands.append(" ".join(argv))

    stale = [p for p in (previous.files if previous else ()) if p in _KNOWN_FILES and p not in wanted]
    if manage and previous is not None and previous.options.get("kind") == "systemd" and spec.kind != "systemd":
        systemctl("disable", "--now", TIMER_UNIT)
    removed = []
    for p in stale:
        target = under(root, p)
        if target.exists():
            target.unlink()
            removed.append(target)
    written, unchanged = [], []
    for f in files:
        target = under(root, f.path)
        if _same(target, f.content, f.mode):
            unchanged.append(target)
        else:
            _write(target, f.content, f.mode)
            written.append(target)
    reports = under(root, spec.reports)
    reports.mkdir(parents=True, exist_ok=True)
    if reports.stat().st_mode & 0o7777 != 0o750:
        reports.chmod(0o750)
    if manage and spec.kind == "systemd" and (written or removed):
        systemctl("daemon-reload")
        systemctl("enable", TIMER_UNIT)
        systemctl("restart", TIMER_UNIT)
    elif manage and removed:
        systemctl("daemon-reload")
    return InstallOutcome(
        written=tuple(written),
        unchanged=tuple(unchanged),
        removed=tuple(removed),
        changes=_changes(previous.options, spec.options()) if previous else (),
        first=previous is None,
        reports=reports,
        commands=tuple(commands),
    )


def remove(root: Path = Path("/"), *, manage: bool, run: Runner = run_command) -> tuple[Path, ...]:
    """Delete what install wrote (the reports stay); empty when nothing was installed."""
    try:
        return _remove(root, manage, run)
    except OSError as exc:
        raise _os_error(exc) from None


def _remove(root: Path, manage: bool, run: Runner) -> tuple[Path, ...]:
    installed = read_manifest(root)
    if installed is None:
        return ()
    if manage and installed.options.get("kind") == "systemd":
        run(["systemctl", "disable", "--now", TIMER_UNIT])
    removed = []
    for p in [*installed.files, MANIFEST]:
        target = under(root, p)
        if (p in _KNOWN_FILES or p == MANIFEST) and target.exists():
            target.unlink()
            removed.append(target)
    if manage and installed.options.get("kind") == "systemd":
        run(["systemctl", "daemon-reload"])
    return tuple(removed)


def _last_run(path: Path) -> tuple[LastRun | None, str | None]:
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        return LastRun(
            stamp=str(body["stamp"]),
            started=str(body["started"]),
            finished=str(body["finished"]),
            exit_code=int(body["exit_code"]),
        ), None
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"{path}: unreadable ({type(exc).__name__})"


def status(root: Path = Path("/")) -> ScheduleStatus:
    """What is installed, its files, the reports kept and the last run."""
    installed = read_manifest(root)
    if installed is None:
        return ScheduleStatus(installed=False)
    files = tuple((under(root, p), under(root, p).exists()) for p in installed.files)
    problems = [f"{path}: missing" for path, exists in files if not exists]
    reports_dir = under(root, PurePosixPath(str(installed.options.get("reports", "/nonexistent"))))
    try:
        names = [n for n in os.listdir(reports_dir) if (m := REPORT_RE.match(n)) and m.group(2) == "html"]
    except OSError as exc:
        names = []
        problems.append(f"{reports_dir}: {exc.strerror}")
    last_run, problem = _last_run(reports_dir / LAST_RUN)
    if problem:
        problems.append(problem)
    return ScheduleStatus(
        installed=True,
        options=installed.options,
        files=files,
        reports=tuple(reports_dir / n for n in sorted(names, reverse=True)),
        last_run=last_run,
        problems=tuple(problems),
    )
