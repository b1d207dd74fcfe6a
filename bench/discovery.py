"""Switch discovery benchmark: NetGuard's SNMP walks beside net-snmp's snmpbulkwalk, and many switches at once.

    python bench/discovery.py [--runs 5] [--switches 440] [--agents 2] [--skip-large] [--skip-many] [--only arp]

1. One large recording of a real switch (snmpsim-data's Huawei S12704: 2700
   BRIDGE-MIB FDB rows, 2734 ARP rows) served by snmpsim on loopback, walked
   in the same run, alternately, ``--runs`` times. Only the subtrees
   discovery reads are served (26k of the recording's 650k lines): snmpsim
   keeps the whole file's index in a dumbdbm that takes minutes to open on
   the first request, which would measure snmpsim, not the walkers.

   - the forwarding table alone (dot1dTpFdbPort): NetGuard's GETBULK walk
     against ``snmpbulkwalk -v2c -On -Oq`` (its default 10 repetitions, and
     with ``-Cr50``, NetGuard's default);
   - the whole switch: NetGuard's ``walk_switch`` (system, 9 interface
     columns, bridge ports, FDB, both ARP tables, LLDP) against one
     ``snmpbulkwalk`` per subtree it walks, one after the other.

   Medians and the ratio NetGuard / snmpbulkwalk (below 1 is faster), and
   NetGuard's peak resident memory.
2. ``--switches`` simulated switches (small real recordings: Cisco C3750,
   H3C E528, Maipu SM4200, Huawei S5720, D-Link DES-3200, each under its own
   community) served by ``--agents`` snmpsim processes, all walked in one
   ``walk_switches`` run: wall time, switches complete, resident memory at
   25 %, 50 % and 100 % of the run (what grows is the reports themselves,
   which the run returns), and the CPU NetGuard and the agents each used.

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
SYSTEM = (O.SYS_DESCR, O.SYS_OBJECT_ID, O.SYS_UPTIME, O.SYS_CONTACT, O.SYS_NAME, O.SYS_LOCATION)

out_lines: list[str] = []


def say(text: str = "") -> None:
    print(text, flush=True)
    out_lines.append(text)


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def agent_cpu(sim: SnmpSim) -> float:
    """User + system CPU seconds of a running snmpsim process."""
    if sim.pid is None:
        return 0.0
    fields = Path(f"/proc/{sim.pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
        ng, nb10, nb50, ng_all, nb_all = [], [], [], [], []
        rows: dict[str, object] = {}
        for _ in range(runs):
            t, walk = timed(lambda: loop.run_until_complete(client.walk(target, fdb)))
            ng.append(t)
            rows["netguard fdb"] = len(walk.rows)  # type: ignore[attr-defined]
            t, n = timed(lambda: snmpbulkwalk(sim.port, LARGE, oid_text(fdb)))
            nb10.append(t)
            rows["snmpbulkwalk fdb"] = n
            t, n = timed(lambda: snmpbulkwalk(sim.port, LARGE, oid_text(fdb), "-Cr50"))
            nb50.append(t)
            t, report = timed(lambda: loop.run_until_complete(walk_switch(client, target)))
            ng_all.append(t)
            r: SwitchReport = report  # type: ignore[assignment]
            rows["netguard switch"] = (
                f"{len(r.interfaces)} if, {len(r.fdb)} fdb, {len(r.arp)} arp, complete={r.complete}"
            )

            def all_subtrees() -> int:
                total = sum(snmpbulkwalk(sim.port, LARGE, oid_text(s)) for s in SWITCH_SUBTREES)
                args = ["snmpget", "-v2c", "-c", LARGE, "-On", "-Oq", f"127.0.0.1:{sim.port}"]
                subprocess.run([*args, *(oid_text(o) for o in SYSTEM)], capture_output=True, check=True)
                return total

            t, n = timed(all_subtrees)
            nb_all.append(t)
            rows["snmpbulkwalk switch rows"] = n
        client.close()
        loop.run_until_complete(asyncio.sleep(0))  # let the dispatcher's timer task see its cancellation
        loop.close()
    med = statistics.median
    say(f"rows: {rows}")
    say(f"FDB table ({rows['netguard fdb']} rows)")
    say(f"  NetGuard walk (50 per GETBULK)     median {med(ng):6.2f} s   runs {fmt(ng)}")
    say(f"  snmpbulkwalk (default, 10)         median {med(nb10):6.2f} s   runs {fmt(nb10)}")
    say(f"  snmpbulkwalk -Cr50                 median {med(nb50):6.2f} s   runs {fmt(nb50)}")
    say(f"  ratio NetGuard / snmpbulkwalk      {med(ng) / med(nb10):.2f} (default)   {med(ng) / med(nb50):.2f} (-Cr50)")
    say(f"whole switch ({len(SWITCH_SUBTREES)} subtrees + system group)")
    say(f"  NetGuard walk_switch               median {med(ng_all):6.2f} s   runs {fmt(ng_all)}")
    say(f"  snmpbulkwalk, one per subtree      median {med(nb_all):6.2f} s   runs {fmt(nb_all)}")
    say(f"  ratio NetGuard / snmpbulkwalk      {med(ng_all) / med(nb_all):.2f}")
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
            data = CACHE / f"many-{switches}-{a}" / "data"
            data.mkdir(parents=True, exist_ok=True)
            for n in range(a, switches, agents):
                dest = data / f"{names[n]}.snmprec"
                src = sources / f"{SMALL[n % len(SMALL)]}.snmprec"
                if not dest.exists() or dest.stat().st_size != src.stat().st_size:
                    shutil.copyfile(src, dest)
            sims.append(SnmpSim(data, CACHE / f"many-{switches}-{a}", start_timeout=900).spawn())
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

        async def run() -> list[SwitchReport]:
            async with SnmpClient() as client:
                return await walk_switches(client, jobs, limit=limit, parallel=parallel, deadline=600, on_done=progress)

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
        f" snmpsim {cpu_agents:.1f} s (both on the same 2 shared cores)"
    )
    mem = ", ".join(f"{p} % {samples.get(p, 0):.0f} MiB" for p in (25, 50, 100))
    say(f"  NetGuard resident memory: before {before:.0f} MiB, {mem}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--switches", type=int, default=440)
    parser.add_argument("--agents", type=int, default=2, help="snmpsim processes serving the simulated switches")
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
    args = parser.parse_args()
    if args.only == "arp":
        say(f"bench/discovery.py --only arp  {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
        arp_bench(args.runs, say)
        RESULTS_ARP.write_text("\n".join(out_lines) + "\n", encoding="utf-8")
        print(f"(written to {RESULTS_ARP})")
        return
    if shutil.which("snmpbulkwalk") is None:
        sys.exit("snmpbulkwalk not found: apt-get install snmp (scripts/install-test-deps.sh does)")
    say(f"bench/discovery.py  {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    if not args.skip_large:
        large(args.runs)
    if not args.skip_many:
        many(args.switches, args.agents, args.limit or 8 * args.agents, args.parallel)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(out_lines) + "\n", encoding="utf-8")
    print(f"(written to {RESULTS})")


if __name__ == "__main__":
    main()
