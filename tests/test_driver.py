"""The terminal driver in a real terminal (a tmux pane): suspend hands over at once, and input
works as before, after a suspend too."""

from __future__ import annotations

import sys
import time

import psutil

from tests.support.dashboard_harness import make_app
from tests.support.waiting import wait_for_file
from wreckit_tui.driver import QuickSuspendDriver

TEXTUALS_OWN_MINIMUM = 0.1
"""Textual's Linux driver sleeps at least this long in select() before it lets go on suspend."""


def test_the_dashboard_runs_on_the_quick_suspend_driver(fake_wisp):
    assert make_app(fake_wisp).driver_class is QuickSuspendDriver


def test_suspend_hands_over_at_once_and_keys_still_arrive_after(tmp_path, tmux_pane):
    report, before, after = tmp_path / "report", tmp_path / "before", tmp_path / "after"
    probe = f"{sys.executable} -m tests.support.driver_probe {report}"
    script = f"stty -a > {before}; {probe}; echo $? > {tmp_path / 'status'}; stty -a > {after}"
    pane = tmux_pane(["sh", "-c", f"{script}; sleep 60"])
    pane.wait_for(lambda screen: "keys:" in screen)
    pane.send("C-s")
    wait_for_file(report)
    assert float(report.read_text()) < TEXTUALS_OWN_MINIMUM * 0.9
    pane.send("a")
    pane.send("b")
    pane.send("Escape")
    time.sleep(0.3)  # a lone Escape becomes a key after a tick without input
    pane.send("c")
    pane.wait_for(lambda screen: "keys: ctrl+s a b escape c" in screen)
    pane.send("q")
    wait_for_file(after)
    assert (tmp_path / "status").read_text().strip() == "0"
    assert after.read_text() == before.read_text()


def test_the_dashboard_ends_when_its_terminal_goes_away(fake_wisp, tmux_pane):
    """A hangup brings SIGHUP and then SIGCONT, on which Textual starts another input thread:
    no input thread may outlive the app and keep the process running."""
    fake_wisp.set_fleet([{"name": "alpha", "state": "running"}])
    dashboard = [sys.executable, "-m", "wreckit_tui", "--wisp", str(fake_wisp.path)]
    pane = tmux_pane(dashboard)
    pane.wait_for(lambda screen: "alpha" in screen)
    app = psutil.Process(pane.pid())
    pane.close()  # the tmux server goes, and the pane's terminal with it
    try:
        app.wait(timeout=10)
    except psutil.TimeoutExpired:
        app.kill()
        raise AssertionError("the dashboard outlived its terminal") from None


def test_the_dashboard_with_stdin_not_a_terminal_says_so_and_exits_2(
    fake_wisp, tmp_path, tmux_pane
):
    """Input from /dev/null in a real terminal: one line naming --headless, exit 2 at once,
    and nothing drawn (no escape codes left in the terminal)."""
    fake_wisp.set_fleet([{"name": "alpha", "state": "running"}])
    status = tmp_path / "status"
    dashboard = f"{sys.executable} -m wreckit_tui --wisp {fake_wisp.path} < /dev/null"
    pane = tmux_pane(["sh", "-c", f"{dashboard}; echo $? > {status}; sleep 60"])
    assert wait_for_file(status).strip() == "2"
    screen = pane.text()
    assert "the dashboard needs a terminal, but standard input is not one" in screen
    assert "use --headless" in screen and "alpha" not in screen
    assert fake_wisp.calls() == []
