"""One Debian ``snmpd`` per lab switch, serving :mod:`netguard.lab.agent`.

Each switch's agent listens in the root namespace on its own loopback address
(``127.77.B.N:161``): reachable by NetGuard and net-snmp without giving the root
namespace any address, route or interface into the lab. snmpd loads only the
modules it needs (SNMP engine, USM, VACM, the system group and
``pass_persist``), so nothing of the machine's own interfaces, routes or
processes is visible; everything else under ``.1.3.6.1.2.1`` and LLDP comes from
the switch namespace through the agent. The configuration holds the community
and v3 keys, so it is written mode 0600.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from netguard.lab.netns import LabError

MODULES = ",".join(
    (
        "system_mib,sysORTable",  # the system group: sysName, sysDescr, sysLocation ...
        "snmpEngine,snmpMPDStats,usmStats,usmUser,usmConf",  # SNMPv3
        "vacm_vars,vacm_conf,vacm_context",  # communities, users and the view
        "pass,pass_persist",  # everything else comes from the agent
    )
)
ROOTS = (".1.3.6.1.2.1", ".1.0.8802.1.1.2")
# The planted weakness of one lab switch: read-only `public`, as many real county switches still answer.
DEFAULT_COMMUNITY_LINE = "rocommunity public 127.0.0.0/8 -V labview"


@dataclass(frozen=True)
class SnmpCredentials:
    # repr=False: a repr (an assertion, a traceback, a debug print) must not show a secret.
    community: str = field(repr=False)
    v3_user: str | None = None
    v3_auth: str | None = field(default=None, repr=False)  # SHA-256 passphrase
    v3_priv: str | None = field(default=None, repr=False)  # AES-128 passphrase


def project_root() -> Path:
    return Path(__file__).resolve().parents[2]


def address_free(address: ipaddress.IPv4Address, port: int = 161) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((str(address), port))
        except OSError:
            return False
    return True


def write_agent_files(
    workdir: Path,
    *,
    namespace: str,
    address: ipaddress.IPv4Address,
    creds: SnmpCredentials,
    agent_config: dict[str, object],
    sys_name: str,
    sys_descr: str,
    sys_location: str,
    default_community: bool = False,
) -> Path:
    """The agent's JSON, a wrapper that runs it, and snmpd.conf (0600); returns the conf path."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "persist").mkdir(exist_ok=True)
    agent_json = workdir / "agent.json"
    agent_json.write_text(json.dumps({"namespace": namespace, **agent_config}, ensure_ascii=False), encoding="utf-8")
    wrapper = workdir / "agent.sh"
    # snmpd runs pass_persist programs without a shell environment we control: pin the
    # interpreter and the import path here.
    wrapper.write_text(
        "#!/bin/sh\n"
        f"PYTHONPATH='{project_root()}' exec '{sys.executable}' -m netguard.lab.agent '{agent_json}' \"$1\"\n",
        encoding="utf-8",
    )
    wrapper.chmod(0o755)
    lines = [
        f"agentaddress udp:{address}:161",
        "dontLogTCPWrappersConnects yes",
        f"sysName {sys_name}",
        f"sysDescr {sys_descr}",
        f"sysLocation {sys_location}",
        "sysContact 信息科",
        "sysServices 6",
        "view labview included .1.3.6.1.2.1",
        "view labview included .1.0.8802.1.1.2",
        f"rwcommunity {creds.community} 127.0.0.0/8 -V labview",
    ]
    if default_community:
        lines.append(DEFAULT_COMMUNITY_LINE)
    if creds.v3_user and creds.v3_auth and creds.v3_priv:
        lines.append(f"createUser {creds.v3_user} SHA-256 {creds.v3_auth} AES {creds.v3_priv}")
        lines.append(f"rwuser {creds.v3_user} priv -V labview")
    lines.extend(f"pass_persist {root} {wrapper} {root}" for root in ROOTS)
    conf = workdir / "snmpd.conf"
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    return conf


def start_snmpd(conf: Path) -> int:
    """Start snmpd in its own session (so its pass_persist children die with it); returns its pid."""
    workdir = conf.parent
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "SNMP_PERSISTENT_DIR": str(workdir / "persist"),
        "MIBS": "",  # the agent needs no MIB files; loading them costs time and log noise
    }
    log = open(workdir / "snmpd.log", "ab")  # noqa: SIM115 - handed to the child
    try:
        proc = subprocess.Popen(
            ["snmpd", "-f", "-Lf", str(workdir / "snmpd.log"), "-C", "-c", str(conf), "-I", MODULES],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise LabError("snmpd is not installed (Debian: apt-get install snmpd)") from None
    finally:
        log.close()
    return proc.pid


def wait_listening(pid: int, address: ipaddress.IPv4Address, timeout: float = 5.0) -> None:
    """Wait until snmpd has bound its address, or fail with what its log says."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not address_free(address):
            return
        if not pid_alive(pid):
            break
        time.sleep(0.02)
    raise LabError(f"snmpd for {address}:161 did not start (pid {pid}); see its snmpd.log")


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def cmdline(pid: int) -> list[bytes]:
    """The process's arguments; empty when it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return []


def is_our_snmpd(pid: int, conf: Path) -> bool:
    """The pid still runs snmpd with this configuration (a recycled pid is left alone)."""
    args = cmdline(pid)
    return bool(args) and args[0].endswith(b"snmpd") and str(conf).encode() in args


def stop_snmpd(pid: int, conf: Path, timeout: float = 3.0) -> bool:
    """Stop one agent and its pass_persist helpers (its process group); False if it was not running."""
    if not is_our_snmpd(pid, conf):
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.02)
    if pid_alive(pid):
        os.killpg(pid, signal.SIGKILL)
    _reap(pid)
    return True


def _reap(pid: int) -> None:
    # Only our own child can be reaped (when up and down run in one process, as in tests).
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
