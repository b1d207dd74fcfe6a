"""The credential vault: target passwords and private keys, encrypted at rest.

Each entry is sealed on its own with AES-256-GCM (authenticated: a flipped bit
or an entry copied under another name fails to open, instead of decrypting to
garbage as unauthenticated modes would). The associated data binds the
ciphertext to the vault format, the entry's name and the key id, so entries
cannot be swapped between targets or accounts.

Keys live in a *keyring* file (JSON, mode 0600) beside the vault, never in it,
or come from a secret reference holding one base64 key. The keyring makes
rotation crash-safe, in three durable steps: (1) add a new key and make it
current, (2) re-seal every entry with it and atomically replace the vault,
(3) drop the old keys. A crash after any step leaves every entry readable,
because an entry names the key that sealed it and old keys are dropped last.

Files are written to a temporary file in the same directory, fsynced and
renamed over the old one, so a reader never sees half a vault.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bastion.errors import VaultError

FORMAT = "netguard-vault-v1"
KEY_BYTES = 32
NONCE_BYTES = 12


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        raise VaultError(f"{what} is not valid base64") from None


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` in one rename, the file private from its first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _read_private_json(path: Path, what: str) -> dict[str, Any]:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise VaultError(f"{what} {path} does not exist (run: netguard bastion init)") from None
    if st.st_mode & 0o077:
        raise VaultError(f"{what} {path} is readable by others (mode {st.st_mode & 0o777:04o}); run: chmod 600 {path}")
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError):
        raise VaultError(f"{what} {path} is not valid JSON") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise VaultError(f"{what} {path} is not a {FORMAT} file")
    return data


@dataclass(frozen=True)
class VaultKey:
    id: str
    material: bytes

    def __repr__(self) -> str:
        return f"VaultKey(id={self.id!r})"


class Keyring:
    """The vault's keys: the current one seals, any of them opens."""

    def __init__(self, keys: list[VaultKey], current: str, path: Path | None = None) -> None:
        if not any(k.id == current for k in keys):
            raise VaultError("keyring's current key is missing")
        self._keys = {k.id: k for k in keys}
        self.current_id = current
        self.path = path

    def __repr__(self) -> str:
        return f"Keyring(current={self.current_id!r}, keys={len(self._keys)})"

    @classmethod
    def create(cls, path: Path) -> Keyring:
        """A new keyring with one random key; refuses to overwrite an existing file."""
        if path.exists():
            raise VaultError(f"keyring {path} exists already")
        key = _new_key()
        ring = cls([key], key.id, path)
        ring.save()
        return ring

    @classmethod
    def load(cls, path: Path) -> Keyring:
        data = _read_private_json(path, "vault keyring")
        try:
            keys = [VaultKey(str(k["id"]), _unb64(str(k["key"]), "a vault key")) for k in data["keys"]]
            current = str(data["current"])
        except (KeyError, TypeError):
            raise VaultError(f"vault keyring {path} is malformed") from None
        if any(len(k.material) != KEY_BYTES for k in keys):
            raise VaultError(f"vault keyring {path} holds a key that is not {KEY_BYTES * 8} bits")
        return cls(keys, current, path)

    @classmethod
    def from_secret(cls, value: str) -> Keyring:
        """One base64 key from a secret reference (env:, secret:, file:)."""
        material = _unb64(value.strip(), "the vault key")
        if len(material) != KEY_BYTES:
            raise VaultError(f"the vault key must be {KEY_BYTES} bytes (base64 of 32 random bytes)")
        key = VaultKey(_key_id(material), material)
        return cls([key], key.id)

    def key(self, key_id: str) -> VaultKey:
        try:
            return self._keys[key_id]
        except KeyError:
            raise VaultError(f"vault entry sealed with key {key_id}, which the keyring does not hold") from None

    @property
    def current(self) -> VaultKey:
        return self._keys[self.current_id]

    def ids(self) -> list[str]:
        return list(self._keys)

    def add_current(self) -> VaultKey:
        key = _new_key()
        self._keys[key.id] = key
        self.current_id = key.id
        self.save()
        return key

    def drop_except_current(self) -> list[str]:
        dropped = [k for k in self._keys if k != self.current_id]
        self._keys = {self.current_id: self._keys[self.current_id]}
        self.save()
        return dropped

    def save(self) -> None:
        if self.path is None:
            raise VaultError("this keyring comes from a secret reference; rotate that secret instead")
        doc = {
            "format": FORMAT,
            "current": self.current_id,
            "keys": [{"id": k.id, "key": _b64(k.material)} for k in self._keys.values()],
        }
        write_atomic(self.path, json.dumps(doc, indent=1).encode())


