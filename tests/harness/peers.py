"""What a test does when a real peer (Elasticsearch, snmpd, sshd, MariaDB, PostgreSQL, namespaces) is missing.

On a developer's machine a missing peer is a *skip* with the reason, so the rest
of the suite still runs. In CI (``CI=true``) it is a *failure* with the same
reason: CI installs and starts every peer, so a peer that cannot run there is a
broken install step, and a green run that silently skipped it would hide that.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


class PeerUnavailable(Exception):
    """Raised by a harness when its peer cannot be installed or started; the message says why."""


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require_peer(reason: str) -> NoReturn:
    """Fail the test in CI, skip it elsewhere, with ``reason`` either way."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: every peer must be available in CI)", pytrace=False)
    pytest.skip(reason)


def require_root(what: str) -> None:
    """Tests that need root (network namespaces, starting a peer as its own user) call this first."""
    if os.geteuid() != 0:
        require_peer(f"{what} needs root")
