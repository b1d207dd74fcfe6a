"""The lab county as data: which sites, switches, ports and hosts ``lab up`` builds.

Nothing here touches the system; :func:`plan_county` is a pure function of the
lab's name and size, so the plan can be tested, written into the inventory and
recorded in the lab's state file, and ``build`` only has to carry it out.

The plan (``N`` townships, ``M`` village clinics each):

- a data centre ``dc`` (county tier), every township health centre ``tK`` and
  every village clinic ``tKvJ`` is a *site*: one network namespace acting as the
  institution's access switch and gateway. Inside it one Linux bridge per VLAN
  (this kernel has no VLAN filtering): ``br10`` the data VLAN holding the
  gateway address, ``br999`` the quarantine VLAN with no address (nothing is
  routed there), and ``br1`` the transit/management VLAN that joins the site to
  its parent over a veth pair (``uplink`` on the child, a downlink port on the
  parent). All ``br1`` bridges form one layer-2 segment 10.255.0.0/16 owned by
  the data centre, so a parent's downlink port learns the child switch's MAC,
  as Netdisco expects of an uplink.
- switch ports are veths named ``pN``; ``N`` is also the BRIDGE-MIB base port.
  Host ports come first, then the uplink, then the downlinks.
- the last village of the last township has *no managed switch*: its site is
  a plain bridge with the gateway on it (for ARP isolation), no SNMP agent, and
  a ``probe`` namespace on the segment from which an enforcer can act.
- terminals are namespaces with one ``eth0``: authorised ones (listed in the
  inventory with their bound IP), rogues (not listed); township 1 has a
  medical device (a Mindray OUI) and a rogue with a randomised, locally
  administered MAC.
- the *scanner* is the county's NetGuard station: a namespace on the data
  centre's transit (management) VLAN, cabled to ``br1`` through ``mgmt0``
  (not a ``pN`` switch port, so no forwarding-table row names it), with a route
  to every lab subnet via the data centre. Compliance scans and link checks
  run there: it is not the bastion, and it reaches both the hosts and (through
  the lab's relay) the switches' agents.
- what a real county gets wrong, planted for the scans to find: one switch
  (the first managed village's, else township 1's) that also answers the
  ``public`` community, and SSH open to anyone on the data centre's EMR server.
"""

from __future__ import annotations

import ipaddress
import re
import zlib
from dataclasses import dataclass, replace

DATA_VLAN = 10
QUARANTINE_VLAN = 999
TRANSIT_VLAN = 1
TRANSIT_NET = ipaddress.IPv4Network("10.255.0.0/16")
MAX_TOWNSHIPS = 20
MAX_VILLAGES = 20
NAME_RE = re.compile(r"[a-z][a-z0-9]{0,11}")

# Real OUIs, so that vendor lookups in discovery have something to say.
OUI_PC = ("f8:bc:12", "18:66:da", "d4:be:d9", "3c:52:82")  # Dell, Dell, Dell, HP
OUI_SERVER = "00:25:90"  # Supermicro
OUI_MEDICAL = "00:0f:14"  # Mindray
OUI_ROGUE = "50:c7:bf"  # TP-Link
OUI_SWITCH = "00:e0:fc"  # Huawei
SCANNER_IP = ipaddress.IPv4Address("10.255.255.254")
SCANNER_PORT = "mgmt0"  # its cable on the data centre's transit bridge: not a pN switch port
SSH_HOST = "h2"  # the data centre's EMR server: its sshd takes connections from anyone (planted)


@dataclass(frozen=True)
class Host:
    """A terminal: one namespace with ``eth0`` cabled to ``port`` of its site."""

    namespace: str
    name: str
    site: str
    institution: str
    ip: ipaddress.IPv4Address
    prefixlen: int
    mac: str
    gateway: ipaddress.IPv4Address
    port: str
    role: str  # authorised | rogue | probe
    kind: str  # inventory device kind (pc, server, medical-device, other)
    owner: str = ""

    @property
    def authorised(self) -> bool:
        return self.role in ("authorised", "probe")


@dataclass(frozen=True)
class Link:
    """A switch-to-switch cable: ``child_port`` on the child site, ``parent_port`` on the parent."""

    child: str
    child_port: str
    parent: str
    parent_port: str


