"""Asynchronous SNMP v2c/v3 client: get, GETBULK walk, SET with read-back, bounded fan-out.

v3 and SET run on pysnmp; v2c GET and GETBULK on one UDP socket with a small
BER codec of our own (``ber``, ``datagram``), pysnmp's decoder as fallback.

The client itself is imported from :mod:`netguard.snmp.client`, not from here: it
loads pysnmp's high-level API (a third of a second of CPU), and the records,
problems and targets below are imported by many modules (the discovery settings
that ``netguard config`` reads among them) that never open a session.
"""

from netguard.snmp.fanout import Outcome, run_bounded
from netguard.snmp.problems import ProblemKind, SnmpError, SnmpProblem
from netguard.snmp.target import SnmpTarget, TargetError, split_host_port, target_for_switch, target_from_credentials
from netguard.snmp.values import Oid, Value, oid_text, parse_oid

__all__ = [
    "Oid",
    "Outcome",
    "ProblemKind",
    "SnmpError",
    "SnmpProblem",
    "SnmpTarget",
    "TargetError",
    "Value",
    "oid_text",
    "parse_oid",
    "run_bounded",
    "split_host_port",
    "target_for_switch",
    "target_from_credentials",
]
