"""What went wrong with one SNMP device, as data.

A dead, slow or misbehaving agent must never end a run that covers hundreds
of switches, so the client reports failures as :class:`SnmpProblem` values
(raised inside :class:`SnmpError` by single requests, kept in results by
walks and fan-outs). A problem names the device, the kind and the OID being
asked for; it never holds a community or key (the client builds every
message itself from pysnmp's error *class*, not from its credentials).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from netguard.errors import NetGuardError


class ProblemKind(StrEnum):
    """Why a device or a table could not be read (stable strings for --json)."""

    TIMEOUT = "timeout"  # no answer; in v2c also what a wrong community looks like
    AUTH_FAILURE = "auth-failure"  # v3: wrong key (digest), cannot decrypt
    UNKNOWN_USER = "unknown-user"  # v3: the agent has no such USM user
    REFUSED = "refused"  # an error-status in the response (noAccess, notWritable, genErr ...)
    OID_NOT_INCREASING = "oid-not-increasing"  # the agent loops: the walk stopped
    MALFORMED = "malformed"  # a response or a table that cannot be understood
    TOO_MANY_ROWS = "too-many-rows"  # the walk hit the row limit
    READBACK_MISMATCH = "readback-mismatch"  # a SET was accepted but the value did not change
    DEADLINE = "deadline"  # the whole device took longer than its budget
    BAD_TARGET = "bad-target"  # the address or the credentials cannot be used
    INTERNAL = "internal"  # a bug (in NetGuard or pysnmp) while handling this device


@dataclass(frozen=True)
class SnmpProblem:
    """One failure: on which device, of which kind, while asking for which OID."""

    device: str
    kind: ProblemKind
    message: str
    oid: str | None = None

    def __str__(self) -> str:
        where = f" ({self.oid})" if self.oid else ""
        return f"{self.device}: {self.kind.value}: {self.message}{where}"


class SnmpError(NetGuardError):
    """A request failed; ``problem`` says how, ``status`` is the agent's error-status name if it sent one."""

    exit_code = 1

    def __init__(self, problem: SnmpProblem, status: str | None = None) -> None:
        self.problem = problem
        self.status = status
        super().__init__(str(problem))
