"""The one configuration file, ``netguard.yaml``.

Found by ``--config``, else ``NETGUARD_CONFIG``, else the first of
:func:`netguard.paths.config_candidates` that exists; with none, built-in
defaults apply (embedded SQLite stores under the data directory, the example
county as inventory when run from a checkout). Relative paths in the file are
relative to the file. Secrets appear only as references (see
:mod:`netguard.secrets`); this module never resolves them.

The file is read as a YAML *node* tree with the inventory's line-aware reader
(:mod:`netguard.inventory.nodes`), so every problem is reported as
``file:line: path: message``, all of them at once, with "did you mean" for
unknown keys. This module reads the core keys (``inventory``,
``secrets_file``, ``state``, ``events``); each capability's section is kept as
written (:class:`~netguard.section.RawSection`) and read by the capability's
own code through :meth:`Config.section`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import yaml

from netguard.errors import ConfigError
from netguard.inventory.issues import Report
from netguard.inventory.nodes import Fields, compose, is_null, join
from netguard.paths import config_candidates, data_dir
from netguard.secrets import SecretRef, SecretResolver
from netguard.section import RawSection, RefAt, Section, SectionReader, SectionResult, read_section
from netguard.section_names import CAPABILITIES, KNOWN
from netguard.store.grace import DEFAULT_GRACE_RUNS, grace_runs_problem
from netguard.textfile import decode_utf8, read_bytes

__all__ = ["BACKENDS", "DEFAULT_GRACE_RUNS", "Config", "ElasticsearchConfig", "find_config", "load_config"]

BACKENDS = ("sqlite", "elasticsearch")
HOST_SCHEMES = ("http", "https")
_ES_KEYS = (
    "hosts",
    "api_key",
    "username",
    "password",
    "ca_certs",
    "verify_certs",
    "index_prefix",
    "request_timeout",
    "replicas",
)
T = TypeVar("T")


@dataclass(frozen=True)
class ElasticsearchConfig:
    hosts: tuple[str, ...] = ("http://127.0.0.1:9200",)
    api_key: SecretRef | None = None
    username: str | None = None
    password: SecretRef | None = None
    ca_certs: Path | None = None
    verify_certs: bool = True
    index_prefix: str = "netguard"
    request_timeout: float = 30.0
    # One replica suits a real cluster; a single-node cluster needs 0 to be green.
    replicas: int = 1


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    inventory: Path | None = None
    secrets_file: Path | None = None
    state_path: Path = field(default_factory=lambda: data_dir() / "state.db")
    # Complete collections a device may be missed in before its sighting is closed (NAV's grace).
    grace_runs: int = DEFAULT_GRACE_RUNS
    # The key of the action journal's HMAC chain; never stored in the database it protects.
    journal_key: SecretRef | None = None
    events_backend: str = "sqlite"
    events_sqlite_path: Path = field(default_factory=lambda: data_dir() / "events.db")
    elasticsearch: ElasticsearchConfig = field(default_factory=ElasticsearchConfig)
    # The capability sections as written, read through section(); the core keys' references.
    sections: tuple[RawSection, ...] = field(default=(), repr=False, compare=False)
    refs: tuple[RefAt, ...] = field(default=(), repr=False, compare=False)
    warnings: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def resolver(self) -> SecretResolver:
        return SecretResolver(secrets_file=self.secrets_file)

    def raw_section(self, name: str) -> RawSection | None:
        return next((s for s in self.sections if s.name == name), None)

    def read_section(self, spec: Section[T]) -> SectionResult[T]:
        """A capability's section with the references it holds; ConfigError at ``file:line`` if wrong."""
        file = str(self.path) if self.path else "netguard.yaml"
        base = self.path.parent if self.path else Path.cwd()
        return read_section(spec, self.raw_section(spec.name), file, base)

    def section(self, spec: Section[T]) -> T:
        """A capability's settings (its defaults when the section is absent)."""
        return self.read_section(spec).value


def find_config(explicit: str | Path | None) -> Path | None:
    if explicit:
        return Path(explicit)
    env = os.environ.get("NETGUARD_CONFIG")
    if env:
        return Path(env)
    for candidate in config_candidates():
        try:
            if candidate.is_file():
                return candidate
        except PermissionError:
            # e.g. ~/.config under a HOME this user may not enter (sudo without -H): not this
            # user's configuration; the next candidate, or the defaults, apply.
            continue
    return None


def load_config(explicit: str | Path | None = None) -> Config:
    path = find_config(explicit)
    if path is None:
        return Config()
    data = read_bytes(path, "configuration file", ConfigError)
    return parse_config(decode_utf8(data, str(path), ConfigError), path)


