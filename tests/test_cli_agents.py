"""``wreckit-tui run``, ``exec``, ``send`` and ``capture`` as real processes against the fake
wisp: with contract v1.1, and with a v1-only wisp (exit 6 and one line, nothing run). ``run``
attaches in a real pty."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import REPO, FakeWisp, run_cli
from tests.support.attach_pty import Terminal
from tests.support.waiting import wait_until

RUNNING = {"name": "alpha", "state": "running", "cpus": 1, "memory": "512MiB"}
DETACH = b"\x1d"


@pytest.fixture(autouse=True)
def no_builtin_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command that missed its --wisp fails (exit 3) instead of running sandboxes."""
    monkeypatch.setenv("WRECKIT_TUI_WISP_PATH", "/nonexistent/wisp")


@pytest.fixture
def sprite(fake_wisp: FakeWisp) -> FakeWisp:
    fake_wisp.set_fleet([RUNNING])
    return fake_wisp


def cli(fake: FakeWisp, *args: str, stdin: bytes = b"", timeout: float = 30):
    """``python -m wreckit_tui ARGS --wisp FAKE`` with ``stdin`` as its input (bytes out)."""
    return subprocess.run(
        [sys.executable, "-m", "wreckit_tui", *args[:2], "--wisp", str(fake.path), *args[2:]],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        cwd=REPO,
        check=False,
    )


def error_line(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("wreckit-tui: error: ")
    return lines[0]


# -- exec -----------------------------------------------------------------------------------------


def test_exec_passes_stdin_stdout_stderr_and_the_status_through(sprite):
    script = "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read()[::-1]); "
    script += "print('to stderr', file=sys.stderr); sys.exit(7)"
    done = cli(sprite, "exec", "alpha", "--", "python3", "-c", script, stdin=b"\x00\xffabc")
    assert (done.returncode, done.stdout, done.stderr) == (7, b"cba\xff\x00", b"to stderr\n")
    assert sprite.calls()[-1] == ["exec", "alpha", "--", "python3", "-c", script]


def test_exec_of_a_missing_command_is_its_status_not_an_error(sprite):
    done = cli(sprite, "exec", "alpha", "--", "no-such-program-here")
    assert done.returncode == 127
    assert b"command not found" in done.stderr


def test_a_hanging_exec_is_timed_out_and_nothing_is_left_running(sprite):
    began = time.monotonic()
    done = cli(sprite, "exec", "alpha", "--timeout", "0.5", "--", "sleep", "60")
    assert done.returncode == 4
    assert "`wisp exec alpha` timed out after 0.5s; its process group was killed" in error_line(
        done
    )
    assert time.monotonic() - began < 15
    assert sprite.alive_pids() == []


def test_exec_output_is_cut_at_max_output_bytes_with_a_warning(sprite):
    done = cli(
        sprite, "exec", "alpha", "--set", "max_output_bytes=2048", "--", "head", "-c", "9999",
        "/dev/zero",
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (0, b"\0" * 2048)
    assert done.stderr == b"wreckit-tui: warning: stdout was cut at 2048 bytes\n"


@pytest.mark.parametrize(
    ("name", "fleet", "code", "says"),
    [
        ("Bad", [RUNNING], 2, "invalid name 'Bad'"),
        ("ghost", [RUNNING], 5, "sprite 'ghost' not found"),
        ("alpha", [{**RUNNING, "state": "stopped"}], 4, "exit code 125: error: cannot exec"),
    ],
)
def test_exec_errors_are_one_line_with_their_exit_code(sprite, name, fleet, code, says):
    sprite.set_fleet(fleet)
    done = cli(sprite, "exec", name, "--", "true")
    assert done.returncode == code
    assert says in error_line(done)
    assert done.stdout == b""


# -- send and capture -----------------------------------------------------------------------------


def test_send_then_capture_shows_what_was_typed(sprite):
    sprite.set_screen("alpha", "\x1b[32mgreen\x1b[0m prompt\x1b]0;title\x07\n")
    assert cli(sprite, "send", "alpha", "--enter", "--", "-rf typed").returncode == 0
    assert sprite.calls()[-1] == ["send", "alpha", "--enter", "--", "-rf typed"]
    plain = cli(sprite, "capture", "alpha")
    assert (plain.returncode, plain.stdout) == (0, b"green prompt\n-rf typed\n")
    coloured = cli(sprite, "capture", "alpha", "--lines", "2", "--ansi")
    assert coloured.stdout == b"\x1b[32mgreen\x1b[0m prompt\n-rf typed\n"


def test_capture_of_a_missing_sprite_exits_5(sprite):
    done = cli(sprite, "capture", "ghost")
    assert done.returncode == 5
    assert "sprite 'ghost' not found" in error_line(done)


# -- a v1-only wisp -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["exec", "alpha", "--", "true"], "exec"),
        (["send", "alpha", "hi"], "send"),
        (["capture", "alpha"], "capture"),
        (["run", "beta", "--detach", "--", "claude"], "start with a command"),
    ],
)
def test_a_v1_only_wisp_says_not_supported_and_runs_nothing(sprite, args, command):
    sprite.set_scenario(capabilities="unknown")
    done = cli(sprite, *args)
    assert done.returncode == 6
    assert error_line(done) == (
        f"wreckit-tui: error: {command} is not supported by this backend (wisp {sprite.path}): "
        f"it does not announce {command.split()[-1]} (wisp contract v1.1)"
    ).replace("announce command", "announce start-command")
    assert sprite.calls() == [["capabilities", "--json"]]
    assert sprite.fleet() == [RUNNING]


