"""A spreadsheet with a damaged row: that row is counted and reported, the good rows are still read."""

from __future__ import annotations

import shutil
from pathlib import Path

from netguard.inventory import import_csv

SMALL = Path(__file__).resolve().parents[1] / "inventory" / "data" / "small.yaml"
HEADER = "institution_id,institution_name,mac,ip,owner,kind,note"


def _import(tmp_path: Path, rows: list[bytes]):
    county = tmp_path / "county.yaml"
    shutil.copy(SMALL, county)
    csv = tmp_path / "devices.csv"
    csv.write_bytes(b"\r\n".join(rows) + b"\r\n")
    return import_csv(csv, county)


def test_a_utf8_file_with_one_bad_row_keeps_its_good_rows(tmp_path: Path) -> None:
    rows = [
        HEADER.encode(),
        "thc-nagu,,AA-BB-CC-00-00-01,,张三,pc,走廊".encode(),
        b"thc-nagu,,AA-BB-CC-00-00-02,,\xd5\xc5\xc8\xfd,pc,",  # one row saved in GBK by another tool
        "thc-nagu,,AA-BB-CC-00-00-03,,李四,printer,".encode(),
    ]
    result = _import(tmp_path, rows)
    assert result.encoding == "utf-8"  # not the whole file read as GB18030 (mojibake)
    assert [(d.mac, d.owner, d.origin.line) for d in result.added] == [
        ("aa:bb:cc:00:00:01", "张三", 2),
        ("aa:bb:cc:00:00:03", "李四", 4),
    ]
    assert result.rows == 3
    assert [(Path(e.location.file).name, e.location.line, e.message) for e in result.report.errors] == [
        ("devices.csv", 3, "is not UTF-8 text (byte 0xd5 at column 30); save the file as 'CSV UTF-8'")
    ]
    assert result.text is None  # the import stays all or nothing: nothing to write while a row is bad


def test_a_gb18030_file_with_one_bad_row_keeps_its_good_rows(tmp_path: Path) -> None:
    rows = [
        HEADER.encode(),
        "thc-nagu,,AA-BB-CC-00-00-01,,张三,电脑,".encode("gb18030"),
        b"thc-nagu,,AA-BB-CC-00-00-02,,\xff\xff,pc,",
        "thc-nagu,,AA-BB-CC-00-00-03,,李四,打印机,".encode("gb18030"),
    ]
    result = _import(tmp_path, rows)
    assert result.encoding == "gb18030"
    assert [(d.owner, d.kind) for d in result.added] == [("张三", "pc"), ("李四", "printer")]
    assert [(e.location.line, e.message.split(" (")[0]) for e in result.report.errors] == [(3, "is not GB18030 text")]
