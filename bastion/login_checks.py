"""Authentication of one client connection: public key, password, password + TOTP, with lockout.

paramiko asks the :class:`LoginChecks` part of a connection
(:class:`bastion.connection.Connection`) one method at a time. A user with a
TOTP secret authenticates in two steps: the password (over ``password`` or
keyboard-interactive) is answered "partially successful", then a
keyboard-interactive prompt asks for the code. A locked user or source address
is refused before any check; each failure counts towards a lockout (an event
per lock); a public key that does not match is not a failure by itself,
because clients offer several keys in turn. Every outcome is a
``bastion-login`` event. On success the connection keeps the parsed login
name, the user and the accesses their grants give at that moment.
"""

from __future__ import annotations

import paramiko

from bastion import auth
from bastion.context import Bastion, now
from bastion.directory import User
from bastion.login import LoginName, parse_login
from bastion.policy import Access, allowed

# paramiko's constants, typed (paramiko ships no type information).
AUTH_SUCCESSFUL: int = paramiko.AUTH_SUCCESSFUL
AUTH_FAILED: int = paramiko.AUTH_FAILED
AUTH_PARTIALLY_SUCCESSFUL: int = paramiko.AUTH_PARTIALLY_SUCCESSFUL


class LoginChecks:
    """The authentication half of a connection's paramiko ServerInterface."""

    bastion: Bastion
    source_ip: str
    source_port: int
    login: LoginName | None
    user: User | None
    method: str
    factors: list[str]
    accesses: list[Access]
    _password_ok_for: str | None
    _interactive_stage: str
    _interactive_user: str

    def get_allowed_auths(self, username: str) -> str:
        if self._password_ok_for == username:
            return "keyboard-interactive"
        return "publickey,keyboard-interactive,password"

    def _locked(self, name: str) -> bool:
        decision = auth.locked(self.bastion.lockouts(), name, self.source_ip, now())
        if decision is not None:
            self._login_event(name, False, decision.reason)
            return True
        return False

    def _fail(self, name: str, method: str, reason: str) -> int:
        locks = self.bastion.lockouts().failure(name, self.source_ip, now())
        self._login_event(name, False, reason, method)
        for lock in locks:
            self.bastion.emit(
                "bastion-login",
                {
                    "event.action": "login",
                    "event.outcome": "failure",
                    "user.name": name,
                    "source.ip": self.source_ip,
                    "netguard.auth.failure_reason": f"{lock.kind} {lock.key} locked out until "
                    f"{lock.until.isoformat(timespec='seconds')}",
                    "netguard.risk": "high",
                    "message": f"bastion lockout of {lock.kind} {lock.key}",
                },
            )
        return AUTH_FAILED

    def _succeed(self, username: str, method: str, factors: list[str]) -> int:
        login = parse_login(username)
        directory = self.bastion.directory()
        user = directory.find_user(login.user)
        if user is None:
            return self._fail(login.user, method, "unknown user")
        self.login, self.user, self.method, self.factors = login, user, method, factors
        self.bastion.lockouts().success(login.user, self.source_ip)
        self.accesses = allowed(user, directory.targets(), directory.accounts(), directory.grants(), now())
        self._login_event(login.user, True, "", method)
        return AUTH_SUCCESSFUL

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        login = parse_login(username)
        if self._locked(login.user):
            return AUTH_FAILED
        decision = auth.check_key(self.bastion.directory(), login.user, key.get_name(), key.asbytes())
        if not decision.ok:
            return AUTH_FAILED  # clients try several keys: not a failure until all fail
        return self._succeed(username, "publickey", ["publickey"])

    def check_auth_password(self, username: str, password: str) -> int:
        login = parse_login(username)
        if self._locked(login.user):
            return AUTH_FAILED
        user = self.bastion.directory().find_user(login.user)
        decision = auth.check_password(user, password)
        if not decision.ok:
            return self._fail(login.user, "password", decision.reason)
        assert user is not None
        if user.totp:
            self._password_ok_for = username
            return AUTH_PARTIALLY_SUCCESSFUL
        return self._succeed(username, "password", ["password"])

    def check_auth_interactive(self, username: str, submethods: str) -> int | paramiko.InteractiveQuery:
        login = parse_login(username)
        if self._locked(login.user):
            return AUTH_FAILED
        self._interactive_user = username
        if self._password_ok_for == username:
            self._interactive_stage = "code"
            return paramiko.InteractiveQuery("", "", ("Verification code: ", False))
        self._interactive_stage = "password"
        return paramiko.InteractiveQuery("", "", ("Password: ", False))

    def check_auth_interactive_response(self, responses: list[str]) -> int | paramiko.InteractiveQuery:
        username = self._interactive_user
        login = parse_login(username)
        directory = self.bastion.directory()
        user = directory.find_user(login.user)
        if self._interactive_stage == "password":
            decision = auth.check_password(user, responses[0] if responses else "")
            if not decision.ok:
                return self._fail(login.user, "keyboard-interactive", decision.reason)
            assert user is not None
            if not user.totp:
                return self._succeed(username, "keyboard-interactive", ["password"])
            self._password_ok_for = username
            self._interactive_stage = "code"
            return paramiko.InteractiveQuery("", "", ("Verification code: ", False))
        if self._interactive_stage == "code" and user is not None and self._password_ok_for == username:
            decision = auth.check_code(directory, self.bastion.vault, user, responses[0] if responses else "", now())
            if not decision.ok:
                self._password_ok_for = None
                return self._fail(login.user, "totp", decision.reason)
            return self._succeed(username, "password+totp", ["password", "totp"])
        return AUTH_FAILED

    def _login_event(self, name: str, ok: bool, reason: str, method: str = "") -> None:
        self.bastion.emit(
            "bastion-login",
            {
                "event.action": "login",
                "event.outcome": "success" if ok else "failure",
                "user.name": name,
                "source.ip": self.source_ip,
                "source.port": self.source_port,
                "netguard.auth.method": method or None,
                "netguard.auth.factors": list(self.factors) if ok else None,
                "netguard.auth.failure_reason": reason or None,
                "message": f"bastion login {'succeeded' if ok else 'failed'} for {name} from {self.source_ip}"
                + (f": {reason}" if reason else ""),
            },
        )

    # -- channels -------------------------------------------------------------------------------
