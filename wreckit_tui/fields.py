"""A sprite's fields, defined once: the table's columns and the detail pane's lines.

The dashboard's table, the headless table and the detail pane all render these; nothing here
imports Textual, so it may run off the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from rich.cells import cell_len, set_cell_size

from wreckit_tui.models import Sprite
from wreckit_tui.text import (
    UNKNOWN,
    format_duration,
    format_mib,
    format_mib_short,
    format_number,
    sanitize,
    state_style,
)

BAR_WIDTH = 4
_EIGHTHS = " ▏▎▍▌▋▊▉█"
_STATE_ORDER = {"error": 0, "starting": 1, "running": 2, "stopping": 3, "stopped": 4, "": 6}
_ACTIVITY_ORDER = {"waiting": 0, "working": 1, "idle": 2, "exited": 3}
_ACTIVITY_STYLE = {"waiting": "bold yellow", "working": "green", "idle": "", "exited": "dim"}


class Cell(NamedTuple):
    """The text of one table cell and its Rich style."""

    text: str
    style: str = ""


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the sprite table, shared by the dashboard and the headless table.

    ``words`` is the plain text of a cell (what the headless table prints), ``render`` the
    dashboard's cell (which may add a bar). ``width`` caps the cell's width: longer text ends in
    an ellipsis (the detail pane and JSON output keep it whole); a ``fixed`` column is always that
    wide, so a value that comes and goes (``starting``) never shifts the columns after it.
    ``sort_key`` is None where the value is unknown: unknowns sort last in both directions.
    ``highest_first``: the first sort by this column puts the highest value on top.
    """

    key: str
    label: str
    words: Callable[[Sprite], str]
    render: Callable[[Sprite], Cell]
    sort_key: Callable[[Sprite], Any]
    width: int
    numeric: bool = False
    fixed: bool = False
    highest_first: bool = False


