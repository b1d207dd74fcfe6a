"""Ping many targets at once from one process, the way fping does.

One socket per address family, one asyncio event loop, no threads and no
sleep-polling: the socket is watched with ``loop.add_reader`` and every send
and every probe deadline is a ``loop.call_at`` timer.

Sockets: a raw ICMP socket when the process may open one (root or
CAP_NET_RAW), else the unprivileged ICMP datagram ("ping") socket, which Linux
allows to the groups in ``net.ipv4.ping_group_range``; when neither is allowed,
:class:`IcmpUnavailable` says what is needed. A raw socket sees every ICMP
message reaching the host, so replies are filtered in the kernel to echo
replies and errors (``ICMP_FILTER``) and then matched by identifier, sequence,
the run's payload cookie and the replying address. A ping socket gets only its
own replies (the kernel sets the identifier to the socket's port).

Schedule (fping's): probe k+1 to a target is due ``interval_ms`` after probe
k (-p), and two sends to any targets are at least ``gap_ms`` apart (-i). The
loop's timers are only as precise as ``epoll_wait`` (a millisecond, rounded
up), so sends follow an ideal timeline: when a timer fires late, every probe
whose slot has passed is sent at once. A burst never exceeds
:data:`MAX_CATCH_UP` probes: after a longer stall the timeline restarts from
now instead of flooding. A probe is lost when no reply arrives within
``timeout_ms`` of its send; before declaring it lost, the socket is drained,
so a reply already queued in the kernel is not counted late. The run ends as
soon as every probe is answered or has expired.

Round-trip times come from the kernel's receive timestamp (``SO_TIMESTAMPNS``)
minus the time taken just before ``sendto``, so a busy event loop does not add
its own delay to the measurement; when the kernel stamp is missing or not
plausible (a wall-clock step), the loop's monotonic clock is used instead.
"""

from __future__ import annotations

import asyncio
import errno
import heapq
import ipaddress
import os
import secrets
import socket
import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from netguard.errors import NetGuardError
from netguard.links.icmp_packet import ECHO_REPLY, EchoTemplate, parse
from netguard.links.records import IcmpSettings, IcmpStats

if TYPE_CHECKING:
    from netguard.inventory.model import IPAddress

SocketKind = Literal["auto", "raw", "dgram"]

MAX_CATCH_UP = 8  # most probes sent in one burst when the loop woke up late
COOKIE_LEN = 8
_SO_TIMESTAMPNS = 35  # also SCM_TIMESTAMPNS; not exported by the socket module
_SOL_RAW = 255
_ICMP_FILTER = 1
_ICMP6_FILTER = 1
_TIMESPEC = struct.Struct("@ll")
_ANCILLARY = socket.CMSG_SPACE(_TIMESPEC.size)
_RCVBUF = 1 << 20


class IcmpUnavailable(NetGuardError):
    """This process may open neither a raw nor a datagram ICMP socket."""


def _ping_group_range() -> str:
    try:
        with open("/proc/sys/net/ipv4/ping_group_range", encoding="ascii") as fh:
            return " ".join(fh.read().split())
    except OSError:
        return "unknown"


def _unavailable(tried: list[str], family: int) -> IcmpUnavailable:
    gid = os.getgid()
    parts = []
    if "raw" in tried:
        parts.append("a raw ICMP socket needs root or CAP_NET_RAW (e.g. setcap cap_net_raw+ep on the interpreter)")
    if "dgram" in tried:
        parts.append(
            f"an unprivileged ICMP socket needs this process's group ({gid}) inside net.ipv4.ping_group_range "
            f"(now '{_ping_group_range()}'; e.g. sysctl -w net.ipv4.ping_group_range='{gid} {gid}')"
        )
    return IcmpUnavailable(f"cannot send ICMPv{family} probes: " + "; ".join(parts))


@dataclass
class _Socket:
    family: int
    sock: socket.socket
    raw: bool
    template: EchoTemplate
    ident: int


def _filter_raw(sock: socket.socket, family: int) -> None:
    """Let only echo replies and the errors we parse reach a raw socket (it would see every ICMP message)."""
    try:
        if family == 4:
            allowed = (1 << 0) | (1 << 3) | (1 << 11)
            sock.setsockopt(_SOL_RAW, _ICMP_FILTER, struct.pack("I", ~allowed & 0xFFFFFFFF))
        else:
            words = [0xFFFFFFFF] * 8  # a set bit blocks that type
            for kind in (1, 3, ECHO_REPLY[6]):
                words[kind >> 5] &= ~(1 << (kind & 31)) & 0xFFFFFFFF
            sock.setsockopt(socket.IPPROTO_ICMPV6, _ICMP6_FILTER, struct.pack("8I", *words))
    except OSError:
        pass  # only an optimisation: replies are matched in user space anyway


