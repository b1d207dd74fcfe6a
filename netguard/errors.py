"""Errors a user can act on.

Anything derived from :class:`NetGuardError` is printed by the CLI as one line
(no traceback unless ``--debug``) and mapped to an exit code. Messages must
never contain a secret value: name the reference (``env:SNMP_RO``), not what it
resolves to.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


class NetGuardError(Exception):
    """A problem the user can fix; exit code 2 unless a subclass says otherwise."""

    exit_code = EXIT_USAGE


class ConfigError(NetGuardError):
    """The configuration file or a value in it is wrong.

    ``issues`` holds every problem found, each ``file:line: path: message``;
    the message is the first one (and how many more), so the CLI stays one line
    while ``config check`` can list them all.
    """

    def __init__(self, message: str, issues: tuple[str, ...] = ()) -> None:
        self.issues = issues or (message,)
        super().__init__(message)

    @classmethod
    def of(cls, issues: list[str]) -> ConfigError:
        more = f" (and {len(issues) - 1} more; run: netguard config check)" if len(issues) > 1 else ""
        return cls(issues[0] + more, tuple(issues))


class SecretError(NetGuardError):
    """A secret reference cannot be resolved, or its file is not private."""


class InventoryError(NetGuardError):
    """The inventory cannot be loaded or is invalid."""


class StoreError(NetGuardError):
    """A state or event store cannot be opened or written."""


class QueryError(NetGuardError):
    """A search query is malformed; carries the 0-based position of the problem."""

    def __init__(self, message: str, query: str = "", position: int | None = None) -> None:
        self.query = query
        self.position = position
        self.reason = message
        super().__init__(self._render())

    def _render(self) -> str:
        if self.position is None or not self.query:
            return self.reason
        caret = " " * self.position + "^"
        return f"{self.reason} at position {self.position}\n  {self.query}\n  {caret}"
