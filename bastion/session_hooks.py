"""What a session does with the bytes it relays, per kind: shell, exec, SFTP.

A shell is recorded both ways and its lines reconstructed for command
detection (:class:`bastion.commandline.CommandTracker`); an exec is recorded
both ways; SFTP is audited per file (:mod:`bastion.sftp_audit`), not recorded
byte for byte. The hooks run on the relay thread (:mod:`bastion.pump`); the
recording itself is written by the session's recorder thread.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import paramiko

from bastion.commandline import CommandTracker
from bastion.live import LiveSession
from bastion.pump import Hooks
from bastion.sftp_audit import SftpAuditor
from bastion.tell import say


def shell_hooks(live: LiveSession, channel: paramiko.Channel, allowed: Callable[[str, str], bool]) -> Hooks:
    """Record both ways and detect each line the user enters; ``allowed(line, source)`` judges it.

    A refused line is not sent: Ctrl-U makes the shell drop what was typed, the user is told why.
    """
    tracker = CommandTracker()

    def client_data(data: bytes) -> bytes:
        live.input(data)
        out = bytearray()
        for piece, line in tracker.input(data):
            if line is None:
                out += piece
                continue
            out += piece[:-1]
            if allowed(line.text, line.source):
                out += piece[-1:]
            else:
                out += b"\x15"  # Ctrl-U: the shell drops the line instead of running it
                message = f"\r\nnetguard: '{line.text}' refused by the bastion's rules\r\n"
                say(channel, message)
                live.output(message.encode())
                out += b"\r"  # a fresh prompt
        return bytes(out)

    def target_data(data: bytes) -> None:
        live.output(data)
        tracker.output(data)

    return Hooks(client_data=client_data, target_data=target_data, target_stderr=live.output)


def recording_input(live: LiveSession) -> Callable[[bytes], bytes]:
    def hook(data: bytes) -> bytes:
        live.input(data)
        return data

    return hook


def resizer(live: LiveSession, target: paramiko.Channel) -> Callable[[int, int], None]:
    def resize(width: int, height: int) -> None:
        live.resize(width, height)
        with contextlib.suppress(paramiko.SSHException, OSError):
            target.resize_pty(width, height)

    return resize


def sftp_hooks(live: LiveSession, auditor: SftpAuditor) -> Hooks:
    """SFTP content is audited per file (path, size, SHA-256), not recorded byte for byte."""

    def client_data(data: bytes) -> bytes:
        live.bytes_in += len(data)
        auditor.from_client(data)
        return data

    def target_data(data: bytes) -> None:
        live.bytes_out += len(data)
        auditor.from_server(data)

    return Hooks(client_data=client_data, target_data=target_data)
