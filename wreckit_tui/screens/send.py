"""The one-line input of ``i``: a line to type into sprites without attaching to them."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from wreckit_tui.text import sanitize
from wreckit_tui.widgets.form_input import FormInput


def send_title(names: Sequence[str], *, marked: bool) -> str:
    """``Type into bravo`` or ``Type into 3 marked sprites``."""
    if marked:
        return f"Type into {len(names)} marked sprite{'s' if len(names) != 1 else ''}"
    return f"Type into {sanitize(names[0])}"


class SendScreen(ModalScreen[str | None]):
    """Asks for one line; enter returns it (it is then typed, and Enter after it), esc None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False, priority=True)]

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

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
