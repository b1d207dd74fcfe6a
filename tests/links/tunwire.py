"""A wire with a delay: two TUN devices, and every packet read from one is written to the other D ms later.

    python tests/links/tunwire.py --delay-ms 40 tunA tunB

Both devices are created in the namespace this runs in; the test moves one of
them into another namespace (a TUN device stays attached to this process's
file descriptor wherever it goes). This kernel has no ``tc netem``, and a
userspace hop gives an exact, steady delay where HTB queueing would also drop
packets. Prints ``ready`` once both devices exist; runs until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import os
import struct

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


async def wire(a: int, b: int, delay_s: float) -> None:
    loop = asyncio.get_running_loop()

    def forward(src: int, dst: int) -> None:
        while True:
            try:
                packet = os.read(src, 65536)
            except BlockingIOError:
                return
            loop.call_later(delay_s, _write, dst, packet)

    loop.add_reader(a, forward, a, b)
    loop.add_reader(b, forward, b, a)
    await asyncio.Event().wait()


def _write(fd: int, packet: bytes) -> None:
    # When the other end is down (e.g. while the test moves it), the packet is lost, as on a wire.
    with contextlib.suppress(OSError):
        os.write(fd, packet)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay-ms", type=float, required=True)
    parser.add_argument("a")
    parser.add_argument("b")
    args = parser.parse_args()
    a, b = open_tun(args.a), open_tun(args.b)
    print("ready", flush=True)
    asyncio.run(wire(a, b, args.delay_ms / 1000))


if __name__ == "__main__":
    main()
