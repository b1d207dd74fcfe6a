"""The :class:`Inventory`: validated records plus the lookups every tool needs.

Discovery asks "which institution owns 10.23.14.7?", eviction asks "is this
MAC authorised, is it protected?", link checks ask "which servers does the data
centre run?". Those lookups are indexed once per view, lazily:

* by id: a dict;
* by MAC and by bound IP: dicts over the authorised devices;
* IP -> institution: the subnets are validated not to overlap, so their
  ranges sorted by first address form a list that ``bisect`` searches in
  O(log n), instead of testing every subnet of 440 institutions.

:meth:`Inventory.filter` returns a *view*: a new Inventory over a subset of the
institutions, sharing county-wide facts (data centre, defaults, protected
assets) and a link to the whole inventory (:attr:`Inventory.root`). Lookups on
a view see only its institutions. :meth:`Inventory.switches`, ``servers()`` and
``devices()`` take the same filters and return a
:class:`~netguard.inventory.views.RecordView` with the same root.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable, Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from netguard.addresses import normalize_mac
from netguard.inventory.filter import Filter
from netguard.inventory.issues import Issue
from netguard.inventory.model import (
    BannedDevice,
    Defaults,
    Device,
    Institution,
    IPAddress,
    ProtectedAsset,
    Server,
    Switch,
    Tier,
)
from netguard.inventory.views import RecordView, build_filter


def _as_ip(ip: IPAddress | str) -> IPAddress | None:
    if isinstance(ip, str):
        try:
            return ipaddress.ip_address(ip.strip())
        except ValueError:
            return None
    return ip


def _as_mac(mac: str) -> str | None:
    try:
        return normalize_mac(mac)
    except ValueError:
        return None


class Inventory:
    """A validated county inventory, or a filtered view of one."""

    def __init__(
        self,
        institutions: Iterable[Institution],
        *,
        county: str,
        data_centre: str,
        county_code: str | None = None,
        defaults: Defaults | None = None,
        protected: Sequence[ProtectedAsset] = (),
        banned: Sequence[BannedDevice] = (),
        file: Path | None = None,
        warnings: Sequence[Issue] = (),
        root: Inventory | None = None,
    ) -> None:
        self.institutions: tuple[Institution, ...] = tuple(institutions)
        self.county = county
        self.county_code = county_code
        self.data_centre = data_centre
        self.defaults = defaults or Defaults()
        self.protected: tuple[ProtectedAsset, ...] = tuple(protected)
        self.banned: tuple[BannedDevice, ...] = tuple(banned)
        self.file = file
        self.warnings: tuple[Issue, ...] = tuple(warnings)
        self._root = root

    # -- collection protocol -----------------------------------------------------------

    def __len__(self) -> int:
        return len(self.institutions)

    def __iter__(self) -> Iterator[Institution]:
        return iter(self.institutions)

    def __contains__(self, institution_id: object) -> bool:
        return institution_id in self._by_id

    def __getitem__(self, institution_id: str) -> Institution:
        return self._by_id[institution_id]

    def __repr__(self) -> str:
        scope = "view of " if self._root is not None else ""
        return f"<Inventory {scope}{self.county}: {len(self)} institutions>"

    @property
    def root(self) -> Inventory:
        """The whole inventory this view was filtered from (itself if not a view)."""
        return self._root if self._root is not None else self

    # -- views -------------------------------------------------------------------------

    def filter(self, where: Filter | None = None, /, **conditions: Any) -> Inventory:
        """A new view of the institutions matching ``where`` and ``F(**conditions)``."""
        test = build_filter(where, conditions, Institution)
        chosen = self.institutions if test is None else tuple(i for i in self.institutions if test(i, i))
        return Inventory(
            chosen,
            county=self.county,
            data_centre=self.data_centre,
            county_code=self.county_code,
            defaults=self.defaults,
            protected=self.protected,
            banned=self.banned,
            file=self.file,
            warnings=self.warnings,
            root=self.root,
        )

    def tier(self, tier: Tier | str) -> Inventory:
        return self.filter(tier=Tier(tier))

    # -- lookups -----------------------------------------------------------------------

    @cached_property
    def _by_id(self) -> dict[str, Institution]:
        return {i.id: i for i in self.institutions}

    def by_id(self, institution_id: str) -> Institution | None:
        return self._by_id.get(institution_id)

    @cached_property
    def _by_mac(self) -> dict[str, Device]:
        return {d.mac: d for i in self.institutions for d in i.devices}

    def by_mac(self, mac: str) -> Device | None:
        """The authorised device with this MAC (any usual spelling), or None."""
        key = _as_mac(mac)
        return self._by_mac.get(key) if key else None

    @cached_property
    def _device_by_ip(self) -> dict[IPAddress, Device]:
        return {d.ip: d for i in self.institutions for d in i.devices if d.ip is not None}

    def device_by_ip(self, ip: IPAddress | str) -> Device | None:
        """The authorised device bound to this IP, or None."""
        key = _as_ip(ip)
        return self._device_by_ip.get(key) if key is not None else None

    @cached_property
    def _ranges(self) -> tuple[list[tuple[int, int]], list[tuple[int, int, Institution]]]:
        rows = sorted(
            (
                (s.network.version, int(s.network.network_address), int(s.network.broadcast_address), inst)
                for inst in self.institutions
                for s in inst.subnets
            ),
            key=lambda row: (row[0], row[1]),
        )
        return [(v, first) for v, first, _last, _inst in rows], [(v, last, inst) for v, _first, last, inst in rows]

    def by_ip(self, ip: IPAddress | str) -> Institution | None:
        """The institution whose subnet contains ``ip``, or None (O(log n))."""
        address = _as_ip(ip)
        if address is None:
            return None
        starts, ends = self._ranges
        index = bisect.bisect_right(starts, (address.version, int(address))) - 1
        if index < 0:
            return None
        version, last, inst = ends[index]
        return inst if version == address.version and int(address) <= last else None

    def switches(self, where: Filter | None = None, /, **conditions: Any) -> RecordView[Switch]:
        """The switches of this view's institutions matching ``where`` and ``F(**conditions)``."""
        test = build_filter(where, conditions, Switch)
        chosen = (s for i in self.institutions for s in i.switches if test is None or test(s, i))
        return RecordView(chosen, Switch, self.root)

    def servers(self, where: Filter | None = None, /, **conditions: Any) -> RecordView[Server]:
        """The servers of this view's institutions matching ``where`` and ``F(**conditions)``."""
        test = build_filter(where, conditions, Server)
        chosen = (s for i in self.institutions for s in i.servers if test is None or test(s, i))
        return RecordView(chosen, Server, self.root)

    def devices(self, where: Filter | None = None, /, **conditions: Any) -> RecordView[Device]:
        """The authorised devices of this view's institutions matching ``where`` and ``F(**conditions)``."""
        test = build_filter(where, conditions, Device)
        chosen = (d for i in self.institutions for d in i.devices if test is None or test(d, i))
        return RecordView(chosen, Device, self.root)

    @cached_property
    def _switch_by_id(self) -> dict[str, Switch]:
        return {s.id: s for s in self.switches()}

    def switch(self, switch_id: str) -> Switch | None:
        return self._switch_by_id.get(switch_id)

    def server(self, server_id: str) -> Server | None:
        return next((s for s in self.servers() if s.id == server_id), None)

    # -- the county's structure --------------------------------------------------------

    def data_centre_institution(self) -> Institution:
        return self.root[self.data_centre]

    def parent_of(self, institution: Institution) -> Institution | None:
        return self.root.by_id(institution.parent) if institution.parent else None

    def children(self, institution_id: str) -> tuple[Institution, ...]:
        return tuple(i for i in self.institutions if i.parent == institution_id)

    def townships(self) -> tuple[str, ...]:
        """Township names in file order."""
        return tuple(dict.fromkeys(i.township for i in self.institutions if i.township))

    def township_centre(self, township: str) -> Institution | None:
        """The township-tier institution (health centre) of a township."""
        return next((i for i in self.root.institutions if i.tier is Tier.TOWNSHIP and i.township == township), None)

    @cached_property
    def _banned_by_mac(self) -> dict[str, BannedDevice]:
        return {b.mac: b for b in self.root.banned}

    def ban(self, mac: str) -> BannedDevice | None:
        """The ``banned`` entry of this MAC (any usual spelling; the whole county, not just this view), or None."""
        key = _as_mac(mac)
        return self._banned_by_mac.get(key) if key else None

    # -- protection --------------------------------------------------------------------

    @cached_property
    def _protected_index(self) -> tuple[dict[str, str], dict[IPAddress, str]]:
        macs: dict[str, str] = {}
        ips: dict[IPAddress, str] = {}
        for asset in self.root.protected:
            reason = asset.reason or "listed as protected"
            if asset.mac:
                macs.setdefault(asset.mac, reason)
            if asset.ip is not None:
                ips.setdefault(asset.ip, reason)
        for inst in self.root.institutions:
            ips.setdefault(inst.gateway, f"gateway of {inst.id}")
            for subnet in inst.subnets:
                if subnet.gateway is not None:
                    ips.setdefault(subnet.gateway, f"gateway of {inst.id} {subnet.network}")
            for sw in inst.switches:
                ips.setdefault(sw.management, f"management address of switch {sw.id}")
            for server in inst.servers:
                ips.setdefault(server.address, f"server {server.id}")
                if server.mac:
                    macs.setdefault(server.mac, f"server {server.id}")
        return macs, ips

    def protected_reason(self, mac: str | None = None, ip: IPAddress | str | None = None) -> str | None:
        """Why this MAC or IP must never be evicted, or None if nothing protects it.

        Covers the ``protected`` list and, implicitly, every gateway, switch
        management address and server of the whole county (not just this view).
        """
        macs, ips = self._protected_index
        if mac is not None:
            key = _as_mac(mac)
            if key is not None and key in macs:
                return macs[key]
        if ip is not None:
            address = _as_ip(ip)
            if address is not None and address in ips:
                return ips[address]
        return None
