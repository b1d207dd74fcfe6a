"""TOTP (RFC 6238) second factor: secrets, provisioning URIs, verification.

Codes are HMAC-SHA1 over the 30-second step, 6 digits, as every authenticator
app expects. Verification accepts the current step and one on either side
(clock skew of a phone), and returns the step that matched so the caller can
store it and refuse the same code a second time (RFC 6238 §5.2: a code is
one-time). Comparison is constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
import time
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from bastion.errors import CredentialError

STEP_SECONDS = 30
DIGITS = 6
SECRET_BYTES = 20  # 160 bits, RFC 4226's recommendation for HMAC-SHA1


def new_secret() -> str:
    """A random base32 secret (no padding), as authenticator apps take it."""
    return base64.b32encode(os.urandom(SECRET_BYTES)).decode("ascii").rstrip("=")


def _key(secret: str) -> bytes:
    cleaned = secret.replace(" ", "").upper()
    try:
        return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except (ValueError, TypeError):
        raise CredentialError("TOTP secret is not valid base32") from None


def hotp(key: bytes, counter: int, digits: int = DIGITS) -> str:
    """RFC 4226 HOTP value for one counter."""
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(code % 10**digits).zfill(digits)


def code_at(secret: str, at: float, digits: int = DIGITS) -> str:
    return hotp(_key(secret), int(at // STEP_SECONDS), digits)


@dataclass(frozen=True)
class TotpCheck:
    ok: bool
    step: int | None = None  # the matched step: store it, refuse it and older ones next time
    reason: str = ""


def verify(
    secret: str, code: str, *, now: float | None = None, last_step: int | None = None, window: int = 1
) -> TotpCheck:
    """Check ``code`` against the steps around ``now``; a step at or before ``last_step`` is a replay."""
    code = code.strip()
    if not (code.isdigit() and len(code) == DIGITS):
        return TotpCheck(False, reason="not a 6-digit code")
    key = _key(secret)
    current = int((time.time() if now is None else now) // STEP_SECONDS)
    for step in range(current - window, current + window + 1):
        if hmac.compare_digest(hotp(key, step), code):
            if last_step is not None and step <= last_step:
                return TotpCheck(False, step=step, reason="code already used")
            return TotpCheck(True, step=step)
    return TotpCheck(False, reason="wrong code")


def provisioning_uri(secret: str, account: str, issuer: str = "NetGuard bastion") -> str:
    """The otpauth:// URI an authenticator app scans (Google's Key Uri Format)."""
    label = quote(f"{issuer}:{account}", safe="")
    query = urlencode(
        {"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": STEP_SECONDS}
    )
    return f"otpauth://totp/{label}?{query}"
