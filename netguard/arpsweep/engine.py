"""ARP sweep: ask every address of some IPv4 networks "who has?" from one interface.

The algorithm is arp-scan's, on one raw socket:

1. *Plan*: the target addresses are the hosts of each network (no network or
   broadcast address below /31), without the interface's own address, at most
   ``max_hosts`` of them (a /8 is refused, not silently cut).
2. *Frames*: one request per target, built once before the first send
   (:mod:`netguard.arpsweep.frames`).
3. *Send and listen on one AF_PACKET socket*, bound to the interface for ARP
   only, with a kernel filter that passes nothing but ARP replies addressed to
   this interface. Sends are paced to ``rate`` frames per second (a token
   schedule: a late send is caught up, by at most a small burst). Each target
   sits in one FIFO queue with the time its next attempt is due: first every
   target once, then each unanswered target again once its own ``timeout`` has
   passed, until it has had ``1 + retries`` attempts. Because every attempt is
   queued at "sent + timeout", the queue stays in due order and a retry round
   starts as soon as the first target's timeout is over, not after the whole
   round (that is why arp-scan is fast, and so is this).
4. *Match*: a reply counts when its sender address is one of the targets;
   every distinct (address, MAC) pair is kept, so an address answered by two
   MACs shows as two replies (a duplicate address, not a lost answer). Replies
   from addresses not asked about, repeated answers and ARP that is not
   Ethernet/IPv4 are counted as ignored, not kept.
5. *Stop* when every target has answered, when the last attempt's timeout has
   passed, or at the run deadline (the result then says it is incomplete, and
   how far it got).

Sending raw frames needs CAP_NET_RAW: without it the sweep raises
:class:`SweepPrivilegeError` naming exactly what to do.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import ipaddress
import os
import select
import socket
import struct
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from netguard.arpsweep.frames import ETH_P_ARP, mac_text, parse_reply, reply_filter, request_for, request_template
from netguard.errors import NetGuardError

DEFAULT_MAX_HOSTS = 65_536  # a /16

_SIOCGIFHWADDR = 0x8927
_SIOCGIFADDR = 0x8915
_SIOCGIFNETMASK = 0x891B
_ARPHRD_ETHER = 1
_SO_ATTACH_FILTER = 26
_BURST = 8  # frames a late sender may send back to back to catch up with its schedule


class SweepError(NetGuardError):
    """The sweep cannot start: bad networks, a missing or unusable interface."""


class SweepPrivilegeError(SweepError):
    """No permission to open a raw packet socket."""


@dataclass(frozen=True)
class SweepOptions:
    """``rate`` frames per second; ``retries`` after the first attempt; ``timeout_ms`` per attempt;
    ``deadline_s`` for the whole run."""

    rate: float = 500.0  # arp-scan's default pace (256 kbit/s of 64-byte frames)
    retries: int = 1  # arp-scan's default: two attempts in all
    timeout_ms: float = 500.0  # arp-scan's default
    deadline_s: float = 300.0
    max_hosts: int = DEFAULT_MAX_HOSTS

    def __post_init__(self) -> None:
        if not 1 <= self.rate <= 1_000_000:
            raise SweepError(f"rate {self.rate:g} frames/s is out of range (1-1000000)")
        if not 0 <= self.retries <= 10:
            raise SweepError(f"retries {self.retries} is out of range (0-10)")
        if not 1 <= self.timeout_ms <= 60_000:
            raise SweepError(f"timeout {self.timeout_ms:g} ms is out of range (1-60000)")
        if not 0 < self.deadline_s <= 86_400:
            raise SweepError(f"run deadline {self.deadline_s:g} s is out of range (up to 86400)")
        if not 1 <= self.max_hosts <= 1 << 24:
            raise SweepError(f"max hosts {self.max_hosts} is out of range (1-16777216)")


@dataclass(frozen=True)
class LocalInterface:
    """The sweeping interface: kernel index, MAC, and its IPv4 address if it has one."""

    name: str
    index: int
    mac: str
    address: ipaddress.IPv4Interface | None


@dataclass(frozen=True)
class ArpReply:
    ip: str
    mac: str
    vendor: str | None


@dataclass(frozen=True)
class SweepResult:
    """What one sweep found. ``complete`` is False when the run deadline stopped it early."""

    interface: str
    source_mac: str
    source_ip: str
    networks: tuple[str, ...]
    targets: int
    replies: tuple[ArpReply, ...]
    sent: int
    unanswered: int
    ignored: int  # replies from addresses not asked about, repeated answers, non-IPv4 ARP
    complete: bool
    stopped: str | None
    seconds: float


def parse_networks(texts: Iterable[str]) -> list[ipaddress.IPv4Network]:
    """CIDRs (or single addresses) as IPv4 networks; a clear error naming the bad one."""
    networks = []
    for text in texts:
        try:
            net = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            raise SweepError(f"'{text}' is not an IPv4 network (CIDR such as 10.1.2.0/24)") from None
        if not isinstance(net, ipaddress.IPv4Network):
            raise SweepError(f"{net} is IPv6: ARP is IPv4 only (IPv6 neighbours answer NDP, not ARP)")
        networks.append(net)
    return networks


def check_size(networks: Sequence[ipaddress.IPv4Network], max_hosts: int) -> None:
    """Refuse (never cut) networks with more than ``max_hosts`` addresses in all."""
    if not networks:
        raise SweepError("no network to sweep")
    total = sum(n.num_addresses for n in networks)
    if total > max_hosts:
        biggest = max(networks, key=lambda n: n.num_addresses)
        raise SweepError(
            f"{biggest} has {biggest.num_addresses} addresses ({total} in all to sweep); "
            f"a sweep covers at most {max_hosts}: sweep smaller networks, or raise the limit (--max-hosts)"
        )


def plan_targets(
    networks: Sequence[ipaddress.IPv4Network],
    own: ipaddress.IPv4Address | None = None,
    max_hosts: int = DEFAULT_MAX_HOSTS,
) -> list[ipaddress.IPv4Address]:
    """Every host address of ``networks`` once, in order, without ``own``; too many is an error."""
    check_size(networks, max_hosts)
    seen: set[ipaddress.IPv4Address] = set()
    targets = []
    for net in networks:
        for ip in net.hosts() if net.prefixlen < 31 else net:
            if ip != own and ip not in seen:
                seen.add(ip)
                targets.append(ip)
    return targets


def _ioctl(name: str, request: int) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            return fcntl.ioctl(s.fileno(), request, struct.pack("256s", name.encode()[:15]))
        except OSError:
            return None


def local_interface(name: str) -> LocalInterface:
    """The interface called ``name`` in this network namespace; SweepError when there is none."""
    try:
        index = socket.if_nametoindex(name)
    except (OSError, ValueError):
        here = ", ".join(n for _, n in socket.if_nameindex())
        raise SweepError(f"no network interface '{name}' here (interfaces: {here})") from None
    hw = _ioctl(name, _SIOCGIFHWADDR)
    if hw is None or struct.unpack("H", hw[16:18])[0] != _ARPHRD_ETHER:
        raise SweepError(f"interface '{name}' is not Ethernet: an ARP sweep needs an Ethernet interface")
    addr, mask = _ioctl(name, _SIOCGIFADDR), _ioctl(name, _SIOCGIFNETMASK)
    address = None
    if addr is not None and mask is not None:
        ip, netmask = ipaddress.IPv4Address(addr[20:24]), ipaddress.IPv4Address(mask[20:24])
        address = ipaddress.IPv4Interface(f"{ip}/{netmask}")
    return LocalInterface(name, index, mac_text(hw[18:24]), address)


def privilege_message() -> str:
    exe = os.path.realpath(sys.executable)
    return (
        "the ARP sweep sends raw Ethernet frames and needs the CAP_NET_RAW capability: "
        f"run it as root, or grant it to the interpreter with: setcap cap_net_raw+ep {exe}"
    )


def open_arp_socket(interface: LocalInterface) -> socket.socket:
    """A raw socket on ``interface`` that receives only ARP replies to its MAC, non-blocking."""
    try:
        # Protocol 0 receives nothing until bound: the filter is in place before the first frame.
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    except PermissionError:
        raise SweepPrivilegeError(privilege_message()) from None
    try:
        program = reply_filter(interface.mac)
        buf = ctypes.create_string_buffer(program, len(program))
        sock.setsockopt(
            socket.SOL_SOCKET, _SO_ATTACH_FILTER, struct.pack("HL", len(program) // 8, ctypes.addressof(buf))
        )
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.bind((interface.name, ETH_P_ARP))
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise SweepError(f"cannot listen for ARP on '{interface.name}': {exc.strerror or exc}") from None
    return sock


def sweep(interface_name: str, networks: Sequence[ipaddress.IPv4Network], options: SweepOptions) -> SweepResult:
    """Sweep ``networks`` from ``interface_name`` (steps 1-5 above)."""
    check_size(networks, options.max_hosts)  # before anything touches an interface
    interface = local_interface(interface_name)
    own = interface.address.ip if interface.address else None
    targets = plan_targets(networks, own, options.max_hosts)
    source_ip = str(own) if own else "0.0.0.0"
    template = request_template(interface.mac, source_ip)
    frames = {int(ip): request_for(template, ip) for ip in targets}
    lookup: list[Callable[[str], str | None]] = []
    with open_arp_socket(interface) as sock:
        # The OUI table loads while the last attempts' replies are awaited, not after.
        found, sent, ignored, stopped, seconds = _exchange(
            sock, interface.name, frames, options, idle=lambda: lookup.append(_vendor_lookup())
        )
    vendor_of = lookup[0] if lookup else _vendor_lookup()
    answered = {ip for ip, _ in found}
    replies = tuple(
        ArpReply(str(ipaddress.IPv4Address(ip)), mac_text(mac), vendor_of(mac_text(mac))) for ip, mac in found
    )
    return SweepResult(
        interface=interface.name,
        source_mac=interface.mac,
        source_ip=source_ip,
        networks=tuple(str(n) for n in networks),
        targets=len(targets),
        replies=replies,
        sent=sent,
        unanswered=len(targets) - len(answered),
        ignored=ignored,
        complete=stopped is None,
        stopped=stopped,
        seconds=seconds,
    )


def _vendor_lookup() -> Callable[[str], str | None]:
    """The OUI lookup, its table loaded: importing the inventory and netaddr's index takes a
    few hundred milliseconds, so the sweep does it while it has nothing left to send."""
    from netguard.inventory import mac_vendor

    mac_vendor("00:00:00:00:00:00")
    return mac_vendor


def _exchange(
    sock: socket.socket,
    name: str,
    frames: dict[int, bytes],
    options: SweepOptions,
    idle: Callable[[], None] | None = None,
) -> tuple[list[tuple[int, bytes]], int, int, str | None, float]:
    """Send, retry and match (steps 3-5): (address, MAC) pairs in order, frames sent, ignored, why stopped.

    ``idle`` runs once, when every attempt is sent and only replies are awaited (the
    socket buffers what arrives meanwhile)."""
    start = time.monotonic()
    deadline = start + options.deadline_s
    interval, timeout = 1.0 / options.rate, options.timeout_ms / 1000.0
    queue: deque[tuple[float, int, int]] = deque((0.0, ip, 1) for ip in frames)
    found: list[tuple[int, bytes]] = []
    pairs: set[tuple[int, bytes]] = set()
    answered: set[int] = set()
    sent = ignored = 0
    next_send = start
    last_wait = start
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)

    def drain() -> None:
        nonlocal ignored
        while True:
            try:
                frame = sock.recv(128)
            except BlockingIOError:
                return
            reply = parse_reply(frame)
            pair = (reply.sender_ip, reply.sender_mac) if reply is not None else None
            if pair is None or pair[0] not in frames or pair in pairs:
                ignored += 1
                continue
            pairs.add(pair)
            answered.add(pair[0])
            found.append(pair)

    while True:
        now = time.monotonic()
        drain()
        if len(answered) == len(frames):
            break
        if now >= deadline:
            waiting = len({ip for _, ip, _ in queue if ip not in answered})
            why = f"run deadline of {options.deadline_s:g} s reached; {waiting} addresses not asked or not retried"
            return found, sent, ignored, why, now - start
        while queue and queue[0][1] in answered:
            queue.popleft()
        if not queue:
            if idle is not None:
                idle()
                idle = None
                continue
            if now >= last_wait:
                break
            wait = last_wait - now
        else:
            due = max(queue[0][0], next_send)
            if due <= now:
                _, ip, attempt = queue.popleft()
                if not _send(sock, name, frames[ip]):
                    queue.appendleft((0.0, ip, attempt))  # the kernel's queue is full: try again shortly
                    poller.poll(1)
                    continue
                sent += 1
                next_send = max(next_send + interval, now - _BURST * interval)
                expiry = now + timeout
                if attempt <= options.retries:
                    queue.append((expiry, ip, attempt + 1))
                else:
                    last_wait = max(last_wait, expiry)
                continue
            wait = due - now
        poller.poll(max(0.0, min(wait, deadline - now)) * 1000.0)
    return found, sent, ignored, None, time.monotonic() - start


def _send(sock: socket.socket, name: str, frame: bytes) -> bool:
    """Send one frame; False when the kernel's queue is full for now."""
    try:
        sock.send(frame)
    except (BlockingIOError, InterruptedError):
        return False
    except OSError as exc:
        if exc.errno == errno.ENOBUFS:
            return False
        if exc.errno in (errno.ENETDOWN, errno.ENXIO, errno.ENODEV):
            raise SweepError(f"interface '{name}' is down or gone: {exc.strerror}") from None
        raise SweepError(f"cannot send on '{name}': {exc.strerror or exc}") from None
    return True
