"""Fleet gauges: VMs against the quota, vCPUs and memory against the host, CPU in use."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from wreckit_tui.fleet_view import Gauge, bar, level_style

GAUGE_BAR_WIDTH = 20


def gauge_text(gauge: Gauge) -> Text:
    """Three lines: ``VMs 3/5``, a bar, and what 100 % means."""
    fraction = gauge.fraction
    text = Text(gauge.label, style="bold")
    text.append(f" {gauge.text}\n")
    text.append(bar(fraction, GAUGE_BAR_WIDTH).replace(" ", "░"), style=level_style(fraction))
    text.append(f"\n{gauge.meaning}", style="dim")
    return text


class FleetGauges(Static):
    """Four gauges side by side; each says what its 100 % means. Its height never changes."""

    _shown: Sequence[Gauge] | None = None

    def show(self, gauges: Sequence[Gauge]) -> None:
        if gauges == self._shown:
            return
        self._shown = gauges
        grid = Table.grid(expand=True, padding=(0, 2))
        for _ in gauges:
            grid.add_column(ratio=1)
        grid.add_row(*(gauge_text(gauge) for gauge in gauges))
        self.update(grid, layout=False)
