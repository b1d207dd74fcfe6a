"""Generate a synthetic but plausible county inventory, modelled on 会泽县 (Huize, Yunnan).

Why a generator and not a hand-written file: the example must have the real
county's *shape* (440 institutions in three tiers, thousands of authorised
devices) to exercise the loader's speed and every lookup, yet stay
reproducible. Same seed, same bytes.

The county: 6 county institutions (people's hospital, TCM hospital, maternal
and child health, CDC, health bureau, the county health data centre), 10
private hospitals and 1 psychiatric hospital (county tier); 23 township health
centres; 376 village clinics and 24 private clinics (village tier, each under
its township's health centre).

Addressing plan (no overlaps, checked by `netguard inventory validate`):

    10.0.0.0/22      county health data centre (servers /23, management /24)
    10.1.0.0/16      county public institutions, one block each
    10.2.0.0/16      private hospitals, a /23 each
    10.(10+t).0.0/16 township t: health centre 10.(10+t).0.0/23,
                     village clinic v 10.(10+t).(10+v).0/24,
                     private clinic k 10.(10+t).(100+k).0/24

Knobs (``--help``): ``--seed`` (default 2024), ``--device-scale`` (multiplies
the number of authorised devices everywhere; 1.0 gives about 4,000),
``--managed-village-ratio`` (share of village clinics with a small managed
switch, default 0.08), ``--output`` and ``--csv`` (the small sample for
``netguard inventory import``, whose rows are devices *not* yet in the county).

``--loopback`` writes the same county (same seed, same records) with every
address moved from 10.0.0.0/8 into 127.0.0.0/8 by replacing the first octet
(10.13.0.1 becomes 127.13.0.1), so link checks, their tests and the benchmark
can probe all 440 gateways on one machine: Linux answers every 127/8 address
on ``lo``. The addressing plan is 10/8-only, so the mapping is one-to-one and
the subnets still do not overlap. It writes ``huize-county-loopback.yaml`` and
no CSV unless told otherwise; the default output is left alone.
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent

# (name, id slug, village clinics); 376 village clinics in all.
TOWNSHIPS = [
    ("古城街道", "gucheng", 8), ("宝云街道", "baoyun", 10), ("金钟街道", "jinzhong", 12),
    ("娜姑镇", "nagu", 20), ("迤车镇", "yiche", 19), ("待补镇", "daibu", 22), ("大井镇", "dajing", 18),
    ("者海镇", "zhehai", 21), ("雨碌乡", "yulu", 17), ("大桥乡", "daqiao", 18), ("马路乡", "malu", 16),
    ("田坝乡", "tianba", 15), ("鲁纳乡", "luna", 16), ("火红乡", "huohong", 15), ("老厂乡", "laochang", 17),
    ("五星乡", "wuxing", 16), ("上村乡", "shangcun", 17), ("驾车乡", "jiache", 15), ("纸厂乡", "zhichang", 16),
    ("大海乡", "dahai", 14), ("新街回族乡", "xinjie", 15), ("乐业镇", "leye", 19), ("矿山镇", "kuangshan", 20),
]  # fmt: skip
# id, name, kind, blocks [(cidr, vlan, purpose)], device mix (pc, printer, medical, phone, camera, ap), switches
COUNTY = [
    ("hz-dc", "会泽县卫生健康数据中心", "data-centre",
     [("10.0.0.0/23", 10, "服务器区"), ("10.0.2.0/24", 100, "设备管理")], (12, 2, 0, 2, 6, 2), 6),
    ("hz-rmyy", "会泽县人民医院", "hospital",
     [("10.1.0.0/22", 10, "办公"), ("10.1.4.0/23", 20, "医疗设备"), ("10.1.6.0/24", 100, "设备管理")],
     (380, 40, 60, 30, 24, 16), 12),
    ("hz-zyyy", "会泽县中医医院", "tcm-hospital",
     [("10.1.8.0/22", 10, "办公"), ("10.1.12.0/24", 100, "设备管理")], (160, 18, 25, 12, 10, 8), 5),
    ("hz-fybjy", "会泽县妇幼保健院", "maternal-child",
     [("10.1.16.0/23", 10, "办公"), ("10.1.18.0/24", 100, "设备管理")], (110, 12, 20, 8, 8, 6), 4),
    ("hz-cdc", "会泽县疾病预防控制中心", "cdc", [("10.1.20.0/23", 10, "办公")], (70, 10, 6, 6, 6, 4), 3),
    ("hz-wjj", "会泽县卫生健康局", "health-bureau", [("10.1.24.0/24", 10, "办公")], (60, 10, 0, 6, 4, 4), 2),
    ("hz-jsbyy", "会泽县精神病医院", "psychiatric-hospital", [("10.1.28.0/23", 10, "办公")], (50, 6, 6, 4, 8, 2), 3),
]  # fmt: skip
PRIVATE_HOSPITALS = ["仁爱", "博爱", "康桥", "东方", "同济", "华康", "民生", "新康", "济民", "和平"]
OUIS = {
    "pc": ["f8:bc:12", "18:66:da", "d4:be:d9", "a4:bb:6d", "48:c3:5a", "10:c5:95", "a4:11:94", "3c:52:82"],
    "printer": ["9c:8e:99", "fc:3f:db", "00:80:77", "30:05:5c", "00:1e:8f", "00:26:ab"],
    "medical-device": ["00:0f:14", "44:4b:5d", "a0:f2:17", "00:09:fb", "00:18:65", "00:06:6b", "88:b4:36"],
    "phone": ["80:5e:c0", "00:15:65", "44:db:d2"],
    "camera": ["44:19:b6", "c0:56:e3", "bc:ad:28", "3c:ef:8c", "4c:11:bf"],
    "ap": ["48:46:fb", "58:6a:b1", "58:69:6c"],
    "server": ["00:25:90", "0c:c4:7a", "bc:20:ba", "00:e0:fc"],
}
MEDICAL = ["迈瑞 BeneView T8 监护仪", "迈瑞 BC-5390 血液分析仪", "迈瑞 DC-70 彩超", "GE Optima CT540",
           "GE Vivid T8 彩超", "飞利浦 IntelliVue MX450 监护仪", "西门子 Atellica 生化分析仪",
           "希森美康 XN-1000 血液分析仪", "奥林巴斯 CV-290 内镜", "富士 FCR Capsula DR"]  # fmt: skip
DEPTS = ["内科", "外科", "儿科", "妇产科", "急诊科", "放射科", "检验科", "药剂科",
         "门诊收费处", "信息科", "护理部", "医务科"]  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文志德荣海燕雪梅春林"
VILLAGE_A = "白红新大小上下水石龙马黄青金田杨松竹花者拖迤布格法乐德"
VILLAGE_B = "坝河沟寨箐山营屯冲田塘坡湾堡桥井岩海林"
SWITCH_MODELS = {
    "huawei": ("S7706", "S5735-L48T4X", "S1730S-L8T"),
    "h3c": ("S10506", "S5130S-52S", "S1850V2-10P"),
    "ruijie": ("RG-N18007", "RG-S2910-48GT4XS", "RG-ES209GC-P"),
}


class Flow(dict[str, Any]):
    """A mapping written on one line."""


class Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # indent list items under their key


Dumper.add_representer(Flow, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True))


class County:
    def __init__(self, seed: int, scale: float, managed_ratio: float) -> None:
        self.rng = random.Random(seed)
        self.scale, self.managed_ratio = scale, managed_ratio
        self.macs: set[str] = set()
        self.institutions: list[dict[str, Any]] = []
        self.protected: list[Flow] = []
        self.comments: dict[str, str] = {}

    # -- small helpers ------------------------------------------------------------------

    def mac(self, kind: str) -> str:
        while True:
            tail = ":".join(f"{self.rng.randrange(256):02x}" for _ in range(3))
            mac = f"{self.rng.choice(OUIS[kind])}:{tail}"
            if mac not in self.macs:
                self.macs.add(mac)
                return mac

    def person(self) -> str:
        return self.rng.choice(SURNAMES) + "".join(self.rng.choice(GIVEN) for _ in range(self.rng.randint(1, 2)))

    def count(self, n: int) -> int:
        return max(0, round(n * self.scale * self.rng.uniform(0.85, 1.15)))

    # -- building -----------------------------------------------------------------------

    def institution(
        self,
        inst_id: str,
        name: str,
        tier: str,
        kind: str,
        blocks: list[tuple[str, int | None, str | None]],
        **extra: Any,
    ) -> dict[str, Any]:
        subnets: list[Any] = []
        for cidr, vlan, purpose in blocks:
            net = ipaddress.ip_network(cidr)
            if vlan is None:
                subnets.append(cidr)
            else:
                subnets.append(Flow(network=cidr, gateway=str(net.network_address + 1), vlan=vlan, name=purpose))
        inst: dict[str, Any] = {"id": inst_id, "name": name, "tier": tier, "kind": kind, **extra}
        inst["subnets"] = subnets
        inst["gateway"] = str(ipaddress.ip_network(blocks[0][0]).network_address + 1)
        inst["_free"] = {cidr: 20 for cidr, _v, _p in blocks}  # hosts .1-.19 are for infrastructure
        self.institutions.append(inst)
        return inst

    def take_ip(self, inst: dict[str, Any], cidr: str | None = None) -> str:
        cidr = cidr or next(iter(inst["_free"]))
        net = ipaddress.ip_network(cidr)
        offset = inst["_free"][cidr]
        if offset >= net.num_addresses - 1:
            raise SystemExit(f"{inst['id']}: {cidr} is full; lower --device-scale")
        inst["_free"][cidr] = offset + 1
        return str(net.network_address + offset)

    def switches(self, inst: dict[str, Any], count: int, mgmt_cidr: str, vendor: str, core: int = 0) -> None:
        net = ipaddress.ip_network(mgmt_cidr)
        models = SWITCH_MODELS[vendor]
        items = []
        for n in range(count):
            role = "core" if n < core else "access"
            model = models[0] if role == "core" else models[2] if inst["tier"] == "village" else models[1]
            sw_id = f"{inst['id']}-{'core' if role == 'core' else 'acc'}{n + 1 - (core if role == 'access' else 0)}"
            uplink = "XGigabitEthernet0/0/1" if vendor == "huawei" else "Ten-GigabitEthernet1/0/49"
            items.append(Flow(id=sw_id, management=str(net.network_address + 2 + n), role=role, vendor=vendor,
                              model=model, uplinks=[uplink]))  # fmt: skip
        inst["switches"] = items

    def devices(self, inst: dict[str, Any], mix: tuple[int, ...], medical_cidr: str | None = None) -> None:
        out: list[Flow] = []
        pcs, printers, medical, phones, cameras, aps = (self.count(n) for n in mix)
        village = inst["tier"] == "village"
        for _ in range(pcs):
            dev = Flow(mac=self.mac("pc"), owner=self.person(), kind="pc")
            dev["note"] = "乡村医生" if village else self.rng.choice(DEPTS)
            out.append(dev)
        for _ in range(printers):
            dev = Flow(mac=self.mac("printer"))
            if self.rng.random() < 0.5:
                dev["ip"] = self.take_ip(inst)
            dev.update(owner="卫生室" if village else self.rng.choice(DEPTS), kind="printer")
            out.append(dev)
        for _ in range(medical):
            model = self.rng.choice(MEDICAL)
            out.append(Flow(mac=self.mac("medical-device"), ip=self.take_ip(inst, medical_cidr),
                            owner="卫生室" if village else self.rng.choice(DEPTS[:8]), kind="medical-device",
                            note=model))  # fmt: skip
        for kind, n in (("phone", phones), ("camera", cameras), ("ap", aps)):
            for _ in range(n):
                out.append(Flow(mac=self.mac(kind), ip=self.take_ip(inst), owner="信息科", kind=kind))
        inst["devices"] = out

    def build(self) -> None:
        for inst_id, name, kind, blocks, mix, switch_count in COUNTY:
            inst = self.institution(inst_id, name, "county", kind, list(blocks))
            mgmt = blocks[-1][0]
            if inst_id == "hz-dc":
                inst["snmp"] = Flow(version="3", user="netguard-dc", auth_protocol="SHA512",
                                    auth_key="secret:snmp-dc-auth", priv_protocol="AES256",
                                    priv_key="secret:snmp-dc-priv")  # fmt: skip
                self.switches(inst, switch_count, mgmt, "huawei", core=2)
                self.servers(inst)
            elif inst_id == "hz-rmyy":
                inst["quarantine_vlan"] = 4000
                self.switches(inst, switch_count, mgmt, "huawei", core=2)
                # A legacy access switch that only speaks v2c, with its own community.
                inst["switches"][-1]["snmp"] = Flow(version="2c", community="env:SNMP_RMYY_LEGACY_RO")
                self.local_servers(inst)
            else:
                self.switches(inst, switch_count, mgmt, "h3c", core=1)
            self.devices(inst, mix, blocks[1][0] if inst_id == "hz-rmyy" else None)
        for n, short in enumerate(PRIVATE_HOSPITALS):
            cidr = f"10.2.{n * 2}.0/23"
            inst = self.institution(f"hz-mh{n + 1:02d}", f"会泽{short}医院", "county", "private-hospital",
                                    [(cidr, None, None)])  # fmt: skip
            self.switches(inst, self.rng.randint(2, 3), cidr, self.rng.choice(["h3c", "ruijie"]), core=1)
            self.devices(inst, (self.rng.randint(25, 45), 4, self.rng.randint(4, 10), 2, 6, 2))
        for t, (township, slug, villages) in enumerate(TOWNSHIPS):
            self.township(t, township, slug, villages)

    def township(self, t: int, township: str, slug: str, villages: int) -> None:
        street = township.endswith("街道")
        name = f"{township}社区卫生服务中心" if street else f"{township}{'中心' if t % 4 == 3 else ''}卫生院"
        cidr = f"10.{10 + t}.0.0/23"
        centre = self.institution(f"thc-{slug}", name, "township",
                                  "community-health-centre" if street else "township-health-centre",
                                  [(cidr, None, None)], township=township)  # fmt: skip
        self.switches(centre, self.rng.randint(1, 2), cidr, self.rng.choice(["huawei", "h3c", "ruijie"]))
        self.devices(centre, (self.rng.randint(18, 35), 4, self.rng.randint(3, 8), 2, 3, 1))
        names: set[str] = set()
        for v in range(villages):
            while (village := self.rng.choice(VILLAGE_A) + self.rng.choice(VILLAGE_B)) in names:
                pass
            names.add(village)
            cidr = f"10.{10 + t}.{10 + v}.0/24"
            inst = self.institution(f"vc-{slug}-{v + 1:02d}", f"{township}{village}村卫生室", "village",
                                    "village-clinic", [(cidr, None, None)], parent=centre["id"])  # fmt: skip
            if self.rng.random() < self.managed_ratio:
                self.switches(inst, 1, cidr, self.rng.choice(["huawei", "h3c"]))
            medical = 1 if self.rng.random() < 0.15 else 0
            self.devices(inst, (self.rng.randint(1, 5), self.rng.randint(0, 1), medical, 0, 0, 0))
        self.comments[centre["id"]] = f"{township}: health centre, {villages} village clinics"
        for k in range(2 if t == 0 else 1):
            cidr = f"10.{10 + t}.{100 + k}.0/24"
            inst = self.institution(f"pc-{slug}-{k + 1:02d}", f"{township}{self.person()}诊所", "village",
                                    "private-clinic", [(cidr, None, None)], parent=centre["id"])  # fmt: skip
            self.devices(inst, (self.rng.randint(1, 3), self.rng.randint(0, 1), 0, 0, 0, 0))

    def servers(self, dc: dict[str, Any]) -> None:
        ssh = Flow(name="ssh", port=22, protocol="ssh")
        specs = [
            ("bastion01", 5, "堡垒机", "bastion", [ssh, Flow(name="web", port=443, protocol="https")]),
            ("dbaudit01", 6, "数据库审计", "audit", [Flow(name="web", port=443, protocol="https"),
                                                 Flow(name="syslog", port=514, protocol="syslog")]),
            ("ntp01", 7, "时间与域名服务", "infrastructure", [Flow(name="ntp", port=123, protocol="ntp"),
                                                          Flow(name="dns", port=53, protocol="dns")]),
            ("his-app01", 11, "HIS 应用服务器 1", "his", [ssh, Flow(name="his", port=8080, protocol="http")]),
            ("his-app02", 12, "HIS 应用服务器 2", "his", [ssh, Flow(name="his", port=8080, protocol="http")]),
            ("his-db01", 21, "HIS 数据库主库", "database", [ssh, Flow(name="mysql", port=3306, protocol="mysql")]),
            ("his-db02", 22, "HIS 数据库从库", "database", [ssh, Flow(name="mysql", port=3306, protocol="mysql")]),
            ("emr-app01", 31, "电子病历 EMR", "emr", [ssh, Flow(name="emr", port=443, protocol="https")]),
            ("emr-db01", 32, "EMR 数据库", "database",
             [ssh, Flow(name="postgresql", port=5432, protocol="postgresql")]),
            ("pacs01", 41, "PACS 影像归档", "pacs", [ssh, Flow(name="dicom", port=104, protocol="dicom"),
                                                  Flow(name="viewer", port=443, protocol="https")]),
            ("platform01", 51, "区域全民健康信息平台", "platform",
             [ssh, Flow(name="portal", port=443, protocol="https"), Flow(name="hl7", port=2575, protocol="hl7")]),
            ("platform-db01", 52, "平台数据库", "database",
             [ssh, Flow(name="postgresql", port=5432, protocol="postgresql")]),
            ("backup01", 80, "备份服务器", "backup", [ssh]),
        ]  # fmt: skip
        out, devices = [], []
        for sid, host, name, role, services in specs:
            address, mac = f"10.0.0.{host}", self.mac("server")
            out.append({"id": sid, "name": name, "role": role, "address": address, "os": "Linux", "mac": mac,
                        "services": [Flow(s) for s in services]})  # fmt: skip
            devices.append(Flow(mac=mac, ip=address, owner="信息科", kind="server", note=name))
        dc["servers"] = out
        dc["_server_devices"] = devices
        dc["_free"]["10.0.0.0/23"] = 100
        self.protected += [
            Flow(ip="10.0.0.3", reason="安全网关 (security gateway)", institution="hz-dc"),
            Flow(ip="10.0.0.20", reason="HIS 数据库 VIP", institution="hz-dc"),
        ]

    def local_servers(self, inst: dict[str, Any]) -> None:
        inst["servers"] = [
            {"id": "rmyy-his-front", "name": "HIS 前置机", "role": "his", "address": "10.1.0.10",
             "services": [Flow(name="ssh", port=22, protocol="ssh"), Flow(name="his", port=8080, protocol="http")]},
            {"id": "rmyy-pacs-gw", "name": "PACS 网关", "role": "pacs", "address": "10.1.4.10",
             "services": [Flow(name="dicom", port=104, protocol="dicom")]},
        ]  # fmt: skip

    def finish(self) -> None:
        dc = self.institutions[0]
        dc["devices"] = dc.pop("_server_devices") + dc.get("devices", [])
        rmyy = self.institutions[1]
        critical = [d for d in rmyy["devices"] if d.get("kind") == "medical-device"][:6]
        for dev in critical:
            self.protected.append(Flow(mac=dev["mac"], ip=dev["ip"], reason=f"关键医疗设备: {dev['note']}",
                                       institution="hz-rmyy"))  # fmt: skip
        for inst in self.institutions:
            inst.pop("_free")

    def document(self) -> dict[str, Any]:
        return {
            "version": 1,
            "county": {"name": "会泽县", "code": "huize"},
            "data_centre": "hz-dc",
            "defaults": {
                "snmp": Flow(version="2c", community="secret:snmp-village-ro"),
                "quarantine_vlan": 999,
                "tiers": {
                    "county": {
                        "snmp": Flow(
                            version="3",
                            user="netguard",
                            auth_protocol="SHA256",
                            auth_key="secret:snmp-county-auth",
                            priv_protocol="AES128",
                            priv_key="secret:snmp-county-priv",
                        )
                    },
                    "township": {"snmp": Flow(version="2c", community="secret:snmp-township-ro")},
                },
                "townships": {"新街回族乡": {"snmp": Flow(version="2c", community="secret:snmp-xinjie-ro")}},
            },
            "institutions": self.institutions,
            "protected": self.protected,
        }

    def sample_csv(self) -> str:
        """A dozen new devices, in the spellings admins' spreadsheets use."""
        rows = ["institution_id,institution_name,mac,ip,owner,kind,note"]
        by_id = {i["id"]: i for i in self.institutions}
        picks = [("thc-nagu", "pc", None), ("thc-nagu", "printer", 60), ("thc-nagu", "medical-device", 61),
                 ("vc-nagu-01", "pc", None), ("vc-nagu-02", "pc", None), ("hz-rmyy", "phone", None),
                 ("hz-rmyy", "medical-device", 200), ("thc-daibu", "pc", None), ("thc-daibu", "camera", 62),
                 ("vc-zhehai-03", "printer", 90), ("pc-gucheng-01", "pc", None), ("hz-cdc", "pc", None)]  # fmt: skip
        for n, (inst_id, kind, host) in enumerate(picks):
            inst = by_id[inst_id]
            mac = self.mac(kind).replace(":", "")
            mac = [mac.upper(), f"{mac[:4]}.{mac[4:8]}.{mac[8:]}", "-".join(mac[i : i + 2] for i in range(0, 12, 2))][
                n % 3
            ]
            ip = ""
            if host is not None:
                nets = [s if isinstance(s, str) else s["network"] for s in inst["subnets"]]
                ip = str(ipaddress.ip_network(nets[1] if inst_id == "hz-rmyy" else nets[0]).network_address + host)
            name_col, id_col = (inst["name"], "") if n % 4 == 1 else ("", inst_id)
            rows.append(f"{id_col},{name_col},{mac},{ip},{self.person()},{kind},2024年新增")
        return "\r\n".join(rows) + "\r\n"


