"""The top-level groups load lazily: each from its map entry, under its own name, with the
short help `netguard --help` lists for it; --version and --help import none of them; errors of
a lazily loaded group are shown as every other error is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from cli import GROUPS, NetGuardGroup, main
from commands.context import AppContext
from commands.lazy import LazyCommand

ROOT = Path(__file__).parents[2]
ENV = {"NETGUARD_CONFIG": "", "NO_COLOR": "1"}
# What a group pulls in and --version or --help must not: the groups themselves, and the
# libraries behind them (SNMP, SSH, SQL parsing, packets, Elasticsearch, tables, YAML, SQLite).
HEAVY = ("commands.", "netguard.config", "rich", "scapy", "pysnmp", "paramiko", "sqlglot", "elasticsearch")
HEAVY_TOO = ("yaml", "sqlite3")
LIGHT_COMMANDS = {"commands", "commands.context", "commands.lazy"}


def _eager() -> click.Group:
    """The same top level with every group imported and added the ordinary way."""
    return click.Group("netguard", commands={name: entry.load() for name, entry in GROUPS.items()})


@pytest.mark.parametrize("name", sorted(GROUPS))
def test_every_group_in_the_map_loads_under_its_name_with_the_short_help_listed(name: str) -> None:
    loaded = GROUPS[name].load()
    assert loaded.name == name
    assert main.get_command(click.Context(main), name) is loaded
    assert loaded.get_short_help_str(limit=1000) == GROUPS[name].short_help


def test_the_map_names_every_command_and_help_lists_each_with_its_own_short_help() -> None:
    assert main.list_commands(click.Context(main)) == sorted(GROUPS)
    env = {**ENV, "COLUMNS": "80"}
    listed = CliRunner().invoke(main, ["--help"], env=env)
    expected = CliRunner().invoke(_eager(), ["--help"], env=env)
    assert listed.exit_code == 0 and expected.exit_code == 0, listed.output
    assert listed.output.split("Commands:\n", 1)[1] == expected.output.split("Commands:\n", 1)[1]
    for name, entry in GROUPS.items():
        assert f"\n  {name.ljust(max(map(len, GROUPS)))}  {entry.short_help}\n" in listed.output
    narrow = CliRunner().invoke(main, ["--help"], env={**ENV, "COLUMNS": "50"}).output
    words = " ".join(narrow.split("Commands:\n", 1)[1].split())
    for name, entry in GROUPS.items():  # whole, wrapped: as click shows an explicit short_help
        assert f"{name} {entry.short_help}" in words


def test_the_lab_group_keeps_the_commands_lab_net_registers_on_it() -> None:
    lab = main.get_command(click.Context(main), "lab")
    assert isinstance(lab, click.Group)
    assert {"up", "status", "down", "events"} <= set(lab.list_commands(click.Context(lab)))
    assert "Build the lab county" in CliRunner().invoke(main, ["lab", "--help"], env=ENV).output


def _imported_after(*args: str) -> set[str]:
    """Modules a fresh interpreter has imported after `netguard ARGS`."""
    script = (
        "import sys; from cli import main; code = main(list(sys.argv[1:]), standalone_mode=False);"
        "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)"
    )
    env = {**os.environ, **ENV, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout, args  # it did print the version or the help
    return set(done.stderr.split())


@pytest.mark.parametrize("args", [("--version",), ("--help",), ("-h",)])
def test_version_and_help_import_no_group_and_no_heavy_library(args: tuple[str, ...]) -> None:
    modules = _imported_after(*args)
    heavy = {m for m in modules if m.startswith(HEAVY) or m.split(".")[0] in HEAVY_TOO} - LIGHT_COMMANDS
    assert not heavy, sorted(heavy)


@pytest.mark.parametrize("group", ["discover", "evict", "config"])
def test_a_group_loads_no_packet_or_snmp_session_library_until_a_command_uses_it(group: str) -> None:
    # scapy only when ARP isolation builds a frame, pysnmp's API only when a session is opened
    modules = _imported_after(group, "--help")
    assert f"commands.{group}" in modules
    assert not {m for m in modules if m.startswith(("scapy", "pysnmp.hlapi", "pysmi"))}


def test_a_group_s_help_imports_that_group_only() -> None:
    modules = _imported_after("schedule", "--help")
    assert "commands.schedule" in modules
    assert not {"commands.audit", "commands.bastion", "commands.discover", "commands.lab"} & modules


def _broken(target: str) -> click.Group:
    @click.group(cls=NetGuardGroup, lazy={"broken": LazyCommand(target, "Never loads.")})
    @click.option("--debug", is_flag=True)
    @click.pass_context
    def group(ctx: click.Context, debug: bool) -> None:
        ctx.obj = AppContext(debug=debug)

    return group


@pytest.mark.parametrize(
    ("target", "error"),
    [("commands.no_such_module:group", ModuleNotFoundError), ("commands.lazy:LazyCommand", TypeError)],
)
def test_a_group_that_fails_to_load_is_an_internal_error_and_debug_shows_it(target: str, error: type) -> None:
    group = _broken(target)
    out = CliRunner().invoke(group, ["broken"])
    assert out.exit_code == 3
    assert out.output.strip() == f"internal error: {error.__name__} (run with --debug for the traceback)"
    debugged = CliRunner().invoke(group, ["--debug", "broken"])
    assert isinstance(debugged.exception, error)


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=ENV)


def test_errors_of_lazily_loaded_groups_are_one_line_with_their_exit_code(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    out = _run("--config", str(missing), "events", "search")
    assert out.exit_code == 2
    assert out.output == f"error: configuration file {missing} does not exist\n"
    debugged = _run("--debug", "--config", str(missing), "events", "search")
    assert debugged.exception is not None and type(debugged.exception).__name__ == "ConfigError"
    unknown = _run("nosuch")
    assert unknown.exit_code == 2 and "No such command 'nosuch'" in unknown.output
    bad_option = _run("discover", "--no-such-option")
    assert bad_option.exit_code == 2 and "No such option '--no-such-option'" in bad_option.output
