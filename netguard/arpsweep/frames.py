"""ARP frames for the sweep: requests built once, replies read from raw bytes, a kernel filter.

scapy builds one request frame (Ethernet broadcast, ARP who-has) for the
sweeping interface; every target's frame is that template with the four bytes
of the target address replaced, so a /24 costs one scapy build instead of 254
(scapy spends tens of microseconds per packet, more than sending it).

Replies are read without scapy: an ARP reply over Ethernet is 42 bytes at
fixed offsets (RFC 826), so a slice is all it takes. The classic BPF program
below runs in the kernel and hands the socket only ARP replies addressed to
the sweeping interface's MAC: neither our own broadcast requests nor other
hosts' ARP traffic wake the sweep up.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

ETH_P_ARP = 0x0806
BROADCAST = "ff:ff:ff:ff:ff:ff"
_ARP_ETHER_IPV4 = b"\x00\x01\x08\x00\x06\x04"  # htype Ethernet, ptype IPv4, hlen 6, plen 4
_TARGET_IP = slice(38, 42)  # in the request frame: ARP tpa
FRAME_LEN = 42


def mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", "").replace("-", ""))


def mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def request_template(src_mac: str, src_ip: str) -> bytes:
    """One ARP who-has frame from ``src_mac``/``src_ip`` (0.0.0.0: an RFC 5227 probe), target 0.0.0.0."""
    from scapy.layers.l2 import ARP, Ether  # scapy is slow to import: only the sweep pays for it

    frame = bytes(
        Ether(dst=BROADCAST, src=src_mac, type=ETH_P_ARP)
        / ARP(op=1, hwsrc=src_mac, psrc=src_ip, hwdst="00:00:00:00:00:00", pdst="0.0.0.0")
    )
    if len(frame) != FRAME_LEN or frame[14:20] != _ARP_ETHER_IPV4:
        raise ValueError(f"unexpected ARP request layout from scapy ({len(frame)} bytes)")
    return frame


def request_for(template: bytes, target: ipaddress.IPv4Address) -> bytes:
    """The template with ``target`` as the address asked for."""
    return template[: _TARGET_IP.start] + target.packed + template[_TARGET_IP.stop :]


@dataclass(frozen=True)
class Reply:
    """An ARP reply: who answered (``sender_ip`` is at ``sender_mac``) and to whom."""

    sender_ip: int
    sender_mac: bytes
    target_mac: bytes


def parse_reply(frame: bytes) -> Reply | None:
    """The ARP reply (Ethernet, IPv4) in ``frame``, or None for anything else."""
    if len(frame) < FRAME_LEN or frame[12:14] != b"\x08\x06" or frame[14:20] != _ARP_ETHER_IPV4:
        return None
    if frame[20:22] != b"\x00\x02":
        return None
    return Reply(int.from_bytes(frame[28:32], "big"), frame[22:28], frame[32:38])


def reply_filter(own_mac: str) -> bytes:
    """Classic BPF (``struct sock_filter[]``): accept ARP replies sent to ``own_mac``, drop the rest."""
    raw = mac_bytes(own_mac)
    high, low = int.from_bytes(raw[:4], "big"), int.from_bytes(raw[4:], "big")
    ld_h, ld_w, jeq, ret = 0x28, 0x20, 0x15, 0x06
    program = [
        (ld_h, 0, 0, 12),  # 0: ethertype
        (jeq, 0, 7, ETH_P_ARP),  # 1: not ARP -> 9
        (ld_h, 0, 0, 20),  # 2: ARP operation
        (jeq, 0, 5, 2),  # 3: not a reply -> 9
        (ld_w, 0, 0, 0),  # 4: destination MAC, first four bytes
        (jeq, 0, 3, high),  # 5: -> 9
        (ld_h, 0, 0, 4),  # 6: destination MAC, last two bytes
        (jeq, 0, 1, low),  # 7: -> 9
        (ret, 0, 0, 0xFFFF),  # 8: accept
        (ret, 0, 0, 0),  # 9: drop
    ]
    return b"".join(struct.pack("HBBI", *insn) for insn in program)
