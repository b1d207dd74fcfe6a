"""docs/architecture.md's worked example, run for real: the example county's data centre on loopback.

The example block is read from the document and executed, so the document
cannot drift from what works. Every server of the example county gets its own
127.77.0.x address; each server's first TCP service gets a real listening
socket, its other TCP services a socket that is bound but not listening (so the
port is certainly closed and nobody else can take it during the test), and UDP
services are left alone (the task skips them).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from netguard.events.sqlite_store import SQLiteEventStore
from netguard.inventory import Inventory, load_inventory, scope_filter

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"


def worked_example() -> dict[str, Any]:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"<!-- worked-example -->\n```python\n(.*?)```", text, re.S)
    assert match, "docs/architecture.md lost its worked example"
    namespace: dict[str, Any] = {"__name__": "worked_example"}
    exec(compile(match.group(1), f"{DOC}:worked-example", "exec", dont_inherit=True), namespace)
    return namespace


@pytest.fixture
def loopback_county() -> Iterator[tuple[Inventory, set[str], set[str], set[str]]]:
    """The example county with every server on 127.77.0.x; returns it and the open, closed and UDP endpoints."""
    county = load_inventory(ROOT / "examples" / "huize-county.yaml")
    sockets: list[socket.socket] = []
    open_ids: set[str] = set()
    closed_ids: set[str] = set()
    udp_ids: set[str] = set()
    institutions = []
    number = 0
    try:
        for inst in county:
            servers = []
            for server in inst.servers:
                number += 1
                address = ipaddress.ip_address(f"127.77.0.{number}")
                services = []
                first_tcp = True
                for service in server.services:
                    endpoint = f"{server.id}/{service.name}"
                    if service.transport != "tcp":
                        udp_ids.add(endpoint)
                        services.append(replace(service, address=address))
                        continue
                    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    sockets.append(sock)
                    sock.bind((str(address), 0))
                    if first_tcp:
                        sock.listen(16)
                        open_ids.add(endpoint)
                    else:
                        closed_ids.add(endpoint)
                    first_tcp = False
                    services.append(replace(service, address=address, port=sock.getsockname()[1]))
                servers.append(replace(server, address=address, services=tuple(services)))
            institutions.append(replace(inst, servers=tuple(servers)))
        inv = Inventory(
            institutions,
            county=county.county,
            data_centre=county.data_centre,
            defaults=county.defaults,
            file=county.file,
        )
        yield inv, open_ids, closed_ids, udp_ids
    finally:
        for sock in sockets:
            sock.close()


def test_tcp_probe_of_the_data_centre_writes_one_link_event_per_tcp_service(loopback_county, tmp_path):
    inv, open_ids, closed_ids, udp_ids = loopback_county
    example = worked_example()
    scope = scope_filter(inv, institutions=[inv.data_centre])
    servers = inv.servers(scope)
    assert servers and all(s.institution == inv.data_centre for s in servers)
    in_scope = {f"{s.id}/{v.name}" for s in servers for v in s.services}
    # The example county has open, closed and UDP services in its data centre: all three paths run.
    assert in_scope & open_ids and in_scope & closed_ids and in_scope & udp_ids

    store = SQLiteEventStore(tmp_path / "events.db")
    ticks: list[int] = []
    try:
        result, written = example["check_services"](servers, store.write, ticks.append)
        by_status = {
            status: {r.target_id for r in result.results if r.status.value == status}
            for status in ("ok", "failed", "skipped")
        }
        # Exactly the data centre's endpoints: the other institutions' servers were never probed.
        assert by_status == {"ok": in_scope & open_ids, "failed": in_scope & closed_ids, "skipped": in_scope & udp_ids}
        assert {r.error_type for r in result.failed} == {"ConnectionRefusedError"}
        assert all(r.value is not None and r.value >= 0 for r in result.ok)
        assert set(result.failed_targets) == in_scope & closed_ids
        assert len(ticks) == len(in_scope)

        tcp = in_scope - udp_ids
        assert (written.written, written.failed) == (len(tcp), 0)
        store.refresh()
        events = list(store.iter_search("", kinds=["link"]))
        assert sorted(e.get("netguard.link.target") for e in events) == sorted(tcp)
        up = {e.get("netguard.link.target") for e in store.iter_search("netguard.link.state:up", kinds=["link"])}
        assert up == in_scope & open_ids
        endpoints = {f"{s.id}/{v.name}": (s, v) for s in servers for v in s.services}
        for event in events:
            server, service = endpoints[event.get("netguard.link.target")]
            assert (event.get("destination.ip"), event.get("destination.port")) == (str(service.address), service.port)
            assert event.get("organization.id") == server.institution == inv.data_centre
            if event.get("netguard.link.state") == "down":
                assert event.get("event.outcome") == "failure"
                assert event.get("error.message").startswith("ConnectionRefusedError: ")
            else:
                assert event.get("netguard.link.rtt_avg_ms") >= 0
    finally:
        store.close()
