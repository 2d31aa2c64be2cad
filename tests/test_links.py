"""``o`` and ``y`` in the terminal dashboard: a sprite's own URL opened and copied.

``o`` hands the URL to the desktop's opener where there is a display (here a real stand-in
``xdg-open`` on PATH that notes what it was given), else shows it as a link in a notification;
``y`` copies it; a sprite without a URL says so. (Served to a browser: tests/test_web_serve.py.)
"""

from __future__ import annotations

import os
import sys

from tests.support.dashboard_harness import dashboard, screen_text
from tests.support.waiting import wait_until_async

FLEET = [
    {"name": "alpha", "state": "running", "url": "https://alpha.sprites.test/term"},
    {"name": "bravo", "state": "running"},
]


def install_opener(directory) -> object:
    """A stand-in ``xdg-open`` that writes the URL it was given to ``opened.txt``."""
    directory.mkdir()
    opener = directory / "xdg-open"
    opener.write_text(
        f"#!{sys.executable}\nimport sys, pathlib\n"
        f"pathlib.Path({str(directory / 'opened.txt')!r}).write_text(sys.argv[1])\n"
    )
    opener.chmod(0o755)
    return directory / "opened.txt"


async def test_o_hands_the_url_to_the_desktops_opener(fake_wisp, tmp_path, monkeypatch):
    opened = install_opener(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DISPLAY", ":99")
    async with dashboard(fake_wisp, FLEET) as pilot:
        await pilot.press("o")
        await wait_until_async(pilot, opened.exists, timeout=20, what="xdg-open to be run")
        assert opened.read_text() == "https://alpha.sprites.test/term"


async def test_without_a_display_o_shows_a_link_and_y_copies(fake_wisp, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    async with dashboard(fake_wisp, FLEET, notifications=True) as pilot:
        app = pilot.app
        await pilot.press("o")
        await wait_until_async(pilot, lambda: "open it from here" in screen_text(app))
        assert "https://alpha.sprites.test/term" in screen_text(app)
        await pilot.press("y")
        await wait_until_async(pilot, lambda: "copied https://alpha.sprites.test/term" in
                               screen_text(app))  # fmt: skip
        assert app.clipboard == "https://alpha.sprites.test/term"
        await pilot.press("j", "y")
        await wait_until_async(pilot, lambda: "bravo has no URL" in screen_text(app))
