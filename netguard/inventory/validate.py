"""Second pass: checks across the whole county, inheritance, and the frozen Inventory.

Every check is linear or ``n log n`` in the size of the county, so the 440
institutions and thousands of devices of a real county validate in a fraction
of a second:

* duplicates (institution, switch and server ids, authorised MACs, bound IPs,
  switch management addresses) use one dict each, first occurrence wins and
  the later one is reported with a pointer back to the first;
* overlapping subnets: all networks sorted by first address, then one sweep
  that remembers the range reaching furthest so far. A network starting before
  that end overlaps it. Pairwise comparison would be 10^5-10^6 tests; the
  sweep is one sort.

Inheritance (nornir-style): a village clinic without ``township`` takes its
parent's; a switch's SNMP credentials and quarantine VLAN come from the most
specific level that sets them (switch > institution > township defaults > tier
defaults > county defaults), and ``Switch.snmp_from`` says which.

Records are built only when no error was found, so an :class:`Inventory` is
always whole and valid.
"""

from __future__ import annotations

import difflib
from collections.abc import Hashable, Iterable
from pathlib import Path
from typing import TypeVar

from netguard.inventory.inventory import Inventory
from netguard.inventory.issues import Location, Report
from netguard.inventory.model import Institution, IPAddress, Subnet, Switch, Tier
from netguard.inventory.parse import InstitutionDraft, Parsed, SwitchDraft

K = TypeVar("K", bound=Hashable)


def check(parsed: Parsed, report: Report, file: Path | None = None) -> Inventory | None:
    """Run every cross-record check; return the Inventory if there is no error."""
    drafts = _unique_institutions(parsed, report)
    _check_data_centre(parsed, drafts, report)
    townships = _check_parents(parsed.institutions, drafts, report)
    _check_addressing(parsed.institutions, report)
    _check_overlaps(parsed.institutions, report)
    _check_unique_members(parsed.institutions, report)
    _check_protected(parsed, drafts, report)
    _check_banned(parsed, report)
    _check_township_defaults(parsed, set(townships.values()), report)
    switches: dict[int, Switch] = {}
    for d in parsed.institutions:
        for s in d.switches:
            resolved = _resolve(parsed, d, s, townships, report)
            if resolved is not None:
                switches[id(s)] = resolved
    report.sort()
    if not report.ok or parsed.county is None or parsed.data_centre is None:
        return None
    institutions = [_freeze(d, townships, switches) for d in parsed.institutions]
    return Inventory(
        institutions,
        county=parsed.county,
        county_code=parsed.county_code,
        data_centre=parsed.data_centre,
        defaults=parsed.defaults,
        protected=parsed.protected,
        banned=parsed.banned,
        file=file,
        warnings=report.warnings,
    )


def _suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.7)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _unique_institutions(parsed: Parsed, report: Report) -> dict[str, InstitutionDraft]:
    seen: dict[str, InstitutionDraft] = {}
    for d in parsed.institutions:
        if d.id is None:
            continue
        if d.id in seen:
            report.error(d.source.at("id"), f"duplicate institution id '{d.id}'", [seen[d.id].source.at("id")])
        else:
            seen[d.id] = d
    return seen


def _check_data_centre(parsed: Parsed, drafts: dict[str, InstitutionDraft], report: Report) -> None:
    dc, where = parsed.data_centre, parsed.data_centre_at
    if dc is None or where is None:
        return
    target = drafts.get(dc)
    if target is None:
        report.error(where, f"unknown institution '{dc}'{_suggest(dc, drafts)}")
    elif target.tier is not None and target.tier is not Tier.COUNTY:
        report.error(where, f"the data centre '{dc}' must be a county-tier institution, not {target.tier}")


