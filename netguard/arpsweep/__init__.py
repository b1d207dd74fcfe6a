"""ARP sweep: which hosts answer on an Ethernet segment (arp-scan's job, on one raw socket).

A package of its own, apart from :mod:`netguard.discovery`, so that a sweep
imports neither the SNMP stack nor the stores (nor scapy): ``frames`` builds
requests (once; checked against scapy's build in the tests) and reads
replies, ``engine`` plans targets, paces, retries and matches.
:mod:`netguard.discovery.sweep_run` turns results into sightings.
"""

from netguard.arpsweep.engine import (
    ArpReply,
    LocalInterface,
    SweepError,
    SweepOptions,
    SweepPrivilegeError,
    SweepResult,
    local_interface,
    parse_networks,
    plan_targets,
    sweep,
)

__all__ = [
    "ArpReply",
    "LocalInterface",
    "SweepError",
    "SweepOptions",
    "SweepPrivilegeError",
    "SweepResult",
    "local_interface",
    "parse_networks",
    "plan_targets",
    "sweep",
]
