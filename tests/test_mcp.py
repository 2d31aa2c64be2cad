"""``wreckit-tui mcp`` on the fake wisp, as a real subprocess driven by the MCP SDK's stdio client.

One server serves most tests of this module (the fake's fleet and scenario are reset before each);
a v1-only backend, ``--read-only`` and the ways the server stops each get a server of their own.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.support.fake_wisp_handle import FakeWisp, make_fake_wisp
from tests.support.mcp_client import McpServer
from tests.support.waiting import wait_until

RUNNING = {"state": "running", "cpus": 1, "memory": "512MiB", "uptime_seconds": 5}
CLI_ERROR = "wreckit-tui: error: "


def settings(directory: Path, fake: FakeWisp, **more: str) -> dict[str, str]:
    """The environment of a server (or a CLI run) on ``fake``: its own empty config and state."""
    config = directory / "config.toml"
    config.touch()
    return {
        "WRECKIT_TUI_CONFIG": str(config),
        "WRECKIT_TUI_WISP_PATH": str(fake.path),
        "XDG_STATE_HOME": str(directory / "state"),
        **more,
    }


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mcp")


@pytest.fixture(scope="module")
def shared_fake(module_dir: Path) -> Iterator[FakeWisp]:
    fake = make_fake_wisp(module_dir / "fakewisp")
    yield fake
    fake.kill_leftovers()


@pytest.fixture(scope="module")
def env(module_dir: Path, shared_fake: FakeWisp) -> dict[str, str]:
    return settings(
        module_dir,
        shared_fake,
        WRECKIT_TUI_LIST_TIMEOUT="1",
        WRECKIT_TUI_KILL_GRACE="1",
        WRECKIT_TUI_MAX_VMS="3",
        WRECKIT_TUI_TIMEOUT="20",
    )


@pytest.fixture(scope="module")
def shared_server(module_dir: Path, env: dict[str, str]) -> Iterator[McpServer]:
    server = McpServer(module_dir / "server", env)
    yield server
    server.close()
    server.assert_clean()
    assert server.exit_status() == 0


@pytest.fixture
def fake(shared_fake: FakeWisp) -> Iterator[FakeWisp]:
    """The shared fake, with an empty fleet, every command ``ok`` and no screens or calls."""
    shared_fake.set_fleet([])
    shared_fake.set_scenario("ok")
    shutil.rmtree(shared_fake.home / "screens", ignore_errors=True)
    shared_fake.forget_calls()
    yield shared_fake
    wait_until(lambda: not shared_fake.alive_pids(), what="the fake's processes to end")


@pytest.fixture
def server(shared_server: McpServer, fake: FakeWisp) -> McpServer:
    return shared_server


def cli_message(env: dict[str, str], *args: str) -> str:
    """The one-line error ``wreckit-tui ARGS`` prints, without its prefix."""
    done = run_cli(*args, env=env)
    assert done.returncode != 0
    assert done.stderr.startswith(CLI_ERROR) and done.stderr.count("\n") == 1, done.stderr
    return done.stderr.removeprefix(CLI_ERROR).rstrip("\n")


def test_other_commands_never_import_the_sdk(shared_fake, env):
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "wreckit_tui", "--headless"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "wreckit_tui.cli" in imported
    assert not {name for name in imported if name.split(".")[0] in ("mcp", "mcp_types", "anyio")}
    assert "serve agent tools over MCP" in run_cli("--help").stdout


def test_every_tool_is_offered_with_its_parameters(server):
    tools = {tool.name: tool for tool in server.tools()}
    assert set(tools) == {
        "list_sprites",
        "spawn_sprite",
        "attach_sprite",
        "exec_in_sprite",
        "kill_sprite",
    }
    schema = {name: tool.input_schema for name, tool in tools.items()}
    assert set(schema["spawn_sprite"]["properties"]) == {"name", "memory", "cpus", "command"}
    assert set(schema["attach_sprite"]["properties"]) == {"name", "input", "enter", "wait_seconds"}
    assert schema["exec_in_sprite"]["required"] == ["name", "command"]
    assert all(tool.description for tool in tools.values())


def test_list_sprites_gives_the_objects_of_headless_json(server, fake, env):
    fake.set_fleet([{"name": "a", **RUNNING}, {"name": "b", "state": "stopped", "exit_code": 3}])
    listed = server.ok("list_sprites")["sprites"]
    printed = json.loads(run_cli("--headless", "--json", env=env).stdout)

    def timeless(sprites: list[dict]) -> list[dict]:  # when an exit was seen: now, each call
        return [
            {key: value for key, value in s.items() if key != "activity_since"} for s in sprites
        ]

    assert timeless(listed) == timeless(printed)
    assert all(("activity_since" in s) for s in listed + printed)
    assert [sprite["name"] for sprite in listed] == ["a", "b"]


def test_spawn_without_a_name_takes_a_free_one_and_says_how_to_attach(server, fake):
    fake.set_fleet([{"name": "sprite-1", **RUNNING}])
    spawned = server.ok("spawn_sprite")
    assert spawned["name"] == "sprite-2"
    assert (spawned["state"], spawned["memory_mib"], spawned["cpus"]) == ("running", 512, 1)
    assert spawned["attach"] == "wreckit-tui attach sprite-2"
    assert spawned["url"] == "https://sprite-2.sprites.test"
    assert spawned["resumed"] is False
    assert ["start", "sprite-2", "--memory", "512MiB", "--cpus", "1"] in fake.calls()


def test_spawn_with_a_command_runs_it_instead_of_a_shell(server, fake):
    command = ["claude", "--print", "two words"]
    spawned = server.ok(
        "spawn_sprite", {"name": "agent", "memory": "1GiB", "cpus": 2, "command": command}
    )
    assert (spawned["memory_mib"], spawned["cpus"]) == (1024, 2)
    assert spawned["command"] == "claude --print 'two words'"
    assert ["start", "agent", "--memory", "1GiB", "--cpus", "2", "--", *command] in fake.calls()


def test_spawn_of_a_stopped_sprite_starts_it_again_as_start_does(server, fake, env):
    fake.set_fleet([{"name": "old", "state": "stopped"}])
    assert server.ok("spawn_sprite", {"name": "old"})["resumed"] is True
    assert fake.fleet()[0]["state"] == "running"
    fake.set_fleet([{"name": "old", "state": "stopped"}])
    refused = server.error("spawn_sprite", {"name": "old", "memory": "1GiB"})
    assert refused == cli_message(env, "start", "old", "--memory", "1GiB")
    assert "exists and is stopped" in refused


@pytest.mark.parametrize(
    ("arguments", "cli_args"),
    [
        ({"name": "Bad_Name"}, ["start", "Bad_Name"]),
        ({"name": "ok", "memory": "1TB"}, ["start", "ok", "--memory", "1TB"]),
        ({"name": "ok", "cpus": 0}, ["start", "ok", "--cpus", "0"]),
        ({"name": "ok", "cpus": 65}, ["start", "ok", "--cpus", "65"]),
        ({"name": "taken"}, ["start", "taken"]),
        ({"name": "fourth"}, ["start", "fourth"]),
    ],
)
def test_a_refused_spawn_is_the_cli_message_and_runs_no_start(
    server, fake, env, arguments, cli_args
):
    fake.set_fleet([{"name": name, **RUNNING} for name in ("taken", "two", "three")])
    message = server.error("spawn_sprite", arguments)
    assert message == cli_message(env, *cli_args)
    if arguments["name"] == "fourth":
        assert message.startswith("quota reached: 3 of max_vms 3")
    assert not [call for call in fake.calls() if call[0] == "start"]


def test_the_quota_holds_across_processes(server, fake, env):
    fake.set_fleet([{"name": name, **RUNNING} for name in ("one", "two")])
    fake.set_scenario("ok", start="slow", slow_seconds=1.5)
    from_cli: list = []
    cli = threading.Thread(target=lambda: from_cli.append(run_cli("start", "by-cli", env=env)))
    cli.start()
    from_mcp = server.call("spawn_sprite", {"name": "by-mcp"})
    cli.join(60)
    started = [name for name in ("by-cli", "by-mcp") if name in {s["name"] for s in fake.fleet()}]
    assert len(started) == 1, (from_mcp, from_cli)
    refused = from_cli[0].stderr if started == ["by-mcp"] else from_mcp.content[0].text
    assert "quota reached" in refused


def test_attach_types_the_input_and_returns_the_screen_once_it_settled(server, fake):
    fake.set_fleet([{"name": "a", **RUNNING}])
    fake.set_screen("a", "a$ ")
    screen = server.ok("attach_sprite", {"name": "a", "input": "ls -l", "enter": True})["result"]
    assert screen == "a$ ls -l\n"
    assert fake.screen("a") == "a$ ls -l\n"
    assert ["send", "a", "--enter", "--", "ls -l"] in fake.calls()


def test_attach_without_input_only_reads_the_screen_as_text(server, fake):
    fake.set_fleet([{"name": "a", **RUNNING}])
    fake.set_screen("a", "\x1b[1;31mred\x1b[0m plain\n")
    started = time.monotonic()
    assert server.ok("attach_sprite", {"name": "a"})["result"] == "red plain\n"
    assert time.monotonic() - started < 2.0  # settled: no need to wait the whole 2 s
    assert not [call for call in fake.calls() if call[0] == "send"]


def test_exec_returns_the_exit_code_and_both_outputs(server, fake):
    fake.set_fleet([{"name": "a", **RUNNING}])
    script = "cat; echo oops >&2; exit 3"
    done = server.ok(
        "exec_in_sprite", {"name": "a", "command": ["sh", "-c", script], "stdin": "hi"}
    )
    assert done == {
        "exit_code": 3,
        "stdout": "hi",
        "stderr": "oops\n",
        "stdout_truncated": False,
        "stderr_truncated": False,
    }


def test_exec_cuts_each_output_at_64_kib_and_says_so(server, fake):
    fake.set_fleet([{"name": "a", **RUNNING}])
    script = "head -c 200000 /dev/zero | tr '\\0' o; head -c 70000 /dev/zero | tr '\\0' e >&2"
    done = server.ok("exec_in_sprite", {"name": "a", "command": ["sh", "-c", script]})
    assert done["exit_code"] == 0
    assert done["stdout"] == "o" * 65536 and done["stdout_truncated"] is True
    assert done["stderr"] == "e" * 65536 and done["stderr_truncated"] is True


def test_an_exec_past_its_timeout_is_ended_and_the_next_call_answers(server, fake):
    fake.set_fleet([{"name": "a", **RUNNING}])
    started = time.monotonic()
    message = server.error(
        "exec_in_sprite", {"name": "a", "command": ["sleep", "60"], "timeout_seconds": 1}
    )
    assert "timed out after 1s" in message
    assert time.monotonic() - started < 10
    assert server.ok("list_sprites")["sprites"][0]["name"] == "a"


@pytest.mark.parametrize("seconds", [0, -1, 21, 1e308])
def test_an_exec_timeout_out_of_range_is_refused(server, fake, seconds):
    fake.set_fleet([{"name": "a", **RUNNING}])
    message = server.error(
        "exec_in_sprite", {"name": "a", "command": ["true"], "timeout_seconds": seconds}
    )
    assert message.startswith("invalid timeout_seconds")
    assert "at most 20" in message
    assert not [call for call in fake.calls() if call[0] == "exec"]


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("kill_sprite", {}),
        ("attach_sprite", {}),
        ("attach_sprite", {"input": "x"}),
        ("exec_in_sprite", {"command": ["true"]}),
    ],
)
def test_a_missing_sprite_is_the_not_found_message(server, fake, env, tool, arguments):
    message = server.error(tool, {"name": "ghost", **arguments})
    assert message == cli_message(env, "kill", "ghost")
    assert message.startswith("sprite 'ghost' not found")


def test_kill_kills_the_sprite(server, fake):
    fake.set_fleet([{"name": "a", **RUNNING}])
    assert server.ok("kill_sprite", {"name": "a"}) == {"name": "a", "killed": True}
    assert fake.fleet() == []


def test_a_hanging_list_is_a_tool_error_after_its_timeout_then_the_next_call_answers(
    server, fake, env
):
    fake.set_fleet([{"name": "a", **RUNNING}])
    fake.set_scenario("ok", list="hang")
    started = time.monotonic()
    message = server.error("list_sprites")
    assert time.monotonic() - started < 10
    assert message.startswith("`wisp list --json` timed out after 1s")
    assert message == cli_message(env, "list", "--json")
    wait_until(lambda: not fake.alive_pids(), what="the hung call's process group to end")
    fake.set_scenario("ok")
    assert server.ok("list_sprites")["sprites"][0]["name"] == "a"


def test_garbage_from_the_backend_is_the_cli_message(server, fake, env):
    fake.set_scenario("ok", list="garbage")
    message = server.error("list_sprites")
    assert message.startswith("wisp gave bad output")
    assert message == cli_message(env, "list", "--json")


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"name": "a", "wait_seconds": -1}, "invalid wait_seconds -1: use 0 to 60"),
        ({"name": "a", "wait_seconds": 61}, "invalid wait_seconds 61: use 0 to 60"),
        ({"name": "a", "typo": 1}, "attach_sprite takes no argument 'typo'"),
        ({"name": "Not A Name"}, "invalid name 'Not A Name'"),
    ],
)
def test_bad_arguments_are_refused_before_anything_runs(server, fake, arguments, problem):
    assert server.error("attach_sprite", arguments).startswith(problem)
    assert not [call for call in fake.calls() if call[0] in ("capture", "send")]


# -- servers of their own -----------------------------------------------------------------------


@pytest.fixture
def own_fake(tmp_path: Path) -> Iterator[FakeWisp]:
    fake = make_fake_wisp(tmp_path / "own-fake")
    yield fake
    fake.kill_leftovers()


@pytest.fixture
def open_server(tmp_path: Path, own_fake: FakeWisp) -> Iterator:
    """``open_server(*args, **settings)``: a server on ``own_fake``; closed after the test."""
    servers: list[McpServer] = []

    def open_(*args: str, **more: str) -> McpServer:
        env = settings(tmp_path, own_fake, **more)
        servers.append(McpServer(tmp_path / f"server-{len(servers)}", env, *args))
        return servers[-1]

    yield open_
    for server in servers:
        server.close()
        server.assert_clean()


def test_a_v1_only_backend_lists_but_attach_and_exec_are_not_supported(open_server, own_fake):
    own_fake.set_scenario("ok", capabilities="unknown")
    own_fake.set_fleet([{"name": "a", **RUNNING}])
    server = open_server()
    assert server.ok("list_sprites")["sprites"][0]["name"] == "a"
    for tool, arguments in [
        ("attach_sprite", {"name": "a"}),
        ("attach_sprite", {"name": "a", "input": "x"}),
        ("exec_in_sprite", {"name": "a", "command": ["true"]}),
        ("spawn_sprite", {"name": "b", "command": ["claude"]}),
    ]:
        assert "not supported by this backend" in server.error(tool, arguments)
    assert not [call for call in own_fake.calls() if call[0] in ("capture", "send", "exec")]


def test_read_only_offers_two_tools_and_types_nothing(open_server, own_fake):
    own_fake.set_fleet([{"name": "a", **RUNNING}])
    own_fake.set_screen("a", "a$ ")
    server = open_server("--read-only")
    tools = {tool.name: tool for tool in server.tools()}
    assert set(tools) == {"list_sprites", "attach_sprite"}
    assert set(tools["attach_sprite"].input_schema["properties"]) == {"name", "wait_seconds"}
    assert server.ok("attach_sprite", {"name": "a", "wait_seconds": 0})["result"] == "a$ \n"
    for arguments in ({"input": "rm -rf ~", "enter": True}, {"enter": True}):
        message = server.error("attach_sprite", {"name": "a", **arguments})
        assert "read-only" in message
    refused = server.call("spawn_sprite", {"name": "b"})
    assert refused.is_error
    assert "Unknown tool" in refused.content[0].text
    assert own_fake.screen("a") == "a$ "
    assert not [call for call in own_fake.calls() if call[0] in ("send", "start")]


def test_stdin_closed_stops_the_server_and_ends_a_call_in_flight(open_server, own_fake):
    own_fake.set_fleet([{"name": "a", **RUNNING}])
    own_fake.set_scenario("ok", exec="hang")
    server = open_server()
    server.call_soon("exec_in_sprite", {"name": "a", "command": ["true"]})
    wait_until(own_fake.alive_pids, what="the exec to hang")
    assert server.close() < 2.0  # the SDK would signal the server after 2 s
    assert server.exit_status() == 0
    wait_until(lambda: not own_fake.alive_pids(), what="the hung call to be ended")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_stops_the_server_and_ends_a_call_in_flight(open_server, own_fake, signum):
    own_fake.set_fleet([{"name": "a", **RUNNING}])
    own_fake.set_scenario("ok", list="hang")
    server = open_server(WRECKIT_TUI_LIST_TIMEOUT="60")
    pending = server.call_soon("list_sprites")
    wait_until(own_fake.alive_pids, what="the list to hang")
    os.kill(server.server_process().pid, signum)
    wait_until(lambda: server.exit_status() is not None, what="the server to exit")
    assert server.exit_status() == 0
    wait_until(lambda: not own_fake.alive_pids(), what="the hung call to be ended")
    with pytest.raises(Exception):  # noqa: B017 - the connection closed under the call
        pending.result(10)
