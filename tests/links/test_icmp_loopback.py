"""The ICMP prober with real packets: the 440 loopback gateways, IPv6, parallel runs, socket kinds and privileges."""

from __future__ import annotations

import asyncio
import ipaddress
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from netguard.inventory import IPAddress, load_inventory
from netguard.links.icmp import IcmpUnavailable, ping
from netguard.links.records import IcmpSettings, IcmpStats
from tests.harness.peers import require_peer
from tests.links.netns import Lab, require_netns

ONE_INSTITUTION = (
    "county: {name: 测试县, code: t}\ndata_centre: dc\ninstitutions:\n"
    "  - {id: dc, name: 中心, tier: county, kind: data-centre, subnets: [127.44.0.0/24], gateway: 127.44.0.1}\n"
)
FAST = IcmpSettings(count=3, interval_ms=50, timeout_ms=1000, gap_ms=0.5)


def _ping(addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address], settings: IcmpSettings = FAST, **kw: object):
    return asyncio.run(ping(addresses, settings, **kw))  # type: ignore[arg-type]


def _icmp_allowed() -> None:
    try:
        _ping([ipaddress.ip_address("127.0.0.1")], IcmpSettings(count=1, timeout_ms=500))
    except IcmpUnavailable as exc:
        require_peer(f"ICMP sockets are not allowed here: {exc}")


def test_all_440_loopback_gateways_answer_every_probe(loopback_county: Path) -> None:
    _icmp_allowed()
    gateways = [i.gateway for i in load_inventory(loopback_county)]
    assert len(gateways) == len(set(gateways)) == 440
    results = _ping(gateways)
    assert set(results) == set(gateways)
    for address, s in results.items():
        assert (s.sent, s.received, s.loss) == (3, 3, 0.0), (address, s)
        assert len(s.rtts_ms) == 3 and all(r is not None and 0 <= r < FAST.timeout_ms for r in s.rtts_ms)
        assert s.rtt_min_ms is not None and s.rtt_max_ms is not None and s.rtt_avg_ms is not None
        assert s.rtt_min_ms <= s.rtt_avg_ms <= s.rtt_max_ms and s.jitter_ms is not None and not s.errors


def test_a_target_listed_twice_is_probed_once() -> None:
    _icmp_allowed()
    a = ipaddress.ip_address("127.0.0.1")
    results = _ping([a, a, ipaddress.ip_address("127.0.0.2")])
    assert set(results) == {a, ipaddress.ip_address("127.0.0.2")} and results[a].sent == 3


def test_parallel_runs_take_only_their_own_replies() -> None:
    _icmp_allowed()
    addresses = [ipaddress.ip_address(f"127.9.0.{n}") for n in range(1, 41)]

    async def both() -> tuple[dict[IPAddress, IcmpStats], dict[IPAddress, IcmpStats]]:
        return await asyncio.gather(ping(addresses, FAST), ping(addresses, FAST))

    for run in asyncio.run(both()):
        assert all((s.sent, s.received) == (3, 3) for s in run.values())


def test_ipv6_loopback() -> None:
    _icmp_allowed()
    if (
        not Path("/proc/net/if_inet6").exists()
        or "00000000000000000000000000000001" not in Path("/proc/net/if_inet6").read_text()
    ):
        require_peer("IPv6 loopback (::1) is not configured")
    six = ipaddress.ip_address("::1")
    results = _ping([six, ipaddress.ip_address("127.0.0.1")])
    assert (results[six].sent, results[six].received) == (3, 3)


@pytest.mark.root
def test_datagram_socket_and_a_clear_error_without_privileges(tmp_path: Path) -> None:
    """In a namespace (ping_group_range is per namespace): root forced onto the datagram
    socket, then an unprivileged user allowed by ping_group_range, then one who is not."""
    require_netns()
    lab = Lab("p")
    shared: Path | None = None
    script = (
        "import asyncio, ipaddress, sys\n"
        "from netguard.links.icmp import ping\nfrom netguard.links.records import IcmpSettings\n"
        "r = asyncio.run(ping([ipaddress.ip_address('127.0.0.1'), ipaddress.ip_address('127.3.0.1')],"
        " IcmpSettings(count=2, interval_ms=20, timeout_ms=500), socket_kind=sys.argv[1]))\n"
        "print(sorted((str(a), s.received) for a, s in r.items()))\n"
    )
    try:
        ns = lab.ns("n")
        answered = "[('127.0.0.1', 2), ('127.3.0.1', 2)]"
        subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ping_group_range=0 0"], check=True)
        forced = lab.python(ns, "-c", script, "dgram")
        assert forced.returncode == 0 and forced.stdout.strip() == answered, forced.stderr
        refused = lab.python(ns, "-c", script, "auto", user=65534)
        assert refused.returncode != 0
        assert "IcmpUnavailable" in refused.stderr and "CAP_NET_RAW" in refused.stderr
        assert "net.ipv4.ping_group_range (now '0 0'" in refused.stderr
        # The command says the same in one line, exit 2, before sending anything.
        shared = Path(tempfile.mkdtemp(prefix="ngl-links-"))
        shared.chmod(0o755)
        inventory = shared / "county.yaml"
        inventory.write_text(ONE_INSTITUTION, encoding="utf-8")
        inventory.chmod(0o644)
        config = shared / "netguard.yaml"
        config.write_text(f"inventory: {inventory}\n", encoding="utf-8")
        config.chmod(0o644)
        cli = lab.python(ns, "cli.py", "--config", str(config), "links", "check", "--no-record", user=65534)
        assert cli.returncode == 2 and cli.stdout == "", cli.stderr
        assert cli.stderr.startswith("error: cannot send ICMPv4 probes: a raw ICMP socket needs root or CAP_NET_RAW")
        assert len(cli.stderr.strip().splitlines()) == 1
        allow = "net.ipv4.ping_group_range=65534 65534"
        subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw", allow], check=True)
        allowed = lab.python(ns, "-c", script, "auto", user=65534)
        assert allowed.returncode == 0 and allowed.stdout.strip() == answered, allowed.stderr
    finally:
        lab.close()
        if shared is not None:
            shutil.rmtree(shared)


@pytest.mark.root
def test_an_unroutable_target_is_lost_with_the_reason() -> None:
    require_netns()
    lab = Lab("u")
    script = (
        "import asyncio, ipaddress\n"
        "from netguard.links.icmp import ping\nfrom netguard.links.records import IcmpSettings\n"
        "[s] = asyncio.run(ping([ipaddress.ip_address('10.77.0.1')], IcmpSettings(count=2, interval_ms=20,"
        " timeout_ms=200))).values()\n"
        "print(s.sent, s.received, s.loss, list(s.errors))\n"
    )
    try:
        ns = lab.ns("u")  # only loopback: no route to 10.77.0.1
        done = lab.python(ns, "-c", script)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "2 0 100.0 ['network unreachable']"
    finally:
        lab.close()
