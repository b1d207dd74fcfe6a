"""The bastion's SSH server: one thread accepts, one paramiko transport per connection,
one thread per session channel.

A connection authenticates as a bastion user (:mod:`bastion.auth`); each
session channel it opens then asks for a shell, an exec or the SFTP
subsystem. The login name picks the target (``alice:root@his-db01``) or, for
a shell, the menu does. The bastion opens its own SSH connection to the
target with the vault's credential and the pinned host key
(:mod:`bastion.upstream`) and relays (:mod:`bastion.pump`), recording the
session (:mod:`bastion.live`) and auditing commands and transfers on the way.

Robustness: paramiko's banner, handshake and auth timeouts bound a stalled
client; every connection runs in its own threads and every failure in them
ends that connection only (logged as an event where it means something);
the number of simultaneous connections is bounded.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sqlite3
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paramiko

from bastion import auth
from bastion.command_rules import command_facts
from bastion.commandline import CommandTracker
from bastion.directory import Directory, User, vault_name
from bastion.hostkeys import HostKeyError
from bastion.live import LiveSession, Registry
from bastion.lockout import Lockouts
from bastion.login import LoginName, parse_login
from bastion.menu import run_menu
from bastion.policy import Access, allowed, resolve
from bastion.pump import Hooks, relay
from bastion.sessions import SessionLog, SessionRecord
from bastion.settings import BastionSettings
from bastion.sftp_audit import FileOperation, SftpAuditor, Transfer
from bastion.upstream import Credential, connect
from bastion.vault import Vault
from netguard.errors import NetGuardError
from netguard.hashchain import ChainKey
from netguard.store.db import connect as db_connect
from rules.engine import RuleSet
from rules.model import Action

log = logging.getLogger("netguard.bastion")
Emit = Callable[[str, dict[str, Any]], None]
REQUEST_TIMEOUT = 30.0
# paramiko's constants, typed (paramiko ships no type information).
AUTH_SUCCESSFUL: int = paramiko.AUTH_SUCCESSFUL
AUTH_FAILED: int = paramiko.AUTH_FAILED
AUTH_PARTIALLY_SUCCESSFUL: int = paramiko.AUTH_PARTIALLY_SUCCESSFUL
OPEN_SUCCEEDED: int = paramiko.OPEN_SUCCEEDED
OPEN_FAILED_UNKNOWN_CHANNEL_TYPE: int = paramiko.OPEN_FAILED_UNKNOWN_CHANNEL_TYPE
OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED: int = paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
ENV_ALLOWED = ("LANG", "LC_")


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


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _ChannelState:
    ready: threading.Event = field(default_factory=threading.Event)
    kind: str = ""  # shell, exec, subsystem
    command: str = ""
    term: str = "xterm"
    width: int = 80
    height: int = 24
    pty: bool = False
    env: dict[str, str] = field(default_factory=dict)
    resize: Callable[[int, int], None] | None = None


class Connection(paramiko.ServerInterface):  # type: ignore[misc]
    """One client connection: authentication and channel requests (called from paramiko's thread)."""

    def __init__(self, bastion: Bastion, source_ip: str, source_port: int) -> None:
        self.bastion = bastion
        self.source_ip = source_ip
        self.source_port = source_port
        self.login: LoginName | None = None
        self.user: User | None = None
        self.method = ""
        self.factors: list[str] = []
        self._password_ok_for: str | None = None
        self._interactive_stage = ""
        self.channels: dict[int, _ChannelState] = {}
        self.accesses: list[Access] = []
        # direct-tcpip channels granted at open time: chanid -> (access, origin, destination)
        self.forwards: dict[int, tuple[Access, tuple[str, int], tuple[str, int]]] = {}

    # -- authentication ---------------------------------------------------------------------------

    def get_allowed_auths(self, username: str) -> str:
        if self._password_ok_for == username:
            return "keyboard-interactive"
        return "publickey,keyboard-interactive,password"

    def _locked(self, name: str) -> bool:
        decision = auth.locked(self.bastion.lockouts(), name, self.source_ip, _now())
        if decision is not None:
            self._login_event(name, False, decision.reason)
            return True
        return False

    def _fail(self, name: str, method: str, reason: str) -> int:
        locks = self.bastion.lockouts().failure(name, self.source_ip, _now())
        self._login_event(name, False, reason, method)
        for lock in locks:
            self.bastion.emit(
                "bastion-login",
                {
                    "event.action": "login",
                    "event.outcome": "failure",
                    "user.name": name,
                    "source.ip": self.source_ip,
                    "netguard.auth.failure_reason": f"{lock.kind} {lock.key} locked out until "
                    f"{lock.until.isoformat(timespec='seconds')}",
                    "netguard.risk": "high",
                    "message": f"bastion lockout of {lock.kind} {lock.key}",
                },
            )
        return AUTH_FAILED

    def _succeed(self, username: str, method: str, factors: list[str]) -> int:
        login = parse_login(username)
        directory = self.bastion.directory()
        user = directory.find_user(login.user)
        if user is None:
            return self._fail(login.user, method, "unknown user")
        self.login, self.user, self.method, self.factors = login, user, method, factors
        self.bastion.lockouts().success(login.user, self.source_ip)
        self.accesses = allowed(user, directory.targets(), directory.accounts(), directory.grants(), _now())
        self._login_event(login.user, True, "", method)
        return AUTH_SUCCESSFUL

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        login = parse_login(username)
        if self._locked(login.user):
            return AUTH_FAILED
        decision = auth.check_key(self.bastion.directory(), login.user, key.get_name(), key.asbytes())
        if not decision.ok:
            return AUTH_FAILED  # clients try several keys: not a failure until all fail
        return self._succeed(username, "publickey", ["publickey"])

    def check_auth_password(self, username: str, password: str) -> int:
        login = parse_login(username)
        if self._locked(login.user):
            return AUTH_FAILED
        user = self.bastion.directory().find_user(login.user)
        decision = auth.check_password(user, password)
        if not decision.ok:
            return self._fail(login.user, "password", decision.reason)
        assert user is not None
        if user.totp:
            self._password_ok_for = username
            return AUTH_PARTIALLY_SUCCESSFUL
        return self._succeed(username, "password", ["password"])

    def check_auth_interactive(self, username: str, submethods: str) -> int | paramiko.InteractiveQuery:
        login = parse_login(username)
        if self._locked(login.user):
            return AUTH_FAILED
        self._interactive_user = username
        if self._password_ok_for == username:
            self._interactive_stage = "code"
            return paramiko.InteractiveQuery("", "", ("Verification code: ", False))
        self._interactive_stage = "password"
        return paramiko.InteractiveQuery("", "", ("Password: ", False))

    def check_auth_interactive_response(self, responses: list[str]) -> int | paramiko.InteractiveQuery:
        username = self._interactive_user
        login = parse_login(username)
        directory = self.bastion.directory()
        user = directory.find_user(login.user)
        if self._interactive_stage == "password":
            decision = auth.check_password(user, responses[0] if responses else "")
            if not decision.ok:
                return self._fail(login.user, "keyboard-interactive", decision.reason)
            assert user is not None
            if not user.totp:
                return self._succeed(username, "keyboard-interactive", ["password"])
            self._password_ok_for = username
            self._interactive_stage = "code"
            return paramiko.InteractiveQuery("", "", ("Verification code: ", False))
        if self._interactive_stage == "code" and user is not None and self._password_ok_for == username:
            decision = auth.check_code(directory, self.bastion.vault, user, responses[0] if responses else "", _now())
            if not decision.ok:
                self._password_ok_for = None
                return self._fail(login.user, "totp", decision.reason)
            return self._succeed(username, "password+totp", ["password", "totp"])
        return AUTH_FAILED

    def _login_event(self, name: str, ok: bool, reason: str, method: str = "") -> None:
        self.bastion.emit(
            "bastion-login",
            {
                "event.action": "login",
                "event.outcome": "success" if ok else "failure",
                "user.name": name,
                "source.ip": self.source_ip,
                "source.port": self.source_port,
                "netguard.auth.method": method or None,
                "netguard.auth.factors": list(self.factors) if ok else None,
                "netguard.auth.failure_reason": reason or None,
                "message": f"bastion login {'succeeded' if ok else 'failed'} for {name} from {self.source_ip}"
                + (f": {reason}" if reason else ""),
            },
        )

    # -- channels -------------------------------------------------------------------------------

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            self.channels[chanid] = _ChannelState()
            return OPEN_SUCCEEDED
        if kind == "direct-tcpip":
            return OPEN_SUCCEEDED  # decided in check_channel_direct_tcpip_request
        return OPEN_FAILED_UNKNOWN_CHANNEL_TYPE

    def check_channel_direct_tcpip_request(
        self, chanid: int, origin: tuple[str, int], destination: tuple[str, int]
    ) -> int:
        # Forwarding goes through the target (as `ssh -L` does on the target itself), only on a
        # login that names the target and only when a grant for it allows forwarding.
        access = (
            resolve(self.accesses, self.login.target, self.login.account)
            if self.login is not None and self.login.target is not None
            else None
        )
        if access is None or not access.allow_forwarding:
            self._denied("port forwarding", f"direct-tcpip to {destination[0]}:{destination[1]}")
            return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        self.forwards[chanid] = (access, (str(origin[0]), int(origin[1])), (str(destination[0]), int(destination[1])))
        return OPEN_SUCCEEDED

    def check_port_forward_request(self, address: str, port: int) -> bool:
        self._denied("remote port forwarding", f"tcpip-forward {address}:{port}")
        return False

    def check_channel_forward_agent_request(self, channel: paramiko.Channel) -> bool:
        self._denied("agent forwarding", "auth-agent-req")
        return False

    def check_channel_x11_request(self, channel: paramiko.Channel, *args: Any) -> bool:
        self._denied("X11 forwarding", "x11-req")
        return False

    def _denied(self, what: str, detail: str) -> None:
        self.bastion.emit(
            "bastion-session",
            {
                "event.action": "denied",
                "event.outcome": "failure",
                "user.name": self.login.user if self.login else None,
                "source.ip": self.source_ip,
                "netguard.bastion.channel": "direct-tcpip" if "direct" in detail else None,
                "netguard.risk": "medium",
                "message": f"{what} refused ({detail}): no grant allows it",
            },
        )

    def check_channel_pty_request(
        self,
        channel: paramiko.Channel,
        term: bytes | str,
        width: int,
        height: int,
        pixelwidth: int,
        pixelheight: int,
        modes: bytes,
    ) -> bool:
        state = self.channels.get(channel.get_id())
        if state is None:
            return False
        state.pty = True
        state.term = term.decode("ascii", "replace") if isinstance(term, bytes) else str(term)
        # ``ssh -tt`` without a terminal asks for 0x0; programs then assume 80x24, and a 1-column
        # pty makes bash's line editor misbehave (seen: it exited on Ctrl-U), so give it 80x24.
        state.width, state.height = (width or 80), (height or 24)
        return True

    def check_channel_env_request(self, channel: paramiko.Channel, name: bytes | str, value: bytes | str) -> bool:
        state = self.channels.get(channel.get_id())
        key = name.decode("ascii", "replace") if isinstance(name, bytes) else name
        if state is None or not key.startswith(ENV_ALLOWED):
            return False
        state.env[key] = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        return True

    def _request(self, channel: paramiko.Channel, kind: str, command: str = "") -> bool:
        state = self.channels.get(channel.get_id())
        if state is None or state.ready.is_set():
            return False
        state.kind, state.command = kind, command
        state.ready.set()
        return True

    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        return self._request(channel, "shell")

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        return self._request(channel, "exec", command.decode("utf-8", "replace"))

    def check_channel_subsystem_request(self, channel: paramiko.Channel, name: str) -> bool:
        if name != "sftp":
            return False
        return self._request(channel, "sftp")

    def check_channel_window_change_request(
        self, channel: paramiko.Channel, width: int, height: int, pixelwidth: int, pixelheight: int
    ) -> bool:
        state = self.channels.get(channel.get_id())
        if state is None:
            return False
        state.width, state.height = (width or 80), (height or 24)
        if state.resize is not None:
            state.resize(state.width, state.height)
        return True


class Server:
    """Listens, and serves each connection in threads of its own."""

    def __init__(self, bastion: Bastion) -> None:
        self.bastion = bastion
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._slots = threading.BoundedSemaphore(bastion.settings.max_connections)
        self._transports: set[paramiko.Transport] = set()
        self._lock = threading.Lock()

    def bind(self, host: str, port: int) -> tuple[str, int]:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise NetGuardError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        sock.listen(128)
        self._sock = sock
        bound = sock.getsockname()
        return str(bound[0]), int(bound[1])

    def serve_forever(self) -> None:
        assert self._sock is not None, "bind() first"
        while not self._stop.is_set():
            try:
                client, addr = self._sock.accept()
            except OSError:
                if self._stop.is_set():
                    return
                continue
            if not self._slots.acquire(blocking=False):
                client.close()  # at capacity: refuse at once rather than queue a flood
                continue
            threading.Thread(target=self._connection, args=(client, addr), daemon=True, name="bastion-conn").start()

    def stop(self) -> None:
        self._stop.set()
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
            self._sock.close()
        with self._lock:
            transports = list(self._transports)
        for transport in transports:
            transport.close()

    def _connection(self, client: socket.socket, addr: tuple[Any, ...]) -> None:
        transport: paramiko.Transport | None = None
        try:
            settings = self.bastion.settings
            client.settimeout(settings.handshake_timeout.total_seconds())
            transport = paramiko.Transport(client)
            transport.local_version = "SSH-2.0-NetGuard_Bastion"
            transport.banner_timeout = settings.handshake_timeout.total_seconds()
            transport.handshake_timeout = settings.handshake_timeout.total_seconds()
            transport.auth_timeout = settings.auth_timeout.total_seconds()
            assert self.bastion.host_key is not None
            transport.add_server_key(self.bastion.host_key)
            with self._lock:
                self._transports.add(transport)
            conn = Connection(self.bastion, str(addr[0]), int(addr[1]))
            try:
                transport.start_server(server=conn)
            except (paramiko.SSHException, EOFError, OSError):
                return  # garbage, a scanner or a stalled handshake: this connection only
            client.settimeout(None)
            while transport.is_active() and not self._stop.is_set():
                channel = transport.accept(timeout=1.0)
                if channel is None:
                    continue
                threading.Thread(
                    target=self._channel, args=(conn, transport, channel), daemon=True, name="bastion-session"
                ).start()
        except Exception:
            log.exception("bastion connection from %s failed", addr[0])
        finally:
            if transport is not None:
                transport.close()
                with self._lock:
                    self._transports.discard(transport)
            with contextlib.suppress(OSError):
                client.close()
            self._slots.release()

    def _channel(self, conn: Connection, transport: paramiko.Transport, channel: paramiko.Channel) -> None:
        try:
            forward = conn.forwards.pop(channel.get_id(), None)
            if forward is not None:
                Forward(self.bastion, conn, channel, *forward).run()
                return
            state = conn.channels.get(channel.get_id())
            if state is None or conn.user is None or conn.login is None:
                channel.close()
                return
            if not state.ready.wait(REQUEST_TIMEOUT):
                channel.close()
                return
            Session(self.bastion, conn, channel, state).run()
        except Exception:
            log.exception("bastion session failed")
            with contextlib.suppress(Exception):
                channel.close()


def _open_upstream(bastion: Bastion, access: Access) -> paramiko.Transport:
    """An authenticated transport to the access's account on its target, with the vault's
    credential; raises HostKeyError on a key mismatch, NetGuardError for anything else."""
    name, account = access.target.name, access.account
    kind = next((a.kind for a in bastion.directory().accounts(name) if a.account == account), None)
    if kind is None:
        raise NetGuardError(f"no account {account} on {name} any more")
    credential = Credential(kind, bastion.vault.get(vault_name(name, account)))
    return connect(access.target, account, credential, bastion.settings.target_timeout.total_seconds())


class Forward:
    """One granted direct-tcpip channel, relayed through the target (``ssh -L`` on the target).

    The bytes are not recorded (they can be any protocol); the destination, the
    byte counts and the start and end are events, so the channel is never invisible.
    """

    def __init__(
        self,
        bastion: Bastion,
        conn: Connection,
        channel: paramiko.Channel,
        access: Access,
        origin: tuple[str, int],
        destination: tuple[str, int],
    ) -> None:
        self.bastion, self.conn, self.channel = bastion, conn, channel
        self.access, self.origin, self.destination = access, origin, destination
        self.bytes_in = self.bytes_out = 0

    def _event(self, action: str, outcome: str = "success", message: str = "") -> None:
        user = self.conn.login.user if self.conn.login else None
        where = f"{self.destination[0]}:{self.destination[1]}"
        self.bastion.emit(
            "bastion-session",
            {
                "event.action": action,
                "event.outcome": outcome,
                "user.name": user,
                "source.ip": self.conn.source_ip,
                "netguard.bastion.account": self.access.account,
                "destination.address": self.access.target.name,
                "destination.port": self.access.target.port,
                "netguard.bastion.channel": "direct-tcpip",
                "source.bytes": self.bytes_in if action != "start" else None,
                "destination.bytes": self.bytes_out if action != "start" else None,
                "network.protocol": "ssh",
                "tags": ["port-forwarding"],
                "message": message or f"port forwarding {action}: {user} via {self.access.target.name} to {where}",
            },
        )

    def run(self) -> None:
        try:
            upstream = _open_upstream(self.bastion, self.access)
        except NetGuardError as exc:
            self._event("denied", "failure", f"port forwarding failed: {exc}")
            self.channel.close()
            return
        try:
            target = upstream.open_channel("direct-tcpip", self.destination, self.origin)
        except (paramiko.SSHException, OSError) as exc:
            self._event("denied", "failure", f"port forwarding refused by {self.access.target.name}: {exc}")
            self.channel.close()
            upstream.close()
            return
        self._event("start")

        def client_data(data: bytes) -> bytes:
            self.bytes_in += len(data)
            return data

        def target_data(data: bytes) -> None:
            self.bytes_out += len(data)

        try:
            relay(self.channel, target, Hooks(client_data=client_data, target_data=target_data), exit_status=False)
        except (paramiko.SSHException, OSError, EOFError):
            pass
        finally:
            self._event("end")
            with contextlib.suppress(Exception):
                self.channel.close()
            upstream.close()


def _say(channel: paramiko.Channel, text: str, stderr: bool = False) -> None:
    data = text.replace("\n", "\r\n").encode("utf-8") if not stderr else text.encode("utf-8")
    with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
        (channel.sendall_stderr if stderr else channel.sendall)(data)


class Session:
    """One session channel from request to exit status."""

    def __init__(self, bastion: Bastion, conn: Connection, channel: paramiko.Channel, state: _ChannelState) -> None:
        self.bastion = bastion
        self.conn = conn
        self.channel = channel
        self.state = state
        assert conn.user is not None and conn.login is not None
        self.user = conn.user
        self.login = conn.login
        # One id for the command verdict of an exec and the session record it leads to.
        self.id = uuid.uuid4().hex

    def _finish(self, status: int, message: str = "") -> None:
        if message:
            _say(self.channel, message + "\n", stderr=not self.state.pty)
        with contextlib.suppress(Exception):
            self.channel.send_exit_status(status)
            self.channel.shutdown_write()
            self.channel.close()

    def run(self) -> None:
        access = self._choose()
        if access is None:
            return
        if self.state.kind == "exec" and not self._exec_allowed(access):
            return
        self._relay(access)

    def _choose(self) -> Access | None:
        accesses = self.conn.accesses
        if self.login.target is not None:
            access = resolve(accesses, self.login.target, self.login.account)
            if access is None:
                candidates = [a.account for a in accesses if a.target.name == self.login.target]
                reason = (
                    f"{self.login.target}: name the account (one of: {', '.join(candidates)}), "
                    f"e.g. {self.user.name}:{candidates[0]}@{self.login.target}"
                    if len(candidates) > 1 and self.login.account is None
                    else f"{self.user.name} is not granted {self.login.account or 'any account'}@{self.login.target}"
                )
                self._denied_target(reason)
                self._finish(1, f"netguard: {reason}")
                return None
            return access
        if self.state.kind == "shell" and self.state.pty:
            return run_menu(self.channel, self.user.name, accesses)
        listing = "\n".join(f"  {self.user.name}:{a.account}@{a.target.name}" for a in accesses) or "  (none)"
        self._finish(2, f"netguard: name a target in the login, one of:\n{listing}")
        return None

    def _denied_target(self, reason: str) -> None:
        self.bastion.emit(
            "bastion-session",
            {
                "event.action": "denied",
                "event.outcome": "failure",
                "user.name": self.user.name,
                "source.ip": self.conn.source_ip,
                "destination.address": self.login.target,
                "netguard.bastion.account": self.login.account,
                "netguard.risk": "medium",
                "message": f"bastion access refused: {reason}",
            },
        )

    def _verdict(self, access: Access, command: str, interactive: bool, session_id: str, source: str = "") -> bool:
        """Evaluate command rules, emit the command event; True if the command may run."""
        facts = command_facts(
            command,
            user=self.user.name,
            account=access.account,
            target=access.target.name,
            target_groups=access.target.groups,
            interactive=interactive,
            at=datetime.now().astimezone(),
        )
        verdict = self.bastion.rules.evaluate(facts)
        action = verdict.action
        word = "denied" if action is Action.DENY else "warned" if action is Action.WARN else "allowed"
        first = verdict.matches[0] if verdict.matches else None
        self.bastion.emit(
            "bastion-command",
            {
                "event.action": "line" if interactive else "exec",
                "event.outcome": "failure" if word == "denied" else "success",
                "user.name": self.user.name,
                "source.ip": self.conn.source_ip,
                "netguard.bastion.session_id": session_id,
                "netguard.bastion.account": access.account,
                "destination.address": access.target.name,
                "destination.port": access.target.port,
                "process.command_line": command,
                "netguard.bastion.verdict": word,
                "netguard.bastion.channel": "shell" if interactive else "exec",
                "rule.id": first.id if first else None,
                "rule.name": first.title if first else None,
                "rule.reference": first.references[0] if first and first.references else None,
                "rule.ruleset": first.pack if first else None,
                "netguard.risk": verdict.severity.value if verdict.severity else None,
                "tags": [f"reconstructed-from-{source}"] if source == "echo" else None,
                "message": f"{self.user.name} {'ran' if not interactive else 'entered'} on "
                f"{access.account}@{access.target.name}: {command}"[:500],
            },
        )
        return action is not Action.DENY

    def _exec_allowed(self, access: Access) -> bool:
        if self._verdict(access, self.state.command, False, self.id):
            return True
        self._finish(126, "netguard: command refused by the bastion's rules")
        return False

    def _relay(self, access: Access) -> None:
        bastion = self.bastion
        state = self.state
        session_id = self.id
        try:
            upstream = _open_upstream(bastion, access)
        except HostKeyError as exc:
            bastion.emit(
                "bastion-session",
                {
                    "event.action": "denied",
                    "event.outcome": "failure",
                    "event.kind": "alert",
                    "user.name": self.user.name,
                    "source.ip": self.conn.source_ip,
                    "destination.address": access.target.name,
                    "destination.port": access.target.port,
                    "netguard.bastion.account": access.account,
                    "netguard.risk": "critical",
                    "tags": ["host-key-mismatch"],
                    "message": str(exc),
                },
            )
            self._finish(1, f"netguard: {exc}")
            return
        except NetGuardError as exc:
            self._finish(1, f"netguard: {exc}")
            return
        kind = state.kind
        recording = bastion.settings.recordings_dir / datetime.now(UTC).strftime("%Y/%m/%d") / f"{session_id}.cast"
        live = LiveSession(
            id=session_id,
            user=self.user.name,
            target=access.target.name,
            account=access.account,
            source_ip=self.conn.source_ip,
            kind=kind,
            started=_now(),
            recording=recording,
            command=state.command or None,
            max_recording_bytes=bastion.settings.max_recording_bytes,
        )
        record = SessionRecord(
            session_id,
            self.user.name,
            access.target.name,
            access.account,
            self.conn.source_ip,
            kind,
            state.command or None,
            live.started,
            None,
            None,
            0,
            0,
            str(recording),
            None,
            None,
        )
        target_chan: paramiko.Channel | None = None
        status: int | None = None
        auditor: SftpAuditor | None = None
        try:
            target_chan = upstream.open_session()
            if state.pty:
                target_chan.get_pty(state.term, state.width, state.height)
            for key, value in state.env.items():
                with contextlib.suppress(paramiko.SSHException):
                    target_chan.set_environment_variable(key, value)
            live.open_recording(
                state.width,
                state.height,
                f"{self.user.name} {access.account}@{access.target.name}",
                {"TERM": state.term, "SHELL": "", "NETGUARD_SESSION": session_id},
            )
            bastion.sessions().start(record)
            bastion.registry.add(live)
            self._session_event(live, access, "start")
            live.on_kill(self.channel.close)
            live.on_kill(upstream.close)
            hooks = Hooks()
            if kind == "shell":
                target_chan.invoke_shell()
                hooks = self._shell_hooks(live, access, target_chan)
                state.resize = _resizer(live, target_chan)
            elif kind == "exec":
                target_chan.exec_command(state.command)
                hooks = Hooks(
                    client_data=_recording_input(live),
                    target_data=live.output,
                    target_stderr=live.output,
                )
            else:
                target_chan.invoke_subsystem("sftp")
                auditor = SftpAuditor(
                    lambda t: self._transfer_event(live, access, t),
                    lambda op: self._operation_event(live, access, op),
                    lambda reason: live.marker(f"netguard: {reason}"),
                )
                hooks = _sftp_hooks(live, auditor)
            status = relay(self.channel, target_chan, hooks)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            if live.killed_by is None:
                _say(self.channel, f"netguard: the connection to {access.target.name} failed: {exc}\n", stderr=True)
        finally:
            if auditor is not None:
                auditor.close()
            bastion.registry.remove(session_id)
            written = live.close_recording()
            sha = bastion.sessions().finish(
                session_id,
                exit_status=status,
                bytes_in=live.bytes_in,
                bytes_out=live.bytes_out,
                killed_by=live.killed_by,
                recording=recording if recording.exists() else None,
                recording_sha256=written,
            )
            self._session_event(live, access, "kill" if live.killed_by else "end", sha=sha)
            with contextlib.suppress(Exception):
                upstream.close()
            self._finish(status if status is not None else (130 if live.killed_by else 255))

    def _shell_hooks(self, live: LiveSession, access: Access, target_chan: paramiko.Channel) -> Hooks:
        tracker = CommandTracker()

        def client_data(data: bytes) -> bytes:
            live.input(data)
            out = bytearray()
            for piece, line in tracker.input(data):
                if line is None:
                    out += piece
                    continue
                out += piece[:-1]
                if self._verdict(access, line.text, True, live.id, line.source):
                    out += piece[-1:]
                else:
                    out += b"\x15"  # Ctrl-U: the shell drops the line instead of running it
                    message = f"\r\nnetguard: '{line.text}' refused by the bastion's rules\r\n"
                    _say(self.channel, message)
                    live.output(message.encode())
                    out += b"\r"  # a fresh prompt
            return bytes(out)

        def target_data(data: bytes) -> None:
            live.output(data)
            tracker.output(data)

        return Hooks(client_data=client_data, target_data=target_data, target_stderr=live.output)

    def _session_event(self, live: LiveSession, access: Access, action: str, sha: str | None = None) -> None:
        self.bastion.emit(
            "bastion-session",
            {
                "event.action": action,
                "event.outcome": "success",
                "user.name": live.user,
                "source.ip": live.source_ip,
                "netguard.bastion.session_id": live.id,
                "netguard.bastion.account": live.account,
                "destination.address": access.target.name,
                "destination.port": access.target.port,
                "netguard.bastion.channel": live.kind,
                "netguard.bastion.recording": str(live.recording),
                "netguard.bastion.recording_sha256": sha,
                "netguard.bastion.terminated_by": live.killed_by,
                "source.bytes": live.bytes_in if action != "start" else None,
                "destination.bytes": live.bytes_out if action != "start" else None,
                "network.protocol": "sftp" if live.kind == "sftp" else "ssh",
                "message": f"bastion session {live.id[:12]} {action}: {live.user} → {live.account}@{access.target.name}"
                + (f" (ended by {live.killed_by})" if live.killed_by else ""),
            },
        )

    def _transfer_event(self, live: LiveSession, access: Access, transfer: Transfer) -> None:
        live.marker(f"netguard: {transfer.direction} {transfer.path} {transfer.size} bytes")
        self.bastion.emit(
            "file-transfer",
            {
                "event.action": transfer.direction,
                "event.outcome": "success" if transfer.ok else "failure",
                "user.name": live.user,
                "source.ip": live.source_ip,
                "netguard.bastion.session_id": live.id,
                "netguard.bastion.account": live.account,
                "destination.address": access.target.name,
                "destination.port": access.target.port,
                "file.path": transfer.path,
                "file.size": transfer.size,
                "file.hash.sha256": transfer.sha256,
                "netguard.file.direction": transfer.direction,
                "network.protocol": "sftp",
                "message": f"{live.user} {transfer.direction}ed {transfer.path} ({transfer.size} bytes) "
                f"{'to' if transfer.direction == 'upload' else 'from'} {live.account}@{access.target.name}",
            },
        )

    def _operation_event(self, live: LiveSession, access: Access, op: FileOperation) -> None:
        text = f"sftp {op.operation} {op.path}" + (f" {op.target}" if op.target else "")
        self.bastion.emit(
            "bastion-command",
            {
                "event.action": "exec",
                "event.outcome": "success" if op.ok else "failure",
                "user.name": live.user,
                "source.ip": live.source_ip,
                "netguard.bastion.session_id": live.id,
                "netguard.bastion.account": live.account,
                "destination.address": access.target.name,
                "process.command_line": text,
                "netguard.bastion.verdict": "allowed",
                "netguard.bastion.channel": "sftp",
                "message": f"{live.user} on {live.account}@{access.target.name}: {text}",
            },
        )


def _recording_input(live: LiveSession) -> Callable[[bytes], bytes]:
    def hook(data: bytes) -> bytes:
        live.input(data)
        return data

    return hook


def _resizer(live: LiveSession, target: paramiko.Channel) -> Callable[[int, int], None]:
    def resize(width: int, height: int) -> None:
        live.resize(width, height)
        with contextlib.suppress(paramiko.SSHException, OSError):
            target.resize_pty(width, height)

    return resize


def _sftp_hooks(live: LiveSession, auditor: SftpAuditor) -> Hooks:
    """SFTP content is audited per file (path, size, SHA-256), not recorded byte for byte."""

    def client_data(data: bytes) -> bytes:
        live.bytes_in += len(data)
        auditor.from_client(data)
        return data

    def target_data(data: bytes) -> None:
        live.bytes_out += len(data)
        auditor.from_server(data)

    return Hooks(client_data=client_data, target_data=target_data)
