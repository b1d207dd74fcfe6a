"""A real PostgreSQL 15 server for the audit tests, with statement logging and pgaudit.

How it starts (DESIGN.md §4): as the Debian ``postgres`` user (the current user
when not root), ``initdb`` into a fresh directory, then ``pg_ctl -w start`` on
127.0.0.1 with a free port and its socket in that directory. Every statement is
logged (``log_statement=all``, ``log_min_duration_statement=0``) by the logging
collector to three files at once: ``pg.log`` (stderr format with the
:data:`LOG_LINE_PREFIX` below), ``pg.csv`` (csvlog) and ``pg.json`` (jsonlog,
new in 15). pgaudit (Debian ``postgresql-15-pgaudit``) is preloaded with
``pgaudit.log=all``, so its ``AUDIT:`` lines land in the same stderr log.
Local and loopback connections use ``trust``: the tests are about what the logs
say, not about authentication. :meth:`Postgres.stop` runs ``pg_ctl stop -m fast``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.harness.mariadb import free_port
from tests.harness.peers import PeerUnavailable

PG_BIN = Path(os.environ.get("NETGUARD_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
# Every escape the stderr parser understands, so the test exercises them all.
LOG_LINE_PREFIX = "%m [%p] %q%u@%d %h %a %c %l "


@dataclass
class Postgres:
    base: Path
    port: int
    user: str

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def stderr_log(self) -> Path:
        return self.base / "logs" / "pg.log"

    @property
    def csv_log(self) -> Path:
        return self.base / "logs" / "pg.csv"

    @property
    def json_log(self) -> Path:
        return self.base / "logs" / "pg.json"

    def _run(self, args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(_as(self.user, args), check=False, capture_output=True, timeout=timeout)

    def psql(self, sql: str, db: str = "postgres", user: str = "postgres") -> None:
        result = self._run(
            [str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", user, "-d", db, "-v",
             "ON_ERROR_STOP=1", "-X", "-q", "-c", sql]
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(result.stderr.decode(errors="replace"))

    def stop(self) -> None:
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])
        shutil.rmtree(self.base, ignore_errors=True)


def _as(user: str, args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--", *args]


def start_postgres() -> Postgres:
    for tool in ("initdb", "pg_ctl", "psql"):
        if not (PG_BIN / tool).exists():
            raise PeerUnavailable(f"{PG_BIN / tool} missing (Debian postgresql-15)")
    user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    try:
        pw = pwd.getpwnam(user)
    except KeyError as exc:
        raise PeerUnavailable(f"system user {user} missing (Debian postgresql creates it)") from exc
    pgaudit = (PG_BIN.parent / "lib" / "pgaudit.so").exists()
    if not pgaudit:
        raise PeerUnavailable("pgaudit.so missing (Debian postgresql-15-pgaudit)")
    base = Path(tempfile.mkdtemp(prefix="netguard-pg-"))
    os.chmod(base, 0o755)
    (base / "logs").mkdir()
    for path in (base, base / "logs"):
        os.chown(path, pw.pw_uid, pw.pw_gid)
    server = Postgres(base=base, port=free_port(), user=user)
    init = server._run(
        [str(PG_BIN / "initdb"), "-D", str(server.data), "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
         "--auth=trust"],
        timeout=120,
    )  # fmt: skip
    if init.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        raise PeerUnavailable(f"initdb failed: {init.stderr.decode(errors='replace')[-800:]}")
    settings = {
        "listen_addresses": "127.0.0.1",
        "port": str(server.port),
        "unix_socket_directories": str(base),
        "logging_collector": "on",
        "log_destination": "stderr,csvlog,jsonlog",
        "log_directory": str(base / "logs"),
        "log_filename": "pg.log",
        "log_rotation_age": "0",
        "log_rotation_size": "0",
        "log_statement": "all",
        "log_min_duration_statement": "0",
        "log_line_prefix": LOG_LINE_PREFIX,
        "log_timezone": "Asia/Shanghai",
        "shared_preload_libraries": "pgaudit",
        "pgaudit.log": "all",
        "pgaudit.log_parameter": "on",
        "shared_buffers": "16MB",
    }
    with (server.data / "postgresql.conf").open("a") as conf:
        for key, value in settings.items():
            conf.write(f"{key} = '{value}'\n")
    started = server._run(
        [str(PG_BIN / "pg_ctl"), "-D", str(server.data), "-w", "-t", "60", "-l", str(base / "startup.log"), "start"],
        timeout=90,
    )
    if started.returncode != 0:
        log = (base / "startup.log").read_text(errors="replace")[-1500:] if (base / "startup.log").exists() else ""
        server.stop()
        raise PeerUnavailable(f"pg_ctl start failed: {started.stderr.decode(errors='replace')} {log}")
    return server
