"""The detail pane: every field of the selected sprite and sparklines of its last polls."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Static

from wreckit_tui.fields import DETAIL_FIELDS, sprite_fields
from wreckit_tui.models import Sprite
from wreckit_tui.text import format_mib, format_number
from wreckit_tui.widgets.preview import ScreenPreview

LABEL_WIDTH = max(len(label) for label, _ in DETAIL_FIELDS) + 1
"""The labels' column, a space after the longest included; a long value folds under itself."""
MIN_VALUE_WIDTH = 8


class FieldLines:
    """Label and value of each field, a value folded to the width it is drawn at.

    Each line is one piece of text (label, then value; under a label, blanks then the rest of
    the value), so it is drawn the same way at every paint."""

    def __init__(self, fields: Sequence[tuple[str, str]]) -> None:
        self.fields = fields
        self._lines: dict[int, list[Text]] = {}

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        widest = max((cell_len(value) for _, value in self.fields), default=0)
        return Measurement(LABEL_WIDTH + MIN_VALUE_WIDTH, LABEL_WIDTH + widest).with_maximum(
            options.max_width
        )

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines(console, options.max_width):
            yield from line.render(console)
            yield Segment.line()

    def height(self, console: Console, width: int) -> int:
        """How many lines the fields take at ``width`` cells."""
        return len(self.lines(console, width))

    def lines(self, console: Console, width: int) -> list[Text]:
        """The lines at ``width`` cells, folded once per width (a paint measures, then draws)."""
        if width not in self._lines:
            self._lines[width] = list(self._fold(console, width))
        return self._lines[width]

    def _fold(self, console: Console, width: int) -> Iterator[Text]:
        value_width = max(width - LABEL_WIDTH, MIN_VALUE_WIDTH)
        for label, value in self.fields:
            parts = Text(value).wrap(console, value_width, overflow="fold", no_wrap=False)
            for number, part in enumerate(parts or [Text()]):
                head = label.ljust(LABEL_WIDTH) if number == 0 else " " * LABEL_WIDTH
                line = Text(end="")
                line.append(head, style="bold" if number == 0 else None)
                line.append_text(part)
                yield line


def fields_table(sprite: Sprite | None) -> FieldLines | Text:
    if sprite is None:
        return Text("No sprite selected.", style="dim")
    return FieldLines(sprite_fields(sprite))


def fields_height(fields: FieldLines | Text, console: Console, width: int) -> int:
    """How many lines ``fields`` take at ``width`` cells."""
    if isinstance(fields, FieldLines):
        return fields.height(console, width)
    return len(fields.wrap(console, max(width, 1)))


def history_title(cpu: Sequence[float], memory: Sequence[float], reported: bool = True) -> str:
    polls = max(len(cpu), len(memory))
    if not polls:
        return "No CPU or memory figures yet" if reported else "Not reported by this backend"
    return f"History, last {polls} poll{'s' if polls > 1 else ''}"


def series_label(
    title: str, points: Sequence[float], unit: Callable[[float], str], scale: str
) -> str:
    """``CPU % now 60%, peak 120%; full height: 2 vCPUs``: what a sparkline does not show."""
    if not points:
        return title
    return f"{title} now {unit(points[-1])}, peak {unit(max(points))}; full height: {scale}"


def scales(sprite: Sprite | None, cpu: Sequence[float], memory: Sequence[float]) -> tuple:
    """The value of a full-height bar for CPU and memory, and how to say it: the sprite's
    vCPUs and its memory allocation, or where unknown its own peak."""
    cpus, allocated = (sprite.cpus, sprite.memory_mib) if sprite else (None, None)
    cpu_scale = (
        (cpus * 100, f"{format_number(cpus)} vCPU{'s' if cpus != 1 else ''}")
        if cpus
        else (max(cpu, default=0), "its peak")
    )
    memory_scale = (
        (allocated, f"{format_mib(allocated)} allocated")
        if allocated
        else (max(memory, default=0), "its peak")
    )
    return cpu_scale, memory_scale


