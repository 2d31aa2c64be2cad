"""Turning data into text for a terminal: sanitizing external strings and formatting numbers.

Everything ``wisp`` prints is data. Before it is drawn, control characters (escape sequences
included) are removed; callers wrap the result in ``rich.text.Text`` so markup is never parsed.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
ESCAPE_SEQUENCE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|.)")
"""A terminal escape sequence: CSI (colours, cursor moves), OSC (titles, links) or ESC + one."""

UNKNOWN = "—"
STATE_STYLES = {
    "running": "green",
    "starting": "yellow",
    "stopping": "yellow",
    "stopped": "dim",
    "error": "bold red",
}


def state_style(state: str | None) -> str:
    """The Rich style a sprite state is drawn in."""
    return STATE_STYLES.get(state or "", "")


def sanitize(text: str) -> str:
    """``text`` without escape sequences (whole), control characters (C0, DEL, C1), bidi
    overrides or lone surrogates (JSON can carry them; no terminal can print them):
    ``\x1b[31mred\x1b[0m`` becomes ``red``."""
    if "\x1b" in text:
        text = ESCAPE_SEQUENCE.sub("", text)
    return _CONTROL.sub("", text)


def sanitize_lines(text: str) -> str:
    """``text`` sanitized line by line, its line breaks kept."""
    return "\n".join(sanitize(line) for line in text.splitlines())


def middle_ellipsis(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters by an ellipsis in the middle, keeping both ends."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 3
    return f"{text[:head]}…{text[len(text) - (limit - 1 - head) :]}"


def format_duration(seconds: float | None) -> str:
    """A compact duration such as ``45s``, ``12m 3s``, ``5h 2m`` or ``3d 4h``."""
    if seconds is None:
        return UNKNOWN
    total = max(int(seconds), 0)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def format_mib(mib: float | None) -> str:
    """A memory amount: ``512MiB``, ``1.5GiB``."""
    if mib is None:
        return UNKNOWN
    if mib >= 1024:
        return f"{mib / 1024:.1f}GiB".replace(".0GiB", "GiB")
    return f"{mib:.0f}MiB"


def format_mib_short(mib: float | None) -> str:
    """A memory amount in few cells: ``300M``, ``1.5G``, ``2G``."""
    if mib is None:
        return UNKNOWN
    if mib >= 1024:
        return f"{mib / 1024:.1f}".removesuffix(".0") + "G"
    return f"{mib:.0f}M"


def format_number(value: float | None, suffix: str = "") -> str:
    """A number without a useless ``.0``, or the unknown marker."""
    if value is None:
        return UNKNOWN
    text = f"{value:.1f}".removesuffix(".0")
    return f"{text}{suffix}"
