"""A config candidate the user may not read is not theirs: it is skipped, not an internal error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def test_a_candidate_under_a_home_the_user_cannot_enter_is_skipped(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to run the check as another user (nobody)")
    home = tmp_path / "home"
    (home / ".config" / "netguard").mkdir(parents=True)
    (home / ".config" / "netguard" / "netguard.yaml").write_text("state: {}\n")
    home.chmod(0o700)  # root's, like /root under `sudo` without -H
    tmp_path.chmod(0o755)
    code = "from netguard.config import find_config; print(find_config(None))"
    done = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", code],
        env={**os.environ, "XDG_CONFIG_HOME": str(home / ".config"), "PYTHONPATH": str(ROOT)},
        cwd="/",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() in ("None", "/etc/netguard/netguard.yaml")
