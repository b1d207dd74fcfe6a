"""``netguard config``: what configuration is in force, and whether it works.

``check`` runs :func:`run_checks`: the file's own problems (all of them, each
``file:line: path: message``), the secrets file's mode, every secret reference
(core keys, each capability section present, the inventory's SNMP
credentials) resolved without printing a value, the rule files (the device
policy's ``discovery.device_rules`` and the SQL rules' ``audit.rules``, each
after its built-in pack, loaded as their commands load them, so a mistake is
found here at its ``file:line`` and not at the first discovery or audit), and
both stores: exists or can be created, file mode (not readable by others),
opens (read-only for a user who may not write it), schema current.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from audit.settings import AUDIT
from commands.context import AppContext, pass_app
from commands.output import console, echo, json_option, plural, print_json, safe
from commands.sections import SECTIONS
from netguard.config import Config
from netguard.discovery.policy import BUILTIN_PACK, DEVICE_DOMAIN, unknown_scopes
from netguard.discovery.settings import DISCOVERY, RuleFile
from netguard.errors import EXIT_FINDINGS, EXIT_USAGE, ConfigError, NetGuardError
from netguard.events import open_event_store
from netguard.inventory import load_inventory
from netguard.secrets import SecretRef, check_private, redact_url
from netguard.section import RefAt, Section
from netguard.store.db import connect, open_read_only, schema_version, writable
from netguard.store.migrations import LATEST_VERSION
from rules.loader import builtin_pack, load_packs
from rules.model import Domain


@click.group(name="config")
def config_group() -> None:
    """Show the configuration in force and check that it works."""


def describe(cfg: Config, sections: Sequence[Section[Any]] = SECTIONS) -> dict[str, Any]:
    """The effective configuration, with secret references as references (never values)."""
    es = cfg.elasticsearch
    specs = {s.name: s for s in sections}
    capability: dict[str, Any] = {}
    for raw in cfg.sections:
        spec = specs.get(raw.name)
        # A section no code reads is shown by place only: its raw text may hold a plain: value.
        capability[raw.name] = cfg.section(spec) if spec else f"{raw.file}:{raw.line} (read by nothing)"
    return {
        "file": str(cfg.path) if cfg.path else None,
        "inventory": str(cfg.inventory) if cfg.inventory else None,
        "secrets_file": str(cfg.secrets_file) if cfg.secrets_file else None,
        "state": {
            "path": str(cfg.state_path),
            "grace_runs": cfg.grace_runs,
            "journal_key": str(cfg.journal_key) if cfg.journal_key else None,
        },
        "events": {
            "backend": cfg.events_backend,
            "sqlite": {"path": str(cfg.events_sqlite_path)},
            "elasticsearch": {
                "hosts": [redact_url(h) for h in es.hosts],
                "api_key": str(es.api_key) if es.api_key else None,
                "username": es.username,
                "password": str(es.password) if es.password else None,
                "ca_certs": str(es.ca_certs) if es.ca_certs else None,
                "verify_certs": es.verify_certs,
                "index_prefix": es.index_prefix,
                "replicas": es.replicas,
                "request_timeout": es.request_timeout,
            },
        },
        **capability,
    }


@config_group.command()
@json_option
@pass_app
def show(app: AppContext, as_json: bool) -> None:
    """Print the configuration in force.

    Defaults filled in; secrets shown as their references."""
    data = describe(app.config)
    if as_json:
        print_json(data)
        return
    table = Table(title=f"configuration ({data['file'] or 'built-in defaults'})", show_header=False)
    table.add_column("setting")
    table.add_column("value", overflow="fold")

    def walk(prefix: str, node: dict[str, Any]) -> None:
        for key, value in node.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict):
                walk(name + ".", value)
            elif hasattr(value, "__dataclass_fields__"):
                walk(name + ".", {k: getattr(value, k) for k in value.__dataclass_fields__})
            else:
                table.add_row(safe(name), safe("" if value is None else value))  # literal, never markup

    walk("", data)
    console().print(table)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def run_checks(cfg: Config, sections: Sequence[Section[Any]] = SECTIONS) -> list[Check]:
    """Every check ``config check`` makes, in order; secret values never appear in a detail."""
    checks = [Check("configuration", True, w) for w in cfg.warnings]
    if cfg.secrets_file is not None:
        try:
            check_private(cfg.secrets_file)
            checks.append(Check("secrets file", True, f"{cfg.secrets_file} is private"))
        except NetGuardError as exc:
            checks.append(Check("secrets file", False, str(exc)))
    refs: list[tuple[str, RefAt]] = []
    for ref_at in cfg.refs:
        path = ref_at.where.path
        if path.startswith("events.elasticsearch.") and cfg.events_backend != "elasticsearch":
            continue  # not used with the embedded store
        refs.append((path.replace("events.elasticsearch.", "elasticsearch ").replace("state.", "state "), ref_at))
    checks += _section_checks(cfg, sections, refs)
    checks += _resolve(cfg, refs)
    checks += _inventory_checks(cfg)
    checks += _rule_checks(cfg, sections)
    checks.append(_state_check(cfg.state_path))
    checks.append(_event_store_check(cfg))
    return checks


def _section_checks(cfg: Config, sections: Sequence[Section[Any]], refs: list[tuple[str, RefAt]]) -> list[Check]:
    specs = {s.name: s for s in sections}
    checks: list[Check] = []
    for raw in cfg.sections:
        spec = specs.get(raw.name)
        name = f"section {raw.name}"
        if spec is None:
            detail = f"{raw.file}:{raw.line}: no capability in this NetGuard reads '{raw.name}'; it would be ignored"
            checks.append(Check(name, False, detail))
            continue
        try:
            result = cfg.read_section(spec)
        except ConfigError as exc:
            checks += [Check(name, False, issue) for issue in exc.issues]
            continue
        checks.append(Check(name, True, f"{raw.file}:{raw.line}: valid"))
        checks += [Check(name, True, w) for w in result.warnings]
        refs += [(ref_at.where.path, ref_at) for ref_at in result.refs]
    return checks


def _resolve(cfg: Config, refs: list[tuple[str, RefAt]]) -> list[Check]:
    resolver = cfg.resolver()
    checks: list[Check] = []
    for name, ref_at in refs:
        try:
            resolver.resolve(ref_at.ref)
            checks.append(Check(name, True, f"{ref_at.ref} resolves"))
        except NetGuardError as exc:
            checks.append(Check(name, False, f"{ref_at.where}: {ref_at.ref}: {exc}"))
    return checks


def _inventory_checks(cfg: Config) -> list[Check]:
    if cfg.inventory is None:
        return []
    try:
        inventory = load_inventory(cfg.inventory)
    except NetGuardError as exc:
        return [Check("inventory", False, str(exc))]
    checks = [Check("inventory", True, f"{cfg.inventory}: {len(inventory)} institutions, valid")]
    # Each distinct reference once, with how many switches use it and where it first appears.
    users: dict[SecretRef, list[str]] = {}
    for switch in inventory.switches():
        for ref in switch.snmp.refs():
            users.setdefault(ref, []).append(str(switch.source.location) if switch.source else "")
    resolver = cfg.resolver()
    for ref, places in sorted(users.items(), key=lambda item: str(item[0])):
        n = len(places)
        name = f"snmp {ref} ({n} switch{'es' if n > 1 else ''})"
        try:
            resolver.resolve(ref)
            checks.append(Check(name, True, f"{ref} resolves"))
        except NetGuardError as exc:
            first = f" (first used at {places[0]})" if places[0] else ""
            checks.append(Check(name, False, f"{ref}: {exc}{first}"))
    return checks


def _rule_checks(cfg: Config, sections: Sequence[Section[Any]]) -> list[Check]:
    """The device and SQL rule files the configuration names, each problem at its file and line.

    A section that does not read (already a failed check) or that no
    capability here reads has no rule files to check.
    """
    names = {s.name for s in sections}
    checks: list[Check] = []
    if DISCOVERY.name in names:
        try:
            files = cfg.section(DISCOVERY).device_rules
        except ConfigError:
            files = None
        if files is not None:
            paths = [builtin_pack(BUILTIN_PACK), *(f.path for f in files)]
            checks += _pack_checks("device rules", paths, DEVICE_DOMAIN)
            checks += _scope_checks(cfg, files)
    if AUDIT.name in names:
        try:
            sql_files = cfg.section(AUDIT).risk.rules
        except ConfigError:
            sql_files = None
        if sql_files is not None:
            # Imported here: the SQL facts pull in the audit pipeline, which no other check needs.
            from audit.sql_rules import SQL_DOMAIN

            checks += _pack_checks("SQL rules", [builtin_pack("sql"), *sql_files], SQL_DOMAIN)
    return checks


def _pack_checks(name: str, paths: Sequence[Path], domain: Domain) -> list[Check]:
    loaded = load_packs(paths, domain)
    checks = [Check(name, False, str(issue)) for issue in loaded.report.errors]
    checks += [Check(name, True, str(issue)) for issue in loaded.report.warnings]
    if not loaded.report.errors:
        configured = ", ".join(str(p) for p in paths[1:]) or "no file configured"
        count = plural(len(loaded.rules), "rule")
        checks.append(Check(name, True, f"{count} (built-in pack, then {configured}): valid"))
    return checks


def _scope_checks(cfg: Config, files: Sequence[RuleFile]) -> list[Check]:
    """An institution a device rule file is scoped to must be in the inventory (else its rules never apply)."""
    if cfg.inventory is None or not any(f.institution for f in files):
        return []
    try:
        inventory = load_inventory(cfg.inventory)
    except NetGuardError:
        return []  # the inventory check says why
    return [Check("device rules", False, issue) for issue in unknown_scopes(files, inventory)]


def _mode_problem(path: Path) -> str | None:
    """Stores hold SQL text, commands and the journal: readable by the owner (and a group of auditors) only."""
    for part in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if not part.exists():
            continue
        mode = stat.S_IMODE(part.stat().st_mode)
        if mode & (stat.S_IRWXO | stat.S_IWGRP):
            return f"{part} has mode {mode:04o}; run: chmod 600 {part} (or 640 for a group of auditors)"
    return None


def _creatable(path: Path) -> str | None:
    """Why ``path`` cannot be created, or None."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{path} does not exist and {parent} is not writable"
    return None