_TEN = re.compile(r"10(\.\d{1,3}\.\d{1,3}\.\d{1,3}(?:/\d{1,2})?)")


def to_loopback(value: Any) -> Any:
    """``value`` with every 10/8 address or network (in any string, list or mapping) moved into 127/8."""
    if isinstance(value, str):
        match = _TEN.fullmatch(value)
        return f"127{match.group(1)}" if match else value
    if isinstance(value, list):
        return [to_loopback(v) for v in value]
    if isinstance(value, dict):
        mapped = {k: to_loopback(v) for k, v in value.items()}
        return Flow(mapped) if isinstance(value, Flow) else mapped
    return value


def render(county: County, loopback: bool = False) -> str:
    command = "python examples/gen_county.py" + (" --loopback" if loopback else "")
    header = (
        "# 会泽县卫生健康专网 inventory: a synthetic county for NetGuard (generated; do not edit by hand).\n"
        f"# Regenerate: {command}   Format: docs/inventory.md\n"
        "# Secrets are references (secret:NAME in the secrets file, env:NAME), never values.\n"
    )
    if loopback:
        header += "# Every address is mapped from 10.0.0.0/8 into 127.0.0.0/8 for checks on one machine.\n"
    document = county.document()
    if loopback:
        document = to_loopback(document)
    text = yaml.dump(document, Dumper=Dumper, allow_unicode=True, sort_keys=False, width=4096)
    return header + "\n".join(_annotate(text.splitlines(), county.comments)) + "\n"


