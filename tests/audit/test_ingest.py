"""``netguard audit ingest``: real log files, the real SQLite event store, a real follower process."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from elasticsearch import Elasticsearch

from audit.follow import LogFollower
from audit.formats import ParseOptions
from audit.pipeline import Pipeline
from audit.reader import Counts, audit_file
from audit.records import BadLine
from audit.settings import AUDIT, AuditSettings, LogSource
from audit.timestamps import zone
from cli import main
from netguard.config import load_config
from netguard.errors import ConfigError
from netguard.events.es_store import ElasticsearchEventStore
from netguard.events.sink import EventSink
from netguard.events.sqlite_store import SQLiteEventStore
from netguard.events.store import EventStore
from tests.audit.conftest import ServerRun
from tests.harness.elasticsearch import EsNode

ROOT = Path(__file__).resolve().parents[2]
BANNER = (
    "/usr/sbin/mariadbd, Version: 10.11.6-MariaDB-0+deb12u1 (Debian 12). started with:\n"
    "Tcp port: 3306  Unix socket: /run/mysqld/mysqld.sock\n"
    "Time\t\t    Id Command\tArgument\n"
)
ARGS = ("audit", "ingest", "--format", "mysql-general", "--timezone", "Asia/Shanghai", "--source", "his")


class GeneralLog:
    """A MariaDB-style general log written by the test, which knows the offset of every statement."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offsets: dict[int, str] = {}  # statement offset -> text
        path.write_text(BANNER + "241001 10:00:00\t    5 Connect\tapp@10.0.0.5 on his using TCP/IP\n")

    def append(self, count: int, start: int = 0) -> None:
        with self.path.open("ab") as f:
            for i in range(start, start + count):
                text = f"SELECT name FROM patient WHERE id = {i}" + ("\n  AND ward = 3" if i % 7 == 0 else "")
                self.offsets[f.tell()] = text
                f.write(f"\t\t    5 Query\t{text}\n".encode())

    def quit(self) -> None:
        with self.path.open("ab") as f:
            f.write(b"\t\t    5 Quit\t\n")


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "netguard.yaml"
    path.write_text("state:\n  path: state.db\nevents:\n  sqlite:\n    path: events.db\n", encoding="utf-8")
    return path


def ingest(cfg: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(cfg), *ARGS, *args])


def stored(cfg: Path) -> list[tuple[int, str]]:
    """(offset, masked statement text) of every sql event stored, sorted."""
    store = SQLiteEventStore(cfg.parent / "events.db")
    try:
        return sorted(
            (int(e.get("log.offset")), str(e.get("db.query.text"))) for e in store.iter_search("", kinds=("sql",))
        )
    finally:
        store.close()


def offsets(cfg: Path) -> list[int]:
    return [o for o, _ in stored(cfg)]


def count(cfg: Path) -> int:
    if not (cfg.parent / "events.db").exists():
        return 0
    store = SQLiteEventStore(cfg.parent / "events.db")
    try:
        return store.count("", kinds=("sql",))
    finally:
        store.close()


def wait_for(cfg: Path, n: int, timeout: float = 120.0) -> int:
    deadline = time.monotonic() + timeout
    while (have := count(cfg)) < n and time.monotonic() < deadline:
        time.sleep(0.2)
    return have


def follower(cfg: Path, *files: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "cli", "--config", str(cfg), *ARGS, "--follow", *map(str, files)]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_ingest_once_again_and_appended(cfg: Path, tmp_path: Path) -> None:
    log = GeneralLog(tmp_path / "general.log")
    log.append(300)
    first = ingest(cfg, str(log.path))
    assert first.exit_code == 0, first.output
    assert "300 statements, 0 bad lines" in first.output
    assert "300 stored, 0 duplicates" in first.output
    again = ingest(cfg, str(log.path))
    assert "0 stored" in again.output
    assert count(cfg) == 300
    log.append(40, start=300)
    more = ingest(cfg, str(log.path))
    assert "40 stored" in more.output
    assert offsets(cfg) == sorted(log.offsets)
    # Statements after the resume point keep the user and client of the connection opened before it.
    store = SQLiteEventStore(cfg.parent / "events.db")
    try:
        assert store.count("user.name:app AND source.ip:10.0.0.5", kinds=("sql",)) == 340
    finally:
        store.close()


