"""Launching and killing from the dashboard: form, validation, quota, confirmation, marks.

Every test checks the exact argv the fake wisp received, or that it received none.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from textual.widgets import Input

from tests.support.dashboard_harness import (
    DASHBOARD_SIZE,
    dashboard,
    make_app,
    poll,
    screen_text,
)
from tests.support.waiting import wait_until_async
from wreckit_tui.screens.confirm import ConfirmScreen
from wreckit_tui.screens.help import HelpScreen
from wreckit_tui.screens.launch import LaunchScreen

FLEET = [
    {"name": "alpha", "state": "running", "cpus": 1, "memory": "512MiB"},
    {"name": "bravo", "state": "running", "cpus": 1, "memory": "512MiB"},
    {"name": "charlie", "state": "stopped", "cpus": 1, "memory": "512MiB"},
]


def starts(fake) -> list[list[str]]:
    return [call for call in fake.calls() if call[0] == "start"]


def kills(fake) -> list[list[str]]:
    return [call for call in fake.calls() if call[0] == "kill"]


def notifications(app) -> list[str]:
    """The text of every notification; none of them may be parsed as markup."""
    assert all(notification.markup is False for notification in app.said)
    return [str(notification.message) for notification in app.said]


async def open_form(pilot) -> LaunchScreen:
    await pilot.press("n")
    await wait_until_async(pilot, lambda: isinstance(pilot.app.screen, LaunchScreen))
    return pilot.app.screen


async def type_into(pilot, field: str, text: str) -> None:
    widget = pilot.app.screen.query_one(f"#{field}", Input)
    widget.focus()
    widget.value = ""
    await pilot.press(*text)


def error_of(screen: LaunchScreen, field: str) -> str:
    return str(screen.query_one(f"#{field}-error").render())


async def test_valid_launch_runs_start_and_shows_the_row_at_once(fake_wisp):
    fake_wisp.set_fleet(FLEET)
    fake_wisp.set_scenario(start="slow", slow_seconds=1.0)
    async with dashboard(fake_wisp) as pilot:
        app = pilot.app
        form = await open_form(pilot)
        assert screen_text(app).count("Launch sprite") == 1
        assert form.query_one("#name", Input).value == "sprite-4"
        assert app.focused is form.query_one("#name", Input)
        assert (form.query_one("#memory", Input).value, form.query_one("#cpus", Input).value) == (
            "512MiB",
            "1",
        )
        await type_into(pilot, "name", "delta")
        await type_into(pilot, "cpus", "2")
        await pilot.press("enter")
        await wait_until_async(pilot, lambda: "delta" in app.dashboard.table.shown_keys)
        assert app.dashboard.table.get_cell("delta", "state").text == "starting"
        await pilot.press("down")  # the UI stays live while the start runs
        await wait_until_async(pilot, lambda: any(c[1:2] == ["delta"] for c in starts(fake_wisp)))
        await wait_until_async(pilot, lambda: "delta" in app.snapshot.by_name, timeout=15)
        assert starts(fake_wisp) == [["start", "delta", "--memory", "512MiB", "--cpus", "2"]]
        assert app.dashboard.table.get_cell("delta", "state").text == "running"
        assert "launched delta" in notifications(app)


@pytest.mark.parametrize(
    ("field", "text", "problem"),
    [
        ("name", "Bad Name", "invalid name"),
        ("name", "alpha", "a sprite named 'alpha' already exists"),
        ("memory", "512MB", "invalid memory size"),
        ("cpus", "65", "invalid cpus"),
        ("name", "x[/]", "invalid name 'x[/]'"),
        ("memory", "[bold]1GiB", "invalid memory size '[bold]1GiB'"),
    ],
)
async def test_invalid_field_shows_the_problem_and_runs_nothing(fake_wisp, field, text, problem):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        form = await open_form(pilot)
        await type_into(pilot, field, text)
        assert problem in error_of(form, field)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.screen is form
        assert app.focused is form.query_one(f"#{field}", Input)
        assert starts(fake_wisp) == []


async def test_escape_cancels_the_form(fake_wisp):
    async with dashboard(fake_wisp) as pilot:
        app = pilot.app
        await open_form(pilot)
        await pilot.press("escape")
        assert not isinstance(app.screen, LaunchScreen)
        await pilot.pause(0.3)
        assert starts(fake_wisp) == []


async def test_quota_reached_opens_no_form(fake_wisp):
    fleet = [*FLEET, {"name": "delta", "state": "running"}]  # 3 not stopped
    async with dashboard(fake_wisp, fleet, max_vms=2) as pilot:
        app = pilot.app
        await pilot.press("n")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, LaunchScreen)
        assert any("quota" in text and "3 of max_vms 2" in text for text in notifications(app))
        assert starts(fake_wisp) == []


async def test_a_start_still_running_counts_against_the_quota(fake_wisp):
    fake_wisp.set_scenario(start="slow", slow_seconds=1.0)
    async with dashboard(fake_wisp, FLEET, max_vms=3) as pilot:
        app = pilot.app
        await open_form(pilot)
        await pilot.press("enter")
        await wait_until_async(pilot, lambda: "sprite-4" in app.dashboard.table.shown_keys)
        await pilot.press("n")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, LaunchScreen)
        assert any("quota" in text and "3 of max_vms 3" in text for text in notifications(app))
        await wait_until_async(pilot, lambda: "sprite-4" in app.snapshot.by_name, timeout=15)
        assert starts(fake_wisp) == [["start", "sprite-4", "--memory", "512MiB", "--cpus", "1"]]


async def launch_first_sprite(pilot) -> None:
    """Launch the suggested ``sprite-1`` into an empty fleet; return once its row is selected."""
    await open_form(pilot)
    await pilot.press("enter")
    await wait_until_async(pilot, lambda: pilot.app.dashboard.table.selected_key == "sprite-1")


async def test_the_detail_pane_shows_a_sprite_still_starting(fake_wisp):
    fake_wisp.set_scenario(start="slow", slow_seconds=1.0)
    async with dashboard(fake_wisp, []) as pilot:
        app = pilot.app
        await launch_first_sprite(pilot)
        await pilot.pause()
        text = screen_text(app)
        assert "No sprite selected" not in text
        assert re.search(r"name +sprite-1", text)
        assert re.search(r"state +starting", text)
        await wait_until_async(pilot, lambda: "sprite-1" in app.snapshot.by_name, timeout=15)


async def test_quota_is_checked_again_right_before_start(fake_wisp):
    async with dashboard(fake_wisp, FLEET, max_vms=3) as pilot:
        app = pilot.app
        await open_form(pilot)
        fake_wisp.set_fleet([*FLEET, {"name": "other", "state": "running"}])  # filled meanwhile
        await pilot.press("enter")
        await wait_until_async(pilot, lambda: any("quota" in t for t in notifications(app)))
        assert starts(fake_wisp) == []
        await wait_until_async(pilot, lambda: "sprite-4" not in app.dashboard.table.shown_keys)


async def test_failed_start_removes_the_placeholder_and_shows_wisps_reason(fake_wisp):
    fake_wisp.set_fleet(FLEET)
    fake_wisp.set_scenario(start="fail")
    async with dashboard(fake_wisp) as pilot:
        app = pilot.app
        await open_form(pilot)
        await pilot.press("enter")
        await wait_until_async(pilot, lambda: starts(fake_wisp) != [])
        assert starts(fake_wisp) == [["start", "sprite-4", "--memory", "512MiB", "--cpus", "1"]]
        reason = "error: sprites API unreachable (connection refused)"
        await wait_until_async(pilot, lambda: any(reason in text for text in notifications(app)))
        error = next(n for n in app.said if reason in str(n.message))
        assert error.severity == "error"
        assert error.timeout >= 10
        assert "sprite-4" not in app.dashboard.table.shown_keys


async def test_kill_one_asks_with_the_name_and_kills_on_y(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        await pilot.press("down", "d")
        await wait_until_async(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Kill sprite bravo?" in screen_text(app)
        await pilot.press("y")
        await wait_until_async(pilot, lambda: "bravo" not in app.snapshot.by_name)
        assert kills(fake_wisp) == [["kill", "bravo"]]
        assert "bravo" not in app.dashboard.table.shown_keys
        assert "killed bravo" in notifications(app)


@pytest.mark.parametrize("keys", [["n"], ["escape"], ["enter"]])
async def test_kill_cancelled_runs_nothing(fake_wisp, keys):
    """No has the focus: d then enter kills nothing."""
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        await pilot.press("d")
        await wait_until_async(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press(*keys)
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.pause(0.3)
        assert kills(fake_wisp) == []


async def test_enter_on_yes_kills(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        await pilot.press("d")
        await wait_until_async(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert app.screen.focused.id == "no"
        await pilot.press("shift+tab", "enter")
        await wait_until_async(pilot, lambda: kills(fake_wisp) == [["kill", "alpha"]])


async def test_kill_marked_sprites_concurrently_reporting_each(fake_wisp):
    fake_wisp.set_fleet(FLEET)
    fake_wisp.set_scenario(kill="slow", slow_seconds=1.0)
    async with dashboard(fake_wisp) as pilot:
        app = pilot.app
        await pilot.press("space", "space", "space")
        assert app.dashboard.table.marks == {"alpha", "bravo", "charlie"}
        assert app.dashboard.table.get_cell("bravo", "mark").text == "●"
        await pilot.press("d")
        await wait_until_async(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        text = screen_text(app)
        assert "Kill 3 sprites?" in text
        assert all(f"• {name}" in text for name in ("alpha", "bravo", "charlie"))
        await pilot.press("y")
        await wait_until_async(pilot, lambda: len(kills(fake_wisp)) == 3)
        assert app.dashboard.table.get_cell("alpha", "state").text == "stopping"
        await wait_until_async(pilot, lambda: app.snapshot.fleet.sprites == (), timeout=15)
        assert sorted(kills(fake_wisp)) == [
            ["kill", "alpha"],
            ["kill", "bravo"],
            ["kill", "charlie"],
        ]
        times = fake_wisp.call_times("kill")
        assert max(times) - min(times) < 1.5  # at once; one after another takes 2 s or more
        assert "killed alpha, bravo, charlie" in notifications(app)
        assert app.dashboard.table.marks == set()


async def kill_selected(pilot, reported: str) -> None:
    """Kill the selected sprite (d, y) and wait for a notification containing ``reported``."""
    await pilot.press("d", "y")
    await wait_until_async(pilot, lambda: any(reported in t for t in notifications(pilot.app)))


async def test_sprite_that_vanished_is_reported_as_already_gone(fake_wisp):
    fake_wisp.set_fleet(FLEET)
    fake_wisp.set_scenario(kill="vanish")
    async with dashboard(fake_wisp) as pilot:
        app = pilot.app
        await kill_selected(pilot, "already gone")
        assert kills(fake_wisp) == [["kill", "alpha"]]
        assert "already gone: alpha" in notifications(app)
        assert not any("could not kill" in text for text in notifications(app))


async def test_failed_kill_is_reported_and_the_row_returns(fake_wisp):
    fake_wisp.set_fleet(FLEET)
    fake_wisp.set_scenario(kill="fail")
    async with dashboard(fake_wisp) as pilot:
        app = pilot.app
        await kill_selected(pilot, "could not kill")
        await poll(pilot)
        assert app.dashboard.table.get_cell("alpha", "state").text == "running"
        assert "sprites API unreachable" in next(t for t in notifications(app) if "could not" in t)


async def test_a_sprite_named_with_markup_is_offered_as_taken_without_breaking_the_form(fake_wisp):
    async with dashboard(fake_wisp, [*FLEET, {"name": "evil[/b]-[red]x"}]) as pilot:
        app = pilot.app
        form = await open_form(pilot)
        await type_into(pilot, "name", "evil[/b]-[red]x")
        assert "a sprite named 'evil[/b]-[red]x' already exists" in error_of(form, "name")
        assert "evil[/b]-[red]x" in screen_text(app)


async def test_a_start_that_ends_under_a_dialog_shows_its_row_at_once(fake_wisp):
    fake_wisp.set_scenario(start="slow", slow_seconds=0.5)
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        await open_form(pilot)
        await pilot.press("enter")  # the start runs in the background...
        await wait_until_async(pilot, lambda: not isinstance(app.screen, LaunchScreen))
        await pilot.press("question_mark")  # ...and ends while the help screen is open
        await wait_until_async(pilot, lambda: "sprite-4" in app.snapshot.by_name)
        assert isinstance(app.screen, HelpScreen)


async def test_the_launch_form_keeps_what_was_typed_across_polls_and_checks_it_again(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        await open_form(pilot)
        await pilot.press(*"zed")
        form = app.screen
        fake_wisp.set_fleet([*FLEET, {"name": "zed", "state": "running"}])
        await poll(pilot)
        assert app.screen is form
        assert form.query_one("#name", Input).value == "zed"
        assert "a sprite named 'zed' already exists" in error_of(form, "name")


async def test_the_kill_confirmation_keeps_its_sprite_across_polls(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        await pilot.press("down", "d")
        await wait_until_async(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        fake_wisp.set_fleet([{"name": "aaron", "state": "running"}, *FLEET])  # rows move
        await poll(pilot)
        assert app.dashboard.table.selected_key == "bravo"
        assert "Kill sprite bravo?" in screen_text(app)
        await pilot.press("y")
        await wait_until_async(pilot, lambda: kills(fake_wisp) == [["kill", "bravo"]])


async def test_a_sprite_still_starting_is_not_killed(fake_wisp):
    fake_wisp.set_scenario(start="slow", slow_seconds=1.0)
    async with dashboard(fake_wisp, []) as pilot:
        app = pilot.app
        await launch_first_sprite(pilot)
        await pilot.press("d")
        assert not isinstance(app.screen, ConfirmScreen)
        assert "still starting: sprite-1" in notifications(app)
        assert kills(fake_wisp) == []


@pytest.mark.parametrize("local", [True, False])
async def test_on_a_local_backend_the_form_warns_beyond_this_machine(fake_wisp, local):
    fake_wisp.set_fleet(FLEET)
    app = make_app(fake_wisp, max_vms=10)  # the test host: 2 cores, 4 GiB
    app.wisp.backend = replace(app.wisp.backend, local=local)
    async with app.run_test(size=DASHBOARD_SIZE) as pilot:
        await wait_until_async(pilot, lambda: app.snapshot.poll >= 1 and not app.poller.running)
        await open_form(pilot)
        await type_into(pilot, "cpus", "64")
        await type_into(pilot, "memory", "100GiB")
        warning = str(app.screen.query_one("#host-warning").render())
        if local:
            assert warning == (
                "64 vCPUs share this machine's 2 cores; 100GiB is more than this machine's 4GiB"
            )
        else:
            assert warning == ""
        await pilot.press("enter")  # a warning, not an error: it launches
        await wait_until_async(pilot, lambda: any(c[:1] == ["start"] for c in fake_wisp.calls()))
