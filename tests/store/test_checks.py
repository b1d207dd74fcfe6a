from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from netguard.errors import StoreError
from netguard.store import CheckResult, StateStore

T0 = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)


def test_store_and_read_back_a_scan(store: StateStore) -> None:
    info = store.checks.store_scan(
        "scan-1",
        [
            CheckResult("snmp.no-default-community", "sw-nagu-1", "fail", {"community": "public"}),
            CheckResult("ssh.only-via-bastion", "his-db-1", "pass"),
            CheckResult("ssh.only-via-bastion", "sw-nagu-1", "na"),
        ],
        started=T0,
        label="nightly",
        now=T0 + timedelta(minutes=2),
    )
    assert info.counts == {"pass": 1, "fail": 1, "na": 1, "error": 0}
    assert info.label == "nightly" and info.started == T0
    (failure,) = store.checks.results("scan-1", result="fail")
    assert failure.evidence == {"community": "public"} and failure.at == T0 + timedelta(minutes=2)


def test_diff_two_scans(store: StateStore) -> None:
    store.checks.store_scan(
        "s1",
        [
            CheckResult("c.community", "sw-1", "fail"),
            CheckResult("c.community", "sw-2", "pass"),
            CheckResult("c.ssh", "sw-1", "pass"),
            CheckResult("c.old", "sw-1", "pass"),
            CheckResult("c.same", "sw-1", "na"),
        ],
        started=T0,
    )
    store.checks.store_scan(
        "s2",
        [
            CheckResult("c.community", "sw-1", "pass"),
            CheckResult("c.community", "sw-2", "fail"),
            CheckResult("c.ssh", "sw-1", "error"),
            CheckResult("c.same", "sw-1", "na"),
            CheckResult("c.new", "sw-1", "fail"),
        ],
        started=T0 + timedelta(days=1),
    )
    diff = store.checks.diff("s1", "s2")
    assert [(c.check_id, c.target, c.before, c.after) for c in diff.changed] == [
        ("c.community", "sw-1", "fail", "pass"),
        ("c.community", "sw-2", "pass", "fail"),
        ("c.ssh", "sw-1", "pass", "error"),
    ]
    assert [(c.check_id, c.after) for c in diff.added] == [("c.new", "fail")]
    assert [(c.check_id, c.before) for c in diff.removed] == [("c.old", "pass")]
    assert diff.unchanged == 1
    assert [(c.check_id, c.target) for c in diff.new_failures] == [
        ("c.community", "sw-2"),
        ("c.ssh", "sw-1"),
        ("c.new", "sw-1"),
    ]
    assert [(c.check_id, c.target) for c in diff.fixed] == [("c.community", "sw-1")]
    assert store.checks.previous_scan("s2") == "s1"
    assert store.checks.previous_scan("s1") is None
    assert [s.scan_id for s in store.checks.scans()] == ["s2", "s1"]


def test_a_scan_is_stored_whole_or_not_at_all(store: StateStore) -> None:
    with pytest.raises(StoreError, match="two results"):
        store.checks.store_scan("s", [CheckResult("c", "t", "pass"), CheckResult("c", "t", "fail")])
    with pytest.raises(StoreError, match="no scan"):
        store.checks.results("s")
    store.checks.store_scan("s", [CheckResult("c", "t", "pass")])
    with pytest.raises(StoreError, match="already stored"):
        store.checks.store_scan("s", [CheckResult("c", "t2", "pass")])
    assert len(store.checks.results("s")) == 1


def test_unknown_result_is_refused() -> None:
    with pytest.raises(StoreError, match="unknown check result"):
        CheckResult("c", "t", "ok")  # type: ignore[arg-type]
