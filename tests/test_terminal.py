"""The real dashboard in a real terminal (a tmux pane): the terminal is always given back."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from tests.conftest import FakeWisp
from tests.support.tmux_pane import TmuxPane
from tests.support.waiting import wait_for_file, wait_until


def dashboard_in_a_shell(
    tmux_pane: Callable[..., TmuxPane], fake: FakeWisp, tmp_path: Path
) -> TmuxPane:
    """``stty -a`` into ``before``, the dashboard, its status into ``status``, ``stty -a`` into
    ``after``. ``after`` appears complete (written aside, then renamed) once all is done."""
    before, after, status = tmp_path / "before", tmp_path / "after", tmp_path / "status"
    dashboard = f"{sys.executable} -m wreckit_tui --wisp {fake.path}"
    script = (
        f"stty -a > {before}; {dashboard}; echo $? > {status}; "
        f"stty -a > {after}.part; mv {after}.part {after}"
    )
    return tmux_pane(["sh", "-c", f"{script}; sleep 60"])


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_to_the_dashboard_ends_it_with_the_terminal_restored(
    fake_wisp, tmux_pane, tmp_path, signum
):
    fake_wisp.set_fleet([{"name": "alpha", "state": "running"}])
    pane = dashboard_in_a_shell(tmux_pane, fake_wisp, tmp_path)
    pane.wait_for(lambda screen: "alpha" in screen and "wreckit" in screen)
    os.kill(pane.child("wreckit_tui").pid, signum)
    assert wait_for_file(tmp_path / "after") == (tmp_path / "before").read_text()
    assert (tmp_path / "status").read_text().strip() == str(128 + signum)
    assert "alpha" not in pane.text()  # the alternate screen is gone


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_while_attached_ends_the_dashboard_cleanly_with_the_terminal_restored(
    fake_wisp, tmux_pane, tmp_path, signum
):
    fake_wisp.set_fleet([{"name": "alpha", "state": "running"}])
    pane = dashboard_in_a_shell(tmux_pane, fake_wisp, tmp_path)
    pane.wait_for(lambda screen: "alpha" in screen and "wreckit" in screen)
    pane.send("a")
    pane.wait_for(lambda screen: "connected to alpha\nalpha$" in screen)
    os.kill(pane.child("wreckit_tui").pid, signum)
    assert wait_for_file(tmp_path / "after") == (tmp_path / "before").read_text()
    assert (tmp_path / "status").read_text().strip() == str(128 + signum)
    assert pane.text().strip() == ""  # no session, no dashboard, no warning: a clean exit
    assert fake_wisp.alive_pids() == []  # the sprite's session ended with it


def test_a_flood_of_sigwinch_while_attached_leaves_the_sprite_s_screen_clean(fake_wisp, tmux_pane):
    fake_wisp.set_fleet([{"name": "alpha", "state": "running"}])
    argv = [sys.executable, "-m", "wreckit_tui", "--wisp", str(fake_wisp.path)]
    pane = tmux_pane(argv, size=(100, 30))
    pane.wait_for(lambda screen: "alpha" in screen and "wreckit" in screen)
    pane.send("a")
    screen = pane.wait_for(lambda screen: "connected to alpha\nalpha$" in screen)
    assert screen.splitlines()[29].startswith("Attached to alpha — detach with Ctrl+]")
    dashboard = psutil.Process(pane.pid())
    before = dashboard.memory_info().rss
    flood = "import os, sys\nkill, pid = os.kill, int(sys.argv[1])\n"
    flood += "for _ in range(500_000): kill(pid, 28)"
    senders = [
        subprocess.Popen([sys.executable, "-c", flood, str(dashboard.pid)]) for _ in range(2)
    ]
    assert [sender.wait(120) for sender in senders] == [0, 0]
    pane.send("still here", "Enter")
    screen = pane.wait_for(lambda screen: "alpha> still here" in screen)
    assert "Traceback" not in screen and "Exception" not in screen
    assert dashboard.memory_info().rss - before < 10e6
    pane.send("C-]")
    pane.wait_for(lambda screen: "NAME" in screen and "1 running" in screen)


def zombies_of(process: psutil.Process) -> list[int]:
    """The children of ``process`` that exited and were not reaped."""
    zombies = []
    for child in process.children():
        with contextlib.suppress(psutil.NoSuchProcess):
            if child.status() == psutil.STATUS_ZOMBIE:
                zombies.append(child.pid)
    return zombies


def daemons(fake: FakeWisp) -> list[int]:
    """Processes the fake's calls left running (not the calls themselves: a poll may run)."""
    calls = {call["pid"] for call in fake.call_records()}
    return [pid for pid in fake.alive_pids() if pid not in calls]


def test_the_dashboard_ends_what_polls_leave_and_keeps_what_a_start_leaves(fake_wisp, tmux_pane):
    fake_wisp.set_fleet([{"name": "alpha", "state": "running"}])
    fake_wisp.set_scenario(list="daemon", version="daemon")
    argv = [sys.executable, "-m", "wreckit_tui", "--wisp", str(fake_wisp.path)]
    pane = tmux_pane([*argv, "--set", "poll_interval=0.5"])
    pane.wait_for(lambda screen: "alpha" in screen and "wreckit" in screen)
    dashboard = psutil.Process(pane.pid())
    polls_that_leave_daemons = lambda: len(fake_wisp.call_times("list")) >= 4  # noqa: E731
    wait_until(polls_that_leave_daemons, timeout=15, interval=0.05)
    fake_wisp.set_scenario(start="daemon")
    polls = len(fake_wisp.call_times("list"))
    wait_until(lambda: len(fake_wisp.call_times("list")) >= polls + 2, timeout=15, interval=0.05)
    wait_until(
        lambda: daemons(fake_wisp) == [] and not zombies_of(dashboard),
        timeout=15,
        interval=0.05,
    )

    pane.send("n")
    pane.wait_for(lambda screen: "Launch sprite" in screen)
    pane.send("Enter")
    wait_until(
        lambda: any(call[0] == "start" for call in fake_wisp.calls()), timeout=15, interval=0.05
    )
    polls = len(fake_wisp.call_times("list"))
    wait_until(lambda: len(fake_wisp.call_times("list")) >= polls + 3, timeout=15, interval=0.05)
    left_by_start = daemons(fake_wisp)
    assert len(left_by_start) == 2  # the start's daemon and its child live on
    for pid in left_by_start:  # they end by themselves: the dashboard reaps them
        os.kill(pid, signal.SIGKILL)
    polls = len(fake_wisp.call_times("list"))
    wait_until(lambda: len(fake_wisp.call_times("list")) >= polls + 2, timeout=15, interval=0.05)
    wait_until(lambda: not zombies_of(dashboard), timeout=5, interval=0.05)
    assert not {child.pid for child in dashboard.children()} & set(left_by_start)