def open_socket(family: int, kind: SocketKind, cookie: bytes, payload_size: int) -> _Socket:
    """A non-blocking ICMP socket of ``family`` (4 or 6): raw if allowed (and wanted), else datagram."""
    af, proto = (socket.AF_INET, socket.IPPROTO_ICMP) if family == 4 else (socket.AF_INET6, socket.IPPROTO_ICMPV6)
    order = {"auto": ["raw", "dgram"], "raw": ["raw"], "dgram": ["dgram"]}[kind]
    for name in order:
        try:
            sock = socket.socket(af, socket.SOCK_RAW if name == "raw" else socket.SOCK_DGRAM, proto)
        except PermissionError:
            continue
        except OSError as exc:
            raise IcmpUnavailable(f"cannot open an ICMPv{family} socket: {exc.strerror or exc}") from None
        sock.setblocking(False)
        try:
            sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF)
            if name == "raw":
                _filter_raw(sock, family)
                ident = secrets.randbelow(1 << 16)
            else:
                sock.bind(("0.0.0.0", 0) if family == 4 else ("::", 0))
                ident = int(sock.getsockname()[1])
        except OSError as exc:
            sock.close()
            raise IcmpUnavailable(f"cannot set up the ICMPv{family} socket: {exc.strerror or exc}") from None
        template = EchoTemplate.make(family, ident, cookie, payload_size)
        return _Socket(family, sock, name == "raw", template, ident)
    raise _unavailable(order, family)


class _Probe:
    __slots__ = ("index", "number", "sent_mono", "sent_real_ns", "timer")

    def __init__(self, index: int, number: int, sent_mono: float, sent_real_ns: int) -> None:
        self.index, self.number = index, number
        self.sent_mono, self.sent_real_ns = sent_mono, sent_real_ns
        self.timer: asyncio.TimerHandle | None = None


def _kernel_ns(ancillary: list[tuple[int, int, bytes]]) -> int | None:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            sec, nsec = _TIMESPEC.unpack_from(data)
            return int(sec) * 1_000_000_000 + int(nsec)
    return None


_SEND_ERRORS = {
    errno.ENETUNREACH: "network unreachable",
    errno.EHOSTUNREACH: "no route to host",
    errno.EPERM: "sending not permitted (firewall)",
    errno.EACCES: "sending not permitted",
    errno.EAGAIN: "socket send buffer full",
    errno.ENOBUFS: "no buffer space",
}


