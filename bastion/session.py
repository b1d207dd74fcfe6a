"""One session channel from its request to its exit status.

The login name picks the target (``alice:root@his-db01``) or, for a shell on a
terminal, the menu does (:mod:`bastion.menu`); an exec is judged by the
command rules before anything runs. The bastion then opens its own SSH
connection to the target with the vault's credential and the pinned host key
(:mod:`bastion.target_connection`), mirrors the user's requests (pty,
environment, shell, exec or SFTP) on a channel there and relays
(:mod:`bastion.pump`) with the hooks of the session's kind
(:mod:`bastion.session_hooks`), recording it (:mod:`bastion.live`). However it
ends, the recording is closed and chained, the end (or kill) is an event and
the user gets an exit status.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime

import paramiko

from bastion.channel_requests import ChannelState
from bastion.command_verdict import judge
from bastion.connection import Connection
from bastion.context import Bastion, now
from bastion.hostkeys import HostKeyError
from bastion.live import LiveSession
from bastion.menu import run_menu
from bastion.policy import Access, resolve
from bastion.pump import Hooks, relay
from bastion.session_events import operation_event, session_event, transfer_event
from bastion.session_hooks import recording_input, resizer, sftp_hooks, shell_hooks
from bastion.sessions import SessionRecord
from bastion.sftp_audit import SftpAuditor
from bastion.target_connection import open_upstream
from bastion.tell import say
from netguard.errors import NetGuardError


class Session:
    """One session channel from request to exit status."""

    def __init__(self, bastion: Bastion, conn: Connection, channel: paramiko.Channel, state: ChannelState) -> None:
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
            say(self.channel, message + "\n", stderr=not self.state.pty)
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

    def _verdict(self, access: Access, command: str, interactive: bool, source: str = "") -> bool:
        return judge(self.bastion, self.user.name, self.conn.source_ip, access, command, interactive, self.id, source)

    def _exec_allowed(self, access: Access) -> bool:
        if self._verdict(access, self.state.command, False):
            return True
        self._finish(126, "netguard: command refused by the bastion's rules")
        return False

    def _relay(self, access: Access) -> None:
        bastion = self.bastion
        state = self.state
        session_id = self.id
        try:
            upstream = open_upstream(bastion, access)
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
            started=now(),
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
            session_event(bastion.emit, live, access, "start")
            live.on_kill(self.channel.close)
            live.on_kill(upstream.close)
            hooks = Hooks()
            if kind == "shell":
                target_chan.invoke_shell()
                hooks = shell_hooks(live, self.channel, lambda text, source: self._verdict(access, text, True, source))
                state.resize = resizer(live, target_chan)
            elif kind == "exec":
                target_chan.exec_command(state.command)
                hooks = Hooks(
                    client_data=recording_input(live),
                    target_data=live.output,
                    target_stderr=live.output,
                )
            else:
                target_chan.invoke_subsystem("sftp")
                auditor = SftpAuditor(
                    lambda t: transfer_event(bastion.emit, live, access, t),
                    lambda op: operation_event(bastion.emit, live, access, op),
                    lambda reason: live.marker(f"netguard: {reason}"),
                )
                hooks = sftp_hooks(live, auditor)
            status = relay(self.channel, target_chan, hooks)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            if live.killed_by is None:
                say(self.channel, f"netguard: the connection to {access.target.name} failed: {exc}\n", stderr=True)
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
            session_event(bastion.emit, live, access, "kill" if live.killed_by else "end", sha=sha)
            with contextlib.suppress(Exception):
                upstream.close()
            self._finish(status if status is not None else (130 if live.killed_by else 255))
