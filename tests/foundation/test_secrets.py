"""Secret references: resolution, redaction, private files."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from netguard.errors import SecretError
from netguard.secrets import Secret, SecretResolver, parse_ref, write_private

VALUE = "c0mmunity-XYZ"


def test_a_secret_never_shows_itself(caplog: pytest.LogCaptureFixture) -> None:
    s = Secret(VALUE)
    logging.getLogger("t").warning("community %s / %r / %s", s, s, f"{s}")
    assert VALUE not in caplog.text
    assert VALUE not in repr({"c": s}) and VALUE not in str([s])
    with pytest.raises(TypeError):
        json.dumps({"c": s})
    assert s.reveal() == VALUE


def test_references_resolve_from_env_file_and_secrets_file(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.yaml"
    write_private(secrets, f"snmp-ro: {VALUE}\n")
    single = tmp_path / "key"
    write_private(single, VALUE + "\n")
    resolver = SecretResolver(secrets_file=secrets, environ={"SNMP_RO": VALUE})
    assert resolver.resolve("env:SNMP_RO").reveal() == VALUE
    assert resolver.resolve("secret:snmp-ro").reveal() == VALUE
    assert resolver.resolve(f"file:{single}").reveal() == VALUE
    assert resolver.resolve("plain:public").reveal() == "public"
    assert str(parse_ref("plain:public")) == "plain:********"


def test_inline_values_are_refused() -> None:
    with pytest.raises(SecretError, match="not an inline value"):
        parse_ref("public")
    with pytest.raises(SecretError, match="names nothing"):
        parse_ref("env:")


def test_readable_secrets_files_are_refused(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(f"k: {VALUE}\n", encoding="utf-8")
    os.chmod(secrets, 0o640)
    with pytest.raises(SecretError, match="chmod 600") as info:
        SecretResolver(secrets_file=secrets).resolve("secret:k")
    assert VALUE not in str(info.value)


def test_errors_name_the_reference_not_the_value(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.yaml"
    write_private(secrets, f"k: {VALUE}\n")
    resolver = SecretResolver(secrets_file=secrets, environ={})
    with pytest.raises(SecretError, match="environment variable SNMP_RW"):
        resolver.resolve("env:SNMP_RW")
    with pytest.raises(SecretError, match="secret:other is not in the secrets file"):
        resolver.resolve("secret:other")
    write_private(secrets, f"k: [{VALUE}\n")
    with pytest.raises(SecretError) as info:
        SecretResolver(secrets_file=secrets).resolve("secret:k")
    assert VALUE not in str(info.value) and "not valid YAML" in str(info.value)


def test_write_private_creates_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "d" / "s.yaml"
    write_private(path, "a: b\n")
    assert path.stat().st_mode & 0o777 == 0o600