def bar(fraction: float | None, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of ``width`` cells drawn with eighth blocks."""
    if fraction is None:
        return " " * width
    eighths = round(min(max(fraction, 0.0), 1.0) * width * 8)
    full, rest = divmod(eighths, 8)
    partial = _EIGHTHS[rest] if rest else ""
    return ("█" * full + partial).ljust(width)


def level_style(fraction: float | None) -> str:
    if fraction is None:
        return ""
    if fraction >= 0.9:
        return "red"
    return "yellow" if fraction >= 0.7 else "green"


def _ratio(part: float | None, whole: float | None) -> float | None:
    if part is None or not whole:
        return None
    return part / whole


def _state_sort_key(state: str | None) -> tuple[int, str]:
    """Errors first, then starting, running, stopping, stopped, other states, unknown."""
    return (_STATE_ORDER.get(state or "", 5), state or "")


def _name_words(sprite: Sprite) -> str:
    """The name on its backend (with several backends BACKEND has the rest)."""
    return sanitize(sprite.name.partition("/")[2] if sprite.backend else sprite.name)


def _backend_words(sprite: Sprite) -> str:
    """The backend's name, and ``stale`` when its last list failed."""
    if sprite.backend is None:
        return UNKNOWN
    return sanitize(sprite.backend) + (" stale" if sprite.stale else "")


def _backend_cell(sprite: Sprite) -> Cell:
    return Cell(_backend_words(sprite), "dim red" if sprite.stale else "cyan")


def _state_words(sprite: Sprite) -> str:
    """The state; for a stopped sprite whose program ended, its exit status: ``exit 3``."""
    if sprite.state == "stopped" and sprite.exit_code is not None:
        return f"exit {sprite.exit_code}"
    return sanitize(sprite.state or UNKNOWN)


def _cpus_words(sprite: Sprite) -> str:
    return format_number(sprite.cpus)


def _cpu_words(sprite: Sprite) -> str:
    """CPU in use, where 100 % = one vCPU."""
    if sprite.cpu_percent is None:
        return UNKNOWN
    return f"{sprite.cpu_percent:.0f}%"


def _memory_words(sprite: Sprite) -> str:
    """Memory used of allocated: ``300M/512M``."""
    return f"{format_mib_short(sprite.memory_used_mib)}/{format_mib_short(sprite.memory_mib)}"


def _uptime_words(sprite: Sprite) -> str:
    return format_duration(sprite.uptime_seconds)


def _command_words(sprite: Sprite) -> str:
    """The sprite's main program as started; the unknown marker for a shell."""
    return sanitize(sprite.command) if sprite.command else UNKNOWN


def short_duration(seconds: float) -> str:
    """One unit, rounded down: ``12s``, ``3m``, ``5h``, ``2d``."""
    total = max(int(seconds), 0)
    for size, unit in ((86_400, "d"), (3_600, "h"), (60, "m")):
        if total >= size:
            return f"{total // size}{unit}"
    return f"{total}s"


def _activity_words(sprite: Sprite) -> str:
    """``working 12s``, ``waiting 3m``, ``idle``, ``exited 3``; the unknown marker."""
    state = sprite.activity
    if state is None:
        return UNKNOWN
    if state == "exited":
        return f"exited {sprite.exit_code}" if sprite.exit_code is not None else "exited"
    if state in ("working", "waiting") and sprite.activity_seconds is not None:
        return f"{state} {short_duration(sprite.activity_seconds)}"
    return sanitize(state)


def _activity_sort_key(sprite: Sprite) -> tuple[int, float] | None:
    """Waiting first, then working, idle and exited; the longest at it first within each."""
    if sprite.activity is None:
        return None
    return (_ACTIVITY_ORDER.get(sprite.activity, 4), -(sprite.activity_seconds or 0.0))


def activity_cell(sprite: Sprite) -> Cell:
    """The ACTIVITY cell: waiting stands out, an exit status other than 0 is red."""
    text = _activity_words(sprite)
    if sprite.activity == "exited" and sprite.exit_code not in (None, 0):
        return Cell(text, "red")
    return Cell(text, _ACTIVITY_STYLE.get(sprite.activity or "", "dim"))


def _url_words(sprite: Sprite) -> str:
    """The URL without its ``https://`` (the detail pane and JSON have it all)."""
    return sanitize(sprite.url.removeprefix("https://")) if sprite.url else UNKNOWN


def _plain(words: Callable[[Sprite], str], style: str = "") -> Callable[[Sprite], Cell]:
    def render(sprite: Sprite) -> Cell:
        text = words(sprite)
        return Cell(text, "dim" if text == UNKNOWN else style)

    return render


def state_cell(sprite: Sprite) -> Cell:
    """The STATE cell: the state in its colour; the exit status of a program that ended,
    in red when it is not 0."""
    failed = sprite.state == "stopped" and sprite.exit_code not in (None, 0)
    return Cell(_state_words(sprite), "red" if failed else state_style(sprite.state))


def _cpu_cell(sprite: Sprite) -> Cell:
    """A bar against the sprite's vCPUs and the number (100 % = one vCPU)."""
    if sprite.cpu_percent is None:
        return Cell(f"{bar(None)} {UNKNOWN:>4}", "dim")
    fraction = _ratio(sprite.cpu_percent, (sprite.cpus or 1) * 100)
    return Cell(f"{bar(fraction)} {_cpu_words(sprite):>4}", level_style(fraction))


def _memory_cell(sprite: Sprite) -> Cell:
    fraction = _ratio(sprite.memory_used_mib, sprite.memory_mib)
    text = f"{bar(fraction)} {_memory_words(sprite)}"
    return Cell(text, level_style(fraction) if fraction is not None else "dim")


COLUMNS: tuple[Column, ...] = (
    Column("name", "NAME", _name_words, _plain(_name_words, "bold"), lambda s: s.name, 32),
    Column(
        "state", "STATE", _state_words, state_cell, lambda s: _state_sort_key(s.state), 8,
        fixed=True,
    ),
    Column(
        "activity", "ACTIVITY", _activity_words, activity_cell, _activity_sort_key, 11,
    ),
    Column(
        "cpus", "CPUS", _cpus_words, _plain(_cpus_words), lambda s: s.cpus, 5,
        numeric=True, highest_first=True,
    ),
    Column(
        "cpu", "CPU %", _cpu_words, _cpu_cell, lambda s: s.cpu_percent, 10,
        numeric=True, fixed=True, highest_first=True,
    ),
    Column(
        "memory", "MEMORY", _memory_words, _memory_cell, lambda s: s.memory_used_mib, 15,
        highest_first=True,
    ),
    Column(
        "uptime", "UPTIME", _uptime_words, _plain(_uptime_words), lambda s: s.uptime_seconds, 8,
        numeric=True, highest_first=True,
    ),
    Column(
        "command", "COMMAND", _command_words, _plain(_command_words), lambda s: s.command, 24
    ),
    Column("url", "URL", _url_words, _plain(_url_words), lambda s: s.url, 40),
)  # fmt: skip
COLUMN_KEYS = tuple(column.key for column in COLUMNS)
BACKEND = Column(
    "backend", "BACKEND", _backend_words, _backend_cell, lambda s: s.backend, 20
)  # fmt: skip
BACKEND_COLUMNS = (COLUMNS[0], BACKEND, *COLUMNS[1:])
"""The columns with several backends: BACKEND after NAME."""


def columns_for(backends: int) -> tuple[Column, ...]:
    """The table's columns with ``backends`` backends (BACKEND only from two)."""
    return BACKEND_COLUMNS if backends > 1 else COLUMNS


def fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal cells, ending in an ellipsis when it was longer."""
    if len(text) <= width and (text.isascii() or cell_len(text) <= width):
        return text
    return set_cell_size(text, width - 1).rstrip() + "…"


def render_cell(column: Column, sprite: Sprite) -> Cell:
    """The dashboard's cell of ``column`` for ``sprite``, cut to the column's width (dim
    where its backend's last list failed)."""
    cell = column.render(sprite)
    if sprite.stale and column is not BACKEND:
        cell = Cell(cell.text, "dim")
    text = fit(cell.text, column.width)
    return cell if text is cell.text else Cell(text, cell.style)


def table_cells(sprite: Sprite, columns: tuple[Column, ...] = COLUMNS) -> tuple[str, ...]:
    """The plain text of each column for one sprite, each cut to its column's width with an
    ellipsis (the detail pane and ``--json`` keep every value whole)."""
    return tuple(fit(column.words(sprite), column.width) for column in columns)


def _text(value: object) -> str:
    return UNKNOWN if value is None else sanitize(str(value))


DETAIL_FIELDS: tuple[tuple[str, Callable[[Sprite], str]], ...] = (
    ("name", _name_words),
    ("state", lambda s: _text(s.state)),
    ("command", lambda s: _text(s.command)),
    ("exit code", lambda s: _text(s.exit_code)),
    ("title", lambda s: _text(s.title)),
    ("last output", lambda s: _text(s.activity_at)),
    ("id", lambda s: _text(s.id)),
    ("cpus", _cpus_words),
    ("CPU in use", lambda s: format_number(s.cpu_percent, "%") + " (100% = 1 vCPU)"),
    ("memory", lambda s: format_mib(s.memory_mib)),
    ("memory used", lambda s: format_mib(s.memory_used_mib)),
    ("uptime", _uptime_words),
    ("created", lambda s: _text(s.created_at)),
    ("url", lambda s: _text(s.url)),
    ("pid", lambda s: _text(s.pid)),
    ("address", lambda s: _text(s.address)),
    ("isolation", lambda s: _text(s.isolation)),
)
"""Every field of a sprite as the detail pane lists it: label, and its whole literal text."""


def sprite_fields(sprite: Sprite) -> list[tuple[str, str]]:
    """Every field of ``sprite`` as label and literal text (with several backends, its
    backend after its name)."""
    fields = [(label, words(sprite)) for label, words in DETAIL_FIELDS]
    return (
        [*fields[:1], ("backend", _backend_words(sprite)), *fields[1:]]
        if sprite.backend
        else fields
    )
