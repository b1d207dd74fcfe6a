"""Password hashes and TOTP: pure logic, checked against the RFCs' own vectors."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest

from bastion import totp
from bastion.errors import CredentialError
from bastion.passwords import ScryptParams, hash_password, needs_rehash, verify_password

FAST = ScryptParams(log2_n=10, r=8, p=1)


def test_password_round_trip_and_wrong_password():
    stored = hash_password("correct horse 电池", FAST)
    assert stored.startswith("$scrypt$ln=10,r=8,p=1$")
    assert verify_password("correct horse 电池", stored)
    assert not verify_password("correct horse 电池 ", stored)


def test_same_password_different_salts():
    assert hash_password("pw", FAST) != hash_password("pw", FAST)


def test_weaker_parameters_need_rehash():
    assert needs_rehash(hash_password("pw", FAST))
    assert not needs_rehash(hash_password("pw", FAST), FAST)


@pytest.mark.parametrize("stored", ["", "$2b$12$abc", "$scrypt$ln=40,r=8,p=1$AAAA$AAAA", "plaintext"])
def test_malformed_hash_is_a_clear_error(stored):
    with pytest.raises(CredentialError):
        verify_password("pw", stored)


def test_empty_password_refused():
    with pytest.raises(CredentialError):
        hash_password("", FAST)


# RFC 6238 Appendix B, SHA-1 rows (8 digits; the secret is ASCII "12345678901234567890").
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("at", "code"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_rfc6238_vectors(at, code):
    assert totp.code_at(RFC_SECRET, at, digits=8) == code


def test_verify_accepts_adjacent_steps_and_refuses_replay():
    secret = totp.new_secret()
    now = 1_700_000_000.0
    previous = totp.code_at(secret, now - 30)
    check = totp.verify(secret, previous, now=now)
    assert check.ok and check.step == int(now // 30) - 1
    replay = totp.verify(secret, previous, now=now, last_step=check.step)
    assert not replay.ok and replay.reason == "code already used"
    far = totp.code_at(secret, now - 120)
    assert not totp.verify(secret, far, now=now).ok


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 456"])
def test_verify_refuses_malformed_codes(code):
    assert not totp.verify(totp.new_secret(), code).ok


def test_provisioning_uri_carries_the_secret_and_issuer():
    secret = totp.new_secret()
    uri = totp.provisioning_uri(secret, "alice")
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    query = parse_qs(parts.query)
    assert query["secret"] == [secret] and query["issuer"] == ["NetGuard bastion"]
    assert parts.path.endswith("alice")


def test_bad_base32_secret():
    with pytest.raises(CredentialError):
        totp.code_at("not base32 !!", 0)
