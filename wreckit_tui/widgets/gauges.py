"""Fleet gauges: VMs against the quota, vCPUs and memory against the host, CPU in use."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import events
from textual.widgets import Static

from wreckit_tui.capacity import Gauge
from wreckit_tui.fields import bar, fit, level_style

GAUGE_BAR_WIDTH = 20
GAP = 2
GAUGE_LINES = 3
"""Cells between two gauges."""


def gauge_text(gauge: Gauge, width: int) -> Text:
    """Three lines in ``width`` cells: ``VMs 3/5``, a bar, and what 100 % means. Where the
    full words do not fit, the short ones stand in; nothing wraps."""
    text_, meaning = gauge.text, gauge.meaning
    if len(f"{gauge.label} {text_}") > width and gauge.short_text:
        text_ = gauge.short_text
    if len(meaning) > width and gauge.short_meaning:
        meaning = gauge.short_meaning
    fraction = gauge.fraction
    text = Text(fit(gauge.label, width), style="bold", no_wrap=True, overflow="ellipsis")
    text.append(fit(f" {text_}", max(width - len(gauge.label), 0)))
    text.append("\n")
    text.append(bar(fraction, min(GAUGE_BAR_WIDTH, width)).replace(" ", "░"), level_style(fraction))
    text.append(f"\n{fit(meaning, width)}", style="dim")
    return text


def backend_line(name: str, gauges: Sequence[Gauge], stale: bool) -> Text:
    """One backend's gauges in one line: ``gpu-box  VMs 2/8 · vCPUs 4 …``."""
    text = Text(f"{name}  ", style="bold", no_wrap=True, overflow="ellipsis")
    text.append(" · ".join(f"{gauge.label} {gauge.short_text or gauge.text}" for gauge in gauges))
    if stale:
        text.append("  STALE", style="bold red")
    return text


class FleetGauges(Static):
    """Four gauges side by side, each as wide as a quarter of the terminal allows; each says
    what its 100 % means. With ``per_backend`` (several backends), one line per backend under
    them; else its height never changes."""

    _shown: tuple | None = None
    _rows = 0
    per_backend = False

    def show(
        self,
        gauges: Sequence[Gauge],
        by_backend: Sequence[tuple[str, Sequence[Gauge]]] = (),
        stale: Sequence[str] = (),
    ) -> None:
        lines = tuple(by_backend) if self.per_backend else ()
        shown = (gauges, self.size.width, lines, tuple(stale))
        if shown == self._shown or not gauges:
            return
        self._shown = shown
        width = max((self.size.width - GAP * (len(gauges) - 1)) // len(gauges) - 1, 1)
        grid = Table.grid(expand=True, padding=(0, GAP))
        for _ in gauges:
            grid.add_column(ratio=1, no_wrap=True)
        grid.add_row(*(gauge_text(gauge, width) for gauge in gauges))
        rows = [backend_line(name, own, name in stale) for name, own in lines]
        resized = len(rows) != self._rows
        if resized:
            self._rows = len(rows)
            self.styles.height = GAUGE_LINES + len(rows)
        self.update(Group(grid, *rows) if rows else grid, layout=resized)

    def on_resize(self, _event: events.Resize) -> None:
        if self._shown is not None:
            gauges, _, lines, stale = self._shown
            self._shown = None
            self.show(gauges, lines, stale)
