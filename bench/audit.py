"""SQL log analysis benchmark: ``netguard audit parse`` beside pt-query-digest and pgBadger.

    python bench/audit.py [--statements 1000000] [--runs 3] [--out bench/results/audit.txt]

It generates one HIS-like workload (a few dozen statement shapes, many
literals: patient ids, ID-card and phone numbers, Chinese names, IN lists of
varying length, some multi-line statements) and writes it three ways:

- a MariaDB slow log (``long_query_time=0``): ``netguard audit parse --format
  mysql-slow --json`` and ``pt-query-digest`` (Debian percona-toolkit) read it;
- a MariaDB general log: NetGuard reads it (``mysql-general``); pt-query-digest
  reads it too (``--type genlog``), as the closest anchor;
- a PostgreSQL stderr log with ``duration: N ms  statement: …`` lines (what
  ``log_min_duration_statement=0`` writes and pgBadger reads):
  ``--format postgres`` and ``pgbadger``.

Each tool runs ``--runs`` times on the same file in the same run; the script
prints the median wall time, statements/s, the ratio NetGuard/anchor, and each
process's peak RSS (``wait4``'s ``ru_maxrss``). NetGuard's numbers are end to
end: parse, mask, fingerprint, analysis (sqlglot, cached per shape), built-in
rules and one JSON line per statement written to /dev/null; the anchors
aggregate and print a report. "Memory flat" is checked by running NetGuard on
a quarter of the log and on all of it: the peaks should match.
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
        for st in workload(n):
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
                f"# Query_time: {st.ms / 1000:.6f}  Lock_time: 0.000010  Rows_sent: 1  Rows_examined: 1\n"
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


def timed(cmd: list[str], stdout: Path | None = None) -> Run:
    out = open(stdout or os.devnull, "wb")  # noqa: SIM115 - handed to the child, closed below
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=out, stderr=subprocess.DEVNULL, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    out.close()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{cmd[0]} failed with exit code {code}: {' '.join(cmd)}")
    return Run(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def median_run(cmd: list[str], runs: int) -> Run:
    results = [timed(cmd) for _ in range(runs)]
    return Run(
        statistics.median(r.seconds for r in results),
        statistics.median(r.cpu for r in results),
        max(r.peak_rss_mib for r in results),
    )


def netguard(fmt: str, path: Path, *extra: str) -> list[str]:
    return [sys.executable, str(ROOT / "cli.py"), "audit", "parse", "--format", fmt, str(path), "--json", *extra]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--statements", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "audit.txt")
    ap.add_argument("--generate-only", type=Path, metavar="DIR", help="Only write the logs into DIR.")
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

    with tempfile.TemporaryDirectory(prefix="netguard-bench-audit-") as tmp:
        directory = Path(tmp)
        t0 = time.perf_counter()
        logs = write_logs(n, directory)
        (directory / "quarter").mkdir()
        quarter = write_logs(n // 4, directory / "quarter")
        load = os.getloadavg()[0]
        say(
            f"bench/audit.py: {n:,} statements ({len(SHAPES)} shapes), {args.runs} runs each, medians; "
            f"machine: {os.cpu_count()} cores, load {load:.1f}; generated in {time.perf_counter() - t0:.0f} s"
        )
        for name, path in logs.items():
            say(f"  {name}: {path.stat().st_size / 2**20:.0f} MiB")

        tz = ("--timezone", "Asia/Shanghai")
        cases = [
            ("slow log", netguard("mysql-slow", logs["slow"], *tz), "pt-query-digest",
             ["pt-query-digest", "--limit", "100%", str(logs["slow"])]),
            ("general log", netguard("mysql-general", logs["general"], *tz), "pt-query-digest --type genlog",
             ["pt-query-digest", "--type", "genlog", "--limit", "100%", str(logs["general"])]),
            ("postgres stderr", netguard("postgres", logs["pg"], "--log-line-prefix", PG_PREFIX, *tz), "pgbadger",
             ["pgbadger", "--prefix", PG_PREFIX, "-j", "1", "-o", str(directory / "pgbadger.html"), str(logs["pg"])]),
        ]  # fmt: skip
        for title, ours_cmd, anchor_name, anchor_cmd in cases:
            if shutil.which(anchor_cmd[0]) is None:
                say(f"{title}: {anchor_cmd[0]} missing (Debian percona-toolkit / pgbadger); skipped")
                continue
            ours = median_run(ours_cmd, args.runs)
            anchor = median_run(anchor_cmd, args.runs)
            say(
                f"{title}: NetGuard {n / ours.seconds:,.0f} st/s wall ({ours.seconds:.1f} s), "
                f"{n / ours.cpu:,.0f} st/s CPU, "
                f"peak {ours.peak_rss_mib:.0f} MiB | {anchor_name} {n / anchor.seconds:,.0f} st/s wall "
                f"({anchor.seconds:.1f} s), {n / anchor.cpu:,.0f} st/s CPU, peak {anchor.peak_rss_mib:.0f} MiB"
                f" | ratio NetGuard/anchor {anchor.seconds / ours.seconds:.2f}x wall, {anchor.cpu / ours.cpu:.2f}x CPU"
            )
        if True:
            small = timed(netguard("mysql-slow", quarter["slow"], *tz))
            large = timed(netguard("mysql-slow", logs["slow"], *tz))
            say(
                f"memory: NetGuard slow log peak RSS {small.peak_rss_mib:.0f} MiB at {n // 4:,} statements, "
                f"{large.peak_rss_mib:.0f} MiB at {n:,} (flat = the same)"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"saved to {args.out}")


if __name__ == "__main__":
    main()
