"""A sprite's own URL from the dashboard: ``o`` opens it, ``y`` copies it.

Served to a browser, ``o`` opens the URL in a new tab (Textual's ``open_url`` under
textual-serve). In a terminal it goes to the system's opener where a desktop is there to show
it (``xdg-open``, or ``open`` on macOS), else the URL is shown in a notification as an OSC 8
link. ``y`` copies it with Textual's ``copy_to_clipboard`` (OSC 52 in a terminal).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading

from textual.app import App
from textual.binding import Binding
from textual.markup import escape

from wreckit_tui.text import sanitize

OPENERS = ("xdg-open", "open")
DISPLAY_VARIABLES = ("DISPLAY", "WAYLAND_DISPLAY")


class LinksApp(App[int]):
    """``o`` and ``y`` on the dashboard, for an app that has a ``dashboard`` and a
    ``snapshot``."""

    BINDINGS = [
        Binding("o", "open_link", "Open URL", show=False, tooltip="open the sprite's own URL"),
        Binding("y", "copy_link", "Copy URL", show=False, tooltip="copy the sprite's own URL"),
    ]

    def _selected_url(self) -> str | None:
        """The selected sprite's URL; None (and a word why) when there is none."""
        dashboard = self.dashboard  # type: ignore[attr-defined]
        if self.screen is not dashboard:
            return None
        name = dashboard.table.selected_key
        sprite = self.snapshot.by_name.get(name) if name else None  # type: ignore[attr-defined]
        if sprite is None or not sprite.url:
            what = f"{name} has no URL" if name else "no sprite selected"
            self.say(what, severity="warning", timeout=4)  # type: ignore[attr-defined]
            return None
        return sanitize(sprite.url)

    def action_open_link(self) -> None:
        url = self._selected_url()
        if url is None:
            return
        if self.is_web:
            self.open_url(url, new_tab=True)
            self.say(f"opened {url}", timeout=4)  # type: ignore[attr-defined]
        elif not _open_on_desktop(url):
            self.notify(_link_markup(url), title="open it from here", timeout=15)

    def action_copy_link(self) -> None:
        url = self._selected_url()
        if url is not None:
            self.copy_to_clipboard(url)
            self.say(f"copied {url}", timeout=4)  # type: ignore[attr-defined]


def _open_on_desktop(url: str) -> bool:
    """Hand ``url`` to the desktop's opener, where there is a desktop; whether it was."""
    desktop = sys.platform == "darwin" or any(os.environ.get(v) for v in DISPLAY_VARIABLES)
    opener = next((path for name in OPENERS if (path := shutil.which(name))), None)
    if not desktop or opener is None:
        return False
    quiet = subprocess.DEVNULL
    process = subprocess.Popen(
        [opener, url], stdin=quiet, stdout=quiet, stderr=quiet, start_new_session=True
    )
    threading.Thread(target=process.wait, daemon=True).start()  # reaped, never waited for
    return True


def _link_markup(url: str) -> str:
    """``url`` as markup for a link, which Textual draws as an OSC 8 hyperlink."""
    if any(quote in url for quote in "'\"[]"):
        return escape(url)
    return f"[link='{url}']{escape(url)}[/link]"
