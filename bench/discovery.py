"""Switch discovery benchmark: NetGuard's SNMP walks beside net-snmp's snmpbulkwalk, and many switches at once.

    python bench/discovery.py [--runs 5] [--switches 110,220,440] [--agents 4] [--skip-large] [--skip-many]
                              [--only arp]

1. One large recording of a real switch (snmpsim-data's Huawei S12704: 2700
   BRIDGE-MIB FDB rows, 2734 ARP rows) served by snmpsim on loopback, walked
   in the same run, alternately, ``--runs`` times. Only the subtrees
   discovery reads are served (26k of the recording's 650k lines): snmpsim
   keeps the whole file's index in a dumbdbm that takes minutes to open on
   the first request, which would measure snmpsim, not the walkers.

   - the forwarding table alone (dot1dTpFdbPort), six ways taken in turn in
     every run: NetGuard's default (v2c fast path, adaptive repetitions),
     its fast path at a fixed 50, its old path through pysnmp at 50, and
     ``snmpbulkwalk -v2c -On -Oq`` at its default 10, ``-Cr50`` and
     ``-Cr64`` (snmpsim answers at most 64 var-binds, so that is what the
     adaptive walk gets here). For each: requests, median wall time, median
     CPU of the walker (snmpbulkwalk's from RUSAGE_CHILDREN) and of snmpsim;
   - the whole switch: NetGuard's ``walk_switch`` (system, 9 interface
     columns, bridge ports, FDB, both ARP tables, LLDP) against one
     ``snmpbulkwalk -Cr50`` per subtree it walks, one after the other.

   Medians and the ratio NetGuard / snmpbulkwalk (below 1 is faster), and
   NetGuard's peak resident memory.
2. For each count in ``--switches``, in a fresh process of its own (so its
   peak resident memory is its own): that many simulated switches (small
   real recordings: Cisco C3750, H3C E528, Maipu SM4200, Huawei S5720,
   D-Link DES-3200, each under its own community) served by ``--agents``
   snmpsim processes, all walked in one ``walk_switches`` run: wall time,
   switches complete, resident memory at 25 %, 50 % and 100 % of the run
   and its peak (what grows is the reports themselves, which the run
   returns), the CPU NetGuard and the agents each used, and the wall time
   the two would need on 2 cores of their own. snmpsim answers one request
   at a time per process and costs ten times NetGuard's CPU per switch, so
   the agents, not the walker, bound this part on a shared machine.

The machine is shared: the load average is printed at the start and the end.

3. ``--only arp``: the ARP sweep of a /24 in the namespace lab beside arp-scan
   (:mod:`bench.discovery_arp`), written to bench/results/discovery-arp.txt.

snmpsim's indexes are kept in ~/.cache/netguard/bench-snmpsim and reused. Results are
printed and written to bench/results/discovery.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import cpu_seconds, rss_kib
from bench.discovery_arp import arp_bench
from netguard.discovery import SwitchJob, SwitchReport, walk_switch, walk_switches
from netguard.discovery import oids as O
from netguard.secrets import Secret
from netguard.snmp import SnmpTarget, oid_text
from netguard.snmp.client import SnmpClient
from netguard.snmp.fanout import Outcome, run_bounded
from tests.harness.snmpsim import SnmpSim, copy_recording

CACHE = Path.home() / ".cache" / "netguard" / "bench-snmpsim"
LARGE = "huawei-s12704"
SMALL = ("cisco-c3750", "h3c-e528-2", "maipu-sm4200-16gef8ge-ac", "huawei-s5720", "dlink-des3200")
RESULTS = Path(__file__).resolve().parent / "results" / "discovery.txt"
RESULTS_ARP = RESULTS.with_name("discovery-arp.txt")

# Every subtree walk_switch walks on a switch without Q-BRIDGE rows and without LLDP (the S12704).
SWITCH_SUBTREES = (
    O.IF_DESCR,
    O.IF_TYPE,
    O.IF_SPEED,
    O.IF_PHYS_ADDRESS,
    O.IF_ADMIN_STATUS,
    O.IF_OPER_STATUS,
    O.IF_NAME,
    O.IF_HIGH_SPEED,
    O.IF_ALIAS,
    O.DOT1D_BASE_PORT_IFINDEX,
    O.DOT1Q_TP_FDB_PORT,
    O.DOT1Q_TP_FDB_STATUS,
    O.DOT1Q_VLAN_FDB_ID,
    O.DOT1D_TP_FDB_PORT,
    O.DOT1D_TP_FDB_STATUS,
    O.IP_NET_TO_MEDIA_PHYS,
    O.IP_NET_TO_PHYSICAL_PHYS,
    *(O.LLDP_REM_CHASSIS_ID_SUBTYPE, O.LLDP_REM_CHASSIS_ID, O.LLDP_REM_PORT_ID_SUBTYPE, O.LLDP_REM_PORT_ID),
    *(O.LLDP_REM_PORT_DESC, O.LLDP_REM_SYS_NAME, O.LLDP_REM_SYS_DESC),
)
# The FDB walks compared, in the order each run takes them.
WAYS = {
    "netguard": "NetGuard (fast path, adaptive repetitions)",
    "netguard-50": "NetGuard (fast path, 50 per GETBULK)",
    "pysnmp-50": "NetGuard through pysnmp (50 per GETBULK)",
    "snmpbulkwalk": "snmpbulkwalk (default, 10 per GETBULK)",
    "snmpbulkwalk -Cr50": "snmpbulkwalk -Cr50",
    "snmpbulkwalk -Cr64": "snmpbulkwalk -Cr64 (snmpsim's cap per answer)",
}
SYSTEM = (O.SYS_DESCR, O.SYS_OBJECT_ID, O.SYS_UPTIME, O.SYS_CONTACT, O.SYS_NAME, O.SYS_LOCATION)

out_lines: list[str] = []


def say(text: str = "") -> None:
    print(text, flush=True)
    out_lines.append(text)


def rss_mib() -> float:
    return rss_kib() / 1024


def process_cpu() -> float:
    """CPU seconds of this process and of the children it has waited for (snmpbulkwalk, not snmpsim)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def agent_cpu(sim: SnmpSim) -> float:
    """User + system CPU seconds of a running snmpsim process."""
    return 0.0 if sim.pid is None else cpu_seconds(sim.pid)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def snmpbulkwalk(port: int, community: str, subtree: str, *extra: str) -> int:
    args = ["snmpbulkwalk", "-v2c", "-c", community, "-On", "-Oq", "-t", "10", *extra, f"127.0.0.1:{port}", subtree]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return sum(1 for line in out.splitlines() if line.startswith("."))


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def large(runs: int) -> None:
    data = CACHE / "large"
    if not (data / f"{LARGE}.snmprec").exists():
        copy_recording(LARGE, data)
    say(f"== one large recording: {LARGE} (the subtrees discovery reads, served by snmpsim), medians of {runs} runs")
    with SnmpSim(data, CACHE / "large-run", start_timeout=600) as sim:
        target = SnmpTarget("127.0.0.1", sim.port, community=Secret(LARGE), timeout=10, retries=1)
        loop = asyncio.new_event_loop()
        client = SnmpClient()
        fdb = O.DOT1D_TP_FDB_PORT
        # snmpsim opens a recording's index on the first request for it and drops that request.
        warm = SnmpTarget("127.0.0.1", sim.port, community=Secret(LARGE), timeout=5, retries=60)
        loop.run_until_complete(client.get(warm, [O.SYS_NAME]))
        base = rss_mib()
        ways: dict[str, list[float]] = {k: [] for k in WAYS}
        ours: dict[str, list[float]] = {k: [] for k in WAYS}  # CPU seconds of this process per walk
        theirs: dict[str, list[float]] = {k: [] for k in WAYS}  # CPU seconds of snmpsim per walk
        requests: dict[str, int] = {}
        ng_all, nb_all = [], []
        rows: dict[str, object] = {}
        clients = {
            "netguard": client,
            "netguard-50": SnmpClient(adaptive=False),
            "pysnmp-50": SnmpClient(adaptive=False, fast=False),
        }
        for _ in range(runs):
            for way in WAYS:
                cpu, agent = process_cpu(), agent_cpu(sim)
                if way in clients:
                    c = clients[way]
                    t, walk = timed(lambda c=c: loop.run_until_complete(c.walk(target, fdb)))  # type: ignore[misc]
                    rows[f"{way} fdb"] = len(walk.rows)  # type: ignore[attr-defined]
                    requests[way] = walk.requests  # type: ignore[attr-defined]
                else:
                    extra = way.split()[1:]
                    t, n = timed(lambda extra=extra: snmpbulkwalk(sim.port, LARGE, oid_text(fdb), *extra))  # type: ignore[misc]
                    rows[f"{way} fdb"] = n
                ways[way].append(t)
                ours[way].append(process_cpu() - cpu)
                theirs[way].append(agent_cpu(sim) - agent)
            t, report = timed(lambda: loop.run_until_complete(walk_switch(client, target)))
            ng_all.append(t)
            r: SwitchReport = report  # type: ignore[assignment]
            rows["netguard switch"] = (
                f"{len(r.interfaces)} if, {len(r.fdb)} fdb, {len(r.arp)} arp, complete={r.complete}"
            )

            def all_subtrees() -> int:
                total = sum(snmpbulkwalk(sim.port, LARGE, oid_text(s), "-Cr50") for s in SWITCH_SUBTREES)
                args = ["snmpget", "-v2c", "-c", LARGE, "-On", "-Oq", f"127.0.0.1:{sim.port}"]
                subprocess.run([*args, *(oid_text(o) for o in SYSTEM)], capture_output=True, check=True)
                return total

            t, n = timed(all_subtrees)
            nb_all.append(t)
            rows["snmpbulkwalk switch rows"] = n
        stats = client.datagrams.stats
        for c in clients.values():
            c.close()
        loop.run_until_complete(asyncio.sleep(0))  # let the dispatcher's timer task see its cancellation
        loop.close()
    med = statistics.median
    say(f"rows: {rows}")
    say(f"FDB table ({rows['netguard fdb']} rows); CPU columns: medians per walk, of the walker / of snmpsim")
    for way, what in WAYS.items():
        req = f"{requests[way]:3d} req" if way in requests else "       "
        cpu_text = f"cpu {1000 * med(ours[way]):4.0f} ms / {1000 * med(theirs[way]):4.0f} ms"
        say(f"  {what:44s} {req}  median {med(ways[way]):5.2f} s  {cpu_text}   runs {fmt(ways[way])}")
    base_nb = med(ways["snmpbulkwalk -Cr50"])
    for way in ("netguard", "netguard-50", "pysnmp-50"):
        say(
            f"  ratio {way} / snmpbulkwalk -Cr50      {med(ways[way]) / base_nb:.2f}"
            f"   (/ -Cr64 {med(ways[way]) / med(ways['snmpbulkwalk -Cr64']):.2f},"
            f" / default {med(ways[way]) / med(ways['snmpbulkwalk']):.2f})"
        )
    say(f"  answers our decoder left to pysnmp's: {stats.fallbacks}, unreadable: {stats.malformed}")
    say(f"whole switch ({len(SWITCH_SUBTREES)} subtrees + system group)")
    say(f"  NetGuard walk_switch                         median {med(ng_all):5.2f} s   runs {fmt(ng_all)}")
    say(f"  snmpbulkwalk -Cr50, one per subtree          median {med(nb_all):5.2f} s   runs {fmt(nb_all)}")
    say(f"  ratio NetGuard / snmpbulkwalk                {med(ng_all) / med(nb_all):.2f}")
    say(f"NetGuard memory: resident {base:.0f} MiB before the walks, peak {peak_rss_mib():.0f} MiB")


