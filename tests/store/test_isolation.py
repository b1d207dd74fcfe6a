from __future__ import annotations

from netguard.store import StateStore

MAC = "00:1a:2b:3c:4d:5e"


def test_original_vlan_survives_repeated_restriction_and_is_cleared_on_enable(store: StateStore) -> None:
    iso = store.isolation
    assert iso.get(MAC, "sw-1", "Gi0/7") is None
    q = iso.set(MAC, "sw-1", "Gi0/7", "quarantined", original_vlan=10, current_vlan=999)
    assert (q.status, q.original_vlan, q.current_vlan, q.restricted) == ("quarantined", 10, 999, True)
    # quarantined again (e.g. a re-run): the original VLAN is still 10, not the quarantine VLAN
    again = iso.set(MAC.upper(), "sw-1", "Gi0/7", "quarantined", original_vlan=999, current_vlan=999)
    assert again.original_vlan == 10
    assert [s.port for s in iso.restricted()] == ["Gi0/7"]
    enabled = iso.set(MAC, "sw-1", "Gi0/7", "enabled", current_vlan=10)
    assert (enabled.status, enabled.original_vlan, enabled.restricted) == ("enabled", None, False)
    assert iso.restricted() == []
    assert [s.status for s in iso.for_mac(MAC)] == ["enabled"]


def test_state_names_its_journal_entry(store: StateStore) -> None:
    from netguard.store import Target

    entry = store.journal.record_intent(
        operator="a",
        action="port-shutdown",
        target=Target(mac=MAC, switch="sw-1", port="Gi0/7"),
        state_before={"ifAdminStatus": 1},
        state_after={"ifAdminStatus": 2},
        reason="r",
    )
    state = store.isolation.set(MAC, "sw-1", "Gi0/7", "disabled", journal_id=entry)
    assert state.journal_id == entry