def _check_parents(
    institutions: list[InstitutionDraft], drafts: dict[str, InstitutionDraft], report: Report
) -> dict[str, str]:
    """Check parents and tiers; return the effective township of each institution id."""
    expected = {Tier.VILLAGE: Tier.TOWNSHIP, Tier.TOWNSHIP: Tier.COUNTY, Tier.COUNTY: Tier.COUNTY}
    townships: dict[str, str] = {}
    for d in institutions:
        if d.id is None or d.tier is None:
            continue
        if d.tier is Tier.TOWNSHIP and d.township is None:
            report.error(d.source.location, "missing required field 'township' for a township institution")
        if d.tier is Tier.VILLAGE and d.parent is None:
            report.error(
                d.source.location, "missing required field 'parent' (the township health centre's id) for a village"
            )
        parent = drafts.get(d.parent) if d.parent else None
        if d.parent is not None and d.parent == d.id:
            report.error(d.source.at("parent"), "an institution cannot be its own parent")
            parent = None
        elif d.parent is not None and parent is None:
            report.error(d.source.at("parent"), f"unknown parent '{d.parent}'{_suggest(d.parent, drafts)}")
        elif parent is not None and parent.tier is not None and parent.tier is not expected[d.tier]:
            report.error(
                d.source.at("parent"),
                f"a {d.tier} institution's parent must be a {expected[d.tier]} institution; "
                f"'{parent.id}' is {parent.tier}",
                [parent.source.at("tier")],
            )
        township = d.township
        if d.tier is Tier.VILLAGE and parent is not None and parent.township is not None:
            if township is not None and township != parent.township:
                report.error(
                    d.source.at("township"),
                    f"township '{township}' differs from its parent's ('{parent.township}'); "
                    "leave it out to inherit the parent's",
                    [parent.source.at("township")],
                )
            township = parent.township
        if township is not None:
            townships[d.id] = township
    return townships


def _check_addressing(institutions: list[InstitutionDraft], report: Report) -> None:
    """Gateways inside their subnets and not a network or broadcast address."""
    for d in institutions:
        for subnet in d.subnets:
            if subnet.gateway is not None and subnet.source is not None:
                _gateway_in(subnet.gateway, (subnet,), subnet.source.at("gateway"), report)
        if d.gateway is not None and _subnets_whole(d):
            _gateway_in(d.gateway, d.subnets, d.source.at("gateway"), report)


def _subnets_whole(d: InstitutionDraft) -> bool:
    """True when every subnet parsed: if one failed, the gateway or a device may be in it,
    and "outside its subnet" would only echo the first complaint."""
    return d.subnet_count > 0 and len(d.subnets) == d.subnet_count


def _gateway_in(gateway: IPAddress, subnets: Iterable[Subnet], where: Location, report: Report) -> None:
    subnets = tuple(subnets)
    home = next((s.network for s in subnets if gateway in s.network), None)
    if home is None:
        names = ", ".join(str(s.network) for s in subnets)
        report.error(where, f"gateway {gateway} is outside its subnet ({names})")
    elif home.num_addresses > 2 and gateway in (home.network_address, home.broadcast_address):
        what = "network" if gateway == home.network_address else "broadcast"
        report.error(where, f"gateway {gateway} is the {what} address of {home}")


def _check_overlaps(institutions: list[InstitutionDraft], report: Report) -> None:
    rows = sorted(
        (
            (s.network.version, int(s.network.network_address), int(s.network.broadcast_address), s, d)
            for d in institutions
            for s in d.subnets
        ),
        key=lambda row: (row[0], row[1], -row[2]),
    )
    reach: tuple[int, int, Subnet, InstitutionDraft] | None = None
    for version, first, last, subnet, d in rows:
        if reach is not None and reach[0] == version and first <= reach[1]:
            other, owner = reach[2], reach[3]
            here, there = _subnet_at(subnet), _subnet_at(other)
            a, b = (here, there) if here.line >= there.line else (there, here)
            sa, sb = (subnet, other) if a is here else (other, subnet)
            da, db = (d, owner) if a is here else (owner, d)
            whose = "" if da is db else f" of {db.name or db.id} ({db.id})"
            report.error(a, f"subnet {sa.network} overlaps {sb.network}{whose}", [b])
        if reach is None or reach[0] != version or last > reach[1]:
            reach = (version, last, subnet, d)


def _subnet_at(subnet: Subnet) -> Location:
    assert subnet.source is not None
    return subnet.source.location


def _check_unique_members(institutions: list[InstitutionDraft], report: Report) -> None:
    switch_ids: dict[str, Location] = {}
    managements: dict[IPAddress, Location] = {}
    server_ids: dict[str, Location] = {}
    macs: dict[str, Location] = {}
    bound: dict[IPAddress, Location] = {}
    for d in institutions:
        whole = _subnets_whole(d)
        for sw in d.switches:
            if sw.id is not None:
                _once(switch_ids, sw.id, sw.source.at("id"), f"duplicate switch id '{sw.id}'", report)
            if sw.management is not None:
                where = sw.source.at("management")
                _once(managements, sw.management, where, f"management address {sw.management} is used twice", report)
                if whole and not any(sw.management in s.network for s in d.subnets):
                    report.warning(where, f"management address {sw.management} is outside {d.id}'s subnets")
        for server in d.servers:
            assert server.source is not None
            _once(server_ids, server.id, server.source.at("id"), f"duplicate server id '{server.id}'", report)
            if whole and not any(server.address in s.network for s in d.subnets):
                report.warning(server.source.at("address"), f"address {server.address} is outside {d.id}'s subnets")
        for dev in d.devices:
            assert dev.source is not None
            _once(macs, dev.mac, dev.source.at("mac"), f"MAC {dev.mac} is authorised twice", report)
            if dev.ip is not None:
                where = dev.source.at("ip")
                _once(bound, dev.ip, where, f"IP {dev.ip} is bound to two devices", report)
                if whole and not any(dev.ip in s.network for s in d.subnets):
                    report.error(where, f"IP {dev.ip} is outside the institution's subnets")


