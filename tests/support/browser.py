"""A real Chromium (Debian's ``chromium``) driven by Playwright, and what tests read from it.

Playwright's own browser download is not used: :func:`chromium` launches ``/usr/bin/chromium``
through ``executable_path``. :class:`DashboardFrames` renders what a page's dashboard websocket
receives through pyte, so a test reads the dashboard's text even though the page draws it on
a canvas; :func:`terminal_text` reads an attach page's xterm.js buffer.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyte

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
TERMINAL_TEXT = """() => {
  const buffer = window.wreckitTerminal.buffer.active;
  const lines = [];
  for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i).translateToString(true));
  return lines.join("\\n");
}"""


def have_chromium() -> bool:
    return shutil.which(CHROMIUM) is not None


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium; closed (with every page) when the block ends."""
    from playwright.sync_api import sync_playwright

    assert have_chromium(), (  # no silent skip: the README's test command installs it
        f"no Chromium at {CHROMIUM}: apt-get install -y chromium"
    )

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class DashboardFrames:
    """The dashboard a page shows, as text: its websocket's frames rendered by pyte."""

    def __init__(self, page: Any, cols: int = 200, rows: int = 60) -> None:
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        page.on("websocket", self._socket)

    def _socket(self, socket: Any) -> None:
        if socket.url.endswith("/ws") or "/ws?" in socket.url:
            socket.on("framereceived", self._frame)

    def _frame(self, payload: bytes | str) -> None:
        if isinstance(payload, bytes):
            self.stream.feed(payload)

    def resize(self, cols: int, rows: int) -> None:
        self.screen.resize(rows, cols)

    def text(self) -> str:
        return "\n".join(self.screen.display)


def terminal_text(page: Any) -> str:
    """The text of an attach page's terminal, line by line."""
    return page.evaluate(TERMINAL_TEXT)


def wait_in_browser(page: Any, condition: Any, timeout: float = 15, what: str = "") -> Any:
    """Poll ``condition`` until true, letting Playwright deliver its events between tries (a
    plain sleep would not); AssertionError naming ``what`` after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what or condition}")
        page.wait_for_timeout(25)
    return value
