"""The bastion's SSH server: one thread accepts, one paramiko transport per connection,
one thread per channel.

A connection authenticates as a bastion user and asks for channels
(:class:`bastion.connection.Connection`); each session channel then runs as a
:class:`bastion.session.Session` and each granted port forwarding as a
:class:`bastion.forward.Forward`, in a thread of its own.

Robustness: paramiko's banner, handshake and auth timeouts bound a stalled
client; every connection runs in its own threads and every failure in them
ends that connection only (logged as an event where it means something);
the number of simultaneous connections is bounded.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from typing import Any

import paramiko

from bastion.connection import Connection
from bastion.context import Bastion
from bastion.forward import Forward
from bastion.session import Session
from netguard.errors import NetGuardError

log = logging.getLogger("netguard.bastion")
REQUEST_TIMEOUT = 30.0


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
            transport.get_security_options().ciphers = settings.client_ciphers
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
