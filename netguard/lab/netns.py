"""Network namespace plumbing for the lab: thin wrappers over iproute2.

Everything goes through ``ip``/``bridge`` with ``-n NAMESPACE`` (iproute2 enters
the namespace itself), or ``ip -n NS -batch -`` to run many commands in one
process, which is what keeps ``lab up`` fast. Commands that are not iproute2
(``sysctl``, ``ping``) run through ``ip netns exec``. Nothing here ever
touches the root namespace's interfaces or routes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from typing import Any

from netguard.errors import NetGuardError

NETNS_DIR = "/run/netns"


class LabError(NetGuardError):
    """The lab cannot be built, inspected or removed; the message says what and where."""


def require_root(what: str) -> None:
    if os.geteuid() != 0:
        raise LabError(f"{what} needs root (it creates network namespaces); run it as root, e.g. sudo netguard lab up")


def require_tools(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        debs = "iproute2, snmpd, iputils-ping, openssh-client"
        raise LabError(f"the lab needs {', '.join(missing)} (Debian: {debs}); install it first")


def run(argv: Sequence[str], *, stdin: str | None = None, check: bool = True, timeout: float = 30.0) -> str:
    """Run a command; a failure becomes a :class:`LabError` naming the command and its message."""
    try:
        proc = subprocess.run(list(argv), input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise LabError(f"{argv[0]} is not installed") from None
    except subprocess.TimeoutExpired:
        raise LabError(f"{' '.join(argv)} did not finish within {timeout:g} s") from None
    if check and proc.returncode != 0:
        message = (proc.stderr or proc.stdout).strip().splitlines()
        raise LabError(f"{' '.join(argv)}: {message[-1] if message else f'exit {proc.returncode}'}")
    return proc.stdout


def ip(netns: str | None, *args: str, check: bool = True) -> str:
    return run(["ip", *(["-n", netns] if netns else []), *args], check=check)


def ip_json(netns: str, *args: str) -> list[dict[str, Any]]:
    out = run(["ip", "-n", netns, "-j", *args])
    data = json.loads(out) if out.strip() else []
    return data if isinstance(data, list) else []


def bridge_json(netns: str, *args: str) -> list[dict[str, Any]]:
    out = run(["bridge", "-n", netns, "-j", *args])
    data = json.loads(out) if out.strip() else []
    return data if isinstance(data, list) else []


def batch(netns: str | None, commands: Iterable[str]) -> None:
    """Run many ``ip`` commands in one process; the first failure stops it and is reported."""
    text = "".join(c + "\n" for c in commands)
    if text:
        run(["ip", *(["-n", netns] if netns else []), "-batch", "-"], stdin=text)


def cable(port: str, peer_netns: str, mac: str, alias: str, vlan: int) -> tuple[str, ...]:
    """``ip -batch`` lines for a switch's namespace: its port ``port`` in bridge ``br<vlan>``, cabled to
    ``eth0`` (with ``mac``) in ``peer_netns``; ``alias`` is what ``ifAlias`` shows for the port."""
    return (
        f"link add {port} type veth peer name eth0 address {mac} netns {peer_netns}",
        f"link set {port} alias {alias}",
        f"link set {port} master br{vlan} up",
    )


def exec_in(netns: str, argv: Sequence[str], *, check: bool = True, timeout: float = 30.0) -> str:
    return run(["ip", "netns", "exec", netns, *argv], check=check, timeout=timeout)


def add_netns(name: str) -> None:
    ip(None, "netns", "add", name)


def delete_netns(name: str) -> bool:
    """Remove a namespace (and with it every interface inside); False if it was not there."""
    if not netns_exists(name):
        return False
    ip(None, "netns", "delete", name)
    return True


def netns_exists(name: str) -> bool:
    return os.path.exists(os.path.join(NETNS_DIR, name))


def list_netns(prefix: str) -> list[str]:
    try:
        names = os.listdir(NETNS_DIR)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if n.startswith(prefix))


def harden(netns: str) -> None:
    """No IPv6 chatter (the FDB then shows only what the lab's hosts really sent) and lo up."""
    exec_in(
        netns,
        [
            "sysctl",
            "-q",
            "-w",
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        ],
    )


def ping(netns: str, address: str, *, count: int = 1, wait: float = 1.0) -> bool:
    """One ICMP echo from inside ``netns``: True when answered."""
    proc = subprocess.run(
        ["ip", "netns", "exec", netns, "ping", "-n", "-q", "-c", str(count), "-W", f"{wait:g}", address],
        capture_output=True,
        check=False,
        timeout=wait * count + 10,
    )
    return proc.returncode == 0
