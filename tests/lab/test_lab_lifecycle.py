"""lab up / down through the CLI: files, refusal without root, and clean removal even after a crash."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import commands.lab_net  # noqa: F401 - registers lab up/status/down on the lab group
from cli import main
from netguard.lab import build, netns
from netguard.lab.netns import LabError
from netguard.lab.state import load_state
from tests.harness.lab import require_lab_tools

ROOT = Path(__file__).resolve().parents[2]


def _snmpd_serving(lab_dir: Path) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if b"snmpd" in cmdline.split(b"\0")[0] and str(lab_dir).encode() in cmdline and ") Z" not in stat:
                pids.append(int(entry))
    return pids


def _assert_gone(name: str, lab_dir: Path) -> None:
    assert netns.list_netns(f"ng-{name}-") == []
    assert _snmpd_serving(lab_dir) == []


def test_up_status_down_through_the_cli(tmp_path: Path) -> None:
    require_lab_tools()
    name = "t" + secrets.token_hex(4)
    lab_dir = tmp_path / "lab"
    runner = CliRunner()
    try:
        up = runner.invoke(
            main, ["lab", "up", "--dir", str(lab_dir), "--name", name, "--townships", "1", "--villages", "1", "--json"]
        )
        assert up.exit_code == 0, up.output
        paths = json.loads(up.output)
        assert Path(paths["config"]).is_file() and Path(paths["inventory"]).is_file()
        validate = runner.invoke(main, ["--config", paths["config"], "inventory", "validate"])
        assert validate.exit_code == 0, validate.output
        assert len(netns.list_netns(f"ng-{name}-")) == paths["namespaces"]
        assert len(_snmpd_serving(lab_dir.resolve())) == paths["agents"] == 2
    finally:
        down = runner.invoke(main, ["lab", "down", "--dir", str(lab_dir), "--json"])
    assert down.exit_code == 0, down.output
    removed = json.loads(down.output)
    assert len(removed["namespaces"]) == paths["namespaces"]
    _assert_gone(name, lab_dir.resolve())
    again = runner.invoke(main, ["lab", "down", "--dir", str(lab_dir)])
    assert again.exit_code == 0 and "nothing to remove" in again.output
    status = runner.invoke(main, ["lab", "status", "--dir", str(lab_dir)])
    assert status.exit_code == 2 and "no lab" in status.output


def test_without_root_up_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    result = CliRunner().invoke(main, ["lab", "up", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "needs root" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_failure_half_way_undoes_everything(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    require_lab_tools()
    name = "t" + secrets.token_hex(4)
    real_start = build._start_agent
    started: list[str] = []

    def start_then_fail(*args: object) -> None:
        if started:
            raise LabError("simulated failure while starting the second agent")
        real_start(*args)  # type: ignore[arg-type]
        started.append("one")

    monkeypatch.setattr(build, "_start_agent", start_then_fail)
    with pytest.raises(LabError, match="undone: simulated failure"):
        build.lab_up(tmp_path, name=name, townships=1, villages=2)
    assert started == ["one"]
    _assert_gone(name, tmp_path.resolve())
    assert load_state(tmp_path) is None


def test_down_after_a_crash_removes_what_up_had_made(tmp_path: Path) -> None:
    """``up`` killed with SIGKILL half-way: the state file still names what exists."""
    require_lab_tools()
    name = "t" + secrets.token_hex(4)
    code = (
        "import sys; from pathlib import Path; from netguard.lab.build import lab_up; "
        f"lab_up(Path(sys.argv[1]), name='{name}', townships=2, villages=2)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            state = load_state(tmp_path)
            if state is not None and len(state.namespaces) >= 12:
                break
            time.sleep(0.01)
        else:
            pytest.fail("lab up never got half-way")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert netns.list_netns(f"ng-{name}-")  # the crash left namespaces behind
    result = build.lab_down(tmp_path)
    assert result.namespaces
    _assert_gone(name, tmp_path.resolve())
