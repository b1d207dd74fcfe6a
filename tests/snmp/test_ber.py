"""The v2c BER codec against pyasn1's own encoder and decoder, malformed input, and the fallback over a real socket."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from pyasn1.codec.ber import decoder, encoder  # type: ignore[import-untyped]  # pyasn1 ships no stubs
from pysnmp.proto import rfc1902, rfc1905
from pysnmp.proto.api import v2c

from netguard.secrets import Secret
from netguard.snmp import ProblemKind, SnmpError, SnmpTarget, parse_oid
from netguard.snmp.ber import END_OF_MIB, GET_BULK, BerError, decode_oid, decode_response, encode_oid, encode_request
from netguard.snmp.client import SnmpClient
from netguard.snmp.datagram import _pysnmp_decode
from netguard.snmp.values import to_python

SYS_NAME = parse_oid("1.3.6.1.2.1.1.5.0")
FDB = "1.3.6.1.2.1.17.4.3.1.2"

# One var-bind of every type an SNMPv2c agent sends, at the edges of their ranges.
VALUES: list[tuple[str, Any]] = [
    ("1.3.6.1.2.1.1.1.0", rfc1902.OctetString(b"Huawei Versatile Routing Platform \x00\xff")),
    ("1.3.6.1.2.1.1.2.0", rfc1902.ObjectName("1.3.6.1.4.1.2011.2.23.170")),
    ("1.3.6.1.2.1.2.2.1.7.1", rfc1902.Integer32(1)),
    ("1.3.6.1.2.1.2.2.1.7.2", rfc1902.Integer32(-(2**31))),
    ("1.3.6.1.2.1.2.2.1.7.3", rfc1902.Integer32(2**31 - 1)),
    ("1.3.6.1.2.1.2.2.1.10.1", rfc1902.Counter32(2**32 - 1)),
    ("1.3.6.1.2.1.2.2.1.5.1", rfc1902.Gauge32(1_000_000_000)),
    ("1.3.6.1.2.1.1.3.0", rfc1902.TimeTicks(0)),
    ("1.3.6.1.2.1.31.1.1.1.6.1", rfc1902.Counter64(2**64 - 1)),
    ("1.3.6.1.2.1.4.22.1.3.5.10.0.0.1", rfc1902.IpAddress("10.0.0.1")),
    ("1.3.6.1.4.1.9.9.1.0", rfc1902.Opaque(b"\x9f\x78\x04\x00")),
    (f"{FDB}.0.26.43.60.77.94", rfc1902.Integer32(7)),  # MAC index: arcs above 127
    ("1.3.6.1.4.1.2011.5.25.999999999.1", rfc1902.OctetString(b"")),
    ("1.3.6.1.2.1.1.9.0", rfc1905.NoSuchObject("")),
    ("1.3.6.1.2.1.1.9.1", rfc1905.NoSuchInstance("")),
    ("1.3.6.1.2.1.1.9.2", rfc1905.univ.Null("")),
    ("1.3.6.1.2.1.99", rfc1905.EndOfMibView("")),
]


def response_bytes(request_id: int = 4242, var_binds: list[tuple[str, Any]] = VALUES, **options: Any) -> bytes:
    """A Response message encoded by pyasn1 (``defMode=False`` for indefinite lengths)."""
    pdu = v2c.ResponsePDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, request_id)
    v2c.apiPDU.set_varbinds(pdu, [(rfc1902.ObjectName(o), v) for o, v in var_binds])
    message = v2c.Message()
    v2c.apiMessage.set_defaults(message)
    v2c.apiMessage.set_community(message, "public")
    v2c.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message, **options))


def test_a_response_reads_as_pysnmp_reads_it() -> None:
    community, response = decode_response(response_bytes())
    assert community == b"public" and response.request_id == 4242
    assert (response.error_status, response.error_index) == (0, 0)
    expected = [(parse_oid(o), END_OF_MIB if isinstance(v, rfc1905.EndOfMibView) else to_python(v)) for o, v in VALUES]
    assert response.var_binds == expected
    assert _pysnmp_decode(response_bytes()).var_binds == expected
    assert response.var_binds[11][0][-6:] == (0, 26, 43, 60, 77, 94)


def test_a_request_reads_back_with_pysnmp() -> None:
    oids = [parse_oid(FDB), parse_oid("1.3.6.1.4.1.2011.5.25.999999999")]
    raw = encode_request(b"s3cret", 2**31 - 1, GET_BULK, oids, max_repetitions=250)
    message, rest = decoder.decode(raw, asn1Spec=v2c.Message())
    pdu = v2c.apiMessage.get_pdu(message)
    assert rest == b"" and bytes(v2c.apiMessage.get_community(message)) == b"s3cret"
    assert isinstance(pdu, rfc1905.GetBulkRequestPDU)
    assert int(v2c.apiBulkPDU.get_request_id(pdu)) == 2**31 - 1
    assert int(v2c.apiBulkPDU.get_max_repetitions(pdu)) == 250
    assert [tuple(name) for name, _ in v2c.apiBulkPDU.get_varbinds(pdu)] == oids


@pytest.mark.parametrize("oid", ["0.0", "1.3", "2.999.3", "1.3.6.1.4.1.4294967295.0", "1.39.128.16383.16384"])
def test_oids_round_trip(oid: str) -> None:
    assert decode_oid(encode_oid(parse_oid(oid))) == parse_oid(oid)


def test_every_truncation_is_a_ber_error() -> None:
    raw = response_bytes()
    for end in range(len(raw)):
        with pytest.raises(BerError):
            decode_response(raw[:end])


def test_any_single_corrupt_byte_is_read_or_refused_never_a_crash() -> None:
    raw = response_bytes()
    refused = 0
    for pos in range(len(raw)):
        for junk in (0x00, 0x7F, 0x80, 0x84, 0xFF):
            broken = raw[:pos] + bytes((junk,)) + raw[pos + 1 :]
            try:
                decode_response(broken)
            except BerError:
                refused += 1
    assert refused > len(raw)  # most positions hold a tag or a length, whose corruption is refused


@pytest.mark.parametrize(
    ("what", "var_binds", "options"),
    [
        ("indefinite lengths", VALUES[:2], {"defMode": False}),
        ("an Integer32 past its range", [("1.3.6.1.2.1.1.3.0", rfc1905.univ.Integer(2**31))], {}),
    ],
)
def test_what_the_fast_decoder_refuses_goes_to_pysnmp(
    what: str, var_binds: list[tuple[str, Any]], options: Any
) -> None:
    raw = response_bytes(7, var_binds, **options)
    with pytest.raises(BerError):
        decode_response(raw)
    try:
        fallback = _pysnmp_decode(raw)
    except Exception:  # pyasn1's types refuse it too: dropped as malformed, see the socket test
        return
    assert fallback.request_id == 7, what


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x30\x82\xff\xffnot an SNMP message \x00\xff",  # what tests/harness's GarbageAgent sends
        b"\x30\x03\x02\x01\x00",  # SNMPv1
        b"\x30\x85\x00\x00\x00\x00\x01\x00",  # five length octets
        b"\x3f\x81\x00\x00",  # a multi-byte tag
        b"\x30\x00\x00",  # bytes after the message
    ],
)
def test_junk_is_a_ber_error(raw: bytes) -> None:
    with pytest.raises(BerError):
        decode_response(raw)


def test_a_value_type_snmpv2c_does_not_have_is_refused() -> None:
    raw = response_bytes(7, [("1.3.6.1.2.1.1.3.0", rfc1902.Gauge32(5))])
    at = raw.rindex(b"\x42\x01\x05")
    with pytest.raises(BerError, match="value type 0x47"):
        decode_response(raw[:at] + b"\x47" + raw[at + 1 :])


def test_a_non_minimal_oid_arc_is_refused() -> None:
    with pytest.raises(BerError):
        decode_oid(b"\x2b\x80\x01")


# -- over a real socket ----------------------------------------------------------------------


@contextmanager
def scripted_agent(answer: Any, *, reply_from_other_port: bool = False) -> Iterator[int]:
    """A loopback UDP peer that reads each request with pysnmp and answers ``answer(request_id, pdu)``'s bytes."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other.bind(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(65535)
            except TimeoutError:
                continue
            message, _ = decoder.decode(data, asn1Spec=v2c.Message())
            pdu = v2c.apiMessage.get_pdu(message)
            request_id = int(v2c.apiPDU.get_request_id(pdu))
            (other if reply_from_other_port else sock).sendto(answer(request_id, pdu), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(sock.getsockname()[1])
    finally:
        stop.set()
        thread.join(5)
        sock.close()
        other.close()


def ask(port: int, timeout: float = 3.0) -> tuple[dict[Any, Any] | SnmpError, SnmpClient]:
    client = SnmpClient()
    target = SnmpTarget("127.0.0.1", port, community=Secret("public"), timeout=timeout, retries=1)

    async def main() -> dict[Any, Any] | SnmpError:
        try:
            return await client.get(target, [SYS_NAME])
        except SnmpError as exc:
            return exc
        finally:
            client.close()

    return asyncio.run(main()), client


def test_an_answer_only_pysnmp_reads_is_read_by_pysnmp() -> None:
    name = [("1.3.6.1.2.1.1.5.0", rfc1902.OctetString(b"core-1"))]
    with scripted_agent(lambda rid, _pdu: response_bytes(rid, name, defMode=False)) as port:
        values, client = ask(port)
    assert values == {SYS_NAME: b"core-1"}
    assert client.datagrams.stats.fallbacks == 1 and client.datagrams.stats.malformed == 0


def test_an_answer_neither_decoder_reads_is_counted_and_times_out() -> None:
    with scripted_agent(lambda rid, _pdu: response_bytes(rid)[:-3]) as port:
        error, client = ask(port, timeout=0.3)
    assert isinstance(error, SnmpError) and error.problem.kind is ProblemKind.TIMEOUT
    assert client.datagrams.stats.malformed == 2  # one per try


def test_an_answer_from_another_port_is_ignored() -> None:
    name = [("1.3.6.1.2.1.1.5.0", rfc1902.OctetString(b"spoofed"))]
    with scripted_agent(lambda rid, _pdu: response_bytes(rid, name), reply_from_other_port=True) as port:
        error, client = ask(port, timeout=0.3)
    assert isinstance(error, SnmpError) and error.problem.kind is ProblemKind.TIMEOUT
    assert client.datagrams.stats.strays == 2


def test_an_agent_that_says_too_big_is_asked_for_less_from_then_on() -> None:
    """An agent answering tooBig above 30 repetitions: the adaptive walk halves once, never asks for more again."""
    table = [((*parse_oid("1.3.6.1.2.1.2.2.1.2"), i), f"port {i}".encode()) for i in range(1, 301)]
    asked: list[int] = []

    def answer(request_id: int, pdu: Any) -> bytes:
        reps = int(v2c.apiBulkPDU.get_max_repetitions(pdu))
        asked.append(reps)
        cursor = tuple(v2c.apiBulkPDU.get_varbinds(pdu)[0][0])
        if reps > 30:
            response = v2c.ResponsePDU()
            v2c.apiPDU.set_defaults(response)
            v2c.apiPDU.set_request_id(response, request_id)
            v2c.apiPDU.set_error_status(response, 1)  # tooBig
            v2c.apiPDU.set_varbinds(response, [])
            message = v2c.Message()
            v2c.apiMessage.set_defaults(message)
            v2c.apiMessage.set_community(message, "public")
            v2c.apiMessage.set_pdu(message, response)
            return bytes(encoder.encode(message))
        rows = [(".".join(map(str, o)), rfc1902.OctetString(v)) for o, v in table if o > cursor][:reps]
        return response_bytes(request_id, rows or [("1.3.6.1.2.1.99", rfc1905.EndOfMibView(""))])

    client = SnmpClient()
    with scripted_agent(answer) as port:
        target = SnmpTarget("127.0.0.1", port, community=Secret("public"), timeout=3, retries=1)

        async def main() -> Any:
            try:
                return await client.walk(target, parse_oid("1.3.6.1.2.1.2.2.1.2"))
            finally:
                client.close()

        walk = asyncio.run(main())
    assert walk.complete and walk.rows == tuple(table)
    assert asked[:2] == [50, 25] and max(asked[2:]) == 25
