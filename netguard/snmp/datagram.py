"""SNMPv2c GET and GETBULK over one asyncio UDP socket, without pysnmp's engine on the hot path.

How it works: every v2c request of a client goes out of one socket per
address family, under a request id unique within the client; the answer is
matched by that id *and* by the address it came from (an answer from any
other address is ignored, as a spoofed one would be). A request is sent again
(same id, so a late answer to an earlier try still counts) after each
``timeout`` until ``retries`` are spent, then the caller hears ``None`` and
reports a timeout, as pysnmp's would.

Answers are read with :mod:`netguard.snmp.ber`; one it does not understand
goes to pysnmp's own decoder (``fallbacks`` counts them), and one neither
reads is dropped and counted in ``malformed`` (a garbage-answering device
thus times out, as with pysnmp). Why not pysnmp throughout: on a 2700-row
forwarding table its engine and pyasn1 spent most of the walk's CPU, which on
a loaded 2-core machine is what the walk waits for. v3 (and SET, which is
rare and read back) stays on pysnmp.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
import socket
from dataclasses import dataclass, field
from typing import Any

from netguard.snmp.ber import END_OF_MIB, BerError, Response, VarBind, decode_response, encode_request
from netguard.snmp.values import Oid, to_python

_RECEIVE_BUFFER = 4 * 1024 * 1024  # many switches answering at once; the kernel caps it at rmem_max


@dataclass
class DatagramStats:
    """What the socket saw that did not go the common way; read by tests and the benchmark."""

    fallbacks: int = 0  # answers read by pysnmp's decoder instead of ours
    malformed: int = 0  # datagrams neither decoder could read (dropped)
    strays: int = 0  # answers for no pending request, or from the wrong address
    resends: int = 0  # requests sent again after a timeout


@dataclass
class _Pending:
    future: asyncio.Future[Response]
    address: tuple[str, int]


def _pysnmp_decode(data: bytes) -> Response:
    """The fallback: pysnmp's (pyasn1's) BER decoder, values made plain as for its engine's answers."""
    from pyasn1.codec.ber import decoder  # type: ignore[import-untyped]  # pyasn1 ships no stubs
    from pysnmp.proto import rfc1905
    from pysnmp.proto.api import v2c

    message, rest = decoder.decode(data, asn1Spec=v2c.Message())
    if rest or int(v2c.apiMessage.get_version(message)) != 1:
        raise BerError("not one SNMPv2c message")
    pdu = v2c.apiMessage.get_pdu(message)
    if not isinstance(pdu, rfc1905.ResponsePDU):
        raise BerError("not a Response-PDU")
    binds: list[VarBind] = []
    for name, value in v2c.apiPDU.get_varbinds(pdu):
        plain = END_OF_MIB if isinstance(value, rfc1905.EndOfMibView) else to_python(value)
        binds.append((tuple(name), plain))
    status, index = int(v2c.apiPDU.get_error_status(pdu)), int(v2c.apiPDU.get_error_index(pdu, muteErrors=True))
    return Response(int(v2c.apiPDU.get_request_id(pdu)), status, index, binds)


@dataclass
class _Protocol(asyncio.DatagramProtocol):
    pending: dict[int, _Pending]
    stats: DatagramStats
    transport: asyncio.DatagramTransport | None = field(default=None)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        try:
            _community, response = decode_response(data)
        except BerError:
            try:
                response = _pysnmp_decode(data)
            except Exception:  # pyasn1 raises its own error types, and IndexError/ValueError on junk
                self.stats.malformed += 1
                return
            self.stats.fallbacks += 1
        pending = self.pending.get(response.request_id)
        if pending is None or pending.future.done() or _address(addr) != pending.address:
            self.stats.strays += 1
            return
        pending.future.set_result(response)

    def error_received(self, exc: Exception) -> None:
        # An ICMP port-unreachable for some earlier datagram: the request it belongs to times out.
        pass


def _address(addr: Any) -> tuple[str, int]:
    host = str(addr[0]).split("%", 1)[0]
    with contextlib.suppress(ValueError):
        host = str(ipaddress.ip_address(host))
    return host, int(addr[1])


class DatagramClient:
    """v2c requests over one socket per address family; ``request`` returns ``None`` when no answer came."""

    def __init__(self) -> None:
        self.stats = DatagramStats()
        self._pending: dict[int, _Pending] = {}
        self._protocols: dict[int, _Protocol] = {}
        self._next_id = random.randrange(1, 2**30)

    def close(self) -> None:
        for protocol in self._protocols.values():
            if protocol.transport is not None:
                protocol.transport.close()
        self._protocols.clear()
        for pending in self._pending.values():
            pending.future.cancel()
        self._pending.clear()

    async def _protocol(self, family: int) -> _Protocol:
        protocol = self._protocols.get(family)
        if protocol is None:
            loop = asyncio.get_running_loop()
            sock = socket.socket(family, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RECEIVE_BUFFER)
            sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
            protocol = _Protocol(self._pending, self.stats)
            protocol.transport, _ = await loop.create_datagram_endpoint(lambda: protocol, sock=sock)
            self._protocols[family] = protocol
        return protocol

    def _request_id(self) -> int:
        self._next_id = self._next_id + 1 if self._next_id < 2**31 - 1 else 1
        return self._next_id

    async def request(
        self,
        address: tuple[str, int],
        community: bytes,
        pdu: int,
        oids: list[Oid],
        *,
        max_repetitions: int = 0,
        timeout: float,
        retries: int,
    ) -> Response | None:
        """Send ``pdu`` to ``address`` (IP address, port) and wait for the answer, ``retries`` more tries."""
        family = socket.AF_INET6 if ipaddress.ip_address(address[0]).version == 6 else socket.AF_INET
        protocol = await self._protocol(family)
        assert protocol.transport is not None
        request_id = self._request_id()
        message = encode_request(community, request_id, pdu, oids, max_repetitions=max_repetitions)
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = _Pending(future, _address(address))
        try:
            for attempt in range(retries + 1):
                self.stats.resends += attempt > 0
                protocol.transport.sendto(message, address)
                try:
                    return await asyncio.wait_for(asyncio.shield(future), timeout)
                except TimeoutError:
                    continue
            return None
        finally:
            del self._pending[request_id]
