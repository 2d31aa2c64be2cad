"""Turning data into text for a terminal: sanitizing external strings and formatting numbers.

Everything ``wisp`` prints is data. Before it is drawn, control characters (escape sequences
included) are removed and invisible characters are shown as escapes; callers wrap the result in
``rich.text.Text`` so markup is never parsed.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
"""C0, DEL, C1 and lone surrogates (JSON can carry them; no terminal can print them): removed."""
ESCAPE_SEQUENCE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?|.)")
"""A terminal escape sequence: CSI (colours, cursor moves), a string (OSC: titles, links; DCS,
SOS, PM, APC) with its payload, or ESC + one."""
INVISIBLE = re.compile(
    "["
    "\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160"
    "\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufeff\uffa0"
    "\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e007f"
    "]"
)
r"""Characters a terminal draws as nothing, so that ``zw\u200bp`` would look like ``zwp``: every
format character (Unicode category Cf: zero-width spaces and joiners, bidi marks and overrides,
the soft hyphen, the BOM, tag characters), the line and paragraph separators, the Hangul
fillers, the combining grapheme joiner and the Mongolian and Khmer invisible marks. Variation
selectors are not among them: emoji need them. :func:`sanitize` shows them as escapes."""
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
    r"""``text`` safe and unambiguous on a terminal: escape sequences (whole) and control
    characters (C0, DEL, C1, lone surrogates) removed, invisible characters (:data:`INVISIBLE`)
    shown as escapes: ``\x1b[31mred\x1b[0m`` becomes ``red``, and a zero-width space becomes
    the six characters ``\u200b``."""
    if text.isascii() and text.isprintable():  # the usual case, decided at C speed
        return text
    if "\x1b" in text:
        text = ESCAPE_SEQUENCE.sub("", text)
    return escape_invisible(_CONTROL.sub("", text))


def escape_invisible(text: str) -> str:
    """``text`` with every invisible character written as a Python-style escape."""
    return INVISIBLE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def sanitize_lines(text: str) -> str:
    """``text`` sanitized line by line, its line breaks kept (U+2028 and U+2029 are escaped,
    not taken for line breaks)."""
    return "\n".join(sanitize(line) for line in escape_invisible(text).splitlines())


SGR = re.compile(r"\x1b\[[0-9;:]*m")
"""A colour or style sequence (Select Graphic Rendition), the one sequence ``sgr`` keeps."""


def sanitize_screen(text: str, *, sgr: bool = False) -> str:
    """A terminal's text made safe as :func:`sanitize_lines` does, tabs expanded; with ``sgr``
    its colour sequences are kept (and only those)."""
    lines = escape_invisible(text).expandtabs().splitlines()
    if not sgr:
        return "".join(sanitize(line) + "\n" for line in lines)
    kept = []
    for line in lines:
        pieces = SGR.split(line)
        styles = [*SGR.findall(line), ""]
        pairs = zip(pieces, styles, strict=True)
        kept.append("".join(sanitize(piece) + style for piece, style in pairs))
    return "".join(line + "\n" for line in kept)


def quoted(text: str) -> str:
    """``text`` sanitized between single quotes, for a message (``repr`` would double the
    backslash of an escape)."""
    return f"'{sanitize(text)}'"


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
