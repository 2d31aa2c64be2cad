"""The dialogs' common base: a modal screen that is answered once.

A second answer queued behind the first (a double click, enter then y, a key typed before the
screen was gone) finds the dialog already closed and does nothing: it never closes the screen
beneath, nor calls the answer's callback twice.
"""

from __future__ import annotations

from typing import TypeVar

from textual.await_complete import AwaitComplete
from textual.screen import ModalScreen

Answer = TypeVar("Answer")


class Dialog(ModalScreen[Answer]):
    """A modal screen whose :meth:`dismiss` acts only while it is the screen on top."""

    def dismiss(self, result: Answer | None = None) -> AwaitComplete:
        if not self.is_active:
            return AwaitComplete.nothing()
        return super().dismiss(result)
