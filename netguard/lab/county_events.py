"""Lab events drawn from an inventory: everything an event names exists in the county.

``netguard lab events`` (and so ``make demo``) fills the event store from this module, so
that an officer can pivot from any event to the inventory: ``organization.id`` and
``organization.name`` are real institutions, ``source.ip`` / ``host.ip`` lie in that
institution's subnets (an authorised device's own address when it has one),
``host.name`` / ``destination.address`` are real servers with the right service,
``observer.name`` is one of the institution's switches and ``host.mac`` an authorised
device's MAC (or, for an unauthorised one, a MAC the inventory does not know).

Time is cut into slots of ``step_ms``; slot ``k`` (absolute: its timestamp is
``k * step_ms``) always holds the same event, of kind ``kinds[k % len(kinds)]``, drawn
with a random generator seeded by ``(seed, step_ms, k)``. Running the lab again over an
overlapping window therefore produces identical events for the slots already written,
which the store recognises by their content-derived ids, and adds only the new slots: the
demo can be rerun without doubling its data, and the data stay recent.

The varied corpus for parity tests and benchmarks (IPv6, every field type) is
:mod:`netguard.lab.synthetic_events`; this one is plausible rather than exhaustive.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from netguard.events.model import Event, make_event
from netguard.inventory import Device, Institution, Inventory, Server, Switch, Tier
from netguard.lab.event_parts import (
    TABLES,
    compliance_result,
    link_loss,
    link_sample,
    login_fields,
    organization_fields,
    sql_text_fields,
)

# Who works where: (user, institution id, the server an application account runs on).
# People are not in the inventory; their workstations (its PCs, in order) and servers are.
PEOPLE = (
    ("alice", "hz-rmyy", None),
    ("bob", "hz-zyyy", None),
    ("zhang.wei", "hz-rmyy", None),
    ("li.na", "hz-dc", None),
    ("wang.fang", "thc-nagu", None),
    ("admin", "hz-dc", None),
    ("his_app", "hz-dc", "his-app01"),
    ("emr_ro", "hz-dc", "emr-app01"),
)
OPERATORS = ("admin", "li.na")
STATEMENTS = (
    ("SELECT", "SELECT name, id_card FROM {t} WHERE id = ?", False),
    ("SELECT", "SELECT 姓名, 身份证号 FROM {t} WHERE 科室 = ?", False),
    ("SELECT", "SELECT * FROM {t}", True),
    ("UPDATE", "UPDATE {t} SET status = ? WHERE id = ?", False),
    ("DELETE", "DELETE FROM {t} WHERE created < ?", False),
    ("DELETE", "DELETE FROM {t}", True),
    ("DROP", "DROP TABLE {t}", False),
    ("INSERT", "INSERT INTO {t} (a, b) VALUES (?, ?)", False),
    ("GRANT", "GRANT ALL ON {t} TO 'x'@'%'", False),
)
SQL_ERRORS = ("permission denied for table {t}", "Table '{t}' is marked as crashed", "Lock wait timeout exceeded")
COMMANDS = (
    "ls -la /var/log",
    "sudo systemctl restart his",
    "rm -rf /tmp/cache",
    "cat /etc/shadow",
    "tail -f /var/log/mysql/general.log",
    "mysqldump emr > /tmp/emr.sql",
    "grep -E '[a-z]+@x' /var/log/secure",
    "df -h",
    "vi /etc/hosts",
)
FILES = ("/tmp/emr.sql", "/home/ops/患者名单.xlsx", "/etc/his/app.conf", "/var/backup/his-2026-11.tar.gz")
# OUIs of consumer gear that has no business on a clinic network (TP-Link, Xiaomi, Tenda, Apple).
ROGUE_OUIS = ("50:c7:bf", "64:09:80", "c8:3a:35", "f0:18:98")
CONTROLS = (
    ("NG-001", "8.1.4.4 c)", "SSH only via the bastion"),
    ("NG-007", "8.1.3.1 b)", "unauthorised devices are detected"),
    ("NG-012", "8.1.4.3 a)", "database statements are audited"),
    ("NG-021", "8.1.5.4 d)", "audit records are kept six months"),
    ("NG-030", "8.1.4.1 c)", "SNMP community is not a default 默认团体名"),
)
TIER_WEIGHTS = ((Tier.COUNTY, 0.35), (Tier.TOWNSHIP, 0.35), (Tier.VILLAGE, 0.30))


@dataclass(frozen=True)
class Person:
    user: str
    institution: Institution
    workstation: str  # an IP address in the institution
    fixed: bool = False  # an application account: always from its server


@dataclass(frozen=True)
class LabCounty:
    """The parts of an inventory the lab draws from, in a fixed order."""

    by_tier: tuple[tuple[Tier, tuple[Institution, ...]], ...]
    people: tuple[Person, ...]
    databases: tuple[Server, ...]
    ssh_servers: tuple[Server, ...]
    switches: tuple[Switch, ...]
    institutions: Mapping[str, Institution]

    @classmethod
    def from_inventory(cls, inv: Inventory) -> LabCounty:
        institutions = {i.id: i for i in inv}
        by_tier = tuple((tier, tuple(i for i in inv if i.tier is tier)) for tier, _ in TIER_WEIGHTS)
        first = list(inv)
        people: list[Person] = []
        for n, (user, home, server_id) in enumerate(PEOPLE):
            # Another county: its first institutions employ the same people.
            inst = institutions.get(home) or first[n % len(first)]
            server = inv.server(server_id) if server_id else None
            if server is not None:
                people.append(Person(user, inst, str(server.address), fixed=True))
            else:
                colleagues = sum(1 for p in people if p.institution.id == inst.id and not p.fixed)
                people.append(Person(user, inst, _workstation(inst, colleagues)))
        servers = tuple(inv.servers())
        return cls(
            by_tier=tuple((t, group) for t, group in by_tier if group),
            people=tuple(people),
            databases=tuple(s for s in servers if s.role == "database") or servers,
            ssh_servers=tuple(s for s in servers if any(v.name == "ssh" for v in s.services)) or servers,
            switches=tuple(inv.switches()),
            institutions=institutions,
        )

    def institution(self, rng: random.Random) -> Institution:
        weights = dict(TIER_WEIGHTS)
        _, group = rng.choices(self.by_tier, weights=[weights[t] for t, _ in self.by_tier])[0]
        return rng.choice(group)


def _workstation(inst: Institution, n: int) -> str:
    """The address of the institution's n-th authorised PC (its own, or the one DHCP gives it)."""
    pcs = [d for d in inst.devices if d.kind == "pc"] or list(inst.devices)
    return _device_ip(inst, pcs[n % len(pcs)]) if pcs else _host(inst, 100 + n)


