"""``user add --totp``: the otpauth:// URI (the TOTP secret) never reaches --json output."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from click.testing import CliRunner

from bastion import totp
from cli import main


def _cli(tmp_path: Path):
    config = tmp_path / "netguard.yaml"
    config.write_text(
        f"state:\n  path: {tmp_path / 'state.db'}\n"
        f"events:\n  backend: sqlite\n  sqlite:\n    path: {tmp_path / 'events.db'}\n"
    )
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None):
        return runner.invoke(main, ["--config", str(config), *args], input=stdin)

    assert run("bastion", "init").exit_code == 0
    return run


def test_json_without_a_uri_file_is_refused_and_adds_nothing(tmp_path: Path) -> None:
    run = _cli(tmp_path)
    result = run("bastion", "user", "add", "bob", "--password", "--totp", "--json", stdin="pw-1\n")
    assert result.exit_code == 2
    assert "--totp-uri-file" in result.output and "secret=" not in result.output
    listed = json.loads(run("bastion", "user", "list", "--json").output)
    assert [u for u in listed if u["name"] == "bob"] == []


def test_json_names_the_0600_file_that_holds_the_uri(tmp_path: Path) -> None:
    run = _cli(tmp_path)
    uri_file = tmp_path / "bob.otpauth"
    result = run(
        "bastion",
        "user",
        "add",
        "bob",
        "--password",
        "--totp",
        "--totp-uri-file",
        str(uri_file),
        "--json",
        stdin="pw-1\n",
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc == {"user": "bob", "keys": [], "totp": True, "totp_uri_file": str(uri_file)}
    uri = uri_file.read_text().strip()
    assert uri.startswith("otpauth://totp/") and "secret=" in uri
    secret = uri.split("secret=")[1].split("&")[0]
    assert secret not in result.output
    assert totp.code_at(secret, 0).isdigit()
    assert stat.S_IMODE(uri_file.stat().st_mode) == 0o600
    # a second enrolment never overwrites the first file
    again = run(
        "bastion", "user", "add", "carol", "--password", "--totp", "--totp-uri-file", str(uri_file), stdin="pw-2\n"
    )
    assert again.exit_code == 2 and "exists" in again.output
    assert uri_file.read_text().strip() == uri


def test_terminal_output_shows_the_uri_once(tmp_path: Path) -> None:
    run = _cli(tmp_path)
    result = run("bastion", "user", "add", "bob", "--password", "--totp", stdin="pw-1\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("otpauth://totp/") == 1
    listed = run("bastion", "user", "list", "--json").output
    assert json.loads(listed)[0]["totp"] is True and "secret=" not in listed
