"""The lab's SNMP credentials never show in a repr (assertion messages, tracebacks, debug prints)."""

from __future__ import annotations

from netguard.lab.labfiles import new_credentials


def test_the_repr_of_lab_credentials_holds_no_secret() -> None:
    creds = new_credentials()
    shown = repr(creds)
    assert creds.v3_user is not None and creds.v3_user in shown
    for secret in (creds.community, creds.v3_auth, creds.v3_priv):
        assert secret and secret not in shown
