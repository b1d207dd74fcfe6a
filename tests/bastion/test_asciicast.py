"""Recordings: what goes in comes out, cut UTF-8 survives, bad files are named with their line."""

from __future__ import annotations

import itertools
import json

import pytest

from bastion.asciicast import Header, RecordingError, Writer, paced, read


def test_round_trip_with_multibyte_split_across_chunks(tmp_path):
    path = tmp_path / "s.cast"
    ticks = itertools.count()
    with path.open("wb") as fh:
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


def test_fast_json_escaping_matches_json_dumps():
    import json
    import random

    from bastion.asciicast import json_string_body

    rng = random.Random(7)
    alphabet = [chr(c) for c in range(0, 0x80)] + ["患", "者", "\u2028", "é", "\ufffd", "😀"]
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        assert json_string_body(text.encode()) == json.dumps(text, ensure_ascii=False)[1:-1].encode(), text


def test_invalid_utf8_is_replaced_and_a_cut_sequence_waits(tmp_path):
    path = tmp_path / "b.cast"
    with path.open("wb") as fh:
        w = Writer(fh, Header(80, 24, 0))
        w.output(b"ok \xff\xfe bin ")
        w.output("患".encode()[:2])
        w.output("患".encode()[2:] + b" done")
        w.close()
    _, events = read(path)
    assert "".join(e.data for e in events) == "ok \ufffd\ufffd bin 患 done"
