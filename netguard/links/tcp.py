"""TCP connect probes: can the service's port be reached, and how long does the handshake take.

Like blackbox_exporter's ``tcp`` prober without a payload: a non-blocking
connect on the event loop (``loop.sock_connect``), timed from just before the
SYN to the completed handshake, then an orderly close. The connect time is
about one round trip plus the server's accept latency. Many services are probed
concurrently, bounded by a semaphore so a county-wide run does not exhaust
file descriptors; every probe is bounded by its own timeout, and a failure is a
result (refused, timed out, unreachable), never an exception.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import time
from collections.abc import Iterable

from netguard.links.records import TcpResult, TcpTarget

DEFAULT_CONCURRENCY = 64

_ERRORS = {
    errno.ECONNREFUSED: "connection refused",
    errno.EHOSTUNREACH: "no route to host",
    errno.ENETUNREACH: "network unreachable",
    errno.ECONNRESET: "connection reset",
    errno.EACCES: "not permitted (firewall)",
    errno.EPERM: "not permitted (firewall)",
}


async def connect(target: TcpTarget, timeout_ms: float) -> TcpResult:
    """One connect attempt to ``target``."""
    loop = asyncio.get_running_loop()
    family = socket.AF_INET if target.address.version == 4 else socket.AF_INET6
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        started = time.perf_counter()
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (str(target.address), target.port)), timeout_ms / 1000)
        except TimeoutError:
            return TcpResult(target, False, error=f"no answer within {timeout_ms:g} ms")
        except OSError as exc:
            return TcpResult(target, False, error=_ERRORS.get(exc.errno or 0, exc.strerror or str(exc)))
        elapsed = (time.perf_counter() - started) * 1000
        return TcpResult(target, True, connect_ms=round(elapsed, 3))
    finally:
        sock.close()


async def connect_many(
    targets: Iterable[TcpTarget], timeout_ms: float, *, concurrency: int = DEFAULT_CONCURRENCY
) -> list[TcpResult]:
    """Probe every target (at most ``concurrency`` at a time); results in the order given."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def bounded(target: TcpTarget) -> TcpResult:
        async with gate:
            return await connect(target, timeout_ms)

    return list(await asyncio.gather(*(bounded(t) for t in targets)))
