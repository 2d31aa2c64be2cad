"""Start fast, stay cheap at scale: first paint, the headless table, 10,000 sprites.

``bench/run.py`` runs these; each function returns its figures, each beside its baseline
measured in the same run. The wisp is ``tests/support/fake_wisp.py`` announcing no optional
command, so no sprite's screen is captured: what is timed is the dashboard and the table, not
one ``capture`` process per sprite.

- ``table_ms_1000`` and ``table_json_ms_1000``: whole-process ``--headless`` (the table) and
  ``--headless --json`` of 1,000 sprites, run in turns; ``table_ms_10000``: the table of 10,000.
- ``refresh_ms_10000_changed_<k>``: UI-thread CPU ms to apply a poll of 10,000 sprites in which
  ``k`` changed (``paint_ms_...``: the frame after); ``filter_key_ms_*_10000``: UI-thread CPU ms
  of a key typed into the filter, to the table filtered and repainted (median and slowest of
  the keys of ``agent-0999``, which narrow 10,000 rows to 1,000, 100, then 10).
- ``rss_mb_10000_sprites`` and ``key_latency_ms_p95_polling_10000``: the real dashboard in a
  terminal (a tmux pane) polling 10,000 sprites every 2 s: its RSS after some polls, and a key
  press to the repainted screen while it polls.
- ``first_rows_ms_<n>``: exec of ``wreckit-tui`` to its first rows on screen, ``n`` sprites;
  ``textual_first_paint_ms``: exec of a minimal Textual app to its first paint, and
  ``wisp_list_ms_<n>``: the fake wisp's own ``list --json``, the same run, the same terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import time
from collections.abc import Iterator

import psutil
from dashboard_bench import (
    REPO,
    SIZE,
    _apply,
    _detail_name,
    _median_ms,
    close_pane,
    dashboard_pane,
    fake_wisp,
    fleet_of,
    offline_app,
    sprite_dicts,
    with_changes,
)

from tests.support.fake_wisp_handle import FakeWisp
from tests.support.tmux_pane import TmuxPane

SCALE = 10_000
MINIMAL_APP = (
    "from textual.app import App\n"
    "from textual.widgets import Static\n"
    "class Minimal(App):\n"
    "    def compose(self):\n"
    "        yield Static('minimal app painted')\n"
    "Minimal().run()\n"
)


@contextlib.contextmanager
def quiet_wisp(count: int) -> Iterator[FakeWisp]:
    """The fake wisp with ``count`` sprites, announcing no optional command (no captures)."""
    with fake_wisp() as fake:
        fake.set_scenario("ok", announce=[])
        fake.set_fleet(sprite_dicts(count))
        yield fake


# -- the headless table -----------------------------------------------------------------------


def headless_table(repeat: int = 9) -> dict[str, float]:
    """The table beside ``--json`` (in turns, so both see the same load); 10,000 sprites."""
    headless = [sys.executable, "-m", "wreckit_tui", "--headless"]
    tables, jsons = [], []
    with quiet_wisp(1000) as fake:
        wisp = ["--wisp", str(fake.path)]
        for _ in range(repeat):
            tables.append(_median_ms([*headless, *wisp], 1))
            jsons.append(_median_ms([*headless, "--json", *wisp], 1))
    with quiet_wisp(SCALE) as fake:
        table_10k = _median_ms([*headless, "--wisp", str(fake.path)], max(repeat // 3, 1))
    return {
        "table_ms_1000": statistics.median(tables),
        "table_json_ms_1000": statistics.median(jsons),
        "table_ms_10000": table_10k,
    }


# -- 10,000 sprites in the dashboard ------------------------------------------------------------


async def _dashboard_costs(repeat: int) -> dict[str, float]:
    base = fleet_of(SCALE)
    app = offline_app()
    results: dict[str, float] = {}
    async with app.run_test(size=SIZE) as pilot:
        await _apply(app, pilot, base)
        for changed in (10, SCALE):
            costs = []
            for round_number in range(repeat):
                costs.append(await _apply(app, pilot, with_changes(base, changed, round_number)))
                await _apply(app, pilot, base)
            results[f"refresh_ms_10000_changed_{changed}"] = statistics.median(a for a, _ in costs)
            results[f"paint_ms_10000_changed_{changed}"] = statistics.median(p for _, p in costs)
        keys = []
        await pilot.press("slash")
        for key in "agent-0999":  # 10,000 rows narrowed to 10, one key at a time
            began = time.thread_time()
            await pilot.press("minus" if key == "-" else key)
            await pilot.pause()
            keys.append((time.thread_time() - began) * 1000)
        if app.dashboard.table.row_count != 10:
            raise RuntimeError(f"the filter shows {app.dashboard.table.row_count} rows, not 10")
    results["filter_key_ms_median_10000"] = statistics.median(keys)
    results["filter_key_ms_max_10000"] = max(keys)
    return results


def dashboard_costs(repeat: int = 5) -> dict[str, float]:
    return asyncio.run(_dashboard_costs(repeat))


def polling_10000(presses: int = 60) -> dict[str, float]:
    """The real dashboard polling 10,000 sprites every 2 s: key latency and RSS."""
    with quiet_wisp(SCALE) as fake, dashboard_pane(fake, "poll_interval=2") as pane:
        pane.wait_for(_detail_name("agent-00000"), timeout=120)
        polls = len(fake.call_times("list"))
        latencies = []
        for index in range(presses):
            key, row = ("Down", index % 10 + 1) if index % 20 < 10 else ("Up", 9 - index % 10)
            began = time.perf_counter()
            pane.send(key)
            pane.wait_for(_detail_name(f"agent-{row:05d}"), interval=0.001)
            latencies.append((time.perf_counter() - began) * 1000)
            time.sleep(0.05)  # keys spread over the polls
        if len(fake.call_times("list")) < polls + 1:
            raise RuntimeError("no poll ran while the keys were pressed")
        rss = psutil.Process(pane.pid()).memory_info().rss / 1e6
    latencies.sort()
    return {
        "key_latency_ms_p95_polling_10000": latencies[int(len(latencies) * 0.95) - 1],
        "rss_mb_10000_sprites": rss,
    }


# -- first paint --------------------------------------------------------------------------------


def _time_to_screen(command: list[str], condition, timeout: float = 60) -> float:
    """Milliseconds from starting ``command`` in a new terminal to ``condition(screen)``."""
    began = time.perf_counter()
    pane = TmuxPane(command, {"PYTHONPATH": str(REPO), "TERM": "xterm-256color"}, size=SIZE)
    dashboard = None
    try:
        dashboard = psutil.Process(pane.pid())
        pane.wait_for(condition, timeout, interval=0.005)
        return (time.perf_counter() - began) * 1000
    finally:
        close_pane(pane, dashboard)


def first_paint(repeat: int = 5, sizes: tuple[int, ...] = (10, 1000, SCALE)) -> dict[str, float]:
    """Exec to first rows at each size, beside a minimal Textual app's first paint and the
    wisp's own list, measured in turns."""
    minimal = [sys.executable, "-c", MINIMAL_APP]
    painted = lambda screen: "minimal app painted" in screen  # noqa: E731
    baseline = [_time_to_screen(minimal, painted) for _ in range(repeat)]
    results: dict[str, float] = {}
    for size in sizes:
        with quiet_wisp(size) as fake:
            command = [sys.executable, "-m", "wreckit_tui", "--wisp", str(fake.path)]
            rows = []
            for _ in range(repeat if size < SCALE else max(repeat // 2, 1)):
                rows.append(_time_to_screen(command, _detail_name("agent-00000")))
                baseline.append(_time_to_screen(minimal, painted))
            results[f"first_rows_ms_{size}"] = statistics.median(rows)
            lists = [str(fake.path), "list", "--json"]
            results[f"first_paint_wisp_list_ms_{size}"] = _median_ms(lists, repeat)
    results["textual_first_paint_ms"] = statistics.median(baseline)
    return results
