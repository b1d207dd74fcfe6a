"""A real OpenSSH server for the tests, on loopback, with its own keys and accounts.

Started as root (it must switch users); runs ``/usr/sbin/sshd -D -e -f CONFIG``
with its own host key, ``ListenAddress 127.0.0.1`` on a free port, ``UsePAM
no`` and ``StrictModes no`` (the test's key files live in a temporary
directory). Accounts: ``root`` by public key (the key the bastion's vault holds)
and ``ngpass`` by password (a system user created on first use, whose password
is set for each run). Stopped with SIGTERM at the end of the session.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.harness.mariadb import free_port
from tests.harness.peers import PeerUnavailable

SSHD = "/usr/sbin/sshd"
PASSWORD_USER = "ngpass"


def keygen(path: Path, kind: str = "ed25519") -> tuple[str, bytes]:
    """A new key pair at ``path``; returns the public key's type and blob."""
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(path)], check=True, capture_output=True)
    key_type, blob = path.with_suffix(".pub").read_text().split()[:2]
    return key_type, base64.b64decode(blob)


@dataclass
class Sshd:
    host: str
    port: int
    directory: Path
    host_key_type: str
    host_key: bytes
    root_key: Path  # private key that logs in as root
    password_user: str
    password: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _ensure_password_user(password: str) -> None:
    if subprocess.run(["id", PASSWORD_USER], capture_output=True, check=False).returncode != 0:
        subprocess.run(
            ["useradd", "--create-home", "--shell", "/bin/bash", PASSWORD_USER], check=True, capture_output=True
        )
    subprocess.run(["chpasswd"], input=f"{PASSWORD_USER}:{password}\n".encode(), check=True, capture_output=True)


def start_sshd(directory: Path) -> Sshd:
    if os.geteuid() != 0:
        raise PeerUnavailable("sshd needs root to switch to the test accounts")
    if not Path(SSHD).exists() or shutil.which("ssh-keygen") is None:
        raise PeerUnavailable("OpenSSH server not installed (Debian openssh-server; scripts/install-test-deps.sh)")
    directory.mkdir(parents=True, exist_ok=True)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    host_type, host_blob = keygen(directory / "ssh_host_ed25519_key")
    keygen(directory / "root_key")
    authorized = directory / "authorized_keys"
    authorized.write_text((directory / "root_key.pub").read_text())
    password = "pw-" + secrets.token_hex(8)
    _ensure_password_user(password)
    port = free_port()
    config = directory / "sshd_config"
    config.write_text(
        "\n".join(
            [
                "ListenAddress 127.0.0.1",
                f"Port {port}",
                f"HostKey {directory / 'ssh_host_ed25519_key'}",
                f"PidFile {directory / 'sshd.pid'}",
                f"AuthorizedKeysFile {authorized} .ssh/authorized_keys",
                "UsePAM no",
                "StrictModes no",
                "PermitRootLogin prohibit-password",
                "PasswordAuthentication yes",
                "KbdInteractiveAuthentication no",
                "Subsystem sftp internal-sftp",
                "AllowTcpForwarding yes",
                "MaxStartups 200",
                "MaxSessions 200",
                "LogLevel ERROR",
                "",
            ]
        )
    )
    with (directory / "sshd.log").open("wb") as log:  # sshd keeps its own copy of the descriptor
        process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PeerUnavailable(f"sshd exited: {(directory / 'sshd.log').read_text()[-500:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    break
        except OSError:
            time.sleep(0.05)
    else:
        process.kill()
        raise PeerUnavailable("sshd did not answer within 10 s")
    return Sshd(
        "127.0.0.1", port, directory, host_type, host_blob, directory / "root_key", PASSWORD_USER, password, process
    )