def _device_ip(inst: Institution, device: Device) -> str:
    """A device's fixed address, else a DHCP one that depends only on its MAC."""
    return str(device.ip) if device.ip else _host(inst, 100 + int(device.mac[-2:], 16) % 100)


def _host(inst: Institution, index: int) -> str:
    net = inst.subnets[0].network
    return str(net.network_address + min(index, net.num_addresses - 2))


def _common(inst: Institution, rng: random.Random) -> dict[str, Any]:
    return organization_fields(inst.id, inst.name, inst.tier.value, inst.township, rng)


def _source_ip(person: Person, rng: random.Random) -> str:
    """Mostly the person's own workstation, sometimes another PC of the same institution."""
    if person.fixed or rng.random() < 0.7:
        return person.workstation
    pcs = [d for d in person.institution.devices if d.ip is not None]
    return str(rng.choice(pcs).ip) if pcs else _host(person.institution, rng.randrange(100, 200))


def _sql(c: LabCounty, rng: random.Random, k: int) -> dict[str, Any]:
    person = rng.choice(c.people)
    server = rng.choice(c.databases)
    op, template, where_less = rng.choice(STATEMENTS)
    table = rng.choice(TABLES)
    text = template.format(t=table)
    failed = rng.random() < 0.2
    postgres = any(s.protocol == "postgresql" for s in server.services)
    fields = _common(person.institution, rng) | {
        "event.action": "query",
        "event.outcome": "failure" if failed else "success",
        "user.name": person.user,
        "source.ip": _source_ip(person, rng),
        "host.name": server.id,
        "db.system": "postgresql" if postgres else "mariadb",
        "db.namespace": server.id.split("-", 1)[0],
        "db.operation.name": op,
        "db.collection.name": table,
        **sql_text_fields(text, table, where_less),
        "netguard.sql.rows_sent": 0 if failed else rng.randrange(0, 5000),
        "netguard.sql.connection_id": str(rng.randrange(1, 900)),
        # Log-uniform from 10 us to 900 ms, as real query times are (most fast, a long tail), so
        # that both "fast" and "slow" duration ranges find events in a demo of a few hundred.
        "event.duration": int(10 ** rng.uniform(4, 8.95)),
        "message": f"{person.user} ran {op} on {table} ({server.id})",
    }
    if failed:
        fields["error.message"] = rng.choice(SQL_ERRORS).format(t=table)
    return fields


