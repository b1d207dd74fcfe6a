"""First pass: the YAML node tree into typed drafts, one record at a time.

This pass checks what can be checked looking at one record: shapes, unknown
and missing keys, addresses, MACs, secret references, tiers and kinds. What
needs the whole county (overlaps, duplicates, parents, inheritance) is
:mod:`netguard.inventory.validate`'s job, which turns the drafts into frozen
records. A record whose own fields are broken is kept as a draft marked
``clean=False`` so that its id still counts (no cascade of "unknown parent"
for a parent that merely has a typo in its subnet), but checks that would only
repeat the first complaint skip it.

The file format is described in docs/inventory.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from netguard.errors import InventoryError
from netguard.inventory.issues import Location, Report, Source
from netguard.inventory.model import (
    DEVICE_KINDS,
    INSTITUTION_KINDS,
    SERVICE_PROTOCOLS,
    SNMP_AUTH_PROTOCOLS,
    SNMP_PRIV_PROTOCOLS,
    SWITCH_ROLES,
    BannedDevice,
    Defaults,
    Device,
    IPAddress,
    ProtectedAsset,
    Server,
    Service,
    Settings,
    SnmpCredentials,
    Subnet,
    Tier,
)
from netguard.inventory.nodes import Fields, Reader, compose, is_null, join
from netguard.textfile import decode_utf8, read_bytes

FORMAT_VERSION = 1
TIERS = tuple(t.value for t in Tier)
DEFAULT_KIND = {Tier.COUNTY: "other", Tier.TOWNSHIP: "township-health-centre", Tier.VILLAGE: "village-clinic"}
_SETTING_KEYS = ("snmp", "quarantine_vlan")


@dataclass
class SwitchDraft:
    id: str | None
    management: IPAddress | None
    role: str
    name: str | None
    vendor: str | None
    model: str | None
    uplinks: tuple[str, ...]
    settings: Settings
    source: Source
    clean: bool


@dataclass
class InstitutionDraft:
    id: str | None
    name: str | None
    tier: Tier | None
    kind: str
    township: str | None
    parent: str | None
    gateway: IPAddress | None
    subnets: list[Subnet]
    settings: Settings
    source: Source
    clean: bool
    subnet_count: int = 0
    switches: list[SwitchDraft] = field(default_factory=list)
    servers: list[Server] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)


@dataclass
class Parsed:
    """Everything read from one file, before cross-record checks."""

    file: str
    county: str | None = None
    county_code: str | None = None
    data_centre: str | None = None
    data_centre_at: Location | None = None
    defaults: Defaults = field(default_factory=Defaults)
    township_defaults_at: dict[str, Location] = field(default_factory=dict)
    institutions: list[InstitutionDraft] = field(default_factory=list)
    protected: list[ProtectedAsset] = field(default_factory=list)
    banned: list[BannedDevice] = field(default_factory=list)
    root: yaml.Node | None = None


def read_text(path: Path) -> str:
    """The file's text; a missing or unreadable file, or bytes that are not UTF-8, are a usage error (exit 2)."""
    return decode_utf8(read_bytes(path, "inventory file", InventoryError), str(path), InventoryError)


