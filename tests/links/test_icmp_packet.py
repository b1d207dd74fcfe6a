"""Building echo requests and reading replies and ICMP errors (pure functions, real byte layouts)."""

from __future__ import annotations

import struct

from netguard.links.icmp_packet import EchoTemplate, parse, word_sum

COOKIE = b"\x01\x02\x03\x04\x05\x06\x07\x08"


def ipv4_header(proto: int = 1, length: int = 84, ihl: int = 5) -> bytes:
    return (
        bytes([0x40 | ihl, 0])
        + struct.pack("!H", length)
        + bytes(5)
        + bytes([proto])
        + bytes(2)
        + bytes(8)
        + bytes((ihl - 5) * 4)
    )


def reply_from(request: bytes) -> bytes:
    """What the target sends back: type 0, the same identifier, sequence and payload."""
    return b"\x00" + request[1:]


def test_request_checksum_is_valid_for_every_sequence() -> None:
    t = EchoTemplate.make(4, 0xBEEF, COOKIE, 56)
    for seq in (0, 1, 255, 40000, 65535):
        packet = t.request(seq)
        assert len(packet) == 64 and packet[0] == 8
        total = word_sum(packet)
        while total >> 16:
            total = (total & 0xFFFF) + (total >> 16)
        assert total == 0xFFFF


def test_replies_are_read_with_or_without_an_ip_header() -> None:
    t = EchoTemplate.make(4, 0x1234, COOKIE, 56)
    reply = reply_from(t.request(7))
    for data, has_header in ((ipv4_header() + reply, True), (ipv4_header(ihl=6) + reply, True), (reply, False)):
        got = parse(data, 4, has_ip_header=has_header, cookie_len=8)
        assert got is not None and (got.ident, got.seq, got.cookie, got.error) == (0x1234, 7, COOKIE, None)
    six = EchoTemplate.make(6, 0x1234, COOKIE, 56).request(9)
    got6 = parse(bytes([129]) + six[1:], 6, has_ip_header=False, cookie_len=8)
    assert got6 is not None and (got6.seq, got6.cookie) == (9, COOKIE)


def test_an_error_quoting_our_request_is_pinned_to_it() -> None:
    request = EchoTemplate.make(4, 0x4242, COOKIE, 56).request(3)
    error = bytes([3, 1, 0, 0, 0, 0, 0, 0]) + ipv4_header() + request[:8]
    got = parse(ipv4_header() + error, 4, has_ip_header=True, cookie_len=8, reporter="10.0.0.1")
    assert got is not None and (got.ident, got.seq, got.reporter) == (0x4242, 3, "10.0.0.1")
    assert got.error == "host unreachable"
    exceeded = bytes([11, 0, 0, 0, 0, 0, 0, 0]) + ipv4_header() + request[:8]
    assert parse(exceeded, 4, has_ip_header=False, cookie_len=8).error == "time exceeded"  # type: ignore[union-attr]


def test_anything_else_is_ignored() -> None:
    request = EchoTemplate.make(4, 1, COOKIE, 56).request(1)
    assert parse(request, 4, has_ip_header=False, cookie_len=8) is None  # our own request, seen on loopback
    assert parse(b"\x00\x00", 4, has_ip_header=False, cookie_len=8) is None
    assert parse(b"\x60" + bytes(40), 4, has_ip_header=True, cookie_len=8) is None  # not IPv4
    udp_quoted = bytes([3, 3, 0, 0, 0, 0, 0, 0]) + ipv4_header(proto=17) + bytes(8)
    assert parse(udp_quoted, 4, has_ip_header=False, cookie_len=8) is None
