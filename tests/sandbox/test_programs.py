"""A sandbox with a program of its own (an agent), and the contract v1.1 commands around it:
``start NAME -- CMD``, ``capture``, ``send`` and the list fields ``command``, ``exit_code``,
``activity_at`` and ``title``."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from tests.support.waiting import wait_until

ASK = (
    "printf '\\033]2;thinking\\033\\\\'; "
    "printf '\\033[2J\\033[H\\033[1;31mred\\033[0m plain\\n'; "
    "printf 'Do you want to proceed? (y/n) '; read answer; echo \"got $answer\"; exit 3"
)


def test_a_program_runs_as_the_sandbox_and_its_exit_status_and_screen_stay(sandboxes):
    sandboxes.start("agent", "--", "sh", "-c", ASK)
    wait_until(lambda: "(y/n)" in sandboxes.run("capture", "agent").stdout)
    record = sandboxes.record("agent")
    assert (record["state"], record["exit_code"]) == ("running", None)
    assert record["command"].startswith("sh -c ")
    assert record["title"] == "thinking"
    printed = datetime.fromisoformat(record["activity_at"])
    assert abs((datetime.now(UTC) - printed).total_seconds()) < 30

    sent = sandboxes.run("send", "agent", "--enter", "--", "yes $HOME; exit 0")
    assert sent.returncode == 0, sent.stderr

    wait_until(lambda: sandboxes.record("agent")["state"] == "stopped")
    assert sandboxes.record("agent")["exit_code"] == 3
    screen = sandboxes.run("capture", "agent").stdout
    assert "got yes $HOME; exit 0" in screen  # literal keys: nothing expanded or run
    assert "Pane is dead" not in screen
    assert sandboxes.exec("agent", "true").returncode == 125


def test_capture_keeps_colours_only_with_ansi_and_nothing_else_ever(sandboxes):
    sandboxes.start("colours", "--", "sh", "-c", ASK)
    wait_until(lambda: "(y/n)" in sandboxes.run("capture", "colours").stdout)
    plain = sandboxes.run("capture", "colours").stdout
    coloured = sandboxes.run("capture", "colours", "--ansi").stdout
    assert "\x1b" not in plain
    assert "plain" in plain
    assert "\x1b[" in coloured
    assert "\x1b" not in re.sub(r"\x1b\[[0-9;:]*m", "", coloured)  # colours, nothing else
    assert re.sub(r"\x1b\[[0-9;:]*m", "", coloured) == plain


def test_capture_lines_gives_the_last_lines_of_the_history(sandboxes):
    sandboxes.start("counter", "--", "sh", "-c", "seq 1 300; sleep 60")
    wait_until(lambda: "300" in sandboxes.run("capture", "counter").stdout)
    done = sandboxes.run("capture", "counter", "--lines", "3")
    assert done.stdout == "298\n299\n300\n"
    assert "1\n" in sandboxes.run("capture", "counter", "--lines", "300").stdout


def test_starting_a_stopped_program_again_runs_it_again(sandboxes):
    sandboxes.start("once", "--", "sh", "-c", "echo run >> runs.txt; exit 5")
    wait_until(lambda: sandboxes.record("once")["state"] == "stopped")
    assert sandboxes.record("once")["exit_code"] == 5
    sandboxes.start("once")
    wait_until(lambda: sandboxes.record("once")["exit_code"] == 5)
    workspace = sandboxes.path / "once" / "workspace"
    wait_until(lambda: (workspace / "runs.txt").read_text() == "run\nrun\n")
    refused = sandboxes.run("start", "once", "--", "sh", "-c", "exit 0")
    assert refused.returncode == 2
    assert "leave out" in refused.stderr


def test_send_and_capture_of_what_cannot_take_them_fail_with_one_line(sandboxes):
    assert sandboxes.run("capture", "ghost").returncode == 1
    assert "not found" in sandboxes.run("send", "ghost", "--", "x").stderr
    sandboxes.start("shell")
    sandboxes.in_shell_keys("shell", "exit")
    wait_until(lambda: sandboxes.record("shell")["state"] == "stopped")
    for command in (["send", "shell", "--", "x"], ["capture", "shell"]):
        done = sandboxes.run(*command)
        assert done.returncode == 1
        assert len(done.stderr.splitlines()) == 1
    assert sandboxes.run("capture", "shell", "--lines", "0").returncode == 2


def test_a_shell_sandbox_lists_no_command_and_no_exit_code(sandboxes):
    sandboxes.start("plain")
    sandboxes.in_shell_keys("plain", "echo hi")
    wait_until(lambda: "hi" in sandboxes.run("capture", "plain").stdout)
    record = sandboxes.record("plain")
    assert (record["command"], record["exit_code"]) == (None, None)
    assert record["activity_at"]


def test_capabilities_announce_every_v11_command_and_field(sandboxes):
    announced = json.loads(sandboxes.run("capabilities", "--json").stdout)
    assert set(announced["commands"]) == {"exec", "capture", "send", "resume", "start-command"}
    assert set(announced["fields"]) == {"command", "exit_code", "activity_at", "title"}