class _Run:
    """One ping run over a fixed target list; :meth:`run` awaits the end of it."""

    def __init__(self, addresses: list[IPAddress], settings: IcmpSettings, kind: SocketKind) -> None:
        self.loop = asyncio.get_running_loop()
        self.addresses = addresses
        self.settings = settings
        self.cookie = secrets.token_bytes(COOKIE_LEN)
        self.sockets: dict[int, _Socket] = {}
        self.outstanding: dict[tuple[int, int], _Probe] = {}
        self.timer: asyncio.TimerHandle | None = None
        try:
            for family in sorted({a.version for a in addresses}):
                self.sockets[family] = open_socket(family, kind, self.cookie, settings.payload_size)
        except BaseException:
            self.close()
            raise
        self.sockaddr = [(str(a), 0) if a.version == 4 else (str(a), 0, 0, 0) for a in addresses]
        self.rtts: list[list[float | None]] = [[None] * settings.count for _ in addresses]
        self.sent = [0] * len(addresses)
        self.errors: list[list[str]] = [[] for _ in addresses]
        self.seq = dict.fromkeys(self.sockets, 0)
        # (due time, tie-breaker, target index, probe number): the next probe of every target.
        self.queue: list[tuple[float, int, int, int]] = []
        self.slot = 0.0  # the ideal time of the next send
        self.done: asyncio.Future[None] = self.loop.create_future()

    async def run(self) -> dict[IPAddress, IcmpStats]:
        try:
            start = self.loop.time()
            self.queue = [(start, i, i, 0) for i in range(len(self.addresses))]
            heapq.heapify(self.queue)
            self.slot = start
            for family, s in self.sockets.items():
                self.loop.add_reader(s.sock.fileno(), self._readable, family)
            self._pump()
            await self.done
        finally:
            self.close()
        return {
            a: IcmpStats.from_rtts(a, self.rtts[i], self.sent[i], self.errors[i]) for i, a in enumerate(self.addresses)
        }

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        for probe in self.outstanding.values():
            if probe.timer is not None:
                probe.timer.cancel()
        for s in self.sockets.values():
            if s.sock.fileno() >= 0:
                self.loop.remove_reader(s.sock.fileno())
                s.sock.close()

    # -- sending -------------------------------------------------------------------------

    def _pump(self) -> None:
        self.timer = None
        gap = self.settings.gap_ms / 1000
        now = self.loop.time()
        sent = 0
        while self.queue:
            due, order, index, number = self.queue[0]
            at = max(due, self.slot)
            if at > now or sent >= MAX_CATCH_UP:
                break
            heapq.heappop(self.queue)
            self._send(index, number)
            sent += 1
            # Keep the ideal timeline unless it fell far behind (a stall): then restart it from now.
            self.slot = max(at, now - MAX_CATCH_UP * gap) + gap
            if number + 1 < self.settings.count:
                heapq.heappush(self.queue, (at + self.settings.interval_ms / 1000, order, index, number + 1))
        if self.queue:
            self.timer = self.loop.call_at(max(self.queue[0][0], self.slot), self._pump)
        else:
            self._maybe_done()

    def _send(self, index: int, number: int) -> None:
        address = self.addresses[index]
        s = self.sockets[address.version]
        seq = self.seq[s.family]
        self.seq[s.family] = (seq + 1) & 0xFFFF
        key = (s.family, seq)
        stale = self.outstanding.pop(key, None)
        if stale is not None and stale.timer is not None:  # 65,536 probes in flight: the oldest counts as lost
            stale.timer.cancel()
        packet = s.template.request(seq)
        self.sent[index] += 1
        sent_real_ns, sent_mono = time.time_ns(), self.loop.time()
        try:
            s.sock.sendto(packet, self.sockaddr[index])
        except OSError as exc:
            self.errors[index].append(_SEND_ERRORS.get(exc.errno or 0, exc.strerror or str(exc)))
            return
        probe = _Probe(index, number, sent_mono, sent_real_ns)
        probe.timer = self.loop.call_at(sent_mono + self.settings.timeout_ms / 1000, self._expire, key)
        self.outstanding[key] = probe

    def _expire(self, key: tuple[int, int]) -> None:
        for family in self.sockets:
            self._readable(family)  # a reply already waiting in the kernel is on time
        self.outstanding.pop(key, None)
        self._maybe_done()

    def _maybe_done(self) -> None:
        if not self.queue and not self.outstanding and not self.done.done():
            self.done.set_result(None)

    # -- receiving -----------------------------------------------------------------------

    def _readable(self, family: int) -> None:
        s = self.sockets[family]
        failures = 0
        while failures < 64:
            try:
                data, ancillary, _flags, peer = s.sock.recvmsg(2048, _ANCILLARY)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                failures += 1  # a pending socket error is reported once per call; read on
                continue
            self._handle(s, data, _kernel_ns(ancillary), self.loop.time(), str(peer[0]).split("%")[0])

    def _handle(self, s: _Socket, data: bytes, kernel_ns: int | None, now: float, peer: str) -> None:
        reply = parse(data, s.family, has_ip_header=s.raw and s.family == 4, cookie_len=COOKIE_LEN, reporter=peer)
        if reply is None or reply.ident != s.ident:
            return
        probe = self.outstanding.get((s.family, reply.seq))
        if probe is None:
            return  # late (already counted lost) or not ours
        if reply.error is not None:
            self.errors[probe.index].append(f"{reply.error} (from {peer})")
            return  # the probe stays outstanding: it is lost when its deadline passes
        if reply.cookie != self.cookie or ipaddress.ip_address(peer) != self.addresses[probe.index]:
            return
        user_ms = (now - probe.sent_mono) * 1000
        rtt = user_ms
        if kernel_ns is not None:
            kernel_ms = (kernel_ns - probe.sent_real_ns) / 1e6
            if 0 <= kernel_ms <= user_ms + 1:
                rtt = kernel_ms
        if rtt > self.settings.timeout_ms:
            return  # its deadline has passed; _expire will count it lost
        del self.outstanding[(s.family, reply.seq)]
        if probe.timer is not None:
            probe.timer.cancel()
        self.rtts[probe.index][probe.number] = rtt
        self._maybe_done()


async def ping(
    addresses: Iterable[IPAddress], settings: IcmpSettings | None = None, *, socket_kind: SocketKind = "auto"
) -> dict[IPAddress, IcmpStats]:
    """Probe every address (each once, however often it is listed) and return its statistics.

    Raises :class:`IcmpUnavailable` before sending anything when no ICMP
    socket can be opened. Cancelling the task closes the sockets.
    """
    unique = list(dict.fromkeys(addresses))
    if not unique:
        return {}
    run = _Run(unique, settings or IcmpSettings(), socket_kind)
    return await run.run()
