"""The bastion beside direct OpenSSH: throughput, echo latency, session set-up, memory per session.

    sudo python bench/bastion.py [--mib 200] [--runs 5] [--sessions 100]

One real sshd (tests/harness/sshd.py) on loopback; the bastion runs as
``netguard bastion serve`` in its own process in front of it, set up through
the CLI exactly as an admin would. Every measurement runs the same OpenSSH
client command (or paramiko client, for echo latency) once directly against
the sshd and once through the bastion, interleaved, and reports medians and
the ratio bastion/direct:

* bulk throughput: ``cat`` of a MIB-sized text file from the target
  (download) and ``cat > /dev/null`` of the same file to the target (upload),
  through exec channels, which the bastion records like any session;
* echo latency: one byte typed into an interactive shell until its echo
  arrives (a pty through the bastion), median of 300 keystrokes;
* session set-up: ``ssh ... true``, connection to exit;
* memory: the bastion's resident size with SESSIONS idle shells open, per
  session, beside its size before.

Wall-clock ratios depend on what else the two cores run, so each bulk run
also counts CPU seconds: the ssh client's (a reaped child), the sshd side's
(the sshd master's reaped children: the connection's sshd processes and the
``cat``) and the bastion's (its process). ``cpu ratio`` is direct CPU over
CPU through the bastion for the same bytes: the throughput ratio a machine
whose cores are all busy would see, whatever the load at the time.

Needs root (the sshd harness switches users). Results also go to
bench/results/bastion.txt (or the name in BENCH_OUT). BENCH_SSH adds
OpenSSH client options to both sides (``-c aes128-gcm@openssh.com`` measures
clients that choose AES-GCM); BENCH_EXTRA is appended to netguard.yaml.
"""

from __future__ import annotations

import argparse
import base64
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import paramiko

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bastion.directory import fingerprint  # noqa: E402
from bench import cpu_seconds, rss_kib  # noqa: E402
from tests.harness.mariadb import free_port  # noqa: E402
from tests.harness.sshd import Sshd, keygen, start_sshd  # noqa: E402

NETGUARD = [sys.executable, "-m", "cli"]


def cli(config: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [*NETGUARD, "--config", str(config), *args], input=stdin, capture_output=True, text=True, cwd=ROOT, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"netguard {' '.join(args)} failed: {done.stderr}")
    return done.stdout


