"""The help screen: every key binding of the dashboard."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

EXTRA_KEYS = (
    ("↑ ↓ PgUp PgDn", "move the cursor"),
    ("mouse", "click a row to select it, a column header to sort by it"),
    ("ctrl+p", "command palette: every action, and the sprites by name"),
)


def binding_keys(key: str) -> str:
    names = {"slash": "/", "question_mark": "?", "space": "space", "escape": "esc"}
    return ", ".join(names.get(part, part) for part in key.split(","))


def bindings_table(bindings: Iterable[Binding]) -> Table:
    table = Table.grid(padding=(0, 3))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for binding in bindings:
        table.add_row(binding_keys(binding.key), binding.tooltip or binding.description)
    for keys, description in EXTRA_KEYS:
        table.add_row(keys, description)
    return table


class HelpScreen(ModalScreen[None]):
    """Lists every binding; any of escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", show=False)]

    def __init__(self, bindings: Iterable[Binding]) -> None:
        super().__init__()
        self._listed = list(bindings)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box", classes="dialog"):
            yield Static("Keys", classes="dialog-title")
            yield Static(bindings_table(self._listed))
            yield Static("esc, q or ? closes this screen", classes="dialog-hint")