def _annotate(lines: list[str], comments: dict[str, str]) -> Iterator[str]:
    for line in lines:
        if line.startswith("  - id: "):
            inst_id = line.removeprefix("  - id: ")
            if inst_id in comments:
                yield f"\n  # {comments[inst_id]}"
        elif not line.startswith(" ") and line.endswith(":"):
            yield ""
        yield line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=2024, help="random seed (default 2024)")
    parser.add_argument("--device-scale", type=float, default=1.0, help="multiply device counts (default 1.0)")
    parser.add_argument("--managed-village-ratio", type=float, default=0.08, help="village clinics with a switch")
    parser.add_argument("--loopback", action="store_true", help="map every address from 10.0.0.0/8 into 127.0.0.0/8")
    parser.add_argument("--output", help="YAML to write, or - for stdout (default huize-county[-loopback].yaml)")
    parser.add_argument(
        "--csv", help="sample CSV to write ('' for none; default authorised-devices.csv, none with --loopback)"
    )
    args = parser.parse_args(argv)
    if args.output is None:
        args.output = str(HERE / ("huize-county-loopback.yaml" if args.loopback else "huize-county.yaml"))
    if args.csv is None:
        args.csv = "" if args.loopback else str(HERE / "authorised-devices.csv")
    county = County(args.seed, args.device_scale, args.managed_village_ratio)
    county.build()
    county.finish()
    csv_text = county.sample_csv()
    if args.loopback:
        csv_text = re.sub(r"(?<![\d.])10(?=\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d.]))", "127", csv_text)
    text = render(county, args.loopback)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
    if args.csv:
        Path(args.csv).write_bytes(b"\xef\xbb\xbf" + csv_text.encode("utf-8"))  # Excel's "CSV UTF-8" has a BOM
    devices = sum(len(i.get("devices", [])) for i in county.institutions)
    print(f"{len(county.institutions)} institutions, {devices} authorised devices", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
