"""Link-check benchmark: NetGuard's ICMP prober beside fping on the 440 loopback gateways.

    python bench/links.py [--runs 5] [--configs 5/1000/1000/2,3/100/500/1] [--output bench/results/links.txt]

The targets are the gateways of ``examples/gen_county.py --loopback`` (every
institution's gateway a distinct 127/8 address). For each configuration
``count/interval/timeout/gap`` (fping's ``-c/-p/-t/-i``, NetGuard's
``--count/--interval/--timeout/--gap``) it alternates runs of

- NetGuard: a Python process running ``netguard.links.icmp.ping`` (the probe
  engine of ``netguard links check``) on the addresses given on stdin, and
- ``fping -q -c N -p P -t T -i I`` on the same addresses (Debian's fping),

both timed the same way, from start to exit (so interpreter start-up counts
against NetGuard), and reports the median wall time of each, their ratio
(target: NetGuard at most 1.25x fping's), probes sent and answered (the same
loss), the median over targets of the per-target mean RTT and the worst RTT,
CPU time and peak RSS of the process (``wait4``). Runs alternate so that a
noisy neighbour on a shared machine hurts both. The whole command
(``netguard links check --no-record --json``: start-up, inventory parsing,
probes, JSON) is timed too, as its own row.
Needs root (or CAP_NET_RAW, or ping_group_range) for both tools.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netguard.inventory import IPAddress, load_inventory
from netguard.links.records import IcmpSettings

ROOT = Path(__file__).resolve().parents[1]

_FPING_LINE = re.compile(
    r"^(?P<addr>\S+)\s+: xmt/rcv/%loss = (?P<sent>\d+)/(?P<recv>\d+)/\d+%"
    r"(?:, min/avg/max = (?P<min>[\d.]+)/(?P<avg>[\d.]+)/(?P<max>[\d.]+))?"
)


@dataclass(frozen=True)
class Run:
    wall_s: float
    cpu_s: float
    rss_mib: float | None  # peak RSS, where the process can report it
    sent: int
    received: int
    avg_rtts_ms: list[float]  # per target that answered
    max_rtt_ms: float


# The NetGuard side as its own process, like fping: the probe engine of `netguard links check`
# (no inventory, no stores), addresses on stdin, one line per target on stdout.
ENGINE = """
import asyncio, ipaddress, sys
from netguard.links.icmp import ping
from netguard.links.records import IcmpSettings
count, interval, timeout, gap = sys.argv[1:5]
settings = IcmpSettings(count=int(count), interval_ms=float(interval), timeout_ms=float(timeout), gap_ms=float(gap))
addresses = [ipaddress.ip_address(line.strip()) for line in sys.stdin if line.strip()]
for a, s in asyncio.run(ping(addresses, settings)).items():
    print(a, s.sent, s.received, s.rtt_avg_ms, s.rtt_max_ms)
with open("/proc/self/status") as fh:
    print("VmHWM", next(line.split()[1] for line in fh if line.startswith("VmHWM:")))
