"""Every query the documentation shows returns hits on the demo data.

The examples are extracted, not listed: every `events search` command line in
README.md, the Makefile's demo and every command's --help, and every query in
docs/query.md (the "you type" column of its table, and each `field:value` code span
elsewhere). They run against a store filled by `netguard lab events` from the example
inventory, as `make demo` fills it. A calendar date in an example is replaced by
today's (the demo's data are the last 24 hours).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli import main
from netguard.events.schema import resolve_field

ROOT = Path(__file__).parents[2]
# Placeholders in docs/query.md's table that stand for any term, not queries.
PLACEHOLDERS = {"a AND b", "a b", "a OR b", "NOT a", "-a", "( ... )"}
# Examples the text itself says find nothing.
NO_HITS = {"file.size:1.5"}
DATE = re.compile(r"\b\d{4}-\d\d-\d\d\b")
SPAN = re.compile(r"`([^`]+)`")


def _search_args(text: str) -> list[list[str]]:
    """The arguments after `events search` of every such command line (not those the
    text shows failing: a line followed by an `error:` line)."""
    found = []
    lines = text.splitlines()
    for n, line in enumerate(lines):
        if "events search" not in line or (n + 1 < len(lines) and lines[n + 1].startswith("error:")):
            continue
        words = shlex.split(line.strip().removeprefix("$ "), comments=True)
        if "search" in words:
            found.append(words[words.index("search") + 1 :])
    return found


def _help_texts(cmd: click.Command) -> list[str]:
    texts = [cmd.help or "", cmd.epilog or ""]
    if isinstance(cmd, click.Group):
        ctx = click.Context(cmd)
        for name in cmd.list_commands(ctx):  # not cmd.commands: the top level loads its groups lazily
            sub = cmd.get_command(ctx, name)
            assert sub is not None, name
            texts += _help_texts(sub)
    return texts


def _query_doc(text: str) -> list[list[str]]:
    table = text.split("## Terms", 1)[1].split("\n\n`AND`", 1)[0]
    queries = []
    # The Limits section shows the shapes of queries at the limits ("u0 OR … OR u999"), not queries.
    text = re.sub(r"\n## Limits\n.*?(?=\n## |\Z)", "\n", text, flags=re.DOTALL)
    rest = [re.sub(r"```.*?```", "", text.replace(table, ""), flags=re.DOTALL)]  # no fenced blocks
    for row in table.splitlines():
        if row.startswith("| `"):
            typed, meaning = row.split(" | ", 1)
            queries += [q for q in SPAN.findall(typed) if q not in PLACEHOLDERS]
            rest.append(meaning)
    for span in SPAN.findall("\n".join(rest)):
        head = span.split(":", 1)[0]
        if ":" in span and " " not in head and resolve_field(head) is not None and span not in NO_HITS:
            queries.append(span)
    return [[q] for q in queries]


def _examples() -> list[tuple[str, list[str]]]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    demo = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    sources = {
        "README.md": _search_args((ROOT / "README.md").read_text(encoding="utf-8")),
        "Makefile demo": _search_args(demo.replace("$(BIN)/", "")),
        "--help": [a for t in _help_texts(main) for a in _search_args(t)],
        "docs/query.md": _query_doc((ROOT / "docs" / "query.md").read_text(encoding="utf-8")),
    }
    return [(where, args) for where, found in sources.items() for args in found]


EXAMPLES = _examples()


def test_the_docs_have_examples_from_every_source() -> None:
    where = {w for w, _ in EXAMPLES}
    assert where == {"README.md", "Makefile demo", "--help", "docs/query.md"}
    assert len(EXAMPLES) >= 30


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = tmp_path_factory.mktemp("demo") / "netguard.yaml"
    cfg.write_text(
        f"inventory: {ROOT / 'examples' / 'huize-county.yaml'}\nevents:\n  sqlite:\n    path: events.db\n",
        encoding="utf-8",
    )
    made = CliRunner().invoke(main, ["--config", str(cfg), "lab", "events", "--count", "4000", "--hours", "24"])
    assert made.exit_code == 0, made.output
    return cfg


@pytest.mark.parametrize(("where", "args"), EXAMPLES, ids=[f"{w}: {' '.join(a)}" for w, a in EXAMPLES])
def test_every_documented_query_finds_events_in_the_demo(demo: Path, where: str, args: list[str]) -> None:
    today = dt.date.today().isoformat()
    args = [DATE.sub(today, a) for a in args if a not in ("--json",)]
    out = CliRunner().invoke(main, ["--config", str(demo), "events", "search", "--json", "--limit", "1", *args])
    assert out.exit_code == 0, (where, args, out.output)
    assert json.loads(out.output)["total"] > 0, (where, args)
