"""The one-line input of ``i``: a line to type into sprites without attaching to them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from wreckit_tui.held_keys import KeyHoldingApp
from wreckit_tui.screens.dialog import Dialog
from wreckit_tui.text import sanitize
from wreckit_tui.widgets.form_input import FormInput


def send_title(names: Sequence[str], *, marked: bool) -> str:
    """``Type into bravo`` or ``Type into 3 marked sprites``."""
    if marked:
        return f"Type into {len(names)} marked sprite{'s' if len(names) != 1 else ''}"
    return f"Type into {sanitize(names[0])}"


class SendScreen(Dialog[str | None]):
    """Asks for one line; enter returns it (it is then typed, and Enter after it), esc None."""

    BINDINGS = [
        Binding("enter", "send", "Send", show=False, priority=True),
        Binding("escape", "cancel", "Cancel", show=False, priority=True),
    ]
    """Priority bindings: each acts as it is read, so a key typed right after enter or esc
    reaches the dashboard, not this input."""

    def __init__(self, names: Sequence[str], *, marked: bool) -> None:
        super().__init__()
        self.names = list(names)
        self.marked = marked

    def compose(self) -> ComposeResult:
        with Vertical(id="send-box", classes="dialog"):
            yield Static(Text(send_title(self.names, marked=self.marked)), classes="dialog-title")
            yield FormInput(placeholder="a line; enter sends it and Enter", id="send-line")
            yield Static("enter types the line, then Enter · esc cancels", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#send-line", FormInput).focus()

    def action_send(self) -> None:
        """Enter, as the app reads it: the keys typed after it wait while the input takes in
        those typed before it; then the line is returned and the keys go to the dashboard."""
        release = self.app.hold_keys() if isinstance(self.app, KeyHoldingApp) else None
        line = self.query_one("#send-line", FormInput)
        line.call_later(self._send, line, release)

    def _send(self, line: FormInput, release: Callable[[], Awaitable[None]] | None) -> None:
        if self.is_current:
            self.dismiss(line.value)
        if release is not None:
            self.app.call_later(release)

    def action_cancel(self) -> None:
        self.dismiss(None)
