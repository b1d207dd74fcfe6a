"""Discovery: switch tables over SNMP turned into typed records (ARP sweeps arrive later)."""

from netguard.discovery.records import (
    ArpEntry,
    FdbEntry,
    Interface,
    LldpNeighbour,
    PortMacCount,
    Skip,
    SwitchReport,
    SystemInfo,
    TableProblem,
    Uplink,
)
from netguard.discovery.switch import SwitchJob, walk_switch, walk_switches

__all__ = [
    "ArpEntry",
    "FdbEntry",
    "Interface",
    "LldpNeighbour",
    "PortMacCount",
    "Skip",
    "SwitchJob",
    "SwitchReport",
    "SystemInfo",
    "TableProblem",
    "Uplink",
    "walk_switch",
    "walk_switches",
]
