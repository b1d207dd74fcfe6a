"""A TCP service for link tests: listens on ADDRESS:PORT, accepts and closes; prints ``ready`` when listening."""

from __future__ import annotations

import socket
import sys


def main() -> None:
    address, port = sys.argv[1], int(sys.argv[2])
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((address, port))
        server.listen(64)
        print("ready", flush=True)
        while True:
            conn, _peer = server.accept()
            conn.close()


if __name__ == "__main__":
    main()
