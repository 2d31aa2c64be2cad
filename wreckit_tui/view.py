"""What the dashboard shows, as immutable data: one poll's rows, gauges and history, and the
snapshot the app hands down to the screen.

Nothing here imports Textual and nothing is changed once built, so a poll's view is built off
the UI thread and read on it without locks. Rows are plain tuples, so comparing two polls' rows
runs at C speed, and a sprite that did not change keeps its row object.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, NamedTuple, TypeAlias

from wreckit_tui.capacity import Gauge, Host, fleet_gauges
from wreckit_tui.fields import COLUMNS, Cell, Column, render_cell
from wreckit_tui.models import Fleet, Sprite
from wreckit_tui.operations import Pending
from wreckit_tui.watching import Seen, annotate, needing_attention

Series: TypeAlias = tuple[tuple[float, ...], tuple[float, ...]]
"""CPU % and memory used (MiB) of one sprite over its last polls, oldest first."""
HISTORY_LENGTH = 60
WARNINGS_SHOWN = 3
"""New warnings a notification quotes; the header counts them all."""
NO_SERIES: Series = ((), ())
EMPTY: Mapping[str, Any] = MappingProxyType({})


class Row(NamedTuple):
    """One sprite as the table shows it: its key, its cells and its sort keys."""

    key: str
    cells: tuple[Cell, ...]
    sort_keys: tuple[Any, ...]


def build_row(sprite: Sprite, columns: tuple[Column, ...] = COLUMNS) -> Row:
    """The table row of one sprite."""
    return Row(
        key=sprite.name,
        cells=tuple(render_cell(column, sprite) for column in columns),
        sort_keys=tuple(column.sort_key(sprite) for column in columns),
    )


class RowDelta(NamedTuple):
    """How new rows differ from the rows before: keys gone, rows added, rows changed."""

    removed: tuple[str, ...]
    added: tuple[Row, ...]
    changed: tuple[Row, ...]


def diff_rows(before: Mapping[str, Row], rows: Sequence[Row]) -> RowDelta:
    """Compare ``rows`` with ``before`` (by key); an identical object is unchanged at once, so
    a poll that changed few rows costs one pass at C speed and work for those few."""
    get = before.get
    differing = [row for row in rows if get(row.key) is not row]
    added = tuple(row for row in differing if row.key not in before)
    changed = tuple(row for row in differing if row.key in before and before[row.key] != row)
    if len(rows) - len(added) == len(before):  # every key before is still there
        return RowDelta((), added, changed)
    keys = {row.key for row in rows}
    return RowDelta(tuple(key for key in before if key not in keys), added, changed)


def matches(name: str, query: str) -> bool:
    """The filter: a case-insensitive substring of the name."""
    return query.casefold() in name.casefold()


class RowFilter:
    """The filter (:func:`matches`) over the rows, incremental: a query that extends the last
    one, over the same rows, searches only the rows the last one let through; rows that all
    match come back as the same tuple (which the table takes as unchanged at once)."""

    def __init__(self) -> None:
        self._rows: tuple[Row, ...] = ()
        self._query = ""
        self._shown: tuple[Row, ...] = ()

    def __call__(self, rows: tuple[Row, ...], query: str) -> tuple[Row, ...]:
        narrower = rows is self._rows and bool(self._query) and self._query in query.casefold()
        folded = query.casefold()
        shown = _search(self._shown if narrower else rows, folded) if folded else rows
        self._rows, self._query, self._shown = rows, folded, shown
        return rows if len(shown) == len(rows) else shown


def _search(rows: tuple[Row, ...], folded: str) -> tuple[Row, ...]:
    return tuple(row for row in rows if folded in row.key.casefold())


def _extended(points: tuple[float, ...], value: float | None) -> tuple[float, ...]:
    if value is None:  # an unknown figure is no point, not a zero
        return points
    return (*points[1 - HISTORY_LENGTH :], float(value)) if points else (float(value),)


def record_history(before: Mapping[str, Series], fleet: Fleet) -> Mapping[str, Series]:
    """The last ``HISTORY_LENGTH`` CPU and memory figures of each listed sprite, ``fleet``'s
    added; a sprite no longer listed is forgotten."""
    history = {}
    for sprite in fleet.sprites:
        cpu, memory = before.get(sprite.name, NO_SERIES)
        history[sprite.name] = (
            _extended(cpu, sprite.cpu_percent),
            _extended(memory, sprite.memory_used_mib),
        )
    return history


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


@dataclass(frozen=True, eq=False)
class FleetView:
    """One good poll made ready for the screen.

    ``warning_note``: what to say about warnings that the previous poll did not have.
    """

    fleet: Fleet = field(default_factory=Fleet)
    rows: tuple[Row, ...] = ()
    by_name: Mapping[str, Sprite] = field(default_factory=lambda: EMPTY)
    gauges: tuple[Gauge, ...] = ()
    running: int = 0
    history: Mapping[str, Series] = field(default_factory=lambda: EMPTY)
    warning_note: str | None = None
    attention: tuple[str, ...] = ()
    """The sprites that need their person, longest waiting first."""
    columns: tuple[Column, ...] = COLUMNS
    """The table's columns (BACKEND among them with several backends)."""
    quotas: tuple[tuple[str, int], ...] = ()
    """With several backends: each one's name and ``max_vms``."""
    by_backend: tuple[tuple[str, tuple[Gauge, ...]], ...] = ()
    """With several backends: each one's name and gauges."""


