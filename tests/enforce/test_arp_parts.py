"""The pure parts of ARP isolation: frames, the recorded sides, the settings, which rows ``hold`` takes.

The frames are built and read back with scapy (no packets sent); the rows are
read from a real state store in a temporary directory.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Dot1Q, Ether

from netguard.config import load_config
from netguard.enforce.arp_frames import claim, impersonated_echo, read_arp, read_echo_reply, who_has_probe
from netguard.enforce.arp_isolate import isolated_state
from netguard.enforce.arp_plan import Sides
from netguard.enforce.hold import RESTORE_GRACE, held_isolations
from netguard.enforce.settings import ENFORCE
from netguard.errors import ConfigError
from netguard.secrets import write_private
from netguard.store import StateStore
from netguard.store.codec import utcnow
from netguard.store.journal import Target

ENFORCER, DEVICE, GATEWAY = "00:25:90:ee:03:09", "50:c7:bf:ba:03:02", "00:e0:fc:1a:00:03"
SIDES = Sides("eth0", ENFORCER, DEVICE, "10.11.12.66", GATEWAY, "10.11.12.1")


def test_the_poison_comes_from_the_enforcers_mac_and_names_it_for_the_gateway_ip() -> None:
    raw = claim(enforcer_mac=ENFORCER, to_mac=DEVICE, to_ip="10.11.12.66", ip="10.11.12.1", mac=ENFORCER)
    frame = Ether(raw)
    assert (frame.src, frame.dst) == (ENFORCER, DEVICE)  # unicast, never another host's MAC at layer 2
    assert (frame[ARP].op, frame[ARP].hwsrc, frame[ARP].psrc, frame[ARP].pdst) == (
        2,
        ENFORCER,
        "10.11.12.1",
        "10.11.12.66",
    )
    seen = read_arp(raw)
    assert seen is not None and (seen.op, seen.sender_mac, seen.sender_ip) == (2, ENFORCER, "10.11.12.1")
    # The restore names the real owner in the payload, still from the enforcer's MAC.
    healed = Ether(claim(enforcer_mac=ENFORCER, to_mac=DEVICE, to_ip="10.11.12.66", ip="10.11.12.1", mac=GATEWAY))
    assert (healed.src, healed[ARP].hwsrc) == (ENFORCER, GATEWAY)


def test_the_probe_plants_nothing_and_echo_replies_are_read() -> None:
    probe = Ether(who_has_probe(enforcer_mac=ENFORCER, ip="10.11.12.66"))
    assert (probe.dst, probe[ARP].op, probe[ARP].psrc) == ("ff:ff:ff:ff:ff:ff", 1, "0.0.0.0")
    echo = Ether(
        impersonated_echo(
            enforcer_mac=ENFORCER, dst_mac=DEVICE, src_ip="10.11.12.1", dst_ip="10.11.12.66", ident=7, seq=1
        )
    )
    assert (echo.src, echo[IP].src, echo[ICMP].type) == (ENFORCER, "10.11.12.1", 8)
    reply = Ether(src=DEVICE, dst=ENFORCER) / IP(src="10.11.12.66", dst="10.11.12.1") / ICMP(type=0, id=7)
    seen = read_echo_reply(bytes(reply))
    assert seen is not None and (seen.eth_dst, seen.src_ip, seen.dst_ip, seen.ident) == (
        ENFORCER,
        "10.11.12.66",
        "10.11.12.1",
        7,
    )
    assert read_echo_reply(bytes(echo)) is None  # a request is not a reply
    assert read_arp(b"") is None and read_arp(b"\x00" * 5) is None  # garbage is not an ARP frame
    assert read_arp(bytes(reply)) is None and read_echo_reply(b"\xff" * 3) is None


def test_arp_is_read_behind_a_vlan_tag_and_ip_frames_are_not_arp() -> None:
    arp = ARP(op=1, hwsrc="02:00:00:00:00:0b", psrc="10.9.0.11", pdst="10.9.0.1")
    tagged = Ether(src="02:00:00:00:00:0b", dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=107) / arp
    seen = read_arp(bytes(tagged))
    assert seen is not None and (seen.op, seen.sender_ip, seen.target_ip) == (1, "10.9.0.11", "10.9.0.1")
    plain = read_arp(bytes(Ether(src="02:00:00:00:00:0b", dst="ff:ff:ff:ff:ff:ff") / arp))
    assert plain == seen
    ip = Ether(src="02:00:00:00:00:0b", dst="02:00:00:00:00:01") / IP(src="10.9.0.11", dst="10.9.0.1") / ICMP()
    assert read_arp(bytes(ip)) is None


def test_sides_round_trip_and_a_missing_field_is_named() -> None:
    assert Sides.from_state(SIDES.as_state()) == SIDES
    state = {**SIDES.as_state(), "gateway_mac": "00-E0-FC-1A-00-03"}
    assert Sides.from_state(state) == SIDES  # normalised as recorded elsewhere
    with pytest.raises(ValueError, match="no gateway ip recorded"):
        Sides.from_state({k: v for k, v in SIDES.as_state().items() if k != "gateway_ip"})
    with pytest.raises(ValueError):
        Sides.from_state({**SIDES.as_state(), "device_mac": "not a mac"})


def _config(tmp_path: Path, enforce: str = "") -> Path:
    write_private(tmp_path / "secrets.yaml", f"journal_key: {os.urandom(32).hex()}\n")
    path = tmp_path / "netguard.yaml"
    path.write_text(
        f"secrets_file: secrets.yaml\nstate:\n  path: s.db\n  journal_key: secret:journal_key\n{enforce}",
        encoding="utf-8",
    )
    return path


def test_arp_settings_are_per_institution_and_checked(tmp_path: Path) -> None:
    path = _config(tmp_path, "enforce:\n  arp_interfaces:\n    lab-vc1-2: eth0\n    v2: ens3\n  arp_refresh_s: 0.5\n")
    settings = load_config(path).section(ENFORCE)
    assert settings.arp_interface("lab-vc1-2") == "eth0" and settings.arp_interface("v2") == "ens3"
    assert settings.arp_interface("t1") is None and settings.arp_refresh_s == 0.5
    bad = _config(tmp_path, "enforce:\n  arp_interfaces:\n    v1: eth0/1\n")
    with pytest.raises(
        ConfigError, match=r"netguard.yaml:\d+: enforce.arp_interfaces.v1: 'eth0/1' is not an interface"
    ):
        load_config(bad).section(ENFORCE)
    slow = _config(tmp_path, "enforce:\n  arp_refresh_s: 0\n")
    with pytest.raises(ConfigError, match="arp_refresh_s"):
        load_config(slow).section(ENFORCE)


def test_hold_takes_applied_arp_isolations_and_names_every_row_it_cannot_hold(tmp_path: Path) -> None:
    with StateStore.from_config(load_config(_config(tmp_path))) as store:
        journal = store.journal

        def isolate(mac: str, state: Mapping[str, object]) -> int:
            entry_id = journal.record_intent(
                operator="t",
                action="arp-isolate",
                target=Target(mac=mac),
                state_before=dict(state),
                state_after={},
                reason="r",
            )
            journal.mark_applied(entry_id, "ok", isolation=isolated_state(mac))
            return entry_id

        good = isolate(DEVICE, SIDES.as_state())
        junk = isolate("02:00:00:00:00:02", {"interface": "eth0", "enforcer_mac": ENFORCER})
        store.isolation.set("02:00:00:00:00:01", "", "", "isolated")
        store.isolation.set("02:00:00:00:00:03", "sw1", "p1", "disabled")  # a port method: not hold's business
        found = held_isolations(store.isolation, journal)
        assert [(h.journal_id, h.sides) for h in found.held] == [(good, SIDES)]
        assert found.problems == (
            "isolation of 02:00:00:00:00:01: names no journal entry, so its addresses are unknown",
            f"isolation of 02:00:00:00:00:02: journal entry {junk}: no device mac recorded",
        )
        # A restore interrupted long ago does not release the isolation (it is still applied) ...
        stale = journal.record_intent(
            operator="t",
            action="restore",
            target=Target(mac=DEVICE),
            state_before={},
            state_after={},
            reason="r",
            undoes=good,
            now=utcnow() - RESTORE_GRACE - dt.timedelta(seconds=1),
        )
        found = held_isolations(store.isolation, journal)
        assert [h.journal_id for h in found.held] == [good]
        assert f"restore entry {stale} of journal entry {good} was interrupted; still holding it" in found.problems[0]
        journal.mark_failed(stale, "interrupted")
        # ... while a restore in progress lets it go at once, before the restore is applied.
        journal.record_intent(
            operator="t",
            action="restore",
            target=Target(mac=DEVICE),
            state_before={},
            state_after={},
            reason="r",
            undoes=good,
        )
        assert held_isolations(store.isolation, journal).held == ()
