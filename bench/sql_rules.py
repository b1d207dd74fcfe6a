"""What the SQL rule packs cost per statement: the pipeline with the built-in classifier beside the YAML rules.

    python bench/sql_rules.py [--statements 200000] [--runs 5]

Statements come from bench/audit.py's HIS workload (a dozen shapes, many
literals), already parsed (no log reading), with the database, user and client
set and timestamps over a working day in Asia/Shanghai. Each run times
``Pipeline.process`` over all of them three ways, interleaved in the same run
so machine load hits all alike:

- ``builtin``: audit.risk.BuiltinClassifier (three shape rules, cached with the shape);
- ``sql-pack``: audit.sql_rules.SqlClassifier with the built-in sql pack, sensitive
  tables and columns in 'his', working hours and an inventory for client roles;
- ``sql-miss``: the same, but every statement from a different user, so the
  context cache never hits and the context rules run per statement (the worst case).

It prints the median statements/s of each, the added cost per statement in
microseconds against ``builtin``, and the cost of ``classify()`` alone on
statements analysed beforehand (less noisy than the difference of two
pipeline times on a shared machine).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from audit.pipeline import Audited, Pipeline
from audit.records import Statement
from audit.risk import BuiltinClassifier, Classifier
from audit.risk_settings import RiskSettings, Sensitive
from audit.sql_rules import sql_classifier
from bench.audit import workload
from netguard.inventory import load_inventory

INVENTORY = """\
county: {name: 县, code: b}
data_centre: dc
institutions:
  - id: dc
    name: 数据中心
    tier: county
    kind: data-centre
    subnets: [10.20.0.0/16]
    gateway: 10.20.0.1
    servers:
      - {id: app1, role: his, address: 10.20.1.11}
      - {id: app2, role: his, address: 10.20.1.12}
      - {id: emr1, role: emr, address: 10.20.2.5}
      - {id: bastion, role: bastion, address: 10.20.0.5}
"""
SETTINGS = RiskSettings(
    sensitive={"his": Sensitive(frozenset({"患者"}), frozenset({"身份证号", "电话", "姓名"}))},
)


def statements(n: int, unique_users: bool) -> list[Statement]:
    zone = ZoneInfo("Asia/Shanghai")
    out = []
    for i, s in enumerate(workload(n)):
        user = f"u{i}" if unique_users else s.user
        out.append(
            Statement("bench", i, i, s.text, "mysql", "mariadb", ts=s.ts.replace(tzinfo=zone), user=user,
                      client=s.client, db="his")
        )  # fmt: skip
    return out


def timed(classifier: Classifier, stmts: list[Statement]) -> float:
    pipeline = Pipeline(classifier)
    start = time.perf_counter()
    for s in stmts:
        pipeline.process(s)
    return time.perf_counter() - start


def classify_only(classifier: Classifier, items: list[Audited]) -> float:
    start = time.perf_counter()
    for item in items:
        classifier.classify(item.statement, item.analysis)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--statements", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "inv.yaml"
        path.write_text(INVENTORY, encoding="utf-8")
        inventory = load_inventory(path)
    common = statements(args.statements, False)
    distinct = statements(args.statements, True)
    times: dict[str, list[float]] = {"builtin": [], "sql-pack": [], "sql-miss": []}
    only: dict[str, list[float]] = {"builtin": [], "sql-pack": [], "sql-miss": []}
    analysed = {False: _analysed(common), True: _analysed(distinct)}
    for _ in range(args.runs):
        times["builtin"].append(timed(BuiltinClassifier(), common))
        times["sql-pack"].append(timed(sql_classifier(SETTINGS, inventory), common))
        times["sql-miss"].append(timed(sql_classifier(SETTINGS, inventory), distinct))
        only["builtin"].append(classify_only(BuiltinClassifier(), analysed[False]))
        only["sql-pack"].append(classify_only(sql_classifier(SETTINGS, inventory), analysed[False]))
        only["sql-miss"].append(classify_only(sql_classifier(SETTINGS, inventory), analysed[True]))
    load = os.getloadavg()
    print(f"{args.statements} statements, {args.runs} runs interleaved, load average {load[0]:.2f} {load[1]:.2f}")
    base = statistics.median(times["builtin"])
    for name, values in times.items():
        med = statistics.median(values)
        extra = (med - base) / args.statements * 1e6
        alone = statistics.median(only[name]) / args.statements * 1e6
        print(
            f"{name:9s} pipeline median {med:6.2f} s {args.statements / med:9,.0f} statements/s "
            f"({extra:+6.2f} µs/statement); classify() alone {alone:6.2f} µs/statement"
        )


def _analysed(stmts: list[Statement]) -> list[Audited]:
    pipeline = Pipeline(BuiltinClassifier())
    return [pipeline.process(s) for s in stmts]


if __name__ == "__main__":
    main()
