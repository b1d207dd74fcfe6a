"""The lab's state file: what ``lab up`` made, written *before* it makes it.

``DIR/lab-state.json`` records the lab's name and size (the plan is a pure
function of them, see :mod:`netguard.lab.topology`), every namespace it is
about to create and every agent process it started. Each record is saved
(atomically: a temporary file renamed over the old one) before the action, so
``lab down`` removes exactly what ``up`` made even after a crash half-way.
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netguard.lab.netns import LabError

STATE_FILE = "lab-state.json"


@dataclass(frozen=True)
class AgentRecord:
    site: str
    pid: int
    conf: str
    address: str


@dataclass(frozen=True)
class HelperRecord:
    """A lab process other than an agent (the management relay, the planted sshd): stopped by ``down``.

    ``marker`` is a path only this process has on its command line, so a
    recycled pid is never killed.
    """

    name: str
    pid: int
    marker: str


@dataclass
class LabState:
    """Mutable on purpose: it grows as ``up`` proceeds, and is saved at every step."""

    path: Path
    name: str
    townships: int
    villages: int
    mgmt_block: ipaddress.IPv4Network
    namespaces: list[str] = field(default_factory=list)
    agents: list[AgentRecord] = field(default_factory=list)
    helpers: list[HelperRecord] = field(default_factory=list)
    moved: dict[str, str] = field(default_factory=dict)  # host namespace -> the port it was re-cabled to
    complete: bool = False
    up_seconds: float | None = None

    @property
    def dir(self) -> Path:
        return self.path.parent

    def save(self) -> None:
        data: dict[str, Any] = {
            "name": self.name,
            "townships": self.townships,
            "villages": self.villages,
            "mgmt_block": str(self.mgmt_block),
            "namespaces": self.namespaces,
            "agents": [a.__dict__ for a in self.agents],
            "helpers": [h.__dict__ for h in self.helpers],
            "moved": self.moved,
            "complete": self.complete,
            "up_seconds": self.up_seconds,
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        os.replace(tmp, self.path)

    def add_namespace(self, name: str) -> None:
        self.namespaces.append(name)
        self.save()

    def add_agent(self, record: AgentRecord) -> None:
        self.agents.append(record)
        self.save()

    def add_helper(self, record: HelperRecord) -> None:
        self.helpers.append(record)
        self.save()

    def drop_helper(self, name: str) -> None:
        self.helpers = [h for h in self.helpers if h.name != name]
        self.save()


def state_path(lab_dir: Path) -> Path:
    return lab_dir / STATE_FILE


def load_state(lab_dir: Path) -> LabState | None:
    path = state_path(lab_dir)
    if not path.exists():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return LabState(
            path=path,
            name=str(raw["name"]),
            townships=int(raw["townships"]),
            villages=int(raw["villages"]),
            mgmt_block=ipaddress.IPv4Network(raw["mgmt_block"]),
            namespaces=[str(n) for n in raw.get("namespaces", [])],
            agents=[AgentRecord(**a) for a in raw.get("agents", [])],
            helpers=[HelperRecord(**h) for h in raw.get("helpers", [])],
            moved={str(k): str(v) for k, v in raw.get("moved", {}).items()},
            complete=bool(raw.get("complete", False)),
            up_seconds=raw.get("up_seconds"),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LabError(
            f"{path}: not a lab state file NetGuard can read ({type(exc).__name__}); remove it by hand"
        ) from None
