"""Default locations, following the XDG base directory convention."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """Where state and the embedded event store live unless configured otherwise."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "netguard"


def config_candidates() -> list[Path]:
    """Configuration files looked for, in order, when neither --config nor NETGUARD_CONFIG is set."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return [Path("netguard.yaml"), Path(base) / "netguard" / "netguard.yaml", Path("/etc/netguard/netguard.yaml")]
