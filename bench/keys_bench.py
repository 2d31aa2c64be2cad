"""What a key press costs the dashboard's UI thread, beside a minimal Textual app.

- ``key_ui_ms_dashboard``: UI-thread CPU time of one cursor key (Down or Up) in the dashboard
  showing 100 sprites with its detail pane, the key handled and the frame after it painted;
  median over ``presses``.
- ``key_ui_ms_minimal``: the same key in a minimal Textual app of the same size: a DataTable of
  100 rows beside a Static that names the highlighted row. The baseline of the same run.

In-process CPU time (``time.thread_time``), so the figures hold on a loaded machine better than
wall-clock latency; ``dashboard_bench.key_latency_hung_wisp`` measures the latency a user sees.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from dashboard_bench import HOST, SIZE, fleet_of, offline_app
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Static

from wreckit_tui.operations import Pending
from wreckit_tui.view import Snapshot, view_of

ROWS = 100


class MinimalTableApp(App[None]):
    """A table and a line naming its highlighted row: the least a dashboard does per key."""

    def compose(self) -> ComposeResult:
        yield DataTable()
        yield Static()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("NAME", "STATE", "CPU", "MEMORY")
        for row in range(ROWS):
            table.add_row(f"agent-{row:05d}", "running", f"{row % 97}%", "512MiB")
        table.focus()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.query_one(Static).update(f"name        agent-{event.cursor_row:05d}")


async def _per_key(app: App, presses: int, fleet: bool) -> float:
    """Median UI-thread ms of one cursor key in ``app`` (handed the fleet when ``fleet``)."""
    async with app.run_test(size=SIZE) as pilot:
        if fleet:
            view = view_of(fleet_of(ROWS), HOST, app.config.max_vms, previous=app.snapshot.view)
            app.dashboard.snapshot = Snapshot.of(view, Pending(), last_ok=0.0)
        await pilot.pause()
        costs = []
        for index in range(presses + 10):
            began = time.thread_time()
            await pilot.press("down" if index % 20 < 10 else "up")
            await pilot.pause()
            costs.append((time.thread_time() - began) * 1000)
    return statistics.median(costs[10:])


def key_ui_cost(presses: int = 60) -> dict[str, float]:
    """The dashboard's and the minimal app's UI-thread ms per key, measured in turns."""
    dashboard, minimal = [], []
    for _ in range(3):
        dashboard.append(asyncio.run(_per_key(offline_app(), presses, fleet=True)))
        minimal.append(asyncio.run(_per_key(MinimalTableApp(), presses, fleet=False)))
    return {
        "key_ui_ms_dashboard": statistics.median(dashboard),
        "key_ui_ms_minimal": statistics.median(minimal),
    }


if __name__ == "__main__":
    print(key_ui_cost())
