"""A real bastion between the real OpenSSH client and a real sshd, set up through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paramiko
import pytest
from click.testing import CliRunner

from bastion.context import Bastion
from bastion.hostkeys import load_host_key
from bastion.server import Server
from bastion.service import EventWriter, build
from bastion.settings import BastionSettings
from cli import main
from netguard.events.sqlite_store import SQLiteEventStore
from netguard.hashchain import ChainKey
from netguard.secrets import SecretResolver, write_private
from tests.harness.peers import PeerUnavailable, require_peer
from tests.harness.sshd import Sshd, keygen, start_sshd


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    try:
        server = start_sshd(tmp_path_factory.mktemp("sshd"))
    except PeerUnavailable as exc:
        require_peer(f"sshd unavailable: {exc}")
    yield server
    server.stop()


@dataclass
class Lab:
    root: Path
    config: Path
    settings: BastionSettings
    bastion: Bastion
    server: Server
    port: int
    sshd: Sshd
    alice_key: Path
    known_hosts: Path
    store: SQLiteEventStore
    writer: EventWriter
    bob_password: str
    bob_totp_secret: str

    def cli(self, *args: str, stdin: str | None = None) -> tuple[int, str]:
        result = CliRunner().invoke(main, ["--config", str(self.config), *args], input=stdin)
        return result.exit_code, result.output

    def ssh_args(self, login: str, *extra: str, key: Path | None = None) -> list[str]:
        args = [
            "ssh",
            "-p",
            str(self.port),
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "ConnectTimeout=10",
            "-F",
            "/dev/null",
        ]
        if key is not None:
            args += ["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", str(key)]
        return [*args, *extra, "-l", login, "127.0.0.1"]

    def ssh(
        self,
        login: str,
        *command: str,
        key: Path | None = None,
        stdin: bytes = b"",
        timeout: float = 30,
        extra: tuple[str, ...] = (),
    ) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [*self.ssh_args(login, *extra, key=key), *command],
            input=stdin,
            capture_output=True,
            timeout=timeout,
            check=False,
        )

    def events(self, query: str) -> list[dict[str, object]]:
        self.flush()
        return [dict(e.fields) for e in self.store.iter_search(query)]

    def wait_events(self, query: str, count: int = 1, timeout: float = 15) -> list[dict[str, object]]:
        """The events once at least ``count`` match: a session's last events come after its client has gone."""
        deadline = time.monotonic() + timeout
        found = self.events(query)
        while len(found) < count and time.monotonic() < deadline:
            time.sleep(0.1)
            found = self.events(query)
        return found

    def flush(self) -> None:
        assert self.writer.flush(10)


@pytest.fixture
def lab(tmp_path: Path, sshd: Sshd) -> Iterator[Lab]:
    root = tmp_path
    (root / "state").mkdir()
    config = root / "netguard.yaml"
    journal_key = os.urandom(32).hex()
    write_private(root / "secrets.yaml", f"journal-key: {journal_key}\n")
    config.write_text(
        f"secrets_file: {root / 'secrets.yaml'}\n"
        f"state:\n  path: {root / 'state' / 'state.db'}\n  journal_key: secret:journal-key\n"
        f"events:\n  backend: sqlite\n  sqlite:\n    path: {root / 'state' / 'events.db'}\n"
    )
    runner = CliRunner()

    def cli(*args: str, stdin: str | None = None) -> str:
        result = runner.invoke(main, ["--config", str(config), *args], input=stdin, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    cli("bastion", "init")
    keygen(root / "alice")
    cli("bastion", "user", "add", "alice", "--key", str(root / "alice.pub"), "--group", "dba")
    bob_password = "bob-pw-物资-1"
    uri_file = root / "bob.otpauth"
    out = cli(
        "bastion",
        "user",
        "add",
        "bob",
        "--password",
        "--totp",
        "--totp-uri-file",
        str(uri_file),
        "--json",
        stdin=bob_password + "\n",
    )
    assert json.loads(out)["totp_uri_file"] == str(uri_file) and "secret=" not in out
    uri = uri_file.read_text().strip()
    secret = uri.split("secret=")[1].split("&")[0]
    cli("bastion", "target", "add", "his-db01", "--address", sshd.host, "--port", str(sshd.port), "--group", "db")
    cli("bastion", "target", "add", "pacs01", "--address", sshd.host, "--port", str(sshd.port))
    from bastion.directory import fingerprint

    cli("bastion", "target", "trust", "his-db01", "--fingerprint", fingerprint(sshd.host_key))
    cli("bastion", "target", "trust", "pacs01", "--fingerprint", fingerprint(sshd.host_key))
    cli("bastion", "account", "add", "his-db01", "root", "--key", str(sshd.root_key))
    cli("bastion", "account", "add", "his-db01", sshd.password_user, "--password", stdin=sshd.password + "\n")
    cli("bastion", "account", "add", "pacs01", "root", "--key", str(sshd.root_key))
    cli("bastion", "grant", "add", "@dba", "@db", "--account", "root")
    cli("bastion", "grant", "add", "bob", "his-db01", "--account", sshd.password_user)
    cli("bastion", "grant", "add", "alice", "pacs01")
    settings = BastionSettings(data_dir=root / "state" / "bastion")
    store = SQLiteEventStore(root / "state" / "events.db")
    writer = EventWriter(store, settings.event_spool)
    bastion = build(settings, root / "state" / "state.db", SecretResolver(), writer, ChainKey.from_text(journal_key))
    server = Server(bastion)
    _, port = server.bind("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host_key = load_host_key(settings.host_key_path)
    known = root / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {host_key.get_name()} {host_key.get_base64()}\n")
    env = Lab(
        root, config, settings, bastion, server, port, sshd, root / "alice", known, store, writer, bob_password, secret
    )
    yield env
    server.stop()
    writer.close()
    store.close()


def host_key_line(key: paramiko.PKey) -> str:
    return f"{key.get_name()} {key.get_base64()}"
