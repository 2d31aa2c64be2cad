"""Attach: the pty passthrough and ``wreckit-tui attach NAME``, driven through real ptys.

The user's terminal is a real pty (:class:`tests.support.attach_pty.Terminal`); the sprite is the
fake wisp's interactive ``attach`` session on the pty the adapter gives it. In-process tests call
:func:`wreckit_tui.attach.attach` with the terminal's fds while a thread plays the user; the CLI
tests run ``python -m wreckit_tui attach`` with the pty as its controlling terminal.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import psutil
import pytest

from tests.conftest import REPO, FakeWisp, run_cli
from tests.support.attach_pty import Terminal, read_until
from tests.support.tmux_pane import TmuxPane
from tests.support.waiting import wait_until
from wreckit_tui.adapter import Wisp
from wreckit_tui.attach import attach
from wreckit_tui.attach_outcome import AttachError, AttachOutcome, NotATerminal, tail_lines
from wreckit_tui.backends import Backend, builtin_backend, resolve_backend
from wreckit_tui.child_ending import DETACH_GRACE
from wreckit_tui.detach_key import key_label
from wreckit_tui.errors import ConfigError, InvalidRequest, WispNotFound
from wreckit_tui.processes import take_controlling_terminal
from wreckit_tui.terminal_modes import CLEAR_SCREEN, RESTORE_TITLE, SAVE_TITLE, WHOLE_SCREEN_SCROLLS

DETACH = b"\x1d"
BANNER = "Attached to alpha — detach with Ctrl+]"


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


def attach_as_user(
    user: Callable[[Terminal], None], wisp: Wisp, terminal: Terminal, **options
) -> AttachOutcome:
    """Run :func:`attach` on ``terminal`` while ``user(terminal)`` types in a thread.

    Should the user's steps fail, or the attach not come back after them, the user presses the
    detach key so the test ends with the failure instead of hanging.
    """
    failures: list[BaseException] = []
    returned = threading.Event()

    def act() -> None:
        try:
            user(terminal)
        except BaseException as exc:
            failures.append(exc)
            terminal.type(DETACH)
            return
        if not returned.wait(10):
            failures.append(AssertionError("attach did not return after the user's last step"))
            terminal.type(DETACH)

    thread = threading.Thread(target=act, daemon=True)
    thread.start()
    options = {"stdin_fd": terminal.slave, "stdout_fd": terminal.slave, **options}
    try:
        outcome = attach(wisp, "alpha", **options)
    finally:
        returned.set()
        thread.join(15)
    if failures:
        raise failures[0]
    return outcome


def run_command(terminal: Terminal, line: str) -> str:
    """Type ``line`` and Enter at the sprite's prompt; the output up to the next prompt."""
    terminal.type(line + "\r")
    return terminal.expect("alpha$ ").decode()


# -- in-process: the passthrough on a real pty --------------------------------------------------


def test_banner_then_keys_reach_the_sprite_and_its_output_comes_back(wisp, terminal):
    def user(term: Terminal) -> None:
        term.expect("connected to alpha\r\nalpha$ ")
        assert "alpha> hello world" in run_command(term, "hello world")
        term.type(DETACH)

    outcome = attach_as_user(user, wisp, terminal)
    screen = terminal.settle()
    banner_on_the_last_row = b"\x1b[1;29r\x1b[30;1H\x1b[0;7m" + BANNER.encode()
    assert screen.startswith(SAVE_TITLE + CLEAR_SCREEN + banner_on_the_last_row)
    assert screen.endswith(WHOLE_SCREEN_SCROLLS + RESTORE_TITLE + CLEAR_SCREEN)
    assert outcome.detached
    assert outcome.status == 128 + signal.SIGHUP  # closing the pty hung it up
    assert outcome.exit_code == 0
    assert outcome.problem is None


def test_every_key_goes_to_the_sprite_and_ctrl_c_does_not_stop_the_caller(wisp, terminal):
    before = signal.getsignal(signal.SIGINT)

    def user(term: Terminal) -> None:
        term.expect("alpha$ ")
        term.type("keys\r")
        term.expect("keys: raw mode, q ends\r\n")
        term.type(b"\x03\x1a\x04\x1c\x1b[A")  # Ctrl+C, Ctrl+Z, Ctrl+D, Ctrl+\, Up
        term.expect("keys 03 1a 04 1c 1b 5b 41\r\n")
        term.type("q")
        term.expect("alpha$ ")
        term.type(b"\x03")
        term.expect("^C\r\ninterrupted\r\nalpha$ ")
        os.kill(os.getpid(), signal.SIGINT)  # as if the caller's own terminal sent one
        assert "alpha> still here" in run_command(term, "still here")
        term.type(DETACH)

    outcome = attach_as_user(user, wisp, terminal)
    assert outcome.detached
    assert outcome.error is None
    assert signal.getsignal(signal.SIGINT) is before


