"""Re-cable a lab terminal to another port of its switch, as when someone moves a cable.

Eviction must follow a device that reappears elsewhere (NAV re-detains it), so
tests need a device to move for real: the old port (its veth, and with it the
terminal's ``eth0``) is deleted, a new port ``pK`` (the next unused number) is
created into the office VLAN, and the terminal comes back with the same MAC,
address and route, then pings its gateway so the switch learns it on the new
port. The move is recorded in the state file, so ``lab status`` shows the new
port; the inventory does not change (it never lists ports).
"""

from __future__ import annotations

from pathlib import Path

from netguard.lab import netns
from netguard.lab.build import plan_of
from netguard.lab.mib import port_number
from netguard.lab.netns import LabError
from netguard.lab.state import load_state
from netguard.lab.topology import DATA_VLAN


def move_host(lab_dir: Path, namespace: str) -> str:
    """Move the terminal in ``namespace`` to a new port of its switch; returns the new port's name."""
    netns.require_root("moving a lab host")
    state = load_state(lab_dir.resolve())
    if state is None:
        raise LabError(f"no lab in {lab_dir}")
    plan = plan_of(state)
    host = next((h for h in plan.hosts if h.namespace == namespace), None)
    if host is None:
        raise LabError(f"{namespace} is not a host of the lab in {lab_dir}")
    site = plan.site(host.site)
    current = state.moved.get(namespace, host.port)
    links = netns.ip_json(site.namespace, "link", "show")
    used = [n for raw in links if (n := port_number(str(raw["ifname"]))) is not None]
    new = f"p{max(used, default=0) + 1}"
    if any(str(raw["ifname"]) == current for raw in links):
        netns.ip(site.namespace, "link", "del", current)
    netns.batch(site.namespace, netns.cable(new, host.namespace, host.mac, f"{host.name}-{host.kind}", DATA_VLAN))
    netns.batch(
        host.namespace,
        [f"addr add {host.ip}/{host.prefixlen} dev eth0", "link set eth0 up", f"route add default via {host.gateway}"],
    )
    state.moved[namespace] = new
    state.save()
    if not netns.ping(host.namespace, str(host.gateway), wait=2):
        raise LabError(f"{namespace} cannot reach its gateway {host.gateway} after the move to {new}")
    return new
