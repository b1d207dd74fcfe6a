"""The SSH login name says who and where: ``alice``, ``alice@his-db01`` or ``alice:root@his-db01``.

``ssh -l alice:root@his-db01 bastion`` goes straight to account ``root`` on
target ``his-db01``; ``alice@his-db01`` does too when alice is granted only one
account there; plain ``alice`` gets the menu of what she may use. The user part
is what authentication, lockout and events use.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LoginName:
    user: str
    account: str | None = None
    target: str | None = None

    def __str__(self) -> str:
        text = self.user
        if self.account:
            text += f":{self.account}"
        if self.target:
            text += f"@{self.target}"
        return text


def parse_login(name: str) -> LoginName:
    who, _, target = name.partition("@")
    user, _, account = who.partition(":")
    return LoginName(user, account or None, target or None)
