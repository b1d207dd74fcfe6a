"""SQL log analysis benchmark: ``netguard audit parse`` beside pt-query-digest and pgBadger.

    python bench/audit.py [--statements 1000000] [--runs 3] [--out bench/results/audit.txt]
                          [--ingest 200000] [--es-version 8.19.8] [--skip-parse]
                          [--only slow,general,postgres] [--baseline /path/to/older/tree]

It generates one HIS-like workload (a few dozen statement shapes, many
literals: patient ids, ID-card and phone numbers, Chinese names, IN lists of
varying length, some multi-line statements) and writes it three ways:

- a MariaDB slow log (``long_query_time=0``, row counts varying as in a real
  one): ``netguard audit parse --format mysql-slow --json`` and
  ``pt-query-digest`` (Debian percona-toolkit) read it;
- a MariaDB general log: NetGuard reads it (``mysql-general``); pt-query-digest
  reads it too (``--type genlog``), as the closest anchor;
- a PostgreSQL stderr log with ``duration: N ms  statement: …`` lines (what
  ``log_min_duration_statement=0`` writes and pgBadger reads):
  ``--format postgres`` and ``pgbadger``.

Each tool runs ``--runs`` times on the same file in the same run, NetGuard and
its anchor taking turns (so a change in the machine's load hits both); the
script prints the median wall time, statements/s (wall and CPU), the ratio
NetGuard/anchor, each process's peak RSS (``wait4``'s ``ru_maxrss``) and the
load average. NetGuard's numbers are end to end: parse, mask, fingerprint,
analysis (sqlglot, cached per shape), built-in rules and one JSON line per
statement written to /dev/null; the anchors aggregate and print a report.
Bytecode is cached as for an installed package. "Memory flat" is checked by
running NetGuard on a quarter of the log and on all of it: the peaks should
match.

``--only`` runs just the named parse cases (and skips the memory check);
``--baseline DIR`` also runs the NetGuard of another checkout (an older
commit) in the same turns, for a before/after taken under the same load.

Ingest (``--ingest N``, default 200,000): ``netguard audit ingest`` of an
N-statement slow log into a fresh embedded SQLite store and, with
``--es-version``, into a real Elasticsearch node started by the test harness
(tests/harness/elasticsearch.py: one node, 512 MiB heap, on this machine), all
taking turns (with ``--baseline``, the other checkout's ingest too); every run
checks that all N events arrived. Each line gives the netguard process's wall
and CPU time per statement and, for Elasticsearch, the node's own CPU over the
run (``_nodes/stats``: indexing and the final refresh), since the node shares
the machine's cores with the ingest. The node is first warmed with
``--es-warmup`` untimed ingests per checkout (default 2): a fresh JVM spends
about twice as much per document on its first few hundred thousand.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华"
USERS = [("his_app", "10.20.1.11"), ("his_app", "10.20.1.12"), ("emr", "10.20.2.5"), ("lis", "10.20.3.7")]
PG_PREFIX = "%m [%p] %u@%d %h "


def _name(r: random.Random) -> str:
    return r.choice(SURNAMES) + r.choice(GIVEN) + (r.choice(GIVEN) if r.random() < 0.6 else "")


def _id_card(r: random.Random) -> str:
    born = f"{r.randint(1950, 2020)}{r.randint(1, 12):02d}{r.randint(1, 28):02d}"
    return f"5325{r.randint(10, 99)}{born}{r.randint(0, 9999):04d}"


def _phone(r: random.Random) -> str:
    return f"1{r.choice('3589')}{r.randint(0, 999999999):09d}"


def _ids(r: random.Random) -> str:
    return ", ".join(str(r.randint(1, 2_000_000)) for _ in range(r.randint(1, 12)))


# (weight, maker) — the shapes of a county HIS: lookups by id, card and phone, visit
# lists, prescriptions, lab results, inserts and updates, the odd report query.
SHAPES: list[tuple[int, Callable[[random.Random], str]]] = [
    (30, lambda r: f"SELECT id, 姓名, 性别, 出生日期 FROM his.患者 WHERE id = {r.randint(1, 2_000_000)}"),
    (12, lambda r: f"SELECT * FROM his.患者 WHERE 身份证号 = '{_id_card(r)}'"),
    (8, lambda r: f"SELECT id, 姓名 FROM his.患者 WHERE 电话 = '{_phone(r)}' LIMIT 1"),
    (
        10,
        lambda r: (
            f"SELECT v.id, v.科室, v.就诊时间 FROM his.就诊 v WHERE v.患者id IN ({_ids(r)}) ORDER BY v.就诊时间 DESC"
        ),
    ),
    (
        8,
        lambda r: (
            "SELECT p.姓名, d.药品名称, d.数量\n  FROM his.处方 d\n  JOIN his.患者 p ON p.id = d.患者id\n"
            f" WHERE d.就诊id = {r.randint(1, 9_000_000)} -- 门诊处方"
        ),
    ),
    (
        6,
        lambda r: (
            f"INSERT INTO his.就诊 (患者id, 科室, 医生, 就诊时间) VALUES ({r.randint(1, 2_000_000)}, "
            f"'{r.choice(['内科', '外科', '儿科', '妇产科'])}', '{_name(r)}',"
            f" '2026-11-{r.randint(1, 30):02d} 09:00:00')"
        ),
    ),
    (5, lambda r: f"UPDATE his.患者 SET 电话 = '{_phone(r)}', 更新时间 = NOW() WHERE id = {r.randint(1, 2_000_000)}"),
    (6, lambda r: f"SELECT 结果, 参考范围 FROM lis.检验结果 WHERE 样本号 = 'S{r.randint(1, 10**8)}' AND 项目 = 'GLU'"),
    (4, lambda r: f"INSERT INTO emr.病历 (就诊id, 内容) VALUES ({r.randint(1, 9_000_000)}, '患者{_name(r)}主诉头痛')"),
    (
        3,
        lambda r: f"SELECT COUNT(*) FROM his.就诊 WHERE 科室 = '内科' AND 就诊时间 >= '2026-11-{r.randint(1, 30):02d}'",
    ),
    (2, lambda r: f"DELETE FROM his.临时挂号 WHERE 创建时间 < '2026-11-{r.randint(1, 30):02d}'"),
    (1, lambda r: f"SELECT * FROM his.患者 WHERE 姓名 LIKE '{_name(r)[0]}%' /* 查询 {r.randint(1, 999)} */"),
]
_WEIGHTS = [w for w, _ in SHAPES]
_MAKERS = [m for _, m in SHAPES]


@dataclass(frozen=True)
class Stmt:
    ts: dt.datetime
    conn: int
    user: str
    client: str
    text: str
    ms: float


def workload(n: int, seed: int = 9) -> Iterator[Stmt]:
    r = random.Random(seed)
    t = dt.datetime(2026, 11, 30, 8, 0, 0)
    for _ in range(n):
        t += dt.timedelta(microseconds=r.randint(0, 20_000))
        conn = r.randint(10, 60)
        user, client = USERS[conn % len(USERS)]
        text = r.choices(_MAKERS, _WEIGHTS)[0](r)
        yield Stmt(t, conn, user, client, text, r.expovariate(1 / 2.0))


def write_logs(n: int, directory: Path) -> dict[str, Path]:
    slow, general, pg = directory / "slow.log", directory / "general.log", directory / "pg.log"
    with slow.open("w") as s, general.open("w") as g, pg.open("w") as p:
        g.write("/usr/sbin/mariadbd, Version: 10.11.19-MariaDB-log (Debian 12). started with:\n")
        g.write("Tcp port: 3306  Unix socket: /run/mysqld/mysqld.sock\nTime\t\t    Id Command\tArgument\n")
        for conn in range(10, 61):
            user, client = USERS[conn % len(USERS)]
            g.write(f"261130  8:00:00\t{conn:6d} Connect\t{user}@{client} on his using TCP/IP\n")
        last_second = ""
        # Row counts as a real slow log has them (mostly one row, some lists, now and then an export);
        # a Random of their own leaves workload() the same. A constant count would hide what a verdict
        # cache keyed by raw rows_sent costs (audit/fact_buckets.py).
        rows = random.Random(n)
        for st in workload(n):
            pick = rows.random()
            sent = 1 if pick < 0.6 else rows.randint(0, 200) if pick < 0.97 else rows.randint(200, 20_000)
            examined = sent + rows.randint(0, 5_000)
            second = st.ts.strftime("%y%m%d %H:%M:%S").replace(" 0", "  ", 1)
            epoch = int(st.ts.replace(tzinfo=dt.UTC).timestamp())
            if second != last_second:
                s.write(f"# Time: {second}\n")
                g.write(f"{second}\t{st.conn:6d} Query\t{st.text}\n")
                last_second = second
            else:
                g.write(f"\t\t{st.conn:6d} Query\t{st.text}\n")
            s.write(
                f"# User@Host: {st.user}[{st.user}] @  [{st.client}]\n# Thread_id: {st.conn}  Schema: his  QC_hit: No\n"
                f"# Query_time: {st.ms / 1000:.6f}  Lock_time: 0.000010  Rows_sent: {sent}  Rows_examined: {examined}\n"
                f"SET timestamp={epoch};\n{st.text};\n"
            )
            stamp = st.ts.strftime("%Y-%m-%d %H:%M:%S.") + f"{st.ts.microsecond // 1000:03d} CST"
            body = st.text.replace("\n", "\n\t")
            p.write(
                f"{stamp} [{st.conn + 1000}] {st.user}@his {st.client} LOG:  "
                f"duration: {st.ms:.3f} ms  statement: {body}\n"
            )
    return {"slow": slow, "general": general, "pg": pg}


@dataclass(frozen=True)
class Run:
    seconds: float  # wall clock
    cpu: float  # user + system CPU seconds of the process (steadier on a shared machine)
    peak_rss_mib: float


def _env(root: Path = ROOT) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    # As installed: bytecode cached (a shell with PYTHONDONTWRITEBYTECODE=1 recompiles every
    # module on every start, ~1 s of CPU that is not NetGuard's).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def timed(cmd: list[str], env: dict[str, str] | None = None) -> Run:
    with open(os.devnull, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL, cwd=ROOT, env=env or _env())
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{cmd[0]} failed with exit code {code}: {' '.join(cmd)}")
    return Run(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def summary(results: list[Run]) -> Run:
    """Medians of time, the highest peak."""
    return Run(
        statistics.median(r.seconds for r in results),
        statistics.median(r.cpu for r in results),
        max(r.peak_rss_mib for r in results),
    )


def interleaved(cmds: list[Callable[[], Run]], runs: int) -> list[Run]:
    """Each command ``runs`` times, taking turns (A B A B ...), so load changes hit both sides alike."""
    results: list[list[Run]] = [[] for _ in cmds]
    for _ in range(runs):
        for i, cmd in enumerate(cmds):
            results[i].append(cmd())
    return [summary(r) for r in results]


def netguard(fmt: str, path: Path, *extra: str, root: Path = ROOT) -> list[str]:
    return [sys.executable, str(root / "cli.py"), "audit", "parse", "--format", fmt, str(path), "--json", *extra]


def ingest_cmd(config: Path, fmt: str, path: Path, *extra: str, root: Path = ROOT) -> list[str]:
    return [sys.executable, str(root / "cli.py"), "--config", str(config), "audit", "ingest", "--format", fmt,
            str(path), *extra]  # fmt: skip


def sqlite_ingest(directory: Path, path: Path, tz: tuple[str, str], root: Path = ROOT) -> Callable[[], Run]:
    """``audit ingest`` of the slow log into a fresh embedded store, once per call (``root``: whose NetGuard)."""
    counter = iter(range(1_000_000))

    def run() -> Run:
        where = directory / f"sqlite-{next(counter)}-{root.name}"
        where.mkdir()
        config = where / "netguard.yaml"
        config.write_text("state:\n  path: state.db\nevents:\n  sqlite:\n    path: events.db\n", encoding="utf-8")
        result = timed(ingest_cmd(config, "mysql-slow", path, *tz, root=root), _env(root))
        shutil.rmtree(where)
        return result

    return run


@dataclass
class EsBench:
    """A harness Elasticsearch node for the ingest runs, and the node's CPU per run (from its own stats)."""

    run: Callable[[Path], Run]  # one ingest by the NetGuard of a checkout; appends to node_cpu
    stop: Callable[[], None]
    node_cpu: dict[Path, list[float]]


