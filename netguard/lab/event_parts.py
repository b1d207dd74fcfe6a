"""The pieces both lab event generators draw the same way.

:mod:`netguard.lab.synthetic_events` (benchmarks, parity tests: names of no
inventory) and :mod:`netguard.lab.county_events` (the demo: drawn from the
inventory) differ in their data, not in how a link sample or a compliance
result is made. Those shared draws live here. Each helper takes exactly the
random draws it documents, in that order, so both generators stay
deterministic for a seed.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from netguard.events.schema import RISK_LEVELS

TABLES = ("patients", "visits", "prescriptions", "lab_results", "users", "billing", "orders")
LINK_LOSSES = (0.0, 0.0, 0.0, 10.0, 33.3, 100.0)  # mostly clean, sometimes lossy, now and then down
COMPLIANCE_RESULTS = ("pass", "pass", "fail", "na", "error")


def organization_fields(org_id: str, name: str, tier: str, township: str | None, rng: random.Random) -> dict[str, Any]:
    """Two draws (whether, then which risk; whether, then which tags): the fields every lab event carries."""
    fields: dict[str, Any] = {
        "organization.id": org_id,
        "organization.name": name,
        "netguard.tier": tier,
        "netguard.township": township,
    }
    if rng.random() < 0.7:
        fields["netguard.risk"] = rng.choice(RISK_LEVELS)
    if rng.random() < 0.3:
        fields["tags"] = rng.sample(["night", "weekend", "bulk", "pii", "new-device"], k=rng.randrange(1, 3))
    return fields


def sql_text_fields(text: str, table: str, where_less: bool) -> dict[str, Any]:
    """No draws: a statement's text and what the SQL audit derives from it (fingerprint, tables)."""
    return {
        "db.query.text": text,
        "netguard.sql.fingerprint": text.lower(),
        "netguard.sql.fingerprint_id": hashlib.md5(text.lower().encode(), usedforsecurity=False).hexdigest(),
        "netguard.sql.tables": [table],
        "netguard.sql.where_less": where_less,
    }


def login_fields(rng: random.Random, user: str, ok: bool, source_ip: str) -> dict[str, Any]:
    """One draw (the method), two when refused (then the reason): a bastion login's fields."""
    fields: dict[str, Any] = {
        "event.action": "login",
        "event.outcome": "success" if ok else "failure",
        "user.name": user,
        "source.ip": source_ip,
        "netguard.auth.method": rng.choice(("publickey", "password")),
        "netguard.auth.factors": ["publickey", "totp"] if ok else ["password"],
        "message": f"bastion login {'accepted' if ok else 'refused'} for {user}",
    }
    if not ok:
        fields["netguard.auth.failure_reason"] = rng.choice(("bad-password", "bad-totp", "locked-out"))
    return fields


def link_loss(rng: random.Random) -> tuple[float, str]:
    """One draw: the packet loss (%) and the link state it means."""
    loss = rng.choice(LINK_LOSSES)
    return loss, "up" if loss < 20 else ("down" if loss == 100 else "degraded")


def link_sample(rng: random.Random, loss: float, state: str) -> dict[str, Any]:
    """Four draws (action, probe, RTT, jitter): a link event's measured fields."""
    return {
        "event.action": rng.choice(("sample", "sample", "state-change")),
        "event.outcome": "success" if state == "up" else "failure",
        "netguard.link.probe": rng.choice(("icmp", "tcp")),
        "netguard.link.loss": loss,
        "netguard.link.rtt_avg_ms": round(rng.uniform(0.3, 80), 3),
        "netguard.link.jitter_ms": round(rng.uniform(0, 10), 3),
        "netguard.link.state": state,
    }


def compliance_result(rng: random.Random) -> tuple[str, dict[str, Any]]:
    """One draw: a check's result and the fields that follow from it."""
    result = rng.choice(COMPLIANCE_RESULTS)
    return result, {
        "event.action": "check",
        "event.outcome": "success" if result == "pass" else "failure",
        "netguard.compliance.result": result,
        "netguard.compliance.evidence": "community 'public' accepted" if result == "fail" else "ok",
    }
