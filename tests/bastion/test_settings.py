"""The bastion section: client ciphers limited to AEAD and CTR, errors at file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.settings import BASTION, CLIENT_CIPHERS, settings
from netguard.config import load_config
from netguard.errors import ConfigError

BASE = "state:\n  path: s.db\nevents:\n  sqlite:\n    path: e.db\nbastion:\n"


def test_client_ciphers_default_to_aead_then_ctr(tmp_path: Path) -> None:
    path = tmp_path / "netguard.yaml"
    path.write_text(BASE + "  listen: 127.0.0.1:2222\n")
    section = load_config(path).section(BASTION)
    assert settings(section, tmp_path / "s.db").client_ciphers == CLIENT_CIPHERS
    assert all(c.endswith(("-gcm@openssh.com", "-ctr")) for c in CLIENT_CIPHERS)


def test_client_ciphers_can_be_narrowed_to_aead(tmp_path: Path) -> None:
    path = tmp_path / "netguard.yaml"
    path.write_text(BASE + "  client_ciphers: [aes128-gcm@openssh.com, aes256-gcm@openssh.com]\n")
    section = load_config(path).section(BASTION)
    assert settings(section, tmp_path / "s.db").client_ciphers == ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")


@pytest.mark.parametrize("cipher", ["aes128-cbc", "3des-cbc", "none", "arcfour"])
def test_weak_or_unknown_ciphers_are_refused_at_file_line(tmp_path: Path, cipher: str) -> None:
    path = tmp_path / "netguard.yaml"
    path.write_text(BASE + f"  client_ciphers:\n    - aes128-ctr\n    - {cipher}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path).section(BASTION)
    assert any(issue.startswith(f"{path}:9:") and f"'{cipher}' is not one of" in issue for issue in info.value.issues)
