"""Small .snmprec recordings for the quirks real switches have, written by the tests themselves.

Each builder returns records (OID text, type tag, value) and :func:`write`
sorts them by numeric OID, as snmpsim requires. Type tags: 2 Integer,
4 OctetString (text), 4x OctetString (hex), 6 OID, 64 IpAddress,
66 Gauge32, 67 TimeTicks; ``2:writecache`` makes a record writable and
``2:error`` makes snmpsim answer an error-status for it.
"""

from __future__ import annotations

from pathlib import Path

Record = tuple[str, str, str]

IF = "1.3.6.1.2.1.2.2.1"
DOT1D_PORT = "1.3.6.1.2.1.17.1.4.1.2"
DOT1D_FDB = "1.3.6.1.2.1.17.4.3.1"
DOT1Q_FDB = "1.3.6.1.2.1.17.7.1.2.2.1"
MEDIA = "1.3.6.1.2.1.4.22.1.2"
PHYS = "1.3.6.1.2.1.4.35.1.4"
LLDP_REM = "1.0.8802.1.1.2.1.4.1.1"
LLDP_LOC = "1.0.8802.1.1.2.1.3.7.1"


def write(path: Path, records: list[Record]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ordered = sorted(records, key=lambda r: tuple(int(p) for p in r[0].split(".")))
    path.write_text("".join(f"{o}|{t}|{v}\n" for o, t, v in ordered), encoding="utf-8")
    return path


def mac_index(mac: str) -> str:
    return ".".join(str(int(b, 16)) for b in mac.split(":"))


def system(name: str) -> list[Record]:
    return [
        ("1.3.6.1.2.1.1.1.0", "4", f"NetGuard test recording {name}"),
        ("1.3.6.1.2.1.1.2.0", "6", "1.3.6.1.4.1.99999.1"),
        ("1.3.6.1.2.1.1.3.0", "67", "123456"),
        ("1.3.6.1.2.1.1.5.0", "4", name),
    ]


def interfaces(count: int, *, writable: tuple[int, ...] = ()) -> list[Record]:
    records: list[Record] = []
    for i in range(1, count + 1):
        records += [
            (f"{IF}.2.{i}", "4", f"GigabitEthernet0/{i}"),
            (f"{IF}.3.{i}", "2", "6"),
            (f"{IF}.5.{i}", "66", "1000000000"),
            (f"{IF}.6.{i}", "4x", f"0200000000{i:02x}"),
            (f"{IF}.7.{i}", "2:writecache" if i in writable else "2", "value=1" if i in writable else "1"),
            (f"{IF}.8.{i}", "2", "1"),
        ]
    return records


LOCATION = "[red]ward 3[/red] :smile:\x07"

# MACs used by the quirks recording, and what the parser must make of them.
GOOD_MAC = "00:1a:2b:3c:4d:01"
SECOND_MAC = "00:1a:2b:3c:4d:02"
UNMAPPED_PORT_MAC = "00:1a:2b:3c:4d:09"


def quirks() -> list[Record]:
    """No Q-BRIDGE, no dot1dBasePortIfIndex, no ifXTable, MACs spelled every way, junk rows."""
    records = system("edge-quirks") + interfaces(4, writable=(1,))
    # A location that looks like rich markup and an emoji code, with a BEL: must be shown as it is.
    records.append(("1.3.6.1.2.1.1.6.0", "4x", LOCATION.encode().hex()))
    # ifPhysAddress quirks: interface 2 as text, 3 not a MAC at all, 4 empty; 4 also a 'faster than 4G' ifSpeed.
    records = [r for r in records if not (r[0].startswith(f"{IF}.6.") and r[0] != f"{IF}.6.1")]
    records += [
        (f"{IF}.6.2", "4", "02-00-00-00-00-02"),
        (f"{IF}.6.3", "4", "not-a-mac"),
        (f"{IF}.6.4", "4", ""),
    ]
    records = [r for r in records if r[0] != f"{IF}.5.4"] + [(f"{IF}.5.4", "66", "4294967295")]
    fdb = [
        (GOOD_MAC, 1, 3),
        (SECOND_MAC, 2, 3),
        ("00:1a:2b:3c:4d:03", 0, 3),  # port 0: skipped
        ("00:1a:2b:3c:4d:04", 1, 4),  # self: skipped
        ("00:1a:2b:3c:4d:05", 2, 2),  # invalid: skipped
        (UNMAPPED_PORT_MAC, 9, 3),  # no interface 9: kept, ifindex null
    ]
    for mac, port, status in fdb:
        index = mac_index(mac)
        records += [(f"{DOT1D_FDB}.2.{index}", "2", str(port)), (f"{DOT1D_FDB}.3.{index}", "2", str(status))]
    records.append((f"{DOT1D_FDB}.2.1.2.3.4.5", "2", "1"))  # a five-part index: skipped
    records += [
        (f"{MEDIA}.1.10.0.0.1", "4x", "001a2b3c4d01"),  # plain
        (f"{MEDIA}.1.10.0.0.2", "4", "00-1A-2B-3C-4D-02"),  # MAC as text (H3C/Huawei style)
        (f"{MEDIA}.1.10.0.0.3", "4", "0x001a2b3c4d03"),  # MAC as a hex dump in text
        (f"{MEDIA}.1.10.0.0.4", "4", "garbage"),  # malformed: skipped
        (f"{MEDIA}.1.10.0.0.5", "4x", "000000000000"),  # incomplete: skipped
        (f"{MEDIA}.1.10.0.0.6", "4", ""),  # incomplete: skipped
        (f"{PHYS}.1.1.4.10.0.0.1", "4x", "001a2b3c4d01"),  # same as the first ipNetToMedia row: merged
        (f"{PHYS}.1.2.32.1.13.184.0.0.0.0.0.0.0.0.0.0.0.1", "4x", "001a2b3c4d07"),  # IPv6, no length prefix
        (f"{PHYS}.1.3.8.10.0.0.8.0.0.0.1", "4x", "001a2b3c4d08"),  # zoned: skipped
    ]
    chassis = "3891d5fb742c"
    records += [
        (f"{LLDP_LOC}.2.2", "2", "5"),
        (f"{LLDP_LOC}.3.2", "4", "GigabitEthernet0/2"),
        (f"{LLDP_REM}.4.0.2.1", "2", "4"),
        (f"{LLDP_REM}.5.0.2.1", "4x", chassis),
        (f"{LLDP_REM}.6.0.2.1", "2", "5"),
        (f"{LLDP_REM}.7.0.2.1", "4", "GigabitEthernet1/0/33"),
        (f"{LLDP_REM}.9.0.2.1", "4", "core-1"),
    ]
    return records


def partial_fdb(rows: int = 300, broken_at: int = 200) -> list[Record]:
    """A Q-BRIDGE table whose row ``broken_at`` makes the agent answer genErr: the walk stops part way."""
    records = system("edge-partial") + interfaces(8)
    records += [(f"{DOT1D_PORT}.{i}", "2", str(i)) for i in range(1, 9)]
    for n in range(rows):
        mac = f"00:1b:00:00:{n // 256:02x}:{n % 256:02x}"
        oid = f"{DOT1Q_FDB}.2.10.{mac_index(mac)}"
        if n == broken_at:
            records.append((oid, "2:error", "op=any,status=genError,value=1"))
        else:
            records.append((oid, "2", str(n % 8 + 1)))
    return records


def huge_fdb(rows: int) -> list[Record]:
    """A big Q-BRIDGE table over 48 ports and 4 VLANs."""
    records = system("edge-huge") + interfaces(48)
    records += [(f"{DOT1D_PORT}.{i}", "2", str(i)) for i in range(1, 49)]
    for n in range(rows):
        mac = f"00:1c:{n // 65536:02x}:{(n // 256) % 256:02x}:{n % 256:02x}:01"
        records.append((f"{DOT1Q_FDB}.2.{10 + n % 4}.{mac_index(mac)}", "2", str(n % 48 + 1)))
    return records
