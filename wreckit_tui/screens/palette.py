"""The command palette of the dashboard: its actions by name, and a jump to any sprite."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import SystemCommand
from textual.command import DiscoveryHit, Hit, Hits, Provider

from wreckit_tui.text import sanitize

if TYPE_CHECKING:
    from wreckit_tui.screens.dashboard import DashboardScreen

DISCOVERED = 50
"""Sprites the palette offers before anything is typed."""


class SpriteCommands(Provider):
    """Palette entries that put the cursor on a sprite, found by name."""

    def _names(self) -> Iterable[str]:
        return (sprite.name for sprite in self.screen.snapshot.fleet.sprites)

    def _select(self, name: str) -> partial:
        return partial(self.screen.select, name)

    async def discover(self) -> Hits:
        for index, name in enumerate(self._names()):
            if index == DISCOVERED:
                return
            yield DiscoveryHit(Text(f"Sprite {sanitize(name)}"), self._select(name))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name in self._names():
            text = f"sprite {sanitize(name)}"
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, Text(f"Sprite {sanitize(name)}"), self._select(name), text=text)


def dashboard_commands(dashboard: DashboardScreen) -> Iterator[SystemCommand]:
    """The dashboard's actions, as the palette lists them."""
    yield SystemCommand("Refresh", "Poll the backend now", dashboard.action_refresh)
    yield SystemCommand("Filter", "Filter sprites by name", dashboard.action_filter)
    yield SystemCommand("Sort", "Sort by the next column", dashboard.action_cycle_sort)
    yield SystemCommand("Reverse sort", "Reverse the sort order", dashboard.action_reverse_sort)
    yield SystemCommand("Launch", "Launch a new sprite", dashboard.action_launch)
    yield SystemCommand("Mark", "Mark or unmark the selected sprite", dashboard.action_toggle_mark)
    yield SystemCommand("Kill", "Kill the marked ones or the selected one", dashboard.action_kill)
    yield SystemCommand(
        "Attach",
        f"Attach this terminal to the selected sprite; {dashboard.detach_key} detaches",
        dashboard.action_open,
    )
    yield SystemCommand(
        "Send", "Type a line into the selected or marked sprites", dashboard.action_send
    )
    yield SystemCommand(
        "Preview",
        "Show the selected sprite's screen, or its fields",
        dashboard.action_toggle_preview,
    )
    yield SystemCommand("Details", "Show or hide the detail pane", dashboard.action_toggle_detail)
    yield SystemCommand("Last error", "Show the last error in full", dashboard.action_last_error)
    yield SystemCommand("Help", "Show every key binding", dashboard.action_help)
