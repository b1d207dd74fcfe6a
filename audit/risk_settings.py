"""What the SQL risk rules need from ``netguard.yaml``: the ``audit`` section's risk keys.

::

    audit:
      rules: [/etc/netguard/rules/sql-local.yaml]   # packs loaded after the built-in rules/packs/sql.yaml
      sensitive:                                     # per database or schema name; '*' for every one
        his:
          tables: [patients, 患者]
          columns: [id_card, phone, name, 姓名]
      working_hours: {days: [1, 2, 3, 4, 5], start: "08:00", end: "18:00", timezone: Asia/Shanghai}
      privileged_users: [root, postgres, sa, sys, system]
      application_roles: [his, emr, pacs, lis, platform, app]   # inventory server roles that are application servers

Without ``sensitive`` the built-in columns below are sensitive in every
database (ID-card and phone numbers and names are what these logs hold);
with it, exactly what it lists. Without ``working_hours`` the week is
Monday to Friday, 08:00 to 18:00 in each statement's own zone. Every key is
checked; a wrong one is an error naming it and its line.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from netguard.inventory.nodes import Fields, join
from netguard.section import SectionReader

RISK_KEYS = ("rules", "sensitive", "working_hours", "privileged_users", "application_roles")
ANY_DATABASE = "*"
DEFAULT_SENSITIVE_COLUMNS = ("id_card", "id_no", "idcard", "phone", "mobile", "身份证号", "手机号", "联系电话", "姓名")
DEFAULT_PRIVILEGED = ("root", "postgres", "sa", "sys", "system", "admin", "mariadb.sys")
DEFAULT_APPLICATION_ROLES = ("his", "emr", "pacs", "lis", "ris", "platform", "app", "application", "web")
_TIME = re.compile(r"([01]?\d|2[0-4]):([0-5]\d)")


@dataclass(frozen=True)
class Sensitive:
    """Sensitive table and column names (case-folded) of one database or schema."""

    tables: frozenset[str] = frozenset()
    columns: frozenset[str] = frozenset()


@dataclass(frozen=True)
class WorkingHours:
    days: frozenset[int] = frozenset({1, 2, 3, 4, 5})  # ISO weekdays, 1 Monday ... 7 Sunday
    start: int = 8 * 60  # minutes after midnight, inclusive
    end: int = 18 * 60  # exclusive
    timezone: str | None = None  # None: each statement's own zone

    def zone(self) -> dt.tzinfo | None:
        return ZoneInfo(self.timezone) if self.timezone else None

    def contains(self, weekday: int, minute: int) -> bool:
        return weekday in self.days and self.start <= minute < self.end


def _default_sensitive() -> Mapping[str, Sensitive]:
    return {ANY_DATABASE: Sensitive(columns=frozenset(c.casefold() for c in DEFAULT_SENSITIVE_COLUMNS))}


@dataclass(frozen=True)
class RiskSettings:
    rules: tuple[Path, ...] = ()
    sensitive: Mapping[str, Sensitive] = field(default_factory=_default_sensitive)
    working_hours: WorkingHours = field(default_factory=WorkingHours)
    privileged_users: frozenset[str] = frozenset(DEFAULT_PRIVILEGED)
    application_roles: frozenset[str] = frozenset(DEFAULT_APPLICATION_ROLES)


def parse_risk(r: SectionReader, f: Fields) -> RiskSettings:
    """The risk keys of the ``audit`` mapping ``f`` (already checked for unknown keys); errors go to ``r``."""
    defaults = RiskSettings()
    rules = tuple(_path(r, text) for _p, _n, text in r.scalar_items(f, "rules"))
    sensitive = _sensitive(r, f) if "sensitive" in f else defaults.sensitive
    hours = _hours(r, f.get("working_hours"), join(f.path, "working_hours")) if "working_hours" in f else None
    privileged = frozenset(t for _p, _n, t in r.scalar_items(f, "privileged_users"))
    roles = frozenset(t for _p, _n, t in r.scalar_items(f, "application_roles"))
    return RiskSettings(
        rules=rules,
        sensitive=sensitive,
        working_hours=hours or defaults.working_hours,
        privileged_users=privileged if "privileged_users" in f else defaults.privileged_users,
        application_roles=roles if "application_roles" in f else defaults.application_roles,
    )


def _path(r: SectionReader, text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else r.base / path


def _names(r: SectionReader, f: Fields, name: str) -> frozenset[str]:
    return frozenset(t.casefold() for _p, _n, t in r.scalar_items(f, name))


def _sensitive(r: SectionReader, f: Fields) -> Mapping[str, Sensitive]:
    node = f.get("sensitive")
    path = join(f.path, "sensitive")
    assert node is not None
    names = r.mapping(node, path, (), any_key=True)
    if names is None:
        return {}
    out: dict[str, Sensitive] = {}
    for db, (_key, value) in names.values.items():
        entry = r.mapping(value, join(path, db), (), ("tables", "columns"))
        if entry is not None:
            out[db.casefold()] = Sensitive(_names(r, entry, "tables"), _names(r, entry, "columns"))
    return out


def _minutes(r: SectionReader, f: Fields, name: str, default: int) -> int:
    text = r.text(f, name)
    if text is None:
        return default
    m = _TIME.fullmatch(text.strip())
    minutes = int(m.group(1)) * 60 + int(m.group(2)) if m else -1
    if not 0 <= minutes <= 24 * 60:
        node = f.get(name)
        assert node is not None
        r.error(node, join(f.path, name), f"'{text}' is not a time of day (HH:MM, 00:00-24:00)")
        return default
    return minutes


def _hours(r: SectionReader, node: yaml.Node | None, path: str) -> WorkingHours | None:
    assert node is not None
    f = r.mapping(node, path, (), ("days", "start", "end", "timezone"))
    if f is None:
        return None
    base = WorkingHours()
    days = set()
    for item_path, item, text in r.scalar_items(f, "days"):
        if text.isdigit() and 1 <= int(text) <= 7:
            days.add(int(text))
        else:
            r.error(item, item_path, f"'{text}' is not a weekday (1 Monday ... 7 Sunday)")
    start = _minutes(r, f, "start", base.start)
    end = _minutes(r, f, "end", base.end)
    if start >= end:
        r.error(node, path, "working hours must start before they end")
    tz = r.text(f, "timezone")
    if tz is not None:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            zone_node = f.get("timezone")
            assert zone_node is not None
            r.error(zone_node, join(path, "timezone"), f"unknown time zone '{tz}' (e.g. Asia/Shanghai)")
            tz = None
    return WorkingHours(frozenset(days) if "days" in f else base.days, start, end, tz)
