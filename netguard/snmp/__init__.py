"""Asynchronous SNMP v2c/v3 client: get, GETBULK walk, SET with read-back, bounded fan-out.

v3 and SET run on pysnmp; v2c GET and GETBULK on one UDP socket with a small
BER codec of our own (``ber``, ``datagram``), pysnmp's decoder as fallback.
"""

from netguard.snmp.client import SetResult, SnmpClient, Walk
from netguard.snmp.fanout import Outcome, run_bounded
from netguard.snmp.problems import ProblemKind, SnmpError, SnmpProblem
from netguard.snmp.target import SnmpTarget, TargetError, split_host_port, target_for_switch, target_from_credentials
from netguard.snmp.values import Oid, Value, oid_text, parse_oid

__all__ = [
    "Oid",
    "Outcome",
    "ProblemKind",
    "SetResult",
    "SnmpClient",
    "SnmpError",
    "SnmpProblem",
    "SnmpTarget",
    "TargetError",
    "Value",
    "Walk",
    "oid_text",
    "parse_oid",
    "run_bounded",
    "split_host_port",
    "target_for_switch",
    "target_from_credentials",
]
