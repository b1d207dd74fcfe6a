"""The asynchronous SNMP client: GET, GETBULK walk and SET with read-back, v2c and v3.

How it is built, and why:

* **One pysnmp engine for every v2c device**, one more per distinct v3
  credential set. Creating an engine costs about 0.2 s of CPU here, so an
  engine per switch would spend a minute on 440 switches before sending a
  packet. All v2c devices share one UDP socket; pysnmp matches answers to
  requests by request id. v3 users with the same name but different keys
  cannot share an engine (pysnmp keys its USM table by user name and would
  swap the keys under a running walk), hence an engine per credential set.
* **v2c GET and GETBULK skip pysnmp** (:mod:`netguard.snmp.datagram`): one
  UDP socket and a small BER codec of our own (:mod:`netguard.snmp.ber`),
  because pyasn1 spent most of a large walk's CPU. An answer that codec does
  not understand is read by pysnmp's decoder instead; v3 and SET stay on
  pysnmp's engine. ``SnmpClient(fast=False)`` sends v2c through pysnmp too
  (the tests compare both, table by table).
* **Raw var-binds, no MIB lookups.** Requests go through pysnmp's command
  generators (``pysnmp.entity.rfc3413.cmdgen``) with numeric OIDs; the
  high-level ``bulk_cmd`` resolves every OID against the MIB tree on the way
  in and out, which is pure overhead for a walker that only needs numbers.
* **Its own GETBULK walk**: ask for ``max_repetitions`` successors of the last
  OID seen, keep those under the root, stop at the first one outside it or at
  ``endOfMibView``. ``tooBig`` halves
  the repetitions and asks again. With ``adaptive`` repetitions (the
  default) each request asks for as many rows as fit in about
  :data:`RESPONSE_BUDGET` bytes judged by the previous answer's rows (between
  the client's ``max_repetitions`` and :data:`MAX_ADAPTIVE_REPETITIONS`):
  short rows, such as a forwarding table's, take fewer round trips, and a
  response stays well inside one UDP datagram. A walk never raises for a failure after its
  first row: it returns the rows it has and the problem (a *partial* table).
* **Out-of-order agents.** Some switches (seen in the ZTE and BDCOM
  recordings) return table rows out of OID order. Stopping at the first
  non-increasing OID would lose most of the table, so the walk goes on from
  there as long as every OID is new, counts the out-of-order steps, and stops
  with ``oid-not-increasing`` only at an OID it has already seen (a loop).
* **Errors are data**: pysnmp's error indications are mapped to
  :class:`~netguard.snmp.problems.ProblemKind`; messages are written here and
  name the device, never a community or key. In v2c a wrong community and a
  dead host look the same (the agent stays silent), and the message says so.
* Every request also has an asyncio deadline a little longer than pysnmp's own
  timeout × tries, so a lost callback cannot hang a run.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from pysnmp.entity.rfc3413 import cmdgen
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    SnmpEngine,
    Udp6TransportTarget,
    UdpTransportTarget,
    UsmUserData,
)
from pysnmp.hlapi.v3arch.asyncio.lcd import CommandGeneratorLcdConfigurator
from pysnmp.proto import errind, rfc1902, rfc1905

from netguard.snmp.ber import END_OF_MIB, GET, GET_BULK, EndOfMib, VarBind
from netguard.snmp.datagram import DatagramClient
from netguard.snmp.problems import ProblemKind, SnmpError, SnmpProblem
from netguard.snmp.target import SnmpTarget
from netguard.snmp.values import Oid, Value, oid_text, to_asn1, to_python

DEFAULT_MAX_REPETITIONS = 50
DEFAULT_MAX_ROWS = 1_000_000
RESPONSE_BUDGET = 8192  # bytes of var-binds an adaptive GETBULK aims at: a few Ethernet frames
MAX_ADAPTIVE_REPETITIONS = 250

_AUTH = {
    "MD5": "USM_AUTH_HMAC96_MD5",
    "SHA": "USM_AUTH_HMAC96_SHA",
    "SHA224": "USM_AUTH_HMAC128_SHA224",
    "SHA256": "USM_AUTH_HMAC192_SHA256",
    "SHA384": "USM_AUTH_HMAC256_SHA384",
    "SHA512": "USM_AUTH_HMAC384_SHA512",
}
_PRIV = {
    "DES": "USM_PRIV_CBC56_DES",
    "3DES": "USM_PRIV_CBC168_3DES",
    "AES": "USM_PRIV_CFB128_AES",
    "AES128": "USM_PRIV_CFB128_AES",
    "AES192": "USM_PRIV_CFB192_AES",
    "AES256": "USM_PRIV_CFB256_AES",
}


@dataclass(frozen=True)
class Walk:
    """The rows under ``root`` in OID order; ``problem`` is set when the walk did not finish."""

    root: Oid
    rows: tuple[tuple[Oid, Value], ...]
    problem: SnmpProblem | None = None
    requests: int = 0
    unordered: int = 0  # answers whose OID was not greater than the one asked for (kept; a repeat stops the walk)

    @property
    def complete(self) -> bool:
        return self.problem is None

    @property
    def partial(self) -> bool:
        return self.problem is not None and bool(self.rows)


@dataclass(frozen=True)
class SetResult:
    """A SET and what reading it back showed; ``verified`` only when the agent now holds ``wanted``."""

    oid: Oid
    before: Value
    wanted: int | bytes | str
    after: Value

    @property
    def verified(self) -> bool:
        wanted = self.wanted.encode() if isinstance(self.wanted, str) else self.wanted
        return self.after == wanted


def _indication_problem(target: SnmpTarget, indication: object, oid: Oid | None) -> SnmpProblem:
    where = oid_text(oid) if oid else None
    tries = target.retries + 1
    if isinstance(indication, errind.RequestTimedOut):
        why = "wrong community or unreachable" if target.version == "2c" else "unreachable or not an SNMP agent"
        msg = f"no answer within {target.timeout:g} s x {tries} tries: {why}"
        return SnmpProblem(target.label, ProblemKind.TIMEOUT, msg, where)
    if isinstance(indication, errind.UnknownUserName):
        return SnmpProblem(
            target.label, ProblemKind.UNKNOWN_USER, f"the agent has no SNMPv3 user '{target.user}'", where
        )
    if isinstance(indication, errind.WrongDigest | errind.AuthenticationFailure | errind.AuthenticationError):
        msg = f"SNMPv3 authentication failed for user '{target.user}': wrong auth key or protocol"
        return SnmpProblem(target.label, ProblemKind.AUTH_FAILURE, msg, where)
    if isinstance(indication, errind.DecryptionError):
        msg = f"SNMPv3 decryption failed for user '{target.user}': wrong privacy key or protocol"
        return SnmpProblem(target.label, ProblemKind.AUTH_FAILURE, msg, where)
    if isinstance(indication, errind.UnsupportedSecurityLevel):
        msg = f"the agent refuses the security level asked for user '{target.user}'"
        return SnmpProblem(target.label, ProblemKind.AUTH_FAILURE, msg, where)
    if isinstance(indication, errind.OidNotIncreasing):
        return SnmpProblem(
            target.label, ProblemKind.OID_NOT_INCREASING, "the agent returned a non-increasing OID", where
        )
    name = type(indication).__name__
    return SnmpProblem(target.label, ProblemKind.MALFORMED, f"SNMP error: {name}", where)


def _status_error(target: SnmpTarget, status: int, index: int, oids: Sequence[Oid]) -> SnmpError:
    named = rfc1905.errorStatus.getNamedValues()
    label = named.getName(status) if status in named else str(status)
    oid = oids[index - 1] if 0 < index <= len(oids) else (oids[0] if oids else None)
    problem = SnmpProblem(
        target.label, ProblemKind.REFUSED, f"the agent answered {label}", oid_text(oid) if oid else None
    )
    return SnmpError(problem, status=label)


class SnmpClient:
    """Asynchronous SNMP over UDP for any number of devices; use as ``async with SnmpClient() as c``."""

    def __init__(
        self,
        *,
        max_repetitions: int = DEFAULT_MAX_REPETITIONS,
        max_rows: int = DEFAULT_MAX_ROWS,
        adaptive: bool = True,
        fast: bool = True,
    ) -> None:
        self.max_repetitions = max_repetitions
        self.max_rows = max_rows
        self.adaptive = adaptive
        self.fast = fast
        self.datagrams = DatagramClient()
        self._addresses: dict[tuple[str, int], tuple[str, int]] = {}
        self._engines: dict[object, Any] = {}
        self._communities: dict[tuple[str, str], str] = {}
        self._transports: dict[tuple[str, int, float, int], Any] = {}
        self._lcd = CommandGeneratorLcdConfigurator()
        self._ids = itertools.count(1)

    async def __aenter__(self) -> SnmpClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        for engine in self._engines.values():
            engine.close_dispatcher()
        self._engines.clear()
        self._transports.clear()
        self.datagrams.close()

    def prepare(self, targets: Iterable[SnmpTarget]) -> None:
        """Create now the engines ``targets`` need: each costs about 0.2 s of CPU, which would otherwise
        stall an event loop that is timing other work (TCP connects, ICMP replies) at the first request."""
        for target in targets:
            self._engine(target)

    # -- public operations -------------------------------------------------------------------

    async def get(self, target: SnmpTarget, oids: Sequence[Oid]) -> dict[Oid, Value]:
        """The values of ``oids`` (``None`` for noSuchObject/noSuchInstance); raises SnmpError."""
        var_binds = await self._request(target, "get", oids)
        return {oid: None if isinstance(value, EndOfMib) else value for oid, value in var_binds}

    async def walk(self, target: SnmpTarget, root: Oid, *, max_repetitions: int | None = None) -> Walk:
        """Every row under ``root`` with GETBULK; never raises for an agent's failure, see :class:`Walk`."""
        reps = floor = max_repetitions or self.max_repetitions
        ceiling = MAX_ADAPTIVE_REPETITIONS
        rows: list[tuple[Oid, Value]] = []
        seen: set[Oid] = set()
        cursor = root
        requests = unordered = 0
        depth = len(root)

        def stop(problem: SnmpProblem | None) -> Walk:
            return Walk(root, tuple(rows), problem, requests, unordered)

        while True:
            requests += 1
            try:
                var_binds = await self._request(target, "bulk", [cursor], max_repetitions=reps)
            except SnmpError as exc:
                if exc.status == "tooBig" and reps > 1:
                    # The agent said how much is too much: never ask for that many again.
                    reps = floor = ceiling = max(1, reps // 2)
                    continue
                if exc.status == "noSuchName":  # an SNMPv1-minded agent's end of the MIB
                    return stop(None)
                return stop(exc.problem)
            if not var_binds:
                msg = "empty GETBULK response"
                return stop(SnmpProblem(target.label, ProblemKind.MALFORMED, msg, oid_text(cursor)))
            if self.adaptive and max_repetitions is None:
                reps = self._repetitions(var_binds, floor, ceiling)
            for oid, value in var_binds:
                if isinstance(value, EndOfMib) or oid[:depth] != root:
                    return stop(None)
                if oid <= cursor:
                    if oid in seen:
                        msg = f"the agent returned {oid_text(oid)} again after {oid_text(cursor)}: a loop, walk stopped"
                        return stop(SnmpProblem(target.label, ProblemKind.OID_NOT_INCREASING, msg, oid_text(root)))
                    unordered += 1
                seen.add(oid)
                rows.append((oid, value))
                cursor = oid
            if len(rows) >= self.max_rows:
                msg = f"more than {self.max_rows} rows: walk stopped"
                return stop(SnmpProblem(target.label, ProblemKind.TOO_MANY_ROWS, msg, oid_text(root)))

    async def walk_columns(
        self, target: SnmpTarget, roots: Sequence[Oid], *, max_repetitions: int | None = None
    ) -> list[Walk]:
        """Several subtrees (the columns of a table) walked together, one var-bind per unfinished column per GETBULK.

        Same rules per column as :meth:`walk` (adaptive repetitions count the
        var-binds of all columns together); a column that ends drops out of
        later requests, so an empty column costs nothing after the first answer.
        One Walk per root, in the order given.
        """
        if len(roots) == 1:
            return [await self.walk(target, roots[0], max_repetitions=max_repetitions)]
        budget = floor = max_repetitions or self.max_repetitions
        ceiling = MAX_ADAPTIVE_REPETITIONS
        rows: list[list[tuple[Oid, Value]]] = [[] for _ in roots]
        seen: list[set[Oid]] = [set() for _ in roots]
        cursors = list(roots)
        problems: list[SnmpProblem | None] = [None] * len(roots)
        unordered = [0] * len(roots)
        requests = 0
        active = list(range(len(roots)))
        while active:
            reps = max(1, budget // len(active))
            requests += 1
            try:
                var_binds = await self._request(target, "bulk", [cursors[c] for c in active], max_repetitions=reps)
            except SnmpError as exc:
                if exc.status == "tooBig" and budget > len(active):
                    budget = floor = ceiling = budget // 2
                    continue
                for c in active:
                    problems[c] = None if exc.status == "noSuchName" else exc.problem
                break
            if not var_binds:
                for c in active:
                    msg = "empty GETBULK response"
                    problems[c] = SnmpProblem(target.label, ProblemKind.MALFORMED, msg, oid_text(cursors[c]))
                break
            if self.adaptive and max_repetitions is None:
                budget = self._repetitions(var_binds, floor, ceiling)
            finished: set[int] = set()
            # Var-binds come as repetitions of one successor per requested column (RFC 3416 4.2.3).
            for k, (oid, value) in enumerate(var_binds):
                c = active[k % len(active)]
                if c in finished:
                    continue
                root = roots[c]
                if isinstance(value, EndOfMib) or oid[: len(root)] != root:
                    finished.add(c)
                    continue
                if oid <= cursors[c]:
                    if oid in seen[c]:
                        msg = f"the agent returned {oid_text(oid)} again after {oid_text(cursors[c])}: a loop"
                        problems[c] = SnmpProblem(target.label, ProblemKind.OID_NOT_INCREASING, msg, oid_text(root))
                        finished.add(c)
                        continue
                    unordered[c] += 1
                seen[c].add(oid)
                rows[c].append((oid, value))
                cursors[c] = oid
                if len(rows[c]) >= self.max_rows:
                    msg = f"more than {self.max_rows} rows: walk stopped"
                    problems[c] = SnmpProblem(target.label, ProblemKind.TOO_MANY_ROWS, msg, oid_text(root))
                    finished.add(c)
            active = [c for c in active if c not in finished]
        return [Walk(root, tuple(rows[c]), problems[c], requests, unordered[c]) for c, root in enumerate(roots)]

    async def set(self, target: SnmpTarget, oid: Oid, value: int | bytes | str) -> SetResult:
        """SET one value and read it back. Raises SnmpError when the agent refuses or does not answer.

        The result says whether the read-back matches: some agents (and snmpsim
        on a read-only record) accept a SET and change nothing.
        """
        before = (await self.get(target, [oid])).get(oid)
        await self._request(target, "set", [oid], set_value=to_asn1(value))
        after = (await self.get(target, [oid])).get(oid)
        return SetResult(oid=oid, before=before, wanted=value, after=after)

    # -- plumbing ----------------------------------------------------------------------------

    @staticmethod
    def _repetitions(var_binds: list[VarBind], floor: int, ceiling: int) -> int:
        """As many repetitions as fit :data:`RESPONSE_BUDGET`, judged by these var-binds' size, within bounds."""
        size = sum(len(oid) + (len(v) if isinstance(v, bytes | str) else 4) for oid, v in var_binds)
        # An arc or a value byte is one to two octets on the wire, plus about 6 octets of headers per var-bind.
        per_row = 6 + 1.3 * size / len(var_binds)
        return max(floor, min(ceiling, int(RESPONSE_BUDGET / per_row)))

    async def _address(self, target: SnmpTarget) -> tuple[str, int]:
        key = (target.host, target.port)
        address = self._addresses.get(key)
        if address is None:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(target.host, target.port, type=socket.SOCK_DGRAM)
            except (OSError, UnicodeError) as exc:
                msg = f"cannot use address '{target.host}': {type(exc).__name__}"
                raise SnmpError(SnmpProblem(target.label, ProblemKind.BAD_TARGET, msg)) from None
            address = self._addresses[key] = (str(infos[0][4][0]), int(infos[0][4][1]))
        return address

    async def _fast_request(
        self, target: SnmpTarget, kind: str, oids: Sequence[Oid], max_repetitions: int
    ) -> list[VarBind]:
        assert target.community is not None  # checked by SnmpTarget
        response = await self.datagrams.request(
            await self._address(target),
            target.community.reveal().encode(),
            GET if kind == "get" else GET_BULK,
            list(oids),
            max_repetitions=max_repetitions,
            timeout=target.timeout,
            retries=target.retries,
        )
        if response is None:
            raise SnmpError(_indication_problem(target, errind.RequestTimedOut(), oids[0] if oids else None))
        if response.error_status:
            raise _status_error(target, response.error_status, response.error_index, oids)
        return response.var_binds

    def _engine(self, target: SnmpTarget) -> Any:
        if target.version == "2c":
            key: object = "v2c"
        else:
            key = (target.user, target.auth_protocol, target.auth_key, target.priv_protocol, target.priv_key)
        engine = self._engines.get(key)
        if engine is None:
            engine = self._engines[key] = SnmpEngine()
        return engine

    def _auth(self, target: SnmpTarget) -> Any:
        if target.version == "2c":
            assert target.community is not None  # checked by SnmpTarget
            value = target.community.reveal()
            # A community's index is also its securityName inside pysnmp: one per
            # distinct (community, context), never derived from the value itself.
            index = self._communities.setdefault((value, target.context), f"c{next(self._ids)}")
            return CommunityData(index, value, mpModel=1, contextName=target.context)
        from pysnmp.entity import config

        auth_proto = getattr(config, _AUTH[target.auth_protocol.upper()]) if target.auth_protocol else None
        priv_proto = getattr(config, _PRIV[target.priv_protocol.upper()]) if target.priv_protocol else None
        return UsmUserData(
            target.user,
            authKey=target.auth_key.reveal() if target.auth_key else None,
            privKey=target.priv_key.reveal() if target.priv_key else None,
            authProtocol=auth_proto,
            privProtocol=priv_proto,
        )

    async def _transport(self, target: SnmpTarget) -> Any:
        key = (target.host, target.port, target.timeout, target.retries)
        transport = self._transports.get(key)
        if transport is None:
            cls = Udp6TransportTarget if target.is_ipv6 else UdpTransportTarget
            try:
                transport = await cls.create((target.host, target.port), timeout=target.timeout, retries=target.retries)
            except Exception as exc:  # pysnmp raises PySnmpError for a name it cannot resolve
                msg = f"cannot use address '{target.host}': {type(exc).__name__}"
                raise SnmpError(SnmpProblem(target.label, ProblemKind.BAD_TARGET, msg)) from None
            self._transports[key] = transport
        return transport

    async def _request(
        self,
        target: SnmpTarget,
        kind: str,
        oids: Sequence[Oid],
        *,
        max_repetitions: int = 0,
        set_value: Any = None,
    ) -> list[VarBind]:
        if self.fast and target.version == "2c" and not target.context and kind != "set":
            return await self._fast_request(target, kind, oids, max_repetitions)
        engine = self._engine(target)
        auth = self._auth(target)
        transport = await self._transport(target)
        addr_name, _params = self._lcd.configure(engine, auth, transport, target.context.encode())
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[Any, int, int, list[tuple[Any, Any]]]] = loop.create_future()

        def done(
            _engine: Any, _handle: Any, indication: Any, status: Any, index: Any, var_binds: Any, _ctx: Any
        ) -> None:
            if not future.done():
                future.set_result((indication, int(status or 0), int(index or 0), list(var_binds or ())))

        context = target.context.encode()
        value = set_value if set_value is not None else rfc1905.univ.Null("")
        binds = [(rfc1902.ObjectName(oid), value) for oid in oids]
        if kind == "get":
            cmdgen.GetCommandGenerator().send_varbinds(engine, addr_name, None, context, binds, done)
        elif kind == "set":
            cmdgen.SetCommandGenerator().send_varbinds(engine, addr_name, None, context, binds, done)
        else:
            cmdgen.BulkCommandGenerator().send_varbinds(
                engine, addr_name, None, context, 0, max_repetitions, binds, done
            )
        budget = target.timeout * (target.retries + 1) + 2.0
        try:
            indication, status, index, var_binds = await asyncio.wait_for(future, budget)
        except TimeoutError:
            raise SnmpError(_indication_problem(target, errind.RequestTimedOut(), oids[0] if oids else None)) from None
        if indication:
            raise SnmpError(_indication_problem(target, indication, oids[0] if oids else None))
        if status:
            raise _status_error(target, status, index, oids)
        return [
            (tuple(name), END_OF_MIB if isinstance(value, rfc1905.EndOfMibView) else to_python(value))
            for name, value in var_binds
        ]
