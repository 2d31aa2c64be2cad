"""Recordings in asciicast v2, and the bytes of a notification."""

from __future__ import annotations

import json

from wreckit_tui.notify import notification
from wreckit_tui.recording import Recorder, recording_path


def test_a_recording_follows_the_asciicast_v2_rules(tmp_path):
    ticks = iter([0.0, 0.5, 0.6, 0.55, 2.0])  # a clock that once goes back
    path = recording_path(tmp_path / "casts", "agent-1", started=0)
    with Recorder(path, (24, 80), title="agent-1", clock=lambda: next(ticks)) as recorder:
        recorder.output("héllo ".encode()[:2])  # a character cut in two by a read
        recorder.output("héllo ".encode()[2:] + b"\x1b[31mred\x1b[0m")
        recorder.input(b"secret\r")
        recorder.resize(30, 100)
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    assert {key: header[key] for key in ("version", "width", "height")} == {
        "version": 2,
        "width": 80,
        "height": 24,
    }
    assert isinstance(header["timestamp"], int)
    events = [json.loads(line) for line in lines[1:]]
    assert [event[1] for event in events] == ["o", "o", "r"]  # no input unless asked for
    assert "".join(event[2] for event in events if event[1] == "o") == "héllo \x1b[31mred\x1b[0m"
    assert events[-1][2] == "100x30"
    times = [event[0] for event in events]
    assert times == [0.5, 0.6, 0.6]  # never backwards
    assert path.name == "agent-1-19700101-000000.cast"
    assert path.stat().st_mode & 0o777 == 0o600


def test_output_read_at_once_is_one_event_at_the_time_of_its_first_read(tmp_path):
    ticks = iter([0.0, 1.0, 1.001, 1.002, 3.0])
    path = recording_path(tmp_path, "a", started=0)
    with Recorder(path, (24, 80), clock=lambda: next(ticks)) as recorder:
        for data in (b"one\r\n", b"\x1b[1mtwo\x1b[0m", b"\xe2\x82"):  # the last cut in two
            recorder.output(data)
        recorder.output(b"\xac\x07")
    events = [json.loads(line) for line in path.read_text().splitlines()[1:]]
    assert events == [[1.0, "o", "one\r\n\x1b[1mtwo\x1b[0m"], [3.0, "o", "\u20ac\x07"]]


def test_input_is_recorded_only_when_asked_and_names_never_clash(tmp_path):
    first = recording_path(tmp_path, "a", started=0)
    with Recorder(first, (24, 80), record_input=True) as recorder:
        recorder.input(b"ls\r")
    assert json.loads(first.read_text().splitlines()[1])[1:] == ["i", "ls\r"]
    assert recording_path(tmp_path, "a", started=0).name == "a-19700101-000000-2.cast"


def test_notifications_are_a_bell_or_two_desktop_sequences_with_clean_text():
    assert notification("off", "t", "b") == ""
    assert notification("bell", "t", "b") == "\a"
    sent = notification("desktop", "wreckit", "agent\x1b[31m;x needs you\x07")
    assert sent.startswith("\x1b]777;notify;wreckit;agent")
    assert sent.count("\x07") == 2
    assert sent.count("\x1b") == 2