def test_ingest_puts_the_garbage_collector_back_as_it_found_it(cfg: Path, tmp_path: Path) -> None:
    # audit ingest makes full collections rarer while it runs; a caller in the same process keeps its settings.
    before = gc.get_threshold()
    log = GeneralLog(tmp_path / "general.log")
    log.append(5)
    try:
        gc.set_threshold(555, 7, 3)
        assert ingest(cfg, str(log.path)).exit_code == 0
        assert gc.get_threshold() == (555, 7, 3)
    finally:
        gc.set_threshold(*before)
    assert count(cfg) == 5


def test_ingest_puts_the_garbage_collector_back_when_it_fails(cfg: Path, tmp_path: Path) -> None:
    # Off the main thread, installing the SIGTERM handler raises: the GC settings must still come back.
    before = gc.get_threshold()
    log = GeneralLog(tmp_path / "general.log")
    log.append(5)
    results: list[Result] = []
    try:
        gc.set_threshold(555, 7, 3)
        thread = threading.Thread(target=lambda: results.append(ingest(cfg, str(log.path))))
        thread.start()
        thread.join()
        assert results and results[0].exit_code != 0
        assert gc.get_threshold() == (555, 7, 3)
    finally:
        gc.set_threshold(*before)


def test_a_statement_cut_at_the_end_is_stored_once_whole(cfg: Path, tmp_path: Path) -> None:
    log = GeneralLog(tmp_path / "general.log")
    log.append(5)
    with log.path.open("ab") as f:
        f.write(b"\t\t    5 Query\tSELECT secret FROM pati")
    assert ingest(cfg, str(log.path)).exit_code == 0
    # The entry before the cut line is held too: the cut line might have been its continuation.
    assert len(stored(cfg)) == 4
    with log.path.open("ab") as f:
        f.write(b"ent WHERE id = 99\n\t\t    5 Quit\t\n")
    assert ingest(cfg, str(log.path)).exit_code == 0
    texts = [t for _, t in stored(cfg)]
    assert len(texts) == 6
    assert "SELECT secret FROM patient WHERE id = ?" in texts


def test_truncated_file_is_read_again_from_zero(cfg: Path, tmp_path: Path) -> None:
    log = GeneralLog(tmp_path / "general.log")
    log.append(50)
    ingest(cfg, str(log.path))
    log = GeneralLog(log.path)  # rewritten shorter: `> general.log`, then new entries
    log.append(10, start=1000)
    out = ingest(cfg, str(log.path))
    assert "10 statements" in out.output and "10 stored" in out.output
    assert count(cfg) == 60


def test_bad_lines_are_counted_and_exit_1(cfg: Path, tmp_path: Path) -> None:
    log = GeneralLog(tmp_path / "general.log")
    log.append(3)
    with log.path.open("ab") as f:
        f.write(b"\x00\x01\xff garbage\n")
    log.append(2, start=3)
    out = ingest(cfg, str(log.path))
    assert out.exit_code == 1
    assert "5 statements, 1 bad line" in out.output
    assert "NUL bytes" in out.output
    assert count(cfg) == 5


def test_rotation_while_following_loses_and_doubles_nothing(cfg: Path, tmp_path: Path) -> None:
    log = GeneralLog(tmp_path / "general.log")
    log.append(200)
    proc = follower(cfg, log.path)
    try:
        assert wait_for(cfg, 199) >= 199  # the last entry waits for the next one, or for the file's end
        with log.path.open("ab") as old:
            rotated = log.path.with_name("general.log.1")
            log.path.rename(rotated)
            after_rename = old.tell()
            old.write(b"\t\t    5 Query\tSELECT 'written after the rename'\n")  # the server still has it open
        new = GeneralLog(log.path)
        new.append(100, start=5000)
        new.quit()
        assert wait_for(cfg, 301) >= 301
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    assert offsets(cfg) == sorted([*log.offsets, after_rename, *new.offsets])
    assert "SELECT ?" in [t for _, t in stored(cfg)]