def test_window_size_is_copied_at_start_and_on_every_sigwinch(wisp, terminal):
    def user(term: Terminal) -> None:  # the sprite has one row less: the banner keeps the last
        term.expect("alpha$ ")
        assert "\r\n29 100\r\n" in run_command(term, "stty size")
        term.resize(45, 132)
        os.kill(os.getpid(), signal.SIGWINCH)  # the kernel sends it to the terminal's owner
        assert "\r\n44 132\r\n" in _stty_size_until(term, "44 132")
        assert b"\x1b7\x1b[1;44r\x1b[45;1H\x1b[0;7mAttached to alpha" in term.screen()
        term.type(DETACH)

    assert attach_as_user(user, wisp, terminal).detached


def test_window_size_is_polled_when_called_off_the_main_thread(wisp, terminal):
    result: list[AttachOutcome] = []
    thread = threading.Thread(
        target=lambda: result.append(
            attach(wisp, "alpha", stdin_fd=terminal.slave, stdout_fd=terminal.slave)
        )
    )
    thread.start()
    try:
        terminal.expect("alpha$ ")
        terminal.resize(33, 90)
        assert "\r\n32 90\r\n" in _stty_size_until(terminal, "32 90")
    finally:
        terminal.type(DETACH)
        thread.join(10)
    assert result[0].detached


def _stty_size_until(term: Terminal, size: str, timeout: float = 5.0) -> str:
    """``stty size`` until it shows ``size`` (a resize reaches the child asynchronously)."""

    def shown() -> str:
        output = run_command(term, "stty size")
        return output if f"\r\n{size}\r\n" in output else ""

    return wait_until(shown, timeout, interval=0.05, what=f"stty size to show {size}")


@pytest.mark.parametrize(
    ("key", "keys"),
    [
        ("ctrl+]", b"typed fast\x1dand more"),
        ("ctrl+]", b"\x1d"),
        ("ctrl+]", b"\x1b[A\x1b[B\x1d\x1b[C"),
        ("ctrl+a", b"ls -l\x01"),
    ],
)
def test_detach_key_returns_wherever_it_is_in_a_read(wisp, terminal, key, keys):
    pressed: list[float] = []

    def user(term: Terminal) -> None:
        term.expect("alpha$ ")
        pressed.append(time.monotonic())
        term.type(keys)  # one write: the passthrough reads it in one piece

    outcome = attach_as_user(user, wisp, terminal, detach_key=key)
    assert outcome.detached
    assert time.monotonic() - pressed[0] < 1.0
    label = key_label(key)
    assert f"detach with {label}".encode() in terminal.screen()


def test_the_childs_exit_returns_with_its_status(wisp, terminal):
    def user(term: Terminal) -> None:
        term.expect("alpha$ ")
        term.type("exit 3\r")

    outcome = attach_as_user(user, wisp, terminal)
    assert not outcome.detached
    assert outcome.status == 3
    assert outcome.exit_code == 3
    assert terminal.settle().endswith(CLEAR_SCREEN)


def test_exit_and_detach_work_where_pidfds_are_missing(wisp, terminal, monkeypatch):
    monkeypatch.setattr("wreckit_tui.attach.open_pidfd", lambda pid: None)

    def exit_five(term: Terminal) -> None:
        term.expect("alpha$ ")
        term.type("exit 5\r")

    def detach(term: Terminal) -> None:
        term.expect("alpha$ ")
        term.type(DETACH)

    assert attach_as_user(exit_five, wisp, terminal).status == 5
    assert attach_as_user(detach, wisp, terminal).detached


def test_a_clean_exit_is_no_problem(wisp, terminal):
    def user(term: Terminal) -> None:
        term.expect("alpha$ ")
        term.type("exit\r")

    outcome = attach_as_user(user, wisp, terminal)
    assert (outcome.status, outcome.detached, outcome.problem) == (0, False, None)