def _once(seen: dict[K, Location], key: K, where: Location, msg: str, report: Report) -> None:
    first = seen.get(key)
    if first is not None:
        report.error(where, msg, [first])
    else:
        seen[key] = where


def _check_protected(parsed: Parsed, drafts: dict[str, InstitutionDraft], report: Report) -> None:
    for asset in parsed.protected:
        if asset.institution is not None and asset.institution not in drafts and asset.source is not None:
            report.error(
                asset.source.at("institution"),
                f"unknown institution '{asset.institution}'{_suggest(asset.institution, drafts)}",
            )


def _check_banned(parsed: Parsed, report: Report) -> None:
    """A banned MAC that is also authorised or protected is a contradiction: say where both are."""
    devices = {dv.mac: dv for d in parsed.institutions for dv in d.devices}
    protected = {a.mac: a for a in parsed.protected if a.mac}
    seen: dict[str, Location] = {}
    for banned in parsed.banned:
        if banned.source is None:
            continue
        where = banned.source.at("mac")
        first = seen.setdefault(banned.mac, where)
        if first is not where:
            report.error(where, f"MAC {banned.mac} is banned twice", [first])
        clashes = (
            (devices[banned.mac].source if banned.mac in devices else None, "an authorised device"),
            (protected[banned.mac].source if banned.mac in protected else None, "protected"),
        )
        for other, what in clashes:
            if other is not None:
                report.error(where, f"MAC {banned.mac} is banned and also {what}", [other.at("mac")])


def _check_township_defaults(parsed: Parsed, townships: set[str], report: Report) -> None:
    for name, where in parsed.township_defaults_at.items():
        if name not in townships:
            report.error(where, f"no institution is in township '{name}'{_suggest(name, townships)}")


def _resolve(
    parsed: Parsed, d: InstitutionDraft, s: SwitchDraft, townships: dict[str, str], report: Report
) -> Switch | None:
    """Apply inheritance to one switch; report a switch that ends up without SNMP credentials."""
    township = townships.get(d.id or "")
    tier_settings = parsed.defaults.for_tier(d.tier) if d.tier else None
    levels = [
        ("switch", s.settings),
        ("institution", d.settings),
        (f"defaults.townships.{township}", parsed.defaults.for_township(township)),
        (f"defaults.tiers.{d.tier}", tier_settings),
        ("defaults", parsed.defaults.all),
    ]
    snmp = next(((name, lv.snmp) for name, lv in levels if lv is not None and lv.snmp is not None), None)
    vlan = next((lv.quarantine_vlan for _n, lv in levels if lv is not None and lv.quarantine_vlan is not None), None)
    if snmp is None:
        if s.clean and d.tier is not None:
            report.error(
                s.source.location,
                "no SNMP credentials: set 'snmp' on the switch, its institution, or in defaults "
                f"(defaults.tiers.{d.tier} or defaults.snmp)",
            )
        return None
    if not s.clean or s.id is None or s.management is None or d.id is None:
        return None
    return Switch(
        id=s.id,
        institution=d.id,
        management=s.management,
        snmp=snmp[1],
        snmp_from=snmp[0],
        role=s.role,
        name=s.name,
        vendor=s.vendor,
        model=s.model,
        quarantine_vlan=vlan,
        uplinks=s.uplinks,
        source=s.source,
    )


def _freeze(d: InstitutionDraft, townships: dict[str, str], switches: dict[int, Switch]) -> Institution:
    assert d.id is not None and d.name is not None and d.tier is not None and d.gateway is not None
    return Institution(
        id=d.id,
        name=d.name,
        tier=d.tier,
        kind=d.kind,
        gateway=d.gateway,
        subnets=tuple(d.subnets),
        township=townships.get(d.id),
        parent=d.parent,
        switches=tuple(switches[id(s)] for s in d.switches),
        servers=tuple(d.servers),
        devices=tuple(d.devices),
        source=d.source,
    )
