"""Errors of the bastion's own parts; all are user-facing NetGuardErrors (one line, exit 2)."""

from __future__ import annotations

from netguard.errors import NetGuardError


class VaultError(NetGuardError):
    """The vault cannot be opened, decrypted or written; never carries a secret."""


class CredentialError(NetGuardError):
    """A password hash or TOTP secret is malformed."""