class Setup:
    def __init__(self, work: Path, sshd: Sshd) -> None:
        self.work = work
        self.sshd = sshd
        work.mkdir(parents=True, exist_ok=True)
        self.config = work / "netguard.yaml"
        self.config.write_text(
            f"state:\n  path: {work / 'state.db'}\nevents:\n  sqlite:\n    path: {work / 'events.db'}\n"
            + os.environ.get("BENCH_EXTRA", "")
        )
        cli(self.config, "bastion", "init")
        keygen(work / "user")
        cli(self.config, "bastion", "user", "add", "bench", "--key", str(work / "user.pub"))
        cli(self.config, "bastion", "target", "add", "t", "--address", sshd.host, "--port", str(sshd.port))
        cli(self.config, "bastion", "target", "trust", "t", "--fingerprint", fingerprint(sshd.host_key))
        cli(self.config, "bastion", "account", "add", "t", "root", "--key", str(sshd.root_key))
        cli(self.config, "bastion", "grant", "add", "bench", "t")
        self.port = free_port()
        # The server's log goes to a file: a pipe nobody reads would block the server once full.
        with (work / "serve.log").open("wb") as log:
            self.server = subprocess.Popen(
                [*NETGUARD, "--config", str(self.config), "bastion", "serve", "--listen", f"127.0.0.1:{self.port}"],
                cwd=ROOT,
                stderr=log,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.1)
        key = paramiko.Ed25519Key(filename=str(work / "bastion" / "host_key"))
        self.known = work / "known_hosts"
        self.known.write_text(
            f"[127.0.0.1]:{self.port} {key.get_name()} {key.get_base64()}\n"
            f"[127.0.0.1]:{sshd.port} {sshd.host_key_type} {base64.b64encode(sshd.host_key).decode()}\n"
        )

    def ssh(self, via_bastion: bool) -> list[str]:
        common = [
            "ssh",
            "-F",
            "/dev/null",
            *os.environ.get("BENCH_SSH", "").split(),
            "-o",
            "BatchMode=yes",
            "-o",
            f"UserKnownHostsFile={self.known}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "LogLevel=ERROR",
        ]
        if via_bastion:
            return [*common, "-i", str(self.work / "user"), "-p", str(self.port), "-l", "bench:root@t", "127.0.0.1"]
        return [*common, "-i", str(self.sshd.root_key), "-p", str(self.sshd.port), "-l", "root", "127.0.0.1"]

    def stop(self) -> None:
        self.server.send_signal(signal.SIGTERM)
        self.server.wait(30)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def timed_cpu(setup: Setup, via_bastion: bool, remote: str, stdin_path: Path | None) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds of the whole path (client, sshd side, bastion) and of the bastion alone."""
    client0, sshd0, bastion0 = _children_cpu(), cpu_seconds(setup.sshd.process.pid, True), cpu_seconds(setup.server.pid)
    wall = timed([*setup.ssh(via_bastion), remote], stdin_path)
    time.sleep(0.3)  # the sshd master reaps the connection's processes just after the client exits
    client = _children_cpu() - client0
    sshd = cpu_seconds(setup.sshd.process.pid, True) - sshd0
    bastion = cpu_seconds(setup.server.pid) - bastion0 if via_bastion else 0.0
    return wall, client + sshd + bastion, bastion


def _children_cpu() -> float:
    t = os.times()
    return t.children_user + t.children_system


def timed(cmd: list[str], stdin_path: Path | None = None) -> float:
    start = time.perf_counter()
    run(cmd, stdin_path)
    return time.perf_counter() - start


def run(cmd: list[str], stdin_path: Path | None = None) -> None:
    with open(stdin_path, "rb") if stdin_path else open(os.devnull, "rb") as stdin:
        done = subprocess.run(cmd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr!r}")


def echo_latency(setup: Setup, via_bastion: bool, keystrokes: int) -> float:
    client = paramiko.SSHClient()
    client.load_host_keys(str(setup.known))
    if via_bastion:
        client.connect(
            "127.0.0.1",
            setup.port,
            username="bench:root@t",
            key_filename=str(setup.work / "user"),
            look_for_keys=False,
            allow_agent=False,
        )
    else:
        client.connect(
            "127.0.0.1",
            setup.sshd.port,
            username="root",
            key_filename=str(setup.sshd.root_key),
            look_for_keys=False,
            allow_agent=False,
        )
    chan = client.invoke_shell(width=200)
    chan.settimeout(10)
    chan.send(b"stty -icanon; PS1=''; cat > /dev/null\r")
    time.sleep(1.0)
    while chan.recv_ready():
        chan.recv(65536)
    samples = []
    for _ in range(keystrokes):
        start = time.perf_counter()
        chan.send(b"x")
        got = b""
        while b"x" not in got:
            got += chan.recv(64)
        samples.append(time.perf_counter() - start)
    client.close()
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mib", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sessions", type=int, default=100)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench/bastion.py needs root (the sshd harness switches users)")
    lines: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sshd = start_sshd(work / "sshd")
        try:
            setup = Setup(work / "ng", sshd)
        except BaseException:
            sshd.stop()  # a failed set-up must not leave the sshd running
            raise
        try:
            data = work / "payload.txt"
            line = b"2026-11-30T08:00:00 his-app01 INFO registration patient=P0012345 dept=outpatient ok\n"
            with data.open("wb") as fh:
                for _ in range(args.mib * 1024 * 1024 // len(line) + 1):
                    fh.write(line)
            size_mib = data.stat().st_size / 2**20
            say(f"bastion bench: {size_mib:.0f} MiB, {args.runs} runs, medians; ratio = bastion / direct")
            say(f"ssh options: {os.environ.get('BENCH_SSH') or '(defaults)'}; load average at start: {_load()}")
            for name, remote, stdin in (
                ("download (cat file)", f"cat {data}", None),
                ("upload (cat > /dev/null)", "cat > /dev/null", data),
            ):
                times: dict[bool, list[float]] = {False: [], True: []}
                cpus: dict[bool, list[float]] = {False: [], True: []}
                bastion_cpu: list[float] = []
                for _ in range(args.runs):
                    for via in (False, True):
                        wall, cpu, own = timed_cpu(setup, via, remote, stdin)
                        times[via].append(wall)
                        cpus[via].append(cpu)
                        if via:
                            bastion_cpu.append(own)
                direct, through = statistics.median(times[False]), statistics.median(times[True])
                say(
                    f"{name:<26} direct {size_mib / direct:7.1f} MiB/s   bastion {size_mib / through:7.1f} MiB/s"
                    f"   bastion/direct throughput {direct / through:.2f}"
                )
                per = 100 / size_mib  # CPU seconds per 100 MiB
                d_cpu, b_cpu = statistics.median(cpus[False]), statistics.median(cpus[True])
                say(
                    f"{'  CPU s per 100 MiB':<26} direct {d_cpu * per:7.2f}         via bastion {b_cpu * per:5.2f}"
                    f" (bastion {statistics.median(bastion_cpu) * per:.2f})   cpu ratio {d_cpu / b_cpu:.2f}"
                )
            opens: dict[bool, list[float]] = {False: [], True: []}
            for _ in range(max(args.runs, 10)):
                for via in (False, True):
                    opens[via].append(timed([*setup.ssh(via), "true"]))
            d, b = statistics.median(opens[False]), statistics.median(opens[True])
            say(
                f"{'session set-up (ssh true)':<26} direct {d * 1000:7.1f} ms      bastion {b * 1000:7.1f} ms"
                f"      added {1000 * (b - d):.1f} ms (ratio {b / d:.2f})"
            )
            d = echo_latency(setup, False, 300)
            b = echo_latency(setup, True, 300)
            say(
                f"{'pty echo round trip':<26} direct {d * 1000:7.3f} ms      bastion {b * 1000:7.3f} ms"
                f"      added {1000 * (b - d):.3f} ms"
            )
            before = rss_kib(setup.server.pid)
            clients = []
            for _ in range(args.sessions):
                client = paramiko.SSHClient()
                client.load_host_keys(str(setup.known))
                client.connect(
                    "127.0.0.1",
                    setup.port,
                    username="bench:root@t",
                    key_filename=str(work / "ng" / "user"),
                    look_for_keys=False,
                    allow_agent=False,
                )
                chan = client.invoke_shell()
                chan.send(b"sleep 600\r")
                clients.append(client)
            time.sleep(2)
            after = rss_kib(setup.server.pid)
            say(
                f"{'memory':<26} bastion RSS {before / 1024:.1f} MiB idle, {after / 1024:.1f} MiB with "
                f"{args.sessions} sessions: {(after - before) / 1024 / args.sessions:.2f} MiB per session"
            )
            for client in clients:
                client.close()
            say(f"load average at end: {_load()}")
        finally:
            setup.stop()
            sshd.stop()
    out = ROOT / "bench" / "results" / os.environ.get("BENCH_OUT", "bastion.txt")
    out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
