"""The offline HTML report: hostile data stays text, nothing is fetched, and Chromium renders it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from netguard.compliance.html import render, text
from netguard.compliance.model import ControlResult, Target
from netguard.inventory.model import Tier
from netguard.links.records import IcmpStats, LinkResult, LinkState, LinkTarget
from netguard.store.checks import ResultChange, ScanDiff
from tests.harness.peers import require_peer

HOSTILE = "<script>alert('x')</script>\"><img src=x onerror=alert(1)> \x1b[31m\x07\u202e"


def _report() -> str:
    village = Target("institution", "vc-1" + HOSTILE, "村卫生室" + HOSTILE, "vc-1", "village", "镇" + HOSTILE)
    results = [
        ControlResult("DJ-LINK-UP", "Link up" + HOSTILE, "high", village, "fail", "evidence " + HOSTILE,
                      remediation="fix " + HOSTILE, rationale="why " + HOSTILE, references=("等保2.0 8.1.5.4 c",)),
        ControlResult("DJ-LINK-UP", "Link up", "high", Target("institution", "thc-1"), "pass", "up"),
        ControlResult("DJ-SSH", "SSH", "high", Target("server", "db1"), "error", "could not connect " + HOSTILE),
    ]  # fmt: skip
    import ipaddress

    stats = IcmpStats.from_rtts(ipaddress.ip_address("127.0.0.1"), [None, None], 2)
    target = LinkTarget("vc-1", "村" + HOSTILE, Tier.VILLAGE, "镇", ipaddress.ip_address("127.0.0.1"))
    links = [LinkResult(target, LinkState.DOWN, ("no reply " + HOSTILE,), stats)]
    diff = ScanDiff("old" + HOSTILE, "new", [], [], [ResultChange("DJ-SSH", "db1" + HOSTILE, "pass", "error")], 1)
    return render(county="会泽县" + HOSTILE, scan_id="scan-1", started="2026-11-30 18:00:00", seconds=1.5,
                  results=results, links=links, diff=diff, previous="old" + HOSTILE)  # fmt: skip


def test_hostile_values_stay_text() -> None:
    page = _report()
    body = page.split("</style>", 1)[1]
    assert "<script" not in page and "<img" not in page and "onerror=alert(1)>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&quot;&gt;&lt;img" in body
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202e]", page)
    assert "\\x1b[31m\\x07\\u202e" in body
    # New failures in the diff, failing controls with their remediation, both charts.
    assert "New failures (1)" in body and "fix &lt;script&gt;" in body and body.count("<svg") == 3


def test_nothing_is_fetched_from_elsewhere() -> None:
    page = _report()
    tags = re.findall(r"<[^>]*>", page)
    assert not [t for t in tags if re.search(r"(?i)^<(script|link|img|iframe|object)\b|\b(src|href)=", t)]
    style = page.split("<style>", 1)[1].split("</style>", 1)[0]
    assert "url(" not in style and "@import" not in style
    # The one http: URL is the SVG namespace, which names and does not load.
    assert set(re.findall(r"https?://[^\"' ]+", page)) == {"http://www.w3.org/2000/svg"}


def test_text_escapes_quotes_and_controls() -> None:
    assert text("a\"b'<c>&\x1b\n") == "a&quot;b&#x27;&lt;c&gt;&amp;\\x1b\\x0a"


def test_chromium_renders_the_report(tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        require_peer("Debian chromium is not installed (scripts/install-test-deps.sh installs it)")
    assert chromium is not None
    page = tmp_path / "report.html"
    page.write_text(_report(), encoding="utf-8")
    shot = tmp_path / "shot.png"
    common = [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}"]
    subprocess.run([*common, f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri()],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    dom = subprocess.run([*common, "--dump-dom", page.as_uri()], check=True, capture_output=True, text=True,
                         timeout=120).stdout  # fmt: skip
    # The DOM Chromium built has the summary, and the hostile values as text, not elements.
    assert "等保2.0 compliance scan" in dom and "1 failures, 1 errors" in dom
    assert "<img" not in dom and "<script" not in dom and "&lt;script&gt;" in dom


@pytest.mark.parametrize("outcome", ["pass", "na"])
def test_a_clean_scan_says_so(outcome: str) -> None:
    results = [ControlResult("DJ-A", "A", "low", Target("county", "county"), outcome, "fine")]  # type: ignore[arg-type]
    page = render(
        county="县", scan_id="s", started="t", seconds=0.1, results=results, links=[], diff=None, previous=None
    )
    assert "All controls pass" in page and "No control failed." in page and "first scan" in page
