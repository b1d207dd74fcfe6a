"""Real MariaDB and PostgreSQL servers, each run once per session with the workload.

``mariadb_run`` / ``postgres_run`` give the log files the real server wrote
(copied out before the server stops) and the list of statements the workload
ran (:mod:`tests.audit.workloads`).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.audit.workloads import Ran, mariadb_workload, postgres_workload
from tests.harness.mariadb import start_mariadb
from tests.harness.peers import PeerUnavailable, require_peer
from tests.harness.postgres import LOG_LINE_PREFIX, start_postgres

DONE_MARKER = "netguard-workload-done"


@dataclass(frozen=True)
class ServerRun:
    logs: dict[str, Path]  # format name -> log file
    ran: list[Ran]
    log_line_prefix: str = ""


def _keep_logs(out: Path, logs: dict[str, Path]) -> dict[str, Path]:
    """Copies of the server's logs (format → log) in ``out``: they outlive the server's directory."""
    return {fmt: Path(shutil.copy(path, out / path.name)) for fmt, path in logs.items()}


@pytest.fixture(scope="session")
def mariadb_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerRun]:
    try:
        server = start_mariadb()
    except PeerUnavailable as exc:
        reason = f"MariaDB unavailable: {exc}"
    else:
        try:
            ran = mariadb_workload(server)
            logs = _keep_logs(
                tmp_path_factory.mktemp("mariadb-logs"),
                {"mysql-general": server.general_log, "mysql-slow": server.slow_log, "mariadb-audit": server.audit_log},
            )
        finally:
            server.stop()
        yield ServerRun(logs, ran)
        return
    require_peer(reason)


def _wait_for_marker(paths: list[Path], timeout: float = 30.0) -> None:
    # The logging collector writes asynchronously; the marker is the last statement.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(p.exists() and DONE_MARKER in p.read_text(errors="replace") for p in paths):
            return
        time.sleep(0.1)
    raise AssertionError(f"PostgreSQL did not log the workload's end marker within {timeout} s")


@pytest.fixture(scope="session")
def postgres_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerRun]:
    try:
        server = start_postgres()
    except PeerUnavailable as exc:
        reason = f"PostgreSQL unavailable: {exc}"
    else:
        try:
            ran = postgres_workload(server)
            _wait_for_marker([server.stderr_log, server.csv_log, server.json_log])
            logs = _keep_logs(
                tmp_path_factory.mktemp("postgres-logs"),
                {
                    "postgres": server.stderr_log,
                    "pgaudit": server.stderr_log,
                    "postgres-csv": server.csv_log,
                    "postgres-json": server.json_log,
                },
            )
        finally:
            server.stop()
        yield ServerRun(logs, ran, LOG_LINE_PREFIX)
        return
    require_peer(reason)