def _state_check(path: Path) -> Check:
    name = "state store"
    if not path.exists():
        problem = _creatable(path)
        return Check(name, problem is None, problem or f"{path}: not created yet (mode 0600 at first use)")
    mode = _mode_problem(path)
    try:
        if writable(path):
            conn = connect(path)  # brings the schema up to date, as any writer would
        else:
            conn = open_read_only(path, latest=LATEST_VERSION, where=f"the state database {path}")
        try:
            version = schema_version(conn)
        finally:
            conn.close()
    except NetGuardError as exc:
        return Check(name, False, str(exc))
    access = "" if writable(path) else ", read-only for this user"
    return Check(name, mode is None, mode or f"{path}: schema version {version} (current){access}")


def _event_store_check(cfg: Config) -> Check:
    name = f"event store ({cfg.events_backend})"
    sqlite = cfg.events_backend == "sqlite"
    path = cfg.events_sqlite_path
    if sqlite and not path.exists():
        problem = _creatable(path)
        return Check(name, problem is None, problem or f"{path}: not created yet (mode 0600 at first write)")
    mode = _mode_problem(path) if sqlite else None
    try:
        store = open_event_store(cfg)
        try:
            count = store.count()
        finally:
            store.close()
    except NetGuardError as exc:
        return Check(name, False, str(exc))
    where = path if sqlite else ", ".join(redact_url(h) for h in cfg.elasticsearch.hosts)
    access = ", read-only for this user" if getattr(store, "read_only", False) else ""
    return Check(name, mode is None, mode or f"{where}: {count} events{access}")


@config_group.command()
@json_option
@pass_app
def check(app: AppContext, as_json: bool) -> None:
    """Check that the configuration works.

    Secrets resolve, files are private, stores open.

    Exit code 1 if any check fails, 2 if the file itself has errors (all listed). Secret values are never printed.
    """
    try:
        cfg = app.config
    except ConfigError as exc:
        if as_json:
            print_json([{"check": "configuration", "ok": False, "detail": issue} for issue in exc.issues])
        else:
            for issue in exc.issues:
                echo(f"error: {issue}", err=True)
        raise click.exceptions.Exit(EXIT_USAGE) from None
    checks = run_checks(cfg)
    if as_json:
        print_json([{"check": c.name, "ok": c.ok, "detail": c.detail} for c in checks])
    else:
        table = Table(title="configuration checks")
        for col in ("check", "result", "detail"):
            table.add_column(col, overflow="fold")
        for c in checks:
            table.add_row(safe(c.name), "ok" if c.ok else "FAIL", safe(c.detail))  # literal, never markup
        console().print(table)
    if not all(c.ok for c in checks):
        raise click.exceptions.Exit(EXIT_FINDINGS)
