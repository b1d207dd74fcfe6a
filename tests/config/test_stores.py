"""Protected store files, read-only auditors, and `config check` on both stores.

The auditor is a real other user when the tests run as root (a throwaway
system user, the CLI run through ``setpriv``); otherwise the store is made
unwritable with chmod for the current user, which exercises the same path.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from netguard.errors import StoreError
from netguard.events.sqlite_store import SQLiteEventStore
from netguard.lab.synthetic_events import synthetic_events
from netguard.store import StateStore
from netguard.store.db import connect, open_read_only
from netguard.store.migrations import LATEST_VERSION
from tests.config.conftest import run_cli
from tests.harness.peers import require_peer

REPO = Path(__file__).resolve().parents[2]
COUNT = 60


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_the_event_store_and_its_wal_and_shm_are_created_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        store = SQLiteEventStore(tmp_path / "new" / "events.db")
        store.write(synthetic_events(10))
        files = [tmp_path / "new" / f"events.db{suffix}" for suffix in ("", "-wal", "-shm")]
        assert [(f.name, mode(f)) for f in files] == [(f.name, 0o600) for f in files]
        store.close()
    finally:
        os.umask(old)
    assert mode(tmp_path / "new") == 0o700


def test_the_state_store_and_its_wal_and_shm_are_created_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with StateStore.open(tmp_path / "state.db") as store:
            store.conn.execute("CREATE TABLE t_probe(x)")  # a write: the -wal and -shm exist now
            files = [tmp_path / f"state.db{suffix}" for suffix in ("", "-wal", "-shm")]
            assert [(f.name, mode(f)) for f in files] == [(f.name, 0o600) for f in files]
    finally:
        os.umask(old)


@pytest.fixture
def filled(tmp_path: Path) -> tuple[Path, int]:
    """An event store with COUNT events, closed; returns its path and how many are SQL statements."""
    path = tmp_path / "store" / "events.db"
    store = SQLiteEventStore(path)
    store.write(synthetic_events(COUNT))
    sql = store.count("kind:sql")
    store.close()
    assert sql > 0
    return path, sql


def _lock(path: Path) -> None:
    """The auditor's view: the file 0444, its directory 0555 (no -wal or -shm can be created)."""
    for suffix in ("-wal", "-shm"):
        assert not Path(f"{path}{suffix}").exists()  # closed cleanly: SQLite removed them
    os.chmod(path, 0o444)
    os.chmod(path.parent, 0o555)


def _unlock(path: Path) -> None:
    os.chmod(path.parent, 0o755)
    os.chmod(path, 0o600)


def test_an_unwritable_store_is_searched_read_only_in_process(filled: tuple[Path, int]) -> None:
    path, sql = filled
    _lock(path)
    try:
        if os.access(path, os.W_OK):  # root may write anything: the real-user test covers it
            pytest.skip("running as root: see test_an_auditor_who_may_only_read_can_search_and_export")
        store = SQLiteEventStore(path)
        assert store.read_only
        assert store.search("kind:sql", limit=5).total == sql
        assert sum(1 for _ in store.iter_search("")) == COUNT
        with pytest.raises(StoreError, match="cannot write to event store"):
            store.write(synthetic_events(1, seed=99))
        store.close()
        assert not Path(f"{path}-wal").exists() and not Path(f"{path}-shm").exists()
    finally:
        _unlock(path)


def test_read_only_is_explicit_too_and_never_creates_a_store(tmp_path: Path, filled: tuple[Path, int]) -> None:
    path, sql = filled
    store = SQLiteEventStore(path, read_only=True)
    assert store.search("kind:sql").total == sql
    store.close()
    with pytest.raises(StoreError, match="does not exist"):
        SQLiteEventStore(tmp_path / "none.db", read_only=True)
    assert not (tmp_path / "none.db").exists()


def test_a_read_only_state_database_must_be_current(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    connect(path).close()
    conn = connect(path, read_only=True)
    assert conn.execute("SELECT count(*) FROM journal").fetchone() == (0,)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        conn.execute("INSERT INTO collection_runs(scope, last_run) VALUES ('x', 'y')")
    conn.close()
    # As if this NetGuard had one migration more than the file: no migrating when reading only.
    with pytest.raises(StoreError, match=r"older than this NetGuard's .*open it once as its owner"):
        open_read_only(path, latest=LATEST_VERSION + 1, where="the state database")
    assert connect(path, read_only=True).execute("PRAGMA user_version").fetchone() == (LATEST_VERSION,)


@pytest.fixture
def auditor() -> Iterator[str]:
    """A throwaway system user that owns nothing here."""
    if os.geteuid() != 0:
        pytest.skip("not root: the chmod variant (test_an_unwritable_store_is_searched_read_only_in_process) runs")
    if shutil.which("useradd") is None or shutil.which("setpriv") is None:
        require_peer("useradd and setpriv (Debian passwd, util-linux) are needed to act as another user")
    name = f"ngaud{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        check=True,
        capture_output=True,
    )
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)