def parse(text: str, file: str, report: Report) -> Parsed:
    """Parse inventory text; problems go to ``report``, YAML syntax errors raise InventoryError."""
    parsed = Parsed(file)
    root = compose(text, file)
    parsed.root = root
    r = Reader(file, report)
    if root is None:
        report.error(Location(file, 1, ""), "the inventory is empty")
        return parsed
    top = r.mapping(root, "", ("county", "data_centre", "institutions"), ("version", "defaults", "protected", "banned"))
    if top is None:
        return parsed
    version = r.integer(top, "version", 0, 1_000) if "version" in top else FORMAT_VERSION
    if version is not None and version != FORMAT_VERSION:
        message = f"format version {version} is not supported (this is {FORMAT_VERSION})"
        r.error(top.get("version") or root, "version", message)
    county_node = top.get("county")
    if county_node is not None:
        county = r.mapping(county_node, "county", ("name",), ("code",))
        if county is not None:
            parsed.county = r.text(county, "name")
            parsed.county_code = r.text(county, "code")
    parsed.data_centre = r.text(top, "data_centre")
    parsed.data_centre_at = Location(file, top.line("data_centre"), "data_centre")
    defaults_node = top.get("defaults")
    if defaults_node is not None and not is_null(defaults_node):
        parsed.defaults = _defaults(r, defaults_node, parsed)
    for index, (path, node) in enumerate(r.sequence(top, "institutions")):
        draft = _institution(r, node, path, index)
        if draft is not None:
            parsed.institutions.append(draft)
    for path, node in r.sequence(top, "protected"):
        asset = _protected(r, node, path)
        if asset is not None:
            parsed.protected.append(asset)
    for path, node in r.sequence(top, "banned"):
        banned = _banned(r, node, path)
        if banned is not None:
            parsed.banned.append(banned)
    return parsed


# -- settings and defaults -------------------------------------------------------------


def _settings(r: Reader, f: Fields) -> Settings:
    snmp_node = f.get("snmp")
    snmp = _snmp(r, snmp_node, join(f.path, "snmp")) if snmp_node is not None else None
    vlan = r.integer(f, "quarantine_vlan", 1, 4094)
    return Settings(snmp=snmp, quarantine_vlan=vlan)


def _defaults(r: Reader, node: yaml.Node, parsed: Parsed) -> Defaults:
    f = r.mapping(node, "defaults", (), (*_SETTING_KEYS, "tiers", "townships"))
    if f is None:
        return Defaults()
    tiers: list[tuple[Tier, Settings]] = []
    tiers_node = f.get("tiers")
    tf = r.mapping(tiers_node, "defaults.tiers", (), TIERS) if tiers_node is not None else None
    for name, (_key, value) in (tf.values if tf else {}).items():
        level = r.mapping(value, f"defaults.tiers.{name}", (), _SETTING_KEYS)
        if level is not None:
            tiers.append((Tier(name), _settings(r, level)))
    townships: list[tuple[str, Settings]] = []
    towns_node = f.get("townships")
    # Township names are free text, so any key is allowed; unknown ones are caught in validate.
    wf = r.mapping(towns_node, "defaults.townships", (), any_key=True) if towns_node is not None else None
    for name, (key, value) in (wf.values if wf else {}).items():
        path = f"defaults.townships.{name}"
        parsed.township_defaults_at[name] = r.loc(key, path)
        level = r.mapping(value, path, (), _SETTING_KEYS)
        if level is not None:
            townships.append((name, _settings(r, level)))
    return Defaults(all=_settings(r, f), tiers=tuple(tiers), townships=tuple(townships))


def _protocol(r: Reader, f: Fields, name: str, allowed: tuple[str, ...]) -> str | None:
    value = r.text(f, name)
    if value is None:
        return None
    canonical = value.upper().replace("-", "").replace("_", "")
    if canonical not in allowed:
        node = f.get(name)
        assert node is not None
        r.error(node, join(f.path, name), f"unknown protocol '{value}' (one of: {', '.join(allowed)})")
        return None
    return canonical