def es_ingest(directory: Path, path: Path, tz: tuple[str, str], version: str) -> EsBench:
    """``audit ingest`` of the slow log into a real Elasticsearch node the test harness starts."""
    from elasticsearch import Elasticsearch

    from tests.harness.elasticsearch import ElasticsearchNodes

    nodes = ElasticsearchNodes([version])
    node = nodes.get(version)
    client = Elasticsearch(**(node.client_kwargs() | {"request_timeout": 120}))
    auth = f"    username: {node.username}\n    password: env:NG_BENCH_ES_PASSWORD\n" if node.password else ""
    if node.ca_certs is not None:
        auth += f"    ca_certs: {node.ca_certs}\n"
    counter = iter(range(1_000_000))
    node_cpu: dict[Path, list[float]] = {}

    def cpu_seconds() -> float:
        stats = client.nodes.stats(metric="process").body["nodes"]
        return float(sum(n["process"]["cpu"]["total_in_millis"] for n in stats.values())) / 1000

    def run(root: Path) -> Run:
        prefix = f"bench{os.getpid()}x{next(counter)}"
        where = directory / prefix
        where.mkdir()
        config = where / "netguard.yaml"
        config.write_text(
            f"state:\n  path: state.db\nevents:\n  backend: elasticsearch\n  elasticsearch:\n"
            f"    hosts: [{node.url}]\n    replicas: 0\n    index_prefix: {prefix}\n{auth}",
            encoding="utf-8",
        )
        env = _env(root) | {"NG_BENCH_ES_PASSWORD": node.password or ""}
        try:
            before = cpu_seconds()
            result = timed(ingest_cmd(config, "mysql-slow", path, *tz, root=root), env)
            client.indices.refresh(index=f"{prefix}-*")
            node_cpu.setdefault(root, []).append(cpu_seconds() - before)  # indexing, the final refresh
            stored = client.count(index=f"{prefix}-*")["count"]
            if stored != statements(path):
                raise SystemExit(f"elasticsearch holds {stored} events, expected {statements(path)}")
        finally:
            client.options(ignore_status=404).indices.delete(index=f"{prefix}-*", allow_no_indices=True)
            client.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-*")
            shutil.rmtree(where)
        return result

    def stop() -> None:
        client.close()
        nodes.stop_all()

    return EsBench(run, stop, node_cpu)


