"""The enforcer's leg on a segment: one raw layer-2 socket on one interface.

A ``PF_PACKET`` socket bound to the interface sends the frames
:mod:`netguard.enforce.arp_frames` builds and reads what arrives (frames the
host itself sends are skipped). It needs root or ``CAP_NET_RAW``; without it,
or with an interface this host does not have, opening it raises
:class:`LinkError` with one line saying which.

:func:`resolve` asks who holds an IP with RFC 5227 probes (no cache anywhere
is changed) and returns every MAC that answered: none means the address is
not on this segment now, two or more an address conflict.
"""

from __future__ import annotations

import errno
import select
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from netguard.enforce.arp_frames import ARP_REPLY, read_arp, who_has_probe
from netguard.errors import NetGuardError

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
BATCH = 256
T = TypeVar("T")


class LinkError(NetGuardError):
    """The enforcer's interface cannot be used (missing, down, or no privilege for raw frames)."""


def interface_mac(iface: str) -> str:
    try:
        return Path(f"/sys/class/net/{iface}/address").read_text(encoding="ascii").strip().lower()
    except OSError:
        raise LinkError(f"interface '{iface}' does not exist on this host (check enforce.arp_interfaces)") from None


def forwards_ipv4(iface: str) -> bool:
    """True when the kernel routes IPv4 arriving on ``iface`` (then poisoning relays instead of cutting off)."""
    try:
        return Path(f"/proc/sys/net/ipv4/conf/{iface}/forwarding").read_text(encoding="ascii").strip() != "0"
    except OSError:
        raise LinkError(f"interface '{iface}' does not exist on this host (check enforce.arp_interfaces)") from None


class Link:
    """A raw socket on ``iface``; use as a context manager."""

    def __init__(self, iface: str) -> None:
        self.iface = iface
        self.mac = interface_mac(iface)
        try:
            self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        except PermissionError:
            raise LinkError(
                f"sending raw frames on {iface} needs root or CAP_NET_RAW "
                "(run as root, or: setcap cap_net_raw+ep on the Python interpreter)"
            ) from None
        try:
            self._sock.bind((iface, 0))
        except OSError as exc:
            self._sock.close()
            raise LinkError(f"cannot bind to interface '{iface}': {exc.strerror}") from None

    def __enter__(self) -> Link:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._sock.close()

    def fileno(self) -> int:
        return self._sock.fileno()

    def send(self, frame: bytes) -> None:
        try:
            self._sock.send(frame)
        except OSError as exc:
            if exc.errno == errno.ENETDOWN:
                raise LinkError(f"interface '{self.iface}' is down") from None
            raise LinkError(f"sending on '{self.iface}': {exc.strerror}") from None

    def pending(self) -> Iterator[bytes]:
        """The frames already waiting (not sent by this host), without blocking.

        At most :data:`BATCH` per call, so a flooded segment cannot keep a caller
        (the holder's refresh, a check's deadline) from ever getting control back.
        """
        for _ in range(BATCH):
            ready, _, _ = select.select([self._sock], [], [], 0)
            if not ready:
                return
            raw, address = self._sock.recvfrom(65535)
            if address[2] != PACKET_OUTGOING:
                yield raw

    def collect(self, seconds: float, pick: Callable[[bytes], T | None]) -> list[T]:
        """What ``pick`` makes of every frame arriving in the next ``seconds``."""
        found: list[T] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self._sock], [], [], left)
            if ready:
                for raw in self.pending():
                    item = pick(raw)
                    if item is not None:
                        found.append(item)
        return found


def resolve(link: Link, ip: str, *, tries: int = 3, wait_s: float = 0.4) -> set[str]:
    """The MACs that answer an ARP probe for ``ip`` on the link (empty: nobody, after ``tries``)."""

    def answer(raw: bytes) -> str | None:
        seen = read_arp(raw)
        if seen is None or seen.op != ARP_REPLY or seen.sender_ip != ip:
            return None
        return seen.sender_mac

    macs: set[str] = set()
    for _ in range(tries):
        link.send(who_has_probe(enforcer_mac=link.mac, ip=ip))
        macs.update(link.collect(wait_s, answer))
        if macs:
            break
    return macs
