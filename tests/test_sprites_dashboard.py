"""The dashboard on Fly.io Sprites (a fake Sprites API on 127.0.0.1): the whole fleet over
pages, usage said to be unknown, the org's counters on the VMs gauge, and the last good table
kept (marked stale) through failures and rate limits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.dashboard_harness import DASHBOARD_SIZE, FIXED_NOW, TEST_HOST, poll, screen_text
from tests.support.fake_sprites_api import FakeSprites, sprite
from tests.support.waiting import wait_until_async
from wreckit_tui.app import WreckitApp
from wreckit_tui.backends import Backend
from wreckit_tui.capacity import Host
from wreckit_tui.config import Config
from wreckit_tui.screens.confirm import ConfirmScreen
from wreckit_tui.sprites_backend import SpritesBackend

TOKEN = "spr-dash-0b1c2d3e4f5a6b7c"
SNAPSHOTS = Path(__file__).resolve().parent.parent / "snapshots"


@pytest.fixture
def api() -> Iterator[FakeSprites]:
    fake = FakeSprites.start()
    fake.set(token=TOKEN)
    yield fake
    fake.stop()


def make_app(api: FakeSprites) -> WreckitApp:
    config = Config(backend="sprites", poll_interval=60, list_timeout=2)
    backend = SpritesBackend(
        Backend(argv=("sprite",), label="Fly.io Sprites test", name="sprite"),
        api_url=api.url,
        list_timeout=config.list_timeout,
        environ={"SPRITE_TOKEN": TOKEN},
    )
    app = WreckitApp(config, backend, clock=lambda: FIXED_NOW, host=Host(*TEST_HOST))
    app.animation_level = "none"
    return app


async def started(app: WreckitApp, pilot) -> None:
    await wait_until_async(pilot, lambda: app.snapshot.poll >= 1 and not app.poller.running)
    await pilot.pause()


async def test_the_fleet_of_every_page_with_usage_not_reported(api) -> None:
    sprites = [sprite(f"box-{i:02d}", ["running", "warm", "cold"][i % 3], i) for i in range(60)]
    counters = {"running": 20, "warm": 20, "cold": 20, "running_limit": 50, "warm_limit": 50}
    api.set(sprites=sprites, counters=counters, page_size=25)
    app = make_app(api)
    async with app.run_test(size=DASHBOARD_SIZE) as pilot:
        await started(app, pilot)
        assert len(app.snapshot.view.rows) == 60
        text = screen_text(app)
        assert "Fly.io Sprites test" in text
        assert "box-00" in text and "box-01" in text
        assert "VMs 40/100" in text and "org limit" in text
        assert "not reported" in text
        assert "CPU in use —" in text
        assert TOKEN not in text
    pages = [r for r in api.requests() if r["path"] == "/v1/sprites"]
    assert len(pages) == 3


async def test_a_failed_poll_keeps_the_table_marked_stale(api) -> None:
    api.set(sprites=[sprite("keep-me", "running")])
    app = make_app(api)
    async with app.run_test(size=DASHBOARD_SIZE) as pilot:
        await started(app, pilot)
        api.set(fault={"kind": "status", "code": 502, "body": {"error": "bad gateway"}})
        await poll(pilot)
        text = screen_text(app)
        assert "STALE" in text and "HTTP 502" in text
        assert "keep-me" in text
        api.set(fault=None)
        await poll(pilot)
        assert "STALE" not in screen_text(app)


async def test_rate_limited_polls_back_off_as_retry_after_says(api) -> None:
    api.set(sprites=[sprite("keep-me", "running")])
    app = make_app(api)
    async with app.run_test(size=DASHBOARD_SIZE) as pilot:
        await started(app, pilot)
        api.set(fault={"kind": "status", "code": 429, "retry_after": "60"})
        await poll(pilot)
        assert "rate limited" in screen_text(app)
        asked = len(api.requests())
        await poll(pilot)
        await poll(pilot)
        assert len(api.requests()) == asked  # it waits for Retry-After: no call meanwhile
        text = screen_text(app)
        assert "rate limited" in text and "keep-me" in text


async def test_one_client_is_kept_between_polls(api) -> None:
    api.set(sprites=[sprite("a", "running")])
    app = make_app(api)
    async with app.run_test(size=DASHBOARD_SIZE) as pilot:
        await started(app, pilot)
        client = app.wisp.api().client()
        await poll(pilot)
        await poll(pilot)
        assert app.wisp.api().client() is client


async def test_d_then_yes_deletes_the_sprite_through_the_api(api) -> None:
    api.set(sprites=[sprite("alpha", "running"), sprite("bravo", "cold", 1)])
    app = make_app(api)
    async with app.run_test(size=DASHBOARD_SIZE) as pilot:
        await started(app, pilot)
        await pilot.press("d")
        await wait_until_async(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("shift+tab", "enter")
        await wait_until_async(
            pilot, lambda: [row.key for row in app.snapshot.view.rows] == ["bravo"]
        )
    deletes = [r["path"] for r in api.requests() if r["method"] == "DELETE"]
    assert deletes == ["/v1/sprites/alpha"]


async def settled(pilot) -> None:
    """The first poll applied, and no toast."""
    app = pilot.app
    await started(app, pilot)
    app.clear_notifications()
    await pilot.pause()


def test_snapshot_of_a_sprites_fleet(snap_compare, api) -> None:
    config = {"cpus": 2, "ram_mb": 2048}
    api.set(
        sprites=[
            sprite("agent-alpha", "running", 1, config=config),
            sprite("agent-bravo", "warm", 2, config={"cpus": 1, "ram_mb": 512}),
            sprite("cold-one", "cold", 3),
            sprite("evil[/b]-[red]x", "running", 4, config={"cpus": "lots"}),
        ],
        counters={"running": 2, "warm": 1, "cold": 1, "running_limit": 10, "warm_limit": 10},
    )
    assert snap_compare(make_app(api), terminal_size=DASHBOARD_SIZE, run_before=settled)
    svg = SNAPSHOTS / "test_sprites_dashboard" / "test_snapshot_of_a_sprites_fleet.svg"
    assert TOKEN not in svg.read_text()