def statements(slow_log: Path) -> int:
    with slow_log.open("rb") as f:
        return sum(line.startswith(b"# User@Host: ") for line in f)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--statements", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "audit.txt")
    ap.add_argument("--generate-only", type=Path, metavar="DIR", help="Only write the logs into DIR.")
    ap.add_argument("--skip-parse", action="store_true", help="Only the ingest benchmarks.")
    ap.add_argument("--ingest", type=int, default=200_000, metavar="N",
                    help="Statements for the ingest benchmarks (0: none).")  # fmt: skip
    ap.add_argument("--es-version", metavar="VERSION", help="Also ingest into this Elasticsearch (harness node).")
    ap.add_argument("--es-warmup", type=int, default=2, metavar="N",
                    help="Untimed ingests per checkout before the timed turns (the JIT warms up).")  # fmt: skip
    ap.add_argument("--only", metavar="CASES", help="Comma-separated parse cases: slow, general, postgres.")
    ap.add_argument("--baseline", type=Path, metavar="DIR", help="Also run the NetGuard of this checkout, in turns.")
    args = ap.parse_args()
    n = args.statements
    if args.generate_only:
        args.generate_only.mkdir(parents=True, exist_ok=True)
        for path in write_logs(n, args.generate_only).values():
            print(path)
        return
    lines: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    tz = ("--timezone", "Asia/Shanghai")
    with tempfile.TemporaryDirectory(prefix="netguard-bench-audit-") as tmp:
        directory = Path(tmp)
        t0 = time.perf_counter()
        # --skip-parse: no parse logs to write (a million statements take a while to generate).
        logs = write_logs(0 if args.skip_parse else n, directory)
        (directory / "quarter").mkdir()
        quarter = write_logs(0 if args.skip_parse else n // 4, directory / "quarter")
        timed([sys.executable, str(ROOT / "cli.py"), "--help"])  # compile the bytecode once, outside the timings
        if args.skip_parse:
            say(f"bench/audit.py --skip-parse: machine: {os.cpu_count()} cores, load average {_load()} at the start")
        else:
            say(
                f"bench/audit.py: {n:,} statements ({len(SHAPES)} shapes), {args.runs} runs each, NetGuard and the "
                f"anchor taking turns, medians; machine: {os.cpu_count()} cores, load average {_load()} at the start; "
                f"generated in {time.perf_counter() - t0:.0f} s; NetGuard's stdout {_stdout_mode()}"
            )
            for name, path in logs.items():
                say(f"  {name}: {path.stat().st_size / 2**20:.0f} MiB")

        cases = {
            "slow": ("slow log", "mysql-slow", logs["slow"], (), "pt-query-digest",
                     ["pt-query-digest", "--limit", "100%", str(logs["slow"])]),
            "general": ("general log", "mysql-general", logs["general"], (), "pt-query-digest --type genlog",
                        ["pt-query-digest", "--type", "genlog", "--limit", "100%", str(logs["general"])]),
            "postgres": ("postgres stderr", "postgres", logs["pg"], ("--log-line-prefix", PG_PREFIX), "pgbadger",
                         ["pgbadger", "--prefix", PG_PREFIX, "-j", "1", "-o", str(directory / "pgbadger.html"),
                          str(logs["pg"])]),
        }  # fmt: skip
        chosen = list(cases) if not args.only else [c.strip() for c in args.only.split(",")]
        unknown = [c for c in chosen if c not in cases]
        if unknown:
            raise SystemExit(f"--only: unknown case(s) {', '.join(unknown)} (one of {', '.join(cases)})")
        for key in [] if args.skip_parse else chosen:
            title, fmt, path, extra, anchor_name, anchor_cmd = cases[key]
            if shutil.which(anchor_cmd[0]) is None:
                say(f"{title}: {anchor_cmd[0]} missing (Debian percona-toolkit / pgbadger); skipped")
                continue
            cmds: list[Callable[[], Run]] = [
                partial(timed, netguard(fmt, path, *extra, *tz)),
                partial(timed, anchor_cmd),
            ]
            if args.baseline:
                base_cmd = netguard(fmt, path, *extra, *tz, root=args.baseline.resolve())
                cmds.append(partial(timed, base_cmd, _env(args.baseline.resolve())))
            ours, anchor, *base = interleaved(cmds, args.runs)
            say(
                f"{title}: NetGuard {n / ours.seconds:,.0f} st/s wall ({ours.seconds:.1f} s), "
                f"{n / ours.cpu:,.0f} st/s CPU, "
                f"peak {ours.peak_rss_mib:.0f} MiB | {anchor_name} {n / anchor.seconds:,.0f} st/s wall "
                f"({anchor.seconds:.1f} s), {n / anchor.cpu:,.0f} st/s CPU, peak {anchor.peak_rss_mib:.0f} MiB"
                f" | ratio NetGuard/anchor {anchor.seconds / ours.seconds:.2f}x wall, {anchor.cpu / ours.cpu:.2f}x CPU"
                f" | load {_load()}"
            )
            if base:
                say(
                    f"  baseline {args.baseline}: {n / base[0].cpu:,.0f} st/s CPU ({base[0].cpu:.1f} s) | ratio "
                    f"baseline/anchor {anchor.cpu / base[0].cpu:.2f}x CPU | NetGuard/baseline "
                    f"{base[0].cpu / ours.cpu:.2f}x CPU"
                )
        if not args.skip_parse and not args.only:
            small = timed(netguard("mysql-slow", quarter["slow"], *tz))
            large = timed(netguard("mysql-slow", logs["slow"], *tz))
            say(
                f"memory: NetGuard slow log peak RSS {small.peak_rss_mib:.0f} MiB at {n // 4:,} statements, "
                f"{large.peak_rss_mib:.0f} MiB at {n:,} (flat = the same)"
            )
        if args.ingest:
            ingest_runs(args, directory, tz, say)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"saved to {args.out}")


