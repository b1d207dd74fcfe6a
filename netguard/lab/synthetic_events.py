"""Synthetic events of every kind, deterministic for a seed.

For the benchmarks (a million events without a million real log lines) and the
backend parity tests (a varied corpus: Chinese names, IPv6, arrays, missing
fields, every field type). Values are plausible for a county health network,
not random noise, so that queries in tests mean something; but the names and
addresses are not those of any inventory. The demo (`netguard lab events`)
draws from the inventory instead: :mod:`netguard.lab.county_events`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from netguard.events.model import Event, format_timestamp, make_event
from netguard.events.schema import DELETION_KIND, KINDS
from netguard.lab.event_parts import (
    TABLES,
    compliance_result,
    link_loss,
    link_sample,
    login_fields,
    organization_fields,
    sql_text_fields,
)

USERS = ("alice", "bob", "zhang.wei", "li.na", "wang.fang", "admin", "his_app", "emr_ro", "pacs", "root")
ORGS = (
    ("c01", "会泽县人民医院", "county", "古城街道"),
    ("c02", "会泽县中医医院", "county", "古城街道"),
    ("t05", "娜姑镇卫生院", "township", "娜姑镇"),
    ("t07", "迤车镇卫生院", "township", "迤车镇"),
    ("v101", "娜姑镇白雾村卫生室", "village", "娜姑镇"),
    ("v202", "迤车镇迤车村卫生室", "village", "迤车镇"),
)
STATEMENTS = (
    ("SELECT", "SELECT name, id_card FROM {t} WHERE id = ?", False),
    ("SELECT", "SELECT * FROM {t}", False),
    ("UPDATE", "UPDATE {t} SET status = ? WHERE id = ?", False),
    ("DELETE", "DELETE FROM {t}", True),
    ("DROP", "DROP TABLE {t}", False),
    ("INSERT", "INSERT INTO {t} (a, b) VALUES (?, ?)", False),
    ("GRANT", "GRANT ALL ON {t} TO 'x'@'%'", False),
)
COMMANDS = (
    "ls -la /var/log",
    "sudo systemctl restart his",
    "rm -rf /tmp/cache",
    "cat /etc/shadow",
    "tail -f /var/log/mysql/general.log",
    "mysqldump emr > /tmp/emr.sql",
    "df -h",
    "vi /etc/hosts",
)
PORTS = ("GigabitEthernet0/0/1", "GigabitEthernet0/0/7", "Ethernet1/0/12", "GE1/0/24")
SERVERS = ("his-db01", "emr-db01", "pacs01", "rhp-app01")


def _ip(rng: random.Random, v6: bool = False) -> str:
    if v6:
        return f"fd00:10:{rng.randrange(1, 99):x}::{rng.randrange(1, 65535):x}"
    return f"10.{rng.randrange(1, 40)}.{rng.randrange(0, 255)}.{rng.randrange(1, 254)}"


def _mac(rng: random.Random) -> str:
    return ":".join(f"{rng.randrange(256):02x}" for _ in range(6))


def _common(rng: random.Random) -> dict[str, Any]:
    return organization_fields(*rng.choice(ORGS), rng)


def _sql(rng: random.Random, i: int) -> dict[str, Any]:
    op, template, where_less = rng.choice(STATEMENTS)
    table = rng.choice(TABLES)
    user = rng.choice(USERS)
    text = template.format(t=table)
    return {
        "event.action": "query",
        "event.outcome": rng.choice(("success", "success", "failure")),
        "user.name": user,
        "source.ip": _ip(rng, v6=rng.random() < 0.1),
        "db.system": rng.choice(("mariadb", "postgresql")),
        "db.namespace": rng.choice(("his", "emr", "lis")),
        "db.operation.name": op,
        "db.collection.name": table,
        **sql_text_fields(text, table, where_less),
        "netguard.sql.rows_sent": rng.randrange(0, 5000),
        "netguard.sql.connection_id": str(rng.randrange(1, 900)),
        "event.duration": rng.randrange(10_000, 900_000_000),
        "host.name": rng.choice(SERVERS),
        "message": f"{user} ran {op} on {table}",
    }


def _login(rng: random.Random, i: int) -> dict[str, Any]:
    user = rng.choice(USERS)
    ok = rng.random() < 0.8
    return login_fields(rng, user, ok, _ip(rng))


def _session(rng: random.Random, i: int) -> dict[str, Any]:
    user = rng.choice(USERS)
    server = rng.choice(SERVERS)
    return {
        "event.action": rng.choice(("start", "end")),
        "event.outcome": "success",
        "user.name": user,
        "source.ip": _ip(rng),
        "destination.address": server,
        "destination.ip": _ip(rng),
        "destination.port": 22,
        "netguard.bastion.account": rng.choice(("root", "ops", "dba")),
        "netguard.bastion.session_id": f"s-{i:08d}",
        "netguard.bastion.channel": "shell",
        "netguard.bastion.recording": f"/var/lib/netguard/recordings/s-{i:08d}.cast",
        "source.bytes": rng.randrange(100, 10**6),
        "destination.bytes": rng.randrange(100, 10**7),
        "message": f"{user} session to {server}",
    }


def _command(rng: random.Random, i: int) -> dict[str, Any]:
    user = rng.choice(USERS)
    cmd = rng.choice(COMMANDS)
    verdict = "denied" if "shadow" in cmd or "rm -rf" in cmd else "allowed"
    return {
        "event.action": rng.choice(("exec", "line")),
        "event.outcome": "failure" if verdict == "denied" else "success",
        "user.name": user,
        "source.ip": _ip(rng),
        "destination.address": rng.choice(SERVERS),
        "netguard.bastion.session_id": f"s-{i // 3:08d}",
        "netguard.bastion.account": "ops",
        "process.command_line": cmd,
        "netguard.bastion.verdict": verdict,
        "message": f"{user}@{verdict}: {cmd}",
    }


def _file(rng: random.Random, i: int) -> dict[str, Any]:
    user = rng.choice(USERS)
    direction = rng.choice(("upload", "download"))
    path = rng.choice(
        ("/tmp/emr.sql", "/home/ops/患者名单.xlsx", "/etc/his/app.conf", "/var/backup/his-2026-11.tar.gz")
    )
    return {
        "event.action": direction,
        "event.outcome": "success",
        "user.name": user,
        "source.ip": _ip(rng),
        "destination.address": rng.choice(SERVERS),
        "netguard.bastion.session_id": f"s-{i:08d}",
        "file.path": path,
        "file.size": rng.randrange(0, 50_000_000),
        "netguard.file.direction": direction,
        "network.protocol": rng.choice(("scp", "sftp")),
        "message": f"{user} {direction}ed {path}",
    }


def _device(rng: random.Random, i: int) -> dict[str, Any]:
    action = rng.choice(("seen", "seen", "new", "moved", "conflict"))
    mac = _mac(rng)
    f: dict[str, Any] = {
        "event.action": action,
        "host.mac": mac,
        "host.ip": _ip(rng),
        "observer.name": f"sw-{rng.randrange(1, 60):02d}",
        "observer.ingress.interface.name": rng.choice(PORTS),
        "network.vlan.id": str(rng.choice((10, 20, 30, 999))),
        "netguard.device.vendor": rng.choice(("Dell", "Lenovo", "Huawei", "H3C", "Mindray", "HP")),
        "netguard.device.authorised": rng.random() < 0.8,
        "netguard.device.seen_by": rng.sample(["arp", "fdb", "arp-table"], k=rng.randrange(1, 4)),
        "message": f"device {mac} {action}",
    }
    if action == "moved":
        f["netguard.device.previous_port"] = rng.choice(PORTS)
    return f


def _enforce(rng: random.Random, i: int) -> dict[str, Any]:
    action = rng.choice(("port-shutdown", "quarantine-vlan", "arp-isolate", "restore"))
    return {
        "event.action": action,
        "event.outcome": rng.choice(("success", "failure")),
        "user.name": rng.choice(("admin", "li.na")),
        "host.mac": _mac(rng),
        "observer.name": f"sw-{rng.randrange(1, 60):02d}",
        "observer.ingress.interface.name": rng.choice(PORTS),
        "netguard.enforce.journal_id": str(i),
        "netguard.enforce.state_before": "admin-up",
        "netguard.enforce.state_after": "admin-down" if action == "port-shutdown" else "vlan 999",
        "netguard.enforce.reason": "未授权终端接入 unauthorised device",
        "netguard.enforce.dry_run": rng.random() < 0.3,
        "message": f"{action} by operator",
    }


def _link(rng: random.Random, i: int) -> dict[str, Any]:
    loss, state = link_loss(rng)
    return link_sample(rng, loss, state) | {
        "destination.address": "10.0.0.10",
        "destination.ip": "10.0.0.10",
        "netguard.link.target": "county-dc",
        "message": f"link to county-dc {state}, loss {loss}%",
    }


def _compliance(rng: random.Random, i: int) -> dict[str, Any]:
    result, outcome = compliance_result(rng)
    return outcome | {
        "rule.id": f"NG-{rng.randrange(1, 40):03d}",
        "rule.reference": rng.choice(("8.1.3.1 b)", "8.1.4.3 a)", "8.1.4.4 c)", "8.1.5.4 d)")),
        "netguard.compliance.scan_id": f"scan-{i // 100:05d}",
        "netguard.compliance.control_id": f"NG-{rng.randrange(1, 40):03d}",
        "netguard.compliance.title": "SNMP community is not a default 默认团体名",
        "netguard.compliance.target": f"sw-{rng.randrange(1, 60):02d}",
        "message": f"check {result}",
    }


def _deletion(rng: random.Random, i: int) -> dict[str, Any]:
    matched = rng.randrange(0, 100_000)
    return {
        "event.action": "purge",
        "event.outcome": "success",
        "user.name": rng.choice(("root", "张工")),
        "netguard.deletion.store": "sqlite:/var/lib/netguard/events.db",
        "netguard.deletion.before": format_timestamp(START_MS - rng.randrange(180, 400) * 86_400_000),
        "netguard.deletion.older_than": "200d",
        "netguard.deletion.matched": matched,
        "netguard.deletion.removed": matched,
        "message": f"purge removed {matched} events",
    }


_BUILDERS = {
    "sql": _sql,
    "bastion-login": _login,
    "bastion-session": _session,
    "bastion-command": _command,
    "file-transfer": _file,
    "device": _device,
    "enforcement": _enforce,
    "link": _link,
    "compliance": _compliance,
    "deletion": _deletion,
}

# Every kind but the records of deletions, which only a purge writes: the default mix, unchanged since that
# kind was added, so seeded series (and the tests and benchmarks built on them) stay the same.
ACTIVITY_KINDS = tuple(k for k in KINDS if k != DELETION_KIND)
START_MS = 1_790_000_000_000  # 2026-09-21, so a month boundary falls inside a long series


def synthetic_event(kind: str, i: int, rng: random.Random, *, start_ms: int = START_MS, step_ms: int = 997) -> Event:
    fields = _common(rng) | _BUILDERS[kind](rng, i)
    return make_event(kind, fields, timestamp=(start_ms + i * step_ms) / 1000)


def synthetic_events(
    count: int, *, seed: int = 7, kinds: tuple[str, ...] = ACTIVITY_KINDS, start_ms: int = START_MS, step_ms: int = 997
) -> Iterator[Event]:
    """``count`` events cycling through ``kinds``, one every ``step_ms`` from ``start_ms``."""
    rng = random.Random(seed)
    for i in range(count):
        yield synthetic_event(kinds[i % len(kinds)], i, rng, start_ms=start_ms, step_ms=step_ms)
