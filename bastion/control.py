"""The running server's control socket: list live sessions, watch one, kill one.

A Unix socket in the bastion's data directory (the directory is 0700, the
socket 0600: only the bastion's own account, or root, can use it). Requests
are one JSON line; the peer's identity for "killed by" comes from the kernel
(``SO_PEERCRED``), not from the request, so it cannot be claimed falsely.
``watch`` answers with the recording so far and then streams every new line
until the session ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bastion.live import Registry
from netguard.errors import NetGuardError

MAX_REQUEST = 4096


class ControlError(NetGuardError):
    """The bastion server is not running, or refused the request."""


def _peer_name(conn: socket.socket) -> str:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


class ControlServer:
    def __init__(self, path: Path, registry: Registry) -> None:
        self.path = path
        self.registry = registry
        self._sock: socket.socket | None = None

    def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(str(self.path))
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        sock.listen(16)
        self._sock = sock
        threading.Thread(target=self._serve, daemon=True, name="bastion-control").start()

    def stop(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _serve(self) -> None:
        while self._sock is not None:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(5)
                raw = conn.makefile("rb").readline(MAX_REQUEST)
                request = json.loads(raw)
                conn.settimeout(None)
                self._answer(conn, request if isinstance(request, dict) else {})
            except (OSError, ValueError):
                return

    def _send(self, conn: socket.socket, doc: dict[str, Any]) -> None:
        conn.sendall(json.dumps(doc, ensure_ascii=False).encode() + b"\n")

    def _answer(self, conn: socket.socket, request: dict[str, Any]) -> None:
        op = request.get("op")
        if op == "list":
            sessions = [
                {
                    "id": s.id,
                    "user": s.user,
                    "target": s.target,
                    "account": s.account,
                    "source_ip": s.source_ip,
                    "kind": s.kind,
                    "command": s.command,
                    "started": s.started.isoformat(),
                    "bytes_in": s.bytes_in,
                    "bytes_out": s.bytes_out,
                }
                for s in self.registry.all()
            ]
            self._send(conn, {"ok": True, "sessions": sessions})
            return
        session = self.registry.get(str(request.get("session", "")))
        if session is None:
            self._send(conn, {"ok": False, "error": f"no live session {request.get('session')!r}"})
            return
        if op == "kill":
            by = _peer_name(conn)
            session.kill(by)
            self._send(conn, {"ok": True, "session": session.id, "killed_by": by})
        elif op == "watch":
            so_far, q = session.watch()
            self._send(conn, {"ok": True, "session": session.id})
            conn.sendall(so_far.encode("utf-8"))
            while True:
                line = q.get()
                if line is None:
                    return
                conn.sendall(line.encode("utf-8"))
        else:
            self._send(conn, {"ok": False, "error": f"unknown request {op!r}"})


def _connect(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except (FileNotFoundError, ConnectionRefusedError):
        sock.close()
        raise ControlError(f"the bastion server is not running (no control socket at {path})") from None
    except PermissionError:
        sock.close()
        raise ControlError(f"permission denied on {path}: run as the bastion's user or root") from None
    return sock


def request(path: Path, doc: dict[str, Any]) -> dict[str, Any]:
    with _connect(path) as sock:
        sock.sendall(json.dumps(doc).encode() + b"\n")
        answer = json.loads(sock.makefile("rb").readline() or b"{}")
    if not answer.get("ok"):
        raise ControlError(str(answer.get("error", "the bastion server refused the request")))
    return dict(answer)


def watch(path: Path, session: str) -> Iterator[str]:
    """The session's recording lines: what was recorded so far, then live, until it ends."""
    with _connect(path) as sock:
        sock.sendall(json.dumps({"op": "watch", "session": session}).encode() + b"\n")
        reader = sock.makefile("rb")
        answer = json.loads(reader.readline() or b"{}")
        if not answer.get("ok"):
            raise ControlError(str(answer.get("error", "the bastion server refused the request")))
        for raw in reader:
            yield raw.decode("utf-8", "replace")