def _login(c: LabCounty, rng: random.Random, k: int) -> dict[str, Any]:
    person = rng.choice(c.people)
    ok = rng.random() < 0.8
    # _common draws before the source address and the login's own fields, as it always has.
    return _common(person.institution, rng) | login_fields(rng, person.user, ok, _source_ip(person, rng))


def _bastion(c: LabCounty, rng: random.Random, k: int) -> tuple[Person, Server, dict[str, Any]]:
    person = rng.choice(c.people)
    server = rng.choice(c.ssh_servers)
    return (
        person,
        server,
        _common(person.institution, rng)
        | {
            "user.name": person.user,
            "source.ip": _source_ip(person, rng),
            "destination.address": server.id,
            "destination.ip": str(server.address),
            "netguard.bastion.session_id": f"s-{k // 3:010d}",
        },
    )


def _session(c: LabCounty, rng: random.Random, k: int) -> dict[str, Any]:
    person, server, fields = _bastion(c, rng, k)
    session = fields["netguard.bastion.session_id"]
    return fields | {
        "event.action": rng.choice(("start", "end")),
        "event.outcome": "success",
        "destination.port": 22,
        "netguard.bastion.account": rng.choice(("root", "ops", "dba")),
        "netguard.bastion.channel": "shell",
        "netguard.bastion.recording": f"/var/lib/netguard/recordings/{session}.cast",
        "source.bytes": rng.randrange(100, 10**6),
        "destination.bytes": rng.randrange(100, 10**7),
        "message": f"{person.user} session to {server.id} ({server.name or server.address})",
    }


def _command(c: LabCounty, rng: random.Random, k: int) -> dict[str, Any]:
    person, server, fields = _bastion(c, rng, k)
    cmd = rng.choice(COMMANDS)
    verdict = "denied" if "shadow" in cmd or "rm -rf" in cmd else "allowed"
    return fields | {
        "event.action": rng.choice(("exec", "line")),
        "event.outcome": "failure" if verdict == "denied" else "success",
        "netguard.bastion.account": "ops",
        "process.command_line": cmd,
        "netguard.bastion.verdict": verdict,
        "message": f"{person.user} on {server.id}, {verdict}: {cmd}",
    }


def _file(c: LabCounty, rng: random.Random, k: int) -> dict[str, Any]:
    person, server, fields = _bastion(c, rng, k)
    direction = rng.choice(("upload", "download"))
    path = rng.choice(FILES)
    return fields | {
        "event.action": direction,
        "event.outcome": "success",
        "file.path": path,
        "file.size": int(10 ** rng.uniform(1.5, 7.7)),  # tens of bytes to 50 MB, evenly in magnitude
        "netguard.file.direction": direction,
        "network.protocol": rng.choice(("scp", "sftp")),
        "message": f"{person.user} {direction}ed {path} ({server.id})",
    }


def _port(switch: Switch, rng: random.Random) -> str:
    n = rng.randrange(2, 47)
    vendor = (switch.vendor or "").lower()
    if vendor == "ruijie":
        return f"GigabitEthernet 0/{n}"
    return f"GigabitEthernet{'1' if vendor == 'h3c' else '0'}/0/{n}"


def _rogue_mac(rng: random.Random) -> str:
    return rng.choice(ROGUE_OUIS) + "".join(f":{rng.randrange(256):02x}" for _ in range(3))


def _place(c: LabCounty, inst: Institution, rng: random.Random) -> dict[str, Any]:
    """Where a device is seen: the institution's switch and a port, or an ARP sweep."""
    subnet = inst.subnets[0]
    fields: dict[str, Any] = {"network.vlan.id": str(subnet.vlan) if subnet.vlan else None}
    if inst.switches:
        switch = rng.choice(inst.switches)
        fields |= {"observer.name": switch.id, "observer.ingress.interface.name": _port(switch, rng)}
    return fields