def _snmp(r: Reader, node: yaml.Node, path: str) -> SnmpCredentials | None:
    keys = ("community", "user", "auth_protocol", "auth_key", "priv_protocol", "priv_key", "port")
    f = r.mapping(node, path, ("version",), keys)
    if f is None:
        return None
    before = len(r.report.errors)
    raw = r.text(f, "version")
    version = {"2c": "2c", "v2c": "2c", "3": "3", "v3": "3"}.get((raw or "").lower())
    if raw is not None and version is None:
        r.error(f.get("version") or node, join(path, "version"), f"unknown SNMP version '{raw}' (2c or 3)")
    port = r.integer(f, "port", 1, 65535)
    community, user = r.ref(f, "community"), r.text(f, "user")
    auth_p, auth_k = _protocol(r, f, "auth_protocol", SNMP_AUTH_PROTOCOLS), r.ref(f, "auth_key")
    priv_p, priv_k = _protocol(r, f, "priv_protocol", SNMP_PRIV_PROTOCOLS), r.ref(f, "priv_key")
    if version == "2c":
        if "community" not in f:
            r.error(node, path, "missing required field 'community' for SNMP v2c")
        for name in ("user", "auth_protocol", "auth_key", "priv_protocol", "priv_key"):
            if name in f:
                r.error(f.get(name) or node, join(path, name), "only SNMP v3 takes this field")
    elif version == "3":
        if "user" not in f:
            r.error(node, path, "missing required field 'user' for SNMP v3")
        if "community" in f:
            r.error(f.get("community") or node, join(path, "community"), "SNMP v3 has no community; use user and keys")
        for proto, key in (("auth_protocol", "auth_key"), ("priv_protocol", "priv_key")):
            if (proto in f) != (key in f):
                missing = key if proto in f else proto
                r.error(node, path, f"'{proto}' and '{key}' go together: missing '{missing}'")
        if "priv_protocol" in f and "auth_protocol" not in f:
            r.error(node, path, "privacy (priv_protocol) needs authentication (auth_protocol) too")
    if len(r.report.errors) != before or version is None:
        return None
    return SnmpCredentials(version, community, user, auth_p, auth_k, priv_p, priv_k, port or 161)


# -- institutions and what they contain ------------------------------------------------

_INSTITUTION_KEYS = (
    "kind",
    "township",
    "parent",
    *_SETTING_KEYS,
    "switches",
    "servers",
    "devices",
)


def _institution(r: Reader, node: yaml.Node, path: str, index: int) -> InstitutionDraft | None:
    f = r.mapping(node, path, ("id", "name", "tier", "gateway", "subnets"), _INSTITUTION_KEYS)
    if f is None:
        return None
    before = len(r.report.errors)
    inst_id = r.text(f, "id")
    tier_text = r.choice(f, "tier", TIERS, "tier")
    tier = Tier(tier_text) if tier_text else None
    kind = r.choice(f, "kind", INSTITUTION_KINDS, "institution kind") if "kind" in f else None
    subnet_nodes = list(r.sequence(f, "subnets"))
    subnets = [s for p, n in subnet_nodes if (s := _subnet(r, n, p)) is not None]
    subnets_node = f.get("subnets")
    if (
        subnets_node is not None
        and not subnet_nodes
        and (is_null(subnets_node) or isinstance(subnets_node, yaml.SequenceNode))
    ):
        r.error(subnets_node, join(path, "subnets"), "an institution needs at least one subnet")
    draft = InstitutionDraft(
        id=inst_id,
        name=r.text(f, "name"),
        tier=tier,
        kind=kind or (DEFAULT_KIND[tier] if tier else "other"),
        township=r.text(f, "township"),
        parent=r.text(f, "parent"),
        gateway=r.ip(f, "gateway"),
        subnets=subnets,
        settings=_settings(r, f),
        source=f.source(r.file),
        clean=True,
        subnet_count=len(subnet_nodes),
    )
    owner = inst_id or f"#{index}"
    draft.switches = [sw for p, n in r.sequence(f, "switches") if (sw := _switch(r, n, p)) is not None]
    draft.servers = [sv for p, n in r.sequence(f, "servers") if (sv := _server(r, n, p, owner)) is not None]
    draft.devices = [dv for p, n in r.sequence(f, "devices") if (dv := _device(r, n, p, owner)) is not None]
    draft.clean = len(r.report.errors) == before
    return draft


def _subnet(r: Reader, node: yaml.Node, path: str) -> Subnet | None:
    if isinstance(node, yaml.ScalarNode):
        network = r.node_network(node, path)
        source = Source(r.file, node.start_mark.line + 1, path, (("network", node.start_mark.line + 1),))
        return Subnet(network, source=source) if network is not None else None
    f = r.mapping(node, path, ("network",), ("gateway", "vlan", "name"))
    if f is None:
        return None
    network_node = f.get("network")
    network = r.node_network(network_node, join(path, "network")) if network_node is not None else None
    gateway, vlan, name = r.ip(f, "gateway"), r.integer(f, "vlan", 1, 4094), r.text(f, "name")
    if network is None:
        return None
    return Subnet(network, gateway, vlan, name, source=f.source(r.file))


