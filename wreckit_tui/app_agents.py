"""The app's side of watching agents without attaching: the live preview and sending a line.

:class:`AgentsApp` is the part of the app that captures the previewed sprite's screen (through
a :class:`~wreckit_tui.preview.Previewer`) and types lines into sprites; the dashboard screen
asks for both (``PreviewRequested``, ``SendRequested``) and gets the screen back as data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial

from wreckit_tui.backend_api import SpriteManager
from wreckit_tui.errors import SpriteNotFound, WreckitError
from wreckit_tui.held_keys import KeyHoldingApp
from wreckit_tui.preview import Preview, Previewer
from wreckit_tui.screens.confirm import confirm_send
from wreckit_tui.screens.dashboard import DashboardScreen
from wreckit_tui.screens.requests import PreviewRequested, SendRequested
from wreckit_tui.screens.send import SendScreen
from wreckit_tui.text import quoted


class AgentsApp(KeyHoldingApp):
    """Preview and send, for an app that has a ``wisp`` and a ``dashboard``."""

    wisp: SpriteManager
    last_error: WreckitError | None
    previewer: Previewer
    dashboard: DashboardScreen
    say: Callable[..., None]

    def make_previewer(self) -> Previewer:
        """The previewer of this app: captures with colours, published to the dashboard."""
        return Previewer(self, partial(self.wisp.capture, ansi=True), self._show_preview)

    def _show_preview(self, preview: Preview) -> None:
        if preview != self.dashboard.preview:  # a screen that did not change is not redrawn
            self.dashboard.preview = preview

    def on_preview_requested(self, request: PreviewRequested) -> None:
        self.previewer.watch(request.name)

    # -- send --------------------------------------------------------------------------------

    def on_send_requested(self, request: SendRequested) -> None:
        """Ask for the line; for marked sprites, then confirm naming how many."""
        if self.screen is not self.dashboard:
            return
        names, marked = request.names, request.marked
        form = SendScreen(names, marked=marked)
        self.push_screen(form, callback=partial(self._line_typed, names, marked))

    def _line_typed(self, names: list[str], marked: bool, line: str | None) -> None:
        if line is None:
            return
        if marked:
            question = confirm_send(names, line)
            self.push_screen(question, callback=partial(self._confirmed, names, line))
        else:
            self._send(names, line)

    def _confirmed(self, names: list[str], line: str, confirmed: bool | None) -> None:
        if confirmed:
            self._send(names, line)

    def _send(self, names: list[str], line: str) -> None:
        self.run_worker(self._send_all(names, line), group="send", exit_on_error=False)

    async def _send_all(self, names: list[str], line: str) -> None:
        """Type ``line`` and Enter into each sprite at once; say what happened to each."""
        sends = (self.wisp.send(name, line, enter=True) for name in names)
        results = await asyncio.gather(*sends, return_exceptions=True)
        done = []
        for name, result in zip(names, results, strict=True):
            if result is None:
                done.append(name)
                continue
            if isinstance(result, WreckitError):
                self.last_error = result
            why = "it is gone" if isinstance(result, SpriteNotFound) else _describe(result)
            self.say(f"could not type into {name}: {why}", severity="error", timeout=15)
        if done:
            self.say(f"typed {quoted(line)} into {', '.join(done)}", timeout=4)


def _describe(error: BaseException) -> str:
    return error.message if isinstance(error, WreckitError) else f"unexpected error: {error!r}"
