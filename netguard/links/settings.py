"""The ``links`` section of ``netguard.yaml``, parsed by the links capability itself.

The configuration loader hands over the raw mapping; this module checks it
and turns it into :class:`~netguard.links.check.CheckSettings` and a
:class:`~netguard.links.classify.ThresholdPolicy`::

    links:
      count: 5            # probes per target (fping -c)
      interval_ms: 1000   # between probes to one target (fping -p)
      timeout_ms: 1000    # per probe (fping -t); also the TCP connect timeout
      gap_ms: 2           # between any two sends (fping -i)
      socket: auto        # auto | raw | dgram
      uplink_interval_ms: 5000  # between the two SNMP counter samples of uplink ports
                                # (default: (count - 1) x interval, at least 1 s)
      snmp_timeout_ms: 2000     # per SNMP request to a switch
      snmp_retries: 1
      thresholds:         # per tier, over the defaults in netguard.links.classify
        village: {loss_warn: 25, rtt_warn_ms: 200}
      institutions:       # per institution, over its tier's
        vc-nagu-07: {rtt_warn_ms: 400}

Every key is checked; a wrong one is a :class:`~netguard.errors.ConfigError`
naming it and where.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import yaml

from netguard.errors import ConfigError, NetGuardError
from netguard.inventory.nodes import is_null
from netguard.links.check import CheckSettings
from netguard.links.classify import ThresholdPolicy
from netguard.links.icmp import SocketKind
from netguard.links.records import IcmpSettings
from netguard.section import Section, SectionReader

KEYS = (
    "count",
    "interval_ms",
    "timeout_ms",
    "gap_ms",
    "socket",
    "uplink_interval_ms",
    "snmp_timeout_ms",
    "snmp_retries",
    "thresholds",
    "institutions",
)
SOCKET_KINDS = ("auto", "raw", "dgram")


@dataclass(frozen=True)
class UplinkSettings:
    """How uplink ports are read over SNMP; ``interval_ms`` None: as long as the ICMP run."""

    interval_ms: float | None = None
    timeout_ms: float = 2000.0
    retries: int = 1

    def interval_for(self, icmp: IcmpSettings) -> float:
        """Seconds between the two samples: the configured interval, else the span of the ICMP sends
        ((count - 1) x interval, at least 1 s), so the SNMP walk, the samples and the wait end about
        when the last probe's timeout does and the uplinks add little to the run."""
        if self.interval_ms is not None:
            return self.interval_ms / 1000
        return max(1.0, (icmp.count - 1) * icmp.interval_ms / 1000)


@dataclass(frozen=True)
class LinksConfig:
    check: CheckSettings = field(default_factory=CheckSettings)
    policy: ThresholdPolicy = field(default_factory=ThresholdPolicy.build)
    uplinks: UplinkSettings = field(default_factory=UplinkSettings)


def _number(raw: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: links.{key} must be a number, not {value!r}")
    return float(value)


def parse_links_section(raw: Mapping[str, Any] | None, where: str = "netguard.yaml") -> LinksConfig:
    if raw is None:
        return LinksConfig()
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: 'links' must be a mapping")
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key '{unknown[0]}' in links (allowed: {', '.join(KEYS)})")
    defaults = IcmpSettings()
    count = raw.get("count", defaults.count)
    if isinstance(count, bool) or not isinstance(count, int):
        raise ConfigError(f"{where}: links.count must be a whole number, not {count!r}")
    socket_kind = str(raw.get("socket", "auto"))
    if socket_kind not in SOCKET_KINDS:
        raise ConfigError(f"{where}: links.socket must be one of {', '.join(SOCKET_KINDS)}, not '{socket_kind}'")
    try:
        icmp = IcmpSettings(
            count=count,
            interval_ms=_number(raw, "interval_ms", defaults.interval_ms, where),
            timeout_ms=_number(raw, "timeout_ms", defaults.timeout_ms, where),
            gap_ms=_number(raw, "gap_ms", defaults.gap_ms, where),
        )
        policy = ThresholdPolicy.build(raw.get("thresholds"), raw.get("institutions"))
    except ConfigError:
        raise
    except NetGuardError as exc:
        raise ConfigError(f"{where}: links: {exc}") from None
    check = CheckSettings(icmp=icmp, tcp_timeout_ms=icmp.timeout_ms, socket_kind=cast(SocketKind, socket_kind))
    interval = raw.get("uplink_interval_ms")
    if interval is not None:
        interval = _number(raw, "uplink_interval_ms", 0, where)
        if not 100 <= interval <= 30_000:
            # 30 s: a 32-bit octet counter wraps every 34 s at 1 Gbit/s; two wraps cannot be told from one.
            raise ConfigError(f"{where}: links.uplink_interval_ms must be 100 to 30000, not {interval:g}")
    timeout = _number(raw, "snmp_timeout_ms", UplinkSettings.timeout_ms, where)
    if timeout <= 0:
        raise ConfigError(f"{where}: links.snmp_timeout_ms must be positive")
    retries = raw.get("snmp_retries", UplinkSettings.retries)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
        raise ConfigError(f"{where}: links.snmp_retries must be a whole number 0 to 10, not {retries!r}")
    uplinks = UplinkSettings(interval_ms=interval, timeout_ms=timeout, retries=retries)
    return LinksConfig(check=check, policy=policy, uplinks=uplinks)


def _plain(node: yaml.Node) -> Any:
    """A node as plain Python values; scalars typed the way YAML 1.2's core schema types them."""
    if isinstance(node, yaml.MappingNode):
        return {str(k.value): _plain(v) for k, v in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item) for item in node.value]
    if is_null(node):
        return None
    text = str(node.value)
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            continue
    return text


def _parse_section(r: SectionReader, node: yaml.Node) -> LinksConfig | None:
    # The links settings predate the line-aware section reader: they are checked as plain
    # values, with the section's own file:line in each message.
    where = f"{r.file}:{node.start_mark.line + 1}"
    try:
        return parse_links_section(_plain(node) if isinstance(node, yaml.MappingNode) else None, where)
    except ConfigError as exc:
        r.error(node, "links", str(exc).removeprefix(f"{where}: "))
        return None


LINKS = Section("links", LinksConfig, _parse_section)
