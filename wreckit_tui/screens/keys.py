"""How the dashboard names and binds its keys."""

from __future__ import annotations

from textual.binding import Binding


def key_label(key: str) -> str:
    """``ctrl+]`` as a person reads it: ``Ctrl+]``."""
    return "+".join(part.capitalize() if len(part) > 1 else part for part in key.split("+"))


def dashboard_key(
    keys: str, action: str, description: str, tooltip: str, show: bool = True
) -> Binding:
    """A dashboard binding: a priority one, so that it acts in the order keys were typed."""
    return Binding(keys, action, description, show=show, tooltip=tooltip, priority=True)
