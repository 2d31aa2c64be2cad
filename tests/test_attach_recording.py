"""Recordings of attaches (``record_dir``): asciicast v2 files written from real ptys.

The user's terminal is a real pty (or a tmux pane for the dashboard), the sprite is the fake
wisp's interactive ``attach`` session; each test attaches, types, resizes and detaches, then
reads the file back as asciinema would.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, FakeWisp, run_cli
from tests.support.attach_pty import Terminal
from tests.support.waiting import wait_until
from tests.test_attach import DETACH, _stty_size_until, attach_as_user, run_command
from wreckit_tui.adapter import Wisp
from wreckit_tui.backends import Backend


def read_cast(path: Path) -> tuple[dict, list[list]]:
    """The header and events of an asciicast v2 file, checked against the format's rules."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert header["version"] == 2
    assert isinstance(header["width"], int) and isinstance(header["height"], int)
    assert isinstance(header["timestamp"], int)
    assert all(isinstance(value, str) for value in header.get("env", {}).values())
    events = [json.loads(line) for line in lines[1:]]
    for event in events:
        assert len(event) == 3 and isinstance(event[0], float | int) and event[0] >= 0
        assert event[1] in ("o", "i", "r") and isinstance(event[2], str)
    times = [event[0] for event in events]
    assert times == sorted(times), "times go backwards"
    return header, events


def only_cast(directory: Path) -> Path:
    """The one recording in ``directory``, checked to be private."""
    casts = list(directory.glob("*.cast"))
    assert len(casts) == 1, casts
    assert stat.S_IMODE(casts[0].stat().st_mode) == 0o600
    return casts[0]


def output_of(events: list[list]) -> str:
    return "".join(data for _, code, data in events if code == "o")


def codes_after(events: list[list], text: str) -> list[str]:
    """The codes of the events after the output that first shows ``text``."""
    seen = ""
    for index, (_, code, data) in enumerate(events):
        seen += data if code == "o" else ""
        if text in seen:
            return [event[1] for event in events[index + 1 :]]
    raise AssertionError(f"{text!r} never recorded")


@pytest.fixture
def sprite(fake_wisp: FakeWisp) -> FakeWisp:
    fake_wisp.set_fleet([{"name": "alpha", "state": "running"}])
    return fake_wisp


@pytest.fixture
def wisp(sprite: FakeWisp) -> Wisp:
    return Wisp(Backend(argv=(str(sprite.path),), label="fake wisp"))


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    term = Terminal(rows=30, cols=100)
    yield term
    term.close()


def type_resize_detach(term: Terminal) -> None:
    """The user: a line typed, the window made bigger (SIGWINCH), another line, the detach key."""
    term.expect("alpha$ ")
    assert "alpha> hello there" in run_command(term, "hello there")
    term.resize(45, 132)
    os.kill(os.getpid(), signal.SIGWINCH)  # for an attach in this process (ignored otherwise)
    _stty_size_until(term, "44 132")
    term.type(DETACH)


@pytest.mark.parametrize("record_input", [False, True], ids=["output only", "with input"])
def test_an_attach_is_recorded_with_its_size_resizes_and_output(
    wisp, terminal, tmp_path, record_input
):
    casts = tmp_path / "new" / "casts"
    outcome = attach_as_user(
        type_resize_detach, wisp, terminal, record_dir=str(casts), record_input=record_input
    )
    assert outcome.detached and outcome.warning is None
    assert stat.S_IMODE(casts.stat().st_mode) == 0o700  # made, private
    path = only_cast(casts)
    assert path.name.startswith("alpha-") and path.name.endswith(".cast")
    header, events = read_cast(path)
    assert (header["width"], header["height"]) == (100, 29)  # the child's: the banner has a row
    assert header["title"] == "alpha"
    output = output_of(events)
    assert "connected to alpha" in output
    assert "alpha> hello there" in output
    assert "44 132" in output
    assert "r" in codes_after(events, "alpha> hello there")
    assert [data for _, code, data in events if code == "r"] == ["132x44"]
    typed = "".join(data for _, code, data in events if code == "i")
    if record_input:
        assert "hello there\r" in typed and "stty size\r" in typed
        assert "\x1d" not in typed  # the detach key is not the sprite's input
    else:
        assert typed == ""


