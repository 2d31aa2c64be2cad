"""What several backends cost the dashboard: three backends of 1,000 sprites each.

``bench/run.py`` runs these; each figure stands beside its baseline, one backend of the same
3,000 sprites, measured in the same run.

- ``fleets_refresh_ms_3x1000_changed_10``: UI-thread CPU time to apply a poll in which 10 of
  the 3,000 sprites changed (table diff, header, gauges, detail), with the BACKEND column;
  ``fleets_refresh_ms_1x3000_changed_10`` the same on one backend.
- ``fleets_idle_cpu_percent_3x1000``: the real ``wreckit-tui`` process in a tmux pane on three
  fake wisps of 1,000 sprites each (``[[backends]]``), polling every 2 s (the wisps' own
  processes not counted); ``fleets_idle_cpu_percent_1x3000`` one fake wisp of 3,000. Measured
  once the first captures are over: the dashboard captures each quiet running sprite once
  (about 2,400 here, :data:`~wreckit_tui.watching.CAPTURES_PER_POLL` a poll, some minutes of
  polls), which is its start, not its idling; ``settle=False`` (``run.py --quick``) measures
  at once, while they run.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dashboard_bench import (  # noqa: E402
    HOST,
    SIZE,
    _detail_name,
    close_pane,
    fleet_of,
    offline_app,
    sprite_dicts,
    with_changes,
)

from tests.support.fake_wisp_handle import FakeWisp, make_fake_wisp  # noqa: E402
from tests.support.tmux_pane import TmuxPane  # noqa: E402
from wreckit_tui.app import WreckitApp  # noqa: E402
from wreckit_tui.config import Config  # noqa: E402
from wreckit_tui.fleets import Fleets, qualify  # noqa: E402
from wreckit_tui.models import Fleet  # noqa: E402
from wreckit_tui.operations import Pending  # noqa: E402
from wreckit_tui.view import Snapshot, view_of  # noqa: E402

BACKENDS = ("laptop", "gpu-box", "fly")
PER_BACKEND = 1000


def three_backends() -> Fleet:
    """3,000 sprites, 1,000 on each backend (the same names on each)."""
    part = fleet_of(PER_BACKEND)
    parts = [qualify(part, name) for name in BACKENDS]
    return Fleet(sprites=tuple(sprite for each in parts for sprite in each.sprites))


def offline_fleets_app() -> WreckitApp:
    """A dashboard on three backends that never polls by itself; the benchmark hands it
    fleets."""
    entries = [
        {"name": name, "kind": "wisp", "wisp_path": "/nonexistent/wisp"} for name in BACKENDS
    ]
    config = Config(poll_interval=3600, backends=entries)
    app = WreckitApp(
        config, Fleets.from_config(config), clock=lambda: 0.0, host=HOST, autopoll=False
    )
    app.animation_level = "none"
    return app


async def _refresh(fleet: Fleet, backends: int, repeat: int) -> float:
    """Median UI-thread ms to apply ``fleet`` with 10 sprites changed."""
    app = offline_fleets_app() if backends > 1 else offline_app()
    first = app.first_view()
    costs = []
    async with app.run_test(size=SIZE) as pilot:
        view = view_of(fleet, HOST, 15, previous=first)
        app.dashboard.snapshot = Snapshot.of(view, Pending(), last_ok=0.0)
        await pilot.pause()
        for round_number in range(repeat):
            for changed in (with_changes(fleet, 10, round_number), fleet):
                view = view_of(changed, HOST, 15, previous=app.snapshot.view)
                app.snapshot = Snapshot.of(view, Pending(), last_ok=0.0)
                began = time.thread_time()
                app.dashboard.snapshot = app.snapshot
                costs.append((time.thread_time() - began) * 1000)
                await pilot.pause()
    return statistics.median(costs)


def refresh_costs(repeat: int = 9) -> dict[str, float]:
    return {
        "fleets_refresh_ms_3x1000_changed_10": asyncio.run(_refresh(three_backends(), 3, repeat)),
        "fleets_refresh_ms_1x3000_changed_10": asyncio.run(
            _refresh(fleet_of(3 * PER_BACKEND), 1, repeat)
        ),
    }


@contextmanager
def fake_wisps(count: int, sprites: int) -> Iterator[list[FakeWisp]]:
    home = Path(tempfile.mkdtemp(prefix="wt-bench-fleets-"))
    fakes = [make_fake_wisp(home / f"wisp-{index}") for index in range(count)]
    try:
        for fake in fakes:
            fake.set_fleet(sprite_dicts(sprites))
        yield fakes
    finally:
        for fake in fakes:
            fake.kill_leftovers()
        shutil.rmtree(home, ignore_errors=True)


def _idle_cpu(fakes: list[FakeWisp], seconds: float, settle: bool = True) -> float:
    """% of a core the dashboard uses, polling every 2 s, on ``fakes`` (several: backends)."""
    config = fakes[0].home.parent / "config.toml"
    if len(fakes) > 1:
        config.write_text(
            "".join(
                f'[[backends]]\nname = "{name}"\nkind = "wisp"\nwisp_path = "{fake.path}"\n'
                for name, fake in zip(BACKENDS, fakes, strict=False)
            )
        )
        command = [sys.executable, "-m", "wreckit_tui", "--set", "poll_interval=2"]
    else:
        config.write_text("")
        command = [sys.executable, "-m", "wreckit_tui", "--wisp", str(fakes[0].path),
                   "--set", "poll_interval=2"]  # fmt: skip
    env = {"PYTHONPATH": str(REPO), "TERM": "xterm-256color", "WRECKIT_TUI_CONFIG": str(config)}
    pane = TmuxPane(command, env, size=SIZE)
    dashboard = None
    try:
        dashboard = psutil.Process(pane.pid())
        pane.wait_for(_detail_name("agent-00000"), timeout=180)
        if settle:
            _wait_for_captures(fakes)
        time.sleep(4)
        before = dashboard.cpu_times()
        time.sleep(seconds)
        after = dashboard.cpu_times()
    finally:
        close_pane(pane, dashboard)
    return ((after.user + after.system) - (before.user + before.system)) / seconds * 100


def _wait_for_captures(fakes: list[FakeWisp], timeout: float = 900) -> None:
    """Until the fakes see no new capture for three poll intervals."""
    deadline, count, still = time.monotonic() + timeout, -1, 0
    while still < 3:
        if time.monotonic() > deadline:
            raise RuntimeError("the dashboard still captures sprites after the first captures")
        time.sleep(2)
        now = sum(len(fake.call_times("capture")) for fake in fakes)
        still, count = (still + 1 if now == count else 0), now


def idle_cpu(seconds: float = 30.0, settle: bool = True) -> dict[str, float]:
    with fake_wisps(3, PER_BACKEND) as fakes:
        several = _idle_cpu(fakes, seconds, settle)
    with fake_wisps(1, 3 * PER_BACKEND) as fakes:
        one = _idle_cpu(fakes, seconds, settle)
    return {"fleets_idle_cpu_percent_3x1000": several, "fleets_idle_cpu_percent_1x3000": one}


def run(repeat: int = 9, idle_seconds: float = 30.0, settle: bool = True) -> dict[str, float]:
    return refresh_costs(repeat) | idle_cpu(idle_seconds, settle)


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key}: {value:.2f}")
