"""Link checks: is every institution's link to the county up, and how good is it?

One module per job: :mod:`~netguard.links.icmp` pings every gateway from one
process as fping does (:mod:`~netguard.links.icmp_packet` builds and reads the
messages), :mod:`~netguard.links.tcp` connects to the inventory's services,
:mod:`~netguard.links.classify` holds the thresholds per tier and gives the
verdict, :mod:`~netguard.links.check` runs it all on one event loop,
:mod:`~netguard.links.recording` writes the state store and ``link`` events,
:mod:`~netguard.links.history` reads the trend back, :mod:`~netguard.links.settings`
parses the ``links`` section of ``netguard.yaml``, and
:mod:`~netguard.links.records` holds the frozen records they pass around.
"""

from netguard.links.check import CheckSettings, UplinkCollector, check_links
from netguard.links.classify import DEFAULT_THRESHOLDS, ThresholdPolicy, Thresholds, classify
from netguard.links.icmp import IcmpUnavailable, ping
from netguard.links.records import (
    IcmpSettings,
    IcmpStats,
    LinkResult,
    LinkState,
    LinkTarget,
    TcpResult,
    TcpTarget,
    UplinkHealth,
)
from netguard.links.targets import link_target, link_targets
from netguard.links.tcp import connect_many

__all__ = [
    "DEFAULT_THRESHOLDS",
    "CheckSettings",
    "IcmpSettings",
    "IcmpStats",
    "IcmpUnavailable",
    "LinkResult",
    "LinkState",
    "LinkTarget",
    "TcpResult",
    "TcpTarget",
    "ThresholdPolicy",
    "Thresholds",
    "UplinkCollector",
    "UplinkHealth",
    "check_links",
    "classify",
    "connect_many",
    "link_target",
    "link_targets",
    "ping",
]