def parse_config(text: str, path: Path) -> Config:
    """Read the text of ``path``; every problem raised together as one ConfigError."""
    file = str(path)
    root = compose(text, file, ConfigError)
    if root is None or is_null(root):
        return Config(path=path)
    report = Report()
    r = SectionReader(file, report, path.parent)
    top = r.mapping(root, "", (), KNOWN)
    if top is None:
        report.sort()
        raise ConfigError.of([str(i) for i in report.errors])
    defaults = Config()
    state = _sub(r, top, "state", ("path", "grace_runs", "journal_key"))
    grace = DEFAULT_GRACE_RUNS
    grace_text = r.text(state, "grace_runs") if state is not None else None
    if state is not None and grace_text is not None:
        node = state.values["grace_runs"][1]
        if not re.fullmatch(r"-?[0-9]+", grace_text):
            r.error(node, "state.grace_runs", f"'{grace_text}' is not a whole number")
        elif (problem := grace_runs_problem(int(grace_text))) is not None:
            r.error(node, "state.grace_runs", problem)  # the state store's own rule
        else:
            grace = int(grace_text)
    events = _sub(r, top, "events", ("backend", "sqlite", "elasticsearch"))
    backend = (r.choice(events, "backend", BACKENDS, "events backend") if events else None) or "sqlite"
    sqlite = _sub(r, events, "sqlite", ("path",)) if events else None
    config = Config(
        path=path,
        inventory=r.path(top, "inventory"),
        secrets_file=r.path(top, "secrets_file"),
        state_path=(r.path(state, "path") if state else None) or defaults.state_path,
        grace_runs=grace,
        journal_key=r.ref(state, "journal_key") if state else None,
        events_backend=backend,
        events_sqlite_path=(r.path(sqlite, "path") if sqlite else None) or defaults.events_sqlite_path,
        elasticsearch=_elasticsearch(r, events),
        sections=tuple(RawSection(n, file, path.parent, top.values[n][1]) for n in CAPABILITIES if n in top),
        refs=tuple(r.refs),
        warnings=tuple(str(w) for w in report.warnings),
    )
    if report.errors:
        report.sort()
        raise ConfigError.of([str(i) for i in report.errors])
    return config


def _sub(r: SectionReader, parent: Fields | None, name: str, keys: tuple[str, ...]) -> Fields | None:
    """A nested mapping; absent or empty gives None (defaults apply)."""
    node = parent.get(name) if parent is not None else None
    if parent is None or node is None or is_null(node):
        return None
    return r.mapping(node, join(parent.path, name), (), keys)


def host_problem(url: str) -> str | None:
    """Why an Elasticsearch host URL is unusable, or None. Never echoes a URL that holds credentials."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "is not a URL (write it as https://HOST:PORT)"
    if "@" in parts.netloc:
        return (
            "a host URL must not carry user:password@ "
            "(credentials have their own keys: username and password, or api_key)"
        )
    if parts.scheme not in HOST_SCHEMES:
        return f"'{url}' must start with http:// or https://"
    if not parts.hostname:
        return f"'{url}' names no host"
    try:
        port = parts.port
    except ValueError:  # its text quotes the URL: not used
        port = 0
    if port == 0:
        return f"'{url}' has a port that is not a number from 1 to 65535"
    if parts.query or parts.fragment:
        return f"'{url}' must not have a query or a fragment"
    return None


def _elasticsearch(r: SectionReader, events: Fields | None) -> ElasticsearchConfig:
    es = _sub(r, events, "elasticsearch", _ES_KEYS)
    if es is None:
        return ElasticsearchConfig()
    default = ElasticsearchConfig()
    hosts: list[str] = []
    node = es.get("hosts")
    items: list[tuple[str, yaml.Node, str | None]]
    if isinstance(node, yaml.ScalarNode):  # one host may be written without a list
        items = [("events.elasticsearch.hosts", node, r.node_text(node, "events.elasticsearch.hosts"))]
    else:
        items = list(r.scalar_items(es, "hosts"))
    for where, item, text in items:
        if text is None:
            continue
        problem = host_problem(text)
        if problem is not None:
            r.error(item, where, problem)
        else:
            hosts.append(text)
    prefix = r.text(es, "index_prefix")
    if prefix is not None and not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,60}", prefix):
        r.error(
            es.values["index_prefix"][1],
            "events.elasticsearch.index_prefix",
            f"'{prefix}' must be lower case letters, digits, - or _",
        )
    timeout = r.number(es, "request_timeout", 0.1, 3600)
    replicas = r.integer(es, "replicas", 0, 100)
    verify = r.boolean(es, "verify_certs")
    return ElasticsearchConfig(
        hosts=tuple(hosts) or default.hosts,
        api_key=r.ref(es, "api_key"),
        username=r.text(es, "username"),
        password=r.ref(es, "password"),
        ca_certs=r.path(es, "ca_certs"),
        verify_certs=default.verify_certs if verify is None else verify,
        index_prefix=prefix or default.index_prefix,
        request_timeout=default.request_timeout if timeout is None else timeout,
        replicas=default.replicas if replicas is None else replicas,
    )
