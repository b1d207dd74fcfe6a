"""Auditing SFTP (and scp, which speaks SFTP since OpenSSH 9) as it passes through the bastion.

The bastion relays the SFTP byte stream unchanged and reads a copy of it:
packets are ``uint32 length, byte type, payload``, requests from the user,
replies from the target, matched by request id. An ``OPEN`` answered by a
``HANDLE`` starts a transfer (upload if opened for writing, download
otherwise); ``WRITE`` requests and ``DATA`` replies carry the content, hashed
with SHA-256 in offset order (out-of-order pieces, as pipelined clients send
them, wait in a bounded buffer; beyond it the hash is given up and the size
still counted); ``CLOSE`` ends it with one ``file-transfer`` record. Removes,
renames and directory changes become records of their own. A malformed
stream stops the audit of that session (reported once), never the relay.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

FXP_OPEN, FXP_CLOSE, FXP_READ, FXP_WRITE = 3, 4, 5, 6
FXP_SETSTAT, FXP_REMOVE, FXP_MKDIR, FXP_RMDIR, FXP_RENAME, FXP_SYMLINK = 9, 13, 14, 15, 18, 20
FXP_STATUS, FXP_HANDLE, FXP_DATA = 101, 102, 103
FXF_WRITE = 0x02
MAX_PACKET = 1 << 20  # OpenSSH's sftp-server refuses packets over 256 KiB; 1 MiB is generous
MAX_REORDER = 64 << 20  # bytes of out-of-order data kept per file before the hash is given up


@dataclass(frozen=True)
class Transfer:
    path: str
    direction: str  # "upload" or "download"
    size: int
    sha256: str | None  # None when the content was not seen in order
    ok: bool


@dataclass(frozen=True)
class FileOperation:
    operation: str  # remove, rename, mkdir, rmdir, setstat, symlink
    path: str
    target: str | None
    ok: bool | None


@dataclass
class _Open:
    path: str
    direction: str
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    next_offset: int = 0
    size: int = 0
    pending: dict[int, bytes] = field(default_factory=dict)
    pending_bytes: int = 0
    hash_lost: bool = False

    def feed(self, offset: int, data: bytes) -> None:
        self.size = max(self.size, offset + len(data))
        if self.hash_lost:
            return
        if offset != self.next_offset:
            if offset > self.next_offset:
                self.pending[offset] = data
                self.pending_bytes += len(data)
                if self.pending_bytes > MAX_REORDER:
                    self.hash_lost = True
                    self.pending.clear()
            return
        self.digest.update(data)
        self.next_offset += len(data)
        while self.next_offset in self.pending:
            chunk = self.pending.pop(self.next_offset)
            self.pending_bytes -= len(chunk)
            self.digest.update(chunk)
            self.next_offset += len(chunk)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def u32(self) -> int:
        (value,) = struct.unpack_from(">I", self.data, self.pos)
        self.pos += 4
        return int(value)

    def u64(self) -> int:
        (value,) = struct.unpack_from(">Q", self.data, self.pos)
        self.pos += 8
        return int(value)

    def string(self) -> bytes:
        size = self.u32()
        if self.pos + size > len(self.data):
            raise ValueError("string runs past the packet")
        value = self.data[self.pos : self.pos + size]
        self.pos += size
        return value


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


class SftpAuditor:
    """Feed it both directions; it calls ``on_transfer`` / ``on_operation`` as files close and change."""

    def __init__(
        self,
        on_transfer: Callable[[Transfer], None],
        on_operation: Callable[[FileOperation], None],
        on_error: Callable[[str], None],
    ) -> None:
        self._on_transfer = on_transfer
        self._on_operation = on_operation
        self._on_error = on_error
        self._buffers = {"client": bytearray(), "server": bytearray()}
        self._requests: dict[int, tuple[int, Any]] = {}
        self._handles: dict[bytes, _Open] = {}
        self.broken = False

    def from_client(self, data: bytes) -> None:
        self._feed("client", data)

    def from_server(self, data: bytes) -> None:
        self._feed("server", data)

    def _feed(self, side: str, data: bytes) -> None:
        if self.broken:
            return
        buffer = self._buffers[side]
        buffer += data
        while len(buffer) >= 4:
            (length,) = struct.unpack_from(">I", buffer, 0)
            if length == 0 or length > MAX_PACKET:
                self._stop(f"SFTP packet of {length} bytes from the {side}: not SFTP, audit stopped")
                return
            if len(buffer) < 4 + length:
                return
            packet = bytes(buffer[4 : 4 + length])
            del buffer[: 4 + length]
            try:
                if side == "client":
                    self._request(packet)
                else:
                    self._reply(packet)
            except (ValueError, struct.error):
                self._stop(f"malformed SFTP packet from the {side}: audit stopped")
                return

    def _stop(self, reason: str) -> None:
        self.broken = True
        self._buffers = {"client": bytearray(), "server": bytearray()}
        self._on_error(reason)

    def _request(self, packet: bytes) -> None:
        kind = packet[0]
        r = _Reader(packet[1:])
        if kind in (1, 2):  # INIT / VERSION carry no id
            return
        req = r.u32()
        if kind == FXP_OPEN:
            path = _text(r.string())
            flags = r.u32()
            self._requests[req] = (kind, (path, "upload" if flags & FXF_WRITE else "download"))
        elif kind == FXP_WRITE:
            handle = r.string()
            offset = r.u64()
            data = r.string()
            opened = self._handles.get(handle)
            if opened is not None:
                opened.feed(offset, data)
        elif kind == FXP_READ:
            handle = r.string()
            offset = r.u64()
            self._requests[req] = (kind, (handle, offset))
        elif kind == FXP_CLOSE:
            self._requests[req] = (kind, r.string())
        elif kind in (FXP_REMOVE, FXP_MKDIR, FXP_RMDIR, FXP_SETSTAT):
            names = {FXP_REMOVE: "remove", FXP_MKDIR: "mkdir", FXP_RMDIR: "rmdir", FXP_SETSTAT: "setstat"}
            self._requests[req] = (kind, FileOperation(names[kind], _text(r.string()), None, None))
        elif kind in (FXP_RENAME, FXP_SYMLINK):
            first, second = _text(r.string()), _text(r.string())
            name = "rename" if kind == FXP_RENAME else "symlink"
            self._requests[req] = (kind, FileOperation(name, first, second, None))

    def _reply(self, packet: bytes) -> None:
        kind = packet[0]
        r = _Reader(packet[1:])
        if kind == 2:  # VERSION
            return
        req = r.u32()
        pending = self._requests.pop(req, None)
        if pending is None:
            return
        what, info = pending
        if kind == FXP_HANDLE and what == FXP_OPEN:
            path, direction = info
            self._handles[r.string()] = _Open(path, direction)
        elif kind == FXP_DATA and what == FXP_READ:
            handle, offset = info
            opened = self._handles.get(handle)
            if opened is not None:
                opened.feed(offset, r.string())
        elif kind == FXP_STATUS:
            code = r.u32()
            if what == FXP_CLOSE:
                opened = self._handles.pop(info, None)
                if opened is not None:
                    self._finish(opened, ok=code == 0)
            elif isinstance(info, FileOperation):
                self._on_operation(FileOperation(info.operation, info.path, info.target, code == 0))

    def _finish(self, opened: _Open, ok: bool) -> None:
        complete = not opened.hash_lost and not opened.pending and opened.next_offset == opened.size
        self._on_transfer(
            Transfer(opened.path, opened.direction, opened.size, opened.digest.hexdigest() if complete else None, ok)
        )

    def close(self) -> None:
        """The session ended: files still open were cut off (recorded as not ok)."""
        for opened in self._handles.values():
            self._finish(opened, ok=False)
        self._handles.clear()
