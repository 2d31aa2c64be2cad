"""The dashboard on several backends: two real fake wisps (one behind a wrapper standing in for
ssh), each listed on its own, so a hung or failing one leaves the other's rows live; the
BACKEND column, the filter on ``backend/name``, the launch form's backend, per-backend gauges."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.dashboard_harness import (
    DASHBOARD_SIZE,
    FIXED_NOW,
    TEST_HOST,
    poll,
    screen_text,
)
from tests.support.fake_wisp_handle import FakeWisp, make_fake_wisp
from tests.support.snapshots import screen_cells
from tests.support.waiting import wait_until_async
from wreckit_tui.app import WreckitApp
from wreckit_tui.capacity import Host
from wreckit_tui.config import Config
from wreckit_tui.fleets import Fleets
from wreckit_tui.screens.launch import LaunchScreen

SSH = '#!/bin/sh\n# stands in for ssh: HOST then the command, run here\nshift\nexec "$@"\n'
SNAPSHOTS = Path(__file__).resolve().parent.parent / "snapshots"


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[FakeWisp, FakeWisp, Path]]:
    ssh = tmp_path / "ssh"
    ssh.write_text(SSH)
    ssh.chmod(0o755)
    one, two = make_fake_wisp(tmp_path / "one"), make_fake_wisp(tmp_path / "two")
    one.set_fleet([{"name": "alpha", "state": "running", "cpus": 1, "memory": "512MiB"}])
    two.set_fleet([{"name": "alpha", "state": "running"}, {"name": "bravo", "state": "stopped"}])
    yield one, two, ssh
    one.kill_leftovers()
    two.kill_leftovers()


def make_app(one: FakeWisp, two: FakeWisp, ssh: Path, **settings: object) -> WreckitApp:
    backends = [
        {"name": "one", "kind": "wisp", "wisp_path": str(one.path), "max_vms": 3},
        {"name": "two", "kind": "wisp", "wisp_path": [str(ssh), "gpu-box", str(two.path)]},
    ]
    values = {"poll_interval": 0.5, "list_timeout": 5, "kill_grace": 0, "backends": backends}
    config = Config.model_validate(values | settings)
    app = WreckitApp(
        config, Fleets.from_config(config), clock=lambda: FIXED_NOW, host=Host(*TEST_HOST)
    )
    app.animation_level = "none"
    return app


def keys(app: WreckitApp) -> list[str]:
    return [row.key for row in app.snapshot.rows]


async def test_both_backends_in_one_table_with_a_backend_column(pair) -> None:
    app = make_app(*pair)
    async with app.run_test(size=DASHBOARD_SIZE) as pilot:
        await wait_until_async(pilot, lambda: len(keys(app)) == 3)
        await pilot.pause()
        text = screen_text(app)
        assert "BACKEND" in text
        lines = [line.split() for line in text.splitlines()]
        assert [line[:2] for line in lines if line[:1] == ["alpha"]] == [
            ["alpha", "one"],
            ["alpha", "two"],
        ]
        assert "VMs 2/8" in text  # 3 of one's own + 5 of two's (the global default)
        assert ["list", "--json"] in pair[1].calls()  # through the wrapper


async def test_a_hung_backend_leaves_the_other_live_then_is_named_stale(pair) -> None:
    one, two, ssh = pair
    two.set_scenario(list="hang")
    app = make_app(one, two, ssh, list_timeout=3)
    async with app.run_test(size=DASHBOARD_SIZE) as pilot:
        await wait_until_async(pilot, lambda: keys(app) == ["one/alpha"])
        # while two hangs, one's changes keep coming
        one.set_fleet(
            [{"name": "alpha", "state": "running"}, {"name": "carol", "state": "running"}]
        )
        await wait_until_async(pilot, lambda: "one/carol" in keys(app), timeout=3)
        assert app.snapshot.error is None
        await wait_until_async(pilot, lambda: app.snapshot.stale == ("two",), timeout=15)
        await pilot.pause()
        text = screen_text(app)
        assert "STALE two" in text and "two: `wisp list --json` timed out after 3s" in text
        assert not app.dashboard.has_class("-stale")  # one's rows are not dimmed
        one.set_fleet([{"name": "dave", "state": "running"}])
        await wait_until_async(pilot, lambda: keys(app) == ["one/dave"], timeout=5)


async def test_a_failing_backend_keeps_its_last_rows_marked_stale(pair) -> None:
    one, two, ssh = pair
    app = make_app(one, two, ssh)
    async with app.run_test(size=DASHBOARD_SIZE) as pilot:
        await wait_until_async(pilot, lambda: len(keys(app)) == 3)
        two.set_scenario(list="fail")
        await wait_until_async(pilot, lambda: app.snapshot.stale == ("two",))
        await pilot.pause()
        lines = [line.split() for line in screen_text(app).splitlines()]
        assert [line[:3] for line in lines if line[1:2] == ["two"]] == [
            ["alpha", "two", "stale"],
            ["bravo", "two", "stale"],
        ]
        assert app.snapshot.by_name["one/alpha"].stale is False
        await pilot.press("e")
        await pilot.pause()
        assert "two: `wisp list --json` failed with exit code 3" in screen_text(app)
        await pilot.press("escape")
        two.set_scenario(list="ok")
        await wait_until_async(pilot, lambda: app.snapshot.stale == () and not app.snapshot.error)
        assert not app.snapshot.by_name["two/bravo"].stale


async def test_identical_lists_reuse_the_rows_and_a_change_on_one_backend_still_shows(
    pair,
) -> None:
    one, two, ssh = pair
    app = make_app(one, two, ssh)
    async with app.run_test(size=DASHBOARD_SIZE) as pilot:
        await wait_until_async(pilot, lambda: len(keys(app)) == 3)
        polls = app.snapshot.poll
        await wait_until_async(pilot, lambda: app.snapshot.poll >= polls + 2)
        view = app.snapshot.view
        await wait_until_async(pilot, lambda: app.snapshot.poll >= polls + 4)
        assert app.snapshot.view.rows is view.rows  # the same lists: the same rows, not rebuilt
        assert app.snapshot.view.fleet is view.fleet
        two.set_fleet([{"name": "alpha", "state": "running"}, {"name": "bravo", "state": "error"}])
        await wait_until_async(pilot, lambda: app.snapshot.by_name["two/bravo"].state == "error")
        one.set_scenario(list="fail")  # after identical polls, a failure is still marked
        await wait_until_async(pilot, lambda: app.snapshot.stale == ("one",))
        assert app.snapshot.by_name["one/alpha"].stale
        one.set_scenario(list="ok")  # the very list it printed before it failed
        await wait_until_async(pilot, lambda: app.snapshot.stale == ())
        assert not app.snapshot.by_name["one/alpha"].stale


async def test_the_filter_matches_backend_slash_name(pair) -> None:
    app = make_app(*pair)
    async with app.run_test(size=DASHBOARD_SIZE) as pilot:
        await wait_until_async(pilot, lambda: len(keys(app)) == 3)
        await pilot.press("slash", *"two/", "enter")
        await pilot.pause()
        assert app.dashboard.table.shown_keys == ["two/alpha", "two/bravo"]


async def test_the_launch_form_starts_on_the_backend_chosen(pair) -> None:
    one, two, ssh = pair
    app = make_app(one, two, ssh)
    async with app.run_test(size=DASHBOARD_SIZE) as pilot:
        await wait_until_async(pilot, lambda: len(keys(app)) == 3)
        await pilot.press("n")
        await wait_until_async(pilot, lambda: isinstance(app.screen, LaunchScreen))
        form = app.screen
        assert form.query_one("#backend").value == "one"  # the first, by default
        await pilot.click("#backend")
        await pilot.press("end", "ctrl+u", *"two", "tab")
        await pilot.press("ctrl+u", *"alpha")  # taken on two
        await pilot.pause()
        values = [form.query_one(f"#{k}").value for k in ("backend", "name")]
        assert values == ["two", "alpha"], values
        assert "already exists" in str(form.query_one("#name-error").render())
        await pilot.press("ctrl+u", *"echo", "enter")
        await wait_until_async(
            pilot, lambda: "two/echo" in keys(app) and not app.operations.pending
        )
    assert any(call[:2] == ["start", "echo"] for call in two.calls())
    assert not any(call[:1] == ["start"] for call in one.calls())


async def test_b_shows_a_line_of_gauges_per_backend(pair) -> None:
    app = make_app(*pair)
    async with app.run_test(size=DASHBOARD_SIZE) as pilot:
        await wait_until_async(pilot, lambda: len(keys(app)) == 3)
        await pilot.press("b")
        await pilot.pause()
        text = screen_text(app)
        assert "one  VMs 1/3" in text and "two  VMs 1/5" in text
        await pilot.press("b")
        await pilot.pause()
        assert "one  VMs 1/3" not in screen_text(app)


def test_snapshot_of_the_backend_column(snap_compare, pair) -> None:
    async def settled(pilot) -> None:
        app = pilot.app
        await wait_until_async(pilot, lambda: len(keys(app)) == 3 and app.backend_version)
        for _ in range(5):  # activity is told from the second poll on: let it settle
            running = [s for s in app.snapshot.fleet.sprites if s.state == "running"]
            if all(s.activity == "idle" for s in running):
                break
            await poll(pilot)
        await pilot.pause()

    assert snap_compare(
        make_app(*pair, poll_interval=60), terminal_size=DASHBOARD_SIZE, run_before=settled
    )
    svg = SNAPSHOTS / "test_fleets_dashboard" / "test_snapshot_of_the_backend_column.svg"
    cells, _ = screen_cells(svg.read_text())
    lines: dict[int, dict[int, str]] = {}
    for (x, y), (char, _style) in cells.items():
        lines.setdefault(y, {})[x] = char
    rows = [
        "".join(row.get(x, " ") for x in range(max(row) + 1)) for _, row in sorted(lines.items())
    ]
    assert any(row.split()[:3] == ["NAME", "▲", "BACKEND"] for row in rows)
    assert any(row.split()[:2] == ["alpha", "two"] for row in rows)
