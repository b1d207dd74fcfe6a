"""Password hashes for bastion users: scrypt, in a self-describing string.

Format (modular crypt style, so parameters can be raised later without breaking
old hashes): ``$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt b64>$<hash b64>``.
Defaults follow OWASP's 2023 scrypt guidance (N=2**17, r=8, p=1: about 128 MiB
and ~0.3 s per check on a small core), which also slows down an online guesser
beyond what the lockout already does. :func:`needs_rehash` tells the caller when
a stored hash uses weaker parameters than today's, so it can be upgraded at the
next successful login.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass

from bastion.errors import CredentialError

_FORMAT = re.compile(r"\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)")
_HASH_LEN = 32
_SALT_LEN = 16


@dataclass(frozen=True)
class ScryptParams:
    log2_n: int = 17
    r: int = 8
    p: int = 1

    @property
    def maxmem(self) -> int:
        # hashlib.scrypt refuses anything above maxmem; give it the memory it needs plus slack.
        return 256 * self.r * (1 << self.log2_n) + (1 << 20)


DEFAULT_PARAMS = ScryptParams()


def _derive(password: str, salt: bytes, params: ScryptParams) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=1 << params.log2_n,
        r=params.r,
        p=params.p,
        maxmem=params.maxmem,
        dklen=_HASH_LEN,
    )


def hash_password(password: str, params: ScryptParams = DEFAULT_PARAMS) -> str:
    if not password:
        raise CredentialError("an empty password cannot be set")
    salt = os.urandom(_SALT_LEN)
    digest = _derive(password, salt, params)
    b64 = base64.b64encode
    return f"$scrypt$ln={params.log2_n},r={params.r},p={params.p}${b64(salt).decode()}${b64(digest).decode()}"


def _parse(stored: str) -> tuple[ScryptParams, bytes, bytes]:
    match = _FORMAT.fullmatch(stored)
    if match is None:
        raise CredentialError("stored password hash is not in the $scrypt$ format")
    ln, r, p = (int(match.group(i)) for i in (1, 2, 3))
    if not (10 <= ln <= 22 and 1 <= r <= 32 and 1 <= p <= 16):
        raise CredentialError("stored password hash has out-of-range scrypt parameters")
    return ScryptParams(ln, r, p), base64.b64decode(match.group(4)), base64.b64decode(match.group(5))


def verify_password(password: str, stored: str) -> bool:
    params, salt, expected = _parse(stored)
    return hmac.compare_digest(_derive(password, salt, params), expected)


def needs_rehash(stored: str, params: ScryptParams = DEFAULT_PARAMS) -> bool:
    current, _, _ = _parse(stored)
    return (current.log2_n, current.r, current.p) < (params.log2_n, params.r, params.p)
