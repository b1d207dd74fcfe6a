"""Host keys: the bastion's own, and the pinned keys of its targets.

The bastion's key is Ed25519, generated once by ``bastion init`` (with
``cryptography``, since paramiko cannot generate Ed25519 keys) and stored in
OpenSSH format, mode 0600. A target's key is pinned by type and blob; when
connecting, only that key type is offered in the negotiation, so a server with
several host keys presents the pinned one, and any other key is a mismatch.
Koko does not verify target keys at all, and its users asked for it.
"""

from __future__ import annotations

import io
import socket
from dataclasses import dataclass
from pathlib import Path

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bastion.directory import fingerprint
from bastion.vault import write_atomic
from netguard.errors import NetGuardError


class HostKeyError(NetGuardError):
    """A target presented another host key than the pinned one, or none is pinned."""


def create_host_key(path: Path) -> bool:
    """Write a new Ed25519 host key unless one exists; True if created."""
    if path.exists():
        return False
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    write_atomic(path, pem)
    return True


def load_host_key(path: Path) -> paramiko.PKey:
    try:
        return paramiko.Ed25519Key(filename=str(path))
    except (OSError, paramiko.SSHException) as exc:
        raise NetGuardError(f"cannot read the bastion host key {path}: {exc} (run: netguard bastion init)") from None


def load_private_key(text: str) -> paramiko.PKey:
    """A private key from the vault, whatever its type."""
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError):
            continue
    raise NetGuardError("the stored private key is not an unencrypted Ed25519, ECDSA or RSA key")


_ALGORITHMS = {"ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]}


def algorithms_for(key_type: str) -> list[str]:
    return _ALGORITHMS.get(key_type, [key_type])


@dataclass(frozen=True)
class PresentedKey:
    key_type: str
    data: bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.data)


def fetch_host_key(address: str, port: int, timeout: float = 10.0) -> PresentedKey:
    """Connect, take the server's host key, disconnect (for ``target trust``)."""
    try:
        sock = socket.create_connection((address, port), timeout=timeout)
    except OSError as exc:
        raise HostKeyError(f"cannot connect to {address}:{port}: {exc.strerror or exc}") from None
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=timeout)
        key = transport.get_remote_server_key()
        return PresentedKey(key.get_name(), key.asbytes())
    except paramiko.SSHException as exc:
        raise HostKeyError(f"{address}:{port} did not complete an SSH handshake: {exc}") from None
    finally:
        transport.close()
