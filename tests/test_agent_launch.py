"""Launching a sprite that runs a program (an agent) instead of a shell, and how a program that
ended shows: the argv the fake wisp received, the table and the detail pane."""

from __future__ import annotations

import re

from textual.widgets import Input

from tests.support.dashboard_harness import dashboard, screen_text
from tests.support.waiting import wait_until_async
from wreckit_tui.screens.launch import LaunchScreen

FLEET = [{"name": "alpha", "state": "running", "cpus": 1, "memory": "512MiB"}]
ENDED = {
    "name": "agent-one",
    "state": "stopped",
    "cpus": 1,
    "memory": "512MiB",
    "command": "claude -p 'fix the bug'",
    "exit_code": 3,
    "activity_at": "2026-11-25T11:58:00Z",
    "title": "✳ done",
}


def starts(fake) -> list[list[str]]:
    return [call for call in fake.calls() if call[0] == "start"]


async def open_form(pilot) -> LaunchScreen:
    await pilot.press("n")
    await wait_until_async(pilot, lambda: isinstance(pilot.app.screen, LaunchScreen))
    return pilot.app.screen


async def type_command(pilot, text: str) -> None:
    field = pilot.app.screen.query_one("#command", Input)
    field.focus()
    field.value = ""
    await pilot.press(*text)


def error_of(screen: LaunchScreen, field: str) -> str:
    return str(screen.query_one(f"#{field}-error").render())


async def test_launching_with_a_command_runs_it_as_the_sprite_s_program(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        form = await open_form(pilot)
        assert form.query_one("#command", Input).value == ""
        await type_command(pilot, "claude -p 'fix the bug'")
        assert error_of(form, "command") == ""
        await pilot.press("enter")
        await wait_until_async(pilot, lambda: "sprite-2" in app.snapshot.by_name, timeout=15)
        shell_start = ["start", "sprite-2", "--memory", "512MiB", "--cpus", "1"]
        assert starts(fake_wisp) == [[*shell_start, "--", "claude", "-p", "fix the bug"]]
        cell = app.dashboard.table.get_cell("sprite-2", "command").text
        assert cell == "claude -p 'fix the bug'"


async def test_an_empty_command_starts_a_shell_as_before(fake_wisp):
    async with dashboard(fake_wisp, FLEET, default_command="codex") as pilot:
        form = await open_form(pilot)
        assert form.query_one("#command", Input).value == "codex"
        await type_command(pilot, "   ")
        await pilot.press("enter")
        await wait_until_async(pilot, lambda: starts(fake_wisp), timeout=15)
        assert starts(fake_wisp) == [["start", "sprite-2", "--memory", "512MiB", "--cpus", "1"]]


async def test_the_default_command_fills_the_form(fake_wisp):
    async with dashboard(fake_wisp, FLEET, default_command="codex --full-auto") as pilot:
        await open_form(pilot)
        await pilot.press("enter")
        await wait_until_async(pilot, lambda: starts(fake_wisp), timeout=15)
        assert starts(fake_wisp)[0][-3:] == ["--", "codex", "--full-auto"]


async def test_a_command_that_cannot_be_split_shows_why_and_runs_nothing(fake_wisp):
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        form = await open_form(pilot)
        await type_command(pilot, "claude -p 'unclosed")
        assert "cannot read the command: no closing quotation" in error_of(form, "command")
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.screen is form and app.focused is form.query_one("#command", Input)
        assert starts(fake_wisp) == []


async def test_a_backend_without_start_command_says_so_and_starts_nothing(fake_wisp):
    fake_wisp.set_scenario(announce=["exec"])
    async with dashboard(fake_wisp, FLEET) as pilot:
        app = pilot.app
        await open_form(pilot)
        await type_command(pilot, "claude")
        await pilot.press("enter")
        await wait_until_async(
            pilot, lambda: any("could not launch" in str(n.message) for n in app.said)
        )
        await wait_until_async(pilot, lambda: "sprite-2" not in app.dashboard.table.shown_keys)
        assert starts(fake_wisp) == []


async def test_a_program_that_ended_shows_its_exit_status_in_table_and_detail(fake_wisp):
    async with dashboard(fake_wisp, [*FLEET, ENDED]) as pilot:
        app = pilot.app
        table = app.dashboard.table
        assert table.get_cell("agent-one", "state").text == "exit 3"
        assert table.get_cell("agent-one", "command").text == "claude -p 'fix the bug'"
        assert table.get_cell("alpha", "command").text == "—"
        app.dashboard.select("agent-one")
        await pilot.pause()
        text = screen_text(app)
        assert re.search(r"state +stopped", text)
        assert re.search(r"exit code +3", text)
        assert re.search(r"title +✳ done", text)
        assert re.search(r"last output +2026-11-25T11:58:00Z", text)
