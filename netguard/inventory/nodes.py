"""Reading YAML nodes with their line numbers, reporting problems instead of raising.

``yaml.safe_load`` throws the positions away; an inventory error that says
"bad subnet" without a line is useless in a file of thousands of lines. So the
loader works on the *node* tree (``yaml.compose``, libyaml's C parser when
present): every node keeps its ``start_mark``. Two more reasons to avoid the
constructor: it silently keeps the last of two duplicate keys, and YAML 1.1
turns some spellings into other types (``12:34:56:12:34:56`` is a base-60
integer, ``no`` is ``False``). Here each field reads the raw scalar text and
converts it itself.

:class:`Reader` checks shapes (mapping, sequence, scalar), unknown keys (with a
"did you mean"), duplicate and missing keys, and converts scalars, appending an
:class:`~netguard.inventory.issues.Issue` to the report for each problem and
returning ``None`` so parsing goes on.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Collection, Iterator
from dataclasses import dataclass

import yaml

from netguard.addresses import normalize_mac
from netguard.errors import InventoryError, NetGuardError, SecretError
from netguard.inventory.issues import Location, Report, Source
from netguard.inventory.model import IPAddress, IPNetwork
from netguard.secrets import SecretRef, parse_ref

NULL_TAG = "tag:yaml.org,2002:null"
STR_TAG = "tag:yaml.org,2002:str"
_NULLS = ("", "~", "null", "Null", "NULL")
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[valid-type,misc]
    """libyaml's parser without implicit typing of scalars.

    Fields convert their own text, so the only tag that matters is null. The
    regex-driven resolver was 40 % of composing the 440-institution county.
    """

    def resolve(self, kind: type[yaml.Node], value: str | None, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            return NULL_TAG if implicit[0] and value in _NULLS else STR_TAG
        return str(super().resolve(kind, value, implicit))


def compose(text: str, file: str, error: type[NetGuardError] = InventoryError) -> yaml.Node | None:
    """Parse YAML text into a node tree; a syntax error raises ``error`` (a usage error, exit 2).

    Not ``str(exc)``: it quotes the offending line, which may hold a ``plain:`` secret.
    """
    try:
        return yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        line, problem = yaml_error(exc, text)
        where = f":{line}" if line is not None else ""
        raise error(f"{file}{where}: not valid YAML: {problem}") from None
    except yaml.YAMLError:
        raise error(f"{file}: not valid YAML") from None


_OPENED = ("quoted scalar", "flow sequence", "flow mapping")


def yaml_error(exc: yaml.MarkedYAMLError, text: str) -> tuple[int | None, str]:
    """The line to fix (1-based) and the problem, for a YAML syntax error.

    The parser's ``problem_mark`` is where it *noticed*: for a quote or bracket
    left open that is the next line, or the end of the file, one past its last
    line. The line to fix is where the construct opened (``context_mark``).
    Elsewhere the problem mark is right, but never past the last line.
    """
    problem = exc.problem or exc.context or "syntax error"
    context = exc.context or ""
    opened = next((what for what in _OPENED if what in context), None)
    if opened is not None and exc.context_mark is not None:
        return exc.context_mark.line + 1, f"{problem} (the {opened} that starts on this line is not closed)"
    if exc.problem_mark is None:
        return None, problem
    last = max(text.count("\n") + (0 if text.endswith("\n") else 1), 1)
    return min(exc.problem_mark.line + 1, last), problem


def join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


@dataclass
class Fields:
    """The checked keys of one mapping node."""

    node: yaml.MappingNode
    path: str
    values: dict[str, tuple[yaml.Node, yaml.Node]]

    def get(self, name: str) -> yaml.Node | None:
        pair = self.values.get(name)
        return pair[1] if pair else None

    def line(self, name: str) -> int:
        pair = self.values.get(name)
        return (pair[0].start_mark.line if pair else self.node.start_mark.line) + 1

    def source(self, file: str) -> Source:
        lines = tuple((k, key.start_mark.line + 1) for k, (key, _v) in self.values.items())
        return Source(file, self.node.start_mark.line + 1, self.path, lines)

    def __contains__(self, name: str) -> bool:
        return name in self.values


class Reader:
    """Converts nodes of one file, collecting problems in ``report``."""

    def __init__(self, file: str, report: Report) -> None:
        self.file = file
        self.report = report

    # -- locations and errors ----------------------------------------------------------

    def loc(self, node: yaml.Node, path: str) -> Location:
        return Location(self.file, node.start_mark.line + 1, path)

    def error(self, node: yaml.Node, path: str, message: str) -> None:
        self.report.error(self.loc(node, path), message)

    def warning(self, node: yaml.Node, path: str, message: str) -> None:
        self.report.warning(self.loc(node, path), message)

    # -- shapes ------------------------------------------------------------------------

    def mapping(
        self,
        node: yaml.Node,
        path: str,
        required: Collection[str],
        optional: Collection[str] = (),
        *,
        any_key: bool = False,
    ) -> Fields | None:
        if not isinstance(node, yaml.MappingNode):
            self.error(node, path, f"expected a mapping (key: value), found {_kind(node)}")
            return None
        allowed = set(required) | set(optional)
        values: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                self.error(key, path, "keys must be plain names")
                continue
            name = key.value
            if name == "<<":
                self.error(key, path, "merge keys (<<) are not supported; use 'defaults' for shared settings")
                continue
            if name in values:
                first = values[name][0].start_mark.line + 1
                self.error(key, join(path, name), f"duplicate key '{name}' (first at line {first})")
                continue
            if name not in allowed and not any_key:
                self.error(key, path, f"unknown key '{name}'{_suggest(name, allowed)}")
                continue
            values[name] = (key, value)
        for name in required:
            if name not in values:
                self.error(node, path, f"missing required field '{name}'")
        return Fields(node, path, values)

    def sequence(self, fields: Fields, name: str) -> Iterator[tuple[str, yaml.Node]]:
        """Items of a list field as (path, node); an absent or empty field yields nothing."""
        node = fields.get(name)
        path = join(fields.path, name)
        if node is None or is_null(node):
            return
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, path, f"expected a list, found {_kind(node)}")
            return
        for index, item in enumerate(node.value):
            yield f"{path}[{index}]", item

    def scalar_items(self, fields: Fields, name: str) -> Iterator[tuple[str, yaml.Node, str]]:
        """Items of a list of scalars as (path, node, text)."""
        for path, item in self.sequence(fields, name):
            if not isinstance(item, yaml.ScalarNode) or is_null(item):
                self.error(item, path, f"expected a value, found {_kind(item)}")
                continue
            yield path, item, item.value.strip()

    # -- scalars -----------------------------------------------------------------------

    def text(self, fields: Fields, name: str) -> str | None:
        node = fields.get(name)
        if node is None:
            return None
        return self.node_text(node, join(fields.path, name))

    def node_text(self, node: yaml.Node, path: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode):
            self.error(node, path, f"expected a value, found {_kind(node)}")
            return None
        value: str = node.value.strip()
        if is_null(node) or not value:
            self.error(node, path, "is empty")
            return None
        return value

    def choice(self, fields: Fields, name: str, choices: Collection[str], what: str) -> str | None:
        value = self.text(fields, name)
        if value is None:
            return None
        if value not in choices:
            node = fields.get(name)
            assert node is not None
            options = ", ".join(sorted(choices))
            self.error(node, join(fields.path, name), f"unknown {what} '{value}' (one of: {options})")
            return None
        return value

    def integer(self, fields: Fields, name: str, low: int, high: int) -> int | None:
        value = self.text(fields, name)
        if value is None:
            return None
        node = fields.get(name)
        assert node is not None
        try:
            number = int(value, 10)
        except ValueError:
            self.error(node, join(fields.path, name), f"'{value}' is not a whole number")
            return None
        if not low <= number <= high:
            self.error(node, join(fields.path, name), f"{number} is out of range ({low}-{high})")
            return None
        return number

    def ip(self, fields: Fields, name: str) -> IPAddress | None:
        node = fields.get(name)
        if node is None:
            return None
        return self.node_ip(node, join(fields.path, name))

    def node_ip(self, node: yaml.Node, path: str) -> IPAddress | None:
        value = self.node_text(node, path)
        if value is None:
            return None
        try:
            return ipaddress.ip_address(value)
        except ValueError:
            self.error(node, path, f"'{value}' is not a valid IP address")
            return None

    def node_network(self, node: yaml.Node, path: str) -> IPNetwork | None:
        value = self.node_text(node, path)
        if value is None:
            return None
        if "/" not in value:
            self.error(node, path, f"'{value}' is not a valid subnet (write it as address/prefix, e.g. 10.1.2.0/24)")
            return None
        try:
            return ipaddress.ip_network(value, strict=True)
        except ValueError:
            pass
        try:
            loose = ipaddress.ip_network(value, strict=False)
        except ValueError:
            self.error(node, path, f"'{value}' is not a valid subnet")
            return None
        self.error(node, path, f"'{value}' has host bits set (did you mean {loose}?)")
        return None

    def mac(self, fields: Fields, name: str) -> str | None:
        node = fields.get(name)
        if node is None:
            return None
        path = join(fields.path, name)
        value = self.node_text(node, path)
        if value is None:
            return None
        try:
            return normalize_mac(value)
        except ValueError as exc:
            self.error(node, path, str(exc))
            return None

    def ref(self, fields: Fields, name: str) -> SecretRef | None:
        """A secret reference; ``plain:`` is accepted with a warning. Values are never echoed."""
        node = fields.get(name)
        if node is None:
            return None
        path = join(fields.path, name)
        if not isinstance(node, yaml.ScalarNode) or is_null(node) or not node.value.strip():
            self.error(node, path, "expected a secret reference (env:NAME, secret:NAME, file:PATH)")
            return None
        try:
            ref = parse_ref(node.value.strip())
        except SecretError as exc:
            self.error(node, path, str(exc))
            return None
        if ref.is_inline:
            self.warning(node, path, "inline secret (plain:); move it to the secrets file and write secret:NAME")
        return ref


def is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG and node.value in _NULLS


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if is_null(node):
        return "nothing"
    # Never echo the value: where a mapping was expected it may be an inline secret.
    return "a single value"


def _suggest(name: str, allowed: Collection[str]) -> str:
    close = difflib.get_close_matches(name, sorted(allowed), n=1, cutoff=0.6)
    if close:
        return f" (did you mean '{close[0]}'?)"
    return f" (allowed: {', '.join(sorted(allowed))})"
