"""The last error in full: the message, and everything wisp wrote on stderr."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from wreckit_tui.text import sanitize_lines


class ErrorScreen(ModalScreen[None]):
    """Shows one error literally; escape, q or e closes it."""

    BINDINGS = [Binding("escape,q,e", "dismiss", "Close", show=False)]

    def __init__(self, message: str, stderr: str = "") -> None:
        super().__init__()
        self.message = message
        self.stderr = stderr

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="error-box", classes="dialog"):
            yield Static("Last error", classes="dialog-title")
            yield Static(Text(sanitize_lines(self.message)))
            if self.stderr.strip():
                yield Static("wisp's stderr", classes="field-label")
                yield Static(Text(sanitize_lines(self.stderr.strip())), id="error-stderr")
            yield Static("esc, q or e closes this screen", classes="dialog-hint")