def ingest_runs(args: argparse.Namespace, directory: Path, tz: tuple[str, str], say: Callable[[str], None]) -> None:
    """``audit ingest`` of one slow log into SQLite and Elasticsearch (and by --baseline's NetGuard), in turns."""
    m = args.ingest
    (directory / "ingest").mkdir()
    slow = write_logs(m, directory / "ingest")["slow"]
    roots = [ROOT] + ([args.baseline.resolve()] if args.baseline else [])
    runs: list[tuple[str, Path, Callable[[], Run]]] = [
        (f"SQLite (embedded){'' if root == ROOT else f' by {root}'}", root, sqlite_ingest(directory, slow, tz, root))
        for root in roots
    ]
    es: EsBench | None = None
    if args.es_version:
        es = es_ingest(directory, slow, tz, args.es_version)
        where = f"Elasticsearch {args.es_version} (one node, 512 MiB heap, same machine)"
        runs += [(where + ("" if root == ROOT else f" by {root}"), root, partial(es.run, root)) for root in roots]
    if es is not None:
        # A fresh node's JIT is cold: its first half million documents cost it twice what later ones do
        # (89 -> 57 -> 48 us a statement in three runs). A node in service is warm, so warm this one
        # with untimed ingests (each checkout's, so both templates are compiled) before the turns.
        for _ in range(args.es_warmup):
            for root in roots:
                es.run(root)
        es.node_cpu.clear()
    say(
        f"ingest: {m:,} slow-log statements, {args.runs} runs each taking turns, medians"
        + (f" (the node warmed by {args.es_warmup} untimed ingests per checkout)" if es is not None else "")
        + f" | load {_load()}"
    )
    try:
        results = interleaved([run for _, _, run in runs], args.runs)
    finally:
        if es is not None:
            es.stop()
    for (name, root, _), r in zip(runs, results, strict=True):
        line = (
            f"ingest {m:,} slow-log statements into {name}: {m / r.seconds:,.0f} st/s wall "
            f"({r.seconds:.1f} s), {m / r.cpu:,.0f} st/s CPU of the netguard process "
            f"({r.cpu / m * 1e6:.0f} us/statement), peak {r.peak_rss_mib:.0f} MiB"
        )
        if es is not None and name.startswith("Elasticsearch"):
            node = statistics.median(es.node_cpu[root])
            line += f" | node CPU {node:.1f} s ({node / m * 1e6:.0f} us/statement)"
        say(line + f" | load {_load()}")


def _stdout_mode() -> str:
    """Whether the NetGuard runs inherit PYTHONUNBUFFERED (a raw stdout: main wrote each line with its own syscall)."""
    return "unbuffered (PYTHONUNBUFFERED set)" if os.environ.get("PYTHONUNBUFFERED") else "buffered"


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
