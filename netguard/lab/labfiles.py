"""The files ``lab up`` writes for NetGuard to use the lab: inventory, netguard.yaml, secrets.

The inventory describes the lab as an administrator would: every institution
with its tier, township, subnet and gateway; every managed switch with its
management address, SNMP credentials as ``secret:`` references and its
``uplinks`` (the uplink and every downlink, including the one to the village
without a managed switch, which has no LLDP to reveal it); the authorised
terminals with their bound IPs, the switches' own MACs on the data centre's
transit network, the scanner (the NetGuard station) and the enforcer probe as
protected assets, and the data centre's EMR server with its SSH service (the
scans check that SSH is not open to anyone but the bastion). Rogues are, of
course, not listed.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import yaml

from netguard.lab.snmpd import SnmpCredentials
from netguard.lab.topology import DATA_VLAN, QUARANTINE_VLAN, TRANSIT_NET, TRANSIT_VLAN, Plan
from netguard.secrets import write_private

COMMUNITY_KEY = "lab-snmp-community"
V3_AUTH_KEY = "lab-snmp-v3-auth"
V3_PRIV_KEY = "lab-snmp-v3-priv"
V3_USER = "netguard"
JOURNAL_KEY = "lab-journal-key"


def new_credentials() -> SnmpCredentials:
    return SnmpCredentials(
        community="ng" + secrets.token_hex(8),
        v3_user=V3_USER,
        v3_auth=secrets.token_hex(12),
        v3_priv=secrets.token_hex(12),
    )


def write_secrets(path: Path, creds: SnmpCredentials) -> None:
    # The journal's HMAC key too: without one, eviction refuses to act (it cannot journal provably).
    table = {
        COMMUNITY_KEY: creds.community,
        V3_AUTH_KEY: creds.v3_auth,
        V3_PRIV_KEY: creds.v3_priv,
        JOURNAL_KEY: secrets.token_hex(32),
    }
    write_private(path, yaml.safe_dump(table, sort_keys=True))


def inventory_document(plan: Plan) -> dict[str, Any]:
    institutions: list[dict[str, Any]] = []
    dc_key = plan.sites[0].key
    for site in plan.sites:
        inst: dict[str, Any] = {
            "id": site.institution,
            "name": site.name,
            "tier": site.tier,
        }
        if site.key == dc_key:
            inst["kind"] = "data-centre"
        if site.tier == "township":
            inst["township"] = site.township
            inst["parent"] = plan.site(dc_key).institution
        if site.tier == "village" and site.parent:
            inst["parent"] = plan.site(site.parent).institution
        subnets: list[Any] = [
            {"network": str(site.subnet), "gateway": str(site.gateway), "vlan": DATA_VLAN, "name": "办公"}
        ]
        if site.key == dc_key:
            subnets.append(
                {
                    "network": str(TRANSIT_NET),
                    "gateway": str(site.transit_ip),
                    "vlan": TRANSIT_VLAN,
                    "name": "交换机互联",
                }
            )
        inst["subnets"] = subnets
        inst["gateway"] = str(site.gateway)
        if site.key == dc_key:
            # Listed by address only (no MAC): an eviction by MAC then refuses it as an authorised device.
            emr = plan.ssh_host
            inst["servers"] = [
                {
                    "id": "lab-emr01",
                    "name": "EMR 服务器",
                    "role": "emr",
                    "address": str(emr.ip),
                    "services": [{"name": "ssh", "port": 22, "protocol": "ssh"}],
                }
            ]
        if site.managed and site.management is not None:
            inst["switches"] = [
                {
                    "id": site.switch_id,
                    "name": f"{site.name}接入交换机",
                    "management": str(site.management),
                    "role": "core" if site.key == dc_key else "access",
                    "uplinks": [p for p in (site.uplink, *site.downlinks) if p],
                }
            ]
        devices = [
            {
                k: v
                for k, v in {
                    "mac": h.mac,
                    "ip": str(h.ip),
                    "owner": h.owner or None,
                    "kind": h.kind,
                    "note": f"lab {h.namespace}",
                }.items()
                if v is not None
            }
            for h in plan.hosts_of(site.key)
            if h.authorised
        ]
        if site.key == dc_key:
            # Every switch (and the unmanaged village's router) talks on the transit VLAN.
            devices.extend(
                {
                    "mac": s.mac,
                    "ip": str(s.transit_ip),
                    "kind": "switch" if s.managed else "other",
                    "note": f"lab {s.namespace} transit",
                }
                for s in plan.sites
            )
            scanner = plan.scanner
            devices.append(
                {
                    "mac": scanner.mac,
                    "ip": str(scanner.ip),
                    "kind": "server",
                    "owner": "NetGuard 扫描站",
                    "note": f"lab {scanner.namespace}",
                }
            )
        if devices:
            inst["devices"] = devices
        institutions.append(inst)
    probes = [h for h in plan.hosts if h.role == "probe"]
    return {
        "version": 1,
        "county": {"name": f"NetGuard 实验县 {plan.name}", "code": f"lab-{plan.name}"},
        "data_centre": plan.site(dc_key).institution,
        "defaults": {
            "snmp": {"version": "2c", "community": f"secret:{COMMUNITY_KEY}"},
            "quarantine_vlan": QUARANTINE_VLAN,
            "tiers": {
                "county": {
                    "snmp": {
                        "version": 3,
                        "user": V3_USER,
                        "auth_protocol": "SHA256",
                        "auth_key": f"secret:{V3_AUTH_KEY}",
                        "priv_protocol": "AES128",
                        "priv_key": f"secret:{V3_PRIV_KEY}",
                    }
                }
            },
        },
        "institutions": institutions,
        "protected": [
            *(
                {"mac": h.mac, "ip": str(h.ip), "reason": "NetGuard 执行探针", "institution": h.institution}
                for h in probes
            ),
            {
                "mac": plan.scanner.mac,
                "ip": str(plan.scanner.ip),
                "reason": "NetGuard 扫描站",
                "institution": plan.site(dc_key).institution,
            },
        ],
    }


def write_inventory(path: Path, plan: Plan) -> None:
    header = (
        f"# The NetGuard lab '{plan.name}', written by `netguard lab up`; `netguard lab down` removes the lab.\n"
        "# Rogue terminals are deliberately absent. Management addresses are loopback (127.77.x.y):\n"
        "# each switch's SNMP agent runs in the root namespace and reads its switch namespace; the same\n"
        f"# addresses reach the agents from the scanner namespace {plan.scanner.namespace} (scans run there).\n"
    )
    body = yaml.safe_dump(inventory_document(plan), allow_unicode=True, sort_keys=False, width=120)
    path.write_text(header + body, encoding="utf-8")


def write_config(path: Path, inventory: Path, secrets_file: Path) -> None:
    doc = {
        "inventory": inventory.name if inventory.parent == path.parent else str(inventory),
        "secrets_file": secrets_file.name if secrets_file.parent == path.parent else str(secrets_file),
        "state": {"path": "state.db", "journal_key": f"secret:{JOURNAL_KEY}"},
        "events": {"backend": "sqlite", "sqlite": {"path": "events.db"}},
    }
    path.write_text(
        "# netguard.yaml for the lab, written by `netguard lab up`\n" + yaml.safe_dump(doc, sort_keys=False),
        encoding="utf-8",
    )
