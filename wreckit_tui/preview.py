"""The live preview of one sprite's screen: when to capture it, and what a capture gave.

:class:`Previewer` only decides *when*: one capture at a time, ``interval`` seconds after the
last one ended, only of the sprite it watches, none while paused (attached) or watching none.
It runs captures through a :class:`~wreckit_tui.poller.Scheduler` and imports no Textual.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from wreckit_tui.errors import NotSupported, SpriteNotFound, WreckitError
from wreckit_tui.poller import Scheduler, Stoppable

PREVIEW_INTERVAL = 1.0
"""Seconds between the end of one capture and the start of the next."""
CANNOT_CAPTURE = (
    "This backend cannot show a sprite's screen: it does not offer capture (wisp contract "
    "v1.1). Press a to attach instead."
)


@dataclass(frozen=True)
class Preview:
    """What one capture of sprite ``name`` gave: its ``screen`` (text whose only escape
    sequences are colours, from the adapter) or a ``note`` saying why there is none."""

    name: str
    screen: str | None = None
    note: str | None = None


def preview_of(name: str, error: BaseException) -> Preview:
    """The sentence for a capture that failed."""
    if isinstance(error, NotSupported):
        return Preview(name, note=CANNOT_CAPTURE)
    if isinstance(error, SpriteNotFound):
        return Preview(name, note=f"{name} is gone: there is no screen to show.")
    if isinstance(error, WreckitError):
        return Preview(name, note=f"could not capture the screen: {error.message}")
    return Preview(name, note=f"could not capture the screen: unexpected error {error!r}")


class Previewer:
    """Captures the screen of the watched sprite every ``interval`` seconds and hands each
    :class:`Preview` to ``publish``; ``capture`` is ``Wisp.capture`` with colours kept."""

    def __init__(
        self,
        scheduler: Scheduler,
        capture: Callable[[str], Awaitable[str]],
        publish: Callable[[Preview], None],
        interval: float = PREVIEW_INTERVAL,
    ) -> None:
        self.scheduler = scheduler
        self.capture = capture
        self.publish = publish
        self.interval = interval
        self.watching: str | None = None
        self.paused = False
        self.in_flight = False
        self.captures = 0
        """Captures started so far."""
        self._timer: Stoppable | None = None

    def watch(self, name: str | None) -> None:
        """Preview ``name`` from now on (at once), or nothing with None."""
        if name == self.watching:
            return
        self.watching = name
        self._stop_timer()
        self._capture_now()

    def pause(self) -> None:
        """No capture starts until :meth:`resume` (one in flight ends, unpublished)."""
        self.paused = True
        self._stop_timer()

    def resume(self) -> None:
        self.paused = False
        self._capture_now()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _capture_now(self) -> None:
        """Start a capture of the watched sprite unless paused or one is in flight (that one
        starts the next when it ends)."""
        self._timer = None
        if self.watching is None or self.paused or self.in_flight:
            return
        self.in_flight = True
        self.captures += 1
        # the method, not a coroutine: a worker never run (quitting) leaves nothing unawaited
        capture = partial(self._capture, self.watching)
        self.scheduler.run_worker(capture, group="preview", exit_on_error=False)

    async def _capture(self, name: str) -> None:
        again = True
        try:
            preview = Preview(name, screen=await self.capture(name))
        except Exception as exc:  # the preview outlives any failure: it says it instead
            preview = preview_of(name, exc)
            again = not isinstance(exc, NotSupported)
        finally:
            self.in_flight = False
        if self.paused or name != self.watching:
            self._capture_now()  # the sprite now watched, at once
            return
        self.publish(preview)
        if again:
            self._timer = self.scheduler.set_timer(self.interval, self._capture_now)
