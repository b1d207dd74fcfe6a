"""The daily compliance scan as a systemd timer or a cron entry: rendering and installing it."""

from netguard.schedule.install import (
    InstallOutcome,
    LastRun,
    ScheduleStatus,
    detect_kind,
    install,
    remove,
    status,
)
from netguard.schedule.render import KINDS, Kind, ScheduleError, ScheduleSpec, make_spec, plan

__all__ = [
    "KINDS",
    "InstallOutcome",
    "Kind",
    "LastRun",
    "ScheduleError",
    "ScheduleSpec",
    "ScheduleStatus",
    "detect_kind",
    "install",
    "make_spec",
    "plan",
    "remove",
    "status",
]
