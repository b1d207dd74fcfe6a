"""Recordings: what goes in comes out, cut UTF-8 survives, bad files are named with their line."""

from __future__ import annotations

import itertools
import json

import pytest

from bastion.asciicast import Header, RecordingError, Writer, paced, read


def test_round_trip_with_multibyte_split_across_chunks(tmp_path):
    path = tmp_path / "s.cast"
    ticks = itertools.count()
    with path.open("w", encoding="utf-8") as fh:
        w = Writer(fh, Header(80, 24, 1_700_000_000, title="alice@his-db01"), clock=lambda: next(ticks) * 0.5)
        text = "患者 \x1b[31mred\x1b[0m\r\n".encode()
        w.output(text[:1])
        w.output(text[1:4])
        w.output(text[4:])
        w.input(b"ls\r")
        w.resize(120, 40)
        w.close()
    header, events = read(path)
    assert (header.width, header.height, header.title) == (80, 24, "alice@his-db01")
    got = list(events)
    assert "".join(e.data for e in got if e.code == "o") == "患者 \x1b[31mred\x1b[0m\r\n"
    assert [e.data for e in got if e.code == "i"] == ["ls\r"]
    assert [e.data for e in got if e.code == "r"] == ["120x40"]
    assert all(b.at >= a.at for a, b in itertools.pairwise(got))
    first = json.loads(path.read_text().splitlines()[0])
    assert first["version"] == 2


def test_malformed_event_names_its_line(tmp_path):
    path = tmp_path / "bad.cast"
    path.write_text('{"version": 2, "width": 80, "height": 24}\n[0.1, "o", "ok"]\n[0.2, "x", "bad"]\n')
    _, events = read(path)
    with pytest.raises(RecordingError, match=r"bad.cast:3"):
        list(events)


def test_not_a_recording(tmp_path):
    path = tmp_path / "x.cast"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(RecordingError, match=":1:"):
        read(path)


def test_paced_caps_idle_and_scales():
    from bastion.asciicast import Event

    events = [Event(0.0, "o", "a"), Event(10.0, "o", "b"), Event(10.5, "o", "c")]
    delays = [d for d, _ in paced(iter(events), speed=2.0, idle_limit=1.0)]
    assert delays == [0.0, 0.5, 0.25]
    with pytest.raises(RecordingError):
        list(paced(iter(events), speed=0))
