"""The dashboard's header: backend, sprite counts, marks, filter, freshness, and the stale/error
marker."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.widgets import Static

from wreckit_tui.text import format_duration, middle_ellipsis, sanitize

BACKEND_CHARS = 60
"""The header names the backend in this many characters at most (a long path loses its middle);
on a terminal narrower than ``WIDE`` in a third of its width."""
WIDE = 96
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
    marked: int = 0
    hidden: int = 0
    attention: int = 0
    stale: tuple[str, ...] = ()
    """With several backends: those whose last list failed (the others' rows are fresh)."""


def status_text(status: Status, width: int = 200) -> Text:
    """The header in ``width`` cells: one line that ends in an ellipsis where it is too long,
    and under it, after a failed poll, the error (which wraps)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(" wreckit ", style="bold reverse")
    if status.error:
        marker = " ERROR " if status.seconds_since_refresh is None else " STALE "
        marker = f" STALE {', '.join(status.stale)} " if status.stale else marker
        text.append(" ")
        text.append(marker, style="bold white on red")
    limit = BACKEND_CHARS if width >= WIDE else max(width // 3, 12)
    text.append(f" {middle_ellipsis(sanitize(status.backend), limit)}", style="bold")
    noun = "sprite" if status.sprites == 1 else "sprites"
    text.append(f" │ {status.sprites} {noun}, {status.running} running")
    if status.marked:
        text.append(f" │ {status.marked} marked", style="magenta")
    if status.filter:
        hidden = f" ({status.hidden} hidden)" if status.hidden else ""
        text.append(f" │ filter: {sanitize(status.filter)}{hidden}", style="cyan")
    if status.attention:
        text.append(
            f" │ {status.attention} need{'s' if status.attention == 1 else ''} you",
            style="bold yellow",
        )
    if status.seconds_since_refresh is None:
        pending = "no successful poll yet" if status.error else "waiting for the first poll"
        text.append(f" │ {pending}", style="dim")
    else:
        ago = format_duration(status.seconds_since_refresh)
        text.append(f" │ updated {ago} ago", style="dim")
    if status.warnings:
        noun = "warning" if status.warnings == 1 else "warnings"
        text.append(f" │ {status.warnings} {noun} about the backend's output", style="yellow")
    text.truncate(width, overflow="ellipsis")
    if status.error:
        text.append(f"\n {shortened(sanitize(status.error))}", style="red")
    return text


def shortened(error: str, limit: int = ERROR_CHARS) -> str:
    """``error`` cut to ``limit`` characters, pointing to the full text behind the e key."""
    return error if len(error) <= limit else f"{error[:limit]}… (e shows it all)"


class StatusBar(Static):
    """The dashboard's header; redrawn only when what it says (or its width) changes."""

    _shown: tuple[Status, int] | None = None

    _status: Status | None = None

    def show(self, status: Status) -> None:
        self._status = status
        width = self.content_size.width
        if not width or (status, width) == self._shown:
            return  # not laid out yet: the first resize shows it
        before, self._shown = self._shown, (status, width)
        resized = (
            before is None
            or before[1] != width
            or (before[0].error is None) != (status.error is None)
        )
        self.set_class(status.error is not None, "-stale")
        self.update(status_text(status, width), layout=resized or status.error is not None)

    def on_resize(self, _event: events.Resize) -> None:
        if self._status is not None:
            self.show(self._status)
