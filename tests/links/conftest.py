"""Fixtures for link tests: the loopback county, and a lab of namespaces with healthy, lossy, slow and dead links."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.links.netns import HERE, ROOT, Lab, require_netns

DELAY_MS = 40  # each way through the TUN wire, so about 80 ms round trip


@pytest.fixture(scope="session")
def loopback_county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/gen_county.py --loopback, written once per session."""
    path = tmp_path_factory.mktemp("county") / "huize-county-loopback.yaml"
    subprocess.run(
        [sys.executable, str(ROOT / "examples" / "gen_county.py"), "--loopback", "--output", str(path)],
        check=True, capture_output=True, cwd=ROOT,
    )  # fmt: skip
    return path


LAB_INVENTORY = """\
county: {{name: 实验县, code: lab}}
data_centre: lab-dc
institutions:
  - id: lab-dc
    name: 实验数据中心
    tier: county
    kind: data-centre
    subnets: [10.201.1.0/24]
    gateway: 10.201.1.2
    servers:
      - id: his01
        address: 10.201.1.2
        services: [{{name: his, port: {open_port}, protocol: http}}, {{name: ntp, port: 123, protocol: ntp}}]
  - id: lab-hosp
    name: 实验医院
    tier: county
    kind: hospital
    subnets: [10.201.5.0/24]
    gateway: 10.201.5.2
    servers:
      - id: db01
        address: 10.201.5.2
        services: [{{name: mysql, port: {closed_port}, protocol: mysql}}]
  - id: lab-thc-lossy
    name: 丢包镇卫生院
    tier: township
    township: 丢包镇
    subnets: [10.201.2.0/24]
    gateway: 10.201.2.2
  - id: lab-thc-slow
    name: 慢速镇卫生院
    tier: township
    township: 慢速镇
    subnets: [10.201.3.0/24]
    gateway: 10.201.3.2
  - id: lab-vc-dead
    name: 断线村卫生室
    tier: village
    parent: lab-thc-slow
    subnets: [10.201.4.0/24]
    gateway: 10.201.4.2
  - id: lab-vc-back
    name: 复通村卫生室
    tier: village
    parent: lab-thc-lossy
    subnets: [10.201.6.0/24]
    gateway: 10.201.6.2
"""


@dataclass
class LinkLab:
    lab: Lab
    prober: str  # the namespace the checks run in (the county data centre)
    back: str  # the namespace behind lab-vc-back, whose link starts down
    back_dev: str
    config: Path
    state_path: Path
    events_path: Path

    def netguard(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``netguard --config CONFIG ARGS`` run inside the prober namespace."""
        return self.lab.python(self.prober, str(ROOT / "cli.py"), "--config", str(self.config), *args)

    def check_json(self, *args: str) -> tuple[int, list[dict[str, Any]]]:
        done = self.netguard("links", "check", "--json", *args)
        assert done.returncode in (0, 1), done.stderr
        return done.returncode, json.loads(done.stdout)


@pytest.fixture(scope="module")
def link_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LinkLab]:
    require_netns()
    lab = Lab("l")
    try:
        c = lab.ns("c")
        healthy, lossy, slow, dead, back = (lab.ns(n) for n in ("h", "l", "s", "d", "b"))
        lab.veth(c, healthy, ["10.201.1.1/24", "10.201.5.1/24"], ["10.201.1.2/24", "10.201.5.2/24"])
        lab.veth(c, lossy, ["10.201.2.1/24"], ["10.201.2.2/24"])
        # Loss as DESIGN.md §4 makes it: nftables inside the namespace drops half the ICMP it receives.
        subprocess.run(
            ["ip", "netns", "exec", lossy, "nft", "-f", "-"],
            input="table inet lossy {\n chain input {\n  type filter hook input priority 0;\n"
            "  meta l4proto icmp numgen random mod 100 < 50 drop\n }\n}\n",
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        # Delay: a userspace wire between two TUN devices, both made in the prober's namespace.
        lab.start(c, sys.executable, str(HERE / "tunwire.py"), "--delay-ms", str(DELAY_MS), "tunc", "tuns")
        for cmd in (
            ["ip", "-n", c, "link", "set", "tuns", "netns", slow],
            ["ip", "-n", c, "addr", "add", "10.201.3.1/24", "dev", "tunc"],
            ["ip", "-n", slow, "addr", "add", "10.201.3.2/24", "dev", "tuns"],
            ["ip", "-n", c, "link", "set", "tunc", "up"],
            ["ip", "-n", slow, "link", "set", "tuns", "up"],
        ):
            subprocess.run(cmd, check=True, capture_output=True)
        # Dead: the far end of the veth is down, so nothing answers 10.201.4.2.
        lab.veth(c, dead, ["10.201.4.1/24"], ["10.201.4.2/24"], b_up=False)
        _a, back_dev = lab.veth(c, back, ["10.201.6.1/24"], ["10.201.6.2/24"], b_up=False)
        open_port, closed_port = 18080, 13306
        lab.start(healthy, sys.executable, str(HERE / "listener.py"), "10.201.1.2", str(open_port))
        root = tmp_path_factory.mktemp("linklab")
        inventory = root / "county.yaml"
        inventory.write_text(LAB_INVENTORY.format(open_port=open_port, closed_port=closed_port), encoding="utf-8")
        config = root / "netguard.yaml"
        config.write_text(
            f"inventory: {inventory}\nstate: {{path: {root / 'state.db'}}}\n"
            f"events: {{backend: sqlite, sqlite: {{path: {root / 'events.db'}}}}}\n"
            # The healthy link must stay "up" on a loaded CI machine too, where a TCP connect
            # through a namespace has taken 128 ms: the county's 20 ms limit is for real links.
            "links: {institutions: {lab-dc: {rtt_warn_ms: 500, connect_warn_ms: 1000}}}\n",
            encoding="utf-8",
        )
        yield LinkLab(lab, c, back, back_dev, config, root / "state.db", root / "events.db")
    finally:
        lab.close()