def test_a_quick_failure_reports_the_last_lines_and_the_status(sprite, wisp, terminal):
    sprite.set_scenario(attach="fail-fast")
    outcome = attach_as_user(lambda term: None, wisp, terminal)
    assert outcome.status == 7
    assert outcome.failed_quickly
    assert outcome.tail == (
        "connecting to alpha ...",
        "error: sprite is not answering",
        "hint: wisp kill alpha, then start it again",
    )
    assert outcome.problem == (
        "`wisp attach alpha` exited with status 7 after "
        f"{outcome.elapsed:.1f}s: hint: wisp kill alpha, then start it again"
    )
    assert b"sprite is not answering" in terminal.screen()


def test_a_child_that_ignores_sighup_is_killed_just_after_the_grace(sprite, wisp, terminal):
    sprite.set_scenario(attach="ignore-hup")
    pressed: list[float] = []

    def user(term: Terminal) -> None:
        term.expect("alpha$ ")
        pressed.append(time.monotonic())
        term.type(DETACH)

    outcome = attach_as_user(user, wisp, terminal)
    waited = time.monotonic() - pressed[0]
    assert outcome.detached
    assert outcome.status == 128 + signal.SIGKILL
    assert DETACH_GRACE * 0.9 <= waited < DETACH_GRACE + 0.15
    assert sprite.alive_pids() == []


def test_a_child_that_hangs_up_returns_well_within_the_grace(wisp, terminal):
    pressed: list[float] = []

    def user(term: Terminal) -> None:
        term.expect("alpha$ ")
        pressed.append(time.monotonic())
        term.type(DETACH)

    attach_as_user(user, wisp, terminal)
    assert time.monotonic() - pressed[0] < DETACH_GRACE


@pytest.mark.parametrize("scenario", ["ok", "fail-fast", "ignore-hup"])
def test_terminal_modes_are_identical_before_and_after(sprite, wisp, terminal, scenario):
    sprite.set_scenario(attach=scenario)
    subprocess.run(["stty", "-ixon", "erase", "^H"], stdin=terminal.slave, check=True)
    before = terminal.modes()
    during: list[str] = []

    def user(term: Terminal) -> None:
        if scenario != "fail-fast":  # that one may be over before stty could look
            term.expect("alpha$ ")
            during.append(term.modes())
            term.type(DETACH)

    attach_as_user(user, wisp, terminal)
    assert terminal.modes() == before
    assert "-ixon" in before.split()
    if during:
        assert {"-icanon", "-echo", "-isig"} <= set(during[0].split())


def test_the_sprite_does_not_see_tmux(wisp, terminal, monkeypatch):
    monkeypatch.setenv("TMUX", "/tmp/tmux-0/default,1,0")
    monkeypatch.setenv("TMUX_PANE", "%1")

    def user(term: Terminal) -> None:
        term.expect("alpha$ ")
        assert "TMUX=(unset)" in run_command(term, "env TMUX")
        assert "TMUX_PANE=(unset)" in run_command(term, "env TMUX_PANE")
        term.type(DETACH)

    attach_as_user(user, wisp, terminal)


def test_a_breakdown_inside_the_passthrough_is_reported_and_cleaned_up(sprite, wisp, terminal):
    before = terminal.modes()
    screen_read, screen_write = os.pipe()

    def user(term: Terminal) -> None:
        assert b"alpha$ " in read_until(screen_read, b"alpha$ ")
        os.close(screen_read)  # the screen goes away: the next output cannot be written
        term.type("hello\r")

    try:
        outcome = attach_as_user(user, wisp, terminal, stdout_fd=screen_write)
    finally:
        os.close(screen_write)
    assert isinstance(outcome.error, AttachError)
    assert "broke down" in outcome.problem
    assert outcome.exit_code == 125
    assert terminal.modes() == before
    assert sprite.alive_pids() == []


def test_no_terminal_is_a_clear_error_and_runs_nothing(sprite, wisp):
    read_end, write_end = os.pipe()
    try:
        outcome = attach(wisp, "alpha", stdin_fd=read_end, stdout_fd=write_end)
    finally:
        os.close(read_end)
        os.close(write_end)
    assert isinstance(outcome.error, NotATerminal)
    assert "not a tty" in outcome.problem
    assert outcome.exit_code == 2
    assert sprite.calls() == []


