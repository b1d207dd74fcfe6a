"""SQL risk rules (``rules/packs/sql.yaml`` plus the institutions' packs) behind the Classifier interface.

The rules engine evaluates a rule's condition over *facts*. The facts of a
statement come in two sorts, and the split is what keeps the cost per event
small at 50,000 statements a second:

* **shape facts** follow from the analysis (one per distinct masked shape) and
  the database: statement type, tables, columns, WHERE/LIMIT, ``SELECT *``, and
  which tables and columns the configuration marks sensitive there;
* **context facts** follow from the single execution: user, client address and
  its inventory role, the local hour, weekday and working hours, rows sent.

A rule whose condition names only shape facts (``Rule.facts``, found when the
pack is loaded) is evaluated once per (analysis, database) and its matches are
cached. The other rules are evaluated per distinct *context key*: the shape
plus only the raw inputs those rules read (the user if a rule reads ``user``
or ``privileged``, the client if one reads ``client_role``, the local hour,
weekday and working-hours flag if one reads time, ...). A HIS workload repeats
the same user, client and hour millions of times, so after warm-up a statement
costs a tuple and one dict lookup (the local time is converted once per timestamp object); the rules
themselves (and the inventory lookup of the client, itself cached) run on
misses only. Number facts (``rows_sent``, ``rows_examined``, ``hour``,
``weekday``) enter the key as their bucket among the thresholds the loaded
rules compare them with (:mod:`audit.fact_buckets`: ``rows_sent > 1000`` makes
three buckets, below, at and above 1000), not as the raw number, so a slow log's
row counts do not defeat the cache. Both caches are cleared when they outgrow
:data:`CACHE_LIMIT`, so memory stays bounded. Cache keys use the identity of
the analysis object and each entry holds that object, so an id is never
reused while its entry lives. Verdicts are interned (one object per distinct
set of matches), so a caller may key its own caches by a verdict's identity.

Facts missing from a statement (no client in the log, no inventory
configured, no timestamp) are absent, and a test of an absent fact is false:
"access from an unknown address" never fires without an inventory to know
the addresses by.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Callable, Mapping
from operator import attrgetter
from typing import Any

from audit.analysis import Analysis
from audit.fact_buckets import Buckets, bucketers, thresholds
from audit.records import Statement
from audit.risk import RuleMatch, Verdict, account_change, verdict_of
from audit.risk_settings import ANY_DATABASE, RiskSettings, Sensitive
from audit.settings import AUDIT
from audit.timestamps import in_second, second_of
from netguard.config import Config
from netguard.inventory import Inventory, load_inventory
from rules.engine import RuleSet
from rules.loader import builtin_pack, load_or_raise
from rules.model import Domain, Rule

CACHE_LIMIT = 50_000

SHAPE_FACTS: Mapping[str, str] = {
    "statement_type": "text",  # SELECT, UPDATE, DROP, DROP USER, GRANT, CREATE USER, SET PASSWORD ...
    "operation": "text",  # the first word of the type: DROP for DROP USER
    "db": "text",  # the database the statement ran in, as logged
    "tables": "list",  # as written, schema-qualified when written so
    "columns_read": "list",
    "columns_written": "list",
    "where_less": "bool",  # UPDATE or DELETE without WHERE
    "has_limit": "bool",
    "select_star": "bool",
    "joins": "number",
    "statements": "number",  # more than one when one log entry held several
    "parse_error": "text",  # why sqlglot could not parse it (absent when it could)
    "account_change": "bool",  # GRANT, REVOKE, CREATE/ALTER/DROP/RENAME USER or ROLE, SET PASSWORD
    "sensitive_tables": "list",  # tables it touches that the configuration marks sensitive
    "sensitive_columns": "list",  # sensitive columns it reads (by name, in those databases)
}
CONTEXT_FACTS: Mapping[str, str] = {
    "user": "text",
    "client": "text",  # address or host name as logged
    "client_role": "text",  # application, bastion, other-server, local, unknown (needs an inventory)
    "privileged": "bool",  # the user is one of audit.privileged_users
    "hour": "number",  # local hour 0-23
    "weekday": "number",  # 1 Monday ... 7 Sunday
    "working_hours": "bool",  # inside audit.working_hours
    "rows_sent": "number",
    "rows_examined": "number",
    "outcome": "text",  # success, failure, unknown
    "application": "text",  # PostgreSQL application_name
}
SQL_DOMAIN = Domain("sql", {**SHAPE_FACTS, **CONTEXT_FACTS}, "SQL statements from database logs")

_TIME_FACTS = frozenset({"hour", "weekday", "working_hours"})
_NUMBER_FACTS = frozenset(f for f, kind in CONTEXT_FACTS.items() if kind == "number")
# Raw inputs of the context facts: a context key holds only those the loaded rules read.
_INPUTS: Mapping[str, str] = {
    "user": "user",
    "privileged": "user",
    "client": "client",
    "client_role": "client",
    "hour": "time",
    "weekday": "time",
    "working_hours": "time",
    "rows_sent": "rows_sent",
    "rows_examined": "rows_examined",
    "outcome": "outcome",
    "application": "application",
}
_UNSET = "\0unset"
_LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[local]", "localhost.localdomain"})


def _time_part(used: frozenset[str], fact: str, buckets: Mapping[str, Buckets | None]) -> Callable[[Any], Any]:
    """How an hour or weekday enters the context key: not at all if no rule reads it, else bucketed or raw."""
    if fact not in used:
        return _nothing
    found = buckets.get(fact)
    return found.__getitem__ if found is not None else _same


def _nothing(_: Any) -> None:
    return None


def _same(value: Any) -> Any:
    return value


def load_sql_rules(settings: RiskSettings) -> RuleSet:
    """The built-in pack, then the configured ones; RulesInvalid (every error with file and line) if any is wrong."""
    return load_or_raise([builtin_pack("sql"), *settings.rules], SQL_DOMAIN)


class ClientRoles:
    """The role of a client address, from the inventory's servers.

    A loopback address is ``local`` (a session on the database server itself)
    unless an institution's subnet holds it, as in a lab built on loopback.
    """

    def __init__(self, inventory: Inventory, application_roles: frozenset[str]) -> None:
        self._networks = [net for inst in inventory.institutions for net in inst.networks]
        self._roles: dict[str, str] = {}
        for server in inventory.servers():
            if server.role == "bastion":
                role = "bastion"
            elif server.role in application_roles:
                role = "application"
            else:
                role = "other-server"
            for address in (server.address, *(s.address for s in server.services)):
                self._roles.setdefault(str(address), role)

    def role(self, client: str | None) -> str | None:
        if not client:
            return None
        try:
            address = ipaddress.ip_address(client.strip("[]"))
        except ValueError:
            return "local" if client.casefold() in _LOCAL_NAMES else "unknown"
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        known = self._roles.get(str(address))
        if known is not None:
            return known
        if address.is_loopback and not any(address in net for net in self._networks):
            return "local"
        return "unknown"


def _match(rule: Rule) -> RuleMatch:
    return RuleMatch(rule.id, rule.title, rule.severity.value, ", ".join(rule.references), rule.pack or "sql")


def _evaluate(rules: tuple[Rule, ...], facts: Mapping[str, Any]) -> tuple[RuleMatch, ...]:
    matched = []
    for rule in rules:
        try:
            hit = rule.matches(facts)
        except (TypeError, ValueError, OverflowError):
            hit = False  # a number test on a value of another type (or past float's range): no match
        if hit:
            matched.append(_match(rule))
    return tuple(matched)


class SqlClassifier:
    """Classifier (audit.risk) over a SQL rule set; see the module docstring for the caching."""

    def __init__(self, rules: RuleSet, settings: RiskSettings, clients: ClientRoles | None = None) -> None:
        self.settings = settings
        self.clients = clients
        self._shape_rules = tuple(r for r in rules if r.facts <= SHAPE_FACTS.keys())
        self._context_rules = tuple(r for r in rules if not r.facts <= SHAPE_FACTS.keys())
        used = frozenset().union(*(r.facts for r in self._context_rules)) & CONTEXT_FACTS.keys()
        if clients is None:
            used -= {"client_role"}  # never known without an inventory: not worth a key
        self._context_facts = tuple(sorted(used))
        hours = settings.working_hours
        self._zone = hours.zone()
        self._days, self._start, self._end = hours.days, hours.start, hours.end
        self._needs_time = bool(used & _TIME_FACTS)
        # Number facts go into the key as their bucket among the rules' thresholds (audit/fact_buckets.py).
        buckets = bucketers(thresholds(self._context_rules, used & _NUMBER_FACTS))
        self._rows_sent = buckets.get("rows_sent")
        self._rows_examined = buckets.get("rows_examined")
        self._hour = _time_part(used, "hour", buckets)
        self._weekday = _time_part(used, "weekday", buckets)
        self._working = "working_hours" in used
        bucketed = {f for f, b in buckets.items() if b is not None and _INPUTS[f] != "time"}
        fields = sorted({_INPUTS[f] for f in used - bucketed} - {"time"})
        self._fields: Callable[[Statement], Any] | None = attrgetter(*fields) if fields else None
        self._shapes: dict[tuple[int, str | None], tuple[Analysis, dict[str, Any], tuple[RuleMatch, ...], Verdict]] = {}
        self._contexts: dict[tuple[Any, ...], tuple[Analysis, Verdict]] = {}
        self._roles: dict[str | None, str | None] = {}
        self._verdicts: dict[tuple[RuleMatch, ...], Verdict] = {}
        # The parsers often hand out one datetime per logged second: its local time is converted once.
        self._last_time: tuple[dt.datetime | None, tuple[int, int, bool] | None] = (None, None)
        self._last_key: tuple[dt.datetime | None, int | None] = (None, None)
        self._key_second: tuple[dt.datetime | None, int | None] = (None, None)  # second_of the last key's time
        self._time_codes: dict[tuple[Any, ...], int] = {}  # at most 24 x 7 x 2 entries

    @property
    def shape_only(self) -> bool:
        """True when no loaded rule reads a per-execution fact: the verdict can be cached with the shape."""
        return not self._context_rules

    def classify(self, statement: Statement, analysis: Analysis) -> Verdict:
        if not self._context_rules:
            return self._shape(statement, analysis)[3]
        # The hot path: one key of the shape and the raw inputs the context rules read, one lookup.
        fields, sent, examined = self._fields, self._rows_sent, self._rows_examined
        ckey = (
            id(analysis),
            statement.db,
            fields(statement) if fields is not None else None,
            self._time_key(statement.ts) if self._needs_time else None,
            sent[statement.rows_sent] if sent is not None else None,
            examined[statement.rows_examined] if examined is not None else None,
        )
        found = self._contexts.get(ckey)
        if found is not None and found[0] is analysis:
            return found[1]
        shape = self._shape(statement, analysis)
        if len(self._contexts) >= CACHE_LIMIT:
            self._contexts.clear()
        facts = {**shape[1], **self.context_facts(statement)}
        verdict = self._verdict(shape[2] + _evaluate(self._context_rules, facts))
        self._contexts[ckey] = (analysis, verdict)
        return verdict

    def _shape(
        self, statement: Statement, analysis: Analysis
    ) -> tuple[Analysis, dict[str, Any], tuple[RuleMatch, ...], Verdict]:
        key = (id(analysis), statement.db)
        shape = self._shapes.get(key)
        if shape is None or shape[0] is not analysis:
            if len(self._shapes) >= CACHE_LIMIT:
                self._shapes.clear()
            facts = self.shape_facts(analysis, statement.db)
            matches = _evaluate(self._shape_rules, facts)
            shape = self._shapes[key] = (analysis, facts, matches, self._verdict(matches))
        return shape

    def _verdict(self, matches: tuple[RuleMatch, ...]) -> Verdict:
        """One Verdict object per distinct set of matches, so callers can cache by its identity.

        The verdicts stay a handful per shape: the pipeline renders each one once (audit/pipeline.py).
        """
        verdict = self._verdicts.get(matches)
        if verdict is None:
            if len(self._verdicts) >= CACHE_LIMIT:
                self._verdicts.clear()
            verdict = self._verdicts[matches] = verdict_of(matches)
        return verdict

    # --- facts
    def _local_time(self, ts: dt.datetime | None) -> tuple[int, int, bool] | None:
        """Local hour, ISO weekday, and whether that is inside working hours."""
        if ts is None:
            return None
        last = self._last_time
        if ts is last[0]:
            return last[1]
        local = ts.astimezone(self._zone) if self._zone is not None else ts
        hour = local.hour
        weekday = local.isoweekday()
        minute = hour * 60 + local.minute
        found = hour, weekday, weekday in self._days and self._start <= minute < self._end
        self._last_time = (ts, found)
        return found

    def _time_key(self, ts: dt.datetime | None) -> int | None:
        """The time in the context key: hour and weekday bucketed, working hours only if a rule reads them.

        As a small int (one per distinct combination, numbered as met): cheaper to hash than a tuple.
        """
        last = self._last_key
        if ts is last[0]:
            return last[1]
        # A new time in the same second (PostgreSQL's %m: one per statement) has the same local time.
        second = self._key_second
        if ts is not None and second[0] is not None and in_second(ts, second[0]):
            self._last_key = (ts, second[1])
            return second[1]
        local = self._local_time(ts)
        key = None
        if local is not None:
            parts = (self._hour(local[0]), self._weekday(local[1]), self._working and local[2])
            key = self._time_codes.setdefault(parts, len(self._time_codes))
        self._last_key = (ts, key)
        self._key_second = (None if ts is None else second_of(ts), key)
        return key

    def _role(self, client: str | None) -> str | None:
        if self.clients is None:
            return None
        role = self._roles.get(client, _UNSET)
        if role is _UNSET:
            if len(self._roles) >= CACHE_LIMIT:
                self._roles.clear()
            role = self._roles[client] = self.clients.role(client)
        return role

    def _sensitive_for(self, names: tuple[str | None, ...]) -> list[Sensitive]:
        wanted = {n.casefold() for n in names if n} | {ANY_DATABASE}
        return [v for k, v in self.settings.sensitive.items() if k in wanted]

    def shape_facts(self, a: Analysis, db: str | None) -> dict[str, Any]:
        """The facts that follow from the statement's shape in database ``db``."""
        sensitive_tables = []
        sensitive_columns: set[str] = set()
        column_sets: list[frozenset[str]] = [s.columns for s in self._sensitive_for((db,))]
        for table in a.tables:
            schema, _, name = table.rpartition(".")
            entries = self._sensitive_for((db, schema.rpartition(".")[2] if schema else None))
            if any(name.casefold() in e.tables for e in entries):
                sensitive_tables.append(table)
            column_sets.extend(e.columns for e in entries)
        for column in a.columns_read:
            bare = column.rpartition(".")[2].casefold()
            if any(bare in cols for cols in column_sets):
                sensitive_columns.add(column)
        facts: dict[str, Any] = {
            "statement_type": a.statement_type,
            "operation": a.statement_type.split(" ")[0],
            "tables": list(a.tables),
            "columns_read": list(a.columns_read),
            "columns_written": list(a.columns_written),
            "where_less": a.where_less,
            "has_limit": a.has_limit,
            "select_star": a.select_star,
            "joins": a.joins,
            "statements": a.statements,
            "account_change": account_change(a.statement_type),
            "sensitive_tables": sensitive_tables,
            "sensitive_columns": sorted(sensitive_columns),
        }
        if db is not None:
            facts["db"] = db
        if a.parse_error is not None:
            facts["parse_error"] = a.parse_error
        return facts

    def context_facts(self, s: Statement) -> dict[str, Any]:
        """The facts of this one execution (only those some loaded rule reads)."""
        facts: dict[str, Any] = {}
        needed = self._context_facts
        if "user" in needed:
            facts["user"] = s.user
        if "privileged" in needed and s.user is not None:
            facts["privileged"] = s.user in self.settings.privileged_users
        if "client" in needed:
            facts["client"] = s.client
        if "client_role" in needed and self.clients is not None:
            facts["client_role"] = self._role(s.client)
        if _TIME_FACTS.intersection(needed):
            local = self._local_time(s.ts)
            if local is not None:
                facts["hour"], facts["weekday"], facts["working_hours"] = local
        for name in ("rows_sent", "rows_examined", "outcome", "application"):
            if name in needed:
                facts[name] = getattr(s, name)
        return facts


def sql_classifier(settings: RiskSettings, inventory: Inventory | None) -> SqlClassifier:
    """The classifier for these settings; without an inventory no rule can know a client's role."""
    clients = ClientRoles(inventory, settings.application_roles) if inventory is not None else None
    return SqlClassifier(load_sql_rules(settings), settings, clients)


def classifiers_for(config: Config) -> Callable[[], SqlClassifier]:
    """New classifiers as ``netguard.yaml`` describes (its ``audit`` risk keys and its inventory, if any).

    The rules and the inventory are read once; each call makes a classifier with its own caches,
    one per pipeline (log followers run on threads of their own).
    """
    settings = config.section(AUDIT).risk
    rules = load_sql_rules(settings)
    inventory = load_inventory(config.inventory) if config.inventory is not None else None
    clients = ClientRoles(inventory, settings.application_roles) if inventory is not None else None
    return lambda: SqlClassifier(rules, settings, clients)


def classifier_for(config: Config) -> SqlClassifier:
    return classifiers_for(config)()
