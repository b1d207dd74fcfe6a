"""Why an eviction must not run: typed refusals, each one line naming what and where.

The guards are checked on every ``--apply`` before anything is journalled or
sent (a dry run lists them instead). They follow DESIGN.md §3: never a
protected asset, gateway, switch management address or server (the
inventory's :meth:`~netguard.inventory.Inventory.protected_reason`); never an
authorised device; never an uplink or trunk (discovery's rules plus the
inventory's ``uplinks``; when in doubt a port is an uplink); never a port where
another authorised device is seen unless the operator forces it; and at most
``limit`` actions per run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from netguard.errors import EXIT_FINDINGS, EXIT_USAGE, NetGuardError
from netguard.inventory import Inventory

DEFAULT_LIMIT = 10


class Refused(NetGuardError):
    """An eviction a guard forbids; ``kind`` names the guard."""

    exit_code = EXIT_USAGE
    kind = "refused"


class ProtectedTarget(Refused):
    kind = "protected"


class AuthorisedTarget(Refused):
    kind = "authorised"


class UplinkPort(Refused):
    kind = "uplink"


class SharedPort(Refused):
    kind = "shared-port"


class AlreadyIsolated(Refused):
    kind = "isolated"


class LimitReached(Refused):
    kind = "limit"


class EnforcementFailed(NetGuardError):
    """A SET was refused, not answered, or did not read back as written (journalled as failed)."""

    exit_code = EXIT_FINDINGS


def target_refusals(inventory: Inventory, mac: str, ips: Iterable[str], authorised_reason: str | None) -> list[Refused]:
    """Refusals due to what the device is: protected (by MAC or any IP), or authorised."""
    found: list[Refused] = []
    for ip in (None, *ips):
        reason = inventory.protected_reason(mac=mac if ip is None else None, ip=ip)
        if reason is not None:
            what = mac if ip is None else ip
            found.append(ProtectedTarget(f"{what} is protected ({reason}); NetGuard never evicts it"))
    if authorised_reason is not None:
        found.append(
            AuthorisedTarget(f"{mac} is an inventory device ({authorised_reason}); remove it from the inventory first")
        )
    return found


def port_refusals(
    switch: str, port: str, uplink_reasons: Iterable[str], shared_with: Iterable[str], *, force_shared_port: bool
) -> list[Refused]:
    """Refusals due to the port: an uplink or trunk; other authorised devices on it (unless forced)."""
    found: list[Refused] = []
    reasons = list(uplink_reasons)
    if reasons:
        found.append(
            UplinkPort(f"{switch} {port} is an uplink or trunk ({', '.join(reasons)}); NetGuard never touches it")
        )
    others = sorted(set(shared_with))
    if others and not force_shared_port:
        found.append(
            SharedPort(
                f"{switch} {port} also carries authorised {', '.join(others)}; "
                "isolating the port cuts them off too (--force-shared-port to do it anyway)"
            )
        )
    return found


@dataclass
class ActionLimit:
    """At most ``limit`` actions in one run (one instance per run, never shared)."""

    limit: int
    used: int = 0

    def take(self) -> None:
        if self.used >= self.limit:
            raise LimitReached(f"the per-run limit of {self.limit} actions is reached; run again for the rest")
        self.used += 1


class ForwardingEnforcer(Refused):
    """The enforcer's interface routes IPv4: poisoning would relay the device's traffic, not cut it off."""

    kind = "forwarding"
