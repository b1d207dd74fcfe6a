"""Secrets never reach a message: host URLs with credentials, reprs of references and configs, internal errors."""

from __future__ import annotations

import dataclasses
import pickle
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli import NetGuardGroup
from commands.context import AppContext
from netguard.config import load_config
from netguard.errors import ConfigError
from netguard.secrets import SecretRef, SecretResolver, parse_ref, redact_url
from tests.config.conftest import run_cli

PASSWORD = "hunter2-Pa55"


def test_a_host_url_with_credentials_and_a_bad_port_is_refused_without_echoing_it(write_config) -> None:
    path = write_config(f"events:\n  elasticsearch:\n    hosts: ['https://ops:{PASSWORD}@es1.example:badport']\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}:3: events.elasticsearch.hosts[0]: ")
    assert "user:password@" in message and "username and password, or api_key" in message
    assert PASSWORD not in message and "ops" not in message
    for command in (("config", "show"), ("config", "show", "--json"), ("config", "check"), ("events", "search")):
        code, out = run_cli("--config", str(path), *command)
        assert code == 2, out
        assert PASSWORD not in out and "internal error" not in out and "Traceback" not in out


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        (
            "https://es1.example:badport",
            "'https://es1.example:badport' has a port that is not a number from 1 to 65535",
        ),
        ("http://es1.example:70000", "has a port that is not a number from 1 to 65535"),
        ("http://es1.example:0", "has a port that is not a number"),
        ("es1.example:9200", "must start with http:// or https://"),
        ("ftp://es1.example", "must start with http:// or https://"),
        ("https://:9200", "names no host"),
        ("https://es1.example:9200/?x=1", "must not have a query"),
    ],
)
def test_host_urls_are_validated_at_load(write_config, host: str, problem: str) -> None:
    path = write_config(f"events:\n  elasticsearch:\n    hosts:\n      - http://127.0.0.1:9200\n      - '{host}'\n")
    with pytest.raises(ConfigError, match=re.escape(f"{path}:5: events.elasticsearch.hosts[1]: ")) as info:
        load_config(path)
    assert problem in str(info.value)


def test_a_single_host_may_be_a_string(write_config) -> None:
    cfg = load_config(write_config("events:\n  elasticsearch:\n    hosts: https://es1.example:9200/proxy\n"))
    assert cfg.elasticsearch.hosts == ("https://es1.example:9200/proxy",)


def test_redacting_a_url_with_a_bad_port_does_not_raise() -> None:
    assert redact_url(f"https://ops:{PASSWORD}@es1:badport") == "https://es1:badport"
    assert redact_url("http://127.0.0.1:9200") == "http://127.0.0.1:9200"


def test_a_reference_is_safe_as_a_type() -> None:
    ref = parse_ref(f"plain:{PASSWORD}")
    for text in (
        repr(ref),
        str(ref),
        f"{ref}",
        f"{ref!r}",
        repr([ref]),
        repr({"k": ref}),
        repr(pickle.loads(pickle.dumps(ref))),
    ):
        assert PASSWORD not in text
    assert repr(ref) == "SecretRef('plain:********')"
    assert repr(parse_ref("env:SNMP_RO")) == "SecretRef('env:SNMP_RO')"
    assert pickle.loads(pickle.dumps(ref)) == ref and hash(ref) == hash(SecretRef("plain", PASSWORD))
    with pytest.raises(AttributeError):
        ref.target = "x"  # type: ignore[misc]


def test_the_whole_configuration_has_a_safe_repr(write_config) -> None:
    path = write_config(
        "state:\n  journal_key: plain:" + PASSWORD + "\n"
        "events:\n  elasticsearch:\n    username: ops\n    password: 'plain:" + PASSWORD + "'\n"
        "links:\n  community: plain:" + PASSWORD + "\n"
    )
    cfg = load_config(path)
    assert cfg.journal_key is not None and cfg.elasticsearch.password is not None
    for text in (repr(cfg), str(cfg), repr(dataclasses.asdict(cfg)), repr(cfg.sections), repr(cfg.resolver())):
        assert PASSWORD not in text
    assert PASSWORD in (cfg.journal_key.target, cfg.elasticsearch.password.target)  # still usable


def test_a_resolvers_repr_does_not_dump_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_TOKEN", PASSWORD)
    assert PASSWORD not in repr(SecretResolver())


def test_an_internal_error_prints_the_type_never_the_text(tmp_path: Path) -> None:
    @click.group(cls=NetGuardGroup)
    @click.pass_context
    def group(ctx: click.Context) -> None:
        ctx.obj = AppContext()

    @group.command()
    def boom() -> None:
        raise ValueError(f"Port could not be cast to integer value as 'https://ops:{PASSWORD}@es1:badport'")

    result = CliRunner().invoke(group, ["boom"])
    assert result.exit_code == 3
    assert result.output.strip() == "internal error: ValueError (run with --debug for the traceback)"
    assert PASSWORD not in result.output
