"""What a scan passes around: targets, observations (evidence), results, and the rule domain.

A *collector* looks at one kind of evidence (``links``, ``snmp-communities``
...) and returns one :class:`Observation` per target it looked at: the facts a
control's ``when:`` may test, a one-line summary for people, and whether the
control applies at all. A control names the evidence it reads with a tag
``evidence:NAME`` (the rule format has no other place for it), and its
``when:`` is the condition that must hold for a *pass*: a fact the collector
did not provide makes the test false, so missing evidence fails rather than
passes silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from netguard.store.checks import CheckOutcome
from rules.model import Domain

TargetKind = Literal["county", "institution", "switch", "server"]

COMPLIANCE_DOMAIN = Domain(
    "compliance",
    {
        "target_kind": "text",  # county, institution, switch, server
        "institution": "text",
        "tier": "text",
        "township": "text",
        "role": "text",  # a server's role (database, his ...)
        "link_state": "text",  # up, degraded, down
        "link_loss": "number",  # percent
        "link_rtt_avg_ms": "number",
        "uplink_state": "text",  # up, degraded, down, unknown (absent: no uplink port in the inventory)
        "snmp_default_answers": "number",  # how many of the default communities got an answer
        "ssh_open_to_scanner": "bool",
        "recordings": "number",  # finished recorded bastion sessions
        "recording_problems": "number",
        "retention_days": "number",
        "devices_seen": "number",  # distinct MACs with an open sighting
        "unauthorised_devices": "number",  # of those, neither authorised nor protected, and not isolated
        "isolated_devices": "number",  # unauthorised ones that eviction holds restricted now
        "sql_events": "number",  # sql events in the window
        "sql_window_hours": "number",
    },
    "evidence collected by a compliance scan, per target",
)

COUNTY_TARGET_ID = "county"


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    id: str
    name: str = ""
    institution: str | None = None
    tier: str | None = None
    township: str | None = None

    @property
    def facts(self) -> dict[str, Any]:
        found: dict[str, Any] = {"target_kind": self.kind}
        for key in ("institution", "tier", "township"):
            value = getattr(self, key)
            if value is not None:
                found[key] = value
        return found


COUNTY = Target("county", COUNTY_TARGET_ID, "county")


@dataclass(frozen=True)
class Observation:
    """What one collector saw of one target."""

    target: Target
    facts: Mapping[str, Any] = field(default_factory=dict)
    summary: str = ""
    applicable: bool = True  # False: the control is "na" for this target
    error: str | None = None  # the evidence could not be collected for this target


@dataclass(frozen=True)
class Evidence:
    """One collector's run: its observations, or the reason it failed as a whole."""

    collector: str
    observations: tuple[Observation, ...] = ()
    error: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class ControlResult:
    control_id: str
    title: str
    severity: str
    target: Target
    outcome: CheckOutcome
    summary: str
    facts: Mapping[str, Any] = field(default_factory=dict)
    references: tuple[str, ...] = ()
    remediation: str = ""
    rationale: str = ""

    def evidence(self) -> dict[str, Any]:
        """The evidence stored with the result (state store and ``compliance`` events)."""
        return {
            "summary": self.summary,
            "facts": dict(self.facts),
            "title": self.title,
            "severity": self.severity,
            "target_kind": self.target.kind,
            "institution": self.target.institution,
            "tier": self.target.tier,
            "township": self.target.township,
        }

    def as_dict(self) -> dict[str, Any]:
        t = self.target
        return {
            "control": self.control_id,
            "title": self.title,
            "severity": self.severity,
            "references": list(self.references),
            "target": t.id,
            "target_kind": t.kind,
            "target_name": t.name,
            "institution": t.institution,
            "tier": t.tier,
            "township": t.township,
            "result": self.outcome,
            "evidence": self.summary,
            "facts": dict(self.facts),
            "remediation": self.remediation,
        }
