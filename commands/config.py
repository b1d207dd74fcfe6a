"""``netguard config``: what configuration is in force, and whether it works."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click
from rich.table import Table

from commands.context import AppContext, pass_app
from commands.output import console, json_option, print_json
from netguard.config import Config
from netguard.errors import EXIT_FINDINGS, NetGuardError
from netguard.events import open_event_store
from netguard.inventory import load_inventory
from netguard.secrets import SecretRef, check_private, redact_url


@click.group(name="config")
def config_group() -> None:
    """Show the configuration in force and check that it works."""


def describe(cfg: Config) -> dict[str, Any]:
    """The effective configuration, with secret references as references (never values)."""
    es = cfg.elasticsearch
    return {
        "file": str(cfg.path) if cfg.path else None,
        "inventory": str(cfg.inventory) if cfg.inventory else None,
        "secrets_file": str(cfg.secrets_file) if cfg.secrets_file else None,
        "state": {"path": str(cfg.state_path), "grace_runs": cfg.grace_runs},
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
    }


@config_group.command()
@json_option
@pass_app
def show(app: AppContext, as_json: bool) -> None:
    """Print the configuration in force (defaults filled in; secrets shown as their references)."""
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
            else:
                table.add_row(name, "" if value is None else str(value))

    walk("", data)
    console().print(table)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def _checks(cfg: Config) -> list[Check]:
    checks: list[Check] = []
    if cfg.secrets_file is not None:
        try:
            check_private(cfg.secrets_file)
            checks.append(Check("secrets file", True, f"{cfg.secrets_file} is private"))
        except NetGuardError as exc:
            checks.append(Check("secrets file", False, str(exc)))
    resolver = cfg.resolver()
    refs: list[tuple[str, SecretRef]] = []
    if cfg.events_backend == "elasticsearch":
        es = cfg.elasticsearch
        refs += [
            (name, ref)
            for name, ref in (("elasticsearch api_key", es.api_key), ("elasticsearch password", es.password))
            if ref is not None
        ]
    if cfg.inventory is not None:
        try:
            inventory = load_inventory(cfg.inventory)
            checks.append(Check("inventory", True, f"{cfg.inventory}: {len(inventory)} institutions, valid"))
            # Each distinct reference once, with how many switches use it.
            users: dict[SecretRef, int] = {}
            for switch in inventory.switches():
                for ref in switch.snmp.refs():
                    users[ref] = users.get(ref, 0) + 1
            refs += [
                (f"snmp {ref} ({n} switch{'es' if n > 1 else ''})", ref) for ref, n in sorted(users.items(), key=str)
            ]
        except NetGuardError as exc:
            checks.append(Check("inventory", False, str(exc)))
    for name, ref in refs:
        try:
            resolver.resolve(ref)
            checks.append(Check(name, True, f"{ref} resolves"))
        except NetGuardError as exc:
            checks.append(Check(name, False, f"{ref}: {exc}"))
    try:
        store = open_event_store(cfg)
        try:
            count = store.count()
        finally:
            store.close()
        where = (
            cfg.events_sqlite_path
            if cfg.events_backend == "sqlite"
            else ", ".join(redact_url(h) for h in cfg.elasticsearch.hosts)
        )
        checks.append(Check(f"event store ({cfg.events_backend})", True, f"{where}: {count} events"))
    except NetGuardError as exc:
        checks.append(Check(f"event store ({cfg.events_backend})", False, str(exc)))
    return checks


@config_group.command()
@json_option
@pass_app
def check(app: AppContext, as_json: bool) -> None:
    """Check that the configuration works: secrets resolve, files are private, stores open.

    Exit code 1 if any check fails. Secret values are never printed.
    """
    checks = _checks(app.config)
    if as_json:
        print_json([{"check": c.name, "ok": c.ok, "detail": c.detail} for c in checks])
    else:
        table = Table(title="configuration checks")
        for col in ("check", "result", "detail"):
            table.add_column(col, overflow="fold")
        for c in checks:
            table.add_row(c.name, "ok" if c.ok else "FAIL", c.detail)
        console().print(table)
    if not all(c.ok for c in checks):
        raise click.exceptions.Exit(EXIT_FINDINGS)
