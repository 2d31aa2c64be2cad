"""Telling a person in a terminal that a sprite needs them: a bell, or a desktop notification.

``bell`` is BEL. ``desktop`` is OSC 777 (foot, urxvt, VTE terminals such as GNOME Terminal)
followed by OSC 9 (iTerm2, WezTerm, Windows Terminal, kitty); a terminal ignores the one it does
not know. Text from a sprite is data: control characters never reach the terminal.
"""

from __future__ import annotations

from wreckit_tui.text import sanitize

MODES = ("off", "bell", "desktop")
BEL = "\a"


def notification(mode: str, title: str, body: str) -> str:
    """What to write to the terminal for ``mode`` (empty for ``off``)."""
    if mode == "bell":
        return BEL
    if mode != "desktop":
        return ""
    title, body = _clean(title), _clean(body)
    return f"\x1b]777;notify;{title};{body}\x07\x1b]9;{title}: {body}\x07"


def _clean(text: str) -> str:
    """One line without control characters or the separator of OSC 777."""
    return sanitize(text).replace(";", ",")[:200]
