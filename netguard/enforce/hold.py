"""``evict hold``: keep every ARP isolation in force while it lasts.

A poisoned ARP entry does not stay poisoned: the host re-asks when the entry
goes stale (a unicast probe to the MAC it has, then a broadcast), and hosts
announce themselves. The holder therefore, for every ``isolated`` row of the
state store whose journal entry is an applied ``arp-isolate``:

* re-sends the poison both ways every ``interval`` seconds;
* answers, from the enforcer's MAC, every ARP request in which one side asks
  for the other (the device for its gateway, the gateway for the device),
  including the device's unicast probes to the enforcer, so the entry is
  confirmed poisoned instead of failing over to a broadcast the real owner
  answers;
* on any ARP frame in which a side speaks for itself (an answer, an
  announcement), poisons the other side again at once and once more after
  Linux's 1 s ``locktime``, so a re-announcement does not win.

The store is read again every ``interval``: isolations applied since start
are picked up, restored ones dropped, and one whose ``restore`` is in
progress (an open restore entry undoes it) is let go at once so the holder
does not fight the restore; a restore still open after :data:`RESTORE_GRACE`
was interrupted, so the isolation, still applied, is held again (and named).
A row that cannot be held (no journal entry, an entry without the recorded
sides, an interface this host lacks) is logged once, counted, and skipped;
the others are held. The loop ends when ``stop()`` says so, woken at once
through ``wakeup_fd`` (the signal handler's pipe).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import select
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from netguard.enforce.arp_frames import ARP_REQUEST, ArpSeen, claim, read_arp
from netguard.enforce.arp_isolate import poison
from netguard.enforce.arp_link import Link
from netguard.enforce.arp_plan import ARP_ISOLATE, Sides
from netguard.errors import NetGuardError
from netguard.store.codec import utcnow
from netguard.store.isolation import IsolationRepository
from netguard.store.journal import ActionJournal

# A restore still open after this long was interrupted: the isolation is held again.
RESTORE_GRACE = dt.timedelta(minutes=5)
LOCKTIME_S = 1.1  # just past Linux's default neighbour locktime (1 s)
MIN_GAP_S = 0.2  # never poison one isolation more often, however chatty the segment

Log = Callable[[str], None]


@dataclass(frozen=True)
class Held:
    journal_id: int
    sides: Sides


@dataclass(frozen=True)
class HeldSet:
    held: tuple[Held, ...]
    problems: tuple[str, ...]


def held_isolations(isolation: IsolationRepository, journal: ActionJournal) -> HeldSet:
    """Every ARP isolation to hold now, and one line for each isolated row that cannot be held."""
    held: list[Held] = []
    problems: list[str] = []
    now = utcnow()
    letting_go: set[int] = set()
    for e in journal.open_entries():
        if e.action != "restore" or e.undoes is None:
            continue
        if now - e.created < RESTORE_GRACE:
            letting_go.add(e.undoes)
        else:
            problems.append(
                f"restore entry {e.id} of journal entry {e.undoes} was interrupted; still holding it "
                f"(run: netguard evict restore {e.undoes})"
            )
    for row in isolation.restricted():
        if row.status != "isolated":
            continue
        what = f"isolation of {row.mac}"
        if row.journal_id is None:
            problems.append(f"{what}: names no journal entry, so its addresses are unknown")
            continue
        try:
            entry = journal.get(row.journal_id)
        except NetGuardError as exc:
            problems.append(f"{what}: {exc}")
            continue
        if entry.action != ARP_ISOLATE or entry.status != "applied":
            problems.append(
                f"{what}: journal entry {entry.id} is a {entry.status} '{entry.action}', not an applied ARP isolation"
            )
            continue
        if entry.id in letting_go:
            continue
        try:
            held.append(Held(entry.id, Sides.from_state(entry.state_before)))
        except ValueError as exc:
            problems.append(f"{what}: journal entry {entry.id}: {exc}")
    return HeldSet(tuple(held), tuple(problems))


@dataclass
class HoldCounters:
    """What one run of the holder did (mutable, owned by one :class:`Holder`)."""

    reloads: int = 0
    poisoned: int = 0  # poison rounds sent (each both ways)
    answered: int = 0  # ARP requests answered for the other side
    problems: set[str] = field(default_factory=set)  # every distinct row or link that could not be held


class Holder:
    """The loop of the module docstring; ``load`` reads the store, ``log`` takes one line."""

    def __init__(self, load: Callable[[], HeldSet], log: Log, *, interval: float) -> None:
        self._load = load
        self._log = log
        self._interval = interval
        self._links: dict[str, Link] = {}
        self._held: dict[int, Held] = {}
        self._due: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._again: set[int] = set()  # poison once more one locktime after the next round
        self.counters = HoldCounters()

    def _problem(self, line: str) -> None:
        if line not in self.counters.problems:
            self.counters.problems.add(line)
            self._log(f"cannot hold: {line}")

    def _link(self, iface: str) -> Link | None:
        link = self._links.get(iface)
        if link is None:
            try:
                link = self._links[iface] = Link(iface)
            except NetGuardError as exc:
                self._problem(str(exc))
                return None
        return link

    def _drop_link(self, iface: str, why: NetGuardError) -> None:
        self._problem(str(why))
        link = self._links.pop(iface, None)
        if link is not None:
            link.close()

    def reload(self, now: float) -> None:
        try:
            found = self._load()
        except (NetGuardError, sqlite3.Error) as exc:
            self._problem(f"reading the state store: {exc}")
            return
        self.counters.reloads += 1
        for line in found.problems:
            self._problem(line)
        before = set(self._held)
        self._held = {}
        for h in found.held:
            if self._link(h.sides.interface) is not None:
                self._held[h.journal_id] = h
        for gone in before - set(self._held):
            self._due.pop(gone, None)
            self._last.pop(gone, None)
            self._again.discard(gone)
            self._log(f"released journal entry {gone}")
        for new in set(self._held) - before:
            s = self._held[new].sides
            self._due[new] = now
            self._log(f"holding journal entry {new}: {s.device_mac} ({s.device_ip}) on {s.interface}")
        for iface in set(self._links) - {h.sides.interface for h in self._held.values()}:
            self._links.pop(iface).close()

    def _poison(self, h: Held, now: float) -> None:
        link = self._links.get(h.sides.interface)
        if link is None:
            return
        try:
            poison(link, h.sides)
        except NetGuardError as exc:
            self._drop_link(h.sides.interface, exc)
            return
        self.counters.poisoned += 1
        self._last[h.journal_id] = now
        if h.journal_id in self._again:
            self._again.discard(h.journal_id)
            self._due[h.journal_id] = now + LOCKTIME_S
        else:
            self._due[h.journal_id] = now + self._interval

    def _react(self, link: Link, seen: ArpSeen, now: float) -> None:
        for h in self._held.values():
            s = h.sides
            if s.interface != link.iface or seen.sender_mac == link.mac:
                continue
            asks = seen.op == ARP_REQUEST
            if asks and (seen.sender_ip, seen.target_ip) in ((s.device_ip, s.gateway_ip), (s.gateway_ip, s.device_ip)):
                to_mac, to_ip, other = (
                    (s.device_mac, s.device_ip, s.gateway_ip)
                    if seen.sender_ip == s.device_ip
                    else (s.gateway_mac, s.gateway_ip, s.device_ip)
                )
                link.send(claim(enforcer_mac=link.mac, to_mac=to_mac, to_ip=to_ip, ip=other, mac=link.mac))
                self.counters.answered += 1
                self._due[h.journal_id] = min(self._due.get(h.journal_id, now), now + LOCKTIME_S)
            elif seen.sender_ip in (s.device_ip, s.gateway_ip):
                # A side spoke for itself: whoever heard it may now hold the truth. Poison at once (within
                # MIN_GAP_S) and again after the locktime, which may have made the first round ignored.
                self._due[h.journal_id] = max(now, self._last.get(h.journal_id, 0.0) + MIN_GAP_S)
                self._again.add(h.journal_id)

    def run(self, *, stop: Callable[[], bool], wakeup_fd: int | None = None, cycles: int | None = None) -> None:
        """Hold until ``stop()`` is true (checked whenever the loop wakes), or for ``cycles`` reloads."""
        next_reload = time.monotonic()
        try:
            while not stop():
                now = time.monotonic()
                if now >= next_reload:
                    if cycles is not None and self.counters.reloads >= cycles:
                        return
                    self.reload(now)
                    next_reload = now + self._interval
                for jid, when in list(self._due.items()):
                    if when <= now and jid in self._held:
                        self._poison(self._held[jid], now)
                wake = min([next_reload, *self._due.values()])
                self._wait(max(0.0, wake - time.monotonic()), wakeup_fd)
        finally:
            for link in self._links.values():
                link.close()
            self._links.clear()

    def _wait(self, seconds: float, wakeup_fd: int | None) -> None:
        watched: list[int | Link] = [*self._links.values()]
        if wakeup_fd is not None:
            watched.append(wakeup_fd)
        ready, _, _ = select.select(watched, [], [], seconds)
        now = time.monotonic()
        for item in ready:
            if not isinstance(item, Link):
                _drain(item)
                continue
            try:
                frames = list(item.pending())
            except OSError as exc:
                self._drop_link(item.iface, NetGuardError(f"reading {item.iface}: {exc.strerror}"))
                continue
            for raw in frames:
                seen = read_arp(raw)
                if seen is not None:
                    try:
                        self._react(item, seen, now)
                    except NetGuardError as exc:
                        self._drop_link(item.iface, exc)
                        break


def _drain(fd: int) -> None:
    with contextlib.suppress(BlockingIOError, InterruptedError):
        os.read(fd, 512)
