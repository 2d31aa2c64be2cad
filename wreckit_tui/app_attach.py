"""The app's side of attaching: lending the terminal to a sprite, then coming back.

:class:`AttachingApp` pauses the poller and the preview, hands the terminal to the backend's
attach inside Textual's ``suspend()`` (:mod:`wreckit_tui.attach`), and says how it ended.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App, SuspendNotSupported

from wreckit_tui.attach import attach
from wreckit_tui.attach_outcome import AttachFailed, AttachOutcome, attach_report
from wreckit_tui.backend_api import SpriteManager
from wreckit_tui.config import Config, attach_settings
from wreckit_tui.errors import WreckitError
from wreckit_tui.poller import Poller
from wreckit_tui.preview import Previewer

ERROR_TOAST = {"severity": "error", "timeout": 15}


class AttachingApp(App[int]):
    """Attach from the dashboard, for an app that has a ``wisp``, a ``poller`` and a
    ``previewer``."""

    wisp: SpriteManager
    config: Config
    poller: Poller
    previewer: Previewer
    last_error: WreckitError | None
    say: Callable[..., None]
    _back_from: str | None
    """The sprite just detached from: no notification that it needs you on coming back."""

    def attach(self, name: str) -> None:
        """Hand the terminal to ``wisp attach`` for ``name``, then come back."""
        self.poller.pause()
        self.previewer.pause()
        try:
            outcome = self._attached(name)
        finally:
            self._back_from = name
            self.poller.resume(now=True)
            self.previewer.resume()
        if outcome is not None:
            self._report_attach(outcome)

    def _attached(self, name: str) -> AttachOutcome | None:
        """Run the passthrough inside ``suspend``; None where the terminal cannot be lent."""
        try:
            with self.suspend():
                return attach(self.wisp, name, **attach_settings(self.config))
        except SuspendNotSupported:
            self.say(
                f"attach needs a real terminal: run `wreckit-tui attach {name}` from a shell",
                severity="warning",
                timeout=8,
            )
            return None

    def _report_attach(self, outcome: AttachOutcome) -> None:
        if outcome.warning:
            self.say(outcome.warning, severity="warning", timeout=8)
        if outcome.stop_signal is not None:
            self.exit(return_code=128 + outcome.stop_signal)
        elif outcome.problem:
            self.last_error = outcome.error or AttachFailed(outcome.problem, outcome.tail)
            self.say(attach_report(outcome), title=f"attach {outcome.name}", **ERROR_TOAST)
