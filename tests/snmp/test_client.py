"""The SNMP client against real agents (snmpsim): v2c and v3, walks, SETs, and every way a device fails."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from netguard.secrets import Secret
from netguard.snmp import ProblemKind, SnmpError, SnmpTarget, parse_oid, run_bounded
from netguard.snmp.client import SnmpClient, Walk
from tests.harness.snmp_fixtures import Agents
from tests.harness.snmpsim import V3_AUTH_KEY, V3_PRIV_KEY, GarbageAgent, free_udp_port

T = TypeVar("T")

SYS_NAME = parse_oid("1.3.6.1.2.1.1.5.0")
IF_DESCR = parse_oid("1.3.6.1.2.1.2.2.1.2")
IF_ADMIN = parse_oid("1.3.6.1.2.1.2.2.1.7")
Q_FDB_PORT = parse_oid("1.3.6.1.2.1.17.7.1.2.2.1.2")


def run(job: Callable[[SnmpClient], Awaitable[T]], **client_options: Any) -> T:
    async def main() -> T:
        async with SnmpClient(**client_options) as client:
            return await job(client)

    return asyncio.run(main())


def recording_rows(agents: Agents, name: str, prefix: str) -> dict[str, tuple[str, str]]:
    """OID -> (type tag, value) for the rows of a recording under ``prefix``: the oracle, read from the file."""
    rows = {}
    for line in agents.recording(name).read_text(encoding="utf-8", errors="surrogateescape").splitlines():
        oid, tag, value = line.split("|", 2)
        if oid.startswith(prefix + "."):
            rows[oid] = (tag, value)
    return rows


def octets(tag: str, value: str) -> bytes:
    """An OctetString record's value as the agent sends it (``4x`` records are hex)."""
    return bytes.fromhex(value) if tag == "4x" else value.encode()


def test_get_reads_the_same_value_over_v2c_and_v3(snmp_agents: Agents) -> None:
    name = "real/huawei-s12704"
    expected = octets(*recording_rows(snmp_agents, name, "1.3.6.1.2.1.1.5")["1.3.6.1.2.1.1.5.0"])

    async def both(client: SnmpClient) -> tuple[object, object]:
        v2 = await client.get(snmp_agents.v2c(name), [SYS_NAME])
        v3 = await client.get(snmp_agents.v3(name), [SYS_NAME])
        return v2[SYS_NAME], v3[SYS_NAME]

    v2, v3 = run(both)
    assert v2 == v3 == expected


def test_get_of_a_missing_object_is_none(snmp_agents: Agents) -> None:
    missing = parse_oid("1.3.6.1.2.1.1.99.0")
    values = run(lambda c: c.get(snmp_agents.v2c("edge/quirks"), [SYS_NAME, missing]))
    assert values == {SYS_NAME: b"edge-quirks", missing: None}


@pytest.mark.parametrize("reps", [1, 7, 50])
def test_walk_returns_every_row_of_the_recording_in_order(snmp_agents: Agents, reps: int) -> None:
    name = "real/ruijie-s5750-24gt12sfp"
    expected = recording_rows(snmp_agents, name, "1.3.6.1.2.1.2.2.1.2")
    walk = run(lambda c: c.walk(snmp_agents.v2c(name), IF_DESCR, max_repetitions=reps))
    assert walk.complete and walk.unordered == 0
    assert [".".join(map(str, oid)) for oid, _ in walk.rows] == sorted(expected, key=parse_oid)
    assert {".".join(map(str, o)): v for o, v in walk.rows} == {o: octets(t, v) for o, (t, v) in expected.items()}


def test_v3_walk_equals_v2c_walk(snmp_agents: Agents) -> None:
    name = "real/h3c-e528-2"

    async def both(client: SnmpClient) -> tuple[Walk, Walk]:
        return await client.walk(snmp_agents.v2c(name), IF_DESCR), await client.walk(snmp_agents.v3(name), IF_DESCR)

    v2, v3 = run(both)
    assert v2.complete and v3.complete
    assert v2.rows == v3.rows and len(v2.rows) > 10


def test_an_agent_that_returns_rows_out_of_order_is_walked_to_the_end(snmp_agents: Agents) -> None:
    # The BDCOM S5612 recording returns its Q-BRIDGE FDB out of OID order, as the switch did.
    name = "real/bdcom-s5612"
    expected = recording_rows(snmp_agents, name, ".".join(map(str, Q_FDB_PORT)))
    walk = run(lambda c: c.walk(snmp_agents.v2c(name), Q_FDB_PORT))
    assert walk.complete
    assert walk.unordered > 0
    assert {".".join(map(str, o)) for o, _ in walk.rows} == set(expected)