@dataclass(frozen=True)
class Site:
    """One institution's switch-and-gateway namespace."""

    key: str  # dc, t1, t1v2
    namespace: str
    institution: str  # inventory id
    name: str  # institution name
    tier: str
    township: str | None
    parent: str | None  # parent site key
    subnet: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address
    transit_ip: ipaddress.IPv4Address
    mac: str  # the switch's base MAC: every bridge of the site uses it
    managed: bool
    management: ipaddress.IPv4Address | None  # where its SNMP agent listens (root namespace, loopback)
    snmp_version: str  # 2c | 3
    ports: tuple[str, ...] = ()  # every pN, in order
    uplink: str | None = None
    downlinks: tuple[str, ...] = ()
    default_community: bool = False  # planted: the agent also answers `public`

    @property
    def switch_id(self) -> str:
        return f"{self.institution}-acc1"


@dataclass(frozen=True)
class Scanner:
    """The NetGuard station: where scans and link checks run, on the data centre's transit VLAN."""

    namespace: str
    ip: ipaddress.IPv4Address
    mac: str
    port: str  # its cable's name in the data centre's namespace


@dataclass(frozen=True)
class Plan:
    name: str
    prefix: str  # every namespace name starts with it
    sites: tuple[Site, ...]
    hosts: tuple[Host, ...]
    links: tuple[Link, ...]
    mgmt_block: ipaddress.IPv4Network

    @property
    def scanner(self) -> Scanner:
        return Scanner(self.prefix + "scan", SCANNER_IP, _mac(OUI_SERVER, 0x5C, 0xA0, 0x01), SCANNER_PORT)

    @property
    def ssh_host(self) -> Host:
        """The data centre server whose SSH is open to anyone (the planted exposure)."""
        return next(h for h in self.hosts if h.site == self.sites[0].key and h.name == SSH_HOST)

    def site(self, key: str) -> Site:
        for site in self.sites:
            if site.key == key:
                return site
        raise KeyError(key)

    def hosts_of(self, key: str) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if h.site == key)

    @property
    def namespaces(self) -> tuple[str, ...]:
        sites = tuple(s.namespace for s in self.sites)
        return sites + tuple(h.namespace for h in self.hosts) + (self.scanner.namespace,)


