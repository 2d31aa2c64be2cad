"""What the dashboard shows, computed without Textual: table rows, sort keys, gauges, history.

Rows are plain, hashable data so a refresh can be diffed cheaply: only cells whose text or style
changed are handed to the table. Everything here may run off the UI thread.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from rich.cells import cell_len, set_cell_size

from wreckit_tui.models import Fleet, Sprite
from wreckit_tui.text import (
    UNKNOWN,
    format_duration,
    format_mib,
    format_mib_short,
    format_number,
    sanitize,
    state_style,
)

HISTORY_LENGTH = 60
BAR_WIDTH = 4
_EIGHTHS = " ▏▎▍▌▋▊▉█"
_STATE_ORDER = {"error": 0, "starting": 1, "running": 2, "stopping": 3, "stopped": 4, "": 6}


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


class Row(NamedTuple):
    """One sprite as the table shows it: its key, its cells and its sort keys.

    Plain tuples all the way down, so comparing two polls' rows runs at C speed.
    """

    key: str
    cells: tuple[Cell, ...]
    sort_keys: tuple[Any, ...]


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
    return sanitize(sprite.name)


def _state_words(sprite: Sprite) -> str:
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


def _url_words(sprite: Sprite) -> str:
    """The URL without its ``https://`` (the detail pane and JSON have it all)."""
    return sanitize(sprite.url.removeprefix("https://")) if sprite.url else UNKNOWN


def _plain(words: Callable[[Sprite], str], style: str = "") -> Callable[[Sprite], Cell]:
    def render(sprite: Sprite) -> Cell:
        text = words(sprite)
        return Cell(text, "dim" if text == UNKNOWN else style)

    return render


def _state_cell(sprite: Sprite) -> Cell:
    return Cell(_state_words(sprite), state_style(sprite.state))


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
        "state", "STATE", _state_words, _state_cell, lambda s: _state_sort_key(s.state), 8,
        fixed=True,
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
    Column("url", "URL", _url_words, _plain(_url_words), lambda s: s.url, 40),
)  # fmt: skip
COLUMN_KEYS = tuple(column.key for column in COLUMNS)


def fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal cells, ending in an ellipsis when it was longer."""
    if len(text) <= width and cell_len(text) <= width:
        return text
    return set_cell_size(text, width - 1).rstrip() + "…"


def _cell(column: Column, sprite: Sprite) -> Cell:
    cell = column.render(sprite)
    text = fit(cell.text, column.width)
    return cell if text is cell.text else Cell(text, cell.style)


def build_row(sprite: Sprite) -> Row:
    """The table row of one sprite."""
    return Row(
        key=sprite.name,
        cells=tuple(_cell(column, sprite) for column in COLUMNS),
        sort_keys=tuple(column.sort_key(sprite) for column in COLUMNS),
    )


def build_rows(fleet: Fleet) -> tuple[Row, ...]:
    """Rows of every sprite, in wisp's order."""
    return tuple(build_row(sprite) for sprite in fleet.sprites)


def with_pending(
    rows: Sequence[Row],
    by_name: Mapping[str, Sprite],
    starting: Mapping[str, Sprite],
    stopping: Collection[str],
) -> Sequence[Row]:
    """``rows`` with sprites being killed shown as ``stopping``, stopped ones being started again
    as ``starting``, and starts not yet listed."""
    if not starting and not stopping:
        return rows
    shown = [
        build_row(by_name[row.key].model_copy(update={"state": "stopping"}))
        if row.key in stopping
        else build_row(starting[row.key])
        if row.key in starting and by_name[row.key].state == "stopped"
        else row
        for row in rows
    ]
    shown.extend(build_row(sprite) for name, sprite in starting.items() if name not in by_name)
    return shown


def matches(name: str, query: str) -> bool:
    """The filter: a case-insensitive substring of the name."""
    return query.casefold() in name.casefold()


# -- fleet-wide figures ------------------------------------------------------------------------


