"""Telling what an agent does, from the fields a poll reports and, once quiet, its screen."""

from __future__ import annotations

import pytest

from wreckit_tui.activity import (
    EXITED,
    IDLE,
    WAITING,
    WORKING,
    Activity,
    Observed,
    Rules,
    Watch,
    attention,
)

RULES = Rules.load()


def running(at: float | None, title: str | None = None, command: str = "claude") -> Observed:
    return Observed("a", "running", command=command, activity_at=at, title=title)


@pytest.mark.parametrize(
    ("command", "screen", "state"),
    [
        ("claude", "✻ Thinking… (12s · esc to interrupt)\n", WORKING),
        (
            "claude",
            "Edit file\nDo you want to make this edit to app.py?\n❯ 1. Yes\n  2. No\n",
            WAITING,
        ),
        ("claude", "Do you want to proceed?\n(esc to interrupt)\n", WORKING),  # busy wins
        ("claude", "> \n  ? for shortcuts\n", IDLE),
        ("codex", "Allow command?\n  Yes (y)   No (n)\n", WAITING),
        ("gemini", "Apply this change?\n● 1. Yes, allow once\n", WAITING),
        ("aider", "Add main.py to the chat? (Y)es/(N)o [Yes]: ", WAITING),
        (None, "sprite@box:~$ ", WAITING),
        ("bash -i", "done\nsprite@box:~$ \n\n\n", WAITING),
        (None, "compiling...\n", IDLE),
        ("my-agent", "Do you want to continue? (y/n) ", WAITING),  # unknown: every table
    ],
)
def test_a_quiet_screen_is_judged_by_its_agents_patterns(command, screen, state):
    assert RULES.judge(screen, command) == state


def test_patterns_come_from_data_and_the_config_overrides_them():
    rules = Rules.load({"quiet_after": 7, "agents": {"claude": {"waiting": ["Proceed\\?"]}}})
    assert rules.quiet_after == 7
    assert rules.judge("Proceed?", "claude") == WAITING
    assert rules.judge("Do you want to make this edit?", "claude") == IDLE
    custom = Rules.load({"agents": {"mine": {"command": "mine", "busy": ["crunching"]}}})
    assert custom.judge("crunching numbers", "/opt/bin/mine --fast") == WORKING


def test_one_burst_of_output_does_not_wake_a_quiet_agent_but_two_polls_do():
    watch = Watch(RULES)
    assert watch.update([running(100.0)], now=110.0) == ["a"]  # quiet at first sight
    watch.judge_screen("a", "> ", "claude")
    assert watch.get("a").state == IDLE
    assert watch.update([running(111.0)], now=112.0) == []  # one burst
    assert watch.get("a").state == IDLE
    assert watch.update([running(113.5)], now=114.0) == []  # and again: working
    assert watch.get("a") == Activity(WORKING, 114.0)


def test_an_agent_that_goes_quiet_is_looked_at_once_then_left_alone():
    watch = Watch(RULES)
    watch.update([running(100.0)], now=100.5)
    assert watch.get("a").state == WORKING
    assert watch.update([running(100.0)], now=102.0) == []  # quiet, not long enough
    assert watch.update([running(100.0)], now=104.0) == ["a"]  # went quiet: look
    watch.judge_screen("a", "Do you want to make this edit?\n❯ 1. Yes", "claude")
    assert watch.get("a") == Activity(WAITING, 100.0)
    for now in (106.0, 108.0, 110.0):
        assert watch.update([running(100.0)], now=now) == []
    assert watch.get("a").state == WAITING


def test_a_spinner_in_the_title_means_working_without_any_screen():
    watch = Watch(RULES)
    assert watch.update([running(50.0, title="⠋ Refactoring")], now=100.0) == []
    assert watch.get("a").state == WORKING


def test_an_ended_program_is_exited_with_its_code_and_a_gone_sprite_is_forgotten():
    watch = Watch(RULES)
    watch.update([Observed("a", "stopped", exit_code=3)], now=100.0)
    assert watch.get("a") == Activity(EXITED, 100.0, 3)
    assert watch.get("a").words() == "exited 3"
    watch.update([Observed("a", "stopped", exit_code=3)], now=105.0)
    assert watch.get("a").since == 100.0
    watch.update([], now=106.0)
    assert watch.get("a") == Activity()


def test_a_backend_that_reports_nothing_leaves_activity_unknown():
    watch = Watch(RULES)
    assert watch.update([Observed("a", "stopped")], now=1.0) == []
    assert watch.get("a").state is None
    assert watch.get("a").words() == ""


@pytest.mark.parametrize(
    ("state", "activity", "memory", "reason"),
    [
        ("running", Activity(WAITING, 1.0), 0.1, "waiting"),
        ("error", Activity(), None, "error"),
        ("stopped", Activity(EXITED, 1.0, 2), None, "exited 2"),
        ("stopped", Activity(EXITED, 1.0, 0), None, None),
        ("running", Activity(WORKING, 1.0), 0.95, "memory"),
        ("running", Activity(IDLE, 1.0), 0.5, None),
    ],
)
def test_attention_means_the_person_is_needed(state, activity, memory, reason):
    assert attention(state, activity, memory) == reason
