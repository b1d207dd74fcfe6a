"""One client connection as paramiko sees it: its authentication and its channel requests.

paramiko calls the ServerInterface methods from the connection's transport
thread; :class:`Connection` joins the two halves (:mod:`bastion.login_checks`,
:mod:`bastion.channel_requests`) over one state: who logged in, from where,
what they may reach, and each channel's requests.
"""

from __future__ import annotations

import paramiko

from bastion.channel_requests import ChannelRequests, ChannelState
from bastion.context import Bastion
from bastion.directory import User
from bastion.login import LoginName
from bastion.login_checks import LoginChecks
from bastion.policy import Access


class Connection(LoginChecks, ChannelRequests, paramiko.ServerInterface):  # type: ignore[misc]
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
        self.channels: dict[int, ChannelState] = {}
        self.accesses: list[Access] = []
        # direct-tcpip channels granted at open time: chanid -> (access, origin, destination)
        self.forwards: dict[int, tuple[Access, tuple[str, int], tuple[str, int]]] = {}

    # -- authentication ---------------------------------------------------------------------------
