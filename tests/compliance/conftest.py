"""A small county in one network namespace: real ICMP, real SNMP agents, a real TCP listener, a dead link.

The scanner runs in its own namespace (``c``, loopback only), so every
``127.x`` address is its own and a privileged port is free. In it:

* two snmpsim agents on port 161: ``127.60.0.2`` answers the ``public``
  community (the control fails), ``127.60.0.3`` only a private one (passes);
* a TCP listener on ``127.60.0.21:22`` (server ``db-open``: SSH reachable
  from the scanner, fails); nothing on ``127.60.0.22:22`` (``db-closed``,
  refused, passes);
* a veth to namespace ``d`` whose far end is down: the village clinic behind
  ``10.255.4.2`` does not answer (its link is down), honestly dead rather than
  an address outside loopback with no route;
* one ``sql`` event for ``db-open`` in the event store, none for ``db-closed``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness.peers import PeerUnavailable, require_peer
from tests.harness.snmpsim import responder_command
from tests.links.netns import HERE as LINKS_HERE
from tests.links.netns import ROOT, Lab, require_netns

HOSTILE = "测试县 <script>alert(1)</script> \"q\" 'a' \x1b[31m"

INVENTORY = """\
county: {{name: {county}, code: t}}
data_centre: t-dc
defaults:
  snmp: {{version: 2c, community: 'secret:sw-ro'}}
institutions:
  - id: t-dc
    name: 测试数据中心
    tier: county
    kind: data-centre
    subnets: [127.60.0.0/24]
    gateway: 127.60.0.1
    switches:
      - {{id: sw-public, management: 127.60.0.2}}
      - {{id: sw-private, management: 127.60.0.3}}
    servers:
      - {{id: bastion01, role: bastion, address: 127.60.0.5, services: [{{name: ssh, port: 22, protocol: ssh}}]}}
      - {{id: db-open, role: database, address: 127.60.0.21, services: [{{name: ssh, port: 22, protocol: ssh}}]}}
      - {{id: db-closed, role: database, address: 127.60.0.22, services: [{{name: ssh, port: 22, protocol: ssh}}]}}
  - id: t-thc
    name: 测试镇卫生院
    tier: township
    township: 测试镇
    subnets: [127.61.0.0/24]
    gateway: 127.61.0.1
  - id: t-vc-dead
    name: 断线村卫生室
    tier: village
    parent: t-thc
    subnets: [10.255.4.0/24]
    gateway: 10.255.4.2
"""

CONFIG = """\
inventory: {inventory}
state: {{path: {state}}}
events: {{backend: sqlite, sqlite: {{path: {events}}}}}
links: {{count: 2, interval_ms: 50, timeout_ms: 300}}
scan: {{audit_retention: {retention}, snmp_timeout_ms: 400, tcp_timeout_ms: 400}}
"""


@dataclass
class ScanLab:
    lab: Lab
    ns: str
    root: Path
    inventory: Path
    listener: subprocess.Popen[str]

    def config(self, name: str, *, retention: str = "90d", events: Path | None = None) -> Path:
        path = self.root / f"{name}.yaml"
        path.write_text(
            CONFIG.format(
                inventory=self.inventory,
                state=self.root / f"{name}-state.db",
                events=events or self.root / "events.db",
                retention=retention,
            ),
            encoding="utf-8",
        )
        return path

    def netguard(self, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return self.lab.python(self.ns, str(ROOT / "cli.py"), "--config", str(config), *args)


def _snmpsim(lab: Lab, ns: str, address: str, work: Path, community: str) -> None:
    """snmpsim inside ``ns`` answering ``community`` only (the community picks the recording)."""
    data = work / "data"
    data.mkdir(parents=True)
    (data / f"{community}.snmprec").write_text(
        "1.3.6.1.2.1.1.1.0|4|scan test switch\n1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.2011.2.23.1\n", encoding="utf-8"
    )
    (work / "cache").mkdir()
    log = work / "snmpsim.log"
    args = [
        "ip", "netns", "exec", ns, str(responder_command()), f"--data-dir={data}", f"--cache-dir={work / 'cache'}",
        f"--agent-udpv4-endpoint={address}:161", "--log-level=error",
    ]  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ, SNMPSIM_ALLOW_ROOT="true")
        )
    lab.processes.append(proc)  # type: ignore[arg-type]  # Lab.close kills and reaps every process it holds
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if "Listening at UDP/IPv4 endpoint" in log.read_text(encoding="utf-8", errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise PeerUnavailable(f"snmpsim did not start in {ns}: {log.read_text(errors='replace')[-300:]}")


def _sql_event(events: Path, host: str) -> None:
    from netguard.events import make_event
    from netguard.events.sqlite_store import SQLiteEventStore

    store = SQLiteEventStore(events)
    try:
        result = store.write([make_event("sql", {"event.action": "query", "host.name": host, "db.system": "mysql",
                                                  "db.query.text": "SELECT 1", "user.name": "his"})])  # fmt: skip
        assert result.written == 1, result.errors
    finally:
        store.close()


@pytest.fixture(scope="module")
def scan_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScanLab]:
    require_netns()
    try:
        responder_command()
    except PeerUnavailable as exc:
        require_peer(str(exc))
    lab = Lab("s")
    try:
        c = lab.ns("c")
        dead = lab.ns("d")
        lab.veth(c, dead, ["10.255.4.1/24"], ["10.255.4.2/24"], b_up=False)
        root = tmp_path_factory.mktemp("scanlab")
        _snmpsim(lab, c, "127.60.0.2", root / "sim-public", "public")
        _snmpsim(lab, c, "127.60.0.3", root / "sim-private", "k7-not-a-default")
        listener = lab.start(c, sys.executable, str(LINKS_HERE / "listener.py"), "127.60.0.21", "22")
        inventory = root / "county.yaml"
        inventory.write_text(INVENTORY.format(county='"' + HOSTILE.replace('"', '\\"').replace("\x1b", "\\e") + '"'),
                             encoding="utf-8")  # fmt: skip
        _sql_event(root / "events.db", "db-open")
        yield ScanLab(lab, c, root, inventory, listener)
    finally:
        lab.close()