def test_wisp_that_cannot_run_is_reported_with_the_terminal_restored(terminal):
    before = terminal.modes()
    wisp = Wisp(Backend(argv=("/nonexistent/wisp",), label="missing"))
    outcome = attach(wisp, "alpha", stdin_fd=terminal.slave, stdout_fd=terminal.slave)
    assert isinstance(outcome.error, WispNotFound)
    assert outcome.exit_code == 3
    assert terminal.modes() == before
    screen = terminal.settle()
    assert screen.startswith(SAVE_TITLE)
    assert screen.endswith(WHOLE_SCREEN_SCROLLS + RESTORE_TITLE + CLEAR_SCREEN)


def test_bad_name_or_key_is_refused_before_the_terminal_is_touched(sprite, wisp, terminal):
    bad_name = attach(wisp, "-rf", stdin_fd=terminal.slave, stdout_fd=terminal.slave)
    bad_key = attach(
        wisp, "alpha", detach_key="ctrl+c", stdin_fd=terminal.slave, stdout_fd=terminal.slave
    )
    assert isinstance(bad_name.error, InvalidRequest)
    assert isinstance(bad_key.error, ConfigError)
    assert terminal.settle(quiet=0.05) == b""
    assert sprite.calls() == []


def test_the_passthrough_never_loads_textual():
    code = "import sys, wreckit_tui.attach; sys.exit('textual' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, check=False).returncode == 0


# -- the tail -------------------------------------------------------------------------------------


def test_tail_lines_are_what_a_person_saw_without_control_characters():
    output = (
        b"one\r\n\x1b[1mtwo\x1b[0m\r\n\r\n"
        b"progress 10%\rprogress 100%\r\n"
        b"\x1b]0;title\x07bell\x07 here\r\nlast \xff"
    )
    assert tail_lines(output) == ("one", "two", "progress 100%", "bell here", "last \ufffd")
    assert tail_lines(output, count=2) == ("bell here", "last \ufffd")
    assert tail_lines(b"") == ()


# -- the command line, in a real pty --------------------------------------------------------------


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


def test_cli_attach_exits_with_the_childs_status(sprite, terminal, cli):
    before = terminal.modes()
    process = cli("attach", "alpha", "--wisp", str(sprite.path))
    terminal.expect(BANNER)
    terminal.expect("alpha$ ")
    terminal.type("exit 4\r")
    assert process.wait(10) == 4
    assert terminal.modes() == before
    assert sprite.calls()[-1] == ["attach", "alpha"]


def test_cli_resize_ctrl_c_and_detach(sprite, terminal, cli):
    process = cli("--wisp", str(sprite.path), "attach", "alpha")
    terminal.expect("alpha$ ")
    assert "\r\n29 100\r\n" in run_command(terminal, "stty size")
    terminal.resize(50, 140)  # the kernel sends SIGWINCH to the attached command
    assert "\r\n49 140\r\n" in _stty_size_until(terminal, "49 140")
    terminal.type(b"\x03")
    terminal.expect("interrupted\r\nalpha$ ")
    os.kill(process.pid, signal.SIGINT)
    assert "alpha> still attached" in run_command(terminal, "still attached")
    terminal.type(DETACH)
    assert process.wait(10) == 0
    assert sprite.alive_pids() == []


def test_cli_quick_failure_shows_the_last_lines_after_clearing(sprite, terminal, cli):
    sprite.set_scenario(attach="fail-fast")
    process = cli("attach", "alpha", "--wisp", str(sprite.path))
    assert process.wait(10) == 7
    after_clear = terminal.settle().rsplit(CLEAR_SCREEN, 1)[1].decode()
    assert "connecting to alpha ...\r\nerror: sprite is not answering\r\n" in after_clear
    assert "wreckit-tui: error: `wisp attach alpha` exited with status 7 after" in after_clear
    assert after_clear.rstrip().endswith("hint: wisp kill alpha, then start it again")
    assert "\x1b" not in after_clear


def test_cli_sigterm_restores_the_terminal_and_ends_the_sprite(sprite, terminal, cli):
    before = terminal.modes()
    process = cli("attach", "alpha", "--wisp", str(sprite.path))
    terminal.expect("alpha$ ")
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(10) == -signal.SIGTERM
    assert terminal.modes() == before
    assert terminal.settle().endswith(CLEAR_SCREEN)
    assert sprite.alive_pids() == []