def check_name(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise ValueError(f"lab name '{name}' must be 1-12 lower-case letters and digits, starting with a letter")
    return name


def default_mgmt_block(name: str) -> ipaddress.IPv4Network:
    """A loopback /24 for the agents, chosen from the name so that two labs rarely collide."""
    return ipaddress.IPv4Network(f"127.77.{zlib.crc32(name.encode()) % 250 + 1}.0/24")


def _mac(oui: str, *tail: int) -> str:
    return oui + "".join(f":{b & 0xFF:02x}" for b in tail)


def plan_county(name: str, townships: int, villages: int, mgmt_block: ipaddress.IPv4Network | None = None) -> Plan:
    """The lab for ``townships`` × ``villages``; the last village clinic has no managed switch."""
    check_name(name)
    if not 1 <= townships <= MAX_TOWNSHIPS:
        raise ValueError(f"--townships must be between 1 and {MAX_TOWNSHIPS}, not {townships}")
    if not 1 <= villages <= MAX_VILLAGES:
        raise ValueError(f"--villages must be between 1 and {MAX_VILLAGES}, not {villages}")
    block = mgmt_block or default_mgmt_block(name)
    prefix = f"ng-{name}-"
    keys: list[tuple[str, str | None, str, str | None]] = [("dc", None, "county", None)]
    for t in range(1, townships + 1):
        keys.append((f"t{t}", "dc", "township", f"乡镇{t}"))
        keys.extend((f"t{t}v{v}", f"t{t}", "village", f"乡镇{t}") for v in range(1, villages + 1))
    unmanaged = f"t{townships}v{villages}"

    hosts: list[Host] = []
    sites: list[Site] = []
    agent_no = 0
    for index, (key, parent, tier, township) in enumerate(keys):
        if key == "dc":
            subnet = ipaddress.IPv4Network("10.0.0.0/24")
            inst, inst_name = "lab-dc", "实验县卫生健康数据中心"
        elif tier == "township":
            t = int(key[1:])
            subnet = ipaddress.IPv4Network(f"10.{10 + t}.0.0/24")
            inst, inst_name = f"lab-thc{t}", f"实验县乡镇{t}卫生院"
        else:
            t, v = (int(x) for x in key[1:].split("v"))
            subnet = ipaddress.IPv4Network(f"10.{10 + t}.{10 + v}.0/24")
            inst, inst_name = f"lab-vc{t}-{v}", f"实验县乡镇{t}村{v}卫生室"
        managed = key != unmanaged
        management = None
        if managed:
            agent_no += 1
            management = block.network_address + agent_no
        gateway = subnet.network_address + 1
        site_hosts = _hosts_for(prefix, key, inst, subnet, gateway, index, unmanaged)
        hosts.extend(site_hosts)
        sites.append(
            Site(
                key=key,
                namespace=prefix + key,
                institution=inst,
                name=inst_name,
                tier=tier,
                township=township,
                parent=parent,
                subnet=subnet,
                gateway=gateway,
                transit_ip=TRANSIT_NET.network_address + 1 + index,
                mac=_mac(OUI_SWITCH, 0x1A, index >> 8, index),
                managed=managed,
                management=management,
                snmp_version="3" if key == "dc" else "2c",
            )
        )

    # Ports: hosts first, then the uplink, then one downlink per child site.
    links: list[Link] = []
    next_port = {s.key: len([h for h in hosts if h.site == s.key]) + 1 for s in sites}
    host_ports = {s.key: tuple(h.port for h in hosts if h.site == s.key) for s in sites}
    uplinks: dict[str, str] = {}
    downlinks: dict[str, list[str]] = {s.key: [] for s in sites}
    for site in sites:
        if site.parent is not None:
            uplinks[site.key] = f"p{next_port[site.key]}"
            next_port[site.key] += 1
    for site in sites:
        if site.parent is not None:
            port = f"p{next_port[site.parent]}"
            next_port[site.parent] += 1
            downlinks[site.parent].append(port)
            links.append(Link(site.key, uplinks[site.key], site.parent, port))
    planted = next((s.key for s in sites if s.tier == "village" and s.managed), None) or "t1"
    final = []
    for site in sites:
        up = (uplinks[site.key],) if site.key in uplinks else ()
        ports = host_ports[site.key] + up + tuple(downlinks[site.key])
        final.append(
            replace(
                site,
                ports=ports,
                uplink=uplinks.get(site.key),
                downlinks=tuple(downlinks[site.key]),
                default_community=site.key == planted,
            )
        )
    return Plan(name=name, prefix=prefix, sites=tuple(final), hosts=tuple(hosts), links=tuple(links), mgmt_block=block)


def _hosts_for(
    prefix: str,
    key: str,
    inst: str,
    subnet: ipaddress.IPv4Network,
    gateway: ipaddress.IPv4Address,
    index: int,
    unmanaged: str,
) -> list[Host]:
    """The terminals of one site: (name, role, kind, mac, host number in the subnet, owner)."""
    base = subnet.network_address
    hi, lo = index >> 8, index & 0xFF  # up to 421 sites: two octets keep every MAC distinct
    specs: list[tuple[str, str, str, str, int, str]] = []
    if key == "dc":
        specs = [
            ("h1", "authorised", "server", _mac(OUI_SERVER, 0xD0 + hi, lo, 1), 10, "HIS 应用服务器"),
            ("h2", "authorised", "server", _mac(OUI_SERVER, 0xD0 + hi, lo, 2), 11, "EMR 服务器"),
        ]
    else:
        pc_oui = OUI_PC[index % len(OUI_PC)]
        specs.append(("h1", "authorised", "pc", _mac(pc_oui, 0xC0 + hi, lo, 1), 10, "门诊"))
        if key == "t1":
            specs.append(("h2", "authorised", "medical-device", _mac(OUI_MEDICAL, 0x3E + hi, lo, 2), 40, "检验科"))
            # Locally administered (bit 1 of the first octet): a phone's randomised Wi-Fi MAC.
            specs.append(("h3", "rogue", "pc", _mac("da:7e:11", 0xA0 + hi, lo, 3), 66, ""))
        else:
            specs.append(("h2", "rogue", "pc", _mac(OUI_ROGUE, 0xBA + hi, lo, 2), 66, ""))
        if key == unmanaged:
            specs.append(("probe", "probe", "server", _mac(OUI_SERVER, 0xEE + hi, lo, 9), 250, "NetGuard enforcer"))
    hosts = []
    for port_no, (name, role, kind, mac, host_no, owner) in enumerate(specs, start=1):
        hosts.append(
            Host(
                namespace=f"{prefix}{key}-{name}",
                name=name,
                site=key,
                institution=inst,
                ip=base + host_no,
                prefixlen=subnet.prefixlen,
                mac=mac,
                gateway=gateway,
                port=f"p{port_no}",
                role=role,
                kind=kind,
                owner=owner,
            )
        )
    return hosts
