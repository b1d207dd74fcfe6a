"""The vault on real files: sealed at rest, tamper-evident, rotated without loss."""

from __future__ import annotations

import base64
import json
import os
import stat

import pytest

from bastion.errors import VaultError
from bastion.vault import Keyring, Vault


@pytest.fixture
def vault(tmp_path):
    ring = Keyring.create(tmp_path / "vault.key")
    return Vault(tmp_path / "vault.json", ring)


def test_round_trip_and_nothing_in_clear(vault, tmp_path):
    vault.put("his-db01/root", "password", "s3cret-密码".encode())
    vault.put("pacs/admin", "private-key", b"-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n")
    reopened = Vault(tmp_path / "vault.json", Keyring.load(tmp_path / "vault.key"))
    assert reopened.get("his-db01/root").decode() == "s3cret-密码"
    raw = (tmp_path / "vault.json").read_bytes()
    assert b"s3cret" not in raw and "密码".encode() not in raw and b"OPENSSH" not in raw
    for name in ("vault.json", "vault.key"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


def test_listing_shows_no_values(vault):
    vault.put("a/root", "password", b"hunter2")
    infos = list(vault.list())
    assert [i.name for i in infos] == ["a/root"]
    assert "hunter2" not in repr(infos) and "hunter2" not in repr(vault)


def test_flipped_bit_is_detected(vault, tmp_path):
    vault.put("a/root", "password", b"hunter2")
    doc = json.loads((tmp_path / "vault.json").read_text())
    data = bytearray(base64.b64decode(doc["entries"]["a/root"]["data"]))
    data[0] ^= 1
    doc["entries"]["a/root"]["data"] = base64.b64encode(bytes(data)).decode()
    (tmp_path / "vault.json").write_text(json.dumps(doc))
    with pytest.raises(VaultError, match="fails authentication"):
        Vault(tmp_path / "vault.json", Keyring.load(tmp_path / "vault.key")).get("a/root")


def test_entry_moved_to_another_name_is_detected(vault, tmp_path):
    vault.put("a/root", "password", b"hunter2")
    doc = json.loads((tmp_path / "vault.json").read_text())
    doc["entries"]["b/root"] = doc["entries"]["a/root"]
    (tmp_path / "vault.json").write_text(json.dumps(doc))
    with pytest.raises(VaultError, match="fails authentication"):
        Vault(tmp_path / "vault.json", Keyring.load(tmp_path / "vault.key")).get("b/root")


def test_rotation_reseals_everything_and_drops_the_old_key(vault, tmp_path):
    vault.put("a/root", "password", b"one")
    vault.put("b/root", "password", b"two")
    old = vault.keyring.current_id
    new, count = vault.rotate()
    assert count == 2 and new != old
    ring = Keyring.load(tmp_path / "vault.key")
    assert ring.ids() == [new]
    reopened = Vault(tmp_path / "vault.json", ring)
    assert reopened.get("a/root") == b"one" and reopened.get("b/root") == b"two"
    assert {i.key_id for i in reopened.list()} == {new}


def test_crash_mid_rotation_keeps_entries_readable(vault, tmp_path):
    vault.put("a/root", "password", b"one")
    vault.keyring.add_current()  # step 1 done, then the process "dies"
    reopened = Vault(tmp_path / "vault.json", Keyring.load(tmp_path / "vault.key"))
    assert reopened.get("a/root") == b"one"


def test_world_readable_keyring_refused(vault, tmp_path):
    os.chmod(tmp_path / "vault.key", 0o644)
    with pytest.raises(VaultError, match="chmod 600"):
        Keyring.load(tmp_path / "vault.key")


def test_key_from_a_secret_reference_value(tmp_path):
    key = base64.b64encode(os.urandom(32)).decode()
    vault = Vault(tmp_path / "v.json", Keyring.from_secret(key))
    vault.put("x/y", "password", b"pw")
    assert Vault(tmp_path / "v.json", Keyring.from_secret(key)).get("x/y") == b"pw"
    other = base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(VaultError, match="does not hold"):
        Vault(tmp_path / "v.json", Keyring.from_secret(other)).get("x/y")
    with pytest.raises(VaultError, match="32 bytes"):
        Keyring.from_secret(base64.b64encode(b"short").decode())


def test_missing_and_garbage_files(tmp_path):
    with pytest.raises(VaultError, match="bastion init"):
        Keyring.load(tmp_path / "none.key")
    bad = tmp_path / "bad.key"
    bad.write_bytes(b"\xff\x00garbage")
    os.chmod(bad, 0o600)
    with pytest.raises(VaultError, match="not valid JSON"):
        Keyring.load(bad)
