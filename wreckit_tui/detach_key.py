"""The detach key: which ``ctrl+X`` names are accepted, the byte each sends, its label, the banner.

No terminal or process code: the configuration checks a key with it without loading the attach
passthrough.
"""

from __future__ import annotations

from wreckit_tui.errors import ConfigError
from wreckit_tui.text import sanitize

DEFAULT_DETACH_KEY = "ctrl+]"

_NAMED_KEYS = {
    "@": "@",
    "space": "@",
    "at": "@",
    "\\": "\\",
    "backslash": "\\",
    "]": "]",
    "right_square_bracket": "]",
    "^": "^",
    "circumflex_accent": "^",
    "_": "_",
    "underscore": "_",
}
_REFUSED = {
    "[": "it is Escape, which starts every arrow and function key",
    "left_square_bracket": "it is Escape, which starts every arrow and function key",
    "c": "Ctrl+C must reach the sprite",
    "i": "it is Tab",
    "j": "it is a line feed, Enter to many programs",
    "m": "it is Enter",
}


def _parse_key(key: str) -> str:
    """The character after ``ctrl+`` in ``key`` (``ctrl+]`` -> ``]``); ConfigError if unusable."""
    text = key.strip().lower()
    modifier, sep, rest = text.replace("-", "+", 1).partition("+")
    if modifier != "ctrl" or not sep or not rest:
        raise ConfigError(
            f"detach_key {key!r} is not a control key: use ctrl+ followed by a letter "
            "or one of @ \\ ] ^ _ (e.g. ctrl+])"
        )
    if rest in _REFUSED:
        raise ConfigError(f"detach_key {key!r} cannot be used: {_REFUSED[rest]}")
    if len(rest) == 1 and "a" <= rest <= "z":
        return rest
    if rest in _NAMED_KEYS:
        return _NAMED_KEYS[rest]
    raise ConfigError(
        f"detach_key {key!r} is not a key a terminal sends as one byte: use ctrl+ followed "
        "by a letter or one of @ \\ ] ^ _ (e.g. ctrl+])"
    )


def detach_byte(key: str) -> bytes:
    """The byte a terminal sends for ``key``: ``ctrl+]`` is 0x1d, ``ctrl+a`` is 0x01.

    Accepts ``ctrl+X`` or ``ctrl-X`` (any case) where X is a letter, ``@``, ``\\``, ``]``, ``^``
    or ``_`` (Textual's names such as ``right_square_bracket`` too). Raises :class:`ConfigError`
    for anything else, and for keys a sprite needs (Ctrl+C, Escape, Tab, Enter).
    """
    return bytes([ord(_parse_key(key).upper()) & 0x1F])


def key_label(key: str) -> str:
    """How to name ``key`` to a person: ``ctrl+]`` -> ``Ctrl+]``. Raises :class:`ConfigError`."""
    return f"Ctrl+{_parse_key(key).upper()}"


def split_at_detach(keys: bytes, detach: bytes) -> tuple[bytes, bool]:
    """What of one read of ``keys`` goes to the sprite, and whether it held the detach byte.

    The detach byte counts anywhere in the read: the keys before it are forwarded, the rest
    dropped.
    """
    cut = keys.find(detach)
    return (keys, False) if cut < 0 else (keys[:cut], True)


def banner(name: str, detach_key: str = DEFAULT_DETACH_KEY) -> str:
    """The one line shown before attaching: ``Attached to NAME — detach with Ctrl+]``."""
    return f"Attached to {sanitize(name)} — detach with {key_label(detach_key)}"