def test_a_v1_only_wisp_still_lists_and_starts(sprite):
    sprite.set_scenario(capabilities="unknown")
    assert cli(sprite, "run", "beta", "--detach").returncode == 0
    assert run_cli("list", "--json", "--wisp", str(sprite.path)).returncode == 0
    calls = [call[0] for call in sprite.calls()]
    assert calls == ["list", "start", "list", "list", "capabilities"]  # no capture: v1 has none


# -- run ------------------------------------------------------------------------------------------


def test_run_detach_starts_the_program_and_prints_the_sprite(sprite):
    done = cli(
        sprite, "run", "beta", "--detach", "--json", "--memory", "1GiB", "--", "claude", "-p"
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert (shown["name"], shown["command"], shown["memory_mib"]) == ("beta", "claude -p", 1024)
    table = cli(sprite, "run", "gamma", "--detach", "--", "sh")
    assert b"gamma" in table.stdout
    assert b"wreckit-tui attach gamma" in table.stdout


def test_run_without_a_terminal_refuses_before_starting(sprite):
    done = cli(sprite, "run", "beta", "--", "claude")
    assert done.returncode == 2
    assert "use --detach" in error_line(done)
    assert sprite.calls() == []


def test_run_refuses_a_bad_name_or_size_before_anything_runs(sprite):
    for args in (["run", "Beta", "--detach"], ["run", "beta", "--detach", "--memory", "1TB"]):
        done = cli(sprite, *args, "--", "claude")
        assert done.returncode == 2
        error_line(done)
    assert sprite.calls() == []


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    term = Terminal(rows=30, cols=100)
    yield term
    term.close()


@pytest.fixture
def run_in_pty(terminal: Terminal, sprite: FakeWisp) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start ``python -m wreckit_tui run ARGS`` on the terminal; whatever still runs is killed."""
    started: list[subprocess.Popen] = []

    def spawn(*args: str) -> subprocess.Popen:
        argv = [sys.executable, "-m", "wreckit_tui", "--wisp", str(sprite.path)]
        argv += ["--set", "poll_interval=0.5", "run", *args]
        started.append(terminal.spawn(argv, env=os.environ, cwd=str(REPO)))
        return started[-1]

    yield spawn
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


def state_of(fake: FakeWisp, name: str) -> dict:
    return next(sprite for sprite in fake.fleet() if sprite["name"] == name)


def test_run_exits_with_the_programs_status(sprite, terminal, run_in_pty):
    before = terminal.modes()
    process = run_in_pty("beta", "--", "agent", "--fast")
    terminal.expect("beta$ ")
    terminal.type("exit 3\r")
    assert process.wait(15) == 3
    assert terminal.modes() == before
    assert (state_of(sprite, "beta")["state"], state_of(sprite, "beta")["exit_code"]) == (
        "stopped",
        3,
    )
    assert sprite.alive_pids() == []


def test_the_detach_key_leaves_the_program_running_and_exits_0(sprite, terminal, run_in_pty):
    process = run_in_pty("beta", "--", "agent")
    terminal.expect("beta$ ")
    terminal.type(DETACH)
    assert process.wait(15) == 0
    assert state_of(sprite, "beta")["state"] == "running"
    assert sprite.alive_pids() == []


def test_a_program_that_ends_while_attached_ends_the_run(sprite, terminal, run_in_pty):
    """As on a backend whose terminal stays open after its program ended (the built-in one)."""
    process = run_in_pty("beta", "--", "agent")
    terminal.expect("beta$ ")
    sprite.set_screen("beta", "all done\n")
    ended = [{**s, "state": "stopped", "exit_code": 9} for s in sprite.fleet() if s["name"]]
    sprite.set_fleet(ended)
    assert process.wait(15) == 9
    terminal.expect("all done")  # its last screen stays readable after the attach


def test_run_of_a_stopped_sprite_without_a_command_starts_it_again(sprite, terminal, run_in_pty):
    sprite.set_fleet([{**RUNNING, "state": "stopped"}])
    process = run_in_pty("alpha")
    terminal.expect("alpha$ ")
    assert ["start", "alpha"] in sprite.calls()
    terminal.type("exit 0\r")
    assert process.wait(15) == 0
    wait_until(lambda: sprite.alive_pids() == [], what="the attach to end")
