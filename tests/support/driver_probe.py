"""A small app on :class:`QuickSuspendDriver` for tests: it shows the keys it gets, and ctrl+s
suspends it once and writes how long handing over the terminal took to the file in argv[1]."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Static

from wreckit_tui.driver import QuickSuspendDriver


class Probe(App[None]):
    BINDINGS = [("ctrl+s", "suspend_once"), ("q", "quit")]

    def __init__(self, report: Path) -> None:
        super().__init__(driver_class=QuickSuspendDriver)
        self.report = report
        self.keys: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static("keys:", id="keys")

    def action_suspend_once(self) -> None:
        began = time.perf_counter()
        with self.suspend():
            handed_over = time.perf_counter() - began
        self.report.write_text(f"{handed_over:.6f}")

    def on_key(self, event: events.Key) -> None:
        self.keys.append(event.key)
        self.query_one("#keys", Static).update("keys: " + " ".join(self.keys))


if __name__ == "__main__":
    Probe(Path(sys.argv[1])).run()