def _as(user: str, home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "PYTHONPATH": str(REPO),
        "PYTHONDONTWRITEBYTECODE": "1",
        "NO_COLOR": "1",
        "LANG": "C.UTF-8",
    }
    command = ["setpriv", "--reuid", user, "--regid", user, "--clear-groups", sys.executable, str(REPO / "cli.py")]
    return subprocess.run(
        [*command, *args], check=False, env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


def test_an_auditor_who_may_only_read_can_search_and_export(auditor: str) -> None:
    # Not under pytest's tmp_path: it is private to root. A directory the auditor can traverse.
    top = Path(tempfile.mkdtemp(prefix="ng-auditor-"))
    try:
        os.chmod(top, 0o755)
        path = top / "store" / "events.db"
        store = SQLiteEventStore(path)
        store.write(synthetic_events(COUNT))
        sql = store.count("kind:sql")
        store.close()
        config = top / "netguard.yaml"
        config.write_text(
            "events:\n  sqlite:\n    path: store/events.db\nstate:\n  path: store/state.db\n", encoding="utf-8"
        )
        probe = _as(auditor, top, "--version")
        if probe.returncode != 0:
            require_peer(f"the checkout {REPO} is not readable by another user: {probe.stderr.strip()[:200]}")
        _lock(path)
        try:
            found = _as(auditor, top, "--config", str(config), "events", "search", "kind:sql", "--json", "--limit", "5")
            assert found.returncode == 0, found.stderr
            assert json.loads(found.stdout)["total"] == sql
            exported = _as(auditor, top, "--config", str(config), "events", "export")
            assert exported.returncode == 0, exported.stderr
            assert len(exported.stdout.splitlines()) == COUNT
            # Writing is refused in one line, not an internal error.
            line = next(iter(exported.stdout.splitlines()))
            write = _as(auditor, top, "--config", str(config), "events", "import", "-", stdin=line + "\n")
            assert write.returncode == 2, (write.stdout, write.stderr)
            assert "readonly" in write.stderr or "read-only" in write.stderr
            assert "internal error" not in write.stderr
            assert sorted(p.name for p in path.parent.iterdir()) == ["events.db"]
        finally:
            _unlock(path)
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_config_check_checks_the_state_store(write_config, tmp_path: Path) -> None:
    path = write_config("state:\n  path: var/state.db\nevents:\n  sqlite:\n    path: var/events.db\n")

    def state_check() -> dict[str, object]:
        code, out = run_cli("--config", str(path), "config", "check", "--json")
        return {"code": code, **next(c for c in json.loads(out) if c["check"] == "state store")}

    first = state_check()
    assert first["ok"] and "not created yet (mode 0600 at first use)" in str(first["detail"])
    assert not (tmp_path / "var").exists()  # a check creates nothing
    StateStore.open(tmp_path / "var" / "state.db").close()
    current = state_check()
    assert current["ok"] and "(current)" in str(current["detail"]) and current["code"] == 0
    os.chmod(tmp_path / "var" / "state.db", 0o644)
    loose = state_check()
    assert not loose["ok"] and "mode 0644; run: chmod 600" in str(loose["detail"]) and loose["code"] == 1
    os.chmod(tmp_path / "var" / "state.db", 0o600)
    raw = sqlite3.connect(tmp_path / "var" / "state.db")
    raw.execute("PRAGMA user_version = 999")
    raw.close()
    newer = state_check()
    assert not newer["ok"] and "newer than this NetGuard knows" in str(newer["detail"])


def test_config_check_flags_an_event_store_others_can_read(write_config, tmp_path: Path) -> None:
    path = write_config("state:\n  path: s.db\nevents:\n  sqlite:\n    path: e.db\n")
    SQLiteEventStore(tmp_path / "e.db").close()
    os.chmod(tmp_path / "e.db", 0o644)
    code, out = run_cli("--config", str(path), "config", "check", "--json")
    check = next(c for c in json.loads(out) if c["check"] == "event store (sqlite)")
    assert code == 1 and not check["ok"] and "mode 0644; run: chmod 600" in check["detail"]
