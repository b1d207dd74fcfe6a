"""Installing the daily scan into a temporary --root: both kinds, idempotence, changes, status, remove."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from netguard.schedule import ScheduleError, ScheduleSpec, detect_kind, install, make_spec, remove, status
from netguard.schedule.install import under
from netguard.schedule.render import CRON, CRON_PATH, MANIFEST, SERVICE, TIMER, WRAPPER, Kind

ROOT = Path(__file__).resolve().parents[2]
# Units the generated ones reach through their dependencies (timers.target, network-online.target
# and the default dependencies of a service and a timer): copied into the --root for verify.
_SYSTEM_UNITS = ("sysinit.target", "basic.target", "timers.target", "network-online.target", "shutdown.target")


def spec(kind: Kind, at: str = "02:30", keep: int = 7, reports: str = "/var/lib/netguard/reports") -> ScheduleSpec:
    return make_spec(
        at=at, reports=reports, keep=keep, config="/etc/netguard/netguard.yaml", netguard="/usr/bin/netguard", kind=kind
    )


def no_commands(argv: Sequence[str]) -> None:
    raise AssertionError(f"no command may run with a --root: {argv}")


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o7777


def test_cron_install_writes_a_cron_d_line_that_parses(tmp_path: Path) -> None:
    outcome = install(spec("cron", at="3:05"), tmp_path, manage=False, run=no_commands)
    cron = under(tmp_path, CRON)
    assert set(outcome.written) == {cron, under(tmp_path, WRAPPER), under(tmp_path, MANIFEST)}
    assert outcome.first and not outcome.changes
    assert mode(cron) == 0o644 and mode(under(tmp_path, WRAPPER)) == 0o755
    assert mode(outcome.reports) == 0o750 and outcome.reports == tmp_path / "var/lib/netguard/reports"
    assert not under(tmp_path, SERVICE).exists() and not under(tmp_path, TIMER).exists()

    text = cron.read_text(encoding="utf-8")
    assert text.endswith("\n")  # cron ignores a last line without a newline
    env = dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
    assert env["PATH"] == CRON_PATH and env["SHELL"] == "/bin/sh"
    jobs = [line.split() for line in text.splitlines() if line and not line.startswith("#") and "=" not in line]
    assert len(jobs) == 1
    minute, hour, dom, month, dow, user, *command = jobs[0]
    assert (int(minute), int(hour), dom, month, dow, user) == (5, 3, "*", "*", "*", "root")
    assert command == [str(WRAPPER)]
    assert under(tmp_path, WRAPPER).is_file()


def test_systemd_install_writes_a_oneshot_service_and_a_persistent_daily_timer(tmp_path: Path) -> None:
    install(spec("systemd", at="23:59"), tmp_path, manage=False, run=no_commands)
    service = under(tmp_path, SERVICE).read_text(encoding="utf-8")
    timer = under(tmp_path, TIMER).read_text(encoding="utf-8")
    assert "Type=oneshot" in service.splitlines()
    assert f"ExecStart={WRAPPER}" in service.splitlines()
    assert "OnCalendar=*-*-* 23:59:00" in timer.splitlines()
    assert "Persistent=true" in timer.splitlines()
    assert "WantedBy=timers.target" in timer.splitlines()
    assert not under(tmp_path, CRON).exists()

    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze (Debian package systemd) is not installed: the units were not verified")
    units = tmp_path / "usr/lib/systemd/system"
    units.mkdir(parents=True)
    for name in _SYSTEM_UNITS:
        shutil.copy(Path("/usr/lib/systemd/system") / name, units / name)
    done = subprocess.run(
        [analyze, "verify", "--man=no", f"--root={tmp_path}", str(SERVICE), str(TIMER)],
        capture_output=True,
        text=True,
        check=False,
    )
    # verify exits 0 on settings it ignores with a warning: nothing on stderr is the real pass.
    assert (done.returncode, done.stderr) == (0, "")


def test_the_same_options_again_change_nothing(tmp_path: Path) -> None:
    install(spec("systemd"), tmp_path, manage=False, run=no_commands)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    again = install(spec("systemd"), tmp_path, manage=False, run=no_commands)
    assert not again.changed and not again.written and not again.changes and not again.first
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()} == before


def test_other_options_rewrite_and_say_what_changed(tmp_path: Path) -> None:
    install(spec("systemd", at="02:30", keep=7), tmp_path, manage=False, run=no_commands)
    outcome = install(spec("systemd", at="04:15", keep=30), tmp_path, manage=False, run=no_commands)
    assert set(outcome.changes) == {"at: 02:30 -> 04:15", "keep: 7 -> 30"}
    assert under(tmp_path, TIMER) in outcome.written
    assert "OnCalendar=*-*-* 04:15:00" in under(tmp_path, TIMER).read_text(encoding="utf-8")
    assert "KEEP=30" in under(tmp_path, WRAPPER).read_text(encoding="utf-8")
    assert under(tmp_path, SERVICE) in outcome.unchanged  # the service does not carry either option


def test_switching_kind_removes_the_old_kinds_files(tmp_path: Path) -> None:
    install(spec("systemd"), tmp_path, manage=False, run=no_commands)
    outcome = install(spec("cron"), tmp_path, manage=False, run=no_commands)
    assert set(outcome.removed) == {under(tmp_path, SERVICE), under(tmp_path, TIMER)}
    assert "kind: systemd -> cron" in outcome.changes
    assert under(tmp_path, CRON).exists() and not under(tmp_path, TIMER).exists()


def test_a_live_systemd_install_reloads_and_enables_the_timer_once(tmp_path: Path) -> None:
    calls: list[list[str]] = []
    install(spec("systemd"), tmp_path, manage=True, run=lambda argv: calls.append(list(argv)))
    assert calls == [
        ["systemctl", "daemon-reload"],
        ["systemctl", "enable", "netguard-scan.timer"],
        ["systemctl", "restart", "netguard-scan.timer"],
    ]
    calls.clear()
    install(spec("systemd"), tmp_path, manage=True, run=lambda argv: calls.append(list(argv)))
    assert calls == []  # nothing changed, nothing to reload
    remove(tmp_path, manage=True, run=lambda argv: calls.append(list(argv)))
    assert calls == [["systemctl", "disable", "--now", "netguard-scan.timer"], ["systemctl", "daemon-reload"]]


def test_remove_deletes_exactly_what_install_wrote_and_keeps_the_reports(tmp_path: Path) -> None:
    (tmp_path / "etc/cron.d").mkdir(parents=True)
    neighbour = tmp_path / "etc/cron.d/someone-else"
    neighbour.write_text("0 1 * * * root true\n", encoding="utf-8")
    outcome = install(spec("cron"), tmp_path, manage=False, run=no_commands)
    report = outcome.reports / "scan-20260101-023000.html"
    report.write_text("<html></html>", encoding="utf-8")

    removed = remove(tmp_path, manage=False, run=no_commands)
    assert set(removed) == set(outcome.written)
    assert not any(p.exists() for p in outcome.written)
    assert neighbour.exists() and report.exists()
    assert remove(tmp_path, manage=False, run=no_commands) == ()
    assert not status(tmp_path).installed


def test_a_manifest_naming_other_files_never_deletes_them(tmp_path: Path) -> None:
    install(spec("cron"), tmp_path, manage=False, run=no_commands)
    victim = tmp_path / "etc/passwd"
    victim.write_text("root:x:0:0::/root:/bin/sh\n", encoding="utf-8")
    manifest = under(tmp_path, MANIFEST)
    body = json.loads(manifest.read_text(encoding="utf-8"))
    body["files"].append("/etc/passwd")
    manifest.write_text(json.dumps(body), encoding="utf-8")
    remove(tmp_path, manage=False, run=no_commands)
    assert victim.exists()


def test_status_reports_kind_schedule_missing_files_and_the_last_run(tmp_path: Path) -> None:
    assert not status(tmp_path).installed
    outcome = install(spec("systemd", at="01:00", keep=3), tmp_path, manage=False, run=no_commands)
    for stamp in ("20260101-010000", "20260102-010000"):
        (outcome.reports / f"scan-{stamp}.html").write_text("x", encoding="utf-8")
    (outcome.reports / "last-run.json").write_text(
        json.dumps({"stamp": "20260102-010000", "started": "s", "finished": "f", "exit_code": 1}), encoding="utf-8"
    )
    under(tmp_path, TIMER).unlink()
    st = status(tmp_path)
    assert st.installed and st.options["kind"] == "systemd" and st.options["at"] == "01:00"
    assert st.reports[0].name == "scan-20260102-010000.html" and len(st.reports) == 2
    assert st.last_run is not None and st.last_run.exit_code == 1
    assert st.problems == (f"{under(tmp_path, TIMER)}: missing",)


def test_a_corrupt_manifest_is_one_clear_error(tmp_path: Path) -> None:
    manifest = under(tmp_path, MANIFEST)
    manifest.parent.mkdir(parents=True)
    manifest.write_text("{not json", encoding="utf-8")
    with pytest.raises(ScheduleError, match=r"schedule\.json: not a schedule manifest"):
        status(tmp_path)


@pytest.mark.parametrize(
    ("at", "keep", "reports", "message"),
    [
        ("24:00", 7, "/r", "--at '24:00': expected HH:MM"),
        ("2h", 7, "/r", "--at '2h'"),
        ("02:30", 0, "/r", "--keep 0"),
        ("02:30", 7, "/r with space", "--reports '/r with space'"),
        ("02:30", 7, "/r/%n", "--reports '/r/%n'"),  # a systemd specifier
        ("02:30", 7, "relative", "--reports 'relative'"),
    ],
)
def test_bad_options_are_refused_naming_the_option(at: str, keep: int, reports: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message.replace("(", r"\(")):
        spec("cron", at=at, keep=keep, reports=reports)


def test_detect_kind_looks_for_a_running_systemd(tmp_path: Path) -> None:
    assert detect_kind(tmp_path) == "cron"
    (tmp_path / "run/systemd/system").mkdir(parents=True)
    assert detect_kind(tmp_path) == "systemd"


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def netguard(*args: str) -> Ran:
    result = CliRunner().invoke(main, list(args))
    return Ran(result.exit_code, result.stdout, result.stderr)


def test_the_cli_prints_every_path_and_status_json(tmp_path: Path) -> None:
    config = tmp_path / "netguard.yaml"
    config.write_text("{}\n", encoding="utf-8")
    root = tmp_path / "root"
    common = ["--config", str(config), "--netguard", "/usr/bin/netguard", "--root", str(root), "--at", "06:00"]
    first = netguard("schedule", "install", "--cron", *common)
    assert first.returncode == 0, first.stderr
    for path in (CRON, WRAPPER, MANIFEST):
        assert f"wrote {under(root, path)}" in first.stdout
    assert netguard("schedule", "install", "--cron", *common).stdout.startswith("schedule unchanged")
    changed = netguard("schedule", "install", "--cron", *common[:-1], "07:00")
    assert "changed at: 06:00 -> 07:00" in changed.stdout

    shown = json.loads(netguard("schedule", "status", "--root", str(root), "--json").stdout)
    assert shown["installed"] and shown["kind"] == "cron" and shown["at"] == "07:00"
    assert shown["config"] == str(config) and shown["last_run"] is None

    gone = netguard("schedule", "remove", "--root", str(root))
    assert f"removed {under(root, CRON)}" in gone.stdout
    assert json.loads(netguard("schedule", "status", "--root", str(root), "--json").stdout)["installed"] is False


def test_the_cli_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    done = netguard(
        "schedule", "install", "--root", str(tmp_path), "--at", "25:00", "--config", "/x.yaml", "--netguard", "/n"
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["error: --at '25:00': expected HH:MM, 24-hour (e.g. 02:30)"]


def test_an_unwritable_root_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(ScheduleError, match=r"Not a directory \(install and remove need root, or --root DIR\)"):
        install(spec("cron"), blocker, manage=False, run=no_commands)


def test_the_schedule_uses_the_configuration_in_use_by_default(tmp_path: Path) -> None:
    config = tmp_path / "site.yaml"
    config.write_text("{}\n", encoding="utf-8")
    root = tmp_path / "root"
    done = netguard("--config", str(config), "schedule", "install", "--cron", "--root", str(root), "--netguard", "/n")
    assert done.returncode == 0, done.stderr
    assert f"CONFIG={config}\n" in under(root, WRAPPER).read_text(encoding="utf-8")
