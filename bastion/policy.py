"""Authorisation: which targets and accounts a user may reach now. Everything not granted is denied.

A grant gives a subject (a user, or ``@group`` of users) an object (a target,
or ``@group`` of targets), one account or every account of the target, within
an optional validity window (``--from``/``--until``, absolute) and optional
daily hours (local time of the bastion; an end before the start wraps past
midnight, for night shifts). Port and agent forwarding are off unless a grant
that allows the session also allows forwarding. Grants only add: there are no
deny grants, so the order of grants never matters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time

from bastion.directory import Account, Grant, Target, User


@dataclass(frozen=True)
class Access:
    """One (target, account) a user may use now, and whether forwarding is allowed on it."""

    target: Target
    account: str
    allow_forwarding: bool
    grant_ids: tuple[int, ...]


def _in_hours(hours: tuple[time, time] | None, local: time) -> bool:
    if hours is None:
        return True
    start, end = hours
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def grant_applies(grant: Grant, now: datetime) -> bool:
    """Whether a grant is in force at ``now`` (aware)."""
    if grant.valid_from is not None and now < grant.valid_from:
        return False
    if grant.valid_until is not None and now >= grant.valid_until:
        return False
    return _in_hours(grant.hours, now.astimezone().time())


def _subject_matches(grant: Grant, user: User) -> bool:
    if grant.subject.startswith("@"):
        return grant.subject[1:] in user.groups
    return grant.subject == user.name


def _object_matches(grant: Grant, target: Target) -> bool:
    if grant.object.startswith("@"):
        return grant.object[1:] in target.groups
    return grant.object == target.name


def allowed(
    user: User, targets: Iterable[Target], accounts: Iterable[Account], grants: Iterable[Grant], now: datetime
) -> list[Access]:
    """Every (target, account) the user may use at ``now``, sorted by target then account."""
    if user.disabled:
        return []
    live = [g for g in grants if _subject_matches(g, user) and grant_applies(g, now)]
    by_target: dict[str, list[str]] = {}
    for account in accounts:
        by_target.setdefault(account.target, []).append(account.account)
    found: dict[tuple[str, str], Access] = {}
    for target in targets:
        for grant in (g for g in live if _object_matches(g, target)):
            names = by_target.get(target.name, [])
            for name in names if grant.account is None else [a for a in names if a == grant.account]:
                key = (target.name, name)
                before = found.get(key)
                found[key] = Access(
                    target,
                    name,
                    grant.allow_forwarding or (before is not None and before.allow_forwarding),
                    (*(before.grant_ids if before else ()), grant.id),
                )
    return [found[k] for k in sorted(found)]


def resolve(accesses: list[Access], target: str, account: str | None) -> Access | None:
    """The access for ``target`` (and ``account``, or the only account granted there)."""
    matching = [a for a in accesses if a.target.name == target and (account is None or a.account == account)]
    if len(matching) == 1:
        return matching[0]
    return None
