"""Deciding a login: public key, or password plus (when enrolled) a TOTP code; lockout first.

paramiko asks the server interface one method at a time; this module keeps the
decisions (and their reasons, for the events) out of the SSH plumbing. A
user with a TOTP secret must give a code after the password, whichever way
the client sends the password (``password``, then ``keyboard-interactive`` for
the code; or both in one ``keyboard-interactive`` exchange). Public keys are a
single factor and are enough on their own, as in Teleport's default; an
institution that wants keys plus TOTP sets ``require_totp_with_keys``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bastion import totp
from bastion.directory import Directory, User, totp_vault_name
from bastion.lockout import Lockouts
from bastion.passwords import verify_password
from bastion.vault import Vault


@dataclass(frozen=True)
class Decision:
    ok: bool
    reason: str = ""  # why it failed, for the event (never the secret)
    locked: bool = False


def check_key(directory: Directory, user_name: str, key_type: str, key_data: bytes) -> Decision:
    user = directory.find_user(user_name)
    if user is None or user.disabled:
        return Decision(False, "unknown or disabled user")
    for key in user.keys:
        if key.key_type == key_type and key.data == key_data:
            return Decision(True)
    return Decision(False, "public key not registered")


def check_password(user: User | None, password: str) -> Decision:
    if user is None or user.disabled:
        return Decision(False, "unknown or disabled user")
    if not user.password_hash:
        return Decision(False, "no password set for this user")
    if not verify_password(password, user.password_hash):
        return Decision(False, "wrong password")
    return Decision(True)


def check_code(directory: Directory, vault: Vault, user: User, code: str, now: datetime) -> Decision:
    try:
        secret = vault.get(totp_vault_name(user.name)).decode("ascii")
    except Exception:
        return Decision(False, "TOTP secret unavailable in the vault")
    result = totp.verify(secret, code, now=now.timestamp(), last_step=user.totp_last_step)
    if not result.ok or result.step is None:
        return Decision(False, f"TOTP: {result.reason}")
    if not directory.record_totp_step(user.name, result.step):
        return Decision(False, "TOTP: code already used")
    return Decision(True)


def locked(lockouts: Lockouts, user: str, source: str, now: datetime) -> Decision | None:
    lock = lockouts.locked(user, source, now)
    if lock is None:
        return None
    return Decision(False, f"{lock.kind} locked out until {lock.until.isoformat(timespec='seconds')}", locked=True)
