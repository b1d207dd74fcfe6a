"""The inventory's records: frozen, typed, and already validated.

Every record here is built by :mod:`netguard.inventory.parse` only after its
fields parsed, and an :class:`~netguard.inventory.Inventory` is handed out only
when the whole file validated; code that receives a record can trust it (a MAC
is normalized, a gateway lies in a subnet, a switch has SNMP credentials).

Why these types:

* IP addresses and networks are the standard library's :mod:`ipaddress`
  objects: immutable, hashable and typed, which suits frozen dataclasses and
  strict mypy (netaddr's ``IPNetwork`` is mutable and untyped). netaddr does
  what only it does well: parsing the many MAC spellings and OUI vendor lookup.
* MACs are plain strings in one canonical spelling, ``aa:bb:cc:dd:ee:ff``, so
  they compare, hash and serialize without ceremony; :func:`normalize_mac`
  produces it.
* Secrets are :class:`~netguard.secrets.SecretRef` references, never values.
  ``SnmpCredentials.__repr__`` prints references only, because the dataclass
  ``repr`` of a ``plain:`` reference would show the inline value.
* Each record carries a :class:`~netguard.inventory.issues.Source` (file,
  line, field path) that takes no part in equality, so any later tool can say
  *where* a switch or device is defined.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum

import netaddr

from netguard.inventory.issues import Source
from netguard.secrets import SecretRef

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Tier(StrEnum):
    """The three tiers of the county network."""

    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"


INSTITUTION_KINDS = frozenset(
    {
        "hospital",
        "tcm-hospital",
        "maternal-child",
        "cdc",
        "health-bureau",
        "data-centre",
        "private-hospital",
        "psychiatric-hospital",
        "community-health-centre",
        "township-health-centre",
        "village-clinic",
        "private-clinic",
        "other",
    }
)
DEVICE_KINDS = frozenset({"pc", "printer", "medical-device", "phone", "camera", "server", "switch", "ap", "other"})
SWITCH_ROLES = frozenset({"core", "distribution", "access"})

# Application protocol -> transport. The protocol says what a link check or the
# bastion should speak; the transport is derived so nobody has to write both.
SERVICE_PROTOCOLS: dict[str, str] = {
    "ssh": "tcp",
    "telnet": "tcp",
    "rdp": "tcp",
    "vnc": "tcp",
    "http": "tcp",
    "https": "tcp",
    "mysql": "tcp",
    "postgresql": "tcp",
    "oracle": "tcp",
    "sqlserver": "tcp",
    "redis": "tcp",
    "dicom": "tcp",
    "hl7": "tcp",
    "smb": "tcp",
    "ldap": "tcp",
    "ldaps": "tcp",
    "tcp": "tcp",
    "snmp": "udp",
    "dns": "udp",
    "ntp": "udp",
    "syslog": "udp",
    "udp": "udp",
}

SNMP_VERSIONS = ("2c", "3")
SNMP_AUTH_PROTOCOLS = ("MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512")
SNMP_PRIV_PROTOCOLS = ("DES", "3DES", "AES", "AES128", "AES192", "AES256")


def mac_vendor(mac: str) -> str | None:
    """The OUI registrant of a MAC (netaddr's IEEE table), or None when unknown."""
    try:
        org = netaddr.EUI(mac).oui.registration().org
    except (netaddr.NotRegisteredError, netaddr.AddrFormatError, ValueError, TypeError):
        return None
    return str(org).strip() or None


@dataclass(frozen=True, repr=False)
class SnmpCredentials:
    """How to reach a switch's SNMP agent: v2c community or a v3 USM user.

    Keys and communities are references; :class:`netguard.secrets.SecretResolver`
    turns them into values at the point of use.
    """

    version: str
    community: SecretRef | None = None
    user: str | None = None
    auth_protocol: str | None = None
    auth_key: SecretRef | None = None
    priv_protocol: str | None = None
    priv_key: SecretRef | None = None
    port: int = 161

    @property
    def security_level(self) -> str:
        """``noAuthNoPriv`` / ``authNoPriv`` / ``authPriv`` for v3; empty for v2c."""
        if self.version != "3":
            return ""
        if self.priv_protocol:
            return "authPriv"
        if self.auth_protocol:
            return "authNoPriv"
        return "noAuthNoPriv"

    def refs(self) -> tuple[SecretRef, ...]:
        return tuple(r for r in (self.community, self.auth_key, self.priv_key) if r is not None)

    def describe(self) -> str:
        """One line for tables: version and references, never values."""
        if self.version == "2c":
            return f"v2c {self.community}"
        parts = [f"v3 {self.user} {self.security_level}"]
        if self.auth_protocol:
            parts.append(f"{self.auth_protocol} {self.auth_key}")
        if self.priv_protocol:
            parts.append(f"{self.priv_protocol} {self.priv_key}")
        return ", ".join(parts)

    def __repr__(self) -> str:
        return f"SnmpCredentials({self.describe()}, port={self.port})"


@dataclass(frozen=True)
class Subnet:
    """One network of an institution, optionally with its own gateway and VLAN."""

    network: IPNetwork
    gateway: IPAddress | None = None
    vlan: int | None = None
    name: str | None = None
    source: Source | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Switch:
    """A managed switch; ``snmp`` and ``quarantine_vlan`` are the effective
    (inherited) settings, ``snmp_from`` says which level supplied them."""

    id: str
    institution: str
    management: IPAddress
    snmp: SnmpCredentials
    snmp_from: str
    role: str = "access"
    name: str | None = None
    vendor: str | None = None
    model: str | None = None
    quarantine_vlan: int | None = None
    uplinks: tuple[str, ...] = ()
    source: Source | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Service:
    """A service a server offers, for link checks and bastion targets."""

    name: str
    address: IPAddress
    port: int
    protocol: str = "tcp"

    @property
    def transport(self) -> str:
        return SERVICE_PROTOCOLS.get(self.protocol, "tcp")


@dataclass(frozen=True)
class Server:
    id: str
    institution: str
    address: IPAddress
    name: str | None = None
    role: str | None = None
    os: str | None = None
    mac: str | None = None
    services: tuple[Service, ...] = ()
    source: Source | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Device:
    """An authorised terminal: its MAC, and the IP it is bound to if any."""

    mac: str
    institution: str
    kind: str = "other"
    ip: IPAddress | None = None
    owner: str | None = None
    note: str | None = None
    source: Source | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ProtectedAsset:
    """A MAC and/or IP that enforcement must never evict."""

    mac: str | None = None
    ip: IPAddress | None = None
    reason: str | None = None
    institution: str | None = None
    source: Source | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class BannedDevice:
    """A MAC that is denied everywhere: discovery reports it as ``denied`` wherever it is seen."""

    mac: str
    reason: str | None = None
    source: Source | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Institution:
    id: str
    name: str
    tier: Tier
    kind: str
    gateway: IPAddress
    subnets: tuple[Subnet, ...]
    township: str | None = None
    parent: str | None = None
    switches: tuple[Switch, ...] = ()
    servers: tuple[Server, ...] = ()
    devices: tuple[Device, ...] = ()
    source: Source | None = field(default=None, compare=False, repr=False)

    @property
    def networks(self) -> tuple[IPNetwork, ...]:
        return tuple(s.network for s in self.subnets)

    def contains(self, ip: IPAddress) -> bool:
        return any(ip in s.network for s in self.subnets)


@dataclass(frozen=True)
class Settings:
    """Inheritable switch settings at one level (defaults, tier, township, institution, switch)."""

    snmp: SnmpCredentials | None = None
    quarantine_vlan: int | None = None


@dataclass(frozen=True)
class Defaults:
    """nornir-style defaults: the most specific level that sets a value wins
    (switch > institution > township > tier > all)."""

    all: Settings = Settings()
    tiers: tuple[tuple[Tier, Settings], ...] = ()
    townships: tuple[tuple[str, Settings], ...] = ()

    def for_tier(self, tier: Tier) -> Settings:
        return dict(self.tiers).get(tier, Settings())

    def for_township(self, township: str | None) -> Settings:
        if township is None:
            return Settings()
        return dict(self.townships).get(township, Settings())