def _row_of(sprite: Sprite, previous: FleetView, old_rows: Mapping[str, Row]) -> Row:
    """The previous row object when the sprite did not change, else a new row."""
    old = old_rows.get(sprite.name)
    if old is not None and previous.by_name.get(sprite.name) == sprite:
        return old
    row = build_row(sprite, previous.columns)
    return old if old == row else row


def view_of(
    fleet: Fleet,
    host: Host,
    max_vms: int,
    previous: FleetView | None = None,
    *,
    activity: Mapping[str, Seen] | None = None,
    now: float = 0.0,
) -> FleetView:
    """Everything the dashboard shows of ``fleet``, with each sprite's ``activity`` (as
    :func:`watching.watch_fleet` told it at ``now``); O(sprites), so build it off the UI thread.

    Rows of sprites that did not change since ``previous`` are the previous row objects, so the
    table finds what changed by identity and a refresh costs what changed.
    """
    previous = previous or FleetView()
    if activity is not None:
        fleet = annotate(fleet, activity, now)
    old_rows = {row.key: row for row in previous.rows}
    return FleetView(
        fleet=fleet,
        rows=tuple(_row_of(sprite, previous, old_rows) for sprite in fleet.sprites),
        by_name=MappingProxyType({sprite.name: sprite for sprite in fleet.sprites}),
        gauges=fleet_gauges(fleet, host, max_vms),
        running=sum(1 for sprite in fleet.sprites if sprite.state == "running"),
        history=MappingProxyType(record_history(previous.history, fleet)),
        warning_note=warning_note(previous.fleet, fleet),
        attention=needing_attention(fleet),
        columns=previous.columns,
        quotas=previous.quotas,
        by_backend=backend_gauges(fleet, host, previous.quotas),
    )


def same_poll(
    before: tuple[Fleet, Mapping[str, Seen]], after: tuple[Fleet, Mapping[str, Seen]]
) -> bool:
    """Whether a poll (the fleet listed, the activity told) shows what the one ``before`` did:
    the very same fleet object (the backend printed the same list), the same activity, and no
    activity counted in seconds (that moves on with the clock)."""
    (fleet, seen), (fleet_before, seen_before) = after, before
    if fleet is not fleet_before or seen != seen_before:
        return False
    return all(told.activity.since is None for told in seen.values())


def view_again(previous: FleetView) -> FleetView:
    """``previous`` polled again with nothing changed (:func:`same_poll`): the same rows,
    sprites and gauges, so that the screen has nothing to compare or draw; only the history
    takes each sprite's figures once more, and no warning is new."""
    history = record_history(previous.history, previous.fleet)
    return replace(previous, history=MappingProxyType(history), warning_note=None)


def backend_gauges(
    fleet: Fleet, host: Host, quotas: tuple[tuple[str, int], ...]
) -> tuple[tuple[str, tuple[Gauge, ...]], ...]:
    """The gauges of each backend's own sprites, against its own ``max_vms``."""
    if not quotas:
        return ()
    mine: dict[str, list[Sprite]] = {name: [] for name, _ in quotas}
    for sprite in fleet.sprites:
        mine.get(sprite.backend or "", []).append(sprite)
    return tuple(
        (name, fleet_gauges(Fleet(sprites=tuple(mine[name])), host, max_vms))
        for name, max_vms in quotas
    )


def with_pending(view: FleetView, pending: Pending) -> tuple[Row, ...]:
    """``view``'s rows with sprites being killed shown as ``stopping``, stopped ones being
    started again as ``starting``, and starts not yet listed at the end."""
    if not pending:
        return view.rows
    by_name, starting, stopping = view.by_name, pending.starting, pending.stopping
    columns = view.columns
    shown = [
        build_row(by_name[row.key].model_copy(update={"state": "stopping"}), columns)
        if row.key in stopping
        else build_row(starting[row.key], columns)
        if row.key in starting and by_name[row.key].state == "stopped"
        else row
        for row in view.rows
    ]
    shown.extend(
        build_row(sprite, columns) for name, sprite in starting.items() if name not in by_name
    )
    return tuple(shown)


@dataclass(frozen=True, eq=False)
class Snapshot:
    """All the dashboard screen shows, handed down whole by the app at every change.

    ``rows`` are the view's rows with the operations in flight laid over them. ``error`` is
    why the last poll failed (the view is then the last good one, shown as stale); ``last_ok``
    when the last good poll ended; ``poll`` the number of the poll last ended.
    """

    view: FleetView = field(default_factory=FleetView)
    pending: Pending = field(default_factory=Pending)
    rows: tuple[Row, ...] = ()
    error: str | None = None
    last_ok: float | None = None
    poll: int = 0
    backend: str = ""
    stale: tuple[str, ...] = ()
    """With several backends: those whose last list failed (``error`` says why); their rows
    are their last good ones, dimmed, and the others' are fresh."""

    @classmethod
    def of(cls, view: FleetView, pending: Pending, **fields: Any) -> Snapshot:
        return cls(view=view, pending=pending, rows=with_pending(view, pending), **fields)

    @property
    def fleet(self) -> Fleet:
        return self.view.fleet

    @property
    def by_name(self) -> Mapping[str, Sprite]:
        return self.view.by_name

    def sprite(self, name: str | None) -> Sprite | None:
        """The sprite ``name`` as listed, or as launched while its start is in flight."""
        if name is None:
            return None
        return self.view.by_name.get(name) or self.pending.starting.get(name)

    def series(self, name: str | None) -> Series:
        return self.view.history.get(name, NO_SERIES) if name else NO_SERIES
