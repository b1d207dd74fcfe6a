"""The files a daily scan schedule consists of, rendered as text.

A schedule is a :class:`ScheduleSpec` (when, where the reports go, how many
to keep, which netguard.yaml, which ``netguard`` executable) and a kind:
``systemd`` (a oneshot service and a daily timer) or ``cron`` (one
``/etc/cron.d`` line). Both run the same wrapper script, which does what
neither scheduler can: it names the report by the time it starts
(``scan-YYYYmmdd-HHMMSS.html`` beside the ``--json`` output and, when
non-empty, stderr), keeps the newest ``keep`` reports (by that stamp, so a
report's mtime does not matter), and records the scan's exit code in
``last-run.json``. The wrapper exits with the scan's code.

Exit 1 (a control failed) is a finding, not a broken job: the service counts
it as success (``SuccessExitStatus=1``), so ``systemctl --failed`` shows only
scans that could not run (exit 2 or 3).

Rendering is pure: :func:`plan` returns every file with its content and mode;
:mod:`netguard.schedule.install` writes them.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from netguard.errors import NetGuardError

Kind = Literal["systemd", "cron"]
KINDS: tuple[Kind, ...] = ("systemd", "cron")

SERVICE = PurePosixPath("/etc/systemd/system/netguard-scan.service")
TIMER = PurePosixPath("/etc/systemd/system/netguard-scan.timer")
CRON = PurePosixPath("/etc/cron.d/netguard-scan")
WRAPPER = PurePosixPath("/usr/local/libexec/netguard-scan-daily")
# What install wrote and with which options: status and remove read it.
MANIFEST = PurePosixPath("/etc/netguard/schedule.json")

TIMER_UNIT = TIMER.name
LAST_RUN = "last-run.json"
REPORT_RE = re.compile(r"^scan-(\d{8}-\d{6})\.(html|json|err)$")
CRON_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
# Paths end up in a shell script, a unit file and a cron line: refuse what any of them
# would read differently (whitespace, quotes, specifiers, control characters).
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9._/+@:,=-]*$")


class ScheduleError(NetGuardError):
    """A schedule option is invalid, or the schedule cannot be installed or removed."""


@dataclass(frozen=True)
class ScheduleSpec:
    hour: int
    minute: int
    reports: PurePosixPath
    keep: int
    config: PurePosixPath
    netguard: PurePosixPath
    kind: Kind

    @property
    def at(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d}"

    def options(self) -> dict[str, str | int]:
        """The options as stored in the manifest and compared on reinstall."""
        return {
            "kind": self.kind,
            "at": self.at,
            "reports": str(self.reports),
            "keep": self.keep,
            "config": str(self.config),
            "netguard": str(self.netguard),
        }


@dataclass(frozen=True)
class RenderedFile:
    path: PurePosixPath
    content: str
    mode: int


def parse_at(text: str) -> tuple[int, int]:
    """``HH:MM`` (24-hour) as (hour, minute)."""
    match = _TIME.match(text.strip())
    if not match:
        raise ScheduleError(f"--at {text!r}: expected HH:MM, 24-hour (e.g. 02:30)")
    return int(match.group(1)), int(match.group(2))


def checked_path(what: str, path: str) -> PurePosixPath:
    """An absolute path that reads the same in a shell script, a unit file and a cron line."""
    if not _SAFE_PATH.match(path):
        raise ScheduleError(
            f"{what} {path!r}: must be an absolute path of letters, digits and ._/+@:,=- "
            "(it is written into a unit file, a cron line and a shell script)"
        )
    return PurePosixPath(path)


def make_spec(*, at: str, reports: str, keep: int, config: str, netguard: str, kind: Kind) -> ScheduleSpec:
    if keep < 1:
        raise ScheduleError(f"--keep {keep}: keep at least 1 report")
    hour, minute = parse_at(at)
    return ScheduleSpec(
        hour=hour,
        minute=minute,
        reports=checked_path("--reports", reports),
        keep=keep,
        config=checked_path("--config", config),
        netguard=checked_path("the netguard executable", netguard),
        kind=kind,
    )


def render_wrapper(spec: ScheduleSpec) -> str:
    q = shlex.quote
    return f"""#!/bin/sh