"""


def _measured(args: list[str], stdin: str) -> tuple[float, float, str, str]:
    """Run a process; its wall time and CPU time (from wait4: this child only), stdout, stderr.

    Not its peak RSS: Linux carries the parent's high-water mark into a child
    across exec, so wait4's ru_maxrss would report this benchmark's own size.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.Popen(
        args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(stdin)
    proc.stdin.close()
    out, err = proc.stdout.read(), proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, out, err


def _flags(settings: IcmpSettings) -> list[str]:
    return [str(settings.count), f"{settings.interval_ms:g}", f"{settings.timeout_ms:g}", f"{settings.gap_ms:g}"]


def run_netguard(addresses: list[IPAddress], settings: IcmpSettings) -> Run:
    args = [sys.executable, "-c", ENGINE, *_flags(settings)]
    wall, cpu, out, err = _measured(args, "\n".join(map(str, addresses)) + "\n")
    sent = received = 0
    avgs: list[float] = []
    worst = 0.0
    rss: float | None = None
    for line in out.splitlines():
        if line.startswith("VmHWM "):
            rss = int(line.split()[1]) / 1024
            continue
        _addr, s, r, avg, top = line.split()
        sent += int(s)
        received += int(r)
        if avg != "None":
            avgs.append(float(avg))
            worst = max(worst, float(top))
    if sent == 0:
        raise SystemExit(f"the NetGuard prober sent nothing: {err[-500:]}")
    return Run(wall, cpu, rss, sent, received, avgs, worst)


def run_fping(fping: str, addresses: list[IPAddress], settings: IcmpSettings) -> Run:
    count, interval, timeout, gap = _flags(settings)
    args = [fping, "-q", "-c", count, "-p", interval, "-t", timeout, "-i", gap]
    wall, cpu, _out, err = _measured(args, "\n".join(map(str, addresses)) + "\n")
    sent = received = 0
    avgs: list[float] = []
    worst = 0.0
    for line in err.splitlines():
        m = _FPING_LINE.match(line)
        if not m:
            continue
        sent += int(m["sent"])
        received += int(m["recv"])
        if m["avg"]:
            avgs.append(float(m["avg"]))
            worst = max(worst, float(m["max"]))
    if sent == 0:
        raise SystemExit(f"fping printed no statistics: {err[:300]}")
    return Run(wall, cpu, None, sent, received, avgs, worst)


def _rss(runs: list[Run]) -> str:
    known = [r.rss_mib for r in runs if r.rss_mib is not None]
    return f"{max(known):.1f}" if known else "-"


def loopback_gateways(workdir: Path) -> list[IPAddress]:
    county = workdir / "huize-county-loopback.yaml"
    subprocess.run(
        [sys.executable, str(ROOT / "examples" / "gen_county.py"), "--loopback", "--output", str(county)],
        check=True,
        capture_output=True,
    )
    return [i.gateway for i in load_inventory(county)]


def time_cli(workdir: Path, settings: IcmpSettings, runs: int) -> float:
    """Median wall time of the whole command (start-up, inventory, probes, JSON) without recording."""
    county = workdir / "huize-county-loopback.yaml"
    args = [sys.executable, str(ROOT / "cli.py"), "links", "check", "--inventory", str(county), "--no-record", "--json"]
    args += ["--count", str(settings.count), "--interval", f"{settings.interval_ms:g}"]
    args += ["--timeout", f"{settings.timeout_ms:g}", "--gap", f"{settings.gap_ms:g}"]
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, capture_output=True, check=False, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        walls.append(time.perf_counter() - start)
    return statistics.median(walls)


def parse_config(text: str) -> IcmpSettings:
    count, interval, timeout, gap = text.split("/")
    return IcmpSettings(count=int(count), interval_ms=float(interval), timeout_ms=float(timeout), gap_ms=float(gap))


def commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    return done.stdout.strip() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--configs", default="5/1000/1000/2,3/100/500/1,3/1000/1000/10", help="count/interval/timeout/gap,..."
    )
    parser.add_argument("--cli-runs", type=int, default=3, help="runs of the whole command per configuration (0: skip)")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "links.txt"))
    args = parser.parse_args()
    fping = shutil.which("fping")
    if fping is None:
        raise SystemExit("fping is not installed (Debian: apt-get install fping)")
    version = subprocess.run([fping, "-v"], capture_output=True, text=True, check=False).stdout.strip()
    lines = [
        f"# bench/links.py --runs {args.runs} --configs {args.configs}, {dt.date.today()}, "
        f"{os.cpu_count()} shared cores, {version}, commit {commit()}"
    ]

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        addresses = loopback_gateways(workdir)
        assert len(set(addresses)) == 440 and all(ipaddress.ip_address(a).is_loopback for a in addresses)
        say(f"{len(addresses)} loopback gateways of examples/gen_county.py --loopback; medians of {args.runs} runs")
        say("")
        header = (
            f"{'count/-p/-t/-i (ms)':<20} {'tool':<9} {'wall s':>7} {'ratio':>6} {'cpu s':>6} {'RSS MiB':>7} "
            f"{'sent':>6} {'recv':>6} {'loss %':>6} {'rtt med µs':>10} {'rtt max ms':>10}"
        )
        summary = [header]
        for text in args.configs.split(","):
            settings = parse_config(text)
            ng: list[Run] = []
            fp: list[Run] = []
            for n in range(args.runs):
                ng.append(run_netguard(addresses, settings))
                fp.append(run_fping(fping, addresses, settings))
                say(f"  {text} run {n + 1}: netguard {ng[-1].wall_s:.3f} s, fping {fp[-1].wall_s:.3f} s")
            ng_wall = statistics.median(r.wall_s for r in ng)
            fp_wall = statistics.median(r.wall_s for r in fp)
            for name, runs, wall in (("netguard", ng, ng_wall), ("fping", fp, fp_wall)):
                sent = sum(r.sent for r in runs)
                received = sum(r.received for r in runs)
                rtt = statistics.median(statistics.median(r.avg_rtts_ms) for r in runs if r.avg_rtts_ms) * 1000
                worst = statistics.median(r.max_rtt_ms for r in runs)
                summary.append(
                    f"{text:<20} {name:<9} {wall:>7.3f} {wall / fp_wall:>6.2f} "
                    f"{statistics.median(r.cpu_s for r in runs):>6.3f} {_rss(runs):>7} "
                    f"{sent // len(runs):>6} "
                    f"{received // len(runs):>6} {100 * (sent - received) / sent:>6.2f} {rtt:>10.1f} {worst:>10.3f}"
                )
            if args.cli_runs:
                cli = time_cli(workdir, settings, args.cli_runs)
                summary.append(
                    f"{text:<20} {'command':<9} {cli:>7.3f} {cli / fp_wall:>6.2f}  "
                    "(netguard links check --no-record --json: start-up + inventory + probes)"
                )
        say("")
        for row in summary:
            say(row)
    Path(args.output).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"saved to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
