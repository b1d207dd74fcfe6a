"""The lab's management path: the switches' agents, reachable from the scanner namespace too.

Each lab switch's snmpd listens in the root namespace on ``127.77.B.N:161``
(see :mod:`netguard.lab.snmpd`), so discovery, eviction and net-snmp's tools
reach it from the root namespace without the root namespace joining the lab.
A compliance scan must also reach the lab's hosts, which only a namespace
inside the lab can. This relay gives the scanner namespace the same
addresses: at start it enters the scanner's network namespace (``setns``),
binds one UDP socket per agent address there, and returns to the root
namespace, where it opens its upstream sockets. A socket stays in the
namespace it was made in, so one process serves both sides:

    scanner ns: client → 127.77.B.N:161 (relay socket) ┐
    root ns:    relay upstream socket (127.0.0.1:eph) → snmpd on 127.77.B.N:161

Every (agent, client) pair gets its own upstream socket, so answers go back
to the client that asked; pairs idle for a minute are closed. The inventory
stays one file: the same management address works from either namespace.
The agent sees requests from 127.0.0.1, inside the 127.0.0.0/8 its
community is restricted to, as a real switch sees its management station.

Run by ``lab up`` as ``python -m netguard.lab.relay CONFIG.json``, in its own
session; ``lab down`` stops it.
"""

from __future__ import annotations

import ctypes
import json
import os
import selectors
import socket
import sys
import time
from pathlib import Path

CLONE_NEWNET = 0x40000000
IDLE_S = 60.0
MAX_DATAGRAM = 65535


def setns(fd: int) -> None:
    # os.setns arrived in Python 3.12; the project supports 3.11, so libc's directly.
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def bind_in_namespace(namespace: str, addresses: list[tuple[str, int]]) -> list[socket.socket]:
    """UDP sockets bound to ``addresses`` inside ``namespace``; the caller stays in its own namespace."""
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    there = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
    sockets = []
    try:
        setns(there)
        try:
            for address in addresses:
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sock.bind(address)
                sock.setblocking(False)
                sockets.append(sock)
        finally:
            setns(home)
    finally:
        os.close(there)
        os.close(home)
    return sockets


def serve(listeners: list[socket.socket]) -> None:
    selector = selectors.DefaultSelector()
    for listening in listeners:
        selector.register(listening, selectors.EVENT_READ, ("listen", listening))
    upstreams: dict[tuple[socket.socket, tuple[str, int]], socket.socket] = {}
    used: dict[socket.socket, float] = {}
    while True:
        for key, _ in selector.select(timeout=IDLE_S / 2):
            kind, listener = key.data
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                data, sender = sock.recvfrom(MAX_DATAGRAM)
            except OSError:
                continue
            if kind == "listen":
                up = upstreams.get((listener, sender))
                if up is None:
                    up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    up.bind(("127.0.0.1", 0))
                    up.connect(listener.getsockname())
                    up.setblocking(False)
                    upstreams[(listener, sender)] = up
                    selector.register(up, selectors.EVENT_READ, ("up", (listener, sender)))
                used[up] = time.monotonic()
                try:
                    up.send(data)
                except OSError:
                    continue  # the agent is gone (lab going down): the client times out, as with a dead switch
            else:
                back, client = key.data[1]
                used[sock] = time.monotonic()
                try:
                    back.sendto(data, client)
                except OSError:
                    continue
        now = time.monotonic()
        for pair, up in list(upstreams.items()):
            if now - used.get(up, now) > IDLE_S:
                selector.unregister(up)
                up.close()
                del upstreams[pair]
                used.pop(up, None)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        return 2
    config = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    addresses = [(str(a), int(config.get("port", 161))) for a in config["addresses"]]
    listeners = bind_in_namespace(str(config["namespace"]), addresses)
    Path(config["ready"]).write_text(str(os.getpid()), encoding="utf-8")
    serve(listeners)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
