"""``wreckit-tui mcp`` on the built-in provider: real sandboxes, driven by the MCP SDK's client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sandbox.conftest import SandboxHome
from tests.support.mcp_client import McpServer

ECHO = 'while read line; do echo "got: $line"; done'


@pytest.fixture
def server(tmp_path: Path, sandboxes: SandboxHome) -> Iterator[McpServer]:
    """A server on the built-in provider (no wisp anywhere), with the test's sandbox home."""
    config = tmp_path / "config.toml"
    config.touch()
    env = {
        "WRECKIT_SANDBOX_HOME": str(sandboxes.path),
        "WRECKIT_TUI_CONFIG": str(config),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    server = McpServer(tmp_path / "server", env)
    yield server
    server.close()
    server.assert_clean()
    assert server.exit_status() == 0


def test_spawn_a_program_type_into_it_read_it_back_exec_and_kill(server, sandboxes):
    spawned = server.ok("spawn_sprite", {"name": "echoer", "command": ["sh", "-c", ECHO]})
    assert (spawned["name"], spawned["state"]) == ("echoer", "running")
    assert spawned["attach"] == "wreckit-tui attach echoer"
    assert spawned["command"] == f"sh -c '{ECHO}'"

    screen = server.ok(
        "attach_sprite", {"name": "echoer", "input": "hello", "enter": True, "wait_seconds": 10}
    )["result"]
    assert "got: hello" in screen

    done = server.ok(
        "exec_in_sprite",
        {"name": "echoer", "command": ["sh", "-c", "cat; echo $WRECKIT_SANDBOX"], "stdin": "in\n"},
    )
    assert (done["exit_code"], done["stdout"], done["stdout_truncated"]) == (
        0,
        "in\nechoer\n",
        False,
    )
    assert server.ok("exec_in_sprite", {"name": "echoer", "command": ["false"]})["exit_code"] == 1

    assert [sprite["name"] for sprite in server.ok("list_sprites")["sprites"]] == ["echoer"]
    assert server.ok("kill_sprite", {"name": "echoer"}) == {"name": "echoer", "killed": True}
    assert server.ok("list_sprites")["sprites"] == []
    assert sandboxes.list() == []