def _device(c: LabCounty, rng: random.Random, k: int) -> dict[str, Any]:
    inst = c.institution(rng)
    action = rng.choice(("seen", "seen", "seen", "new", "moved", "conflict"))
    known = inst.devices
    authorised = bool(known) and rng.random() < 0.8
    if authorised:
        device = rng.choice(known)
        mac = device.mac
        ip = _device_ip(inst, device)
        vendor_hint = device.kind
    else:
        mac = _rogue_mac(rng)
        ip = _host(inst, rng.randrange(200, 250))
        vendor_hint = "unknown"
    place = _place(c, inst, rng)
    fields = (
        _common(inst, rng)
        | place
        | {
            "event.action": action,
            "host.mac": mac,
            "host.ip": ip,
            "netguard.device.authorised": authorised,
            "netguard.device.seen_by": ["fdb", "arp-table"] if "observer.name" in place else ["arp"],
            "message": f"device {mac} ({vendor_hint}) {action} at {inst.name}",
        }
    )
    switch = next((s for s in inst.switches if s.id == place.get("observer.name")), None)
    if action == "moved" and switch is not None:
        fields["netguard.device.previous_port"] = _port(switch, rng)
    return fields


def _enforce(c: LabCounty, rng: random.Random, k: int) -> dict[str, Any]:
    inst = c.institution(rng)
    mac = _rogue_mac(rng)
    if inst.switches:
        action = rng.choice(("port-shutdown", "quarantine-vlan", "arp-isolate", "restore"))
    else:
        action = rng.choice(("arp-isolate", "restore"))
    place = _place(c, inst, rng)
    switch = next((s for s in inst.switches if s.id == place.get("observer.name")), None)
    vlan = (switch.quarantine_vlan if switch else None) or 999
    after = {"port-shutdown": "admin-down", "quarantine-vlan": f"vlan {vlan}", "arp-isolate": "isolated"}
    return (
        _common(inst, rng)
        | place
        | {
            "event.action": action,
            "event.outcome": rng.choice(("success", "success", "failure")),
            "user.name": rng.choice(OPERATORS),
            "host.mac": mac,
            "host.ip": _host(inst, rng.randrange(200, 250)),
            "netguard.enforce.journal_id": str(k),
            "netguard.enforce.state_before": "admin-up",
            "netguard.enforce.state_after": after.get(action, "admin-up"),
            "netguard.enforce.reason": "未授权终端接入 unauthorised device",
            "netguard.enforce.dry_run": rng.random() < 0.3,
            "message": f"{action} {mac} at {inst.name}",
        }
    )


def _link(c: LabCounty, rng: random.Random, k: int) -> dict[str, Any]:
    inst = c.institution(rng)
    loss, state = link_loss(rng)
    return (
        _common(inst, rng)
        | link_sample(rng, loss, state)
        | {
            "destination.address": inst.id,
            "destination.ip": str(inst.gateway),
            "netguard.link.target": inst.id,
            "message": f"link to {inst.name} ({inst.gateway}) {state}, loss {loss}%",
        }
    )


def _compliance(c: LabCounty, rng: random.Random, k: int) -> dict[str, Any]:
    switch = rng.choice(c.switches) if c.switches else None
    inst = c.institutions[switch.institution] if switch else c.institution(rng)
    target = switch.id if switch else inst.id
    control, clause, title = rng.choice(CONTROLS)
    result, outcome = compliance_result(rng)
    return (
        _common(inst, rng)
        | outcome
        | {
            "rule.id": control,
            "rule.reference": clause,
            "netguard.compliance.scan_id": f"scan-{k // 500:08d}",
            "netguard.compliance.control_id": control,
            "netguard.compliance.title": title,
            "netguard.compliance.target": target,
            "message": f"{control} on {target}: {result}",
        }
    )


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
}

# The kinds the lab county produces (the lab never deletes records); fixed, so a slot keeps its kind.
LAB_KINDS = tuple(_BUILDERS)


def county_event(county: LabCounty, slot: int, *, step_ms: int, seed: int = 7, kinds: Sequence[str] = ()) -> Event:
    """The event of time slot ``slot`` (at ``slot * step_ms``): the same inputs, the same event."""
    names = tuple(kinds) or LAB_KINDS
    kind = names[slot % len(names)]
    rng = random.Random(f"{seed}/{step_ms}/{slot}")
    fields = _BUILDERS[kind](county, rng, slot)
    return make_event(kind, fields, timestamp=slot * step_ms / 1000)


def county_events(
    county: LabCounty, count: int, *, end_ms: int, step_ms: int, seed: int = 7, kinds: Sequence[str] = ()
) -> Iterator[Event]:
    """The ``count`` slots ending at ``end_ms``, oldest first."""
    last = end_ms // step_ms
    for slot in range(last - count + 1, last + 1):
        yield county_event(county, slot, step_ms=step_ms, seed=seed, kinds=kinds)
