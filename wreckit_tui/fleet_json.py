"""Decoding the top-level list of ``wisp list --json`` one entry at a time.

``json.loads`` would build every entry of a hostile list (200,000 sprites fit in the output
cap) before anyone could count them. :func:`fleet_items` decodes the list entry by entry with
``JSONDecoder.raw_decode``: it keeps the first ``limit`` and only counts the others, so the
memory a list costs is bounded by the limit, whatever its length. The whole text is still
checked to be one JSON document.
"""

from __future__ import annotations

import json
import re
from typing import Any

from wreckit_tui.errors import WispBadOutput
from wreckit_tui.text import sanitize


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_SPACE = re.compile(r"[ \t\n\r]*")


class _Items(tuple):
    """A decoded array: its first entries (up to the limit) and how many it had in all."""


def fleet_items(stdout: bytes | bytearray, limit: int) -> tuple[list[Any], int]:
    """The first ``limit`` entries of the top-level list (bare, or as ``{"sprites": [...]}``)
    and how many entries it has in all. Raises :class:`WispBadOutput` and nothing else."""
    text = stdout.decode("utf-8", errors="replace")
    if not text.strip():
        raise WispBadOutput("empty output where a JSON list was expected")
    try:
        found, end = _document(text, _skip(text, 0), limit)
        if _skip(text, end) != len(text):
            raise ValueError(f"Extra data (char {_skip(text, end)})")
    except (ValueError, RecursionError) as exc:
        raise WispBadOutput(f"not valid JSON ({short_error(exc)})") from None
    if not isinstance(found, _Items):
        kind = type(found).__name__
        raise WispBadOutput(f'expected a JSON array or {{"sprites": [...]}}, got {kind}')
    items, count = found
    return items, count


def short_error(exc: BaseException, limit: int = 120) -> str:
    """An exception's message, sanitized and cut to ``limit`` characters."""
    text = sanitize(str(exc)) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _skip(text: str, pos: int) -> int:
    """Past the JSON white space at ``pos``."""
    return _SPACE.match(text, pos).end()  # type: ignore[union-attr]


def _document(text: str, pos: int, limit: int) -> tuple[Any, int]:
    """The top-level value and where it ends: an array as :class:`_Items`, an object as its
    ``sprites`` (an array of which likewise; ``{}`` when it has none), anything else decoded."""
    if text.startswith("[", pos):
        return _array(text, pos + 1, limit)
    if not text.startswith("{", pos):
        return _DECODER.raw_decode(text, pos)
    found: Any = {}
    pos = _skip(text, pos + 1)
    if text.startswith("}", pos):
        return found, pos + 1
    closed = False
    while not closed:
        key, pos = _DECODER.raw_decode(text, pos)
        pos = _skip(text, pos)
        if not isinstance(key, str) or not text.startswith(":", pos):
            raise ValueError(f"Expecting a property name and ':' (char {pos})")
        pos = _skip(text, pos + 1)
        if key == "sprites" and text.startswith("[", pos):
            found, pos = _array(text, pos + 1, limit)
        elif key == "sprites":
            found, pos = _DECODER.raw_decode(text, pos)
        else:
            _, pos = _DECODER.raw_decode(text, pos)
        pos, closed = _separator(text, pos, "}")
    return found, pos


def _array(text: str, pos: int, limit: int) -> tuple[_Items, int]:
    """The array whose ``[`` is just before ``pos`` (its first ``limit`` entries kept, the
    others decoded one at a time and dropped) and where it ends."""
    items: list[Any] = []
    count = 0
    pos = _skip(text, pos)
    closed = text.startswith("]", pos)
    pos += closed
    while not closed:
        item, pos = _DECODER.raw_decode(text, pos)
        count += 1
        if count <= limit:
            items.append(item)
        pos, closed = _separator(text, pos, "]")
    return _Items((items, count)), pos


def _separator(text: str, pos: int, closing: str) -> tuple[int, bool]:
    """Past the ``,`` (and the white space after it) or the ``closing`` bracket at ``pos``,
    and whether it was the bracket."""
    pos = _skip(text, pos)
    if text.startswith(",", pos):
        return _skip(text, pos + 1), False
    if text.startswith(closing, pos):
        return pos + 1, True
    raise ValueError(f"Expecting ',' delimiter (char {pos})")
