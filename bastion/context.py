"""What a running bastion server shares between its threads: settings, vault, rules, events, live sessions.

Built once by ``netguard bastion serve`` (:mod:`bastion.service`). paramiko
calls into the server from several threads, and SQLite connections belong to
one thread, so each thread gets its own connection to the state store on
first use; the directory, lockouts and session log are views over it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paramiko

from bastion.directory import Directory
from bastion.live import Registry
from bastion.lockout import Lockouts
from bastion.sessions import SessionLog
from bastion.settings import BastionSettings
from bastion.vault import Vault
from netguard.hashchain import ChainKey
from netguard.store.db import connect as db_connect
from rules.engine import RuleSet

Emit = Callable[[str, dict[str, Any]], None]


@dataclass
class Bastion:
    """Everything a running server needs; built once by ``netguard bastion serve``."""

    settings: BastionSettings
    state_path: Path
    vault: Vault
    rules: RuleSet
    emit: Emit
    chain_key: ChainKey | None
    registry: Registry = field(default_factory=Registry)
    host_key: paramiko.PKey | None = None
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def db(self) -> sqlite3.Connection:
        """This thread's own connection to the state store (paramiko calls us from several threads)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = db_connect(self.state_path)
            self._local.conn = conn
        return conn

    def directory(self) -> Directory:
        return Directory(self.db())

    def lockouts(self) -> Lockouts:
        return Lockouts(self.db(), self.settings.lockout)

    def sessions(self) -> SessionLog:
        return SessionLog(self.db(), self.chain_key)


def now() -> datetime:
    return datetime.now(UTC)
