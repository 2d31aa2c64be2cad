"""The help screen: every key binding of the dashboard, and the key that detaches."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from wreckit_tui.screens.dialog import Dialog


def extra_keys(detach_key: str) -> tuple[tuple[str, str], ...]:
    """Keys the bindings do not list: moving, the mouse, the palette, detaching, the URL."""
    return (
        ("↑ ↓ j k", "move the cursor; PgUp PgDn a page, Home End the first and last sprite"),
        ("enter", "attach to the selected sprite; on a stopped one, offer to start it again"),
        (detach_key, "while attached: detach and come back here (the sprite keeps running)"),
        ("o, y", "open the selected sprite's own URL (its web terminal, say), or copy it"),
        ("mouse", "click a row to select it, a column header to sort by it"),
        ("ctrl+p", "command palette: every action, and the sprites by name"),
    )


def binding_keys(key: str) -> str:
    names = {"slash": "/", "question_mark": "?", "space": "space", "escape": "esc"}
    return ", ".join(names.get(part, part) for part in key.split(","))


def bindings_table(bindings: Iterable[Binding], detach_key: str) -> Table:
    table = Table.grid(padding=(0, 3))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for binding in bindings:
        table.add_row(binding_keys(binding.key), binding.tooltip or binding.description)
    for keys, description in extra_keys(detach_key):
        table.add_row(keys, description)
    return table


class HelpScreen(Dialog[None]):
    """Lists every binding; any of escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", show=False, priority=True)]

    def __init__(self, bindings: Iterable[Binding], detach_key: str) -> None:
        super().__init__()
        self._listed = list(bindings)
        self.detach_key = detach_key

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box", classes="dialog"):
            yield Static("Keys", classes="dialog-title")
            yield Static(bindings_table(self._listed, self.detach_key))
            yield Static("esc, q or ? closes this screen", classes="dialog-hint")
