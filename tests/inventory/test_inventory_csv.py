"""CSV import: spreadsheet encodings and spellings, errors by line and column, all-or-nothing merge."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from netguard.errors import InventoryError
from netguard.inventory import check_text, import_csv, load_inventory
from netguard.inventory.csvimport import column_letter
from netguard.inventory.issues import Location
from netguard.inventory.merge import NewDevice, add_devices
from netguard.inventory.nodes import compose

SMALL = Path(__file__).parent / "data" / "small.yaml"
HEADER = "institution_id,institution_name,mac,ip,owner,kind,note"


@pytest.fixture
def county(tmp_path: Path) -> Path:
    path = tmp_path / "county.yaml"
    shutil.copy(SMALL, path)
    return path


def write_csv(tmp_path: Path, rows: list[str], *, encoding: str = "utf-8-sig", newline: str = "\r\n") -> Path:
    path = tmp_path / "devices.csv"
    path.write_bytes(newline.join(rows).encode(encoding) + newline.encode())
    return path


def errors(result) -> list[tuple[str, int, str, str]]:
    return [(Path(e.location.file).name, e.location.line, e.location.path, e.message) for e in result.report.errors]


def test_excel_utf8_with_bom_and_every_mac_spelling(tmp_path, county):
    csv = write_csv(
        tmp_path,
        [
            HEADER,
            "thc-nagu,,AA-BB-CC-00-00-01,,张三,pc,",
            "thc-nagu,,aabb.cc00.0002,10.13.0.60,李四,printer,走廊",
            "thc-nagu,,AABBCC000003,,王五,pc,",
            "thc-nagu,,aa:bb:cc:00:00:04,,,,",
            ",大海乡梅子村卫生室,aabb-cc00-0005,,赵六,phone,",
        ],
    )
    result = import_csv(csv, county)
    assert errors(result) == []
    assert result.encoding == "utf-8"
    assert [d.mac for d in result.added] == [f"aa:bb:cc:00:00:0{n}" for n in range(1, 6)]
    assert [d.institution for d in result.added] == ["thc-nagu"] * 4 + ["vc-dahai-01"]
    assert [d.origin.line for d in result.added] == [2, 3, 4, 5, 6]
    assert result.added[3].kind == "other" and result.added[3].owner is None
    merged = check_text(result.text or "", "merged.yaml")
    assert merged.report.errors == []
    inv = merged.inventory
    assert inv is not None
    printer, phone = inv.by_mac("aabbcc000002"), inv.by_mac("aa:bb:cc:00:00:05")
    assert printer is not None and str(printer.ip) == "10.13.0.60"
    assert phone is not None and phone.institution == "vc-dahai-01"
    # Nothing was written by the library.
    assert county.read_bytes() == SMALL.read_bytes()


def test_chinese_headers_kinds_and_gb18030_as_plain_excel_saves_it(tmp_path, county):
    csv = write_csv(
        tmp_path,
        [
            "序号,机构编码,MAC地址,IP地址,使用人,类型,备注",
            "1,thc-dahai,00-11-22-33-44-55,,陈医生,电脑,门诊",
            "2,rmyy,001122334456,10.1.4.60,检验科,医疗设备,",
        ],
        encoding="gb18030",
    )
    result = import_csv(csv, county)
    assert errors(result) == []
    assert result.encoding == "gb18030"
    assert [(d.kind, d.owner) for d in result.added] == [("pc", "陈医生"), ("medical-device", "检验科")]
    assert [(w.location.path, w.message) for w in result.report.warnings] == [
        ("column A (序号)", "unknown column, ignored")
    ]


def test_bad_rows_are_reported_by_line_and_column_and_nothing_is_returned(tmp_path, county):
    csv = write_csv(
        tmp_path,
        [
            HEADER,
            "thc-nagu,,AA-BB-CC-00-00-01,,张三,pc,",
            'thc-nagu,,zz-bb-cc-00-00-02,,"李, 四",pc,',
            "thc-nagux,,aa-bb-cc-00-00-03,,,pc,",
            "thc-nagu,,aa-bb-cc-00-00-04,10.13.0.300,,pc,",
            "thc-nagu,,aa-bb-cc-00-00-05,,,toaster,",
            ",不存在的卫生室,aa-bb-cc-00-00-06,,,pc,",
            "thc-nagu,大海乡卫生院,aa-bb-cc-00-00-07,,,pc,",
            "thc-nagu,,AABB.CC00.0001,,张三,pc,",
            "thc-nagu,,,,张三,pc,",
        ],
    )
    result = import_csv(csv, county)
    assert result.text is None
    assert errors(result) == [
        ("devices.csv", 3, "column C (mac)", "'zz-bb-cc-00-00-02' is not a valid MAC address"),
        ("devices.csv", 4, "column A (institution_id)", "unknown institution id 'thc-nagux' "
         "(did you mean 'thc-nagu'?)"),
        ("devices.csv", 5, "column D (ip)", "'10.13.0.300' is not a valid IP address"),
        ("devices.csv", 6, "column F (kind)", "unknown device kind 'toaster' (one of: ap, camera, medical-device, "
         "other, pc, phone, printer, server, switch)"),
        ("devices.csv", 7, "column B (institution_name)", "no institution is named '不存在的卫生室'; use the "
         "institution_id column"),
        ("devices.csv", 8, "column B (institution_name)", "'大海乡卫生院' is not the name of thc-nagu (娜姑镇卫生院)"),
        ("devices.csv", 9, "column C (mac)", "MAC aa:bb:cc:00:00:01 appears twice in the CSV"),
        ("devices.csv", 10, "column C (mac)", "is empty"),
    ]  # fmt: skip
    assert result.report.errors[6].related[0].line == 2


def test_errors_found_only_in_the_merged_county_point_at_the_csv_row(tmp_path, county):
    csv = write_csv(
        tmp_path,
        [
            HEADER,
            "thc-nagu,,aa-bb-cc-00-00-01,10.29.0.50,,printer,",  # Dahai's subnet, not Nagu's
            "vc-dahai-01,,aa-bb-cc-00-00-02,10.29.10.20,,printer,",  # already bound in the county
        ],
    )
    result = import_csv(csv, county)
    assert result.text is None
    assert errors(result) == [
        ("devices.csv", 2, "column D (ip)", "IP 10.29.0.50 is outside the institution's subnets"),
        ("devices.csv", 3, "column D (ip)", "IP 10.29.10.20 is bound to two devices"),
    ]
    related = result.report.errors[1].related[0]
    text = SMALL.read_text(encoding="utf-8").splitlines()
    assert (Path(related.file), "10.29.10.20" in text[related.line - 1]) == (county, True)


def test_reimporting_the_same_rows_changes_nothing_and_conflicts_are_errors(tmp_path, county):
    rows = [HEADER, "thc-nagu,,AA-BB-CC-00-00-01,,张三,pc,", "rmyy,,f8bc.1200.0001,,张伟,pc,内科"]
    result = import_csv(write_csv(tmp_path, rows), county)
    assert errors(result) == []
    assert len(result.added) == 1 and len(result.unchanged) == 1
    county.write_text(result.text or "", encoding="utf-8")
    again = import_csv(write_csv(tmp_path, rows), county)
    assert (len(again.added), len(again.unchanged), again.text) == (0, 2, county.read_text(encoding="utf-8"))
    conflict = import_csv(write_csv(tmp_path, [HEADER, "rmyy,,f8bc.1200.0001,,李四,pc,内科"]), county)
    assert errors(conflict) == [
        ("devices.csv", 2, "column C (mac)", "MAC f8:bc:12:00:00:01 is already authorised for rmyy with other "
         "details; edit that entry in the inventory instead"),
    ]  # fmt: skip


def test_line_numbers_follow_quoted_fields_that_span_lines(tmp_path, county):
    csv = write_csv(
        tmp_path,
        [HEADER, 'thc-nagu,,aa-bb-cc-00-00-01,,,pc,"two\nlines"', "thc-nagu,,bad-mac,,,pc,"],
    )
    result = import_csv(csv, county)
    assert [(e.location.line, e.location.path) for e in result.report.errors] == [(4, "column C (mac)")]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["institution_id,owner,kind", "rmyy,x,pc"], "no 'mac' column (expected a header such as mac or MAC地址)"),
        (["mac,owner", "aa-bb-cc-00-00-01,x"], "no institution column"),
        ([], "the CSV file is empty"),
    ],
)
def test_header_problems(tmp_path, county, rows, message):
    path = tmp_path / "devices.csv"
    path.write_text("\n".join(rows), encoding="utf-8")
    result = import_csv(path, county)
    assert len(result.report.errors) == 1
    assert message in result.report.errors[0].message
    assert result.report.errors[0].location.line == 1


def test_missing_csv_is_a_usage_error(tmp_path, county):
    with pytest.raises(InventoryError, match="does not exist"):
        import_csv(tmp_path / "nope.csv", county)


def test_merge_keeps_every_original_line_and_comment(tmp_path, county):
    csv = write_csv(tmp_path, [HEADER, "vc-nagu-02,,aa-bb-cc-00-00-01,,,pc,", "rmyy,,aa-bb-cc-00-00-02,,,pc,"])
    result = import_csv(csv, county)
    original = SMALL.read_text(encoding="utf-8").splitlines()
    merged = (result.text or "").splitlines()
    assert len(merged) == len(original) + 3  # a new 'devices:' key for vc-nagu-02, and two items
    remaining = iter(merged)
    assert all(line in remaining for line in original)  # same lines, same order
    assert merged[0].startswith("# A small county for tests")


BASE = "  - id: a\n    name: A\n    tier: county\n    subnets: [10.0.0.0/24]\n    gateway: 10.0.0.1\n"


@pytest.mark.parametrize(
    "institution",
    [
        BASE + "    devices: []\n",
        BASE + "    devices:\n",
        BASE,
        "  - id: a\n    name: A\n    tier: county\n    devices:\n    - {mac: '00:00:00:00:00:01'}\n"
        "    # trailing comment\n    subnets: [10.0.0.0/24]\n    gateway: 10.0.0.1\n",
    ],
    ids=["empty-flow-list", "empty-key", "no-key", "indentless-list"],
)
def test_merge_handles_each_devices_layout(institution):
    text = "county: {name: x}\ndata_centre: a\ninstitutions:\n" + institution + "protected: []\n"
    new = NewDevice("a", "aa:bb:cc:00:00:01", "pc", "10.0.0.9", "张三", None, Location("d.csv", 2, ""))
    merged, origins = add_devices(text, compose(text, "t.yaml"), "t.yaml", {"a": [new]})
    checked = check_text(merged, "merged.yaml")
    assert checked.report.errors == [], merged
    assert checked.inventory is not None
    device = checked.inventory.by_mac("aa:bb:cc:00:00:01")
    assert device is not None and device.owner == "张三" and str(device.ip) == "10.0.0.9"
    assert len(origins) == len(merged.splitlines())
    assert device.source is not None
    assert origins[device.source.line - 1] == Location("d.csv", 2, "")


def test_merge_refuses_a_flow_style_institution():
    institution = "{id: a, name: A, tier: county, subnets: [10.0.0.0/24], gateway: 10.0.0.1}"
    text = f"county: {{name: x}}\ndata_centre: a\ninstitutions:\n  - {institution}\n"
    new = NewDevice("a", "aa:bb:cc:00:00:01", "pc", None, None, None, Location("d.csv", 2, ""))
    with pytest.raises(InventoryError, match="flow style"):
        add_devices(text, compose(text, "t.yaml"), "t.yaml", {"a": [new]})


def test_import_into_an_invalid_inventory_is_refused(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL.read_text(encoding="utf-8").replace("gateway: 10.13.0.1", "gateway: 10.99.0.1"), "utf-8")
    with pytest.raises(InventoryError, match="invalid inventory"):
        import_csv(write_csv(tmp_path, [HEADER, "thc-nagu,,aa-bb-cc-00-00-01,,,pc,"]), bad)
    assert load_inventory(SMALL)  # the fixture itself is fine


@pytest.mark.parametrize(("index", "letters"), [(0, "A"), (25, "Z"), (26, "AA"), (27, "AB"), (701, "ZZ"), (702, "AAA")])
def test_column_letters(index, letters):
    assert column_letter(index) == letters
