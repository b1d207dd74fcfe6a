"""Channel requests on one client connection: which channels open, and what they may ask for.

A session channel records what it asks for (pty, allowed environment
variables, then one of shell, exec or the SFTP subsystem) in a
:class:`ChannelState` that the session thread waits on. Port forwarding
(direct-tcpip) is decided when the channel opens: only on a login that names
its target and only when a grant for it allows forwarding. Remote forwarding,
agent and X11 forwarding are always refused; every refusal is an event.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paramiko

from bastion.context import Bastion
from bastion.login import LoginName
from bastion.policy import Access, resolve

OPEN_SUCCEEDED: int = paramiko.OPEN_SUCCEEDED
OPEN_FAILED_UNKNOWN_CHANNEL_TYPE: int = paramiko.OPEN_FAILED_UNKNOWN_CHANNEL_TYPE
OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED: int = paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
ENV_ALLOWED = ("LANG", "LC_")


@dataclass
class ChannelState:
    ready: threading.Event = field(default_factory=threading.Event)
    kind: str = ""  # shell, exec, subsystem
    command: str = ""
    term: str = "xterm"
    width: int = 80
    height: int = 24
    pty: bool = False
    env: dict[str, str] = field(default_factory=dict)
    resize: Callable[[int, int], None] | None = None


class ChannelRequests:
    """The channel half of a connection's paramiko ServerInterface."""

    bastion: Bastion
    source_ip: str
    login: LoginName | None
    accesses: list[Access]
    channels: dict[int, ChannelState]
    forwards: dict[int, tuple[Access, tuple[str, int], tuple[str, int]]]

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            self.channels[chanid] = ChannelState()
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