def test_a_recording_that_cannot_be_opened_warns_and_the_attach_goes_on(wisp, terminal, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")

    def user(term: Terminal) -> None:
        term.expect("alpha$ ")
        assert "alpha> still here" in run_command(term, "still here")
        term.type(DETACH)

    outcome = attach_as_user(user, wisp, terminal, record_dir=str(blocker / "casts"))
    assert outcome.detached and outcome.error is None
    assert outcome.warning.startswith("not recording this attach: cannot write in ")
    assert "\n" not in outcome.warning


@pytest.fixture
def cli(terminal: Terminal) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start ``python -m wreckit_tui ARGS`` on the terminal; whatever still runs is killed."""
    started: list[subprocess.Popen] = []

    def spawn(*args: str) -> subprocess.Popen:
        argv = [sys.executable, "-m", "wreckit_tui", *args]
        started.append(terminal.spawn(argv, env=os.environ, cwd=str(REPO)))
        return started[-1]

    yield spawn
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


def test_cli_attach_is_recorded(sprite, terminal, cli, tmp_path):
    casts = tmp_path / "casts"
    process = cli("attach", "alpha", "--wisp", str(sprite.path), "--set", f"record_dir={casts}")
    type_resize_detach(terminal)
    assert process.wait(10) == 0
    header, events = read_cast(only_cast(casts))
    assert (header["width"], header["height"]) == (100, 29)
    assert "alpha> hello there" in output_of(events)
    assert [data for _, code, data in events if code == "r"] == ["132x44"]
    assert not [event for event in events if event[1] == "i"]


def unwritable_directory(tmp_path: Path) -> str:
    """A directory no attach can write in: read-only, or (for root, who writes anywhere) one
    that cannot be made."""
    if os.geteuid() == 0:
        return "/proc/wreckit-casts"
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    return str(locked)


def test_cli_attach_with_an_unwritable_record_dir_warns_and_attaches(
    sprite, terminal, cli, tmp_path
):
    where = unwritable_directory(tmp_path)
    process = cli("attach", "alpha", "--wisp", str(sprite.path), "--set", f"record_dir={where}")
    terminal.expect("alpha$ ")
    assert "alpha> attached anyway" in run_command(terminal, "attached anyway")
    terminal.type(DETACH)
    assert process.wait(10) == 0
    after = terminal.settle().decode(errors="replace")
    warnings = [line for line in after.splitlines() if "wreckit-tui: warning:" in line]
    assert len(warnings) == 1
    assert f"not recording this attach: cannot write in {where}" in warnings[0]


def test_cli_run_is_recorded_until_the_program_ends(sprite, terminal, cli, tmp_path):
    sprite.set_fleet([])
    casts = tmp_path / "casts"
    argv = ["--wisp", str(sprite.path), "--set", "poll_interval=0.5", "--set"]
    process = cli(*argv, f"record_dir={casts}", "run", "beta", "--", "agent")
    terminal.expect("beta$ ")
    terminal.type("working hard\r")
    terminal.expect("beta> working hard")
    terminal.type("exit 3\r")
    assert process.wait(15) == 3
    header, events = read_cast(only_cast(casts))
    assert header["title"] == "beta"
    assert "beta> working hard" in output_of(events)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a\x00b", "record_dir: a path cannot hold a NUL byte"),
        ("{file}", "record_dir: is not a directory"),
        ("{file}/casts", "record_dir: is not a directory"),
    ],
)
def test_a_record_dir_that_can_never_be_one_is_a_one_line_error(
    sprite, tmp_path, isolated_config, value, message
):
    file = tmp_path / "plain"
    file.write_text("")
    isolated_config.write_text(f"record_dir = {json.dumps(value.format(file=file))}\n")
    done = run_cli("list", "--wisp", str(sprite.path))
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith("wreckit-tui: error: config file ")
    assert message in done.stderr


def test_record_input_is_true_or_false_and_nothing_else(sprite):
    for value, code in (("true", 0), ("off", 0), ("1", 2), ("1e308", 2), ("maybe", 2)):
        done = run_cli("list", "--wisp", str(sprite.path), "--set", f"record_input={value}")
        assert done.returncode == code, (value, done.stderr)


def test_the_dashboards_attach_is_recorded(fake_wisp, open_dashboard, tmp_path):
    fake_wisp.set_fleet([{"name": "alpha", "state": "running"}])
    casts = tmp_path / "casts"
    pane = open_dashboard(f"record_dir={casts}", "record_input=true")
    pane.wait_for(lambda screen: "alpha" in screen and "1 running" in screen)
    pane.send("a")
    pane.wait_for(lambda screen: "connected to alpha\nalpha$" in screen)
    pane.send("from the dashboard", "Enter")
    pane.wait_for(lambda screen: "alpha> from the dashboard" in screen)
    pane.resize(100, 30)
    pane.send("stty size", "Enter")
    pane.wait_for(lambda screen: "29 100" in screen)
    pane.send("C-]")
    pane.wait_for(lambda screen: "NAME" in screen and "1 running" in screen)
    wait_until(lambda: list(casts.glob("*.cast")), timeout=5)
    header, events = read_cast(only_cast(casts))
    assert (header["width"], header["height"]) == (120, 35)
    assert "alpha> from the dashboard" in output_of(events)
    assert "r" in codes_after(events, "alpha> from the dashboard")
    assert "from the dashboard\r" in "".join(data for _, code, data in events if code == "i")


def test_the_dashboard_warns_and_attaches_when_it_cannot_record(
    fake_wisp, open_dashboard, tmp_path
):
    fake_wisp.set_fleet([{"name": "alpha", "state": "running"}])
    pane = open_dashboard(f"record_dir={unwritable_directory(tmp_path)}")
    pane.wait_for(lambda screen: "alpha" in screen and "1 running" in screen)
    pane.send("a")
    pane.wait_for(lambda screen: "connected to alpha\nalpha$" in screen)
    pane.send("C-]")
    pane.wait_for(lambda screen: "not recording this attach" in screen)
