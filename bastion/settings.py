"""The bastion's settings (``bastion:`` in netguard.yaml), with their defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bastion.lockout import LockoutPolicy
from netguard.secrets import SecretRef


@dataclass(frozen=True)
class BastionSettings:
    data_dir: Path
    listen_host: str = "0.0.0.0"
    listen_port: int = 2222
    vault_key: SecretRef | None = None  # else a keyring file in data_dir
    rules: tuple[Path, ...] = ()  # command rule packs after the built-in one
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    auth_timeout: timedelta = timedelta(seconds=60)
    handshake_timeout: timedelta = timedelta(seconds=15)
    target_timeout: timedelta = timedelta(seconds=15)
    max_connections: int = 500
    # Recordings larger than this stop recording output (a marker says so); the session goes on.
    max_recording_bytes: int = 1 << 30

    @property
    def host_key_path(self) -> Path:
        return self.data_dir / "host_key"

    @property
    def keyring_path(self) -> Path:
        return self.data_dir / "vault.key"

    @property
    def vault_path(self) -> Path:
        return self.data_dir / "vault.json"

    @property
    def recordings_dir(self) -> Path:
        return self.data_dir / "recordings"

    @property
    def control_socket(self) -> Path:
        return self.data_dir / "control.sock"