# The daily NetGuard compliance scan. Written by `netguard schedule install`;
# `netguard schedule remove` deletes it. Do not edit: a reinstall rewrites it.
# Names the report by its start time, keeps the newest {spec.keep}, records the exit code.
set -u
NETGUARD={q(str(spec.netguard))}
CONFIG={q(str(spec.config))}
REPORTS={q(str(spec.reports))}
KEEP={spec.keep}

umask 027
mkdir -p "$REPORTS" && chmod 0750 "$REPORTS" || exit 2
stamp=$(date +%Y%m%d-%H%M%S)
base="$REPORTS/scan-$stamp"
started=$(date -Iseconds)
"$NETGUARD" --config "$CONFIG" scan --json --html "$base.html" >"$base.json" 2>"$base.err"
rc=$?
[ -s "$base.err" ] || rm -f "$base.err"
printf '{{"stamp": "%s", "started": "%s", "finished": "%s", "exit_code": %d}}\\n' \\
    "$stamp" "$started" "$(date -Iseconds)" "$rc" >"$REPORTS/{LAST_RUN}.tmp" &&
    mv -f "$REPORTS/{LAST_RUN}.tmp" "$REPORTS/{LAST_RUN}"
# Keep the newest $KEEP stamps (a stamp is digits and a dash: safe to glob).
ls "$REPORTS" | sed -n 's/^scan-\\([0-9]\\{{8\\}}-[0-9]\\{{6\\}}\\)\\.[a-z]*$/\\1/p' | sort -ru |
    tail -n +$((KEEP + 1)) | while read -r old; do rm -f "$REPORTS/scan-$old".html \\
    "$REPORTS/scan-$old".json "$REPORTS/scan-$old".err; done
exit "$rc"
"""


def render_service(spec: ScheduleSpec) -> str:
    return f"""# Written by `netguard schedule install`; `netguard schedule remove` deletes it.
[Unit]
Description=NetGuard daily compliance scan (GB/T 22239-2019)
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart={WRAPPER}
# 1 = a control failed: the scan ran and its report is kept. 2 and 3 fail the unit.
SuccessExitStatus=1
Nice=10
"""


def render_timer(spec: ScheduleSpec) -> str:
    return f"""# Written by `netguard schedule install`; `netguard schedule remove` deletes it.
[Unit]
Description=NetGuard daily compliance scan at {spec.at}

[Timer]
OnCalendar=*-*-* {spec.at}:00
Persistent=true
Unit={SERVICE.name}

[Install]
WantedBy=timers.target
"""


def render_cron(spec: ScheduleSpec) -> str:
    return f"""# The daily NetGuard compliance scan. Written by `netguard schedule install`;
# `netguard schedule remove` deletes it.
SHELL=/bin/sh
PATH={CRON_PATH}
{spec.minute} {spec.hour} * * * root {WRAPPER}
"""


def render_manifest(spec: ScheduleSpec, files: list[PurePosixPath]) -> str:
    body = {"options": spec.options(), "files": [str(f) for f in files]}
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


def plan(spec: ScheduleSpec) -> list[RenderedFile]:
    """Every file of the schedule, the manifest last."""
    files = [RenderedFile(WRAPPER, render_wrapper(spec), 0o755)]
    if spec.kind == "systemd":
        files += [
            RenderedFile(SERVICE, render_service(spec), 0o644),
            RenderedFile(TIMER, render_timer(spec), 0o644),
        ]
    else:
        files.append(RenderedFile(CRON, render_cron(spec), 0o644))
    files.append(RenderedFile(MANIFEST, render_manifest(spec, [f.path for f in files]), 0o644))
    return files


__all__ = [
    "CRON",
    "KINDS",
    "LAST_RUN",
    "MANIFEST",
    "REPORT_RE",
    "SERVICE",
    "TIMER",
    "WRAPPER",
    "Kind",
    "RenderedFile",
    "ScheduleError",
    "ScheduleSpec",
    "make_spec",
    "plan",
]
