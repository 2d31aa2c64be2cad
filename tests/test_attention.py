"""Sprites that need you: counted in the header, reached with tab, and announced once each time
one starts to need you, by a bell or a desktop notification on the real terminal."""

from __future__ import annotations

import os
import re
import sys
import time
from datetime import UTC, datetime

from tests.conftest import REPO
from tests.support.attach_pty import Terminal
from tests.support.dashboard_harness import FIXED_NOW, dashboard, poll, screen_text
from tests.support.waiting import wait_until

ASKING = "Edit app.py\nDo you want to proceed? (y/n) "
DESKTOP = b"\x1b]777;notify;wreckit: a sprite needs you;asks (waiting)\x07"


def at(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def bells(output: bytes) -> int:
    """BEL characters that ring: not those that end an OSC sequence."""
    return output.count(b"\x07") - len(re.findall(rb"\x1b\][^\x07\x1b]*\x07", output))


def agent(name: str, printed: float, **fields: object) -> dict:
    return {"name": name, "state": "running", "command": "sh -c ask", "activity_at": at(printed)}


FLEET = [
    agent("asks", FIXED_NOW - 200),
    agent("busy", FIXED_NOW - 1),
    {"name": "failed", "state": "stopped", "command": "codex", "exit_code": 3},
]


async def test_the_header_counts_them_and_tab_goes_round_them(fake_wisp):
    fake_wisp.set_screen("asks", ASKING)
    async with dashboard(fake_wisp, FLEET) as pilot:
        await poll(pilot)  # the first poll came before the backend said it can capture
        app = pilot.app
        assert app.snapshot.view.attention == ("asks", "failed")
        assert "2 need you" in screen_text(app).splitlines()[0]
        await pilot.press("down")  # busy, which needs nothing
        chosen = []
        for _ in range(3):
            await pilot.press("tab")
            chosen.append(app.dashboard.table.selected_key)
        assert chosen == ["asks", "failed", "asks"]


async def test_tab_says_so_when_no_sprite_needs_you(fake_wisp):
    async with dashboard(fake_wisp, [agent("busy", FIXED_NOW - 1)], notifications=True) as pilot:
        await pilot.press("tab")
        assert "No sprite needs you." in screen_text(pilot.app)
        assert "need you" not in screen_text(pilot.app).splitlines()[0]


def announced(fake_wisp, mode: str) -> bytes:
    """What the dashboard wrote to a real terminal while ``asks`` printed until after the
    first poll, then fell quiet at a question, and three more polls went by; it then quits."""
    fake_wisp.set_fleet([agent("asks", time.time() + 3)])
    fake_wisp.set_screen("asks", ASKING)
    env = {**os.environ, "WRECKIT_TUI_WISP_PATH": str(fake_wisp.path)}
    settings = ["poll_interval=0.5", "activity={quiet_after=1}", f"notify={mode}"]
    terminal = Terminal(rows=30, cols=120)
    argv = [sys.executable, "-m", "wreckit_tui", *(f"--set={s}" for s in settings)]
    process = terminal.spawn(argv, env=env, cwd=str(REPO))
    try:
        terminal.expect("1 needs you", timeout=20)
        polls = len(fake_wisp.call_times("list"))
        wait_until(lambda: len(fake_wisp.call_times("list")) >= polls + 3, timeout=10)
        terminal.type("q")
        assert process.wait(20) == 0
        return terminal.screen()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        terminal.close()


def test_a_sprite_that_starts_to_wait_rings_the_bell_once(fake_wisp):
    assert bells(announced(fake_wisp, "bell")) == 1


def test_a_sprite_that_starts_to_wait_is_one_desktop_notification(fake_wisp):
    output = announced(fake_wisp, "desktop")
    assert output.count(DESKTOP) == 1
    assert bells(output) == 0


def test_nothing_is_announced_with_notify_off(fake_wisp):
    output = announced(fake_wisp, "off")
    assert bells(output) == 0
    assert b"\x1b]777;" not in output
