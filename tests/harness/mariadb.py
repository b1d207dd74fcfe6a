"""A real MariaDB server for the audit tests, started on loopback with every log on.

How it starts (DESIGN.md §4): ``mariadb-install-db`` into a fresh data directory,
then ``mariadbd --defaults-file=CNF`` bound to 127.0.0.1 on a free port with its
own socket, the general log, the slow log with ``long_query_time=0`` (so every
statement is written with its timings) and the ``server_audit`` plugin logging
connections and queries to its own file. As root the server runs as the Debian
``mysql`` user; otherwise as the current user. Readiness is polled over TCP with
the root account (unix-socket authentication over the socket, then a password
for TCP). The server is started with a parent-death signal so a killed test run
leaves no server behind; :meth:`MariaDB.stop` shuts it down and waits.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.harness.peers import PeerUnavailable

START_TIMEOUT = 60.0
ROOT_PASSWORD = "netguard-test-root"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _binary(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if not path:
        raise PeerUnavailable(f"{name} not found (Debian mariadb-server; scripts/install-test-deps.sh installs it)")
    return path


@dataclass
class MariaDB:
    """A running server: where it listens and where its logs are."""

    base: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def socket_path(self) -> Path:
        return self.base / "mysqld.sock"

    @property
    def general_log(self) -> Path:
        return self.base / "logs" / "general.log"

    @property
    def slow_log(self) -> Path:
        return self.base / "logs" / "slow.log"

    @property
    def audit_log(self) -> Path:
        return self.base / "logs" / "server_audit.log"

    @property
    def error_log(self) -> Path:
        return self.base / "logs" / "error.log"

    def flush_logs(self) -> None:
        """Make sure everything executed so far is on disk (server_audit buffers nothing; the others flush)."""
        self.sql("FLUSH LOGS")

    def sql(self, statement: str) -> None:
        """Run an administrative statement as root over the socket (shows up in the logs as localhost)."""
        subprocess.run(
            ["mariadb", f"--socket={self.socket_path}", "-uroot", f"-p{ROOT_PASSWORD}", "-e", statement],
            check=True,
            capture_output=True,
            timeout=30,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.base, ignore_errors=True)


def _config(base: Path, port: int, user: str) -> str:
    return f"""[mariadbd]
user = {user}
datadir = {base / "data"}
socket = {base / "mysqld.sock"}
pid-file = {base / "mysqld.pid"}
bind-address = 127.0.0.1
port = {port}
skip-name-resolve
log-error = {base / "logs" / "error.log"}
general_log = 1
general_log_file = {base / "logs" / "general.log"}
slow_query_log = 1
slow_query_log_file = {base / "logs" / "slow.log"}
long_query_time = 0
log_slow_verbosity = query_plan
plugin_load_add = server_audit
server_audit_logging = ON
server_audit_events = CONNECT,QUERY
server_audit_output_type = file
server_audit_file_path = {base / "logs" / "server_audit.log"}
innodb_buffer_pool_size = 16M
innodb_log_file_size = 8M
character-set-server = utf8mb4
"""


def start_mariadb() -> MariaDB:
    install_db = _binary("mariadb-install-db")
    mariadbd = _binary("mariadbd")
    _binary("mariadb")
    user = "mysql" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    try:
        pw = pwd.getpwnam(user)
    except KeyError as exc:
        raise PeerUnavailable(f"system user {user} missing (Debian mariadb-server creates it)") from exc
    base = Path(tempfile.mkdtemp(prefix="netguard-mariadb-"))
    (base / "logs").mkdir()
    (base / "data").mkdir()
    os.chmod(base, 0o755)
    for path in (base, base / "logs", base / "data"):
        os.chown(path, pw.pw_uid, pw.pw_gid)
    port = free_port()
    cnf = base / "my.cnf"
    cnf.write_text(_config(base, port, user))
    os.chmod(cnf, 0o644)
    init = subprocess.run(
        [install_db, f"--defaults-file={cnf}", f"--user={user}", "--auth-root-authentication-method=socket"],
        check=False,
        capture_output=True,
        timeout=120,
    )
    if init.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        raise PeerUnavailable(f"mariadb-install-db failed: {init.stderr.decode(errors='replace')[-800:]}")
    # setpriv --pdeathsig: the server goes when the test run goes, even on SIGKILL.
    process = subprocess.Popen(
        ["setpriv", "--pdeathsig", "TERM", "--", mariadbd, f"--defaults-file={cnf}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        process_group=0,
    )
    server = MariaDB(base=base, port=port, process=process)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        ready = subprocess.run(
            ["mariadb", f"--socket={server.socket_path}", "-uroot", "-e", "SELECT 1"],
            check=False,
            capture_output=True,
            timeout=30,
        )
        if ready.returncode == 0:
            break
        if process.poll() is not None or time.monotonic() > deadline:
            tail = server.error_log.read_text(errors="replace")[-1500:] if server.error_log.exists() else ""
            server.stop()
            raise PeerUnavailable(f"mariadbd did not start: {tail}")
        time.sleep(0.2)
    subprocess.run(
        [
            "mariadb",
            f"--socket={server.socket_path}",
            "-uroot",
            "-e",
            f"ALTER USER root@localhost IDENTIFIED VIA unix_socket OR mysql_native_password "
            f"USING PASSWORD('{ROOT_PASSWORD}')",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return server
