"""ARP sweep benchmark (``bench/discovery.py --only arp``): NetGuard beside arp-scan on the lab's /24.

A lab (1 township, 2 villages) is brought up; the unmanaged village's subnet
(a /24 with the village router and its terminals) is swept from its
``probe`` namespace's ``eth0``, alternately, ``--runs`` times, by

- NetGuard's engine as its own process (``netguard.arpsweep.sweep``; Python
  start-up and imports count against it, as arp-scan's start-up does),
- the whole command ``netguard discover sweep --json`` (start-up of the CLI),
  and ``netguard --version`` for the CLI's start-up alone,
- ``arp-scan`` with the same pacing and attempts (``--interval 2 --retry 2
  --timeout 500 --backoff 1``: 500 requests/s, two attempts per address, a
  500 ms wait), arp-scan with its own defaults (backoff 1.5), and arp-scan
  matched with ``--quiet`` (it then reads no OUI files and names no vendor:
  less work than NetGuard does, shown for what the vendor lookup costs).

Both name each host's vendor from the OUI (arp-scan without ``--quiet`` reads
its OUI files; NetGuard loads netaddr's table while it waits for the last
replies). Everything runs inside the namespace (``ip netns exec``), timed from start to
exit; medians, the ratio to arp-scan (matched), the hosts each found (they
must be the same), CPU time of each process (``wait4``) and the engine's peak
resident memory. Needs root and Debian's arp-scan.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUBNET_SITE = "t1v2"

ENGINE = """
import ipaddress, sys
from netguard.arpsweep import SweepOptions, sweep
rate, retries, timeout = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
result = sweep(sys.argv[4], [ipaddress.ip_network(sys.argv[5])], SweepOptions(rate, retries, timeout))
for r in result.replies:
    print(r.ip, r.mac)
print("sent", result.sent)
with open("/proc/self/status") as fh:
    print("VmHWM", next(line.split()[1] for line in fh if line.startswith("VmHWM:")))
"""


@dataclass(frozen=True)
class Run:
    wall_s: float
    cpu_s: float
    hosts: frozenset[tuple[str, str]]
    sent: int | None = None
    rss_mib: float | None = None


def _run_timed(args: list[str]) -> tuple[float, float, str, str, int]:
    """Start-to-exit wall time and CPU time (wait4: this child only) of a process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("NETGUARD_CONFIG", None)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(args, stdout=out, stderr=err, text=True, env=env, cwd=ROOT)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return wall, usage.ru_utime + usage.ru_stime, out.read(), err.read(), proc.returncode


def _check(name: str, code: int, err: str) -> None:
    if code != 0:
        raise SystemExit(f"{name} failed (exit {code}): {err[-800:]}")


def run_engine(ns: str, subnet: str) -> Run:
    wall, cpu, out, err, code = _run_timed(
        ["ip", "netns", "exec", ns, sys.executable, "-c", ENGINE, "500", "1", "500", "eth0", subnet]
    )
    _check("the NetGuard engine", code, err)
    hosts, sent, rss = set(), None, None
    for line in out.splitlines():
        key, value = line.split()
        if key == "sent":
            sent = int(value)
        elif key == "VmHWM":
            rss = int(value) / 1024
        else:
            hosts.add((key, value))
    return Run(wall, cpu, frozenset(hosts), sent, rss)


def run_command(ns: str, subnet: str) -> Run:
    args = [sys.executable, str(ROOT / "cli.py"), "discover", "sweep", subnet, "--interface", "eth0", "--json"]
    wall, cpu, out, err, code = _run_timed(["ip", "netns", "exec", ns, *args])
    _check("netguard discover sweep", code, err)
    doc = json.loads(out)
    return Run(wall, cpu, frozenset((h["ip"], h["mac"]) for h in doc["hosts"]), doc["sent"])


def run_startup(ns: str) -> Run:
    """``netguard --version``: the CLI's start-up alone (every command group imported), for scale."""
    wall, cpu, _out, err, code = _run_timed(
        ["ip", "netns", "exec", ns, sys.executable, str(ROOT / "cli.py"), "--version"]
    )
    _check("netguard --version", code, err)
    return Run(wall, cpu, frozenset())


