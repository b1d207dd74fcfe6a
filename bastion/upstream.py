"""The bastion's own SSH connection to a target, with the pinned host key and the vault's credentials."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import paramiko

from bastion.directory import Target
from bastion.hostkeys import HostKeyError, PresentedKey, algorithms_for, load_private_key
from netguard.errors import NetGuardError

PREFERRED_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr", "aes256-ctr")


class UpstreamError(NetGuardError):
    """The target could not be reached or refused the stored credentials."""


@dataclass(frozen=True)
class Credential:
    kind: str  # "password" or "private-key"
    value: bytes

    def __repr__(self) -> str:
        return f"Credential({self.kind}, ********)"


def connect(target: Target, account: str, credential: Credential, timeout: float) -> paramiko.Transport:
    """An authenticated transport to ``account@target``; raises HostKeyError on a key mismatch."""
    if target.host_key is None or target.host_key_type is None:
        raise HostKeyError(
            f"target {target.name} has no pinned host key (run: netguard bastion target trust {target.name})"
        )
    try:
        sock = socket.create_connection((target.address, target.port), timeout=timeout)
    except OSError as exc:
        raise UpstreamError(
            f"cannot connect to {target.name} ({target.address}:{target.port}): {exc.strerror or exc}"
        ) from None
    sock.settimeout(None)
    transport = paramiko.Transport(sock)
    try:
        options = transport.get_security_options()
        options.key_types = algorithms_for(target.host_key_type)
        # As the client we choose: AES-GCM first (one AEAD call per packet instead of a cipher
        # plus a separate HMAC, measurably faster in paramiko), CTR with HMAC for older servers.
        options.ciphers = PREFERRED_CIPHERS
        transport.start_client(timeout=timeout)
        presented = transport.get_remote_server_key()
        got = PresentedKey(presented.get_name(), presented.asbytes())
        if (got.key_type, got.data) != (target.host_key_type, target.host_key):
            raise HostKeyError(
                f"target {target.name} presented host key {got.fingerprint} ({got.key_type}), "
                f"not the pinned {target.host_key_fingerprint}: refused"
            )
        if credential.kind == "password":
            transport.auth_password(account, credential.value.decode("utf-8"))
        else:
            transport.auth_publickey(account, load_private_key(credential.value.decode("utf-8")))
        if not transport.is_authenticated():
            raise UpstreamError(f"{target.name} refused the stored credentials of {account}")
        return transport
    except paramiko.AuthenticationException:
        transport.close()
        raise UpstreamError(f"{target.name} refused the stored credentials of {account}") from None
    except paramiko.SSHException as exc:
        transport.close()
        if "no acceptable host key" in str(exc).lower() or "incompatible" in str(exc).lower():
            raise HostKeyError(
                f"target {target.name} offers no {target.host_key_type} host key any more (pinned "
                f"{target.host_key_fingerprint}): refused"
            ) from None
        raise UpstreamError(f"SSH with {target.name} failed: {exc}") from None
    except BaseException:
        transport.close()
        raise
