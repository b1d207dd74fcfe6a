"""The SNMP agent of a lab switch: a net-snmp ``pass_persist`` helper.

``snmpd`` (Debian's, one per lab switch, listening on the switch's loopback
management address) does the SNMP protocol: v2c and v3, GETBULK, access
control. For the subtrees it hands over (``.1.3.6.1.2.1`` below the system
group, and LLDP ``.1.0.8802.1.1.2``) it starts this program once and talks to
it over stdin/stdout::

    PING                    -> PONG
    get / OID               -> OID / TYPE / VALUE, or NONE
    getnext / OID           -> the next OID in this subtree, or NONE
    set / OID / TYPE VALUE  -> DONE, or an error word (not-writable, wrong-value ...)

Answers come from a snapshot of the switch namespace (see
:mod:`netguard.lab.switchstate` and :mod:`netguard.lab.mib`). When to take a
new snapshot: a walk must see one consistent table, yet a walk started after
some traffic must see that traffic. So the snapshot is kept while requests
continue from OIDs this process just returned (a walk or a GETBULK, even with
several columns interleaved) and is at most ``WALK_TTL`` old; any other
request, and any SET, reads the namespace again. Nothing is written to stderr:
snmpd reads it as part of the answer.

Run by snmpd as ``python -m netguard.lab.agent CONFIG.json ROOT_OID``.
"""

from __future__ import annotations

import json
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from netguard.lab.mib import (
    DOT1Q_PVID,
    IF_ADMIN_STATUS,
    LldpNeighbour,
    MibView,
    Oid,
    SwitchInfo,
    build_mib,
    format_oid,
    parse_oid,
)
from netguard.lab.switchstate import SetRefused, read_snapshot, set_admin_status, set_pvid

WALK_TTL = 10.0
FRESH = 0.05  # requests this close together (one multi-varbind PDU) share a snapshot
RECENT = 512


class Agent:
    def __init__(self, namespace: str, info: SwitchInfo, lldp: tuple[LldpNeighbour, ...], root: Oid) -> None:
        self.namespace = namespace
        self.info = info
        self.lldp = lldp
        self.root = root
        self.view: MibView | None = None
        self.taken = 0.0
        self.recent: deque[Oid] = deque(maxlen=RECENT)

    @classmethod
    def from_config(cls, path: Path, root: str) -> Agent:
        raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        info = SwitchInfo(
            name=raw["name"],
            description=raw["description"],
            base_mac=raw["base_mac"],
            vlan_names=tuple((int(v), str(n)) for v, n in raw.get("vlan_names", {}).items()),
        )
        lldp = tuple(LldpNeighbour(**nb) for nb in raw.get("lldp", []))
        return cls(raw["namespace"], info, lldp, parse_oid(root))

    def _view(self, oid: Oid, continuing: bool) -> MibView:
        age = time.monotonic() - self.taken
        if self.view is None or age > WALK_TTL or (not continuing and age > FRESH):
            self.view = MibView(build_mib(read_snapshot(self.namespace, self.info, self.lldp)))
            self.taken = time.monotonic()
            self.recent.clear()
        return self.view

    def get(self, oid: Oid) -> tuple[Oid, str, str] | None:
        return self._view(oid, continuing=False).get(oid)

    def getnext(self, oid: Oid) -> tuple[Oid, str, str] | None:
        entry = self._view(oid, continuing=oid in self.recent).next(oid, self.root)
        if entry is not None:
            self.recent.append(entry[0])
        return entry

    def set(self, oid: Oid, kind: str, value: str) -> str:
        self.view = None  # whatever happens, the next read sees the namespace as it is now
        admin = oid[:-1] == IF_ADMIN_STATUS and len(oid) == len(IF_ADMIN_STATUS) + 1
        pvid = oid[:-1] == DOT1Q_PVID and len(oid) == len(DOT1Q_PVID) + 1
        if not (admin or pvid):
            return "not-writable"
        if kind not in (("integer",) if admin else ("gauge", "integer")):
            return "wrong-type"
        try:
            number = int(value)
        except ValueError:
            return "wrong-type"
        try:
            if admin:
                set_admin_status(self.namespace, oid[-1], number)
            else:
                set_pvid(self.namespace, oid[-1], number)
        except SetRefused as refused:
            return refused.reason
        return "DONE"


def serve(agent: Agent, stdin: IO[str], stdout: IO[str]) -> None:
    def say(*lines: str) -> None:
        stdout.write("".join(line + "\n" for line in lines))
        stdout.flush()

    def answer(entry: tuple[Oid, str, str] | None) -> None:
        if entry is None:
            say("NONE")
        else:
            say(format_oid(entry[0]), entry[1], entry[2])

    read: Callable[[], str] = stdin.readline
    while True:
        command = read()
        if not command:
            return  # snmpd went away
        command = command.strip().lower()
        if command == "ping":
            say("PONG")
            continue
        if command not in ("get", "getnext", "set"):
            continue  # blank lines between requests
        try:
            oid = parse_oid(read())
        except ValueError:
            say("NONE")
            continue
        try:
            if command == "set":
                kind, _, value = read().strip().partition(" ")
                say(agent.set(oid, kind.lower(), value.strip()))
            elif command == "get":
                answer(agent.get(oid))
            else:
                answer(agent.getnext(oid))
        except Exception:
            # A namespace that vanished (lab going down) or an iproute2 hiccup: answer, never die.
            say("NONE" if command != "set" else "inconsistent-value")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        return 2
    serve(Agent.from_config(Path(argv[0]), argv[1]), sys.stdin, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
