"""What the Fly.io Sprites backend costs, against a fake Sprites API on 127.0.0.1.

- ``sprites_poll_ms_1000``: one ``list()`` of 1,000 sprites over 20 pages (the client kept alive,
  as the dashboard keeps it), whole; ``sprites_server_ms_1000`` the fake server's own time in
  its handlers during that poll; the goal is on the difference (median of the repeats, each
  poll beside its own server time).
- ``sprites_idle_cpu_percent_100``: the real ``wreckit-tui --backend sprites`` dashboard in a
  tmux pane, 100 sprites, polling every 2 s: CPU it used over a quiet spell, in % of one core;
  ``wisp_idle_cpu_percent_100`` the same dashboard on the fake wisp, measured in the same run.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

import dashboard_bench  # noqa: E402

from tests.support.fake_sprites_api import FakeSprites, sprite  # noqa: E402
from tests.support.tmux_pane import TmuxPane  # noqa: E402
from wreckit_tui.backends import Backend  # noqa: E402
from wreckit_tui.sprites_backend import SpritesBackend  # noqa: E402

TOKEN = "bench-sprites-token"
SIZE = (120, 36)


def _fleet(count: int) -> list[dict]:
    states = ("running", "warm", "cold")
    return [
        sprite(f"agent-{i:05d}", states[i % 3], i, config={"cpus": 1, "ram_mb": 512})
        for i in range(count)
    ]


def poll_cost(repeat: int = 15, count: int = 1000) -> dict[str, float]:
    """One poll of ``count`` sprites (20 pages of 50), whole and the server's part."""
    api = FakeSprites.start()
    try:
        api.set(token=TOKEN, sprites=_fleet(count), page_size=50)
        backend = SpritesBackend(
            Backend(argv=("sprite",), label="bench", name="sprite"),
            api_url=api.url,
            environ={"SPRITE_TOKEN": TOKEN},
        )
        polls, servers = asyncio.run(_polls(api, backend, repeat, count))
    finally:
        api.stop()
    overheads = sorted(p - s for p, s in zip(polls, servers, strict=True))
    return {
        f"sprites_poll_ms_{count}": statistics.median(polls),
        f"sprites_server_ms_{count}": statistics.median(servers),
        f"sprites_overhead_ms_{count}": statistics.median(overheads),
        f"sprites_overhead_ms_{count}_min": overheads[0],
        f"sprites_overhead_ms_{count}_max": overheads[-1],
    }


async def _polls(
    api: FakeSprites, backend: SpritesBackend, repeat: int, count: int
) -> tuple[list[float], list[float]]:
    fleet = await backend.list()  # the connection is made once, as in the dashboard
    assert len(fleet.sprites) == count
    polls, servers = [], []
    for _ in range(repeat):
        await asyncio.to_thread(api.forget)
        began = time.perf_counter()
        fleet = await backend.list()
        polls.append((time.perf_counter() - began) * 1000)
        stats = await asyncio.to_thread(api.stats)
        assert stats["requests"] == count // 50, stats
        servers.append(stats["handler_seconds"] * 1000)
    return polls, servers


def idle_cpu(seconds: float = 30.0) -> dict[str, float]:
    """CPU of the real dashboard on Sprites, 100 sprites, polling every 2 s, while idle; and
    beside it, in the same run, the same dashboard on the fake wisp (its baseline)."""
    api = FakeSprites.start()
    try:
        api.set(token=TOKEN, sprites=_fleet(100))
        env = {"SPRITES_API_URL": api.url, "SPRITE_TOKEN": TOKEN}
        sprites = _idle_percent(["--backend", "sprites"], env, seconds)
    finally:
        api.stop()
    with dashboard_bench.fake_wisp() as fake:
        fake.set_fleet(dashboard_bench.sprite_dicts(100))
        wisp = _idle_percent(["--wisp", str(fake.path)], {}, seconds)
    return {"sprites_idle_cpu_percent_100": sprites, "wisp_idle_cpu_percent_100": wisp}


def _idle_percent(args: list[str], env: dict[str, str], seconds: float) -> float:
    """% of one core the dashboard with ``args`` used over ``seconds`` once it shows a fleet."""
    env = {"PYTHONPATH": str(REPO), "TERM": "xterm-256color", **env}
    command = [sys.executable, "-m", "wreckit_tui", *args, "--set", "poll_interval=2"]
    pane = TmuxPane(command, env, size=SIZE)
    try:
        pane.wait_for(lambda screen: "name        agent-0000" in screen, timeout=60)
        process = psutil.Process(pane.pid())
        time.sleep(3)
        before = process.cpu_times()
        time.sleep(seconds)
        after = process.cpu_times()
    finally:
        pane.close()
    return ((after.user + after.system) - (before.user + before.system)) / seconds * 100


def run(repeat: int = 15, idle_seconds: float = 30.0) -> dict[str, float]:
    return poll_cost(repeat) | idle_cpu(idle_seconds)


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key}: {value:.2f}")
