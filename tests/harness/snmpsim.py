"""Real SNMP agents for tests and benchmarks: snmpsim serving recordings on a free loopback UDP port.

snmpsim (PyPI ``snmpsim``) answers v1/v2c/v3 from ``.snmprec`` files; the
community (v2c) or the context name (v3) picks the recording by its path
under the data directory, so one process serves many simulated switches.
Recordings of real equipment come from PyPI ``snmpsim-data`` (bzip2'd);
:func:`copy_recording` copies one, optionally keeping only the subtrees
discovery reads, which keeps snmpsim's index build (about 25 s for the
650k-line Huawei S12704 recording) short.

:class:`SnmpSim` starts ``snmpsim-command-responder`` (with
``SNMPSIM_ALLOW_ROOT=true``, which it demands under root), waits until its
log says it listens, and stops it by its own pid. It raises
:class:`~tests.harness.peers.PeerUnavailable` with the reason when it cannot
start, so tests skip (or fail in CI) with that reason.
"""

from __future__ import annotations

import bz2
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from tests.harness.peers import PeerUnavailable

# The subtrees discovery walks (system, interfaces, bridge, Q-bridge, ARP, LLDP).
DISCOVERY_PREFIXES = (
    "1.3.6.1.2.1.1.",
    "1.3.6.1.2.1.2.2.1.",
    "1.3.6.1.2.1.31.1.1.1.",
    "1.3.6.1.2.1.17.1.",
    "1.3.6.1.2.1.17.4.3.",
    "1.3.6.1.2.1.17.7.1.2.2.",
    "1.3.6.1.2.1.17.7.1.4.2.",
    "1.3.6.1.2.1.17.7.1.4.5.",
    "1.3.6.1.2.1.4.22.1.",
    "1.3.6.1.2.1.4.35.1.",
    "1.0.8802.1.1.2.1.",
)

V3_USER = "netguard"
V3_AUTH_PROTOCOL = "SHA"
V3_AUTH_KEY = "netguard-test-auth"
V3_PRIV_PROTOCOL = "AES"
V3_PRIV_KEY = "netguard-test-priv"


def snmpsim_data_dir() -> Path:
    """The recordings shipped by PyPI ``snmpsim-data``."""
    spec = importlib.util.find_spec("snmpsim_data")
    if spec is None or not spec.submodule_search_locations:
        raise PeerUnavailable("PyPI snmpsim-data is not installed (pip install -e '.[dev]')")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def find_recording(name: str) -> Path:
    """``network/switch/huawei-s12704`` or just ``huawei-s12704``: its file in snmpsim-data."""
    root = snmpsim_data_dir()
    stem = name.rsplit("/", 1)[-1]
    for pattern in (f"{name}.snmprec.bz2", f"{name}.snmprec", f"**/{stem}.snmprec.bz2", f"**/{stem}.snmprec"):
        hits = sorted(root.glob(pattern))
        if hits:
            return hits[0]
    raise PeerUnavailable(f"recording {name} is not in snmpsim-data at {root}")


def read_recording(path: Path) -> Iterable[str]:
    opener = bz2.open if path.suffix == ".bz2" else open
    with opener(path, "rt", encoding="utf-8", errors="surrogateescape") as fh:
        yield from fh


def copy_recording(
    name: str, dest_dir: Path, *, as_name: str | None = None, prefixes: tuple[str, ...] | None = DISCOVERY_PREFIXES
) -> Path:
    """Copy a snmpsim-data recording to ``dest_dir/<as_name>.snmprec``, keeping only ``prefixes`` (None: all)."""
    src = find_recording(name)
    dest = dest_dir / f"{as_name or src.name.split('.snmprec')[0]}.snmprec"
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "w", encoding="utf-8", errors="surrogateescape") as out:
        for line in read_recording(src):
            if prefixes is None or line.startswith(prefixes):
                out.write(line)
    return dest


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def responder_command() -> Path:
    exe = Path(sys.executable).parent / "snmpsim-command-responder"
    if exe.exists():
        return exe
    found = shutil.which("snmpsim-command-responder")
    if found is None:
        raise PeerUnavailable("snmpsim-command-responder not found (PyPI snmpsim, in the [dev] extra)")
    return Path(found)


@dataclass
class SnmpSim:
    """One snmpsim process serving every recording under ``data_dir``."""

    data_dir: Path
    work_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    start_timeout: float = 300.0
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def log_path(self) -> Path:
        return self.work_dir / "snmpsim.log"

    def start(self) -> SnmpSim:
        """Start and wait until it listens; retries on another port if the chosen one was taken."""
        last = ""
        for _attempt in range(3):  # a free port can be taken by someone else before snmpsim binds it
            self.spawn()
            if self._wait_ready():
                return self
            last = self._tail()
            self.stop()
            self.port = 0
        raise PeerUnavailable(f"snmpsim did not start: {last}")

    def spawn(self) -> SnmpSim:
        """Start the process without waiting (several can then index their data at once); see :meth:`ready`."""
        exe = responder_command()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        cache = self.work_dir / "cache"
        cache.mkdir(exist_ok=True)
        env = dict(os.environ, SNMPSIM_ALLOW_ROOT="true")
        self.port = self.port or free_udp_port()
        args = [
            str(exe),
            f"--data-dir={self.data_dir}",
            f"--cache-dir={cache}",
            f"--agent-udpv4-endpoint={self.host}:{self.port}",
            "--log-level=error",
            f"--v3-user={V3_USER}",
            f"--v3-auth-key={V3_AUTH_KEY}",
            f"--v3-auth-proto={V3_AUTH_PROTOCOL}",
            f"--v3-priv-key={V3_PRIV_KEY}",
            f"--v3-priv-proto={V3_PRIV_PROTOCOL}",
        ]
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        return self

    def ready(self) -> SnmpSim:
        """Wait for a spawned process to listen; PeerUnavailable if it does not."""
        if not self._wait_ready():
            last = self._tail()
            self.stop()
            raise PeerUnavailable(f"snmpsim did not start: {last}")
        return self

    def _wait_ready(self) -> bool:
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
            if "Listening at UDP/IPv4 endpoint" in text:
                return True
            time.sleep(0.1)
        return False

    def _tail(self) -> str:
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return " | ".join(lines[-3:]) or "no output"

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def __enter__(self) -> SnmpSim:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class GarbageAgent:
    """A UDP peer on loopback that answers every datagram with bytes that are not SNMP.

    It stands for the broken or hostile device that a run across hundreds of
    switches will meet; the client must drop the junk and report a timeout.
    """

    REPLY = b"\x30\x82\xff\xffnot an SNMP message \x00\xff"

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port = int(self._sock.getsockname()[1])
        self.answered = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="garbage-agent", daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                _data, peer = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            self._sock.sendto(self.REPLY, peer)
            self.answered += 1

    def __enter__(self) -> GarbageAgent:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()
