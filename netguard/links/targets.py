"""What to probe for each institution, read from the inventory.

An institution's link is checked at its gateway: the inventory has no separate
link address, and the gateway is the far end of the institution's uplink as
seen from the county (the address a link check in Zabbix or SmokePing would
be given). Its servers' services are the TCP targets. A service whose protocol
runs over UDP (NTP, syslog, SNMP) cannot be judged by a connect and is listed
as not checked, except DNS: every DNS server must also answer over TCP
(RFC 7766), so a connect to port 53 is meaningful. SSH on a server that is not
the bastion is not checked either: it must answer the bastion only (等保
8.1.4.4 c, control DJ-SSH-BASTION-ONLY), so from the NetGuard station a
refused or silent port 22 is the healthy state, not a link fault.
"""

from __future__ import annotations

from collections.abc import Iterable

from netguard.inventory.model import Institution
from netguard.links.records import LinkTarget, TcpTarget

_TCP_ALSO = frozenset({"dns"})
BASTION_ROLE = "bastion"


def link_target(institution: Institution) -> LinkTarget:
    services: list[TcpTarget] = []
    skipped: list[str] = []
    for server in institution.servers:
        for service in server.services:
            if service.protocol == "ssh" and server.role != BASTION_ROLE:
                skipped.append(f"{server.id}/{service.name} tcp/{service.port} (ssh: bastion only)")
            elif service.transport == "tcp" or service.protocol in _TCP_ALSO:
                services.append(TcpTarget(institution.id, server.id, service.name, service.address, service.port))
            else:
                skipped.append(f"{server.id}/{service.name} {service.transport}/{service.port}")
    return LinkTarget(
        institution=institution.id,
        name=institution.name,
        tier=institution.tier,
        township=institution.township,
        address=institution.gateway,
        services=tuple(services),
        skipped_services=tuple(skipped),
    )


def link_targets(institutions: Iterable[Institution]) -> list[LinkTarget]:
    return [link_target(i) for i in institutions]