def test_sigkill_mid_file_then_restart_stores_each_statement_once(cfg: Path, tmp_path: Path) -> None:
    log = GeneralLog(tmp_path / "general.log")
    log.append(30_000)
    proc = follower(cfg, log.path)
    try:
        assert wait_for(cfg, 1) >= 1
    finally:
        proc.kill()
        proc.wait(timeout=30)
    proc = follower(cfg, log.path)
    try:
        assert wait_for(cfg, 29_999, timeout=300) >= 29_999
        log.quit()  # the last statement is known complete once the next entry starts
        assert wait_for(cfg, 30_000) >= 30_000
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    assert offsets(cfg) == sorted(log.offsets)


def test_real_mariadb_general_log_once(cfg: Path, mariadb_run: ServerRun) -> None:
    path = mariadb_run.logs["mysql-general"]
    counts = Counts()
    options = ParseOptions(source=str(path), tz=zone("Asia/Shanghai"))
    expected = {
        r.statement.offset
        for r in audit_file(path, "mysql-general", options, Pipeline(), counts)
        if not isinstance(r, BadLine)
    }
    out = ingest(cfg, str(path))
    assert out.exit_code == (1 if counts.bad_lines else 0), out.output
    assert offsets(cfg) == sorted(expected)
    again = ingest(cfg, str(path))
    assert "0 stored" in again.output


