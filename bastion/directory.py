"""Who may reach what: users, their keys and groups, targets, accounts and grants.

All of it lives in the state store (tables ``bastion_*``, migration 4), read
fresh for every login, so a change made with ``netguard bastion ...`` takes
effect for the next session without a restart and without touching live ones.
Secrets are not here: passwords of targets' accounts, their private keys and
users' TOTP secrets are in the vault (:mod:`bastion.vault`); this module holds
only scrypt hashes of users' own passwords.
"""

from __future__ import annotations

import base64
import hashlib
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime, time

from netguard.errors import NetGuardError
from netguard.store.codec import from_db_time, opt_from_db_time, to_db_time, utcnow
from netguard.store.db import transaction

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_ACCOUNT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,31}")


class DirectoryError(NetGuardError):
    """A user, target, account or grant is unknown, duplicated or malformed."""


def check_name(value: str, what: str) -> str:
    if not _NAME.fullmatch(value):
        raise DirectoryError(f"{what} {value!r} must be letters, digits, '.', '_' or '-' (at most 64)")
    return value


def check_account(value: str) -> str:
    if not _ACCOUNT.fullmatch(value):
        raise DirectoryError(f"account {value!r} is not a valid user name on a server")
    return value


def fingerprint(key_data: bytes) -> str:
    """OpenSSH's SHA256 fingerprint of a public key blob (``SHA256:...`` without padding)."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key_data).digest()).decode().rstrip("=")


@dataclass(frozen=True)
class PublicKey:
    key_type: str
    data: bytes
    comment: str = ""

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.data)

    @classmethod
    def parse(cls, line: str, where: str) -> PublicKey:
        """One ``authorized_keys``-style line: ``TYPE BASE64 [COMMENT]``."""
        parts = line.strip().split(None, 2)
        if len(parts) < 2:
            raise DirectoryError(f"{where}: not an OpenSSH public key line")
        try:
            data = base64.b64decode(parts[1], validate=True)
        except ValueError:
            raise DirectoryError(f"{where}: the key is not valid base64") from None
        declared = data[4 : 4 + int.from_bytes(data[:4], "big")].decode("ascii", "replace") if len(data) > 4 else ""
        if declared != parts[0]:
            raise DirectoryError(f"{where}: key type {parts[0]!r} does not match the key's own ({declared!r})")
        return cls(parts[0], data, parts[2] if len(parts) > 2 else "")


@dataclass(frozen=True)
class User:
    name: str
    password_hash: str | None
    totp: bool
    totp_last_step: int | None
    disabled: bool
    created: datetime
    keys: tuple[PublicKey, ...] = ()
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    name: str
    address: str
    port: int
    host_key_type: str | None
    host_key: bytes | None
    groups: tuple[str, ...] = ()

    @property
    def host_key_fingerprint(self) -> str | None:
        return fingerprint(self.host_key) if self.host_key else None


@dataclass(frozen=True)
class Account:
    target: str
    account: str
    kind: str

    @property
    def vault_name(self) -> str:
        return vault_name(self.target, self.account)


def vault_name(target: str, account: str) -> str:
    return f"account:{target}/{account}"


def totp_vault_name(user: str) -> str:
    return f"totp:{user}"


@dataclass(frozen=True)
class Grant:
    id: int
    subject: str  # a user name, or @group
    object: str  # a target name, or @group
    account: str | None  # None: every account of the target
    valid_from: datetime | None
    valid_until: datetime | None
    hours: tuple[time, time] | None  # local time of day, start inclusive, end exclusive
    allow_forwarding: bool
    created_by: str
    created: datetime


def parse_hours(text: str) -> tuple[time, time]:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})", text.strip())
    if match is None:
        raise DirectoryError(f"hours {text!r} must look like 08:00-18:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise DirectoryError(f"hours {text!r} is not a time range of one day")
    end = time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2)
    return time(h1, m1), end


def format_hours(hours: tuple[time, time] | None) -> str:
    if hours is None:
        return ""
    return f"{hours[0]:%H:%M}-{hours[1]:%H:%M}"


class Directory:
    """The bastion's tables in one state-store connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    # -- users -----------------------------------------------------------------------------

    def add_user(self, name: str, *, password_hash: str | None, totp: bool, keys: list[PublicKey]) -> User:
        check_name(name, "user")
        with transaction(self.conn):
            if self.conn.execute("SELECT 1 FROM bastion_users WHERE name = ?", (name,)).fetchone():
                raise DirectoryError(f"user {name!r} exists already")
            self.conn.execute(
                "INSERT INTO bastion_users (name, password_hash, totp, created) VALUES (?, ?, ?, ?)",
                (name, password_hash, int(totp), to_db_time(utcnow())),
            )
            for key in keys:
                self._insert_key(name, key)
        return self.user(name)

    def _insert_key(self, user: str, key: PublicKey) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO bastion_user_keys (user, fingerprint, key_type, key_data, comment) "
            "VALUES (?,?,?,?,?)",
            (user, key.fingerprint, key.key_type, base64.b64encode(key.data).decode(), key.comment),
        )

    def add_key(self, user: str, key: PublicKey) -> None:
        self.user(user)
        with transaction(self.conn):
            self._insert_key(user, key)

    def set_password(self, user: str, password_hash: str | None, totp: bool | None = None) -> None:
        self.user(user)
        with transaction(self.conn):
            self.conn.execute("UPDATE bastion_users SET password_hash = ? WHERE name = ?", (password_hash, user))
            if totp is not None:
                self.conn.execute(
                    "UPDATE bastion_users SET totp = ?, totp_last_step = NULL WHERE name = ?", (int(totp), user)
                )

    def record_totp_step(self, user: str, step: int) -> bool:
        """Store the step of a code just accepted; False if it (or a later one) was used already."""
        with transaction(self.conn):
            cur = self.conn.execute(
                "UPDATE bastion_users SET totp_last_step = ? WHERE name = ? AND "
                "(totp_last_step IS NULL OR totp_last_step < ?)",
                (step, user, step),
            )
            return cur.rowcount == 1

    def user(self, name: str) -> User:
        found = self.find_user(name)
        if found is None:
            raise DirectoryError(f"no bastion user {name!r}")
        return found

    def find_user(self, name: str) -> User | None:
        row = self.conn.execute(
            "SELECT name, password_hash, totp, totp_last_step, disabled, created FROM bastion_users WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            return None
        keys = tuple(
            PublicKey(t, base64.b64decode(d), c)
            for t, d, c in self.conn.execute(
                "SELECT key_type, key_data, comment FROM bastion_user_keys WHERE user = ? ORDER BY fingerprint", (name,)
            )
        )
        groups = tuple(
            g for (g,) in self.conn.execute("SELECT grp FROM bastion_user_groups WHERE user = ? ORDER BY grp", (name,))
        )
        return User(row[0], row[1], bool(row[2]), row[3], bool(row[4]), from_db_time(row[5]), keys, groups)

    def users(self) -> list[User]:
        names = [n for (n,) in self.conn.execute("SELECT name FROM bastion_users ORDER BY name")]
        return [self.user(n) for n in names]

    def remove_user(self, name: str) -> None:
        self.user(name)
        with transaction(self.conn):
            self.conn.execute("DELETE FROM bastion_users WHERE name = ?", (name,))

    def set_groups(self, user: str, add: list[str], remove: list[str]) -> None:
        self.user(user)
        with transaction(self.conn):
            for grp in add:
                check_name(grp, "group")
                self.conn.execute("INSERT OR IGNORE INTO bastion_user_groups (user, grp) VALUES (?, ?)", (user, grp))
            for grp in remove:
                self.conn.execute("DELETE FROM bastion_user_groups WHERE user = ? AND grp = ?", (user, grp))

    # -- targets and accounts --------------------------------------------------------------

    def add_target(self, name: str, address: str, port: int, groups: list[str]) -> Target:
        check_name(name, "target")
        if not 0 < port < 65536:
            raise DirectoryError(f"port {port} is out of range")
        with transaction(self.conn):
            if self.conn.execute("SELECT 1 FROM bastion_targets WHERE name = ?", (name,)).fetchone():
                raise DirectoryError(f"target {name!r} exists already")
            self.conn.execute(
                "INSERT INTO bastion_targets (name, address, port, created) VALUES (?, ?, ?, ?)",
                (name, address, port, to_db_time(utcnow())),
            )
            for grp in groups:
                check_name(grp, "group")
                self.conn.execute("INSERT INTO bastion_target_groups (target, grp) VALUES (?, ?)", (name, grp))
        return self.target(name)

    def target(self, name: str) -> Target:
        found = self.find_target(name)
        if found is None:
            raise DirectoryError(f"no bastion target {name!r}")
        return found

    def find_target(self, name: str) -> Target | None:
        row = self.conn.execute(
            "SELECT name, address, port, host_key_type, host_key_data FROM bastion_targets WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            return None
        groups = tuple(
            g
            for (g,) in self.conn.execute(
                "SELECT grp FROM bastion_target_groups WHERE target = ? ORDER BY grp", (name,)
            )
        )
        key = base64.b64decode(row[4]) if row[4] else None
        return Target(row[0], row[1], int(row[2]), row[3], key, groups)

    def targets(self) -> list[Target]:
        return [self.target(n) for (n,) in self.conn.execute("SELECT name FROM bastion_targets ORDER BY name")]

    def remove_target(self, name: str) -> None:
        self.target(name)
        with transaction(self.conn):
            self.conn.execute("DELETE FROM bastion_targets WHERE name = ?", (name,))

    def pin_host_key(self, name: str, key_type: str, key: bytes) -> None:
        self.target(name)
        with transaction(self.conn):
            self.conn.execute(
                "UPDATE bastion_targets SET host_key_type = ?, host_key_data = ?, host_key_fp = ? WHERE name = ?",
                (key_type, base64.b64encode(key).decode(), fingerprint(key), name),
            )

    def add_account(self, target: str, account: str, kind: str) -> Account:
        self.target(target)
        check_account(account)
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO bastion_accounts (target, account, kind, created) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (target, account) DO UPDATE SET kind = excluded.kind",
                (target, account, kind, to_db_time(utcnow())),
            )
        return Account(target, account, kind)

    def accounts(self, target: str | None = None) -> list[Account]:
        sql = "SELECT target, account, kind FROM bastion_accounts"
        args: tuple[str, ...] = ()
        if target is not None:
            sql += " WHERE target = ?"
            args = (target,)
        return [Account(*row) for row in self.conn.execute(sql + " ORDER BY target, account", args)]

    def remove_account(self, target: str, account: str) -> bool:
        with transaction(self.conn):
            cur = self.conn.execute("DELETE FROM bastion_accounts WHERE target = ? AND account = ?", (target, account))
        return cur.rowcount == 1

    # -- grants ----------------------------------------------------------------------------

    def add_grant(
        self,
        subject: str,
        obj: str,
        *,
        account: str | None,
        valid_from: datetime | None,
        valid_until: datetime | None,
        hours: tuple[time, time] | None,
        allow_forwarding: bool,
        created_by: str,
    ) -> Grant:
        if subject.startswith("@"):
            check_name(subject[1:], "group")
        else:
            self.user(subject)
        if obj.startswith("@"):
            check_name(obj[1:], "group")
        else:
            self.target(obj)
        if account is not None:
            check_account(account)
        if valid_from and valid_until and valid_until <= valid_from:
            raise DirectoryError("--until must be after --from")
        with transaction(self.conn):
            cur = self.conn.execute(
                "INSERT INTO bastion_grants (subject, object, account, valid_from, valid_until, hours, "
                "allow_forwarding, created_by, created) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    subject,
                    obj,
                    account,
                    to_db_time(valid_from) if valid_from else None,
                    to_db_time(valid_until) if valid_until else None,
                    format_hours(hours) or None,
                    int(allow_forwarding),
                    created_by,
                    to_db_time(utcnow()),
                ),
            )
        assert cur.lastrowid is not None
        return self.grant(cur.lastrowid)

    def grant(self, grant_id: int) -> Grant:
        row = self.conn.execute(
            "SELECT id, subject, object, account, valid_from, valid_until, hours, allow_forwarding, created_by, "
            "created FROM bastion_grants WHERE id = ?",
            (grant_id,),
        ).fetchone()
        if row is None:
            raise DirectoryError(f"no grant {grant_id}")
        return _grant(row)

    def grants(self) -> list[Grant]:
        rows = self.conn.execute(
            "SELECT id, subject, object, account, valid_from, valid_until, hours, allow_forwarding, created_by, "
            "created FROM bastion_grants ORDER BY id"
        )
        return [_grant(r) for r in rows]

    def remove_grant(self, grant_id: int) -> None:
        self.grant(grant_id)
        with transaction(self.conn):
            self.conn.execute("DELETE FROM bastion_grants WHERE id = ?", (grant_id,))


def _grant(row: tuple[object, ...]) -> Grant:
    hours = parse_hours(str(row[6])) if row[6] else None
    return Grant(
        id=int(str(row[0])),
        subject=str(row[1]),
        object=str(row[2]),
        account=None if row[3] is None else str(row[3]),
        valid_from=opt_from_db_time(None if row[4] is None else str(row[4])),
        valid_until=opt_from_db_time(None if row[5] is None else str(row[5])),
        hours=hours,
        allow_forwarding=bool(row[7]),
        created_by=str(row[8]),
        created=from_db_time(str(row[9])),
    )
