"""The live dashboard driven by Pilot against the real fake wisp."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time

import pytest
from textual.geometry import Region

from tests.support.dashboard_harness import (
    DASHBOARD_SIZE,
    FIXED_NOW,
    dashboard,
    make_app,
    poll,
    screen_text,
)
from tests.support.waiting import wait_until_async
from wreckit_tui.backends import resolve_backend
from wreckit_tui.models import parse_fleet
from wreckit_tui.operations import Pending
from wreckit_tui.screens.help import HelpScreen
from wreckit_tui.view import Snapshot, view_of
from wreckit_tui.widgets.detail import Spark
from wreckit_tui.widgets.status import StatusBar


def sprite(name: str, **fields: object) -> dict:
    base = {"name": name, "state": "running", "cpus": 1, "memory": "512MiB"}
    return {**base, "cpu_percent": 10, "memory_used": 100, "uptime_seconds": 90, **fields}


FLEET = [
    sprite("charlie", cpu_percent=80, cpus=2),
    sprite("alpha", url="https://alpha.sprites.test"),
    sprite("bravo", state="stopped", cpu_percent=None, memory_used=None),
]


def cell_text(table, row: str, column: str) -> str:
    return table.get_cell(row, column).text


def label_text(app, series: str) -> str:
    return str(app.dashboard.query_one(f"#{series}-label").render())


def status_text(app) -> str:
    return str(app.dashboard.query_one(StatusBar).render())


async def test_first_poll_fills_the_table_sorted_by_name(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        table = app.dashboard.table
        assert table.shown_keys == ["alpha", "bravo", "charlie"]
        assert cell_text(table, "charlie", "cpu").endswith("80%")
        assert cell_text(table, "charlie", "memory").endswith("100M/512M")
        assert cell_text(table, "bravo", "cpu").strip() == "—"
        assert cell_text(table, "alpha", "url") == "alpha.sprites.test"  # the detail has it all
        assert cell_text(table, "alpha", "uptime") == "1m 30s"
        assert "wisp 0.3.1" in status_text(app)
        assert "3 sprites, 2 running" in status_text(app)


async def test_external_text_is_drawn_literally_without_control_characters(fake_wisp):
    async with dashboard(
        fake_wisp, [sprite("evil[/b]-[red]x", state="err\x1b[2Jor", url="vm[/x]\x07")]
    ) as pilot:
        app = pilot.app
        table = app.dashboard.table
        assert cell_text(table, "evil[/b]-[red]x", "name") == "evil[/b]-[red]x"
        assert cell_text(table, "evil[/b]-[red]x", "state") == "error"
        assert cell_text(table, "evil[/b]-[red]x", "url") == "vm[/x]"
        assert "evil[/b]-[red]x" in screen_text(app)
        assert "\x1b" not in app.export_screenshot()


async def test_refresh_updates_only_what_changed(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        table = app.dashboard.table
        fake_wisp.set_fleet([sprite("charlie", cpu_percent=20, cpus=2), FLEET[1], sprite("delta")])
        await poll(pilot)
        assert table.shown_keys == ["alpha", "charlie", "delta"]
        assert cell_text(table, "charlie", "cpu").endswith("20%")
        drawn = table.lines_drawn
        fake_wisp.set_fleet([sprite("charlie", cpu_percent=55, cpus=2), FLEET[1], sprite("delta")])
        await poll(pilot)  # only charlie's row is repainted: the screen must still be right
        assert table.lines_drawn == drawn + 1
        lines = [line for line in screen_text(app).splitlines() if "/512M" in line]
        assert [line.split()[0] for line in lines] == ["alpha", "charlie", "delta"]
        assert "55%" in lines[1]
        assert "10%" in lines[0]


async def test_rows_move_on_screen_when_their_sort_value_changes(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        await pilot.press("s", "s", "s", "s")  # by CPU %, highest first
        assert app.dashboard.table.shown_keys == ["charlie", "alpha", "bravo"]
        fake_wisp.set_fleet([sprite("charlie", cpu_percent=5, cpus=2), *FLEET[1:]])
        await poll(pilot)
        assert app.dashboard.table.shown_keys == ["alpha", "charlie", "bravo"]
        names = [line.split()[0] for line in screen_text(app).splitlines() if "/512M" in line]
        assert names == ["alpha", "charlie", "bravo"]


async def test_cursor_stays_on_its_sprite_across_refreshes_and_sorts(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        table = app.dashboard.table
        await pilot.press("down", "down")
        assert table.selected_key == "charlie"
        fake_wisp.set_fleet([*FLEET, sprite("aaron"), sprite("abel")])
        await poll(pilot)
        assert table.shown_keys[:2] == ["aaron", "abel"]
        assert table.selected_key == "charlie"
        await pilot.press("s")
        assert table.selected_key == "charlie"
        await pilot.press("S")
        assert table.selected_key == "charlie"


async def test_sort_cycles_columns_and_reverses(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        table = app.dashboard.table
        await pilot.press("s")  # state: running before stopped
        assert table.shown_keys == ["alpha", "charlie", "bravo"]
        assert table.column_label(1) == "STATE ▲"
        await pilot.press("s")  # ACTIVITY
        assert table.column_label(2) == "ACTIVITY ▲"
        await pilot.press("s", "s")  # CPU %, highest first; unknown (bravo) last
        assert table.shown_keys == ["charlie", "alpha", "bravo"]
        assert table.column_label(4) == "CPU % ▼"
        await pilot.press("S")  # lowest first; unknown still last
        assert table.shown_keys == ["alpha", "charlie", "bravo"]
        assert table.column_label(4) == "CPU % ▲"


async def test_ties_keep_name_order_in_both_directions(fake_wisp):
    fleet = [sprite(name, cpus=2 if name in "bd" else 1) for name in "dcba"]
    async with dashboard(fake_wisp, fleet) as pilot:
        table = pilot.app.dashboard.table
        await pilot.press("s", "s", "s")  # CPUS, highest first
        assert table.shown_keys == ["b", "d", "a", "c"]
        await pilot.press("S")
        assert table.shown_keys == ["a", "c", "b", "d"]
        await pilot.press(*"ssssss", "S")  # back to NAME, then reversed
        assert table.column_label(0) == "NAME ▼"
        assert table.shown_keys == ["d", "c", "b", "a"]


async def test_filter_applies_on_enter_and_escape_clears_it(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        table = app.dashboard.table
        await pilot.press("slash")
        assert app.focused is app.dashboard.filter
        await pilot.press("A", "r", "l", "enter")
        assert table.shown_keys == ["charlie"]
        assert app.focused is table
        assert "filter: Arl" in status_text(app)
        fake_wisp.set_fleet([*FLEET, sprite("carla")])
        await poll(pilot)
        assert table.shown_keys == ["carla", "charlie"]
        await pilot.press("slash", "escape")
        assert table.shown_keys == ["alpha", "bravo", "carla", "charlie"]
        assert app.focused is table
        assert not app.dashboard.filter.display


async def test_escape_on_the_table_clears_a_kept_filter(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        table = app.dashboard.table
        await pilot.press("slash", "c", "enter")
        assert table.shown_keys == ["charlie"]
        assert app.focused is table
        await pilot.press("escape")
        assert table.shown_keys == ["alpha", "bravo", "charlie"]
        assert "filter:" not in status_text(app)
        assert not app.dashboard.filter.display


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        ("fail", "exit code 3: error: sprites API unreachable (connection refused)"),
        ("garbage", "not valid JSON"),
        ("truncated", "not valid JSON"),
        ("empty", "empty output"),
        ("hang", "timed out after 1s"),
        ("huge", "printed more than 1048576 bytes"),
        ("duplicate", "two sprites are named 'charlie'"),
        ("ansi", "error: red alert [bold]not markup[/bold]"),
    ],
)
async def test_failed_poll_keeps_the_last_table_marked_stale(fake_wisp, scenario, message):
    async with dashboard(
        fake_wisp, FLEET, list_timeout=1, kill_grace=0.2, max_output_bytes=1 << 20
    ) as pilot:
        app = pilot.app
        fake_wisp.set_scenario(list=scenario)
        await poll(pilot)
        assert app.dashboard.table.shown_keys == ["alpha", "bravo", "charlie"]
        assert "STALE" in status_text(app)
        assert message in status_text(app)
        assert app.dashboard.has_class("-stale")
        fake_wisp.set_scenario()
        await poll(pilot)
        assert "STALE" not in status_text(app)
        assert not app.dashboard.has_class("-stale")
    assert fake_wisp.alive_pids() == []


async def test_missing_wisp_shows_what_to_do_and_keeps_running(tmp_path):
    missing = tmp_path / "nowhere" / "wisp"
    async with dashboard(missing) as pilot:
        app = pilot.app
        text = status_text(app)
        assert "ERROR" in text
        assert "no successful poll yet" in text
        assert f"wisp not found: tried '{missing}'" in text
        assert "wisp_path" in text
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)


async def test_keys_stay_responsive_while_wisp_hangs(fake_wisp):
    async with dashboard(fake_wisp, FLEET, list_timeout=30) as pilot:
        app = pilot.app
        fake_wisp.set_scenario(list="hang-ignore-term")
        app.poller.now()
        await wait_until_async(pilot, lambda: len(fake_wisp.call_times("list")) == 2)
        began = time.monotonic()
        await pilot.press("s", "down", "slash", "c", "enter")
        assert time.monotonic() - began < 3.0  # the poll may hang 30 s: keys do not wait
        assert app.poller.running
        assert app.dashboard.table.shown_keys == ["charlie"]
    assert fake_wisp.alive_pids() == []  # quitting killed the hung poll


async def test_r_polls_now(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        fake_wisp.set_fleet([*FLEET, sprite("delta")])
        await pilot.press("r")
        await wait_until_async(pilot, lambda: "delta" in app.dashboard.table.shown_keys)
        assert len(fake_wisp.call_times("list")) == 2


async def test_header_says_how_long_ago_the_last_good_poll_was(fake_wisp):
    now = [1_000.0]
    async with dashboard(fake_wisp, FLEET, clock=lambda: now[0]) as pilot:
        app = pilot.app
        assert "updated 0s ago" in status_text(app)
        now[0] += 75
        fake_wisp.set_scenario(list="fail")
        await poll(pilot)
        assert "updated 1m 15s ago" in status_text(app)
        assert "STALE" in status_text(app)


async def test_the_header_shows_the_wisp_path_and_a_long_error_in_full_on_a_narrow_screen(tmp_path):
    missing = tmp_path / ("deep-" * 12) / "bin" / "wisp"
    app = make_app(missing, label=resolve_backend(str(missing)).label)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until_async(pilot, lambda: app.snapshot.poll >= 1 and not app.poller.running)
        await pilot.pause()
        text = " ".join(screen_text(app).split())
        assert f"wisp {missing}"[:19] + "…" in text  # a long path loses its middle in the header
        assert "wisp not found: tried" in text
        assert "Install wisp" in text
        assert "wisp_path" in text


async def test_most_rows_gone_rebuilds_the_table_and_keeps_the_cursor(fake_wisp):
    fleet = [sprite(f"s{number:02}") for number in range(20)]
    async with dashboard(fake_wisp, fleet) as pilot:
        app = pilot.app
        table = app.dashboard.table
        table.move_cursor(row=table.get_row_index("s17"))
        fake_wisp.set_fleet([item for item in fleet if item["name"] in {"s01", "s17", "s19"}])
        await poll(pilot)
        assert table.shown_keys == ["s01", "s17", "s19"]
        assert table.selected_key == "s17"
        names = [line.split()[0] for line in screen_text(app).splitlines() if "/512M" in line]
        assert names == ["s01", "s17", "s19"]


async def test_polls_never_overlap(fake_wisp):
    fake_wisp.set_fleet(FLEET)
    fake_wisp.set_scenario(list="slow", slow_seconds=0.6)
    app = make_app(fake_wisp, poll_interval=0.5)
    async with app.run_test(size=DASHBOARD_SIZE) as pilot:
        await wait_until_async(pilot, lambda: len(fake_wisp.call_times("list")) >= 3, timeout=15)
        app.poller.now()  # asked while a poll runs: queued, not run alongside
        await pilot.pause(0.1)
    starts = fake_wisp.call_times("list")
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert all(gap >= 0.6 for gap in gaps), gaps


async def test_polling_goes_on_under_the_help_screen_and_shows_fresh_data(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        fake_wisp.set_fleet([*FLEET, sprite("delta")])
        await poll(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert "4 sprites, 3 running" in screen_text(app)  # the header under the dialog
        assert re.search(r"^ +delta ", screen_text(app), re.M)  # a new row, left of the dialog


async def test_polling_goes_on_under_every_dialog_by_itself(fake_wisp):
    async with dashboard(fake_wisp, FLEET, poll_interval=0.5) as pilot:
        app = pilot.app
        for keys in (["question_mark"], ["n"], ["d"], ["ctrl+p"]):
            await pilot.press(*keys)
            await wait_until_async(pilot, lambda: app.screen is not app.dashboard)
            target = len(fake_wisp.call_times("list")) + 2
            await wait_until_async(pilot, lambda t=target: len(fake_wisp.call_times("list")) >= t)
            await pilot.press("escape")
            await wait_until_async(pilot, lambda: app.screen is app.dashboard)


async def test_detail_pane_shows_every_field_and_history(fake_wisp):
    async with dashboard(
        fake_wisp, [sprite("alpha", pid=42, id="spr_1", address="10.0.0.2")]
    ) as pilot:
        app = pilot.app
        for cpu in (30, 50):
            fake_wisp.set_fleet([sprite("alpha", cpu_percent=cpu, pid=42, id="spr_1")])
            await poll(pilot)
        text = screen_text(app)
        for label, value in [
            ("id", "spr_1"),
            ("pid", "42"),
            ("memory", "512MiB"),
            ("memory used", "100MiB"),
            ("uptime", "1m 30s"),
        ]:
            assert re.search(rf"{label} +{value}", text), (label, value)
        assert "History, last 3 polls" in text
        assert label_text(app, "cpu") == "CPU % now 50%, peak 50%; full height: 1 vCPU"
        spark = app.dashboard.query_one("#cpu-spark", Spark)
        assert (spark.data, spark.full) == ([10.0, 30.0, 50.0], 100)


def detail_lines(app) -> list[str]:
    """The detail pane's lines on screen, from the first field to the history's title."""
    pane = app.dashboard.detail.region
    rows = screen_text(app).splitlines()[pane.y : pane.bottom]
    lines = [row[pane.x : pane.right].strip(" │▏▕") for row in rows]
    start = next(index for index, line in enumerate(lines) if line.startswith("name"))
    end = next(index for index, line in enumerate(lines) if line.startswith("History"))
    return lines[start : end + 1]


async def test_the_detail_pane_grows_and_shrinks_with_the_lines_a_sprite_takes(fake_wisp):
    """A sprite whose URL folds over three lines, then one whose URL fits on one: each time
    every field shows whole, and the history starts right under the last field."""
    long_url = "https://" + "long-" * 12 + "name.sprites.test"
    fleet = [sprite("alpha", url=long_url), sprite("bravo", url="https://b.test")]
    assert len(long_url) > 3 * 20  # the pane's values are 20 cells wide at this size
    async with dashboard(fake_wisp, fleet) as pilot:
        app = pilot.app
        for key, name, url in [(None, "alpha", long_url), ("down", "bravo", "https://b.test"),
                               ("up", "alpha", long_url)]:  # fmt: skip
            if key:
                await pilot.press(key)
            await pilot.pause()
            lines = detail_lines(app)
            assert lines[0].split() == ["name", name]
            first = next(index for index, line in enumerate(lines) if line.startswith("url"))
            after = next(index for index, line in enumerate(lines) if line.startswith("pid"))
            assert lines[first].split()[1] + "".join(lines[first + 1 : after]) == url
            assert lines[-3].split() == ["isolation", "—"]
            assert lines[-2:] == ["", "History, last 1 poll"]


async def test_sparklines_scale_to_the_vcpus_and_the_memory_allocation(fake_wisp):
    """A 3 % blip on 2 vCPUs is a low bar, not a full one; memory is drawn against its
    allocation."""
    fleet = [sprite("alpha", cpus=2, cpu_percent=3, memory="1GiB", memory_used=1024)]
    async with dashboard(fake_wisp, fleet) as pilot:
        fake_wisp.set_fleet([{**fleet[0], "cpu_percent": 0, "memory_used": 512}])
        await poll(pilot)
        cpu, memory = (
            pilot.app.dashboard.query_one(f"#{key}-spark", Spark) for key in ("cpu", "memory")
        )
        assert str(cpu.render()) == "▁ "  # 3 % of 200 %: the lowest bar, then nothing
        assert str(memory.render()) == "█▄"  # all of 1 GiB, then half
        assert label_text(pilot.app, "cpu").endswith("full height: 2 vCPUs")
        assert label_text(pilot.app, "memory").endswith("full height: 1GiB allocated")


async def choose_in_palette(pilot, query: str) -> None:
    """Open the command palette, type ``query`` and take the first hit."""
    await pilot.press("ctrl+p")
    await pilot.press(*query)
    await pilot.pause(0.5)
    await pilot.press("enter")


async def test_command_palette_jumps_to_a_sprite(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        await choose_in_palette(pilot, "sprite charlie")
        await wait_until_async(pilot, lambda: app.dashboard.table.selected_key == "charlie")


async def test_command_palette_offers_the_dashboard_actions(fake_wisp):
    async with dashboard(fake_wisp) as pilot:
        app = pilot.app
        titles = {command.title for command in app.get_system_commands(app.screen)}
        expected = {"Refresh", "Filter", "Sort", "Reverse sort", "Launch", "Kill", "Attach", "Help"}
        assert expected | {"Mark", "Last error", "Details"} <= titles
        attach = next(c for c in app.get_system_commands(app.screen) if c.title == "Attach")
        assert "Ctrl+] detaches" in attach.help


async def test_the_detach_key_is_named_in_the_footer_and_the_help(fake_wisp):
    async with dashboard(fake_wisp, FLEET, detach_key="ctrl+b") as pilot:
        app = pilot.app
        assert "a Attach (Ctrl+b back)" in screen_text(app).splitlines()[-1]
        await pilot.press("question_mark")
        text = " ".join(screen_text(app).split())
        assert "Ctrl+b while attached: detach and come back here" in text
        assert "attach to the selected sprite (also enter); Ctrl+b detaches" in text


async def test_home_end_j_and_k_move_the_cursor(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        table = pilot.app.dashboard.table
        await pilot.press("end")
        assert table.selected_key == "charlie"
        await pilot.press("k")
        assert table.selected_key == "bravo"
        await pilot.press("home")
        assert table.selected_key == "alpha"
        await pilot.press("j", "j")
        assert table.selected_key == "charlie"


async def test_the_header_counts_marked_rows_and_rows_the_filter_hides(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        await pilot.press("space", "space")
        assert "2 marked" in status_text(pilot.app)
        await pilot.press("slash", "a", "l", "enter")
        assert "filter: al (2 hidden)" in status_text(pilot.app)


async def test_v_toggles_the_detail_pane_and_a_narrow_terminal_folds_it(fake_wisp):
    fake_wisp.set_fleet(FLEET)
    app = make_app(fake_wisp)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_async(pilot, lambda: app.snapshot.poll >= 1)
        detail = app.dashboard.detail
        assert not detail.display
        await pilot.press("v")
        assert detail.display and detail.size.width <= 30
        await pilot.press("v")
        assert not detail.display
    async with dashboard(fake_wisp, FLEET) as pilot:
        assert pilot.app.dashboard.detail.display  # 120 columns: beside the table


async def test_an_action_chosen_in_the_command_palette_runs(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        await choose_in_palette(pilot, "reverse sort")
        await wait_until_async(pilot, lambda: app.dashboard.table.shown_keys[0] == "charlie")
        assert app.dashboard.table.shown_keys == ["charlie", "bravo", "alpha"]


async def test_help_lists_every_binding(fake_wisp):
    async with dashboard(fake_wisp) as pilot:
        app = pilot.app
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for key, words in [
            ("n", "launch a new sprite"),
            ("d", "kill the marked sprites, or the selected one"),
            ("a", "attach to the selected sprite"),
            ("i", "type a line and Enter into the selected or marked sprites"),
            ("p", "show the selected sprite's screen, or its fields"),
            ("space", "mark or unmark the selected sprite"),
            ("/", "filter by name"),
            ("s", "sort by the next column"),
            ("S", "reverse the sort order"),
            ("r", "poll the backend now"),
            ("e", "show the last error in full"),
            ("v", "show or hide the detail pane"),
            ("?", "show this list of keys"),
            ("q", "quit the dashboard"),
            ("ctrl+p", "command palette"),
        ]:
            assert re.search(rf"{re.escape(key)} +{words}", text), key
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_clicking_a_row_selects_it(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        table = app.dashboard.table
        await pilot.click(table, offset=(5, 3))
        assert table.selected_key == "charlie"


async def test_clicking_a_column_header_sorts_by_it_and_again_reverses(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        table = app.dashboard.table
        x = table.column_start(4) + 1
        assert screen_text(app).splitlines()[table.region.y][x:].startswith("CPU %")
        await pilot.click(table, offset=(x, 0))
        assert table.column_label(4) == "CPU % ▼"  # a figure: highest first
        assert table.shown_keys == ["charlie", "alpha", "bravo"]
        await pilot.click(table, offset=(x, 0))
        assert table.column_label(4) == "CPU % ▲"
        assert table.shown_keys == ["alpha", "charlie", "bravo"]


async def test_a_version_that_cannot_be_read_is_a_warning_and_polling_goes_on(fake_wisp):
    fake_wisp.set_scenario(version="fail")
    async with dashboard(fake_wisp, FLEET, notifications=True) as pilot:
        app = pilot.app
        await wait_until_async(pilot, lambda: app.backend_version is not None)
        await pilot.pause()
        assert "wisp version unknown" in status_text(app)
        warnings = [n for n in app.said if n.severity == "warning"]
        assert [str(n.message) for n in warnings] == [
            "could not read the backend version: `wisp --version` failed with exit code 3: "
            "error: sprites API unreachable (connection refused)"
        ]
        assert app.dashboard.table.shown_keys == ["alpha", "bravo", "charlie"]


async def test_gauges_say_what_full_means(fake_wisp):
    async with dashboard(fake_wisp, FLEET, max_vms=4) as pilot:
        app = pilot.app
        text = screen_text(app)
        expected_texts = ("VMs 2/4", "100% = max_vms", "vCPUs 3/2", "100% = all 2 host cores")
        for expected in (*expected_texts, "Memory 1GiB/4GiB", "100% = 2 host cores; shared"):
            assert expected in text


async def test_cpu_in_use_says_the_share_of_all_host_cores_its_bar_shows(fake_wisp):
    """Two sprites each using one full core of two host cores: 100 %, not 200 %."""
    busy = [sprite(name, cpu_percent=percent) for name, percent in [("a", 100), ("b", 87)]]
    async with dashboard(fake_wisp, busy) as pilot:
        gauge = pilot.app.snapshot.view.gauges[3]
        assert (gauge.text, round(gauge.fraction, 3)) == ("94%", 0.935)
        assert "CPU in use 94%" in screen_text(pilot.app)
        assert "100% = all 2 host cores" in screen_text(pilot.app)


async def test_quitting_during_a_poll_leaves_no_process(fake_wisp):
    fake_wisp.set_scenario(list="hang-ignore-term")
    app = make_app(fake_wisp, list_timeout=30)
    async with app.run_test(size=DASHBOARD_SIZE) as pilot:
        await wait_until_async(pilot, lambda: bool(fake_wisp.pids()))
        await pilot.press("q")
        await wait_until_async(pilot, lambda: app.return_code == 0)  # q, not the end of the test
    await asyncio.sleep(0)
    assert fake_wisp.alive_pids() == []


@pytest.mark.parametrize("key", ["a", "enter"])
async def test_attach_without_a_real_terminal_says_so_and_polls_again(fake_wisp, key):
    async with dashboard(fake_wisp, FLEET, notifications=True) as pilot:
        app = pilot.app
        polls = len(fake_wisp.call_times("list"))
        await pilot.press(key)
        await wait_until_async(pilot, lambda: len(fake_wisp.call_times("list")) > polls)
        messages = [str(n.message) for n in app.said]
        assert any("attach needs a real terminal" in m and "attach alpha" in m for m in messages)
        assert not any(call[0] == "attach" for call in fake_wisp.calls())
        await pilot.press("down")  # still alive and responsive
        assert app.dashboard.table.selected_key == "bravo"


async def test_unknown_and_empty_states_sort_together_without_a_crash(fake_wisp):
    fleet = [{"name": "a", "status": ""}, {"name": "b"}, sprite("c"), {"name": "d", "state": "x"}]
    async with dashboard(fake_wisp, fleet) as pilot:
        app = pilot.app
        await pilot.press("s")
        assert app.dashboard.table.shown_keys == ["c", "d", "a", "b"]
        await poll(pilot)
        assert app.dashboard.table.shown_keys == ["c", "d", "a", "b"]


async def test_warnings_about_wisps_output_reach_the_dashboard(fake_wisp):
    fleet = [sprite("alpha", cpus="lots")]
    async with dashboard(fake_wisp, fleet, notifications=True) as pilot:
        app = pilot.app
        assert "1 warning about the backend's output" in status_text(app)
        messages = [str(n.message) for n in app.said]
        assert "wisp list: sprite 'alpha': field 'cpus' has an invalid value" in messages[0]
        await poll(pilot)
        assert len(app.said) == 1  # said once, not at every poll
        fake_wisp.set_fleet([sprite("alpha")])
        await poll(pilot)
        assert "warning" not in status_text(app)


async def test_e_shows_the_last_error_with_all_of_wisps_stderr(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        fake_wisp.set_scenario(list="fail")
        await poll(pilot)
        await pilot.press("e")
        text = screen_text(app)
        assert "Last error" in text
        assert "failed with exit code 3" in text
        assert "wisp: running list" in text  # the first stderr line, not only the summary
        await pilot.press("escape")
        assert app.screen is app.dashboard


async def test_a_frame_drawn_before_the_table_idles_already_has_the_final_column_widths(fake_wisp):
    """A frame may be drawn as soon as rows arrive, and its lines stay kept: the columns must
    already have the widths those rows need, not be measured later when the table is idle."""
    narrow = sprite("alpha", cpu_percent=None, memory_used=None, memory=None, uptime_seconds=None)
    async with dashboard(fake_wisp, [narrow]) as pilot:
        app, table = pilot.app, pilot.app.dashboard.table
        fleet = parse_fleet(json.dumps(FLEET).encode())
        view = view_of(fleet, app.host, 5, previous=app.snapshot.view)
        app.dashboard.snapshot = Snapshot.of(view, Pending(), last_ok=FIXED_NOW)
        drawn = [strip.text for strip in table.render_lines(Region(0, 0, *table.size))]
        assert re.search(r"CPU % +MEMORY +UPTIME", drawn[0])
        charlie, bravo = (next(line for line in drawn if name in line) for name in ("char", "bra"))
        assert " charlie " in charlie and "80%" in charlie and "100M/512M" in charlie
        assert " bravo " in bravo and "—/512M" in bravo and "stopped" in bravo
        await pilot.pause()
        assert [strip.text for strip in table.render_lines(Region(0, 0, *table.size))] == drawn


async def test_identical_polls_reuse_the_view_and_a_change_still_shows_at_the_next_poll(
    fake_wisp,
):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        await poll(pilot)
        view = app.snapshot.view
        for _ in range(2):  # the wisp printed the same list: nothing to parse, build or draw
            await poll(pilot)
            assert app.snapshot.view.rows is view.rows
            assert app.snapshot.view.fleet is view.fleet
        assert app.snapshot.series("alpha")[0] == (10.0, 10.0, 10.0, 10.0)  # history goes on
        fake_wisp.set_fleet([sprite("charlie", cpu_percent=33, cpus=2), *FLEET[1:]])
        await poll(pilot)
        assert cell_text(app.dashboard.table, "charlie", "cpu").endswith("33%")
        assert "33%" in screen_text(app)


async def test_a_failed_poll_after_identical_ones_is_stale_and_the_next_one_is_not(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        await poll(pilot)
        fake_wisp.set_scenario(list="fail")
        await poll(pilot)
        assert "STALE" in status_text(app)
        assert app.dashboard.has_class("-stale")
        fake_wisp.set_scenario()  # the same list as before the failure
        await poll(pilot)
        assert "STALE" not in status_text(app)
        assert not app.dashboard.has_class("-stale")
        assert app.dashboard.table.shown_keys == ["alpha", "bravo", "charlie"]
        fake_wisp.set_fleet(FLEET[1:])
        await poll(pilot)
        assert app.dashboard.table.shown_keys == ["alpha", "bravo"]