def test_a_walk_that_fails_part_way_keeps_its_rows_and_says_why(snmp_agents: Agents) -> None:
    walk = run(lambda c: c.walk(snmp_agents.v2c("edge/partial"), Q_FDB_PORT, max_repetitions=10))
    assert walk.partial
    assert walk.problem is not None and walk.problem.kind is ProblemKind.REFUSED
    assert "genErr" in walk.problem.message
    assert len(walk.rows) == 200  # the rows before the broken one, in whole requests of 10


def test_a_walk_stops_at_the_row_limit(snmp_agents: Agents) -> None:
    walk = run(lambda c: c.walk(snmp_agents.v2c("edge/huge"), Q_FDB_PORT), max_rows=1000)
    assert walk.problem is not None and walk.problem.kind is ProblemKind.TOO_MANY_ROWS
    assert 1000 <= len(walk.rows) < 1100


def _failure(job: Callable[[SnmpClient], Awaitable[object]]) -> SnmpError:
    with pytest.raises(SnmpError) as caught:
        run(job)
    return caught.value


def test_wrong_community_is_no_answer_and_the_community_is_not_shown(snmp_agents: Agents) -> None:
    target = snmp_agents.v2c("no-such-community-s3cr3t", timeout=0.5, retries=0)
    error = _failure(lambda c: c.get(target, [SYS_NAME]))
    assert error.problem.kind is ProblemKind.TIMEOUT
    assert "wrong community or unreachable" in error.problem.message
    assert "s3cr3t" not in str(error) and "s3cr3t" not in repr(target)


def test_v3_wrong_auth_key_is_an_auth_failure(snmp_agents: Agents) -> None:
    target = snmp_agents.v3("edge/quirks", auth_key="wrong-key-s3cr3t")
    error = _failure(lambda c: c.get(target, [SYS_NAME]))
    assert error.problem.kind is ProblemKind.AUTH_FAILURE
    assert "s3cr3t" not in str(error) and V3_PRIV_KEY not in str(error)


def test_v3_unknown_user_is_reported_as_such(snmp_agents: Agents) -> None:
    error = _failure(lambda c: c.get(snmp_agents.v3("edge/quirks", user="nobody"), [SYS_NAME]))
    assert error.problem.kind is ProblemKind.UNKNOWN_USER
    assert "nobody" in error.problem.message and V3_AUTH_KEY not in str(error)


def test_a_port_where_nothing_listens_times_out(snmp_agents: Agents) -> None:
    target = snmp_agents.v2c("edge/quirks", port=free_udp_port(), timeout=0.3, retries=1)
    error = _failure(lambda c: c.get(target, [SYS_NAME]))
    assert error.problem.kind is ProblemKind.TIMEOUT
    assert error.problem.device == target.label


def test_a_device_answering_garbage_is_a_timeout_not_a_crash() -> None:
    with GarbageAgent() as agent:
        target = SnmpTarget("127.0.0.1", agent.port, community=Secret("public"), timeout=0.3, retries=1)
        error = _failure(lambda c: c.get(target, [SYS_NAME]))
        walk = run(lambda c: c.walk(target, IF_DESCR))
    assert agent.answered >= 2
    assert error.problem.kind is ProblemKind.TIMEOUT
    assert walk.problem is not None and walk.problem.kind is ProblemKind.TIMEOUT and not walk.rows


def test_set_is_read_back(snmp_agents: Agents) -> None:
    target = snmp_agents.v2c("edge/quirks")
    admin1 = (*IF_ADMIN, 1)

    async def flip(client: SnmpClient) -> tuple[object, object, object]:
        down = await client.set(target, admin1, 2)
        now = (await client.get(target, [admin1]))[admin1]
        up = await client.set(target, admin1, 1)
        return down, now, up

    down, now, up = run(flip)
    assert down.before == 1 and down.after == 2 and down.verified  # type: ignore[attr-defined]
    assert now == 2
    assert up.after == 1 and up.verified  # type: ignore[attr-defined]


def test_a_set_the_agent_ignores_is_not_verified(snmp_agents: Agents) -> None:
    # ifAdminStatus.2 is a plain (read-only) record: snmpsim accepts the SET and changes nothing.
    admin2 = (*IF_ADMIN, 2)
    result = run(lambda c: c.set(snmp_agents.v2c("edge/quirks"), admin2, 2))
    assert result.before == 1 and result.after == 1
    assert not result.verified


