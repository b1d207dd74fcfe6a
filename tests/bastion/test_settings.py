"""The bastion section: client ciphers AES-GCM by default, CTR on request, never weaker; errors at file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.settings import ALLOWED_CLIENT_CIPHERS, BASTION, CLIENT_CIPHERS, settings
from netguard.config import load_config
from netguard.errors import ConfigError

BASE = "state:\n  path: s.db\nevents:\n  sqlite:\n    path: e.db\nbastion:\n"


def test_client_ciphers_default_to_aes_gcm_only(tmp_path: Path) -> None:
    path = tmp_path / "netguard.yaml"
    path.write_text(BASE + "  listen: 127.0.0.1:2222\n")
    section = load_config(path).section(BASTION)
    assert settings(section, tmp_path / "s.db").client_ciphers == CLIENT_CIPHERS
    assert CLIENT_CIPHERS and all(c.endswith("-gcm@openssh.com") for c in CLIENT_CIPHERS)
    assert all(c.endswith(("-gcm@openssh.com", "-ctr")) for c in ALLOWED_CLIENT_CIPHERS)


def test_client_ciphers_can_add_ctr_for_older_clients(tmp_path: Path) -> None:
    path = tmp_path / "netguard.yaml"
    path.write_text(BASE + "  client_ciphers: [aes128-gcm@openssh.com, aes128-ctr, aes256-ctr]\n")
    section = load_config(path).section(BASTION)
    assert settings(section, tmp_path / "s.db").client_ciphers == ("aes128-gcm@openssh.com", "aes128-ctr", "aes256-ctr")


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
