"""End to end: the real dashboard in a tmux pane, on the built-in provider: attaching and back,
and watching a sandbox's shell without attaching (preview and send)."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.support.tmux_pane import TmuxPane
from tests.support.waiting import wait_until

TOOLS = ("tmux", "bwrap", "sh", "bash", "nsenter", "setpriv", "taskset", "env")


@pytest.fixture
def tool_path(tmp_path: Path) -> str:
    """A PATH with the provider's tools and no ``wisp``, so the built-in provider is used."""
    bin_dir = tmp_path / "tools"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    assert shutil.which("wisp", path=str(bin_dir)) is None
    return str(bin_dir)


@pytest.fixture
def dashboard(sandboxes, tool_path, isolated_config, tmux_pane) -> TmuxPane:
    env = {
        "PATH": tool_path,
        "WRECKIT_SANDBOX_HOME": str(sandboxes.path),
        "WRECKIT_TUI_CONFIG": str(isolated_config),
        "TERM": "xterm-256color",
    }
    return tmux_pane([sys.executable, "-m", "wreckit_tui"], env)


def test_attach_run_commands_ctrl_c_detach_and_see_the_dashboard_again(sandboxes, dashboard):
    sandboxes.start("e2e-one")
    label = "built-in sandbox provider 0.1.0 (isolation: bwrap)"  # whole, once the header settles
    dashboard.wait_for(lambda s: "e2e-one" in s and "1 running" in s and label in s)

    dashboard.send("a")  # the banner line is drawn over at once by the sandbox's shell
    dashboard.wait_for(lambda s: "@e2e-one" in s and "NAME" not in s)
    dashboard.send("echo hello-$((6*7)) from $(hostname)", "Enter")
    dashboard.wait_for(lambda s: "hello-42 from" in s)
    dashboard.send("echo size $(stty size)", "Enter")  # tmux's status line takes one row
    dashboard.wait_for(lambda s: "size 35 120" in s)  # and no row is kept for a banner

    dashboard.send("echo sleeping-$((2*2)); sleep 60", "Enter")
    dashboard.wait_for(lambda s: "sleeping-4" in s)
    dashboard.send("C-c")  # for the sandbox's shell: it stops the sleep, not the dashboard
    dashboard.wait_for(lambda s: "^C" in s)
    dashboard.send("echo after-$((6*7+1))", "Enter")
    dashboard.wait_for(lambda s: "after-43" in s, timeout=10)  # not after the 60 s sleep

    dashboard.send("C-]")
    screen = dashboard.wait_for(lambda s: "NAME" in s and "e2e-one" in s and "after-43" not in s)
    assert "built-in sandbox provider" in screen
    assert "e2e-one" in [record["name"] for record in sandboxes.list()]

    dashboard.send("q")
    # the dashboard quit and its pane is gone
    wait_until(lambda: dashboard.text() == "", timeout=10, interval=0.05, what="an empty pane")


def test_the_server_a_start_leaves_outlives_the_polls_and_is_reaped_once_killed(
    sandboxes, isolated_config, tmux_pane
):
    assert shutil.which("wisp") is None  # so the built-in provider is the backend
    env = {
        "WRECKIT_SANDBOX_HOME": str(sandboxes.path),
        "WRECKIT_TUI_CONFIG": str(isolated_config),
    }
    pane = tmux_pane([sys.executable, "-m", "wreckit_tui", "--set", "poll_interval=0.5"], env)
    pane.wait_for(lambda s: "No sprites yet" in s)
    dashboard = psutil.Process(pane.pid())
    pane.send("n")
    pane.wait_for(lambda s: "Launch sprite" in s)
    pane.send("Enter")
    pane.wait_for(lambda s: "1 sprite, 1 running" in s)
    (server,) = [child for child in dashboard.children() if child.name() == "tmux: server"]
    time.sleep(1.5)  # three polls, each of which ends what it leaves behind
    assert server.is_running() and server.status() != psutil.STATUS_ZOMBIE
    pane.wait_for(lambda s: "1 sprite, 1 running" in s)

    pane.send("d")
    pane.wait_for(lambda s: "Kill sprite" in s)
    pane.send("y")
    pane.wait_for(lambda s: "No sprites yet" in s)
    wait_until(  # the server exited: the next poll's sweep reaps it
        lambda: server.pid not in {child.pid for child in dashboard.children()},
        timeout=5,
        interval=0.05,
        what="the sandboxes' tmux server (a zombie) to be reaped",
    )


def test_a_line_sent_without_attaching_shows_in_the_preview(sandboxes, dashboard):
    sandboxes.start("e2e-peek")
    dashboard.wait_for(lambda s: "e2e-peek" in s and "1 running" in s)
    dashboard.send("p")
    dashboard.wait_for(lambda s: "Screen of e2e-peek" in s and "@e2e-peek" in s)
    dashboard.send("i")
    dashboard.wait_for(lambda s: "Type into e2e-peek" in s)
    dashboard.send("-l", "echo peek-$((6*7))")
    dashboard.send("Enter")
    screen = dashboard.wait_for(lambda s: "peek-42" in s, timeout=10)  # the output, not the line
    assert "NAME" in screen  # seen in the preview beside the table: never attached
