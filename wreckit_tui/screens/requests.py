"""What the dashboard screen asks of the app: messages up, each handled by the app.

The screen owns what is on it (filter, marks, sort, selection); the app owns the backend,
polling and operations. A request carries the names it is about, chosen on the screen.
"""

from __future__ import annotations

from textual.message import Message


class Request(Message):
    """A request of the dashboard screen; the app holds the keys typed after it until it has
    been handled, so that a key typed right after ``d`` reaches the dialog ``d`` opens."""


class LaunchRequested(Request):
    """Open the launch form (the quota allowing)."""


class KillRequested(Request):
    """Ask, then kill ``names``."""

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = names


class OpenRequested(Request):
    """Attach to ``name``, or offer to start it again where it is stopped."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class RefreshRequested(Request):
    """Poll the backend now."""


class LastErrorRequested(Request):
    """Show the last error in full."""


class SendRequested(Request):
    """Ask for a line to type into ``names``; ``marked``: they are the marked sprites, so
    confirm first."""

    def __init__(self, names: list[str], *, marked: bool) -> None:
        super().__init__()
        self.names = names
        self.marked = marked


class PreviewRequested(Message):
    """Capture the screen of ``name`` about once a second from now on, or of none with None.

    Not a :class:`Request`: it opens nothing, so the keys typed after it need not wait."""

    def __init__(self, name: str | None) -> None:
        super().__init__()
        self.name = name
