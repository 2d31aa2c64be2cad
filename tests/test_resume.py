"""Starting a stopped sprite again (contract v1.1 ``resume``): the adapter, the command line and
the dashboard, against the real fake wisp, with and without the capability."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.conftest import run_cli
from tests.support.dashboard_harness import dashboard, make_app, screen_text
from tests.support.waiting import wait_until_async
from wreckit_tui.adapter import Wisp
from wreckit_tui.backends import Backend
from wreckit_tui.errors import InvalidRequest, NotSupported, SpriteNotFound
from wreckit_tui.screens.confirm import ConfirmScreen
from wreckit_tui.screens.error import ErrorScreen

RUNNING = {"name": "alpha", "state": "running", "cpus": 1, "memory": "512MiB"}
STOPPED = {"name": "cold", "state": "stopped", "cpus": 2, "memory": "1GiB", "id": "spr_cold"}


def client(fake) -> Wisp:
    return Wisp(Backend(argv=(str(fake.path),), label="fake"), timeout=10, list_timeout=5)


def starts(fake) -> list[list[str]]:
    return [call for call in fake.calls() if call[:1] == ["start"]]


def test_capabilities_are_asked_once_and_only_known_commands_count(fake_wisp):
    fake_wisp.set_scenario(announce=["resume", "exec", "teleport", 7])
    wisp = client(fake_wisp)

    async def twice():
        return await asyncio.gather(wisp.capabilities(), wisp.capabilities())

    assert asyncio.run(twice()) == [frozenset({"resume", "exec"})] * 2
    assert fake_wisp.calls() == [["capabilities", "--json"]]


@pytest.mark.parametrize("scenario", ["unknown", "fail", "garbage", "empty", "huge"])
def test_a_backend_that_cannot_say_speaks_plain_v1(fake_wisp, scenario):
    fake_wisp.set_scenario(capabilities=scenario)
    assert asyncio.run(client(fake_wisp).capabilities()) == frozenset()


def test_resume_runs_start_with_the_name_alone_and_keeps_the_sprite(fake_wisp):
    fake_wisp.set_fleet([RUNNING, STOPPED])
    asyncio.run(client(fake_wisp).resume("cold", max_vms=5))
    assert starts(fake_wisp) == [["start", "cold"]]
    cold = next(sprite for sprite in fake_wisp.fleet() if sprite["name"] == "cold")
    assert cold == {**STOPPED, "state": "running"}


def test_without_the_capability_resume_is_not_supported_and_runs_nothing(fake_wisp):
    fake_wisp.set_fleet([STOPPED])
    fake_wisp.set_scenario(capabilities="unknown")
    with pytest.raises(NotSupported) as caught:
        asyncio.run(client(fake_wisp).resume("cold", max_vms=5))
    assert caught.value.exit_code == 6
    assert "cannot start a stopped sprite again" in caught.value.message
    assert starts(fake_wisp) == []


@pytest.mark.parametrize(
    ("fleet", "max_vms", "error", "words"),
    [
        ([RUNNING], 5, InvalidRequest, "is running, not stopped"),
        ([RUNNING, STOPPED], 1, InvalidRequest, "quota reached: 1 of max_vms 1"),
        ([RUNNING], 5, SpriteNotFound, "not found"),
    ],
)
def test_resume_is_refused_before_anything_runs(fake_wisp, fleet, max_vms, error, words):
    fake_wisp.set_fleet(fleet)
    name = "alpha" if error is InvalidRequest and max_vms == 5 else "cold"
    with pytest.raises(error, match=words):
        asyncio.run(client(fake_wisp).resume(name, max_vms=max_vms))
    assert starts(fake_wisp) == []


def test_cli_start_of_a_stopped_sprite_starts_it_again(fake_wisp):
    fake_wisp.set_fleet([STOPPED])
    done = run_cli("start", "cold", "--wisp", str(fake_wisp.path))
    assert (done.returncode, done.stdout, done.stderr) == (0, "started cold again\n", "")
    assert starts(fake_wisp) == [["start", "cold"]]


def test_cli_refuses_sizes_for_a_stopped_sprite(fake_wisp):
    fake_wisp.set_fleet([STOPPED])
    done = run_cli("start", "cold", "--cpus", "4", "--wisp", str(fake_wisp.path))
    assert done.returncode == 2
    assert "is stopped: `wreckit-tui start cold` without --memory and --cpus" in done.stderr
    assert starts(fake_wisp) == []


def test_cli_on_a_v1_backend_says_it_cannot_and_exits_6(fake_wisp):
    fake_wisp.set_fleet([STOPPED])
    fake_wisp.set_scenario(capabilities="unknown")
    done = run_cli("start", "cold", "--wisp", str(fake_wisp.path))
    assert done.returncode == 6
    assert done.stderr.startswith("wreckit-tui: error: this backend (wisp) cannot start a stopped")
    assert len(done.stderr.splitlines()) == 1


async def test_enter_on_a_stopped_sprite_asks_to_start_it_again_and_y_does(fake_wisp):
    fake_wisp.set_scenario(start="slow", slow_seconds=1.0)
    async with dashboard(fake_wisp, [RUNNING, STOPPED]) as pilot:
        app = pilot.app
        await pilot.press("down", "enter")
        await wait_until_async(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Start cold again?" in screen_text(app)
        assert app.screen.focused.id == "no"
        await pilot.press("enter")  # No: nothing runs
        await wait_until_async(pilot, lambda: app.screen is app.dashboard)
        await pilot.press("a", "y")
        await wait_until_async(pilot, lambda: app.screen is app.dashboard)
        assert app.dashboard.table.get_cell("cold", "state").text == "starting"  # at once
        await wait_until_async(pilot, lambda: app.snapshot.by_name["cold"].state == "running")
        assert starts(fake_wisp) == [["start", "cold"]]


async def test_on_a_v1_backend_the_dashboard_says_so_and_e_shows_it(fake_wisp):
    fake_wisp.set_scenario(capabilities="unknown")
    async with dashboard(fake_wisp, [RUNNING, STOPPED], notifications=True) as pilot:
        app = pilot.app
        await pilot.press("down", "a", "y")
        await wait_until_async(pilot, lambda: app.last_error is not None)
        toasts = [str(notification.message) for notification in app.said]
        assert any("cannot start a stopped sprite again" in toast for toast in toasts)
        assert starts(fake_wisp) == []
        await pilot.press("e")
        await wait_until_async(pilot, lambda: isinstance(app.screen, ErrorScreen))
        assert "cannot start a stopped sprite" in screen_text(app)


async def test_a_hanging_capabilities_call_delays_nothing_and_ends_with_the_dashboard(fake_wisp):
    fake_wisp.set_scenario(capabilities="hang")
    fake_wisp.set_fleet([RUNNING])
    app = make_app(fake_wisp)
    async with app.run_test() as pilot:
        started = time.monotonic()
        await wait_until_async(
            pilot, lambda: app.snapshot.poll >= 1 and app.backend_version is not None
        )
        assert time.monotonic() - started < 3  # the first rows and the version came at once
        await wait_until_async(pilot, lambda: ["capabilities", "--json"] in fake_wisp.calls())
        assert "alpha" in app.dashboard.table.shown_keys
    await wait_until_async(
        None, lambda: not fake_wisp.alive_pids(), timeout=5, interval=0.05, what="no fake left"
    )
