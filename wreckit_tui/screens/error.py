"""The last error in full: the message, and everything the backend printed about it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from wreckit_tui.screens.dialog import Dialog
from wreckit_tui.text import sanitize_lines


class ErrorScreen(Dialog[None]):
    """Shows one error literally, with what the program printed under ``details_title``;
    escape, q or e closes it."""

    BINDINGS = [Binding("escape,q,e", "dismiss", "Close", show=False, priority=True)]

    def __init__(self, message: str, details: str = "", details_title: str = "") -> None:
        super().__init__()
        self.message = message
        self.details = details
        self.details_title = details_title

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="error-box", classes="dialog"):
            yield Static("Last error", classes="dialog-title")
            yield Static(Text(sanitize_lines(self.message)))
            if self.details.strip():
                yield Static(self.details_title, classes="field-label")
                yield Static(Text(sanitize_lines(self.details.strip())), id="error-stderr")
            yield Static("esc, q or e closes this screen", classes="dialog-hint")
