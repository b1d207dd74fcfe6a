"""The facts a bastion command rule can test, and how a command line becomes them.

Users of every bastion ask why ``rm -rf / ; true`` or ``true && rm -rf /``
slipped past a filter that anchored on the start of the line. So besides the
whole line (``command``), the line is cut at ``;``, ``&&``, ``||``, ``|``,
``&``, newlines and ``$(``/backticks into segments, and each segment's program
(after ``sudo``, ``env VAR=...``, ``nohup``, ``time``, ``command``, ``exec``
and a directory prefix such as ``/usr/sbin/``) goes into ``programs``. This
still is pattern matching on text (see docs/bastion.md for what it cannot see).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rules.model import Domain

COMMAND_DOMAIN = Domain(
    "command",
    {
        "command": "text",  # the whole line as entered
        "programs": "list",  # the program of every segment of the line
        "user": "text",  # the bastion user
        "account": "text",  # the account on the target
        "target": "text",
        "target_groups": "list",
        "interactive": "bool",  # a line typed in a shell (true) or an exec request (false)
        "hour": "number",  # local hour 0-23 when it ran
        "weekday": "number",  # 1 Monday ... 7 Sunday
    },
    "commands run through the bastion",
)

_SEPARATORS = re.compile(r"\|\||&&|[;|&\n`]|\$\(")
_WRAPPERS = {
    "sudo",
    "doas",
    "nohup",
    "time",
    "command",
    "exec",
    "builtin",
    "nice",
    "ionice",
    "stdbuf",
    "timeout",
    "xargs",
}
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def programs(command: str) -> list[str]:
    """The program of each segment: ``sudo /sbin/reboot; ls | grep x`` → ``[reboot, ls, grep]``."""
    found: list[str] = []
    for segment in _SEPARATORS.split(command):
        words = segment.replace("(", " ").replace(")", " ").split()
        i = 0
        while i < len(words):
            word = words[i].strip("'\"\\")
            base = word.rsplit("/", 1)[-1]
            if not base or _ASSIGNMENT.match(word) or base == "env":
                i += 1
                continue
            if base in _WRAPPERS:
                i += 1
                # skip the wrapper's own options (sudo -u root, timeout 5, nice -n 10)
                while i < len(words) and (words[i].startswith("-") or words[i].isdigit()):
                    i += 1 + (words[i] in ("-u", "-g", "-n", "-c") and i + 1 < len(words))
                continue
            found.append(base)
            break
    return found


def command_facts(
    command: str,
    *,
    user: str,
    account: str,
    target: str,
    target_groups: tuple[str, ...] = (),
    interactive: bool,
    at: datetime,
) -> Mapping[str, Any]:
    return {
        "command": command,
        "programs": programs(command),
        "user": user,
        "account": account,
        "target": target,
        "target_groups": list(target_groups),
        "interactive": interactive,
        "hour": at.hour,
        "weekday": at.isoweekday(),
    }
