"""Telling the user something on their own channel (a refusal, a failed target), never failing for it."""

from __future__ import annotations

import contextlib

import paramiko


def say(channel: paramiko.Channel, text: str, stderr: bool = False) -> None:
    """Write ``text`` to the user; on a terminal (not stderr) newlines become CRLF. A closed channel is ignored."""
    data = text.replace("\n", "\r\n").encode("utf-8") if not stderr else text.encode("utf-8")
    with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
        (channel.sendall_stderr if stderr else channel.sendall)(data)
