"""The kill confirmation: names the sprites, y or enter on Yes kills, n or escape cancels."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from wreckit_tui.text import sanitize


def question(names: Sequence[str]) -> str:
    """``Kill sprite bravo?`` or ``Kill 3 sprites?``."""
    if len(names) == 1:
        return f"Kill sprite {sanitize(names[0])}?"
    return f"Kill {len(names)} sprites?"


class ConfirmKillScreen(ModalScreen[bool]):
    """Asks before killing; returns True to kill."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", show=False),
        Binding("n,escape", "answer(False)", "No", show=False),
    ]

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__()
        self.names = list(names)

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box", classes="dialog"):
            yield Static(Text(question(self.names)), classes="dialog-title")
            if len(self.names) > 1:
                listing = "\n".join(f"  • {sanitize(name)}" for name in self.names)
                yield Static(Text(listing), id="confirm-names")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Yes, kill", variant="error", id="yes")
                yield Button("No", id="no")
            yield Static("y kills · n or esc cancels", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, kill: bool) -> None:
        self.dismiss(kill)
