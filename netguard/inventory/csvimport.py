"""Importing authorised devices from the spreadsheets county admins keep.

Real spreadsheets decide the rules here:

* Excel's "CSV UTF-8" starts with a BOM; plain "CSV" on a Chinese Windows is
  GB18030/GBK. The file is read as UTF-8 (BOM or not) and, failing that, as
  GB18030, decided by its lines (:func:`decode`): a line that is not text in
  that encoding is an error on its line, the other rows are still read.
* Headers come in English or Chinese (``mac`` / ``MAC地址``, ``owner`` /
  ``使用人``, ``institution_id`` / ``机构编码`` ...), in any order; extra
  columns (序号, 科室 ...) are ignored with a warning.
* MACs come as ``aa-bb-cc-dd-ee-ff``, ``aabb.ccdd.eeff``, ``AABBCCDDEEFF``...;
  kinds as ``pc`` or ``电脑``.
* An institution is named by id or by its (unique) name.

Each problem names the CSV line and the column (letter and header, as the
admin sees it in Excel). The import is all or nothing: the merged inventory
(:mod:`netguard.inventory.merge`) is validated as a whole, errors in it are
mapped back to CSV rows, and the text is handed back only when it is clean.
Writing is the caller's decision.
"""

from __future__ import annotations

import csv
import difflib
import io
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from netguard.addresses import normalize_mac
from netguard.errors import InventoryError
from netguard.inventory.inventory import Inventory
from netguard.inventory.issues import Issue, Location, Report
from netguard.inventory.loader import InventoryInvalid, check_text
from netguard.inventory.merge import NewDevice, add_devices
from netguard.inventory.model import DEVICE_KINDS
from netguard.inventory.nodes import compose
from netguard.inventory.parse import read_text
from netguard.textfile import BOM, read_bytes

HEADERS: dict[str, tuple[str, ...]] = {
    "institution_id": ("institutionid", "institution", "机构编码", "机构代码", "机构id", "机构编号", "单位编码"),
    "institution_name": ("institutionname", "机构名称", "机构", "单位", "单位名称"),
    "mac": ("mac", "macaddress", "mac地址", "物理地址"),
    "ip": ("ip", "ipaddress", "ip地址", "绑定ip"),
    "owner": ("owner", "user", "使用人", "责任人", "使用者", "负责人"),
    "kind": ("kind", "type", "devicetype", "类型", "设备类型"),
    "note": ("note", "notes", "comment", "备注", "说明"),
}
_HEADER_INDEX = {alias: name for name, aliases in HEADERS.items() for alias in aliases}
KIND_ALIASES = {
    "电脑": "pc", "台式机": "pc", "计算机": "pc", "笔记本": "pc", "终端": "pc", "desktop": "pc", "laptop": "pc",
    "打印机": "printer", "医疗设备": "medical-device", "医疗": "medical-device", "medical": "medical-device",
    "电话": "phone", "ip电话": "phone", "摄像头": "camera", "监控": "camera", "服务器": "server",
    "交换机": "switch", "无线ap": "ap", "其他": "other", "其它": "other",
}  # fmt: skip


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA, as spreadsheets name columns."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


@dataclass
class ImportResult:
    """What an import found and, when it is clean, the merged inventory text."""

    csv_file: str
    into: str
    encoding: str = "utf-8"
    rows: int = 0
    added: list[NewDevice] = field(default_factory=list)
    unchanged: list[NewDevice] = field(default_factory=list)
    report: Report = field(default_factory=Report)
    text: str | None = None

    @property
    def ok(self) -> bool:
        return self.report.ok


@dataclass(frozen=True)
class Decoded:
    """The CSV text; lines that are not text in ``encoding`` are blanked and listed in ``bad``."""

    text: str
    encoding: str
    bad: tuple[tuple[int, int, int], ...] = ()  # (line, column, first bad byte)


