"""The fingerprint against Percona's own pt-fingerprint, statement by statement."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from audit.fingerprint import fingerprint, fingerprint_id
from tests.audit.workloads import MULTILINE_MY, MULTILINE_PG
from tests.harness.peers import require_peer

CORPUS = Path(__file__).with_name("fingerprint_corpus.sql")
MULTILINE = [
    MULTILINE_MY,
    MULTILINE_PG,
    "SELECT a\n  FROM t -- note\n  WHERE b = 'x\ny'\n",
    "INSERT INTO t VALUES\n (1, 'a'),\n (2, 'b')",
    "SELECT * FROM t WHERE id IN (\n  1,\n  2\n) ORDER BY x ASC",
]


def corpus() -> list[str]:
    return [q for q in CORPUS.read_text(encoding="utf-8").split("\n") if q.strip()] + MULTILINE


def pt_fingerprint(query: str) -> str:
    out = subprocess.run(["pt-fingerprint", "--query", query], check=False, capture_output=True, timeout=60)
    # pt-fingerprint 3.2.1 exits 1 after printing with --query; the output is what counts.
    assert out.stdout.endswith(b"\n"), out.stderr
    return out.stdout.decode("utf-8").removesuffix("\n")


def test_matches_pt_fingerprint_on_the_corpus() -> None:
    if shutil.which("pt-fingerprint") is None:
        require_peer("pt-fingerprint missing (Debian percona-toolkit)")
    queries = corpus()
    assert len(queries) > 20
    mismatches = [(q, pt, fingerprint(q)) for q in queries if (pt := pt_fingerprint(q)) != fingerprint(q)]
    assert mismatches == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT * FROM t WHERE a IN (1, 2, 3)", "select * from t where a in(?+)"),
        ("INSERT INTO t VALUES (1, 'a'), (2, 'b')", "insert into t values(?+)"),
        ("SELECT a FROM t ORDER BY a ASC, b ASC LIMIT 10, 5", "select a from t order by a, b limit ?"),
        ("use his", "use ?"),
        ("SELECT 姓名 FROM 患者 WHERE 身份证 = '110101199003071234'", "select 姓名 from 患者 where 身份证 = ?"),
    ],
)
def test_known_fingerprints(query: str, expected: str) -> None:
    assert fingerprint(query) == expected


def test_id_is_uppercase_md5_of_the_utf8_fingerprint() -> None:
    # pt-query-digest 3.2.1 printed this checksum for this fingerprint (from a real run).
    assert fingerprint_id("select ?") == "1FE1379FE2A31B8D16219655761820A2"
    assert len(fingerprint_id("select 姓名 from 患者")) == 32
