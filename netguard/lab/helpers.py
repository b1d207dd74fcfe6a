"""The lab's helper processes and its planted weaknesses, and how an administrator fixes them.

Two helpers run beside the agents, each in its own session, recorded in the
state file (:class:`~netguard.lab.state.HelperRecord`) and stopped by ``lab
down`` (a pid is only signalled while its command line still names the lab's
file, so a recycled pid is left alone):

* ``relay``: :mod:`netguard.lab.relay`, the switches' agents on their
  management addresses inside the scanner namespace;
* ``sshd``: Debian's OpenSSH server in the data centre's EMR server namespace,
  listening on every address (the planted exposure: SSH open to anyone, not
  only the bastion). Nobody can log in: no password, no authorised key.

The other planted weakness is in one switch's ``snmpd.conf``: a read-only
``public`` community (see :func:`netguard.lab.snmpd.write_agent_files`).

The fixes, as a county's administrator would make them: :func:`close_ssh`
stops the open sshd; :func:`drop_default_community` removes ``public`` from
the switch's configuration and has snmpd re-read it (SIGHUP).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from netguard.lab import netns
from netguard.lab.netns import LabError
from netguard.lab.snmpd import DEFAULT_COMMUNITY_LINE, cmdline, pid_alive, project_root
from netguard.lab.state import HelperRecord, LabState, load_state
from netguard.lab.topology import Plan

SSHD = "/usr/sbin/sshd"
RELAY = "relay"
SSH = "sshd"


def helpers_dir(state: LabState) -> Path:
    return state.dir / "agents"


def _relay_config(workdir: Path) -> Path:
    return workdir / "relay.json"


def _sshd_config(workdir: Path) -> Path:
    return workdir / "ssh" / "sshd_config"


def _cmdline(pid: int) -> bytes:
    # The whole command line as one string: sshd rewrites its own into one "sshd: ARGS [listener]" title.
    return b" ".join(cmdline(pid))


def is_ours(record: HelperRecord) -> bool:
    return pid_alive(record.pid) and record.marker.encode() in _cmdline(record.pid)


def stop_helper(record: HelperRecord, timeout: float = 3.0) -> bool:
    """Stop one helper and its session; False when it was not running."""
    if not is_ours(record):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(record.pid):
        time.sleep(0.02)
    if pid_alive(record.pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(record.pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(record.pid, os.WNOHANG)
    return True


def stray_helpers(lab_dir: Path) -> list[int]:
    """Helper processes of this lab the state file does not name (after a crash during ``up``)."""
    agents = lab_dir / "agents"  # helpers_dir of the lab's state, which a crash may not have saved
    markers = (str(_relay_config(agents)).encode(), str(_sshd_config(agents)).encode())
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and any(m in _cmdline(int(entry)) for m in markers):
            found.append(int(entry))
    return found


def _start(state: LabState, name: str, argv: list[str], marker: Path, ready: Callable[[int], bool]) -> int:
    log = open(marker.parent / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    finally:
        log.close()
    state.add_helper(HelperRecord(name, proc.pid, str(marker)))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if ready(proc.pid):
            return proc.pid
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    raise LabError(f"the lab's {name} did not start (pid {proc.pid}); see {marker.parent / f'{name}.log'}")


def start_relay(plan: Plan, state: LabState) -> int:
    workdir = helpers_dir(state)
    workdir.mkdir(parents=True, exist_ok=True)
    config = _relay_config(workdir)
    ready = workdir / "relay.ready"
    ready.unlink(missing_ok=True)
    addresses = [str(s.management) for s in plan.sites if s.managed and s.management is not None]
    config.write_text(
        json.dumps({"namespace": plan.scanner.namespace, "addresses": addresses, "port": 161, "ready": str(ready)}),
        encoding="utf-8",
    )
    env_python = [sys.executable, "-m", "netguard.lab.relay", str(config)]
    # The child imports the project by path, as the pass_persist agents do.
    argv = ["env", f"PYTHONPATH={project_root()}", *env_python]
    return _start(state, RELAY, argv, config, lambda pid: ready.exists())


def _listening_on_22(pid: int) -> bool:
    # /proc/PID/net/tcp is the table of the process's own namespace: LISTEN (0A) on port 22 (0016).
    try:
        lines = Path(f"/proc/{pid}/net/tcp").read_text(encoding="ascii").splitlines()[1:]
    except OSError:
        return False
    return any(f.split()[1].endswith(":0016") and f.split()[3] == "0A" for f in lines)


def start_open_sshd(plan: Plan, state: LabState) -> int:
    """OpenSSH on every address of the data centre's EMR server: reachable from anywhere in the lab."""
    if not Path(SSHD).exists():
        raise LabError("the lab needs the OpenSSH server for its planted SSH exposure (Debian: openssh-server)")
    config = _sshd_config(helpers_dir(state))
    workdir = config.parent
    workdir.mkdir(parents=True, exist_ok=True)
    key = workdir / "ssh_host_ed25519_key"
    if not key.exists():
        netns.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)])
    config.write_text(
        "\n".join(
            (
                "ListenAddress 0.0.0.0",
                "Port 22",
                f"HostKey {key}",
                f"PidFile {workdir / 'sshd.pid'}",
                "UsePAM no",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "AuthorizedKeysFile none",
                "PermitRootLogin no",
                "AllowUsers netguard-lab-nobody",
            )
        )
        + "\n",
        encoding="utf-8",
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # its privilege separation directory
    host = plan.ssh_host
    argv = ["ip", "netns", "exec", host.namespace, SSHD, "-D", "-e", "-f", str(config)]
    return _start(state, SSH, argv, config, _listening_on_22)


def _state(lab_dir: Path) -> LabState:
    netns.require_root("changing the lab")
    state = load_state(lab_dir.resolve())
    if state is None:
        raise LabError(f"no lab in {lab_dir}")
    return state


def close_ssh(lab_dir: Path) -> bool:
    """The fix for the SSH exposure: stop the open sshd. False when it was not running."""
    state = _state(lab_dir)
    stopped = False
    for record in [h for h in state.helpers if h.name == SSH]:
        stopped = stop_helper(record) or stopped
    state.drop_helper(SSH)
    return stopped


def drop_default_community(lab_dir: Path) -> list[str]:
    """The fix for the default community: remove ``public`` from every agent that has it; the sites changed."""
    state = _state(lab_dir)
    changed = []
    for agent in state.agents:
        conf = Path(agent.conf)
        lines = conf.read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if line != DEFAULT_COMMUNITY_LINE]
        if kept == lines:
            continue
        conf.write_text("\n".join(kept) + "\n", encoding="utf-8")
        os.kill(agent.pid, signal.SIGHUP)  # snmpd re-reads snmpd.conf, communities included
        changed.append(agent.site)
    return changed
