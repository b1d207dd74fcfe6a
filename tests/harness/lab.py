"""The namespace lab as a test peer: ``running_lab`` brings one up and always takes it down.

Every test that needs the simulated county uses this, so a failing test never
leaves namespaces or snmpd processes behind. Each lab gets a random name
(``ng-tXXXXXXXX-*`` namespaces) and a free loopback block for its agents, so
several test sessions on one machine do not collide.

    with running_lab(tmp_path) as lab:
        lab.status.switches[0].snmp            # '127.77.x.y:161'
        lab.community                          # the v2c community (a test secret)
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from netguard.lab import netns
from netguard.lab.build import lab_down, lab_up, plan_of
from netguard.lab.labfiles import COMMUNITY_KEY, V3_AUTH_KEY, V3_PRIV_KEY
from netguard.lab.mib import port_number
from netguard.lab.state import load_state
from netguard.lab.status import LabStatus, lab_status
from netguard.lab.topology import DATA_VLAN
from tests.harness.peers import require_peer, require_root

TOOLS = ("ip", "bridge", "snmpd", "snmpwalk", "snmpset", "ping", "ssh-keygen", "sshd")


@dataclass(frozen=True)
class RunningLab:
    dir: Path
    name: str
    status: LabStatus
    community: str
    v3_auth: str
    v3_priv: str

    def switch(self, switch_id: str) -> tuple[str, str]:
        """(address, namespace) of a lab switch's agent."""
        for s in self.status.switches:
            if s.id == switch_id:
                return s.snmp.rsplit(":", 1)[0], s.namespace
        raise KeyError(switch_id)

    def refresh(self) -> LabStatus:
        return lab_status(self.dir)


def require_lab_tools() -> None:
    require_root("the namespace lab")
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        require_peer(f"the namespace lab needs {', '.join(missing)} (scripts/install-test-deps.sh installs them)")


@contextmanager
def running_lab(base: Path, *, townships: int = 1, villages: int = 2) -> Iterator[RunningLab]:
    require_lab_tools()
    name = "t" + secrets.token_hex(4)
    lab_dir = base / name
    lab_up(lab_dir, name=name, townships=townships, villages=villages)
    try:
        table = yaml.safe_load((lab_dir / "secrets.yaml").read_text(encoding="utf-8"))
        yield RunningLab(
            lab_dir, name, lab_status(lab_dir), table[COMMUNITY_KEY], table[V3_AUTH_KEY], table[V3_PRIV_KEY]
        )
    finally:
        lab_down(lab_dir)


def move_host_to_switch(lab: RunningLab, namespace: str, site: str, host_number: int = 200) -> tuple[str, str]:
    """Re-cable the terminal in ``namespace`` to a new port of another site's switch; (port, new IP).

    As a laptop carried to another clinic: its old port (veth) is deleted, a
    new ``pK`` is made in the other switch's office VLAN, and the terminal keeps
    its MAC but takes an address of the new subnet (``host_number`` in it) and
    that site's gateway, which it then pings so the switch learns it. Only the
    tests need this: ``lab status`` does not follow a host to another switch
    (``netguard.lab.recable.move_host`` moves within one switch and does).
    """
    state = load_state(lab.dir)
    assert state is not None, lab.dir
    plan = plan_of(state)
    host = next(h for h in plan.hosts if h.namespace == namespace)
    old, new = plan.site(host.site), plan.site(site)
    assert new.managed and new.key != old.key, site
    netns.ip(old.namespace, "link", "del", state.moved.get(namespace, host.port))
    used = [n for raw in netns.ip_json(new.namespace, "link", "show") if (n := port_number(str(raw["ifname"])))]
    port = f"p{max(used, default=0) + 1}"
    address = new.subnet.network_address + host_number
    netns.batch(new.namespace, netns.cable(port, host.namespace, host.mac, f"{host.name}-{host.kind}", DATA_VLAN))
    netns.batch(
        host.namespace,
        [
            f"addr add {address}/{new.subnet.prefixlen} dev eth0",
            "link set eth0 up",
            f"route add default via {new.gateway}",
        ],
    )
    assert any(netns.ping(host.namespace, str(new.gateway), wait=2) for _ in range(3)), (namespace, site)
    return port, str(address)


def snmp(tool: str, address: str, community: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a net-snmp tool (snmpwalk, snmpbulkwalk, snmpget, snmpset) v2c with numeric OIDs."""
    return subprocess.run(
        [tool, "-v2c", "-c", community, "-On", "-t", "2", "-r", "1", address, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def ping(namespace: str, address: str) -> bool:
    proc = subprocess.run(
        ["ip", "netns", "exec", namespace, "ping", "-n", "-q", "-c", "1", "-W", "1", address],
        capture_output=True,
        check=False,
        timeout=15,
    )
    return proc.returncode == 0


def ping_within(namespace: str, address: str, seconds: float = 10.0) -> bool:
    """Whether ``address`` answers within ``seconds``: a port or link just brought up takes a moment
    (carrier, the neighbour entry left FAILED while it was down), which is not what a test asserts."""
    deadline = time.monotonic() + seconds
    while True:
        if ping(namespace, address):
            return True
        if time.monotonic() >= deadline:
            return False
