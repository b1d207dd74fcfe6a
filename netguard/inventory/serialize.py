"""Records as JSON-ready dicts: the one shape ``--json`` prints and other tools may parse.

Explicit functions rather than ``dataclasses.asdict``: the output is a
contract, so field names and nesting are chosen here, addresses become strings,
and secrets appear only as their references (``secret:snmp-county-auth``,
``plain:********``). Nothing in this module can reach a secret value: it
never resolves a reference.
"""

from __future__ import annotations

from typing import Any

from netguard.inventory.issues import Source
from netguard.inventory.model import (
    BannedDevice,
    Device,
    Institution,
    ProtectedAsset,
    Server,
    SnmpCredentials,
    Subnet,
    Switch,
)
from netguard.secrets import SecretRef


def _ref(ref: SecretRef | None) -> str | None:
    return str(ref) if ref is not None else None


def _where(source: Source | None) -> str | None:
    return f"{source.file}:{source.line}" if source is not None else None


def snmp_dict(snmp: SnmpCredentials) -> dict[str, Any]:
    data: dict[str, Any] = {"version": snmp.version, "port": snmp.port}
    if snmp.version == "2c":
        data["community"] = _ref(snmp.community)
    else:
        data.update(
            user=snmp.user,
            security_level=snmp.security_level,
            auth_protocol=snmp.auth_protocol,
            auth_key=_ref(snmp.auth_key),
            priv_protocol=snmp.priv_protocol,
            priv_key=_ref(snmp.priv_key),
        )
    return data


def subnet_dict(subnet: Subnet) -> dict[str, Any]:
    return {
        "network": str(subnet.network),
        "gateway": str(subnet.gateway) if subnet.gateway else None,
        "vlan": subnet.vlan,
        "name": subnet.name,
    }


def switch_dict(switch: Switch) -> dict[str, Any]:
    return {
        "id": switch.id,
        "institution": switch.institution,
        "name": switch.name,
        "management": str(switch.management),
        "role": switch.role,
        "vendor": switch.vendor,
        "model": switch.model,
        "snmp": snmp_dict(switch.snmp),
        "snmp_from": switch.snmp_from,
        "quarantine_vlan": switch.quarantine_vlan,
        "uplinks": list(switch.uplinks),
        "defined_at": _where(switch.source),
    }


def server_dict(server: Server) -> dict[str, Any]:
    return {
        "id": server.id,
        "institution": server.institution,
        "name": server.name,
        "role": server.role,
        "address": str(server.address),
        "os": server.os,
        "mac": server.mac,
        "services": [
            {
                "name": s.name,
                "address": str(s.address),
                "port": s.port,
                "protocol": s.protocol,
                "transport": s.transport,
            }
            for s in server.services
        ],
        "defined_at": _where(server.source),
    }


def device_dict(device: Device) -> dict[str, Any]:
    return {
        "mac": device.mac,
        "institution": device.institution,
        "ip": str(device.ip) if device.ip is not None else None,
        "kind": device.kind,
        "owner": device.owner,
        "note": device.note,
        "defined_at": _where(device.source),
    }


def protected_dict(asset: ProtectedAsset) -> dict[str, Any]:
    return {
        "mac": asset.mac,
        "ip": str(asset.ip) if asset.ip is not None else None,
        "reason": asset.reason,
        "institution": asset.institution,
        "defined_at": _where(asset.source),
    }


def banned_dict(banned: BannedDevice) -> dict[str, Any]:
    return {"mac": banned.mac, "reason": banned.reason, "defined_at": _where(banned.source)}


def institution_row(inst: Institution) -> dict[str, Any]:
    """The compact form used by ``list``: identity, addressing and counts."""
    return {
        "id": inst.id,
        "name": inst.name,
        "tier": inst.tier.value,
        "kind": inst.kind,
        "township": inst.township,
        "parent": inst.parent,
        "gateway": str(inst.gateway),
        "subnets": [str(s.network) for s in inst.subnets],
        "switches": len(inst.switches),
        "servers": len(inst.servers),
        "devices": len(inst.devices),
    }


def institution_dict(inst: Institution) -> dict[str, Any]:
    """The full form used by ``show ID``."""
    data = institution_row(inst)
    data.update(
        subnets=[subnet_dict(s) for s in inst.subnets],
        switches=[switch_dict(s) for s in inst.switches],
        servers=[server_dict(s) for s in inst.servers],
        devices=[device_dict(d) for d in inst.devices],
        defined_at=_where(inst.source),
    )
    return data
