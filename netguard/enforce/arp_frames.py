"""The frames of ARP isolation, built and read with scapy but for the probe (pure: bytes in, bytes out).

Every frame leaves from the enforcer's own MAC at layer 2 (DESIGN.md §3:
spoofing another host's MAC moves the switch's FDB entry and breaks that host);
only the ARP payload names someone else's address.

* :func:`claim` is an ARP reply, unicast to ``to``, saying ``ip`` is at
  ``mac``: with ``mac`` the enforcer's MAC it is the poison, with the real
  owner's MAC it is the restore.
* :func:`who_has_probe` is an RFC 5227 probe (sender IP 0.0.0.0): it asks who
  holds an address without planting anything in the answerer's cache, so a dry
  run may send it.
* :func:`impersonated_echo` is an ICMP echo request from ``src_ip`` to
  ``dst_ip``; the answer goes wherever ``dst_ip``'s cache sends ``src_ip``,
  which is how the verification sees whether a cache points at the enforcer.

scapy is imported by the functions that build or read a frame, not with the
module: every ``discover`` and ``evict`` command imports this module (through
``commands.evict``), only ARP isolation sends a frame, and importing scapy costs
about a third of a second of CPU.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from netguard.arpsweep.frames import ETH_P_ARP, request_for, request_template

ARP_REQUEST = 1
ARP_REPLY = 2
# The hold loop reads every frame on the segment, and scapy takes about a millisecond to decode
# one: the ethertype turns away IP and the rest first. Only ARP itself, a VLAN tag (802.1Q,
# 802.1ad) or an 802.3 length (below 0x0600, LLC/SNAP) can put an ARP frame behind it.
_MAY_CARRY_ARP = frozenset({ETH_P_ARP, 0x8100, 0x88A8})


def claim(*, enforcer_mac: str, to_mac: str, to_ip: str, ip: str, mac: str) -> bytes:
    """ARP reply to ``to_mac``/``to_ip``: ``ip`` is at ``mac`` (sent from the enforcer's MAC)."""
    from scapy.layers.l2 import ARP, Ether

    frame = Ether(src=enforcer_mac, dst=to_mac) / ARP(op=ARP_REPLY, hwsrc=mac, psrc=ip, hwdst=to_mac, pdst=to_ip)
    return bytes(frame)


def who_has_probe(*, enforcer_mac: str, ip: str) -> bytes:
    # The sweep's request, byte for byte the scapy who-has (checked in tests/discovery/test_sweep_logic.py).
    return request_for(request_template(enforcer_mac, "0.0.0.0"), ipaddress.IPv4Address(ip))


def impersonated_echo(*, enforcer_mac: str, dst_mac: str, src_ip: str, dst_ip: str, ident: int, seq: int) -> bytes:
    from scapy.layers.inet import ICMP, IP
    from scapy.layers.l2 import Ether

    frame = Ether(src=enforcer_mac, dst=dst_mac) / IP(src=src_ip, dst=dst_ip) / ICMP(type=8, id=ident, seq=seq)
    return bytes(frame / b"netguard-arp-isolate-check")


@dataclass(frozen=True)
class ArpSeen:
    """An ARP frame as read off the wire (addresses lower-case)."""

    eth_src: str
    eth_dst: str
    op: int
    sender_mac: str
    sender_ip: str
    target_ip: str


@dataclass(frozen=True)
class EchoReplySeen:
    eth_dst: str
    src_ip: str
    dst_ip: str
    ident: int


def read_arp(raw: bytes) -> ArpSeen | None:
    """The ARP frame in ``raw``, or None for anything else or a malformed frame."""
    ethertype = int.from_bytes(raw[12:14], "big") if len(raw) >= 14 else None
    if ethertype is not None and ethertype >= 0x0600 and ethertype not in _MAY_CARRY_ARP:
        return None
    from scapy.layers.l2 import ARP, Ether

    try:
        frame = Ether(raw)
    except Exception:  # scapy raises many kinds on garbage; a frame it cannot read is not ours
        return None
    if ARP not in frame:
        return None
    arp = frame[ARP]
    try:
        return ArpSeen(
            str(frame.src).lower(),
            str(frame.dst).lower(),
            int(arp.op),
            str(arp.hwsrc).lower(),
            str(arp.psrc),
            str(arp.pdst),
        )
    except (TypeError, ValueError):
        return None


def read_echo_reply(raw: bytes) -> EchoReplySeen | None:
    from scapy.layers.inet import ICMP, IP
    from scapy.layers.l2 import Ether

    try:
        frame = Ether(raw)
    except Exception:  # as in read_arp
        return None
    if IP not in frame or ICMP not in frame or int(frame[ICMP].type) != 0:
        return None
    return EchoReplySeen(str(frame.dst).lower(), str(frame[IP].src), str(frame[IP].dst), int(frame[ICMP].id))
