"""The installed wrapper, run for real: a scan of a loopback county, a dated report, rotation, the exit code.

The county is one institution whose gateway is 127.0.0.1 and no switches, so
the scan touches nothing but loopback. ``scan.audit_retention: 30d`` makes
DJ-AUDIT-RETENTION fail whatever else happens, so the scan's exit code is 1.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from netguard.schedule import install, make_spec
from netguard.schedule.install import under
from netguard.schedule.render import WRAPPER

ROOT = Path(__file__).resolve().parents[2]
STAMP = re.compile(r"^scan-(\d{8}-\d{6})\.html$")

INVENTORY = """\
county: {name: 回环县, code: lo}
data_centre: lo-dc
institutions:
  - id: lo-dc
    name: 回环数据中心
    tier: county
    kind: data-centre
    subnets: [127.0.0.0/8]
    gateway: 127.0.0.1
"""

CONFIG = """\
inventory: inventory.yaml
state: {path: state.db}
events: {backend: sqlite, sqlite: {path: events.db}}
links: {count: 2, interval_ms: 20, timeout_ms: 300}
scan: {audit_retention: 30d}
"""


def _install(tmp_path: Path, keep: int, config: Path) -> tuple[Path, Path]:
    # The netguard the wrapper runs: this checkout's cli.py under the test's interpreter.
    shim = tmp_path / "netguard"
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} {ROOT / "cli.py"} "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    reports = tmp_path / "reports"
    spec = make_spec(at="02:30", reports=str(reports), keep=keep, config=str(config), netguard=str(shim), kind="cron")
    root = tmp_path / "root"
    install(spec, root, manage=False)
    return under(root, WRAPPER), reports


def _run(wrapper: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(wrapper)], capture_output=True, text=True, check=False, timeout=300)


def test_the_wrapper_scans_names_the_report_by_date_keeps_n_and_records_the_exit_code(tmp_path: Path) -> None:
    county = tmp_path / "county"
    county.mkdir()
    (county / "inventory.yaml").write_text(INVENTORY, encoding="utf-8")
    config = county / "netguard.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    wrapper, reports = _install(tmp_path, keep=2, config=config)
    reports.mkdir()
    old = ["20200101-000000", "20200102-000000"]
    for stamp in old:
        for ext in ("html", "json", "err"):
            (reports / f"scan-{stamp}.{ext}").write_text("old", encoding="utf-8")
    (reports / "notes.txt").write_text("not a report", encoding="utf-8")

    done = _run(wrapper)

    assert done.returncode == 1, done.stderr
    stamps = sorted(m.group(1) for n in (p.name for p in reports.iterdir()) if (m := STAMP.match(n)))
    assert len(stamps) == 2 and stamps[0] == old[1]  # the oldest went, the newest old one stays
    new = stamps[1]
    assert not list(reports.glob(f"scan-{old[0]}.*"))
    assert (reports / "notes.txt").exists()

    html = (reports / f"scan-{new}.html").read_text(encoding="utf-8")
    assert "回环县" in html
    body = json.loads((reports / f"scan-{new}.json").read_text(encoding="utf-8"))
    outcomes = {r["control"]: r["result"] for r in body["results"]}
    assert outcomes["DJ-AUDIT-RETENTION"] == "fail"
    assert body["ok"] is False and body["html"] == str(reports / f"scan-{new}.html")

    last = json.loads((reports / "last-run.json").read_text(encoding="utf-8"))
    assert last["stamp"] == new and last["exit_code"] == done.returncode
    assert (reports.stat().st_mode & 0o777) == 0o750
    assert (reports / f"scan-{new}.html").stat().st_mode & 0o027 == 0  # umask 027: no access for others


def test_a_scan_that_cannot_run_records_2_and_keeps_its_error(tmp_path: Path) -> None:
    wrapper, reports = _install(tmp_path, keep=5, config=tmp_path / "missing.yaml")
    done = _run(wrapper)
    assert done.returncode == 2
    last = json.loads((reports / "last-run.json").read_text(encoding="utf-8"))
    assert last["exit_code"] == 2
    error = (reports / f"scan-{last['stamp']}.err").read_text(encoding="utf-8")
    assert "missing.yaml" in error and "Traceback" not in error
