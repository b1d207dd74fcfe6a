"""The target menu shown to ``ssh alice@bastion``: exactly the targets and accounts alice may use now.

The bastion is the terminal's peer here, so it echoes what is typed and
handles Backspace, Ctrl-U and Ctrl-C/Ctrl-D itself. A choice is a number, a
target name (when one account is granted there) or ``account@target``.
"""

from __future__ import annotations

import contextlib

import paramiko

from bastion.policy import Access

MAX_LINE = 256
MAX_TRIES = 5


def _write(channel: paramiko.Channel, text: str) -> None:
    channel.sendall(text.replace("\n", "\r\n").encode("utf-8"))


def _read_line(channel: paramiko.Channel) -> str | None:
    line = ""
    while True:
        data = channel.recv(1024)
        if not data:
            return None
        for ch in data.decode("utf-8", "replace"):
            if ch in "\r\n":
                _write(channel, "\n")
                return line
            if ch in ("\x03", "\x04"):
                _write(channel, "\n")
                return None
            if ch in ("\x7f", "\x08"):
                if line:
                    line = line[:-1]
                    _write(channel, "\b \b")
            elif ch == "\x15":
                _write(channel, "\b \b" * len(line))
                line = ""
            elif ch.isprintable() and len(line) < MAX_LINE:
                line += ch
                _write(channel, ch)


def choose(accesses: list[Access], answer: str) -> Access | None:
    answer = answer.strip()
    if answer.isdigit():
        index = int(answer) - 1
        return accesses[index] if 0 <= index < len(accesses) else None
    account, _, target = answer.rpartition("@")
    matches = [a for a in accesses if a.target.name == target and (not account or a.account == account)]
    return matches[0] if len(matches) == 1 else None


def run_menu(channel: paramiko.Channel, user: str, accesses: list[Access]) -> Access | None:
    """Show the menu and return the chosen access, or None when the user leaves (the channel is closed)."""
    if not accesses:
        _write(channel, f"netguard bastion: {user} is granted no target at this time.\n")
        _close(channel, 1)
        return None
    width = max(len(a.target.name) for a in accesses)
    rows = [f"  {i:>3}  {a.target.name:<{width}}  {a.account}" for i, a in enumerate(accesses, start=1)]
    _write(channel, f"netguard bastion: targets for {user}\n" + "\n".join(rows) + "\n")
    for _ in range(MAX_TRIES):
        _write(channel, "choose a number, TARGET or ACCOUNT@TARGET (Ctrl-D to leave): ")
        answer = _read_line(channel)
        if answer is None or answer.strip() in ("q", "quit", "exit"):
            _close(channel, 0)
            return None
        chosen = choose(accesses, answer)
        if chosen is not None:
            _write(channel, f"connecting to {chosen.account}@{chosen.target.name} ...\n")
            return chosen
        _write(channel, "not one of the choices above\n")
    _close(channel, 1)
    return None


def _close(channel: paramiko.Channel, status: int) -> None:
    with contextlib.suppress(Exception):
        channel.send_exit_status(status)
        channel.close()
