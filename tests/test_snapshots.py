"""Snapshot tests of the dashboard's screens (SVGs under the top-level snapshots/).

Deterministic: a fixed clock and host, animations off, polls driven by the test.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from tests.support.dashboard_harness import make_app, poll
from tests.support.waiting import wait_until_async

SIZE = (120, 32)
MIXED_FLEET = [
    {
        "name": "agent-alpha",
        "id": "spr_01",
        "state": "running",
        "cpus": 2,
        "memory": "2GiB",
        "cpu_percent": 145.5,
        "memory_used": "1536MiB",
        "uptime_seconds": 93_784,
        "url": "https://agent-alpha.sprites.test",
        "pid": 4242,
        "command": "claude --dangerously-skip-permissions",
        "title": "⠋ fixing the flaky test",
        "activity_at": "2026-09-21T14:13:20Z",
    },
    {
        "name": "agent-bravo",
        "state": "running",
        "cpus": 1,
        "memory": "512MiB",
        "cpu_percent": 12,
        "memory_used": 96,
        "uptime_seconds": 754,
        "url": "https://agent-bravo.sprites.test",
    },
    {"name": "builder", "state": "starting", "cpus": 4, "memory": "4GiB"},
    {
        "name": "cold-one",
        "status": "cold",
        "cpus": 1,
        "memory": "1GiB",
        "command": "codex",
        "exit_code": 3,
    },
    {"name": "evil[/b]-[red]x", "state": "error", "cpus": "lots", "memory": 256},
]


async def settled(pilot) -> None:
    """A poll applied after the backend's version and capabilities are known, and no toast
    (they time out on a clock of their own; the header counts warnings)."""
    app = pilot.app
    await wait_until_async(pilot, lambda: app.snapshot.poll >= 1 and not app.poller.running)
    await wait_until_async(pilot, lambda: app.backend_version is not None)
    await poll(pilot)  # the first poll may have come before the backend said it can capture
    app.clear_notifications()
    await pilot.pause()


def test_mixed_fleet(snap_compare, fake_wisp):
    fake_wisp.set_fleet(MIXED_FLEET)
    assert snap_compare(make_app(fake_wisp), terminal_size=SIZE, run_before=settled)


def test_empty_fleet(snap_compare, fake_wisp):
    assert snap_compare(make_app(fake_wisp), terminal_size=SIZE, run_before=settled)


def test_wisp_missing(snap_compare):
    app = make_app(Path("/nonexistent/bin/wisp"))
    assert snap_compare(app, terminal_size=SIZE, run_before=settled)


def test_stale_after_failed_poll(snap_compare, fake_wisp):
    fake_wisp.set_fleet(MIXED_FLEET)

    async def fail_second_poll(pilot) -> None:
        await settled(pilot)
        fake_wisp.set_scenario(list="fail")
        await poll(pilot)

    app = make_app(fake_wisp)
    assert snap_compare(app, terminal_size=SIZE, run_before=fail_second_poll)


def test_filter_applied(snap_compare, fake_wisp):
    fake_wisp.set_fleet(MIXED_FLEET)
    app = make_app(fake_wisp)
    assert snap_compare(
        app, terminal_size=SIZE, run_before=settled, press=["slash", "a", "g", "e", "enter"]
    )


def test_help_screen(snap_compare, fake_wisp):
    fake_wisp.set_fleet(MIXED_FLEET)
    app = make_app(fake_wisp)
    assert snap_compare(app, terminal_size=SIZE, run_before=settled, press=["question_mark"])


def test_detail_pane_with_history(snap_compare, fake_wisp):
    async def several_polls(pilot) -> None:
        await settled(pilot)
        for cpu, used in [(40, 200), (95, 310), (70, 280), (120, 400), (60, 350)]:
            fake_wisp.set_fleet([{**MIXED_FLEET[0], "cpu_percent": cpu, "memory_used": used}])
            await poll(pilot)

    fake_wisp.set_fleet([{**MIXED_FLEET[0], "cpu_percent": 10, "memory_used": 150}])
    app = make_app(fake_wisp)
    assert snap_compare(app, terminal_size=SIZE, run_before=several_polls)


async def no_blink(pilot) -> None:
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


async def open_form(pilot) -> None:
    """The launch form over the settled dashboard, its cursor not blinking."""
    await settled(pilot)
    await pilot.press("n")
    await no_blink(pilot)


def test_launch_form(snap_compare, fake_wisp):
    fake_wisp.set_fleet(MIXED_FLEET)
    app = make_app(fake_wisp, max_vms=10)
    assert snap_compare(app, terminal_size=SIZE, run_before=open_form)


def test_launch_form_with_an_error(snap_compare, fake_wisp):
    fake_wisp.set_fleet(MIXED_FLEET)

    async def bad_name(pilot) -> None:
        await open_form(pilot)
        pilot.app.screen.query_one("#name", Input).value = ""
        await pilot.press(*"Agent_X")

    app = make_app(fake_wisp, max_vms=10)
    assert snap_compare(app, terminal_size=SIZE, run_before=bad_name)


def test_confirm_kill_one(snap_compare, fake_wisp):
    fake_wisp.set_fleet(MIXED_FLEET)
    app = make_app(fake_wisp)
    assert snap_compare(app, terminal_size=SIZE, run_before=settled, press=["down", "d"])


def test_confirm_kill_marked(snap_compare, fake_wisp):
    fake_wisp.set_fleet(MIXED_FLEET)
    app = make_app(fake_wisp)
    keys = ["space", "space", "down", "space", "d"]
    assert snap_compare(app, terminal_size=SIZE, run_before=settled, press=keys)


SMALL, LARGE = (80, 24), (200, 50)


def test_mixed_fleet_at_80x24(snap_compare, fake_wisp):
    """NAME to MEMORY in view (ACTIVITY beside STATE), the header on one line, the gauges
    short, the footer with the main keys, the detail pane folded away (v brings it back)."""
    fake_wisp.set_fleet(MIXED_FLEET)
    assert snap_compare(make_app(fake_wisp), terminal_size=SMALL, run_before=settled)


def test_detail_pane_at_80x24(snap_compare, fake_wisp):
    fake_wisp.set_fleet(MIXED_FLEET)
    app = make_app(fake_wisp)
    assert snap_compare(app, terminal_size=SMALL, run_before=settled, press=["v"])


def test_stale_at_80x24(snap_compare, fake_wisp):
    fake_wisp.set_fleet(MIXED_FLEET)

    async def fail_second_poll(pilot) -> None:
        await settled(pilot)
        fake_wisp.set_scenario(list="fail")
        await poll(pilot)

    app = make_app(fake_wisp)
    assert snap_compare(app, terminal_size=SMALL, run_before=fail_second_poll)


def test_help_at_80x24(snap_compare, fake_wisp):
    fake_wisp.set_fleet(MIXED_FLEET)
    app = make_app(fake_wisp)
    assert snap_compare(app, terminal_size=SMALL, run_before=settled, press=["question_mark"])


def test_launch_form_at_80x24(snap_compare, fake_wisp):
    fake_wisp.set_fleet(MIXED_FLEET)
    app = make_app(fake_wisp, max_vms=10)
    assert snap_compare(app, terminal_size=SMALL, run_before=open_form)


def test_mixed_fleet_at_200x50(snap_compare, fake_wisp):
    fake_wisp.set_fleet(MIXED_FLEET)
    assert snap_compare(make_app(fake_wisp), terminal_size=LARGE, run_before=settled)


AGENT_SCREEN = (
    "\x1b[1m╭─ Claude Code ─────────────╮\x1b[0m\n"
    "\x1b[1m│\x1b[0m fixing the flaky test     \x1b[1m│\x1b[0m\n"
    "\x1b[1m╰───────────────────────────╯\x1b[0m\n"
    "\n"
    "> run the tests\n"
    "\x1b[32m✓\x1b[0m 41 passed  \x1b[31m✗ 1 failed\x1b[0m\n"
    "\x1b]0;a title that never shows\x07\x1b[2J\x1b[H"
    "\x1b[33mDo you want to proceed? (y/n)\x1b[0m\n"
    "\n\n"
)


async def previewing(pilot) -> None:
    """The preview of agent-alpha's screen, captured and drawn."""
    await settled(pilot)
    await pilot.press("p")
    body = pilot.app.dashboard.query_one("#preview-screen")
    await wait_until_async(pilot, lambda: "proceed?" in str(body.render()), timeout=10)
    await pilot.pause()


def test_preview(snap_compare, fake_wisp):
    fake_wisp.set_fleet(MIXED_FLEET)
    fake_wisp.set_screen("agent-alpha", AGENT_SCREEN)
    assert snap_compare(make_app(fake_wisp), terminal_size=SIZE, run_before=previewing)


def test_preview_at_80x24(snap_compare, fake_wisp):
    fake_wisp.set_fleet(MIXED_FLEET)
    fake_wisp.set_screen("agent-alpha", AGENT_SCREEN)
    assert snap_compare(make_app(fake_wisp), terminal_size=SMALL, run_before=previewing)
