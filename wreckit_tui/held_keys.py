"""Keys typed while a dialog opens wait for it: an App that holds them until it has its focus.

Textual sends a key to whatever has the focus when it reads the key. Without this, keys typed
right after the one that opens a dialog (``d`` then ``y``, fast) would reach the screen beneath.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, ClassVar

from textual import events
from textual.app import App
from textual.message import Message
from textual.screen import Screen

HOLD_LIMIT = 1.0
"""Seconds at most that keys wait for a dialog that is opening to take them."""


class KeyHoldingApp(App[int]):
    """Keys wait while a screen is being pushed, or while a message of ``HOLDING_MESSAGES``
    (a request that may open a dialog) is handled; then they go, in order, to what has the
    focus."""

    HOLDING_MESSAGES: ClassVar[tuple[type[Message], ...]] = ()

    def __init__(self) -> None:
        super().__init__()
        self._held: list[events.Key] | None = None
        """Keys typed while a dialog opens; None: none held."""
        self._holds = 0

    @property
    def keys_held(self) -> bool:
        """Whether keys wait for a dialog that is opening or a request being handled."""
        return self._held is not None

    def push_screen(self, screen: Screen | str, *args: Any, **kwargs: Any) -> Any:
        """Open a screen; keys typed from now until it has its focus wait for it."""
        hold = self._hold()
        result = super().push_screen(screen, *args, **kwargs)
        self.screen.call_later(self.call_later, self._release_keys, hold)
        self.set_timer(HOLD_LIMIT, partial(self._release_keys, hold))
        return result

    def post_message(self, message: Message) -> bool:
        """A holding message keeps the keys typed after it until it is handled."""
        if not isinstance(message, self.HOLDING_MESSAGES):
            return super().post_message(message)
        hold = self._hold()
        posted = super().post_message(message)
        self.call_later(self._release_keys, hold)  # runs once the message is handled
        return posted

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded and self._held is not None:
            self._held.append(event)
            return
        await super().on_event(event)

    def hold_keys(self) -> Callable[[], Awaitable[None]]:
        """Hold the keys typed from now on; awaiting the returned callable delivers them (to
        what has the focus then), unless a newer hold is still on."""
        return partial(self._release_keys, self._hold())

    def _hold(self) -> int:
        """Start holding keys (or go on); the number of this hold."""
        self._held = self._held if self._held is not None else []
        self._holds += 1
        return self._holds

    async def _release_keys(self, hold: int) -> None:
        """Deliver the held keys, in order, once the newest hold ends."""
        if hold != self._holds or self._held is None:
            return
        held, self._held = self._held, None
        for event in held:
            await self.on_event(event)  # one may open another dialog, which holds the rest