def _key_id(material: bytes) -> str:
    return "k-" + hashlib.sha256(b"netguard-vault-key-id\0" + material).hexdigest()[:12]


def _new_key() -> VaultKey:
    material = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    return VaultKey(_key_id(material), material)


@dataclass(frozen=True)
class EntryInfo:
    """What may be shown about an entry: never its value."""

    name: str
    kind: str
    key_id: str
    updated: str


def _aad(name: str, kind: str, key_id: str) -> bytes:
    return "\0".join((FORMAT, name, kind, key_id)).encode("utf-8")


class Vault:
    """Sealed entries by name (e.g. ``his-db01/root``), each a password or a private key."""

    KINDS = ("password", "private-key")

    def __init__(self, path: Path, keyring: Keyring) -> None:
        self.path = path
        self.keyring = keyring
        self._entries: dict[str, dict[str, str]] = {}
        if path.exists():
            data = _read_private_json(path, "vault")
            entries = data.get("entries")
            if not isinstance(entries, dict):
                raise VaultError(f"vault {path} is malformed")
            self._entries = {str(k): dict(v) for k, v in entries.items()}
        else:
            self._save()

    def __repr__(self) -> str:
        return f"Vault({str(self.path)!r}, entries={len(self._entries)})"

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def put(self, name: str, kind: str, value: bytes) -> None:
        if kind not in self.KINDS:
            raise VaultError(f"unknown vault entry kind {kind!r} (known: {', '.join(self.KINDS)})")
        self._entries[name] = self._seal(name, kind, value)
        self._save()

    def get(self, name: str) -> bytes:
        entry = self._entries.get(name)
        if entry is None:
            raise VaultError(f"no vault entry {name!r}")
        return self._open(name, entry)

    def kind(self, name: str) -> str:
        entry = self._entries.get(name)
        if entry is None:
            raise VaultError(f"no vault entry {name!r}")
        return entry["kind"]

    def remove(self, name: str) -> bool:
        if self._entries.pop(name, None) is None:
            return False
        self._save()
        return True

    def list(self) -> Iterator[EntryInfo]:
        for name in sorted(self._entries):
            e = self._entries[name]
            yield EntryInfo(name, e["kind"], e["key"], e["updated"])

    def rotate(self) -> tuple[str, int]:
        """New key, every entry re-sealed, old keys dropped; returns (new key id, entries re-sealed)."""
        plain = {name: (e["kind"], self._open(name, e)) for name, e in self._entries.items()}
        new = self.keyring.add_current()
        self._entries = {name: self._seal(name, kind, value) for name, (kind, value) in plain.items()}
        self._save()
        self.keyring.drop_except_current()
        return new.id, len(plain)

    def _seal(self, name: str, kind: str, value: bytes) -> dict[str, str]:
        key = self.keyring.current
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(key.material).encrypt(nonce, value, _aad(name, kind, key.id))
        return {
            "kind": kind,
            "key": key.id,
            "nonce": _b64(nonce),
            "data": _b64(sealed),
            "updated": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    def _open(self, name: str, entry: dict[str, str]) -> bytes:
        key = self.keyring.key(entry["key"])
        nonce = _unb64(entry["nonce"], f"vault entry {name!r}")
        sealed = _unb64(entry["data"], f"vault entry {name!r}")
        try:
            return AESGCM(key.material).decrypt(nonce, sealed, _aad(name, entry["kind"], key.id))
        except InvalidTag:
            raise VaultError(f"vault entry {name!r} fails authentication: altered, moved, or the wrong key") from None

    def _save(self) -> None:
        doc = {"format": FORMAT, "entries": self._entries}
        write_atomic(self.path, json.dumps(doc, indent=1, sort_keys=True).encode())
