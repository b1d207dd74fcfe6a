"""The one configuration file, ``netguard.yaml``.

Found by ``--config``, else ``NETGUARD_CONFIG``, else the first of
:func:`netguard.paths.config_candidates` that exists; with none, built-in
defaults apply (embedded SQLite stores under the data directory, the example
county as inventory when run from a checkout). Relative paths in the file are
relative to the file. Secrets appear only as references (see
:mod:`netguard.secrets`); this module never resolves them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from netguard.errors import ConfigError, SecretError
from netguard.paths import config_candidates, data_dir
from netguard.secrets import SecretRef, SecretResolver, parse_ref

BACKENDS = ("sqlite", "elasticsearch")
DEFAULT_GRACE_RUNS = 3


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
    events_backend: str = "sqlite"
    events_sqlite_path: Path = field(default_factory=lambda: data_dir() / "events.db")
    elasticsearch: ElasticsearchConfig = field(default_factory=ElasticsearchConfig)

    def resolver(self) -> SecretResolver:
        return SecretResolver(secrets_file=self.secrets_file)


_TOP_KEYS = {"inventory", "secrets_file", "state", "events"}
_ES_KEYS = {
    "hosts",
    "api_key",
    "username",
    "password",
    "ca_certs",
    "verify_certs",
    "index_prefix",
    "request_timeout",
    "replicas",
}


def find_config(explicit: str | Path | None) -> Path | None:
    if explicit:
        return Path(explicit)
    env = os.environ.get("NETGUARD_CONFIG")
    if env:
        return Path(env)
    for candidate in config_candidates():
        if candidate.is_file():
            return candidate
    return None


def load_config(explicit: str | Path | None = None) -> Config:
    path = find_config(explicit)
    if path is None:
        return Config()
    if not path.is_file():
        raise ConfigError(f"configuration file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.MarkedYAMLError as exc:
        # Not str(exc): it quotes the offending line, which may hold a plain: secret.
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{line}: not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError:
        raise ConfigError(f"{path}: not valid YAML") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    return parse_config(raw, path)


def _mapping(value: Any, where: str, path: Path) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: '{where}' must be a mapping")
    return value


def _unknown(keys: set[str], allowed: set[str], where: str, path: Path) -> None:
    extra = sorted(set(keys) - allowed)
    if extra:
        raise ConfigError(f"{path}: unknown key '{extra[0]}' in {where} (allowed: {', '.join(sorted(allowed))})")


def _ref(value: Any, where: str, path: Path) -> SecretRef | None:
    if value is None:
        return None
    try:
        return parse_ref(str(value))
    except SecretError as exc:
        raise ConfigError(f"{path}: {where}: {exc}") from None


def parse_config(raw: dict[str, Any], path: Path) -> Config:
    _unknown(set(raw), _TOP_KEYS, "the top level", path)
    base = path.parent

    def rel(value: Any) -> Path:
        p = Path(str(value)).expanduser()
        return p if p.is_absolute() else base / p

    state = _mapping(raw.get("state"), "state", path)
    _unknown(set(state), {"path", "grace_runs"}, "state", path)
    grace = state.get("grace_runs", Config.grace_runs)
    if not isinstance(grace, int) or isinstance(grace, bool) or grace < 0:
        raise ConfigError(f"{path}: state.grace_runs must be a whole number >= 0, not {grace!r}")
    events = _mapping(raw.get("events"), "events", path)
    _unknown(set(events), {"backend", "sqlite", "elasticsearch"}, "events", path)
    backend = str(events.get("backend", "sqlite"))
    if backend not in BACKENDS:
        raise ConfigError(f"{path}: events.backend must be one of {', '.join(BACKENDS)}, not '{backend}'")
    sqlite = _mapping(events.get("sqlite"), "events.sqlite", path)
    _unknown(set(sqlite), {"path"}, "events.sqlite", path)
    es = _mapping(events.get("elasticsearch"), "events.elasticsearch", path)
    _unknown(set(es), _ES_KEYS, "events.elasticsearch", path)
    prefix = str(es.get("index_prefix", "netguard"))
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,60}", prefix):
        raise ConfigError(
            f"{path}: events.elasticsearch.index_prefix '{prefix}' must be lower case letters, digits, - or _"
        )
    hosts = es.get("hosts", ElasticsearchConfig.hosts)
    if isinstance(hosts, str):
        hosts = [hosts]
    try:
        timeout = float(es.get("request_timeout", ElasticsearchConfig.request_timeout))
    except (TypeError, ValueError):
        raise ConfigError(f"{path}: events.elasticsearch.request_timeout must be a number") from None
    es_config = ElasticsearchConfig(
        hosts=tuple(str(h) for h in hosts),
        api_key=_ref(es.get("api_key"), "events.elasticsearch.api_key", path),
        username=str(es["username"]) if es.get("username") is not None else None,
        password=_ref(es.get("password"), "events.elasticsearch.password", path),
        ca_certs=rel(es["ca_certs"]) if es.get("ca_certs") else None,
        verify_certs=bool(es.get("verify_certs", True)),
        index_prefix=prefix,
        request_timeout=timeout,
        replicas=int(es.get("replicas", ElasticsearchConfig.replicas)),
    )
    defaults = Config()
    return Config(
        path=path,
        inventory=rel(raw["inventory"]) if raw.get("inventory") else None,
        secrets_file=rel(raw["secrets_file"]) if raw.get("secrets_file") else None,
        state_path=rel(state["path"]) if state.get("path") else defaults.state_path,
        grace_runs=grace,
        events_backend=backend,
        events_sqlite_path=rel(sqlite["path"]) if sqlite.get("path") else defaults.events_sqlite_path,
        elasticsearch=es_config,
    )