def test_one_run_many_devices_failures_are_data(snmp_agents: Agents) -> None:
    with GarbageAgent() as garbage:
        good = [snmp_agents.v2c(n) for n in ("real/cisco-c3750", "real/huawei-s5720", "edge/quirks")]
        bad = {
            "community": snmp_agents.v2c("wrong-community", timeout=0.5, retries=1),
            "v3-key": snmp_agents.v3("edge/quirks", auth_key="not-the-key"),
            "closed": snmp_agents.v2c("edge/quirks", port=free_udp_port(), timeout=0.5, retries=1),
            "garbage": SnmpTarget("127.0.0.1", garbage.port, community=Secret("public"), timeout=0.5, retries=1),
        }
        targets = [good[0], bad["community"], good[1], bad["v3-key"], bad["closed"], good[2], bad["garbage"]]
        finished: list[str] = []
        outcomes = run(
            lambda c: run_bounded(
                targets,
                lambda t: c.get(t, [SYS_NAME]),
                label=lambda t: t.label,
                limit=3,
                on_done=lambda o: finished.append(o.device),
            )
        )
    assert [o.device for o in outcomes] == [t.label for t in targets]
    assert sorted(finished) == sorted(t.label for t in targets)
    by_target = dict(zip(map(id, targets), outcomes, strict=True))
    for target in good:
        assert by_target[id(target)].ok and by_target[id(target)].value
    kinds = {name: by_target[id(t)].problem.kind for name, t in bad.items()}  # type: ignore[union-attr]
    assert kinds == {
        "community": ProblemKind.TIMEOUT,
        "v3-key": ProblemKind.AUTH_FAILURE,
        "closed": ProblemKind.TIMEOUT,
        "garbage": ProblemKind.TIMEOUT,
    }


def test_a_device_past_its_deadline_is_stopped_and_reported(snmp_agents: Agents) -> None:
    # A silent device asked with a 5 s request timeout and a 0.5 s budget for the whole device.
    silent = snmp_agents.v2c("edge/quirks", port=free_udp_port(), timeout=5.0, retries=0)
    targets = [silent, snmp_agents.v2c("edge/quirks")]
    outcomes = run(lambda c: run_bounded(targets, lambda t: c.walk(t, IF_DESCR), label=lambda t: t.label, deadline=0.5))
    assert outcomes[0].problem is not None and outcomes[0].problem.kind is ProblemKind.DEADLINE
    assert outcomes[0].problem.device == silent.label
    assert outcomes[1].ok and outcomes[1].value is not None and len(outcomes[1].value.rows) == 4


def test_bad_targets_are_refused_before_any_packet() -> None:
    from netguard.snmp import TargetError

    with pytest.raises(TargetError):
        SnmpTarget("127.0.0.1", 161)  # v2c without a community
    with pytest.raises(TargetError):
        SnmpTarget("127.0.0.1", 161, version="3", user="u", priv_protocol="AES", priv_key=Secret("k"))
    with pytest.raises(TargetError):
        SnmpTarget("127.0.0.1", 70000, community=Secret("c"))


def test_columns_walked_together_equal_columns_walked_alone(snmp_agents: Agents) -> None:
    name = "real/hpe-procurve-516733-b21"
    columns = [parse_oid(f"1.3.6.1.2.1.2.2.1.{c}") for c in (2, 3, 5, 7, 8)] + [
        parse_oid("1.3.6.1.2.1.31.1.1.1.1"),
        parse_oid("1.3.6.1.2.1.4.35.1.4"),  # empty in this recording
        Q_FDB_PORT,  # far longer than the others
    ]

    async def both(client: SnmpClient) -> tuple[list[Walk], list[Walk]]:
        together = await client.walk_columns(snmp_agents.v2c(name), columns)
        alone = [await client.walk(snmp_agents.v2c(name), c) for c in columns]
        return together, alone

    together, alone = run(both)
    assert [w.rows for w in together] == [w.rows for w in alone]
    assert all(w.complete for w in together)
    assert together[6].rows == () and len(together[7].rows) > 200
    assert together[0].requests < sum(w.requests for w in alone)


def test_columns_of_an_out_of_order_agent_are_read_whole(snmp_agents: Agents) -> None:
    name = "real/zte-zxr10-5250"
    status = parse_oid("1.3.6.1.2.1.17.7.1.2.2.1.3")

    async def both(client: SnmpClient) -> tuple[list[Walk], list[Walk]]:
        target = snmp_agents.v2c(name)
        return await client.walk_columns(target, [Q_FDB_PORT, status]), [
            await client.walk(target, Q_FDB_PORT),
            await client.walk(target, status),
        ]

    together, alone = run(both)
    assert [set(w.rows) for w in together] == [set(w.rows) for w in alone]
    assert all(w.complete and w.unordered > 0 for w in together)