def _switch(r: Reader, node: yaml.Node, path: str) -> SwitchDraft | None:
    optional = ("name", "role", "vendor", "model", "uplinks", *_SETTING_KEYS)
    f = r.mapping(node, path, ("id", "management"), optional)
    if f is None:
        return None
    before = len(r.report.errors)
    role = r.choice(f, "role", SWITCH_ROLES, "switch role") if "role" in f else "access"
    vendor = r.text(f, "vendor")
    return SwitchDraft(
        id=r.text(f, "id"),
        management=r.ip(f, "management"),
        role=role or "access",
        name=r.text(f, "name"),
        vendor=vendor.lower() if vendor else None,
        model=r.text(f, "model"),
        uplinks=tuple(text for _p, _n, text in r.scalar_items(f, "uplinks")),
        settings=_settings(r, f),
        source=f.source(r.file),
        clean=len(r.report.errors) == before,
    )


def _server(r: Reader, node: yaml.Node, path: str, owner: str) -> Server | None:
    f = r.mapping(node, path, ("id", "address"), ("name", "role", "os", "mac", "services"))
    if f is None:
        return None
    before = len(r.report.errors)
    server_id, address = r.text(f, "id"), r.ip(f, "address")
    name, role, os_name, mac = r.text(f, "name"), r.text(f, "role"), r.text(f, "os"), r.mac(f, "mac")
    services = [s for p, n in r.sequence(f, "services") if (s := _service(r, n, p, address)) is not None]
    if len(r.report.errors) != before or server_id is None or address is None:
        return None
    return Server(server_id, owner, address, name, role, os_name, mac, tuple(services), source=f.source(r.file))


def _service(r: Reader, node: yaml.Node, path: str, server_address: IPAddress | None) -> Service | None:
    f = r.mapping(node, path, ("name", "port"), ("protocol", "address"))
    if f is None:
        return None
    name, port = r.text(f, "name"), r.integer(f, "port", 1, 65535)
    protocol = r.choice(f, "protocol", SERVICE_PROTOCOLS, "protocol") if "protocol" in f else "tcp"
    address = r.ip(f, "address") if "address" in f else server_address
    if name is None or port is None or protocol is None or address is None:
        return None
    return Service(name, address, port, protocol)


def _device(r: Reader, node: yaml.Node, path: str, owner: str) -> Device | None:
    f = r.mapping(node, path, ("mac",), ("ip", "owner", "kind", "note"))
    if f is None:
        return None
    mac, ip = r.mac(f, "mac"), r.ip(f, "ip")
    kind = r.choice(f, "kind", DEVICE_KINDS, "device kind") if "kind" in f else "other"
    if mac is None or kind is None or ("ip" in f and ip is None):
        return None
    return Device(mac, owner, kind, ip, r.text(f, "owner"), r.text(f, "note"), source=f.source(r.file))


def _protected(r: Reader, node: yaml.Node, path: str) -> ProtectedAsset | None:
    f = r.mapping(node, path, (), ("mac", "ip", "reason", "institution"))
    if f is None:
        return None
    if "mac" not in f and "ip" not in f:
        r.error(node, path, "a protected asset needs a 'mac' or an 'ip' (or both)")
        return None
    before = len(r.report.errors)
    mac, ip = r.mac(f, "mac"), r.ip(f, "ip")
    reason, institution = r.text(f, "reason"), r.text(f, "institution")
    if len(r.report.errors) != before:
        return None
    return ProtectedAsset(mac, ip, reason, institution, source=f.source(r.file))


def _banned(r: Reader, node: yaml.Node, path: str) -> BannedDevice | None:
    f = r.mapping(node, path, ("mac",), ("reason",))
    if f is None:
        return None
    mac = r.mac(f, "mac")
    if mac is None:
        return None
    return BannedDevice(mac, r.text(f, "reason"), source=f.source(r.file))