@dataclass(frozen=True)
class Host:
    """The machine the gauges compare against."""

    cores: int
    memory_mib: float

    @classmethod
    def detect(cls) -> Host:
        import psutil

        return cls(cores=psutil.cpu_count() or 1, memory_mib=psutil.virtual_memory().total / 2**20)


@dataclass(frozen=True)
class Gauge:
    """One fleet gauge: a value against a total, and what 100 % means.

    ``short_text`` and ``short_meaning`` say the same in fewer cells, for a narrow terminal.
    """

    label: str
    value: float
    total: float
    text: str
    meaning: str
    short_text: str = ""
    short_meaning: str = ""

    @property
    def fraction(self) -> float:
        return self.value / self.total if self.total else 0.0


def _of(value: float, total: float) -> str:
    return f"{format_number(value)}/{format_number(total)}"


def fleet_gauges(fleet: Fleet, host: Host, max_vms: int) -> tuple[Gauge, ...]:
    """VMs against the quota, vCPUs and memory against the host, and CPU in use.

    Every gauge's figure is in the unit of its bar: CPU in use is a share of all host cores
    (two sprites each using one full core of two make 100 %), not a sum of per-core percents.
    """
    sprites = [sprite for sprite in fleet.sprites if sprite.active]
    vcpus = sum(sprite.cpus or 0 for sprite in sprites)
    memory = sum(sprite.memory_mib or 0 for sprite in sprites)
    cpu = sum(sprite.cpu_percent or 0 for sprite in sprites)
    plural = "s" if host.cores != 1 else ""
    cores, short_cores = f"{host.cores} host core{plural}", f"{host.cores} core{plural}"
    overcommitted = vcpus > host.cores
    in_use = cpu / host.cores
    return (
        Gauge("VMs", len(sprites), max_vms, f"{len(sprites)}/{max_vms}", "100% = max_vms"),
        Gauge(
            "vCPUs",
            vcpus,
            host.cores,
            _of(vcpus, host.cores),
            f"100% = {cores}; shared" if overcommitted else f"100% = {cores}",
            short_meaning=f"shared: {short_cores}" if overcommitted else f"100% = {short_cores}",
        ),
        Gauge(
            "Memory",
            memory,
            host.memory_mib,
            f"{format_mib(memory)}/{format_mib(host.memory_mib)}",
            "100% = host memory",
            short_text=f"{format_mib_short(memory)}/{format_mib_short(host.memory_mib)}",
            short_meaning="100% = host",
        ),
        Gauge(
            "CPU in use",
            cpu,
            host.cores * 100,
            f"{in_use:.0f}%",
            f"100% = all {cores}",
            short_meaning=f"100% = {short_cores}",
        ),
    )


class History:
    """CPU and memory of each sprite over its last ``HISTORY_LENGTH`` polls.

    Recorded by the poll worker off the UI thread and read by the UI, hence the lock.
    """

    def __init__(self, length: int = HISTORY_LENGTH) -> None:
        self.length = length
        self._cpu: dict[str, deque[float]] = {}
        self._memory: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def record(self, fleet: Fleet) -> None:
        names = fleet.names()
        with self._lock:
            for series in (self._cpu, self._memory):
                for gone in series.keys() - names:
                    del series[gone]
            for sprite in fleet.sprites:
                self._append(self._cpu, sprite.name, sprite.cpu_percent)
                self._append(self._memory, sprite.name, sprite.memory_used_mib)

    def series(self, name: str) -> tuple[list[float], list[float]]:
        """CPU % and memory used of ``name``, oldest first."""
        with self._lock:
            return list(self._cpu.get(name, ())), list(self._memory.get(name, ()))

    def _append(self, series: dict[str, deque[float]], name: str, value: float | None) -> None:
        points = series.get(name)
        if points is None:
            points = series[name] = deque(maxlen=self.length)
        if value is not None:  # an unknown figure is no point, not a zero
            points.append(float(value))


WARNINGS_SHOWN = 3
"""New warnings a notification quotes; the header counts them all."""