def decode(data: bytes) -> Decoded:
    """UTF-8 (with or without Excel's BOM), else GB18030, decided by the lines, not by the whole file.

    A UTF-8 export with one damaged row must not lose its good rows, nor be
    read as GB18030 (which decodes most UTF-8 Chinese as other characters). So
    the file is UTF-8 when most lines that are not plain ASCII are valid UTF-8
    (valid multi-byte UTF-8 does not happen by chance); the lines that do not
    decode in the chosen encoding are blanked, keeping every line number, and
    reported one by one.
    """
    body = data[len(BOM) :] if data.startswith(BOM) else data
    try:
        return Decoded(body.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    lines = body.split(b"\n")
    wide = [line for line in lines if not line.isascii()]
    utf8 = sum(1 for line in wide if _decodes(line, "utf-8"))
    encoding = "utf-8" if data.startswith(BOM) or utf8 * 2 > len(wide) else "gb18030"
    text: list[str] = []
    bad: list[tuple[int, int, int]] = []
    for number, line in enumerate(lines, 1):
        try:
            text.append(line.decode(encoding))
        except UnicodeDecodeError as exc:
            bad.append((number, len(line[: exc.start].decode(encoding, errors="replace")) + 1, line[exc.start]))
            text.append("\r" if line.endswith(b"\r") else "")
    return Decoded("\n".join(text), encoding, tuple(bad))


def _decodes(line: bytes, encoding: str) -> bool:
    try:
        line.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def import_csv(csv_path: str | Path, into: str | Path) -> ImportResult:
    """Read devices from ``csv_path`` and merge them into the inventory ``into``.

    Nothing is written here: a clean result carries the merged text. Raises InventoryError when a file
    cannot be read, InventoryInvalid when ``into`` itself has errors.
    """
    csv_path, into = Path(csv_path), Path(into)
    data = read_bytes(csv_path, "CSV file", InventoryError)
    text = read_text(into)
    base = check_text(text, str(into), into)
    if base.inventory is None:
        raise InventoryInvalid(str(into), base.report)
    result = ImportResult(str(csv_path), str(into))
    decoded = decode(data)
    result.encoding = decoded.encoding
    rows = _read_rows(decoded.text, str(csv_path), base.inventory, result)
    for line, column, byte in decoded.bad:
        # Counted as a row and reported; the other rows were read as usual (blanked, it was skipped).
        result.rows += 1
        result.report.error(
            Location(str(csv_path), line, ""),
            f"is not {decoded.encoding.upper()} text (byte 0x{byte:02x} at column {column}); "
            "save the file as 'CSV UTF-8'",
        )
    result.report.sort()
    if not result.added:
        if result.ok:
            result.text = text
        return result
    # Merge the good rows even when others failed, so that the errors only the
    # whole county reveals (IP outside the subnets, IP already bound) are reported too.
    by_institution: dict[str, list[NewDevice]] = {}
    for dev in result.added:
        by_institution.setdefault(dev.institution, []).append(dev)
    merged, origins = add_devices(text, compose(text, str(into)), str(into), by_institution)
    checked = check_text(merged, str(into))
    for issue in checked.report.errors:
        result.report.errors.append(_relocate(issue, origins, rows, str(csv_path)))
    result.report.sort()
    if result.ok:
        result.text = merged
    return result


@dataclass(frozen=True)
class _Columns:
    index: dict[str, int]
    headers: list[str]

    def at(self, file: str, line: int, name: str) -> Location:
        col = self.index[name]
        return Location(file, line, f"column {column_letter(col)} ({self.headers[col]})")


def _read_rows(text: str, file: str, inventory: Inventory, result: ImportResult) -> dict[int, _Columns]:
    """Parse rows into ``result.added`` / ``result.unchanged``; return the columns per CSV line."""
    report = result.report
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        report.error(Location(file, 1, ""), "the CSV file is empty")
        return {}
    index: dict[str, int] = {}
    for col, raw in enumerate(header):
        key = raw.strip().lower().replace(" ", "").replace("_", "").replace("-", "")
        name = _HEADER_INDEX.get(key)
        where = Location(file, 1, f"column {column_letter(col)} ({raw.strip()})")
        if name is None:
            if raw.strip():
                report.warning(where, "unknown column, ignored")
        elif name in index:
            first_col = Location(file, 1, f"column {column_letter(index[name])}")
            report.error(where, f"a second '{name}' column", [first_col])
        else:
            index[name] = col
    if "mac" not in index:
        report.error(Location(file, 1, ""), "no 'mac' column (expected a header such as mac or MAC地址)")
    if "institution_id" not in index and "institution_name" not in index:
        report.error(
            Location(file, 1, ""), "no institution column (institution_id / 机构编码 or institution_name / 机构名称)"
        )
    if not report.ok:
        return {}
    columns = _Columns(index, [h.strip() for h in header])
    names: dict[str, list[str]] = {}
    for inst in inventory:
        names.setdefault(inst.name, []).append(inst.id)
    seen: dict[str, Location] = {}
    lines: dict[int, _Columns] = {}
    previous_end = reader.line_num
    for cells in reader:
        line, previous_end = previous_end + 1, reader.line_num
        if not any(c.strip() for c in cells):
            continue
        result.rows += 1
        lines[line] = columns
        device = _row(cells, line, file, columns, inventory, names, report)
        if device is None:
            continue
        if device.mac in seen:
            where = columns.at(file, line, "mac")
            report.error(where, f"MAC {device.mac} appears twice in the CSV", [seen[device.mac]])
            continue
        seen[device.mac] = columns.at(file, line, "mac")
        existing = inventory.by_mac(device.mac)
        if existing is None:
            result.added.append(device)
        elif (existing.institution, existing.kind, existing.owner, existing.note) == (
            device.institution,
            device.kind,
            device.owner,
            device.note,
        ) and str(existing.ip) == str(device.ip):
            result.unchanged.append(device)
        else:
            related = [existing.source.location] if existing.source else []
            report.error(
                columns.at(file, line, "mac"),
                f"MAC {device.mac} is already authorised for {existing.institution} with other details; "
                "edit that entry in the inventory instead",
                related,
            )
    return lines


def _row(
    cells: list[str],
    line: int,
    file: str,
    columns: _Columns,
    inventory: Inventory,
    names: dict[str, list[str]],
    report: Report,
) -> NewDevice | None:
    def cell(name: str) -> str | None:
        col = columns.index.get(name)
        value = cells[col].strip() if col is not None and col < len(cells) else ""
        return value or None

    before = len(report.errors)
    institution = _institution(
        cell("institution_id"), cell("institution_name"), line, file, columns, inventory, names, report
    )
    mac_text, ip_text, kind_text = cell("mac"), cell("ip"), cell("kind")
    mac = None
    if mac_text is None:
        report.error(columns.at(file, line, "mac"), "is empty")
    else:
        try:
            mac = normalize_mac(mac_text)
        except ValueError as exc:
            report.error(columns.at(file, line, "mac"), str(exc))
    if ip_text is not None:
        try:
            ip_text = str(ipaddress.ip_address(ip_text))
        except ValueError:
            report.error(columns.at(file, line, "ip"), f"'{ip_text}' is not a valid IP address")
    kind = "other"
    if kind_text is not None:
        lowered = kind_text.lower()
        kind = lowered if lowered in DEVICE_KINDS else KIND_ALIASES.get(lowered, "")
        if not kind:
            known = ", ".join(sorted(DEVICE_KINDS))
            report.error(columns.at(file, line, "kind"), f"unknown device kind '{kind_text}' (one of: {known})")
    if len(report.errors) != before or institution is None or mac is None:
        return None
    origin = Location(file, line, "")
    return NewDevice(institution, mac, kind, ip_text, cell("owner"), cell("note"), origin)


def _institution(
    inst_id: str | None,
    inst_name: str | None,
    line: int,
    file: str,
    columns: _Columns,
    inventory: Inventory,
    names: dict[str, list[str]],
    report: Report,
) -> str | None:
    if inst_id is not None:
        where = columns.at(file, line, "institution_id")
        found = inventory.by_id(inst_id)
        if found is None:
            close = difflib.get_close_matches(inst_id, [i.id for i in inventory], n=1, cutoff=0.7)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            report.error(where, f"unknown institution id '{inst_id}'{hint}")
            return None
        if inst_name is not None and inst_name != found.name:
            message = f"'{inst_name}' is not the name of {inst_id} ({found.name})"
            report.error(columns.at(file, line, "institution_name"), message)
            return None
        return inst_id
    where = Location(file, line, "")
    if "institution_name" in columns.index:
        where = columns.at(file, line, "institution_name")
    if inst_name is None:
        report.error(where, "no institution given")
        return None
    ids = names.get(inst_name, [])
    if len(ids) != 1:
        problem = "no institution is named" if not ids else f"several institutions ({', '.join(ids)}) are named"
        report.error(where, f"{problem} '{inst_name}'; use the institution_id column")
        return None
    return ids[0]


_CSV_FIELDS = ("mac", "ip", "owner", "kind", "note")


def _relocate(issue: Issue, origins: list[Location], lines: dict[int, _Columns], csv_file: str) -> Issue:
    """Point an issue found in the merged text back at the inventory line or CSV row it came from."""

    def back(loc: Location) -> Location:
        if not 1 <= loc.line <= len(origins):
            return loc
        origin = origins[loc.line - 1]
        columns = lines.get(origin.line) if origin.file == csv_file else None
        field_name = loc.path.rsplit(".", 1)[-1]
        if columns is not None and field_name in _CSV_FIELDS and field_name in columns.index:
            return columns.at(origin.file, origin.line, field_name)
        return Location(origin.file, origin.line, loc.path)

    return Issue(back(issue.location), issue.message, issue.severity, tuple(back(r) for r in issue.related))
