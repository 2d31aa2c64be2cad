"""Activity at every poll against the real fake wisp: captures only of sprites that went quiet,
none where the backend cannot capture; the view carries it; ``wait`` exits 0, 4 or 5."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from datetime import UTC, datetime

from tests.conftest import run_cli
from tests.support.dashboard_harness import FIXED_NOW, dashboard, make_app, poll, screen_text
from wreckit_tui.activity import EXITED, IDLE, WAITING, WORKING, Rules, Watch
from wreckit_tui.capacity import Host
from wreckit_tui.view import view_of
from wreckit_tui.watching import (
    CAPTURES_PER_POLL,
    MAX_CAPTURES,
    annotate,
    list_watched,
    watch_fleet,
)

NOW = 1_790_000_000.0
ASKING = "Edit app.py\nDo you want to proceed? (y/n) "


def at(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def agent(name: str, printed: float | None, **fields: object) -> dict:
    sprite = {"name": name, "state": "running", "command": "sh -c ask", **fields}
    return {**sprite, "activity_at": at(printed)} if printed is not None else sprite


def captures(fake) -> list[str]:
    return [call[1] for call in fake.calls() if call[0] == "capture"]


def poll_once(fake, watch: Watch, now: float):
    wisp = make_app(fake).wisp

    async def once():
        fleet = await wisp.list()
        return fleet, await watch_fleet(wisp, watch, fleet, now)

    return asyncio.run(once())


def test_only_sprites_that_went_quiet_are_captured_and_judged(fake_wisp):
    fake_wisp.set_fleet([agent("asks", NOW - 60), agent("busy", NOW - 1), agent("done", NOW - 60)])
    fake_wisp.set_screen("asks", ASKING)
    fake_wisp.set_screen("done", "all done\n")
    watch = Watch(Rules.load())
    _, seen = poll_once(fake_wisp, watch, NOW)
    assert sorted(captures(fake_wisp)) == ["asks", "done"]
    assert seen["asks"].activity.state == WAITING and seen["asks"].attention == "waiting"
    assert seen["busy"].activity.state == WORKING
    assert seen["done"].activity.state == IDLE and seen["done"].attention is None

    fake_wisp.forget_calls()
    fake_wisp.set_fleet([agent("asks", NOW - 60), agent("busy", NOW - 1), agent("done", NOW - 60)])
    poll_once(fake_wisp, watch, NOW + 1)  # nothing went quiet since: no capture at all
    assert captures(fake_wisp) == []

    fake_wisp.set_screen("busy", "ready? (y/n) ")
    _, seen = poll_once(fake_wisp, watch, NOW + 5)  # busy stopped printing 6 s ago: went quiet
    assert captures(fake_wisp) == ["busy"]
    assert seen["busy"].activity.state == WAITING


def test_a_backend_without_capture_is_never_asked_and_tells_by_its_clock(fake_wisp):
    fake_wisp.set_scenario(announce=[])
    fake_wisp.set_fleet([agent("quiet", NOW - 60), agent("blind", None), agent("busy", NOW)])
    _, seen = poll_once(fake_wisp, Watch(Rules.load()), NOW)
    assert captures(fake_wisp) == []
    assert seen["quiet"].activity.state == IDLE
    assert seen["blind"].activity.state is None  # nothing to tell by: unknown
    assert seen["busy"].activity.state == WORKING


def test_captures_run_a_few_at_a_time_and_a_failed_one_leaves_its_sprite_unknown(fake_wisp):
    fleet = [agent(f"s{index}", NOW - 60) for index in range(MAX_CAPTURES * 2 + 1)]
    fake_wisp.set_fleet(fleet)
    fake_wisp.set_scenario(capture="fail")
    _, seen = poll_once(fake_wisp, Watch(Rules.load()), NOW)
    assert len(captures(fake_wisp)) == len(fleet)
    assert all(told.activity.state is None for told in seen.values())


def test_a_fleet_of_quiet_sprites_is_captured_a_poll_s_worth_at_a_time(fake_wisp):
    """Twice as many quiet sprites as one poll captures: the ones that printed last are looked
    at first, the others at the next poll, and none twice."""
    count = CAPTURES_PER_POLL * 2
    fleet = [agent(f"s{index:03d}", NOW - 600 + index) for index in range(count)]
    fake_wisp.set_fleet(fleet)
    watch = Watch(Rules.load())
    _, seen = poll_once(fake_wisp, watch, NOW)
    latest = {f"s{index:03d}" for index in range(CAPTURES_PER_POLL, count)}
    assert set(captures(fake_wisp)) == latest and len(captures(fake_wisp)) == CAPTURES_PER_POLL
    assert {name for name, told in seen.items() if told.activity.state == IDLE} == latest
    assert all(seen[name].activity.state is None for name in seen.keys() - latest)  # not yet

    fake_wisp.forget_calls()
    _, seen = poll_once(fake_wisp, watch, NOW + 2)
    assert set(captures(fake_wisp)) == {sprite["name"] for sprite in fleet} - latest
    assert all(told.activity.state == IDLE for told in seen.values())


def test_headless_json_of_many_quiet_sprites_makes_one_poll_s_captures(fake_wisp):
    """``--headless --json`` tells what one poll can tell; the rest is null, not a guess."""
    count = CAPTURES_PER_POLL + 20
    fake_wisp.set_fleet([agent(f"s{index:03d}", 1_000.0 + index) for index in range(count)])
    done = run_cli("--wisp", str(fake_wisp.path), "--headless", "--json")
    assert done.returncode == 0, done.stderr
    activity = {sprite["name"]: sprite["activity"] for sprite in json.loads(done.stdout)}
    assert len(captures(fake_wisp)) == CAPTURES_PER_POLL
    assert Counter(activity.values()) == {IDLE: CAPTURES_PER_POLL, None: 20}


def test_an_exit_and_full_memory_need_attention_and_the_view_carries_it(fake_wisp):
    fake_wisp.set_fleet(
        [
            agent("failed", NOW - 60, state="stopped", exit_code=3),
            agent("full", NOW, memory="1GiB", memory_used="1000MiB"),
            agent("asks", NOW - 600),
            agent("asks-too", NOW - 60),
        ]
    )
    fake_wisp.set_screen("asks", ASKING)
    fake_wisp.set_screen("asks-too", ASKING)
    fleet, seen = poll_once(fake_wisp, Watch(Rules.load()), NOW)
    view = view_of(fleet, Host(2, 4096.0), 5, activity=seen, now=NOW)
    assert view.attention == ("asks", "asks-too", "failed", "full")  # longest waiting first
    failed = view.by_name["failed"]
    assert (failed.activity, failed.attention) == (EXITED, "exited 3")
    row = {row.key: row for row in view.rows}["asks"]
    assert row.cells[2].text == "waiting 10m"
    again = view_of(fleet, Host(2, 4096.0), 5, view, activity=seen, now=NOW)
    assert again.rows[0] is view.rows[0]  # an unchanged sprite keeps its row


def test_annotate_gives_iso_times_and_leaves_unwatched_sprites_alone(fake_wisp):
    fake_wisp.set_fleet([agent("busy", NOW - 1)])
    fleet, seen = poll_once(fake_wisp, Watch(Rules.load()), NOW)
    (sprite,) = annotate(fleet, seen, NOW).sprites
    assert (sprite.activity, sprite.activity_since) == (WORKING, at(NOW - 1))
    assert sprite.activity_seconds == 1
    assert annotate(fleet, {}, NOW).sprites == fleet.sprites


def test_one_list_tells_activity_from_one_capture(fake_wisp):
    fake_wisp.set_fleet([agent("asks", 1_000.0)])
    fake_wisp.set_screen("asks", ASKING)
    fleet = asyncio.run(list_watched(make_app(fake_wisp).wisp))
    assert fleet.sprites[0].activity == WAITING


def test_wait_exits_0_once_there_4_on_timeout_and_5_for_no_such_sprite(fake_wisp):
    fake_wisp.set_fleet([agent("asks", 1_000.0), agent("done", 1_000.0)])
    fake_wisp.set_screen("asks", ASKING)
    fake_wisp.set_screen("done", "all done\n")
    wisp = ["--wisp", str(fake_wisp.path)]
    done = run_cli("wait", "asks", "--until", "waiting", *wisp)
    assert (done.returncode, done.stderr) == (0, "")
    late = run_cli("wait", "done", "--until", "working", "--timeout", "1.5", *wisp)
    assert late.returncode == 4
    assert late.stderr == "wreckit-tui: error: done is not working after 1.5s (it is idle)\n"
    gone = run_cli("wait", "ghost", "--until", "idle", *wisp)
    assert gone.returncode == 5 and len(gone.stderr.splitlines()) == 1
    bad = run_cli("wait", "asks", "--until", "sleeping", *wisp)
    assert bad.returncode == 2


async def test_the_activity_column_shows_waiting_working_and_exited(fake_wisp):
    fleet = [
        agent("asks", FIXED_NOW - 200),
        agent("busy", FIXED_NOW - 1),
        agent("failed", FIXED_NOW - 60, state="stopped", exit_code=3),
        {"name": "plain", "state": "running"},
    ]
    fake_wisp.set_screen("asks", ASKING)
    async with dashboard(fake_wisp, fleet) as pilot:
        await poll(pilot)  # the first poll came before the backend said it can capture
        lines = screen_text(pilot.app).splitlines()
        header = next(line for line in lines if "NAME" in line)
        assert re.search(r"NAME ▲ +STATE +ACTIVITY +CPUS", header), header
        shown = {line.split()[0]: line for line in lines if line.split()[:1] != []}
        assert "waiting 3m" in shown["asks"]
        assert "working 1s" in shown["busy"]
        assert "exited 3" in shown["failed"]
        assert pilot.app.snapshot.view.attention == ("asks", "failed")
        fake_wisp.forget_calls()
        await poll(pilot)
        assert captures(fake_wisp) == []  # nothing went quiet since the first poll


def test_the_same_list_again_is_told_at_no_cost_once_no_sprite_can_go_quiet(fake_wisp):
    fake_wisp.set_fleet([agent("asks", NOW - 60), agent("busy", NOW - 1)])
    fake_wisp.set_screen("asks", ASKING)
    fake_wisp.set_screen("busy", "ready? (y/n) ")
    wisp, watch = make_app(fake_wisp).wisp, Watch(Rules.load())

    async def polls() -> list:
        told = []
        for now in (NOW, NOW + 1, NOW + 5, NOW + 6, NOW + 7):
            fleet = await wisp.list()
            told.append((fleet, await watch_fleet(wisp, watch, fleet, now)))
        return told

    told = asyncio.run(polls())
    assert all(fleet is told[0][0] for fleet, _ in told)  # the same output: the same fleet
    # busy printed just before the first poll: the same list still tells when it went quiet
    assert [seen["busy"].activity.state for _, seen in told] == [WORKING] * 2 + [WAITING] * 3
    assert captures(fake_wisp) == ["asks", "busy"]
    assert told[4][1] is told[3][1]  # then nothing of it can change: told as before, no work