def test_cli_attach_to_a_missing_sprite_exits_5_without_attaching(sprite):
    result = run_cli("attach", "ghost", "--wisp", str(sprite.path))
    assert result.returncode == 5
    assert result.stderr == (
        "wreckit-tui: error: sprite 'ghost' not found: it is not in the fleet (already gone?); "
        "`wreckit-tui list` shows the fleet\n"
    )
    assert ["attach", "ghost"] not in sprite.calls()


def test_cli_attach_with_a_bad_name_exits_2_without_running_wisp(sprite):
    result = run_cli("attach", "Bad_Name", "--wisp", str(sprite.path))
    assert result.returncode == 2
    assert result.stderr.startswith("wreckit-tui: error: ")
    assert sprite.calls() == []


def test_cli_attach_without_a_terminal_exits_2_with_a_hint(sprite):
    result = run_cli("attach", "alpha", "--wisp", str(sprite.path))
    assert result.returncode == 2
    assert "standard input is not a tty" in result.stderr
    assert result.stderr.count("\n") == 1
    assert ["attach", "alpha"] not in sprite.calls()


def test_cli_attach_with_a_bad_detach_key_exits_2(sprite):
    result = run_cli("attach", "alpha", "--wisp", str(sprite.path), "--set", "detach_key=q")
    assert result.returncode == 2
    assert "detach_key 'q' is not a control key" in result.stderr
    assert sprite.calls() == []


# -- the banner line, the title, the detach label, exit codes ------------------------------------


def test_the_sprite_learns_the_detach_keys_name(sprite, terminal):
    wisp = Wisp(Backend(argv=(str(sprite.path),), label="fake wisp"))

    def user(term: Terminal) -> None:
        term.expect("alpha$ ")
        assert "WRECKIT_DETACH_LABEL=Ctrl+A" in run_command(term, "env WRECKIT_DETACH_LABEL")
        term.type(b"\x01")

    assert attach_as_user(user, wisp, terminal, detach_key="ctrl+a").detached


def test_a_backend_that_shows_the_detach_key_itself_keeps_the_whole_terminal(sprite, terminal):
    wisp = Wisp(Backend(argv=(str(sprite.path),), label="own hint", shows_detach_hint=True))

    def user(term: Terminal) -> None:
        term.expect("alpha$ ")
        assert "\r\n30 100\r\n" in run_command(term, "stty size")
        term.type(DETACH)

    attach_as_user(user, wisp, terminal)
    screen = terminal.settle()
    assert screen.startswith(SAVE_TITLE + CLEAR_SCREEN + BANNER.encode() + b"\r\n")
    assert b"\x1b[1;29r" not in screen  # no scroll region
    assert builtin_backend().shows_detach_hint
    assert not resolve_backend(str(sprite.path)).shows_detach_hint


@pytest.fixture
def attached_pane(sprite: FakeWisp, tmux_pane: Callable[..., TmuxPane]) -> Callable[..., TmuxPane]:
    """``wreckit-tui attach alpha`` in a real terminal emulator (a tmux pane), run by ``sh``
    between ``BEFORE`` and ``AFTER`` shell commands."""

    def open_pane(before: str = "", after: str = "", size: tuple[int, int] = (100, 20)) -> TmuxPane:
        attach_command = f"{sys.executable} -m wreckit_tui attach alpha --wisp {sprite.path}"
        script = f"{before} {attach_command}; echo status=$?; {after} sleep 60"
        return tmux_pane(["sh", "-c", script], size=size)

    return open_pane


def rows_of(screen: str, count: int) -> list[str]:
    return (screen.splitlines() + [""] * count)[:count]


def test_the_banner_keeps_the_last_row_through_scrolling_clearing_and_resizing(attached_pane):
    pane = attached_pane(after="seq 1 30; printf end;")
    banner_is_last = lambda rows: lambda s: rows_of(s, rows)[-1].startswith(BANNER)  # noqa: E731
    pane.wait_for(lambda s: "alpha$" in s and banner_is_last(20)(s))

    pane.send("lines 50", "Enter")
    screen = pane.wait_for(lambda s: "line 50" in s and banner_is_last(20)(s))
    assert rows_of(screen, 20)[17:19] == ["line 50", "alpha$"]  # scrolled above the banner
    pane.send("clear", "Enter")
    pane.wait_for(lambda s: "line 50" not in s and banner_is_last(20)(s))

    pane.resize(90, 25)
    pane.wait_for(banner_is_last(25))
    pane.send("stty size", "Enter")
    pane.wait_for(lambda s: "24 90" in s)

    pane.send("C-]")  # then the shell prints 30 lines: the whole screen scrolls again
    screen = pane.wait_for(lambda s: rows_of(s, 25)[-2:] == ["30", "end"])
    assert BANNER not in screen


