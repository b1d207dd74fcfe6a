"""A granted port forwarding (direct-tcpip) channel, relayed through the target."""

from __future__ import annotations

import contextlib

import paramiko

from bastion.connection import Connection
from bastion.context import Bastion
from bastion.policy import Access
from bastion.pump import Hooks, relay
from bastion.target_connection import open_upstream
from netguard.errors import NetGuardError


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
            upstream = open_upstream(self.bastion, self.access)
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