def fmt(values: list[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def many(switches: int, agents: int, limit: int, parallel: int) -> None:
    say(f"== {switches} simulated switches ({', '.join(SMALL)}) on {agents} snmpsim processes, one run")
    sources = CACHE / "small-src"
    for name in SMALL:
        if not (sources / f"{name}.snmprec").exists():
            copy_recording(name, sources)
    # Switch n is served by agent n % agents; jobs stay in that order, so every agent gets its share at once.
    names = [f"sw{n:03d}" for n in range(switches)]
    sims = []
    try:
        started = time.perf_counter()
        for a in range(agents):
            data = CACHE / f"many-{switches}-of-{agents}-{a}" / "data"
            data.mkdir(parents=True, exist_ok=True)
            for n in range(a, switches, agents):
                dest = data / f"{names[n]}.snmprec"
                src = sources / f"{SMALL[n % len(SMALL)]}.snmprec"
                if not dest.exists() or dest.stat().st_size != src.stat().st_size:
                    shutil.copyfile(src, dest)
            sims.append(SnmpSim(data, CACHE / f"many-{switches}-of-{agents}-{a}", start_timeout=900).spawn())
        for sim in sims:
            sim.ready()
        say(f"  snmpsim processes ready in {time.perf_counter() - started:.0f} s")
        jobs = [
            SwitchJob(SnmpTarget("127.0.0.1", sims[n % agents].port, community=Secret(name), timeout=10, retries=2))
            for n, name in enumerate(names)
        ]
        samples: dict[int, float] = {}
        done = 0

        def progress(_o: Outcome[SwitchReport]) -> None:
            nonlocal done
            done += 1
            for pct in (25, 50, 100):
                if done == switches * pct // 100:
                    samples[pct] = rss_mib()

        async def warm() -> None:
            # snmpsim opens each recording's index on its first request (and drops that request): not NetGuard's time.
            async with SnmpClient() as client:
                targets = [dataclasses.replace(j.target, timeout=5, retries=20) for j in jobs]
                await run_bounded(targets, lambda t: client.get(t, [O.SYS_NAME]), label=lambda t: t.label, limit=16)

        warm_time, _ = timed(lambda: asyncio.run(warm()))
        say(f"  warm-up (one GET per switch, snmpsim opening its indexes) {warm_time:.0f} s")

        fallbacks = [0, 0, 0]

        async def run() -> list[SwitchReport]:
            async with SnmpClient() as client:
                reports = await walk_switches(
                    client, jobs, limit=limit, parallel=parallel, deadline=600, on_done=progress
                )
                stats = client.datagrams.stats
                fallbacks[:] = [stats.fallbacks, stats.malformed, stats.resends]
                return reports

        before = rss_mib()
        cpu_before, agents_before = process_cpu(), sum(agent_cpu(s) for s in sims)
        elapsed, value = timed(lambda: asyncio.run(run()))
        cpu_netguard, cpu_agents = process_cpu() - cpu_before, sum(agent_cpu(s) for s in sims) - agents_before
        reports: list[SwitchReport] = value  # type: ignore[assignment]
    finally:
        for sim in sims:
            sim.stop()
    complete = sum(r.complete for r in reports)
    fdb = sum(len(r.fdb) for r in reports)
    arp = sum(len(r.arp) for r in reports)
    ifs = sum(len(r.interfaces) for r in reports)
    requests = f"limit {limit} switches at once, {parallel} walks per switch"
    say(f"  {complete}/{switches} complete in {elapsed:.1f} s ({switches / elapsed:.1f} switches/s; {requests})")
    say(f"  read {ifs} interfaces, {fdb} FDB rows, {arp} ARP rows")
    failed = [f"{r.device}: {r.error or r.problems[:1]}" for r in reports if not r.complete][:5]
    if failed:
        say(f"  first failures: {failed}")
    say(
        f"  CPU during the run: NetGuard {cpu_netguard:.1f} s ({1000 * cpu_netguard / switches:.0f} ms per switch),"
        f" snmpsim {cpu_agents:.1f} s ({1000 * cpu_agents / switches:.0f} ms per switch); both share 2 cores"
    )
    say(
        f"  wall time if both cores were ours alone, at least {(cpu_netguard + cpu_agents) / 2:.1f} s;"
        f" NetGuard's share of the CPU used {100 * cpu_netguard / (cpu_netguard + cpu_agents):.0f} %;"
        f" load average after the run {os.getloadavg()[0]:.1f}"
    )
    say(f"  answers left to pysnmp's decoder {fallbacks[0]}, unreadable {fallbacks[1]}, requests resent {fallbacks[2]}")
    mem = ", ".join(f"{p} % {samples.get(p, 0):.0f} MiB" for p in (25, 50, 100))
    say(f"  NetGuard resident memory: before {before:.0f} MiB, {mem}, peak {peak_rss_mib():.0f} MiB")


def many_in_children(sizes: list[int], args: argparse.Namespace) -> None:
    """Each size in a fresh process, so that its peak resident memory is its own."""
    for size in sizes:
        command = [sys.executable, __file__, "--skip-large", "--child", "--switches", str(size)]
        command += ["--agents", str(args.agents), "--limit", str(args.limit), "--parallel", str(args.parallel)]
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
            assert child.stdout is not None
            for line in child.stdout:
                say(line.rstrip("\n"))
        if child.returncode:
            say(f"  (the run for {size} switches failed with exit status {child.returncode})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--switches", default="110,220,440", help="switch counts, one run each in its own process")
    parser.add_argument("--agents", type=int, default=4, help="snmpsim processes serving the simulated switches")
    parser.add_argument(
        "--limit",
        type=int,
        default=0,
        help="switches walked at once (default 8 per snmpsim process: one process"
        " answers all its switches, so more only queues requests and times them out)",
    )
    parser.add_argument("--parallel", type=int, default=2, help="table walks at once per switch")
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--skip-many", action="store_true")
    parser.add_argument("--only", choices=("arp",), help="Run only this sub-benchmark (arp: the ARP sweep).")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.limit = args.limit or 8 * args.agents
    if args.child:
        many(int(args.switches), args.agents, args.limit, args.parallel)
        return
    if args.only == "arp":
        say(f"bench/discovery.py --only arp  {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
        arp_bench(args.runs, say)
        RESULTS_ARP.write_text("\n".join(out_lines) + "\n", encoding="utf-8")
        print(f"(written to {RESULTS_ARP})")
        return
    if shutil.which("snmpbulkwalk") is None:
        sys.exit("snmpbulkwalk not found: apt-get install snmp (scripts/install-test-deps.sh does)")
    say(
        f"bench/discovery.py  {time.strftime('%Y-%m-%d %H:%M:%S %Z')}  load average {os.getloadavg()[0]:.1f}"
        f" on {os.cpu_count()} cores (shared)"
    )
    if not args.skip_large:
        large(args.runs)
    if not args.skip_many:
        many_in_children([int(n) for n in args.switches.split(",")], args)
    say(f"load average at the end {os.getloadavg()[0]:.1f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(out_lines) + "\n", encoding="utf-8")
    print(f"(written to {RESULTS})")


if __name__ == "__main__":
    main()
