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
from netguard.lab import build, helpers, netns
from netguard.lab.netns import LabError
from netguard.lab.recable import move_host
from netguard.lab.state import load_state
from tests.harness.lab import ping, require_lab_tools, running_lab, snmp

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
    assert helpers.stray_helpers(lab_dir) == []  # the relay and the planted sshd too


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
        assert len(helpers.stray_helpers(lab_dir.resolve())) == 2  # the relay and the planted sshd
        shown = runner.invoke(main, ["lab", "status", "--dir", str(lab_dir)])
        assert shown.exit_code == 0, shown.output
        assert f"scanner: ng-{name}-scan" in shown.output and "agents reachable" in shown.output
        assert "SSH open to all at" in shown.output
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


@pytest.mark.parametrize("when", ["cabling hosts", "starting agents"])
def test_down_after_a_crash_removes_what_up_had_made(tmp_path: Path, when: str) -> None:
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
            if state is not None and (
                len(state.namespaces) >= 12 if when == "cabling hosts" else len(state.agents) >= 2
            ):
                break
            time.sleep(0.01)
        else:
            pytest.fail("lab up never got half-way")
    finally:
        # The whole process group, like a crash or a kill of the job: an ``ip`` child left running
        # would otherwise finish creating its namespace after ``down`` had looked.
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert netns.list_netns(f"ng-{name}-")  # the crash left namespaces behind
    if when == "starting agents":
        assert _snmpd_serving(tmp_path.resolve())  # and agents, in their own sessions
    result = build.lab_down(tmp_path)
    assert result.namespaces
    _assert_gone(name, tmp_path.resolve())


def test_a_moved_host_is_learned_on_its_new_port(tmp_path: Path) -> None:
    with running_lab(tmp_path, townships=1, villages=1) as lab:
        rogue = next(h for h in lab.status.hosts if h.switch == "lab-thc1-acc1" and h.role == "rogue")
        address, namespace = lab.switch("lab-thc1-acc1")
        new_port = move_host(lab.dir, rogue.namespace)
        assert new_port != rogue.port
        ports = {str(raw["ifname"]) for raw in netns.ip_json(namespace, "link", "show")}
        assert new_port in ports and rogue.port not in ports
        moved = next(h for h in lab.refresh().hosts if h.namespace == rogue.namespace)
        assert (moved.port, moved.vlan, moved.port_up) == (new_port, 10, True)
        mac = ".".join(str(int(b, 16)) for b in rogue.mac.split(":"))
        fdb = snmp("snmpget", address, lab.community, f".1.3.6.1.2.1.17.7.1.2.2.1.2.10.{mac}")
        assert fdb.stdout.strip().endswith(f"INTEGER: {new_port[1:]}")
        assert ping(rogue.namespace, rogue.gateway)
