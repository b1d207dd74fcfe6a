"""Link-check benchmark: NetGuard's ICMP prober beside fping on the 440 loopback gateways.

    python bench/links.py [--runs 5] [--configs 5/1000/1000/2,3/100/500/1] [--output bench/results/links.txt]

The targets are the gateways of ``examples/gen_county.py --loopback`` (every
institution's gateway a distinct 127/8 address). For each configuration
``count/interval/timeout/gap`` (fping's ``-c/-p/-t/-i``, NetGuard's
``--count/--interval/--timeout/--gap``) it alternates runs of

- NetGuard: ``netguard.links.icmp.ping`` in this process (the probe engine
  that ``netguard links check`` runs; the command adds Python start-up and
  inventory loading, timed separately below), and
- ``fping -q -c N -p P -t T -i I`` on the same addresses (Debian's fping),

and reports the median wall time of each, their ratio (target: NetGuard at
most 1.25x fping's), probes sent and answered (the same loss), the median over
targets of the per-target mean RTT and the worst RTT, and CPU time. Runs
alternate so that a noisy neighbour on a shared machine hurts both.
Needs root (or CAP_NET_RAW, or ping_group_range) for both tools.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import ipaddress
import os
import re
import resource
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
from netguard.links.icmp import ping
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
    sent: int
    received: int
    avg_rtts_ms: list[float]  # per target that answered
    max_rtt_ms: float


def run_netguard(addresses: list[IPAddress], settings: IcmpSettings) -> Run:
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    results = asyncio.run(ping(addresses, settings))
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    answered = [s for s in results.values() if s.rtt_avg_ms is not None]
    return Run(
        wall,
        cpu,
        sum(s.sent for s in results.values()),
        sum(s.received for s in results.values()),
        [s.rtt_avg_ms for s in answered if s.rtt_avg_ms is not None],
        max((s.rtt_max_ms or 0.0) for s in answered) if answered else 0.0,
    )


def run_fping(fping: str, addresses: list[IPAddress], settings: IcmpSettings) -> Run:
    args = [fping, "-q", "-c", str(settings.count), "-p", f"{settings.interval_ms:g}"]
    args += ["-t", f"{settings.timeout_ms:g}", "-i", f"{settings.gap_ms:g}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        args, input="\n".join(map(str, addresses)) + "\n", capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    sent = received = 0
    avgs: list[float] = []
    worst = 0.0
    for line in done.stderr.splitlines():
        m = _FPING_LINE.match(line)
        if not m:
            continue
        sent += int(m["sent"])
        received += int(m["recv"])
        if m["avg"]:
            avgs.append(float(m["avg"]))
            worst = max(worst, float(m["max"]))
    if sent == 0:
        raise SystemExit(f"fping printed no statistics (exit {done.returncode}): {done.stderr[:300]}")
    return Run(wall, cpu, sent, received, avgs, worst)


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
            f"{'count/-p/-t/-i (ms)':<20} {'tool':<9} {'wall s':>7} {'ratio':>6} {'cpu s':>6} "
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
                    f"{statistics.median(r.cpu_s for r in runs):>6.3f} {sent // len(runs):>6} "
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
