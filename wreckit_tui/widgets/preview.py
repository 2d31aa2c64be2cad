"""The preview in the detail pane: the selected sprite's screen, its colours kept, or a
sentence saying why there is none."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Static

from wreckit_tui.models import Sprite
from wreckit_tui.preview import Preview
from wreckit_tui.text import sanitize


def preview_content(
    name: str | None, sprite: Sprite | None, preview: Preview | None
) -> tuple[str, str | None, str | None]:
    """The title, the screen (with colour sequences only) and a sentence where there is no
    screen, for the sprite ``name`` and the last capture the app handed down."""
    if name is None or sprite is None:
        return "Preview", None, "No sprite selected."
    title = f"Screen of {sanitize(name)}"
    if sprite.state != "running":
        state = sanitize(sprite.state or "not running")
        return title, None, f"{sanitize(name)} is {state}: it has no screen to show."
    if preview is None or preview.name != name:
        return title, None, "Capturing its screen…"
    return title, preview.screen, preview.note


def screen_text(screen: str) -> Text:
    """The captured screen drawn with its colours; every other escape sequence was removed by
    the adapter, and markup is never parsed. Blank lines at the end are left out."""
    text = Text.from_ansi(screen, no_wrap=True, overflow="crop")
    text.rstrip()
    return text


class ScreenPreview(Vertical):
    """A title, then the screen or the sentence in its place."""

    def compose(self) -> ComposeResult:
        yield Label(id="preview-title")
        yield Static(id="preview-screen")

    _shown: tuple[str, str | None, str | None] | None = None

    def show(self, title: str, screen: str | None, note: str | None) -> bool:
        """Redraw if anything changed; whether it did."""
        if (title, screen, note) == self._shown:
            return False
        self._shown = (title, screen, note)
        self.query_one("#preview-title", Label).update(Text(f"{title} · p: fields"))
        body = self.query_one("#preview-screen", Static)
        body.set_class(screen is None, "-note")
        body.update(screen_text(screen) if screen is not None else Text(note or ""))
        return True
