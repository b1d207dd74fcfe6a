"""The bastion's settings (``bastion:`` in netguard.yaml), with their defaults.

::

    bastion:
      data_dir: /var/lib/netguard/bastion   # default: "bastion" beside the state store
      listen: 0.0.0.0:2222
      vault_key: secret:bastion-vault-key   # default: a keyring file in data_dir
      rules: [/etc/netguard/rules/commands-local.yaml]
      lockout: {max_failures: 5, window_minutes: 15, lock_minutes: 30}
      max_recording_mb: 1024
      client_ciphers: [aes128-gcm@openssh.com, aes256-gcm@openssh.com, aes128-ctr]   # default: AES-GCM only
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

import yaml

from bastion.lockout import LockoutPolicy
from netguard.secrets import SecretRef
from netguard.section import Section, SectionReader

# What a client may be offered: AEAD, then CTR; never CBC, 3DES or "none".
ALLOWED_CLIENT_CIPHERS = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
)
# What it is offered by default: AES-GCM only. An OpenSSH client picks by its own preference
# (chacha20-poly1305, which paramiko lacks, then aes*-ctr with an HMAC, then AES-GCM), so with
# CTR on offer every OpenSSH client lands on CTR + HMAC. Measured in the serve process
# (bench/results/bastion.txt): a CTR + HMAC client leg costs the bastion ~25 % more CPU per
# byte relayed than AES-GCM (two passes per 32 KiB packet instead of one AEAD call), and the
# bastion's throughput is bound by its CPU. Clients without AES-GCM (PuTTY before 0.76, 2021)
# need "aes128-ctr" added to bastion.client_ciphers.
CLIENT_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")


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
    client_ciphers: tuple[str, ...] = CLIENT_CIPHERS

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
    def event_spool(self) -> Path:
        return self.data_dir / "event-spool.db"

    @property
    def control_socket(self) -> Path:
        return self.data_dir / "control.sock"


@dataclass(frozen=True)
class BastionSection:
    """What ``bastion:`` in netguard.yaml says; :func:`settings` fills in the defaults."""

    data_dir: Path | None = None
    listen_host: str = "0.0.0.0"
    listen_port: int = 2222
    vault_key: SecretRef | None = None
    rules: tuple[Path, ...] = ()
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    max_recording_bytes: int = 1 << 30
    client_ciphers: tuple[str, ...] = CLIENT_CIPHERS


def parse_listen(text: str) -> tuple[str, int] | None:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host.strip("[]") or "0.0.0.0", int(port)


def _parse(r: SectionReader, node: yaml.Node) -> BastionSection | None:
    keys = ("data_dir", "listen", "vault_key", "rules", "lockout", "max_recording_mb", "client_ciphers")
    f = r.mapping(node, "bastion", (), keys)
    if f is None:
        return None
    section = BastionSection(data_dir=r.path(f, "data_dir"), vault_key=r.ref(f, "vault_key"))
    listen_text = r.text(f, "listen")
    if listen_text is not None:
        listen = parse_listen(listen_text)
        listen_node = f.get("listen")
        assert listen_node is not None
        if listen is None:
            r.error(listen_node, "bastion.listen", f"'{listen_text}' is not HOST:PORT")
        else:
            section = replace(section, listen_host=listen[0], listen_port=listen[1])
    rules = []
    for path, item, text in r.scalar_items(f, "rules"):
        rule_path = Path(text).expanduser()
        rules.append(rule_path if rule_path.is_absolute() else r.base / rule_path)
        del path, item
    section = replace(section, rules=tuple(rules))
    lockout_node = f.get("lockout")
    if lockout_node is not None:
        lf = r.mapping(lockout_node, "bastion.lockout", (), ("max_failures", "window_minutes", "lock_minutes"))
        if lf is not None:
            policy = LockoutPolicy()
            failures = r.integer(lf, "max_failures", 1, 100)
            window = r.integer(lf, "window_minutes", 1, 24 * 60)
            lock = r.integer(lf, "lock_minutes", 1, 7 * 24 * 60)
            section = replace(
                section,
                lockout=LockoutPolicy(
                    max_failures=failures or policy.max_failures,
                    window=timedelta(minutes=window) if window else policy.window,
                    lock=timedelta(minutes=lock) if lock else policy.lock,
                ),
            )
    size = r.integer(f, "max_recording_mb", 1, 1 << 20)
    if size is not None:
        section = replace(section, max_recording_bytes=size << 20)
    ciphers = []
    for cipher_path, item, text in r.scalar_items(f, "client_ciphers"):
        if text not in ALLOWED_CLIENT_CIPHERS:
            r.error(item, cipher_path, f"'{text}' is not one of {', '.join(ALLOWED_CLIENT_CIPHERS)}")
        elif text not in ciphers:
            ciphers.append(text)
    if ciphers:
        section = replace(section, client_ciphers=tuple(ciphers))
    return section


BASTION = Section("bastion", BastionSection, _parse)


def settings(section: BastionSection, state_path: Path) -> BastionSettings:
    """The settings a server runs with: the section, and the state store's directory for the default data_dir."""
    return BastionSettings(
        data_dir=section.data_dir or state_path.parent / "bastion",
        listen_host=section.listen_host,
        listen_port=section.listen_port,
        vault_key=section.vault_key,
        rules=section.rules,
        lockout=section.lockout,
        max_recording_bytes=section.max_recording_bytes,
        client_ciphers=section.client_ciphers,
    )
