"""A text field whose own editing keys keep their place among the keys typed around them."""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from wreckit_tui.textual_private import bindings_by_key


class FormInput(Input):
    """An ``Input`` that runs its own key bindings (ctrl+u, ctrl+w, enter...) as it reads them.

    Textual resolves a widget's bindings when the key has bubbled up to the app, while the
    widget inserts a typed character at once. In a burst of keys (a paste, a fast typist,
    ``tmux send-keys``), ``ctrl+u`` then ``bar`` would clear the field after ``bar`` was typed
    into it. Here every key takes effect in the order it was typed.
    """

    async def on_key(self, event: events.Key) -> None:
        bindings = bindings_by_key(self).get(event.key, ())
        action = next((b.action for b in bindings if not b.priority), None)
        if action is None or not self.check_action(action, ()):
            return
        event.stop()
        event.prevent_default()
        await self.run_action(action)