class Spark(Static):
    """A sparkline of the last polls, one cell each, where a full cell is ``full``; over it
    is drawn full (and red)."""

    data: list[float] = []
    full: float = 0.0

    def plot(self, points: Sequence[float], full: float) -> None:
        self.data, self.full = list(points), full
        width = max(self.content_size.width, 1)
        self.update(spark_text(self.data[-width:], full), layout=False)

    def on_resize(self) -> None:
        self.plot(self.data, self.full)


def spark_text(points: Sequence[float], full: float) -> Text:
    text = Text(no_wrap=True)
    for point in points:
        share = point / full if full > 0 else 0.0
        level = min(max(round(share * 8), 1 if point > 0 else 0), 8)
        text.append(" ▁▂▃▄▅▆▇█"[level], style="red" if share > 1 else "green")
    return text


class SpriteDetail(VerticalScroll):
    """Fields of the selected sprite, with CPU and memory over its last 60 polls; or, in
    preview mode, its screen."""

    def compose(self) -> ComposeResult:
        with Vertical(id="overview"):
            yield Static(id="fields")
            with Vertical(id="history"):
                yield Label(id="history-title")
                yield Label(id="cpu-label", classes="spark-label")
                yield Spark(id="cpu-spark")
                yield Label(id="memory-label", classes="spark-label")
                yield Spark(id="memory-spark")
        yield ScreenPreview(id="preview")

    def set_preview(self, preview: bool) -> None:
        """Show the screen (``preview``) or the fields and history."""
        self.set_class(preview, "-preview")
        self.scroll_home(animate=False)

    def show_preview(self, title: str, screen: str | None, note: str | None) -> None:
        """The screen (text with colour sequences only) or a sentence in its place; the pane
        keeps its end in view, where a terminal's prompt is."""
        if self.query_one(ScreenPreview).show(title, screen, note):
            self.call_after_refresh(self.scroll_end, animate=False)

    _shown: tuple | None = None

    def show(
        self, sprite: Sprite | None, cpu: list[float], memory: list[float], reported: bool = True
    ) -> None:
        """Redraw what changed; the layout only moves when a field's text changes length.
        ``reported``: whether the backend reports CPU and memory in use at all."""
        shown = (sprite, cpu, memory, reported)
        if shown == self._shown:
            return
        before, self._shown = self._shown, shown
        if before is None or sprite != before[0]:
            self._show_fields(fields_table(sprite))
        self.query_one("#history").display = sprite is not None
        title = history_title(cpu, memory, reported)
        self.query_one("#history-title", Label).update(title, layout=False)
        cpu_scale, memory_scale = scales(sprite, cpu, memory)
        self._show_series("cpu", "CPU %", cpu, lambda value: f"{value:.0f}%", cpu_scale)
        self._show_series("memory", "memory", memory, format_mib, memory_scale)

    _fields_shape: tuple[int, int] | None = None
    """The width the fields were last drawn at, and how many lines they took."""

    def _show_fields(self, fields: FieldLines | Text) -> None:
        """Draw ``fields``; the layout moves only when they take another number of lines (a
        new sprite's fields, drawn at the same width, usually take as many as the last)."""
        static = self.query_one("#fields", Static)
        width = static.content_size.width
        shape = (width, fields_height(fields, self.app.console, width)) if width else None
        static.update(fields, layout=shape is None or shape != self._fields_shape)
        self._fields_shape = shape

    def _show_series(
        self,
        key: str,
        title: str,
        points: Sequence[float],
        unit: Callable[[float], str],
        scale: tuple[float, str],
    ) -> None:
        """A series without points is not shown; a sparkline needs two to say anything."""
        label = self.query_one(f"#{key}-label", Label)
        spark = self.query_one(f"#{key}-spark", Spark)
        label.display = bool(points)
        spark.display = len(points) > 1
        label.update(series_label(title, points, unit, scale[1]), layout=False)
        spark.plot(points if len(points) > 1 else [], scale[0])