def test_audit_section_reads_sources_and_wants_a_zone(tmp_path: Path) -> None:
    path = tmp_path / "netguard.yaml"
    path.write_text(
        "audit:\n  sources:\n    his:\n      path: logs/general.log\n      format: mysql-general\n"
        "      timezone: Asia/Shanghai\n      institution: county-hospital\n",
        encoding="utf-8",
    )
    settings = load_config(path).section(AUDIT)
    assert isinstance(settings, AuditSettings)
    his = settings.source("his")
    assert his is not None and his.path == tmp_path / "logs/general.log" and his.institution == "county-hospital"
    path.write_text("audit:\n  sources:\n    his:\n      path: g.log\n      format: mysql-general\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="timezone"):
        load_config(path).section(AUDIT)


def _expected(path: Path, fmt: str, prefix: str) -> list[tuple[int, str]]:
    options = ParseOptions(source=str(path), tz=zone("Asia/Shanghai"), log_line_prefix=prefix or "%m [%p] ")
    return sorted(
        (r.statement.offset, r.masked)
        for r in audit_file(path, fmt, options, Pipeline(), Counts())
        if not isinstance(r, BadLine)
    )


def _ingest_real(cfg: Path, fmt: str, prefix: str, path: Path) -> Result:
    args = ["audit", "ingest", "--format", fmt, "--timezone", "Asia/Shanghai", "--source", "real", str(path)]
    if prefix:
        args += ["--log-line-prefix", prefix]
    return CliRunner().invoke(main, ["--config", str(cfg), *args])


@pytest.mark.parametrize("cut", [0.37, 0.81])
@pytest.mark.parametrize("fmt", ["mysql-general", "mysql-slow", "mariadb-audit"])
def test_real_mariadb_log_cut_mid_write_is_stored_whole_once(
    cfg: Path, tmp_path: Path, mariadb_run: ServerRun, fmt: str, cut: float
) -> None:
    check_cut(cfg, tmp_path, mariadb_run.logs[fmt], fmt, "", cut)


@pytest.mark.parametrize("cut", [0.37, 0.81])
@pytest.mark.parametrize("fmt", ["postgres", "postgres-csv", "postgres-json", "pgaudit"])
def test_real_postgres_log_cut_mid_write_is_stored_whole_once(
    cfg: Path, tmp_path: Path, postgres_run: ServerRun, fmt: str, cut: float
) -> None:
    check_cut(cfg, tmp_path, postgres_run.logs[fmt], fmt, postgres_run.log_line_prefix, cut)


def check_cut(cfg: Path, tmp_path: Path, real: Path, fmt: str, prefix: str, cut: float) -> None:
    """The log as a reader finds it mid-write (cut inside a line), then whole: each statement once, whole."""
    data = real.read_bytes()
    path = tmp_path / real.name
    at = int(len(data) * cut)
    path.write_bytes(data[:at])
    _ingest_real(cfg, fmt, prefix, path)
    with path.open("ab") as f:
        f.write(data[at:])
    _ingest_real(cfg, fmt, prefix, path)
    expected = _expected(path, fmt, prefix)
    assert expected
    assert stored(cfg) == expected


def test_configured_sources_are_read_together_and_searchable(tmp_path: Path) -> None:
    a = GeneralLog(tmp_path / "a.log")
    a.append(30)
    b = GeneralLog(tmp_path / "b.log")
    b.append(20, start=100)
    cfg = tmp_path / "netguard.yaml"
    cfg.write_text(
        "state:\n  path: state.db\nevents:\n  sqlite:\n    path: events.db\naudit:\n  sources:\n"
        "    his-a: {path: a.log, format: mysql-general, timezone: Asia/Shanghai, institution: county-hospital}\n"
        "    his-b: {path: b.log, format: mysql-general, timezone: Asia/Shanghai}\n",
        encoding="utf-8",
    )
    out = CliRunner().invoke(main, ["--config", str(cfg), "audit", "ingest"])
    assert out.exit_code == 0, out.output
    assert "his-a: 30 statements" in out.output and "his-b: 20 statements" in out.output
    assert count(cfg) == 50
    found = CliRunner().invoke(main, ["--config", str(cfg), "audit", "search", "institution:county-hospital", "--json"])
    assert found.exit_code == 0, found.output
    assert '"total": 30' in found.output
    one = CliRunner().invoke(main, ["--config", str(cfg), "audit", "ingest", "--source", "nope"])
    assert one.exit_code == 2 and "no source 'nope'" in one.output


def test_sigterm_stops_a_postgres_follower_which_resumes_without_loss(
    cfg: Path, tmp_path: Path, postgres_run: ServerRun
) -> None:
    real = postgres_run.logs["postgres"]
    data = real.read_bytes()
    path = tmp_path / real.name
    half = data.rfind(b"\n", 0, len(data) // 2) + 1
    path.write_bytes(data[:half])
    prefix = postgres_run.log_line_prefix
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "cli", "--config", str(cfg), "audit", "ingest", "--format", "postgres"]
    cmd += ["--timezone", "Asia/Shanghai", "--log-line-prefix", prefix, "--source", "pg", "--follow", str(path)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert wait_for(cfg, 1) >= 1
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    with path.open("ab") as f:
        f.write(data[half:])
    out = CliRunner().invoke(main, ["--config", str(cfg), *cmd[5:-2], str(path)])  # the same, once
    assert out.exit_code in (0, 1), out.output
    expected = _expected(path, "postgres", prefix)
    assert stored(cfg) == expected


def test_rotated_while_nobody_read_the_old_file_is_finished_first(cfg: Path, tmp_path: Path) -> None:
    log = GeneralLog(tmp_path / "general.log")
    log.append(20)
    assert ingest(cfg, str(log.path)).exit_code == 0
    log.append(15, start=20)  # written after the last run...
    log.quit()
    log.path.rename(tmp_path / "general.log.1")  # ...then rotated before the next one
    new = GeneralLog(log.path)
    new.append(10, start=900)
    new.quit()
    out = ingest(cfg, str(log.path))
    assert out.exit_code == 0, out.output
    assert "25 statements" in out.output
    assert offsets(cfg) == sorted([*log.offsets, *new.offsets])


def test_usage_errors_are_one_line_and_exit_2(cfg: Path, tmp_path: Path) -> None:
    missing = CliRunner().invoke(main, ["--config", str(cfg), *ARGS, str(tmp_path / "nope.log")])
    assert missing.exit_code == 2 and "no such file" in missing.output and "Traceback" not in missing.output
    no_format = CliRunner().invoke(main, ["--config", str(cfg), "audit", "ingest", str(tmp_path / "x.log")])
    assert no_format.exit_code == 2 and "--format" in no_format.output
    no_zone = CliRunner().invoke(
        main, ["--config", str(cfg), "audit", "ingest", "--format", "mysql-general", str(tmp_path / "x.log")]
    )
    assert no_zone.exit_code == 2 and "--timezone" in no_zone.output


def test_a_line_longer_than_a_block_cut_mid_write_is_stored_once_whole(cfg: Path, tmp_path: Path) -> None:
    log = GeneralLog(tmp_path / "general.log")
    log.append(3)
    ids = ", ".join(str(i) for i in range(400_000))  # about 3 MB: several read blocks
    long_entry = f"\t\t    5 Query\tSELECT name FROM patient WHERE id IN ({ids}) /* end */\n".encode()
    with log.path.open("ab") as f:
        long_at = f.tell()
        f.write(long_entry[: len(long_entry) // 2])
    assert ingest(cfg, str(log.path)).exit_code == 0
    assert long_at not in offsets(cfg)
    with log.path.open("ab") as f:
        f.write(long_entry[len(long_entry) // 2 :])
    log.append(2, start=3)
    log.quit()
    assert ingest(cfg, str(log.path)).exit_code == 0
    assert offsets(cfg) == sorted([*log.offsets, long_at])
    long_text = dict(stored(cfg))[long_at]
    assert long_text.startswith("SELECT name FROM patient WHERE id IN (?, ?")


def _ingest_into(store: EventStore, tmp_path: Path, name: str, path: Path) -> None:
    sink = EventSink(store, tmp_path / f"{name}-spool.db")
    try:
        source = LogSource("his", path, "mysql-general", "Asia/Shanghai")
        LogFollower(source, tmp_path / f"{name}-state.db", sink).run()
    finally:
        sink.close()


def test_real_mariadb_log_into_elasticsearch_matches_sqlite(
    tmp_path: Path, mariadb_run: ServerRun, es_node: EsNode, es_client: Elasticsearch
) -> None:
    path = mariadb_run.logs["mysql-general"]
    sqlite = SQLiteEventStore(tmp_path / "events.db")
    prefix = "t" + uuid.uuid4().hex[:10]
    es = ElasticsearchEventStore(es_client, prefix=prefix, replicas=0, hosts=[es_node.url])
    try:
        _ingest_into(sqlite, tmp_path, "sqlite", path)
        _ingest_into(es, tmp_path, "es", path)
        es_client.indices.refresh(index=f"{prefix}-*")
        # Each ingest has its own checkpoint registry, hence its own file key and event ids: compare what was read.
        users = sorted({r.user for r in mariadb_run.ran})
        found: dict[str, Any] = {}
        for name, store in (("sqlite", sqlite), ("es", es)):
            found[name] = sorted(
                (e.get("log.offset"), e.get("db.query.text")) for e in store.iter_search("", kinds=("sql",))
            )
            hits = store.iter_search(f"user:{users[0]}", kinds=("sql",))
            found[name + "-user"] = sorted(e.get("log.offset") for e in hits)
        assert found["sqlite"] and found["sqlite"] == found["es"]
        assert found["sqlite-user"] and found["sqlite-user"] == found["es-user"]
    finally:
        sqlite.close()
        es_client.options(ignore_status=404).indices.delete(index=f"{prefix}-*", allow_no_indices=True)
        es_client.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-*")
        es.close()
