"""ARP isolation: cut a device off from its gateway by lying to both about each other, journalled, restorable.

*Poison* (unicast ARP replies from the enforcer's own MAC): to the device,
"the gateway's IP is at the enforcer's MAC"; to the gateway, "the device's IP
is at the enforcer's MAC". Both then send each other's traffic to the
enforcer, which does not forward it (the plan refuses an interface that
forwards IPv4). Linux ignores a second update of the same entry within its
``locktime`` (1 s), so every burst is sent in :data:`ROUNDS` rounds
:data:`ROUND_GAP_S` apart. A poisoned entry heals on its own once the host
re-asks and the real owner answers; ``netguard evict hold``
(:mod:`netguard.enforce.hold`) keeps it poisoned while the isolation lasts.

*Restore* sends the true mappings the same way (still from the enforcer's MAC
at layer 2; the ARP payload names the real owner).

*Verification* (:func:`check`), honest about what it shows: an ICMP echo
request to the device that claims to come from the gateway's IP, and one to
the gateway claiming the device's IP. Each answer goes wherever the answerer's
ARP cache sends the other side's IP; an answer arriving at the enforcer's MAC
proves that cache is poisoned. After poisoning, at least one direction must be
proven (either one alone breaks any two-way exchange: a ping, TCP), else the
action failed: the correct mappings are sent back and the entry is journalled
``failed``. A host that answers no echo at all (a firewall) cannot be proven
poisoned, so such a device is reported as not isolated rather than assumed
to be. After a restore, no answer may come back to the enforcer's MAC; that
is all it shows (that the caches no longer point at the enforcer, not that the
device answers pings).

An entry left in ``intent`` by a crash is settled by the same check: poisoned
either way → ``applied`` (then restored); not → the correct mappings are sent
anyway (harmless, and it undoes a half-sent burst) and the entry is ``failed``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from netguard.enforce.arp_frames import EchoReplySeen, claim, impersonated_echo, read_echo_reply
from netguard.enforce.arp_link import Link, LinkError
from netguard.enforce.arp_plan import ARP_ISOLATE, ArpPlan, Sides
from netguard.enforce.guards import ActionLimit, EnforcementFailed
from netguard.enforce.journalled import Intent, Record, begin, intend, pause_after_intent
from netguard.enforce.restore import NotRestorable
from netguard.store.isolation import PortState
from netguard.store.journal import ActionJournal, JournalEntry, Target

ROUNDS = 3
RESTORE_ROUNDS = 5
ROUND_GAP_S = 0.6
CHECK_TRIES = 3
CHECK_WAIT_S = 1.0


def poison(link: Link, s: Sides) -> None:
    """One round of the poison, both ways."""
    link.send(claim(enforcer_mac=link.mac, to_mac=s.device_mac, to_ip=s.device_ip, ip=s.gateway_ip, mac=link.mac))
    link.send(claim(enforcer_mac=link.mac, to_mac=s.gateway_mac, to_ip=s.gateway_ip, ip=s.device_ip, mac=link.mac))


def heal(link: Link, s: Sides) -> None:
    """One round of the true mappings, both ways."""
    link.send(claim(enforcer_mac=link.mac, to_mac=s.device_mac, to_ip=s.device_ip, ip=s.gateway_ip, mac=s.gateway_mac))
    link.send(claim(enforcer_mac=link.mac, to_mac=s.gateway_mac, to_ip=s.gateway_ip, ip=s.device_ip, mac=s.device_mac))


def _rounds(link: Link, s: Sides, send: Callable[[Link, Sides], None], count: int) -> None:
    for n in range(count):
        if n:
            time.sleep(ROUND_GAP_S)
        send(link, s)


@dataclass(frozen=True)
class Redirection:
    """Which caches were shown to point at the enforcer: the device's (for the gateway), the gateway's."""

    device: bool
    gateway: bool

    @property
    def any(self) -> bool:
        return self.device or self.gateway

    def describe(self) -> str:
        def one(who: str, other: str, shown: bool) -> str:
            if shown:
                return f"the {who} answered an echo from the {other}'s IP to the enforcer's MAC"
            return f"no answer from the {who} came to the enforcer's MAC"

        return f"{one('device', 'gateway', self.device)}; {one('gateway', 'device', self.gateway)}"

    def as_dict(self) -> dict[str, bool]:
        return {"device_redirected": self.device, "gateway_redirected": self.gateway}


def check(link: Link, s: Sides) -> Redirection:
    """Send impersonated echoes both ways and see which answers come back to the enforcer (module docstring)."""
    ident = secrets.randbelow(0xFFFF) + 1
    device = gateway = False

    def ours(raw: bytes) -> EchoReplySeen | None:
        seen = read_echo_reply(raw)
        return seen if seen is not None and seen.ident == ident and seen.eth_dst == link.mac else None

    def echo(*, dst_mac: str, src_ip: str, dst_ip: str, seq: int) -> None:
        link.send(
            impersonated_echo(
                enforcer_mac=link.mac, dst_mac=dst_mac, src_ip=src_ip, dst_ip=dst_ip, ident=ident, seq=seq
            )
        )

    for seq in range(1, CHECK_TRIES + 1):
        if not device:  # to the device, as if from the gateway
            echo(dst_mac=s.device_mac, src_ip=s.gateway_ip, dst_ip=s.device_ip, seq=seq)
        if not gateway:  # to the gateway, as if from the device
            echo(dst_mac=s.gateway_mac, src_ip=s.device_ip, dst_ip=s.gateway_ip, seq=seq)
        for seen in link.collect(CHECK_WAIT_S, ours):
            device = device or (seen.src_ip, seen.dst_ip) == (s.device_ip, s.gateway_ip)
            gateway = gateway or (seen.src_ip, seen.dst_ip) == (s.gateway_ip, s.device_ip)
        if device and gateway:
            break
    return Redirection(device, gateway)


def isolated_state(mac: str) -> PortState:
    # No switch port: the row is keyed by the MAC alone ('' for switch and port, see store.isolation).
    return PortState(mac, "", "", "isolated")


def apply_arp_plan(
    plan: ArpPlan,
    *,
    link: Link,
    journal: ActionJournal,
    operator: str,
    reason: str,
    limit: ActionLimit,
    record: Record,
) -> JournalEntry:
    """Guards, intent, poison, check, outcome; raises the first refusal or EnforcementFailed."""
    s = plan.sides
    intent = Intent(ARP_ISOLATE, Target(mac=s.device_mac, ip=s.device_ip), plan.state_before, plan.state_after)
    step = begin(plan.refusals, intent, journal=journal, operator=operator, reason=reason, limit=limit, record=record)
    if pause := pause_after_intent():
        time.sleep(pause)
    try:
        _rounds(link, s, poison, ROUNDS)
        shown = check(link, s)
        if not shown.any:
            _rounds(link, s, heal, RESTORE_ROUNDS)
    except LinkError as exc:
        try:
            _rounds(link, s, heal, RESTORE_ROUNDS)
            after = "the correct mappings were sent back"
        except LinkError:
            # A failed entry is not held, so whatever was poisoned heals once the hosts ask again.
            after = "the correct mappings could not be sent back either; the caches heal when the hosts ask again"
        step.failed(f"{exc}; {after}")
        raise EnforcementFailed(f"{exc}; {after}") from None
    if not shown.any:
        detail = (
            f"not isolated: {shown.describe()} (a static ARP entry, or a host that answers no ping); "
            "the correct mappings were sent back"
        )
        step.failed(detail)
        raise EnforcementFailed(f"ARP isolation of {s.device_mac} ({s.device_ip}) on {s.interface}: {detail}")
    return step.applied(f"poisoned both ways; verified: {shown.describe()}", isolated_state(s.device_mac))


def sides_of(entry: JournalEntry) -> Sides:
    try:
        return Sides.from_state(entry.state_before)
    except ValueError as exc:
        raise NotRestorable(f"journal entry {entry.id} cannot be restored: {exc}") from None


def settle_interrupted_arp(entry: JournalEntry, *, link: Link, journal: ActionJournal, record: Record) -> JournalEntry:
    """Give an interrupted arp-isolate entry the outcome the caches show (module docstring)."""
    s = sides_of(entry)
    shown = check(link, s)
    if shown.any:
        settled = journal.mark_applied(
            entry.id,
            f"interrupted; checked afterwards: {shown.describe()}",
            isolation=isolated_state(s.device_mac),
        )
    else:
        _rounds(link, s, heal, RESTORE_ROUNDS)
        settled = journal.mark_failed(
            entry.id,
            f"interrupted; checked afterwards: {shown.describe()}; the correct mappings were sent anyway",
        )
    record(settled)
    return settled


def restore_arp(
    entry: JournalEntry,
    *,
    link: Link,
    journal: ActionJournal,
    operator: str,
    reason: str,
    record: Record,
) -> JournalEntry:
    """Undo an arp-isolate entry; returns the restore entry, or the settled original when nothing was done."""
    if entry.action != ARP_ISOLATE:
        raise NotRestorable(f"journal entry {entry.id} is a '{entry.action}', not an ARP isolation")
    if entry.is_open:
        entry = settle_interrupted_arp(entry, link=link, journal=journal, record=record)
        if entry.status == "failed":
            return entry
    if entry.status != "applied":
        raise NotRestorable(f"journal entry {entry.id} is '{entry.status}': nothing to restore")
    s = sides_of(entry)
    before = check(link, s)
    intent = Intent(
        "restore",
        entry.target,
        {**s.as_state(), **before.as_dict()},
        {"device_sees_gateway_at": s.gateway_mac, "gateway_sees_device_at": s.device_mac},
    )
    step = intend(intent, journal=journal, operator=operator, reason=reason, record=record, undoes=entry.id)
    try:
        _rounds(link, s, heal, RESTORE_ROUNDS)
        after = check(link, s)
    except LinkError as exc:
        step.failed(str(exc))
        raise EnforcementFailed(str(exc)) from None
    if after.any:
        detail = f"still redirected after the correct mappings: {after.describe()} (is another `evict hold` running?)"
        step.failed(detail)
        raise EnforcementFailed(f"restore of {s.device_mac} ({s.device_ip}) on {s.interface}: {detail}")
    done = step.applied(
        f"correct mappings sent; checked: {after.describe()}", PortState(s.device_mac, "", "", "enabled")
    )
    record(journal.get(entry.id))
    return done
