"""Network namespaces for link tests: created by the fixture, removed by it even when a test fails.

Every namespace gets a unique name (``ngl<pid>-<role>``), only loopback and the
links the test asks for (veth pairs made from inside a namespace, or a TUN
wire), and no default route: nothing in them can reach the machine's real
networks. :meth:`Lab.close` kills the processes the lab started, then deletes
the namespaces (which takes their veths with them).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from netguard.lab import netns
from tests.harness.peers import require_peer, require_root

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def require_netns() -> None:
    require_root("network namespaces")
    try:
        netns.ip(None, "netns", "list")
    except netns.LabError as exc:
        require_peer(f"ip netns does not work here: {exc}")


class Lab:
    def __init__(self, tag: str) -> None:
        self.prefix = f"ngl{os.getpid() % 100000}{tag}"
        self.namespaces: list[str] = []
        self.processes: list[subprocess.Popen[str]] = []
        self.links = 0

    def ns(self, role: str) -> str:
        name = f"{self.prefix}-{role}"
        netns.add_netns(name)
        self.namespaces.append(name)
        netns.ip(name, "link", "set", "lo", "up")
        return name

    def veth(self, a: str, b: str, a_addr: list[str], b_addr: list[str], *, b_up: bool = True) -> tuple[str, str]:
        """A veth pair between namespaces ``a`` and ``b`` (made inside ``a``), with addresses (CIDR) on each end."""
        self.links += 1
        a_dev, b_dev = f"ngv{self.links}a", f"ngv{self.links}b"
        netns.ip(a, "link", "add", a_dev, "type", "veth", "peer", "name", b_dev, "netns", b)
        for addr in a_addr:
            netns.ip(a, "addr", "add", addr, "dev", a_dev)
        for addr in b_addr:
            netns.ip(b, "addr", "add", addr, "dev", b_dev)
        netns.ip(a, "link", "set", a_dev, "up")
        if b_up:
            netns.ip(b, "link", "set", b_dev, "up")
        return a_dev, b_dev

    def start(self, ns: str, *args: str) -> subprocess.Popen[str]:
        """A process inside ``ns`` that prints one line when it is ready (waited for here)."""
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        self.processes.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("ready"):
            proc.kill()
            _out, err = proc.communicate(timeout=10)
            raise RuntimeError(f"{' '.join(args)} did not start in {ns}: {line}{err}")
        return proc

    def python(
        self, ns: str, *args: str, user: int | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run ``python ARGS`` inside ``ns`` (as ``user`` when given) and return what it did."""
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        drop = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] if user is not None else []
        command = ["ip", "netns", "exec", ns, *drop, sys.executable, *args]
        return subprocess.run(command, check=False, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)

    def close(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=10)
        for name in reversed(self.namespaces):
            netns.ip(None, "netns", "del", name, check=False)
        self.namespaces.clear()
