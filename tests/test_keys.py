"""Keys typed fast, as a paste or ``tmux send-keys`` sends them: none lost, none misrouted, and
no sequence of keys, however fast, ends the dashboard."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from textual import events

from tests.support.dashboard_harness import dashboard
from tests.support.fake_wisp_handle import FakeWisp, make_fake_wisp
from tests.support.waiting import wait_until_async
from wreckit_tui.screens.dashboard import DashboardScreen
from wreckit_tui.screens.launch import LaunchScreen

FLEET = [
    {"name": name, "state": "running", "cpus": 1, "memory": "512MiB"}
    for name in ("alpha", "bravo", "charlie")
]
CHARACTERS = {"minus": "-", "space": " ", "slash": "/", "question_mark": "?"}
KEYS = [
    *"ndayrsSeijkpvx1",
    *["enter", "escape", "question_mark", "slash", "space", "minus", "tab", "shift+tab"],
    *["up", "down", "home", "end", "pageup", "pagedown", "ctrl+u", "backspace", "ctrl+p"],
]


def key_event(key: str) -> events.Key:
    """The event a terminal's key makes, as Textual's driver builds it."""
    character = CHARACTERS.get(key, key if len(key) == 1 else None)
    if key == "enter":
        character = "\r"
    return events.Key(key, character)


def burst(app, keys: Sequence[str]) -> None:
    """Every key at once, none waiting for the one before to be handled."""
    for key in keys:
        app.post_message(key_event(key))


def starts(fake: FakeWisp) -> list[list[str]]:
    return [call for call in fake.calls() if call[:1] == ["start"]]


async def test_keys_typed_right_after_the_form_opens_reach_it(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        burst(app, ["n", "ctrl+u", *"bar", "minus", *"new", "enter"])
        await wait_until_async(pilot, lambda: starts(fake_wisp))
        assert starts(fake_wisp) == [["start", "bar-new", "--memory", "512MiB", "--cpus", "1"]]
        assert app.screen is app.dashboard


async def test_a_key_typed_right_after_a_dialog_closes_reaches_the_dashboard(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        burst(app, ["question_mark", "escape", "n", *"zed", "enter"])
        await wait_until_async(pilot, lambda: starts(fake_wisp))
        assert starts(fake_wisp)[0][:2] == ["start", "zed"]


async def test_d_then_y_at_once_kills_the_selected_sprite(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        burst(pilot.app, ["down", "d", "y"])
        await wait_until_async(pilot, lambda: ["kill", "bravo"] in fake_wisp.calls())


async def test_a_line_typed_right_after_i_reaches_the_input_whole(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        burst(app, ["i", *"ls", "minus", *"la", "ctrl+u", *"pwd", "enter", "j"])
        await wait_until_async(
            pilot, lambda: ["send", "alpha", "--enter", "--", "pwd"] in fake_wisp.calls()
        )
        await wait_until_async(pilot, lambda: app.dashboard.table.selected_key == "bravo")
        assert app.screen is app.dashboard


async def alive_after(fake: FakeWisp, bursts: Sequence[Sequence[str]]) -> None:
    """Type each burst, then check the dashboard is alive, consistent and answers keys."""
    async with dashboard(fake, FLEET, max_vms=6) as pilot:
        app = pilot.app
        for keys in bursts:
            burst(app, keys)
            await pilot.pause(0.05)
        for _ in range(6):  # close whatever is open, once the keys held for it reached it
            await wait_until_async(pilot, lambda: not app.keys_held)
            if app.screen is app.dashboard:
                break
            await pilot.press("escape")
            await pilot.pause(0.05)
        await wait_until_async(pilot, lambda: app.screen is app.dashboard and not app.keys_held)
        assert app.is_running and app._exception is None
        assert isinstance(app.screen_stack[0], DashboardScreen) and len(app.screen_stack) == 1
        assert not app.screen.query(LaunchScreen)
        before = app.snapshot.poll
        await pilot.press("escape", "r")  # esc: leave a filter; r: poll now
        await wait_until_async(pilot, lambda: app.snapshot.poll > before)


@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.lists(st.sampled_from(KEYS), min_size=1, max_size=12), min_size=1, max_size=6))
@example(  # ended the dashboard once: the kill dialog answered twice
    [["s", "space"], ["a", "backspace", "x", "minus", "space", "home", "d", "enter", "i", "v", "k"]]
)
def test_no_burst_of_keys_ends_the_dashboard(tmp_path_factory, bursts):
    fake = make_fake_wisp(tmp_path_factory.mktemp("wisp"))
    try:
        fake.set_fleet(FLEET)
        asyncio.run(alive_after(fake, bursts))
    finally:
        fake.kill_leftovers()


async def test_a_dialog_answered_twice_at_once_answers_once(fake_wisp):
    """Two presses of Yes queued behind each other (a double click, enter then space): the first
    answers and closes the dialog, the second finds it gone and does nothing."""
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        await pilot.press("d")
        await wait_until_async(pilot, lambda: app.screen is not app.dashboard)
        yes = app.screen.query_one("#yes")
        yes.press()
        yes.press()
        await wait_until_async(pilot, lambda: ["kill", "alpha"] in fake_wisp.calls())
        await pilot.pause(0.2)
        assert app.is_running and app._exception is None
        assert app.screen_stack == [app.dashboard]
        assert [call for call in fake_wisp.calls() if call[:1] == ["kill"]] == [["kill", "alpha"]]
