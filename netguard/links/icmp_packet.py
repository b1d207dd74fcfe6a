"""ICMP echo messages: building requests and reading what comes back (pure functions).

A request is ``type, code, checksum, identifier, sequence`` followed by the
payload; the payload starts with an 8-byte cookie drawn once per run, so a
reply is ours only when identifier, sequence *and* cookie match (a raw socket
sees every ICMP reply on the host, including another prober's that happens to
reuse the identifier). The checksum (RFC 1071) of the constant payload is
summed once per run; each request adds only its header words.

What a socket hands back differs: an IPv4 raw socket includes the IP header
(its length is in the first byte), a datagram ("ping") socket and every IPv6
socket give the ICMP message alone. Besides echo replies, :func:`parse` reads
the ICMP errors a router sends back (destination unreachable, time exceeded),
which quote the IP header and first 8 bytes of our request, so the error can be
pinned to the probe that caused it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

ECHO_REQUEST = {4: 8, 6: 128}
ECHO_REPLY = {4: 0, 6: 129}
_UNREACHABLE = {4: 3, 6: 1}
_TIME_EXCEEDED = {4: 11, 6: 3}
_V4_UNREACH_CODES = {
    0: "network unreachable",
    1: "host unreachable",
    3: "port unreachable",
    9: "network prohibited",
    10: "host prohibited",
    13: "communication prohibited",
}
_V6_UNREACH_CODES = {0: "no route", 1: "communication prohibited", 3: "address unreachable", 4: "port unreachable"}
_HEADER = struct.Struct("!BBHHH")


def _fold(total: int) -> int:
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def word_sum(data: bytes) -> int:
    """The 16-bit one's complement sum of ``data`` (padded to even length), unfolded."""
    if len(data) % 2:
        data += b"\0"
    return sum(struct.unpack(f"!{len(data) // 2}H", data))


@dataclass(frozen=True)
class EchoTemplate:
    """The fixed part of every request in one run: family, identifier, payload and its checksum share."""

    family: int  # 4 or 6
    ident: int
    payload: bytes
    payload_sum: int

    @classmethod
    def make(cls, family: int, ident: int, cookie: bytes, size: int) -> EchoTemplate:
        payload = cookie + bytes(max(0, size - len(cookie)))
        return cls(family, ident & 0xFFFF, payload, word_sum(payload))

    def request(self, seq: int) -> bytes:
        kind = ECHO_REQUEST[self.family]
        # The kernel fills the ICMPv6 checksum itself (it needs the IPv6 pseudo-header);
        # for IPv4 we compute it, and a ping socket recomputes it after setting its identifier.
        checksum = 0
        if self.family == 4:
            checksum = ~_fold((kind << 8) + self.ident + seq + self.payload_sum) & 0xFFFF
        return _HEADER.pack(kind, 0, checksum, self.ident, seq & 0xFFFF) + self.payload


@dataclass(frozen=True)
class Reply:
    """An echo reply (``error`` None) or an ICMP error about one of our requests."""

    ident: int
    seq: int
    cookie: bytes
    error: str | None = None
    reporter: str | None = None  # for errors: who sent it (router or the target itself)


def _strip_ip(data: bytes, family: int, has_ip_header: bool) -> bytes | None:
    if family == 4 and has_ip_header:
        if not data or data[0] >> 4 != 4:
            return None
        return data[(data[0] & 0x0F) * 4 :]
    return data


def parse(data: bytes, family: int, *, has_ip_header: bool, cookie_len: int, reporter: str = "") -> Reply | None:
    """Our echo reply or an ICMP error quoting one of our requests, or None for anything else."""
    icmp = _strip_ip(data, family, has_ip_header)
    if icmp is None or len(icmp) < 8:
        return None
    kind, code, _sum, ident, seq = _HEADER.unpack_from(icmp)
    if kind == ECHO_REPLY[family] and code == 0:
        return Reply(ident, seq, icmp[8 : 8 + cookie_len])
    if kind not in (_UNREACHABLE[family], _TIME_EXCEEDED[family]):
        return None
    inner = icmp[8:]
    if family == 4:
        if len(inner) < 20 or inner[0] >> 4 != 4:
            return None
        inner = inner[(inner[0] & 0x0F) * 4 :]
    else:
        if len(inner) < 40 or inner[0] >> 4 != 6 or inner[6] != 58:  # next header: ICMPv6 only
            return None
        inner = inner[40:]
    if len(inner) < 8 or inner[0] != ECHO_REQUEST[family]:
        return None
    _k, _c, _s, orig_ident, orig_seq = _HEADER.unpack_from(inner)
    if kind == _TIME_EXCEEDED[family]:
        text = "time exceeded"
    else:
        codes = _V4_UNREACH_CODES if family == 4 else _V6_UNREACH_CODES
        text = codes.get(code, f"destination unreachable (code {code})")
    # The quoted request carries 8 bytes of ICMP only, so no cookie: identifier and sequence must do.
    return Reply(orig_ident, orig_seq, b"", error=text, reporter=reporter)
