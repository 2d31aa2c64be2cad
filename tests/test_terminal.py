"""The real dashboard in a real terminal (a tmux pane): the terminal is always given back."""

from __future__ import annotations

import os
import signal
import sys
import time

import psutil
import pytest

from tests.conftest import REPO
from tests.tmux_pane import Pane


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_to_the_dashboard_ends_it_with_the_terminal_restored(fake_wisp, tmp_path, signum):
    fake_wisp.set_fleet([{"name": "alpha", "state": "running"}])
    before, after = tmp_path / "before", tmp_path / "after"
    dashboard = f"{sys.executable} -m wreckit_tui --wisp {fake_wisp.path}"
    script = f"stty -a > {before}; {dashboard}; echo $? > {tmp_path / 'status'}; stty -a > {after}"
    pane = Pane(["sh", "-c", f"{script}; sleep 60"], {"PYTHONPATH": str(REPO)})
    try:
        pane.wait_for(lambda screen: "alpha" in screen and "wreckit" in screen)
        (app,) = [p for p in psutil.Process(pane.pid()).children() if "wreckit_tui" in p.cmdline()]
        os.kill(app.pid, signum)
        deadline = time.monotonic() + 10
        while not after.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert after.read_text() == before.read_text()
        assert (tmp_path / "status").read_text().strip() == str(128 + signum)
        assert "alpha" not in pane.text()  # the alternate screen is gone
    finally:
        pane.close()
