"""Putting a bastion together from the configuration: files, vault, rules, events.

Used by ``netguard bastion ...`` (commands/bastion.py) and by the tests, so
both build the server the same way.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastion.command_rules import COMMAND_DOMAIN
from bastion.context import Bastion
from bastion.hostkeys import create_host_key, load_host_key
from bastion.settings import BastionSettings
from bastion.vault import Keyring, Vault
from netguard.events import EventStore, make_event
from netguard.events.sink import EventSink, SinkFull
from netguard.hashchain import ChainKey
from netguard.secrets import SecretResolver
from rules.engine import RuleSet
from rules.loader import builtin_pack, load_or_raise

log = logging.getLogger("netguard.bastion")


@dataclass(frozen=True)
class InitReport:
    created: tuple[str, ...]
    kept: tuple[str, ...]


def init(settings: BastionSettings) -> InitReport:
    """Create the data directory, host key, keyring, vault and recordings folder; keep what exists."""
    created: list[str] = []
    kept: list[str] = []

    def note(path: Path, made: bool) -> None:
        (created if made else kept).append(str(path))

    for directory in (settings.data_dir, settings.recordings_dir):
        made = not directory.exists()
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(directory, 0o700)
        note(directory, made)
    note(settings.host_key_path, create_host_key(settings.host_key_path))
    if settings.vault_key is None:
        made = not settings.keyring_path.exists()
        if made:
            Keyring.create(settings.keyring_path)
        note(settings.keyring_path, made)
    made = not settings.vault_path.exists()
    if made:
        open_vault(settings, SecretResolver())
    note(settings.vault_path, made)
    return InitReport(tuple(created), tuple(kept))


def open_vault(settings: BastionSettings, resolver: SecretResolver) -> Vault:
    if settings.vault_key is not None:
        keyring = Keyring.from_secret(resolver.resolve(settings.vault_key).reveal())
    else:
        keyring = Keyring.load(settings.keyring_path)
    return Vault(settings.vault_path, keyring)


def load_rules(settings: BastionSettings) -> RuleSet:
    return load_or_raise([builtin_pack("bastion-commands"), *settings.rules], COMMAND_DOMAIN)


class EventWriter:
    """The server's events, built from fields and handed to the event sink.

    The sink (:mod:`netguard.events.sink`) batches them in the background and,
    while the event store is unreachable (an Elasticsearch outage), keeps them
    in a spool on local disk and sends them when it is back: a bastion session
    never waits on the store and no event is lost. ``flush`` waits until
    everything handed in before it is durable (tests and shutdown use it).
    """

    def __init__(self, store: EventStore, spool_path: Path) -> None:
        self.sink = EventSink(store, spool_path, name="bastion-events")
        self.host_name = os.uname().nodename  # once, not a system call per event
        self.failed = 0

    def __call__(self, kind: str, fields: dict[str, Any]) -> None:
        try:
            event = make_event(kind, {**fields, "host.name": fields.get("host.name") or self.host_name})
            self.sink.submit([event])
        except SinkFull:
            # The store is down and the spool full: the sink has already counted and logged the
            # refusal; a session is not stopped for it.
            self.failed += 1
        except Exception:
            # A malformed event is a bug to log, never a crash of the session that produced it.
            log.exception("bastion event of kind %s could not be built", kind)
            self.failed += 1

    def flush(self, timeout: float = 30.0) -> bool:
        return self.sink.flush(timeout)

    def close(self) -> None:
        self.sink.close()


def build(
    settings: BastionSettings,
    state_path: Path,
    resolver: SecretResolver,
    emit: Any,
    chain_key: ChainKey | None,
) -> Bastion:
    bastion = Bastion(
        settings=settings,
        state_path=state_path,
        vault=open_vault(settings, resolver),
        rules=load_rules(settings),
        emit=emit,
        chain_key=chain_key,
    )
    bastion.host_key = load_host_key(settings.host_key_path)
    return bastion
