"""Secret references and the values they resolve to.

Secrets (SNMP communities, v3 keys, passwords, API keys) are never written
inline in the inventory or the configuration. A field holds a *reference*:

``env:NAME``        the environment variable NAME
``secret:NAME``     key NAME in the secrets file (YAML mapping, mode 0600)
``file:PATH``       the whole content of PATH, stripped (mode 0600)
``plain:VALUE``     an inline value, accepted only because the admin insists

A resolved value is wrapped in :class:`Secret`, whose ``repr``/``str`` are
redacted, so it cannot leak through logging, an f-string, an exception or
``--json`` output by accident; code that needs the value calls
:meth:`Secret.reveal` at the point of use.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import yaml

from netguard.errors import SecretError

SCHEMES = ("env", "secret", "file", "plain")
REDACTED = "********"


class Secret:
    """A secret value that does not show itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED})"

    def __str__(self) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class SecretRef:
    """A parsed reference such as ``env:SNMP_RO``; safe to print."""

    scheme: str
    target: str

    def __str__(self) -> str:
        if self.scheme == "plain":
            return "plain:" + REDACTED
        return f"{self.scheme}:{self.target}"

    @property
    def is_inline(self) -> bool:
        return self.scheme == "plain"


def parse_ref(text: str) -> SecretRef:
    """Parse a reference; a bare string is refused because it would be an inline secret."""
    scheme, sep, target = text.partition(":")
    if not sep or scheme not in SCHEMES:
        raise SecretError(
            "a secret must be a reference (env:NAME, secret:NAME or file:PATH), "
            "not an inline value; write plain:VALUE only if you insist on plain text"
        )
    if not target:
        raise SecretError(f"secret reference '{scheme}:' names nothing")
    return SecretRef(scheme, target)


def check_private(path: Path) -> None:
    """Refuse a secrets file that others can read, as ssh does for keys."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise SecretError(f"secrets file {path} does not exist") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretError(
            f"secrets file {path} is readable by others (mode {stat.S_IMODE(mode):04o}); run: chmod 600 {path}"
        )


def write_private(path: Path, text: str) -> None:
    """Write a file that holds secrets with mode 0600 from its first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


@dataclass
class SecretResolver:
    """Resolves references against the environment and one secrets file."""

    secrets_file: Path | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    _file_cache: dict[str, str] | None = field(default=None, init=False, repr=False)

    def resolve(self, ref: SecretRef | str) -> Secret:
        if isinstance(ref, str):
            ref = parse_ref(ref)
        if ref.scheme == "plain":
            return Secret(ref.target)
        if ref.scheme == "env":
            if ref.target not in self.environ:
                raise SecretError(f"environment variable {ref.target} (from {ref}) is not set")
            return Secret(self.environ[ref.target])
        if ref.scheme == "file":
            path = Path(ref.target).expanduser()
            check_private(path)
            return Secret(path.read_text(encoding="utf-8").strip())
        table = self._secrets_table()
        if ref.target not in table:
            raise SecretError(f"{ref} is not in the secrets file {self.secrets_file}")
        return Secret(table[ref.target])

    def _secrets_table(self) -> dict[str, str]:
        if self._file_cache is not None:
            return self._file_cache
        if self.secrets_file is None:
            raise SecretError("a secret:NAME reference needs 'secrets_file' in netguard.yaml")
        check_private(self.secrets_file)
        try:
            data = yaml.safe_load(self.secrets_file.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            # The YAML error text can quote the offending line, i.e. a secret: not shown.
            raise SecretError(f"secrets file {self.secrets_file}{where} is not valid YAML") from None
        if not isinstance(data, dict):
            raise SecretError(f"secrets file {self.secrets_file} must be a mapping of name: value")
        self._file_cache = {str(k): str(v) for k, v in data.items()}
        return self._file_cache


def redact_url(url: str) -> str:
    """A host URL with any user:password@ removed, for messages."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
