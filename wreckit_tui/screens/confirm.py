"""Confirmations: a question, the sprites it is about, Yes and No. No has the focus: enter on
its own never does the irreversible thing; y says yes, n or esc no."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from wreckit_tui.screens.dialog import Dialog
from wreckit_tui.text import quoted, sanitize


def question(names: Sequence[str]) -> str:
    """``Kill sprite bravo?`` or ``Kill 3 sprites?``."""
    if len(names) == 1:
        return f"Kill sprite {sanitize(names[0])}?"
    return f"Kill {len(names)} sprites?"


class ConfirmScreen(Dialog[bool]):
    """Asks ``title`` about ``names``; returns True for yes. ``names`` never change while it is
    open, whatever the polls underneath show."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", show=False, priority=True),
        Binding("n,escape", "answer(False)", "No", show=False, priority=True),
    ]

    def __init__(
        self, title: str, names: Sequence[str], yes: str, hint: str, *, danger: bool = False
    ) -> None:
        super().__init__()
        self.title_text = title
        self.names = list(names)
        self.yes = yes
        self.hint = hint
        self.danger = danger

    def compose(self) -> ComposeResult:
        box = Vertical(id="confirm-box", classes="dialog -danger" if self.danger else "dialog")
        with box:
            yield Static(Text(self.title_text), classes="dialog-title")
            if len(self.names) > 1:
                listing = "\n".join(f"  • {sanitize(name)}" for name in self.names)
                yield Static(Text(listing), id="confirm-names")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.yes, variant="error" if self.danger else "primary", id="yes")
                yield Button("No", id="no")
            yield Static(self.hint, classes="dialog-hint")

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#no", Button))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


def confirm_kill(names: Sequence[str]) -> ConfirmScreen:
    """``Kill sprite NAME?`` (or ``Kill 3 sprites?`` and their names)."""
    return ConfirmScreen(
        question(names), names, "Yes, kill", "y kills · n, esc or enter on No cancels", danger=True
    )


def confirm_resume(name: str) -> ConfirmScreen:
    """``Start NAME again?``: a stopped sprite, with its disk as it was left."""
    return ConfirmScreen(
        f"Start {sanitize(name)} again?",
        [name],
        "Yes, start it",
        "its disk is as it was left · y starts · n, esc or enter on No cancels",
    )


def confirm_send(names: Sequence[str], line: str) -> ConfirmScreen:
    """``Type 'LINE' and Enter into 3 sprites?`` (and their names), or ``... into bravo?``."""
    count = sanitize(names[0]) if len(names) == 1 else f"{len(names)} sprites"
    return ConfirmScreen(
        f"Type {quoted(line)} and Enter into {count}?",
        names,
        "Yes, send",
        "y sends · n, esc or enter on No cancels",
    )
