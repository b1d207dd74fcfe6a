"""Every kind of event NetGuard writes, and every field each kind may carry.

One field has one type everywhere: Elasticsearch searches many indices at once
and a field mapped two ways would break that, so fields are declared once in
:data:`FIELDS` and kinds refer to them by name. Names follow ECS where ECS has
the field (``@timestamp``, ``event.*``, ``user.name``, ``source.ip``,
``host.mac``, ``related.*``) and OpenTelemetry's ``db.*``; the rest live under
``netguard.*``.

Field types decide both the Elasticsearch mapping and how a query term is
matched, identically in both backends:

``keyword``  exact, case-sensitive; ``*``/``?`` wildcards are case-sensitive
``text``     free text (messages, SQL, command lines, paths): a term matches
             when it occurs anywhere in the value, case-insensitively
``long`` ``double`` ``date``  exact or ranges
``ip``       exact or CIDR (``source.ip:10.1.0.0/16``)
``boolean``  ``true`` / ``false``
``ordinal``  a keyword with ordered levels, so ``risk:>=high`` is a range
``mac``      a keyword kept as ``aa:bb:cc:dd:ee:ff``; any usual spelling finds it
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from enum import StrEnum


class FieldType(StrEnum):
    KEYWORD = "keyword"
    TEXT = "text"
    LONG = "long"
    DOUBLE = "double"
    DATE = "date"
    IP = "ip"
    BOOLEAN = "boolean"
    ORDINAL = "ordinal"
    MAC = "mac"


RISK_LEVELS = ("info", "low", "medium", "high", "critical")

# Longest string kept in one field. Elasticsearch cannot index a keyword term
# over 32766 bytes; 8000 characters stay under it even for 4-byte UTF-8. Longer
# values are cut and the event lists the field in ``netguard.truncated``.
MAX_STRING = 8000
# A long field's range: Elasticsearch's long, a signed 64-bit integer (as SQLite's INTEGER).
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    description: str
    array: bool = False
    levels: tuple[str, ...] = ()


K, T, L, D, DT, IP, B = (
    FieldType.KEYWORD,
    FieldType.TEXT,
    FieldType.LONG,
    FieldType.DOUBLE,
    FieldType.DATE,
    FieldType.IP,
    FieldType.BOOLEAN,
)

_FIELD_LIST: tuple[Field, ...] = (
    # --- common to every kind
    Field("@timestamp", DT, "When it happened (UTC, millisecond precision)."),
    Field(
        "event.id",
        K,
        "Deterministic id: a hash of the event's content, or of source, file and offset for an event read "
        "from a log, so a re-sent or re-read event is not stored twice.",
    ),
    Field("event.kind", K, "ECS event.kind: event, state (compliance findings) or alert."),
    Field(
        "event.category", K, "ECS category: database, authentication, session, process, file, network, configuration."
    ),
    Field("event.type", K, "ECS type: access, start, end, info, change, connection, denied, allowed, creation."),
    Field("event.action", K, "What happened, e.g. query, login, exec, upload, seen, port-shutdown, sample, check."),
    Field("event.outcome", K, "success, failure or unknown."),
    Field("event.duration", L, "Duration in nanoseconds (ECS)."),
    Field("netguard.kind", K, "The NetGuard event kind (sql, bastion-login, ..., compliance); one index family each."),
    Field("organization.id", K, "Inventory id of the institution concerned."),
    Field("organization.name", K, "Name of the institution concerned (usually Chinese)."),
    Field("netguard.tier", K, "Tier of the institution: county, township or village."),
    Field("netguard.township", K, "Township the institution belongs to."),
    Field("related.ip", IP, "Every IP address in the event (ECS), for pivoting.", array=True),
    Field("related.user", K, "Every user name in the event (ECS).", array=True),
    Field("related.hosts", K, "Every host name or address in the event (ECS).", array=True),
    Field("rule.id", K, "Id of the rule or control that matched."),
    Field("rule.name", K, "Name of the rule or control."),
    Field("rule.reference", K, "The 等保2.0 clause (GB/T 22239-2019), e.g. 8.1.3.1 b)."),
    Field("rule.ruleset", K, "The rule pack the rule comes from."),
    Field("netguard.risk", FieldType.ORDINAL, "Risk level: info < low < medium < high < critical.", levels=RISK_LEVELS),
    Field("tags", K, "Free labels.", array=True),
    Field("message", T, "One human-readable line describing the event."),
    Field("error.message", T, "Why it failed, when it did."),
    Field("netguard.truncated", K, "Fields cut to the maximum length (8000 characters).", array=True),
    Field("log.file.path", K, "The log file an event was read from."),
    Field("log.offset", L, "Byte offset of the event in that file."),
    Field("host.name", K, "The host concerned (database server, bastion, device)."),
    # --- who and where
    Field("user.name", K, "The account that acted: database user, bastion user, operator."),
    Field("source.ip", IP, "Where the actor connected from."),
    Field("source.port", L, "Source port."),
    Field("source.bytes", L, "Bytes sent by the client."),
    Field("destination.address", K, "Target host name or address."),
    Field("destination.ip", IP, "Target IP address."),
    Field("destination.port", L, "Target port."),
    Field("destination.bytes", L, "Bytes sent by the target."),
    Field("network.protocol", K, "Application protocol: ssh, scp, sftp, icmp, tcp, snmp."),
    # --- database audit (OpenTelemetry db.* semantic conventions)
    Field("db.system", K, "mysql, mariadb or postgresql."),
    Field("db.namespace", K, "The database (schema) name."),
    Field("db.operation.name", K, "SELECT, INSERT, UPDATE, DELETE, DROP, GRANT, ..."),
    Field("db.collection.name", K, "The main table the statement touches."),
    Field("db.query.text", T, "The statement, with literals masked (PII redacted)."),
    Field("netguard.sql.fingerprint", K, "pt-query-digest compatible fingerprint."),
    Field("netguard.sql.fingerprint_id", K, "MD5 of the fingerprint (the same id pt-query-digest prints)."),
    Field("netguard.sql.tables", K, "Every table the statement reads or writes.", array=True),
    Field("netguard.sql.where_less", B, "UPDATE or DELETE without a WHERE clause."),
    Field("netguard.sql.rows_sent", L, "Rows returned."),
    Field("netguard.sql.rows_examined", L, "Rows examined."),
    Field("netguard.sql.connection_id", K, "Server connection (thread) id."),
    # --- bastion
    Field("netguard.auth.method", K, "publickey, password or keyboard-interactive."),
    Field("netguard.auth.factors", K, "Factors presented, e.g. publickey, totp.", array=True),
    Field("netguard.auth.failure_reason", K, "bad-password, unknown-user, locked-out, bad-totp, ..."),
    Field("netguard.bastion.session_id", K, "The bastion session."),
    Field("netguard.bastion.account", K, "The account used on the target."),
    Field("netguard.bastion.channel", K, "shell, exec, sftp, scp, direct-tcpip."),
    Field("netguard.bastion.recording", K, "Path of the asciicast v2 recording."),
    Field("netguard.bastion.recording_sha256", K, "SHA-256 of the finished recording."),
    Field("netguard.bastion.verdict", K, "For a command: allowed, denied or warned."),
    Field("netguard.bastion.terminated_by", K, "Officer who killed the session, if one did."),
    Field("process.command_line", T, "The command as typed or requested."),
    Field("file.path", T, "Path of the transferred file on the target."),
    Field("file.size", L, "Size in bytes."),
    Field("file.hash.sha256", K, "SHA-256 of the transferred content."),
    Field("netguard.file.direction", K, "upload or download."),
    # --- devices and switches (Netdisco/NAV domain: device, port, node)
    Field("host.mac", FieldType.MAC, "MAC address, stored as aa:bb:cc:dd:ee:ff."),
    Field("host.ip", IP, "IP address the MAC was seen with."),
    Field("netguard.device.vendor", K, "Vendor from the OUI."),
    Field("netguard.device.kind", K, "pc, printer, medical-device, ... (from the inventory)."),
    Field(
        "netguard.device.authorised", B, "Whether the device is authorised (inventory or an allow rule) or a switch."
    ),
    Field(
        "netguard.device.status",
        K,
        "The verdict: authorised, infrastructure, unknown, denied or conflict (rule.id names the rule that decided).",
    ),
    Field("netguard.device.rules", K, "Every device policy rule that matched, in load order.", array=True),
    Field("netguard.device.seen_by", K, "arp (sweep), fdb, arp-table, lldp.", array=True),
    Field("netguard.device.previous_port", K, "For a move: the switch port it was on before."),
    Field("netguard.device.conflicting_mac", FieldType.MAC, "For an IP conflict: the other MAC claiming the address."),
    Field("observer.name", K, "The switch (or collector) that saw it."),
    Field("observer.ingress.interface.name", K, "Switch port, e.g. GigabitEthernet0/0/7."),
    Field("network.vlan.id", K, "VLAN id (ECS keeps it as a keyword)."),
    # --- enforcement
    Field("netguard.enforce.journal_id", K, "Action journal entry."),
    Field(
        "netguard.enforce.chain_head",
        K,
        "The journal entry's keyed chain hash: an independent copy that journal verification compares against.",
    ),
    Field("netguard.enforce.state_before", K, "Port or VLAN state before, e.g. admin-up, vlan 20."),
    Field("netguard.enforce.state_after", K, "State after, e.g. admin-down, vlan 999."),
    Field("netguard.enforce.reason", T, "Why the operator acted."),
    Field("netguard.enforce.dry_run", B, "True when nothing was changed (no --apply)."),
    # --- links
    Field("netguard.link.target", K, "Name of the link checked (institution → data centre)."),
    Field("netguard.link.probe", K, "icmp, tcp or snmp."),
    Field("netguard.link.loss", D, "Packet loss in percent (0-100)."),
    Field("netguard.link.rtt_avg_ms", D, "Mean round-trip time in ms."),
    Field("netguard.link.rtt_max_ms", D, "Worst round-trip time in ms."),
    Field("netguard.link.jitter_ms", D, "Mean deviation of round-trip times in ms."),
    Field("netguard.link.state", K, "up, degraded or down."),
    Field("netguard.link.previous_state", K, "State before a state change."),
    Field("netguard.link.uplink.state", K, "The uplink ports' part of the verdict: up, degraded, down or unknown."),
    Field("netguard.link.uplink.oper_status", K, "An uplink port's ifOperStatus (up, down, lowerLayerDown ...)."),
    Field("netguard.link.uplink.utilisation_pct", D, "Busier direction's share of the port speed, in percent."),
    Field("netguard.link.uplink.in_bps", D, "Bits per second received on the uplink port."),
    Field("netguard.link.uplink.out_bps", D, "Bits per second sent on the uplink port."),
    Field("netguard.link.uplink.errors_per_s", D, "Errors per second on the uplink port, in + out."),
    Field("netguard.link.uplink.discards_per_s", D, "Discards per second on the uplink port, in + out."),
    Field("netguard.link.uplink.counters", K, "Octet counters used: 64-bit (ifHC*) or 32-bit."),
    # --- compliance
    Field("netguard.compliance.scan_id", K, "The scan that produced the finding."),
    Field("netguard.compliance.control_id", K, "Control id in the rule pack."),
    Field("netguard.compliance.title", T, "Control title."),
    Field("netguard.compliance.result", K, "pass, fail, na or error."),
    Field("netguard.compliance.target", K, "What was checked (institution, switch, server)."),
    Field("netguard.compliance.evidence", T, "What the check saw."),
    # --- deletions of audit records (等保2.0 8.1.4.3 c)
    Field("netguard.deletion.store", K, "The event store deleted from: sqlite:PATH or elasticsearch:HOSTS."),
    Field("netguard.deletion.before", DT, "The cut-off: events older than this were deleted."),
    Field("netguard.deletion.older_than", K, "The age asked for, as given (200d)."),
    Field("netguard.deletion.matched", L, "Events older than the cut-off when the deletion started."),
    Field("netguard.deletion.removed", L, "Events the deletion removed (counted before and after)."),
    Field("netguard.deletion.indices", L, "Elasticsearch indices dropped."),
    Field("netguard.deletion.forced", B, "Whether --force overrode the retention limit."),
)

FIELDS: dict[str, Field] = {f.name: f for f in _FIELD_LIST}

COMMON_FIELDS: tuple[str, ...] = (
    "@timestamp",
    "event.id",
    "event.kind",
    "event.category",
    "event.type",
    "event.action",
    "event.outcome",
    "event.duration",
    "netguard.kind",
    "organization.id",
    "organization.name",
    "netguard.tier",
    "netguard.township",
    "related.ip",
    "related.user",
    "related.hosts",
    "rule.id",
    "rule.name",
    "rule.reference",
    "rule.ruleset",
    "netguard.risk",
    "tags",
    "message",
    "error.message",
    "netguard.truncated",
    "log.file.path",
    "log.offset",
    "host.name",
)


@dataclass(frozen=True)
class EventKind:
    """One kind of event: one Elasticsearch index family, one mapping."""

    name: str
    title: str
    category: str
    actions: dict[str, str]  # action -> default ECS event.type
    fields: tuple[str, ...]
    ecs_kind: str = "event"
    produced_by: str = ""
    allowed: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowed", frozenset(COMMON_FIELDS) | frozenset(self.fields))


# Records of deletions from the event store: written before and after each one, never purged themselves.
DELETION_KIND = "deletion"
_WHO = ("user.name", "source.ip", "source.port")
_SESSION = (
    "netguard.bastion.session_id",
    "netguard.bastion.account",
    "destination.address",
    "destination.ip",
    "destination.port",
)
_PLACE = ("host.mac", "host.ip", "observer.name", "observer.ingress.interface.name", "network.vlan.id")

KINDS: dict[str, EventKind] = {
    k.name: k
    for k in (
        EventKind(
            "sql",
            "SQL statement",
            "database",
            {"query": "access"},
            (
                *_WHO,
                "db.system",
                "db.namespace",
                "db.operation.name",
                "db.collection.name",
                "db.query.text",
                "netguard.sql.fingerprint",
                "netguard.sql.fingerprint_id",
                "netguard.sql.tables",
                "netguard.sql.where_less",
                "netguard.sql.rows_sent",
                "netguard.sql.rows_examined",
                "netguard.sql.connection_id",
                "destination.address",
                "destination.port",
            ),
            produced_by="audit",
        ),
        EventKind(
            "bastion-login",
            "Bastion login",
            "authentication",
            {"login": "start", "logout": "end"},
            (
                *_WHO,
                "netguard.auth.method",
                "netguard.auth.factors",
                "netguard.auth.failure_reason",
                "netguard.bastion.session_id",
            ),
            produced_by="bastion",
        ),
        EventKind(
            "bastion-session",
            "Bastion session",
            "session",
            {"start": "start", "end": "end", "kill": "end", "denied": "denied"},
            (
                *_WHO,
                *_SESSION,
                "netguard.bastion.channel",
                "netguard.bastion.recording",
                "netguard.bastion.recording_sha256",
                "netguard.bastion.terminated_by",
                "source.bytes",
                "destination.bytes",
                "network.protocol",
            ),
            produced_by="bastion",
        ),
        EventKind(
            "bastion-command",
            "Bastion command",
            "process",
            {"exec": "start", "line": "info"},
            (*_WHO, *_SESSION, "process.command_line", "netguard.bastion.verdict", "netguard.bastion.channel"),
            produced_by="bastion",
        ),
        EventKind(
            "file-transfer",
            "File transfer",
            "file",
            {"upload": "creation", "download": "access"},
            (
                *_WHO,
                *_SESSION,
                "file.path",
                "file.size",
                "file.hash.sha256",
                "netguard.file.direction",
                "network.protocol",
            ),
            produced_by="bastion",
        ),
        EventKind(
            "device",
            "Device sighting",
            "network",
            {"seen": "info", "new": "creation", "moved": "change", "conflict": "info", "gone": "deletion"},
            (
                *_PLACE,
                "netguard.device.vendor",
                "netguard.device.kind",
                "netguard.device.authorised",
                "netguard.device.status",
                "netguard.device.rules",
                "netguard.device.seen_by",
                "netguard.device.previous_port",
                "netguard.device.conflicting_mac",
            ),
            produced_by="netguard.discovery",
        ),
        EventKind(
            "enforcement",
            "Eviction or restore",
            "configuration",
            {"port-shutdown": "change", "quarantine-vlan": "change", "arp-isolate": "change", "restore": "change"},
            (
                *_PLACE,
                "user.name",
                "netguard.enforce.journal_id",
                "netguard.enforce.chain_head",
                "netguard.enforce.state_before",
                "netguard.enforce.state_after",
                "netguard.enforce.reason",
                "netguard.enforce.dry_run",
            ),
            produced_by="netguard.enforce",
        ),
        EventKind(
            "link",
            "Link sample or state change",
            "network",
            {"sample": "info", "state-change": "change"},
            (
                "destination.address",
                "destination.ip",
                "destination.port",
                "netguard.link.target",
                "netguard.link.probe",
                "netguard.link.loss",
                "netguard.link.rtt_avg_ms",
                "netguard.link.rtt_max_ms",
                "netguard.link.jitter_ms",
                "netguard.link.state",
                "netguard.link.previous_state",
                "netguard.link.uplink.state",
                "netguard.link.uplink.oper_status",
                "netguard.link.uplink.utilisation_pct",
                "netguard.link.uplink.in_bps",
                "netguard.link.uplink.out_bps",
                "netguard.link.uplink.errors_per_s",
                "netguard.link.uplink.discards_per_s",
                "netguard.link.uplink.counters",
                "network.protocol",
                "observer.name",
                "observer.ingress.interface.name",
            ),
            produced_by="netguard.links",
        ),
        EventKind(
            "compliance",
            "Compliance finding",
            "configuration",
            {"check": "info"},
            (
                "netguard.compliance.scan_id",
                "netguard.compliance.control_id",
                "netguard.compliance.title",
                "netguard.compliance.result",
                "netguard.compliance.target",
                "netguard.compliance.evidence",
            ),
            ecs_kind="state",
            produced_by="netguard.compliance",
        ),
        EventKind(
            DELETION_KIND,
            "Deletion of audit records",
            "configuration",
            {"purge": "deletion"},
            (
                "user.name",
                "netguard.deletion.store",
                "netguard.deletion.before",
                "netguard.deletion.older_than",
                "netguard.deletion.matched",
                "netguard.deletion.removed",
                "netguard.deletion.indices",
                "netguard.deletion.forced",
            ),
            produced_by="netguard.events.deletions",
        ),
    )
}

# Short names people type; each resolves to one field.
ALIASES: dict[str, str] = {
    "kind": "netguard.kind",
    "action": "event.action",
    "outcome": "event.outcome",
    "category": "event.category",
    "risk": "netguard.risk",
    "user": "user.name",
    "org": "organization.name",
    "institution": "organization.id",
    "tier": "netguard.tier",
    "township": "netguard.township",
    "mac": "host.mac",
    "sql": "db.query.text",
    "table": "netguard.sql.tables",
    "command": "process.command_line",
    "session": "netguard.bastion.session_id",
    "clause": "rule.reference",
    "switch": "observer.name",
    "port": "observer.ingress.interface.name",
    "vlan": "network.vlan.id",
    "bytes": "file.size",
}

# A bare term (no field) searches these.
DEFAULT_TEXT_FIELDS: tuple[str, ...] = tuple(f.name for f in _FIELD_LIST if f.type is FieldType.TEXT)


def resolve_field(name: str) -> Field | None:
    return FIELDS.get(ALIASES.get(name, name))


def closest_field(name: str) -> str | None:
    """A suggestion for a mistyped field name."""
    candidates = list(FIELDS) + list(ALIASES)
    match = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return match[0] if match else None


def kind_fields(kind: EventKind) -> list[Field]:
    return [FIELDS[name] for name in sorted(kind.allowed)]
