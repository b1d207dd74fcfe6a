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

import difflib
import os
import re
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


class SecretRef:
    """A parsed reference such as ``env:SNMP_RO``; safe to print.

    Not a dataclass on purpose: its ``repr`` (and therefore the ``repr`` of
    every record holding one, the whole :class:`~netguard.config.Config`
    included) must never show a ``plain:`` value, and ``dataclasses.asdict``
    must not unpack it into a dict that does. Immutable and hashable.
    """

    __slots__ = ("_scheme", "_target")
    _scheme: str
    _target: str

    def __init__(self, scheme: str, target: str) -> None:
        object.__setattr__(self, "_scheme", scheme)
        object.__setattr__(self, "_target", target)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("SecretRef is immutable")

    @property
    def scheme(self) -> str:
        return self._scheme

    @property
    def target(self) -> str:
        """The variable, secret name or path; for ``plain:`` the value itself (use with care)."""
        return self._target

    def __str__(self) -> str:
        if self._scheme == "plain":
            return "plain:" + REDACTED
        return f"{self._scheme}:{self._target}"

    def __repr__(self) -> str:
        return f"SecretRef({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretRef) and (other._scheme, other._target) == (self._scheme, self._target)

    def __hash__(self) -> int:
        return hash((self._scheme, self._target))

    def __reduce__(self) -> tuple[type[SecretRef], tuple[str, str]]:
        return (SecretRef, (self._scheme, self._target))

    @property
    def is_inline(self) -> bool:
        return self._scheme == "plain"


def parse_ref(text: str) -> SecretRef:
    """Parse a reference; a bare string is refused because it would be an inline secret.

    The text before ``:`` is echoed only when it is close to a scheme name
    (``sekret:``): anything else may be an inline password that merely holds a
    colon, and must not reach a message.
    """
    scheme, sep, target = text.partition(":")
    if sep and scheme not in SCHEMES and re.fullmatch(r"[A-Za-z]{2,12}", scheme):
        close = difflib.get_close_matches(scheme.lower(), SCHEMES, n=1, cutoff=0.6)
        allowed = ", ".join(f"{s}:" for s in SCHEMES)
        if close:
            raise SecretError(
                f"unknown reference scheme '{scheme}:' (did you mean '{close[0]}:'? the schemes are {allowed})"
            )
        raise SecretError(f"a secret must be a reference: unknown scheme before ':' (the schemes are {allowed})")
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
    # repr=False: the environment holds other programs' secrets too.
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ, repr=False)
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
            # Names only: the file's keys are not secret, its values are.
            close = difflib.get_close_matches(ref.target, sorted(table), n=1, cutoff=0.6)
            hint = f" (did you mean secret:{close[0]}?)" if close else ""
            raise SecretError(f"{ref} is not in the secrets file {self.secrets_file}{hint}")
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
    """A host URL with any user:password@ removed, for messages.

    Works on the raw network location, not on ``urlsplit().port``, which raises
    on a bad port and would carry the URL, password included, into an error.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
