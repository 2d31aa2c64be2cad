"""The real dashboard in a real terminal (a tmux pane): the terminal is always given back."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, FakeWisp
from tests.tmux_pane import Pane, wait_for_file


def dashboard_in_a_shell(fake: FakeWisp, tmp_path: Path) -> Pane:
    """``stty -a`` into ``before``, the dashboard, its status into ``status``, ``stty -a`` into
    ``after``. ``after`` appears complete (written aside, then renamed) once all is done."""
    before, after, status = tmp_path / "before", tmp_path / "after", tmp_path / "status"
    dashboard = f"{sys.executable} -m wreckit_tui --wisp {fake.path}"
    script = (
        f"stty -a > {before}; {dashboard}; echo $? > {status}; "
        f"stty -a > {after}.part; mv {after}.part {after}"
    )
    return Pane(["sh", "-c", f"{script}; sleep 60"], {"PYTHONPATH": str(REPO)})


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_to_the_dashboard_ends_it_with_the_terminal_restored(fake_wisp, tmp_path, signum):
    fake_wisp.set_fleet([{"name": "alpha", "state": "running"}])
    pane = dashboard_in_a_shell(fake_wisp, tmp_path)
    try:
        pane.wait_for(lambda screen: "alpha" in screen and "wreckit" in screen)
        os.kill(pane.child("wreckit_tui").pid, signum)
        assert wait_for_file(tmp_path / "after") == (tmp_path / "before").read_text()
        assert (tmp_path / "status").read_text().strip() == str(128 + signum)
        assert "alpha" not in pane.text()  # the alternate screen is gone
    finally:
        pane.stop()


def test_sigterm_while_attached_ends_the_dashboard_with_the_terminal_restored(fake_wisp, tmp_path):
    fake_wisp.set_fleet([{"name": "alpha", "state": "running"}])
    pane = dashboard_in_a_shell(fake_wisp, tmp_path)
    try:
        pane.wait_for(lambda screen: "alpha" in screen and "wreckit" in screen)
        pane.send("a")
        pane.wait_for(lambda screen: "connected to alpha\nalpha$" in screen)
        os.kill(pane.child("wreckit_tui").pid, signal.SIGTERM)
        assert wait_for_file(tmp_path / "after") == (tmp_path / "before").read_text()
        assert (tmp_path / "status").read_text().strip() == "143"
        assert "alpha" not in pane.text()  # neither the session nor the dashboard is left
        assert fake_wisp.alive_pids() == []  # the sprite's session ended with it
    finally:
        pane.stop()
