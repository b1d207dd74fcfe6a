"""Controls × evidence → one result per (control, target).

For each control, the evidence it names: a collector that failed as a whole
gives one ``error`` result for the county (the scan goes on with the other
controls); an observation with an error gives ``error`` for its target, one
marked not applicable gives ``na``; otherwise the control's ``when:`` over
the target's facts and the observation's facts decides ``pass`` or
``fail``. A collector with nothing to look at (no switches in the inventory)
gives one ``na`` for the county, so every control shows up in every scan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from netguard.compliance.controls import Control
from netguard.compliance.model import COUNTY, ControlResult, Evidence, Observation, Target
from netguard.store.checks import CheckOutcome


def _result(
    control: Control, target: Target, outcome: CheckOutcome, summary: str, facts: Mapping[str, object]
) -> ControlResult:
    rule = control.rule
    return ControlResult(
        control_id=rule.id,
        title=rule.title,
        severity=rule.severity.value,
        target=target,
        outcome=outcome,
        summary=summary,
        facts=dict(facts),
        references=rule.references,
        remediation=rule.remediation,
        rationale=rule.rationale,
    )


def _judge(control: Control, obs: Observation) -> ControlResult:
    if obs.error is not None:
        return _result(control, obs.target, "error", f"{obs.summary}: {obs.error}" if obs.summary else obs.error, {})
    if not obs.applicable:
        return _result(control, obs.target, "na", obs.summary, obs.facts)
    facts = {**obs.target.facts, **obs.facts}
    try:
        ok = control.rule.matches(facts)
    except (TypeError, ValueError):
        ok = False  # a value of the wrong type for the test: not shown to hold
    return _result(control, obs.target, "pass" if ok else "fail", obs.summary, obs.facts)


def evaluate(controls: Sequence[Control], evidence: Mapping[str, Evidence]) -> list[ControlResult]:
    results: list[ControlResult] = []
    for control in controls:
        ev = evidence.get(control.evidence)
        if ev is None or ev.error is not None:
            why = ev.error if ev is not None else "not collected"
            results.append(_result(control, COUNTY, "error", f"{control.evidence} evidence: {why}", {}))
        elif not ev.observations:
            results.append(_result(control, COUNTY, "na", f"{control.evidence}: nothing in the inventory to check", {}))
        else:
            results.extend(_judge(control, obs) for obs in ev.observations)
    return results
