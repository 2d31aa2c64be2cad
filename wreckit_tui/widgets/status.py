"""The header line: backend, fleet counts, freshness, and the stale/error marker."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from wreckit_tui.text import format_duration, middle_ellipsis, sanitize

BACKEND_CHARS = 60
"""The header names the backend in this many characters at most (a long path loses its middle)."""
ERROR_CHARS = 240
"""The header shows this much of an error; the error screen (e) shows it all."""


@dataclass(frozen=True)
class Status:
    """Everything the header shows, as plain data."""

    backend: str
    sprites: int = 0
    running: int = 0
    seconds_since_refresh: float | None = None
    error: str | None = None
    filter: str = ""
    warnings: int = 0


def status_text(status: Status) -> Text:
    text = Text()
    text.append(" wreckit ", style="bold reverse")
    text.append(f" {middle_ellipsis(sanitize(status.backend), BACKEND_CHARS)}", style="bold")
    noun = "sprite" if status.sprites == 1 else "sprites"
    text.append(f" │ {status.sprites} {noun}, {status.running} running")
    if status.warnings:
        noun = "warning" if status.warnings == 1 else "warnings"
        text.append(f" │ {status.warnings} {noun} about wisp's output", style="yellow")
    if status.filter:
        text.append(f" │ filter: {sanitize(status.filter)}", style="cyan")
    if status.seconds_since_refresh is None:
        pending = "no successful poll yet" if status.error else "waiting for the first poll"
        text.append(f" │ {pending}", style="dim")
    else:
        ago = format_duration(status.seconds_since_refresh)
        text.append(f" │ updated {ago} ago", style="dim")
    if status.error:
        text.append(" │ ")
        marker = " ERROR " if status.seconds_since_refresh is None else " STALE "
        text.append(marker, style="bold white on red")
        text.append(f"\n {shortened(sanitize(status.error))}", style="red")
    return text


def shortened(error: str, limit: int = ERROR_CHARS) -> str:
    """``error`` cut to ``limit`` characters, pointing to the full text behind the e key."""
    return error if len(error) <= limit else f"{error[:limit]}… (e shows it all)"


class StatusBar(Static):
    """The dashboard's header; redrawn only when what it says changes."""

    _shown: Status | None = None

    def show(self, status: Status) -> None:
        if status == self._shown:
            return
        resized = self._shown is None or (self._shown.error is None) != (status.error is None)
        self._shown = status
        self.set_class(status.error is not None, "-stale")
        self.update(status_text(status), layout=resized or status.error is not None)