@pytest.mark.parametrize("ending", ["detach", "exit", "sigterm"])
def test_the_terminal_title_comes_back_however_the_attach_ends(attached_pane, ending):
    pane = attached_pane(before="printf '\\033]2;my shell\\007';")
    pane.wait_for(lambda s: "alpha$" in s)
    assert pane.title() == "my shell"
    pane.send("title sprite at work", "Enter")
    wait_until(lambda: pane.title() == "sprite at work", timeout=10)
    if ending == "detach":
        pane.send("C-]")
    elif ending == "exit":
        pane.send("exit 3", "Enter")
    else:
        os.kill(pane.child("wreckit_tui").pid, signal.SIGTERM)
    pane.wait_for(lambda s: "status=" in s)
    assert pane.title() == "my shell"


def test_cli_exit_1_is_wisp_attach_s_and_125_a_breakdown_of_the_passthrough(sprite, terminal):
    attach = [sys.executable, "-m", "wreckit_tui", "attach", "alpha", "--wisp", str(sprite.path)]
    process = terminal.spawn(attach, env=os.environ, cwd=str(REPO))
    terminal.expect("alpha$ ")
    terminal.type("exit 1\r")
    assert process.wait(10) == 1  # the sprite's own status

    screen_read, screen_write = os.pipe()
    errors_read, errors_write = os.pipe()
    process = subprocess.Popen(
        attach,
        stdin=terminal.slave,
        stdout=screen_write,
        stderr=errors_write,
        start_new_session=True,
        preexec_fn=take_controlling_terminal,  # noqa: PLW1509 - only the child can take its tty
        cwd=REPO,
    )
    os.close(screen_write)
    os.close(errors_write)
    try:
        assert b"alpha$ " in read_until(screen_read, b"alpha$ ")
        os.close(screen_read)  # the screen goes away: the passthrough cannot write any more
        terminal.type("hello\r")
        assert process.wait(10) == 125
        errors = os.read(errors_read, 65536).decode()
    finally:
        os.close(errors_read)
        if process.poll() is None:
            process.kill()
            process.wait()
    assert errors.startswith("wreckit-tui: error: attach to 'alpha' broke down: ")
    assert errors.count("\n") == 1
    assert sprite.alive_pids() == []


def resident_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 1e6


def test_cli_a_flood_of_a_million_sigwinch_neither_ends_the_attach_nor_grows_it(
    sprite, terminal, cli
):
    process = cli("attach", "alpha", "--wisp", str(sprite.path))
    terminal.expect("alpha$ ")
    before = resident_mb(process.pid)
    flood = "import os, signal, sys\nfor _ in range(1_000_000): os.kill(int(sys.argv[1]), 28)"
    sender = subprocess.run(
        [sys.executable, "-c", flood, str(process.pid)], timeout=120, check=False
    )
    assert sender.returncode == 0
    assert process.poll() is None, "the attach ended under the flood"
    assert resident_mb(process.pid) - before < 10
    assert "alpha> still here" in run_command(terminal, "still here")
    terminal.type(DETACH)
    assert process.wait(10) == 0


def test_cli_stop_and_continue_give_back_raw_mode_and_a_redraw(sprite, terminal, cli):
    process = cli("attach", "alpha", "--wisp", str(sprite.path))
    terminal.expect("alpha$ ")
    winches = sprite.winches()
    os.kill(process.pid, signal.SIGSTOP)
    wait_until(lambda: psutil.Process(process.pid).status() == psutil.STATUS_STOPPED, timeout=10)
    subprocess.run(["stty", "sane"], stdin=terminal.slave, check=True)  # as a shell would
    os.kill(process.pid, signal.SIGCONT)
    wait_until(lambda: {"-icanon", "-echo", "-isig"} <= set(terminal.modes().split()), timeout=10)
    wait_until(
        lambda: sprite.winches() >= winches + 2, timeout=10
    )  # a nudge: smaller, then right again
    assert "\r\n29 100\r\n" in _stty_size_until(terminal, "29 100")
    terminal.type(b"\x03")  # raw mode: Ctrl+C reaches the sprite instead of signalling us
    terminal.expect("interrupted\r\nalpha$ ")
    terminal.type(DETACH)
    assert process.wait(10) == 0
