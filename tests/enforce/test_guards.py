"""The pure parts of the guards: port refusals and the per-run limit (the rest runs on the lab)."""

from __future__ import annotations

import pytest

from netguard.enforce.guards import ActionLimit, LimitReached, SharedPort, UplinkPort, port_refusals


def test_an_uplink_is_refused_with_its_reasons_even_when_forced() -> None:
    [refusal] = port_refusals("sw1", "p3", ["lldp", "inventory"], [], force_shared_port=True)
    assert isinstance(refusal, UplinkPort)
    assert str(refusal) == "sw1 p3 is an uplink or trunk (lldp, inventory); NetGuard never touches it"


def test_a_shared_port_is_refused_unless_forced() -> None:
    [refusal] = port_refusals("sw1", "p1", [], ["aa:bb:cc:00:00:02", "aa:bb:cc:00:00:01"], force_shared_port=False)
    assert isinstance(refusal, SharedPort)
    assert "aa:bb:cc:00:00:01, aa:bb:cc:00:00:02" in str(refusal) and "--force-shared-port" in str(refusal)
    assert port_refusals("sw1", "p1", [], ["aa:bb:cc:00:00:01"], force_shared_port=True) == []
    assert port_refusals("sw1", "p1", [], [], force_shared_port=False) == []


def test_the_limit_allows_exactly_its_number_of_actions() -> None:
    limit = ActionLimit(2)
    limit.take()
    limit.take()
    with pytest.raises(LimitReached, match="limit of 2 actions"):
        limit.take()
    assert limit.used == 2
