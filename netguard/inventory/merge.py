"""Adding devices to an inventory file without rewriting it.

County admins comment their inventory and keep its order; a load-and-dump
round trip would drop every comment and reflow the file. So new devices are
inserted as *text*: one flow mapping per device (``- {mac: ..., kind: pc}``)
after the institution's last device, using the node tree's line numbers to find
the place and the existing items' column for the indentation. The original
lines are untouched, which keeps diffs small and reviewable.

Every output line remembers where it came from (the inventory's own line, or
the CSV row that produced it), so errors found when the merged text is
validated can be reported against the file the admin can actually open.

Handled layouts: a block list of devices, ``devices: []``, ``devices:`` with
nothing, and no ``devices`` key at all. Anything else (an institution written
in flow style) is refused with a clear message rather than guessed at.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from netguard.errors import InventoryError
from netguard.inventory.issues import Location


@dataclass(frozen=True)
class NewDevice:
    """A device to add, and where it was read from (a CSV row)."""

    institution: str
    mac: str
    kind: str
    ip: str | None
    owner: str | None
    note: str | None
    origin: Location

    def entry(self) -> dict[str, str]:
        data = {"mac": self.mac, "ip": self.ip, "owner": self.owner, "kind": self.kind, "note": self.note}
        return {k: v for k, v in data.items() if v is not None}


def flow_line(data: Mapping[str, str]) -> str:
    """One YAML flow mapping on one line, quoted wherever YAML needs it."""
    text: str = yaml.safe_dump(dict(data), default_flow_style=True, allow_unicode=True, width=1 << 20, sort_keys=False)
    return text.strip()


def last_line(node: yaml.Node) -> int:
    """0-based line of the last character that belongs to ``node``.

    Block collections end where the *next* token starts (possibly after blank
    lines and comments), so for them the last item's end is used instead.
    """
    if isinstance(node, yaml.ScalarNode):
        end = node.end_mark
        return end.line - 1 if end.column == 0 and end.line > node.start_mark.line else end.line
    if isinstance(node, yaml.SequenceNode | yaml.MappingNode) and node.flow_style:
        return int(node.end_mark.line)
    if isinstance(node, yaml.MappingNode) and node.value:
        return last_line(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and node.value:
        return last_line(node.value[-1])
    return int(node.start_mark.line)


def institution_nodes(root: yaml.Node | None) -> dict[str, tuple[int, yaml.MappingNode]]:
    """Institution id -> (index, mapping node) from a composed inventory."""
    found: dict[str, tuple[int, yaml.MappingNode]] = {}
    if not isinstance(root, yaml.MappingNode):
        return found
    for key, value in root.value:
        if key.value != "institutions" or not isinstance(value, yaml.SequenceNode):
            continue
        for index, item in enumerate(value.value):
            if not isinstance(item, yaml.MappingNode):
                continue
            for k, v in item.value:
                if k.value == "id" and isinstance(v, yaml.ScalarNode):
                    found.setdefault(v.value.strip(), (index, item))
    return found


def add_devices(
    text: str, root: yaml.Node | None, file: str, additions: Mapping[str, Sequence[NewDevice]]
) -> tuple[str, list[Location]]:
    """Insert devices per institution id; return the new text and each line's origin."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines()
    origins = [Location(file, n + 1, "") for n in range(len(lines))]
    nodes = institution_nodes(root)
    inserts: list[tuple[int, list[str], list[Location]]] = []
    for inst_id, devices in additions.items():
        if not devices:
            continue
        if inst_id not in nodes:
            raise InventoryError(f"{file}: institution '{inst_id}' not found for merging")
        index, node = nodes[inst_id]
        at, indent = _insertion_point(node, lines, f"{file}:{node.start_mark.line + 1}: institutions[{index}]")
        new = [" " * indent[1] + "- " + flow_line(d.entry()) for d in devices]
        where = [d.origin for d in devices]
        if indent[0] is not None:
            new.insert(0, " " * indent[0] + "devices:")
            where.insert(0, devices[0].origin)
        inserts.append((at, new, where))
    for at, new, where in sorted(inserts, key=lambda item: item[0], reverse=True):
        lines[at:at] = new
        origins[at:at] = where
    out = newline.join(lines)
    if text.endswith(("\n", "\r")) or not text:
        out += newline
    return out, origins


def _insertion_point(node: yaml.MappingNode, lines: list[str], where: str) -> tuple[int, tuple[int | None, int]]:
    """(line index to insert before, (indent of a new 'devices:' key or None, indent of '- ')).

    May edit ``lines`` in place to turn ``devices: []`` into ``devices:``.
    """
    if node.flow_style:
        raise InventoryError(f"{where} is written in flow style ({{...}}); write it as a block to import into it")
    key_col = node.value[0][0].start_mark.column if node.value else node.start_mark.column
    for key, value in node.value:
        if key.value != "devices":
            continue
        if isinstance(value, yaml.SequenceNode) and not value.flow_style and value.value:
            return last_line(value) + 1, (None, value.start_mark.column)
        empty_flow = isinstance(value, yaml.SequenceNode) and value.flow_style and not value.value
        empty_null = isinstance(value, yaml.ScalarNode) and value.tag.endswith(":null")
        if (empty_flow or empty_null) and value.start_mark.line == value.end_mark.line == key.start_mark.line:
            row = key.start_mark.line
            line = lines[row]
            lines[row] = (line[: value.start_mark.column] + line[value.end_mark.column :]).rstrip()
            if not lines[row].rstrip().endswith(":"):
                break  # a comment or something else follows: do not guess
            return row + 1, (None, key_col + 2)
        break
    else:
        return last_line(node) + 1, (key_col, key_col + 2)
    raise InventoryError(f"{where}.devices is not a block list; write it as '- {{mac: ...}}' items to import into it")


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` all at once: readers see the old file or the new, never half."""
    path = path.resolve()
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
