"""The dashboard against hostile output from wisp: invisible characters, warning floods, fleets
past the limit. Driven by Pilot against the real fake wisp."""

from __future__ import annotations

import itertools
import time

from tests.support.dashboard_harness import dashboard, poll, screen_text
from tests.support.waiting import wait_until_async
from wreckit_tui.screens.confirm import ConfirmScreen
from wreckit_tui.screens.help import HelpScreen

LOOK_ALIKES = [
    {"name": "zwp", "state": "running", "cpus": "lots"},
    {"name": "zw\u200bp", "state": "running", "cpus": "lots"},
]


async def test_invisible_characters_show_as_escapes_in_every_view(fake_wisp):
    async with dashboard(fake_wisp, LOOK_ALIKES, notifications=True) as pilot:
        app = pilot.app
        table = app.dashboard.table
        assert table.get_cell("zw\u200bp", "name").text == "zw\\u200bp"
        assert table.get_cell("zwp", "name").text == "zwp"
        await pilot.press("down")
        text = screen_text(app)
        assert "name        zw\\u200bp" in text  # the detail pane
        toasts = " ".join(str(notification.message) for notification in app.said)
        assert "sprite 'zw\\u200bp': field 'cpus'" in toasts

        await pilot.press("d")
        await wait_until_async(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Kill sprite zw\\u200bp?" in screen_text(app)
        await pilot.press("n")

        await pilot.press("ctrl+p")
        await pilot.press(*"sprite zw")
        await wait_until_async(pilot, lambda: "Sprite zw\\u200bp" in screen_text(app))
        await pilot.press("escape")
        assert "\u200b" not in app.export_screenshot()


BAD_FIELDS = ("address", "cpu_percent", "cpus", "created_at", "id", "isolation", "memory")
BAD_FIELDS += ("memory_used", "pid", "state", "status", "uptime_seconds", "url")


def flood(
    count: int, bad: object = -1, fields: tuple[str, ...] = ("cpus",), prefix: str = "w"
) -> list[dict]:
    """``count`` sprites whose ``fields`` all hold ``bad``: one warning per field."""
    return [{"name": f"{prefix}{index}", **dict.fromkeys(fields, bad)} for index in range(count)]


def new_toasts(app, shown: set[str]) -> list[str]:
    """The notifications the app made since those in ``shown`` (older ones may have expired)."""
    return [str(note.message) for note in app.said if note.identity not in shown]


async def test_a_flood_of_warnings_never_freezes_the_ui_and_makes_one_toast(fake_wisp):
    sprites = flood(4000, fields=BAD_FIELDS)  # 52,000 warnings, 4,000 rows
    async with dashboard(fake_wisp, sprites, notifications=True, list_timeout=60) as pilot:
        app = pilot.app
        assert "52000 warnings about the backend's output" in screen_text(app)
        (toast,) = [str(notification.message) for notification in app.said]
        assert toast.splitlines() == [
            "wisp list: 52,000 warnings about its output, among them:",
            "sprite 'w0': field 'address' has an invalid value, shown as unknown",
            "sprite 'w0': field 'cpu_percent' has an invalid value, shown as unknown",
            "sprite 'w0': field 'cpus' has an invalid value, shown as unknown",
        ]

        shown = {notification.identity for notification in app.said}
        beats: list[float] = []
        heartbeat = app.set_interval(0.05, lambda: beats.append(time.monotonic()))
        before = app.snapshot.poll
        app.poller.now()  # the same 50,000 warnings again: compared with the last poll's
        await wait_until_async(pilot, lambda: app.snapshot.poll > before, timeout=60)
        await pilot.press("question_mark")
        await wait_until_async(pilot, lambda: isinstance(app.screen, HelpScreen), timeout=2)
        heartbeat.stop()
        gaps = [later - earlier for earlier, later in itertools.pairwise(beats)]
        assert max(gaps) < 2.0, f"the UI thread stood still for {max(gaps):.1f} s"
        assert new_toasts(app, shown) == []  # nothing new to say

        await pilot.press("escape")
        fake_wisp.set_fleet(flood(4000, fields=BAD_FIELDS, prefix="v"))  # all of them new
        app.poller.now()
        await wait_until_async(pilot, lambda: "v0" in app.snapshot.by_name, timeout=60)
        await wait_until_async(pilot, lambda: new_toasts(app, shown))  # a notification is a message
        await pilot.pause(0.2)
        (toast,) = new_toasts(app, shown)  # one toast more, not 52,000
        assert toast.startswith("wisp list: 52,000 warnings about its output, among them:\n")
        assert "sprite 'v0'" in toast


async def test_a_fleet_past_max_sprites_is_refused_with_a_clear_error(fake_wisp):
    async with dashboard(fake_wisp, flood(3, bad=1), max_sprites=2) as pilot:
        text = " ".join(screen_text(pilot.app).split())
        assert "ERROR" in text
        assert "too many sprites (3 > max_sprites 2)" in text
        assert "Raise max_sprites if the fleet is really that large" in text
        assert pilot.app.dashboard.table.shown_keys == []


async def test_200000_sprites_are_refused_and_the_last_good_table_stays(fake_wisp):
    async with dashboard(fake_wisp, flood(3, bad=1), list_timeout=60) as pilot:
        app = pilot.app
        fake_wisp.set_scenario(list="multitude")
        await poll(pilot)
        text = " ".join(screen_text(app).split())
        assert "STALE" in text
        assert "too many sprites (200000 > max_sprites 20000)" in text
        assert app.dashboard.table.shown_keys == ["w0", "w1", "w2"]