def run_arp_scan(ns: str, subnet: str, *extra: str) -> Run:
    # Without --quiet (unless given) arp-scan reads its OUI files and names each vendor, as NetGuard does.
    args = ["ip", "netns", "exec", ns, "arp-scan", "-I", "eth0", "-x", *extra, subnet]
    wall, cpu, out, err, code = _run_timed(args)
    _check("arp-scan", code, err)
    hosts = frozenset((line.split("\t")[0], line.split("\t")[1]) for line in out.splitlines() if "\t" in line)
    return Run(wall, cpu, hosts)


def arp_bench(runs: int, say: Callable[[str], None]) -> None:
    from netguard.lab.build import lab_down, lab_up
    from netguard.lab.status import lab_status

    if os.geteuid() != 0:
        raise SystemExit("the ARP benchmark needs root (network namespaces, raw frames)")
    arp_scan = shutil.which("arp-scan")
    if arp_scan is None:
        raise SystemExit("arp-scan is not installed (Debian: apt-get install arp-scan; scripts/install-test-deps.sh)")
    version = subprocess.run([arp_scan, "--version"], capture_output=True, text=True, check=False)
    say(f"== ARP sweep of the lab's unmanaged village (a /24) from its probe namespace, medians of {runs} runs")
    say(f"   {(version.stdout or version.stderr).splitlines()[0]}; load average {os.getloadavg()[0]:.2f} at start")
    with tempfile.TemporaryDirectory(prefix="ng-bench-arp-") as tmp:
        name = "barp" + str(os.getpid() % 10000)
        lab_up(Path(tmp) / name, name=name, townships=1, villages=2)
        try:
            status = lab_status(Path(tmp) / name)
            probe = next(h for h in status.hosts if h.probe)
            subnet = next(g.subnet for g in status.gateways if not g.managed)
            matched = ("--interval=2", "--retry=2", "--timeout=500", "--backoff=1")
            tools: dict[str, Callable[[], Run]] = {
                "netguard engine": lambda: run_engine(probe.namespace, subnet),
                "netguard command": lambda: run_command(probe.namespace, subnet),
                "netguard --version": lambda: run_startup(probe.namespace),
                "arp-scan matched": lambda: run_arp_scan(probe.namespace, subnet, *matched),
                "arp-scan defaults": lambda: run_arp_scan(probe.namespace, subnet),
                "arp-scan -q": lambda: run_arp_scan(probe.namespace, subnet, "--quiet", *matched),
            }
            results: dict[str, list[Run]] = {t: [] for t in tools}
            for n in range(runs):
                for tool, fn in tools.items():
                    results[tool].append(fn())
                say(f"  run {n + 1}: " + ", ".join(f"{t} {r[-1].wall_s:.3f} s" for t, r in results.items()))
        finally:
            lab_down(Path(tmp) / name)
    med = statistics.median
    base = med(r.wall_s for r in results["arp-scan matched"])
    say(f"  settings: 500 requests/s, 2 attempts, 500 ms timeout; subnet {subnet}, 253 addresses")
    say(f"  {'tool':<18} {'wall s':>7} {'ratio':>6} {'cpu s':>6} {'RSS MiB':>8} {'sent':>5}  hosts found")
    for tool, runs_ in results.items():
        rss = [r.rss_mib for r in runs_ if r.rss_mib is not None]
        sent = [r.sent for r in runs_ if r.sent is not None]
        say(
            f"  {tool:<18} {med(r.wall_s for r in runs_):7.3f} {med(r.wall_s for r in runs_) / base:6.2f}"
            f" {med(r.cpu_s for r in runs_):6.3f} {f'{max(rss):.1f}' if rss else '-':>8}"
            f" {str(int(med(sent))) if sent else '-':>5}  {len(runs_[0].hosts)}"
        )
    found = {t: {r.hosts for r in rs} for t, rs in results.items() if t != "netguard --version"}
    same = len({h for hosts in found.values() for h in hosts}) == 1
    say(f"  same hosts found by every tool in every run: {'yes' if same else 'NO'}")
    if not same:
        for tool, hosts in found.items():
            say(f"    {tool}: {[sorted(h) for h in hosts]}")
    say(f"  load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