def warning_note(before: Fleet, after: Fleet) -> str | None:
    """One notification for the warnings ``after`` has and ``before`` had not, or ``None``.

    The warnings are compared as sets, so this costs O(warnings) whatever their number.
    """
    known = set(before.warnings)
    new = [warning for warning in after.warnings if warning not in known]
    if not new:
        return None
    if after.warning_count == 1:
        return f"wisp list: {new[0]}"
    quoted = "\n".join(new[:WARNINGS_SHOWN])
    return f"wisp list: {after.warning_count:,} warnings about its output, among them:\n{quoted}"


@dataclass(frozen=True)
class FleetView:
    """One good poll made ready for the screen, built off the UI thread.

    ``warning_note``: what to say about warnings that the previous poll did not have.
    """

    fleet: Fleet = field(default_factory=Fleet)
    rows: tuple[Row, ...] = ()
    by_name: Mapping[str, Sprite] = field(default_factory=dict)
    gauges: tuple[Gauge, ...] = ()
    running: int = 0
    isolations: tuple[str, ...] = ()
    delta: RowDelta | None = None
    warning_note: str | None = None


def _row_of(sprite: Sprite, previous: FleetView, old_rows: Mapping[str, Row]) -> Row:
    """The previous row object when the sprite did not change, else a new row."""
    if previous.by_name.get(sprite.name) == sprite and sprite.name in old_rows:
        return old_rows[sprite.name]
    row = build_row(sprite)
    old = old_rows.get(sprite.name)
    return old if old == row else row


class RowDelta(NamedTuple):
    """How ``rows`` differ from ``base``: keys gone, rows added, rows changed."""

    base: Sequence[Row]
    removed: tuple[str, ...]
    added: tuple[Row, ...]
    changed: tuple[Row, ...]


def diff_rows(before: Mapping[str, Row], rows: Sequence[Row], base: Sequence[Row] = ()) -> RowDelta:
    """Compare ``rows`` with ``before`` (by key); an identical object is unchanged at once."""
    keys = {row.key for row in rows}
    removed = tuple(key for key in before if key not in keys)
    added, changed = [], []
    for row in rows:
        old = before.get(row.key)
        if old is None:
            added.append(row)
        elif old is not row and old != row:
            changed.append(row)
    return RowDelta(base, removed, tuple(added), tuple(changed))


def view_of(fleet: Fleet, host: Host, max_vms: int, previous: FleetView | None = None) -> FleetView:
    """Everything the dashboard shows of ``fleet``; O(sprites), so run it off the UI thread.

    Rows of sprites that did not change since ``previous`` are the previous row objects, and
    ``delta`` says what changed, so the UI applies a poll in time proportional to the change.
    """
    if previous is None:
        rows, delta = build_rows(fleet), None
    else:
        old = {row.key: row for row in previous.rows}
        rows = tuple(_row_of(sprite, previous, old) for sprite in fleet.sprites)
        delta = diff_rows(old, rows, base=previous.rows)
    return FleetView(
        fleet=fleet,
        rows=rows,
        by_name={sprite.name: sprite for sprite in fleet.sprites},
        gauges=fleet_gauges(fleet, host, max_vms),
        running=sum(1 for sprite in fleet.sprites if sprite.state == "running"),
        isolations=tuple(fleet.isolations),
        delta=delta,
        warning_note=warning_note(previous.fleet if previous else Fleet(), fleet),
    )


@dataclass
class FleetState:
    """The last good poll, the history, and the error of the last poll if it failed."""

    view: FleetView = field(default_factory=FleetView)
    history: History = field(default_factory=History)
    error: str | None = None
    last_ok: float | None = None
    polls: int = 0

    @property
    def fleet(self) -> Fleet:
        return self.view.fleet

    @property
    def rows(self) -> tuple[Row, ...]:
        return self.view.rows

    @property
    def by_name(self) -> Mapping[str, Sprite]:
        return self.view.by_name

    def succeeded(self, view: FleetView, now: float) -> None:
        self.view, self.error, self.last_ok = view, None, now
        self.polls += 1

    def failed(self, message: str) -> None:
        """Keep the last good poll; remember what went wrong."""
        self.error = message
        self.polls += 1
