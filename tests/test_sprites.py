"""Fly.io Sprites as a backend, through the real CLI against a fake Sprites API on 127.0.0.1 and
a fake ``sprite`` executable: listing every page, each failure's exit code and line, the
operations, and the token kept out of every output, argv and process list."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli
from tests.support import fake_sprite
from tests.support.attach_pty import Terminal
from tests.support.fake_sprites_api import FakeSprites, sprite
from tests.support.mcp_client import McpServer
from tests.support.processes import command_line
from tests.support.waiting import wait_until

TOKEN = "spr-tok-7f3a9c1e5b2d4f6a8c0e"
STATUSES = ["running", "warm", "cold"]


@pytest.fixture
def api() -> Iterator[FakeSprites]:
    fake = FakeSprites.start()
    fake.set(token=TOKEN)
    yield fake
    fake.stop()


@pytest.fixture
def sprite_cli(tmp_path: Path) -> Path:
    return fake_sprite.install(tmp_path / "spritecli", TOKEN)


def env_for(api: FakeSprites, sprite_cli: Path | None = None, **extra: str) -> dict[str, str]:
    env = {"SPRITES_API_URL": api.url, "SPRITE_TOKEN": TOKEN, "WRECKIT_TUI_BACKEND": "sprites"}
    if sprite_cli is not None:
        env["WRECKIT_TUI_SPRITE_PATH"] = str(sprite_cli)
    return env | extra


def fleet(count: int, **extra) -> list[dict]:
    return [sprite(f"s{i:04d}", STATUSES[i % 3], i, **extra) for i in range(count)]


def test_every_page_is_listed_in_the_apis_order_with_states_mapped(api) -> None:
    api.set(sprites=fleet(120, config={"cpus": 2, "ram_mb": 1024}), page_size=50)
    done = run_cli("list", "--json", env=env_for(api))
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [row["name"] for row in rows] == [f"s{i:04d}" for i in range(120)]
    assert [row["state"] for row in rows[:3]] == ["running", "running", "stopped"]
    assert rows[0]["cpus"] == 2 and rows[0]["memory_mib"] == 1024
    assert rows[0]["url"] == "https://s0000-t3st.sprites.app"
    assert rows[0]["cpu_percent"] is None and rows[0]["memory_used_mib"] is None
    pages = [r for r in api.requests() if r["path"] == "/v1/sprites"]
    assert len(pages) == 3 and all(r["auth_ok"] for r in pages)
    assert "max_results=50" in pages[0]["query"] and "continuation_token=t50" in pages[1]["query"]


def test_the_table_says_unknown_usage_and_uses_the_org_counters(api) -> None:
    counters = {"running": 2, "warm": 1, "cold": 3, "running_limit": 10, "warm_limit": 20}
    api.set(sprites=fleet(6), counters=counters)
    done = run_cli("--headless", env=env_for(api))
    assert done.returncode == 0, done.stderr
    assert "Fly.io Sprites 127.0.0.1" in done.stdout
    assert "6 sprites, 4 running · VMs 4/30" in done.stdout
    assert "s0005" in done.stdout and " 0%" not in done.stdout  # unknown, never a made-up 0


def test_the_minimal_list_shape_of_the_docs_is_accepted(api) -> None:
    api.set(sprites=[{"name": "a", "org_slug": "o", "updated_at": "2026-01-13T10:30:00Z"}])
    done = run_cli("list", "--json", env=env_for(api))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["name"] == "a"


def test_hostile_sprite_objects_are_data_warned_about_never_a_crash(api) -> None:
    api.set(
        sprites=[
            sprite("ok-one", "running"),
            sprite("zw\u200bp", "exploding\x1b[31m", 1, config={"cpus": "lots", "ram_mb": -5}),
            "not an object",
            {"id": "no-name"},
            sprite("evil[/b]-[red]x", "cold", 2, created_at=17, url=["x"]),
        ]
    )
    done = run_cli("--headless", env=env_for(api))
    assert done.returncode == 0, done.stderr
    assert "zw\\u200bp" in done.stdout and "evil[/b]-[red]x" in done.stdout
    assert "\x1b" not in done.stdout and "Traceback" not in done.stderr
    assert "entry 2 skipped: not an object" in done.stderr
    assert "field 'cpus' has an invalid value" in done.stderr


@pytest.mark.parametrize(
    ("fault", "code", "words"),
    [
        ({"kind": "status", "code": 401}, 3, "token rejected (HTTP 401)"),
        ({"kind": "status", "code": 403}, 3, "token rejected (HTTP 403)"),
        ({"kind": "status", "code": 503, "body": {"error": "down"}}, 4, "HTTP 503: down"),
        ({"kind": "bad_json"}, 4, "not valid JSON"),
        ({"kind": "loop"}, 4, "its pages never end"),
        ({"kind": "endless"}, 4, "its pages never end"),
        ({"kind": "no_token"}, 4, "has_more without a continuation token"),
        ({"kind": "huge", "bytes": 200_000}, 4, "more than max_output_bytes"),
        ({"kind": "hang"}, 4, "timed out after 1s"),
        ({"kind": "status", "code": 429, "retry_after": "30"}, 4, "rate limited"),
    ],
)
def test_each_failure_is_one_line_and_its_exit_code(api, fault, code, words) -> None:
    api.set(sprites=fleet(3), fault=fault)
    env = env_for(api, WRECKIT_TUI_LIST_TIMEOUT="1", WRECKIT_TUI_MAX_OUTPUT_BYTES="100000")
    done = run_cli("--headless", env=env)
    assert done.returncode == code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], done.stderr
    assert "Traceback" not in done.stderr and TOKEN not in done.stderr


def test_a_short_retry_after_is_waited_out_and_the_list_succeeds(api) -> None:
    api.set(sprites=fleet(2), fault={"kind": "status", "code": 429, "retry_after": "1", "times": 1})
    done = run_cli("list", "--json", env=env_for(api, WRECKIT_TUI_LIST_TIMEOUT="5"))
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == 2
    assert len([r for r in api.requests() if r["path"] == "/v1/sprites"]) == 2


def test_a_refused_connection_is_exit_4(api) -> None:
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]
    done = run_cli("--headless", env=env_for(api, SPRITES_API_URL=f"http://127.0.0.1:{port}"))
    assert done.returncode == 4
    assert "cannot reach the Sprites API" in done.stderr


@pytest.mark.parametrize("url", ["http://[::1", "nonsense", "ftp://x", "http://h:99999"])
def test_an_api_url_that_is_not_one_is_a_configuration_error(api, url) -> None:
    done = run_cli("--headless", env=env_for(api, SPRITES_API_URL=url))
    assert done.returncode == 2, done.stderr
    assert "is not an http(s) URL" in done.stderr and "Traceback" not in done.stderr


def test_no_token_is_exit_3_naming_both_places(api) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SPRITE_TOKEN"}
    env |= {"SPRITES_API_URL": api.url, "WRECKIT_TUI_BACKEND": "sprites"}
    done = subprocess.run(
        [sys.executable, "-m", "wreckit_tui", "--headless"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3
    assert "SPRITE_TOKEN" in done.stderr and "sprites_token_file" in done.stderr
    assert api.requests() == []


def test_the_token_file_is_read_when_the_variable_is_unset(api, tmp_path, isolated_config) -> None:
    (tmp_path / "token").write_text(TOKEN + "\n")
    isolated_config.write_text(
        f'backend = "sprites"\nsprites_token_file = "{tmp_path / "token"}"\n'
    )
    api.set(sprites=fleet(1))
    env = {k: v for k, v in os.environ.items() if k != "SPRITE_TOKEN"}
    env["SPRITES_API_URL"] = api.url
    done = subprocess.run(
        [sys.executable, "-m", "wreckit_tui", "list", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert all(r["auth_ok"] for r in api.requests())


def test_a_token_that_cannot_be_one_is_refused_without_quoting_it(api) -> None:
    bad = "tök-" + TOKEN
    done = run_cli("--headless", env=env_for(api, SPRITE_TOKEN=bad))
    assert done.returncode == 3 and "characters a token cannot have" in done.stderr
    assert bad not in done.stderr and TOKEN not in done.stderr
    assert api.requests() == []


def test_the_backend_flag_chooses_sprites(api) -> None:
    api.set(sprites=fleet(1))
    env = {"SPRITES_API_URL": api.url, "SPRITE_TOKEN": TOKEN}
    done = run_cli("list", "--backend", "sprites", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["name"] == "s0000"
    bad = run_cli("list", "--backend", "cloud", env=env)
    assert bad.returncode == 2 and "backend: must be 'wisp' or 'sprites'" in bad.stderr


def test_start_creates_and_kill_deletes(api) -> None:
    api.set(sprites=[])
    done = run_cli("start", "box", "--memory", "2GiB", "--cpus", "2", "--json", env=env_for(api))
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    assert made["name"] == "box" and made["state"] == "stopped" and made["memory_mib"] == 2048
    posts = [r for r in api.requests() if r["method"] == "POST"]
    assert len(posts) == 1
    again = run_cli("start", "box", env=env_for(api))
    assert again.returncode == 6 and "wakes by itself" in again.stderr
    killed = run_cli("kill", "box", env=env_for(api))
    assert killed.returncode == 0 and killed.stdout.strip() == "killed box"
    gone = run_cli("kill", "box", env=env_for(api))
    assert gone.returncode == 5 and "not found" in gone.stderr


def test_run_detach_starts_and_wait_says_activity_is_unknown(api) -> None:
    api.set(sprites=fleet(1))
    done = run_cli("run", "agent", "--detach", "--json", env=env_for(api))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["name"] == "agent"
    waited = run_cli("wait", "s0000", "--until", "idle", "--timeout", "1", env=env_for(api))
    assert waited.returncode == 4 and "(it is unknown)" in waited.stderr  # no screen to tell by
    missing = run_cli("wait", "nope", "--until", "idle", "--timeout", "1", env=env_for(api))
    assert missing.returncode == 5


def test_start_with_a_command_capture_and_send_are_not_supported(api) -> None:
    api.set(sprites=fleet(1))
    for args in (
        ["run", "x", "--detach", "--", "claude"],
        ["capture", "s0000"],
        ["send", "s0000", "hi"],
    ):
        done = run_cli(*args, env=env_for(api))
        assert done.returncode == 6, (args, done.stderr)
        assert "not supported by this backend" in done.stderr


def test_exec_runs_through_the_sprite_cli_with_the_token_in_its_environment(
    api, sprite_cli
) -> None:
    api.set(sprites=fleet(1))
    env = env_for(api, sprite_cli)
    done = run_cli("exec", "s0000", "--", "sh", "-c", "echo out; exit 7", env=env)
    assert done.returncode == 7 and done.stdout == "out\n"
    missing = run_cli("exec", "s0000", "--", "no-such-program-here", env=env)
    assert missing.returncode == 127
    gone = run_cli("exec", "nope", "--", "true", env=env)
    assert gone.returncode == 5
    parent = run_cli(
        "exec", "s0000", "--", "sh", "-c", "tr '\\0' ' ' < /proc/$PPID/cmdline", env=env
    )
    assert "exec -s s0000 -- sh -c" in parent.stdout and TOKEN not in parent.stdout
    calls = fake_sprite.calls(sprite_cli.parent)
    assert [c["argv"][:3] for c in calls] == [["exec", "-s", "s0000"]] * 3
    assert all(c["token_ok"] for c in calls)


def test_exec_passes_the_org(api, sprite_cli) -> None:
    api.set(sprites=fleet(1))
    env = env_for(api, sprite_cli, WRECKIT_TUI_SPRITES_ORG="my-org")
    assert run_cli("exec", "s0000", "--", "true", env=env).returncode == 0
    assert fake_sprite.calls(sprite_cli.parent)[0]["argv"][:4] == ["-o", "my-org", "exec", "-s"]


def test_a_missing_sprite_cli_is_exit_3(api, tmp_path) -> None:
    api.set(sprites=fleet(1))
    env = env_for(api, WRECKIT_TUI_SPRITE_PATH=str(tmp_path / "nowhere"))
    done = run_cli("exec", "s0000", "--", "true", env=env)
    assert done.returncode == 3 and "sprite_path" in done.stderr


def test_attach_runs_the_console_on_a_pty_and_the_token_is_on_no_argv(api, sprite_cli) -> None:
    api.set(sprites=fleet(1))
    terminal = Terminal(24, 80)
    env = {**os.environ, **env_for(api, sprite_cli), "PYTHONPATH": str(REPO)}
    child = terminal.spawn([sys.executable, "-m", "wreckit_tui", "attach", "s0000"], env=env)
    try:
        terminal.expect("s0000$ ")
        wait_until(lambda: len(fake_sprite.calls(sprite_cli.parent)) == 1)
        cmdlines = _cmdlines_of_tree(child.pid)
        assert any("console" in line for line in cmdlines), cmdlines
        assert all(TOKEN not in line for line in cmdlines)
        terminal.type("hello\r")
        terminal.expect("ran: hello")
        terminal.type(b"\x1d")  # Ctrl+]
        assert child.wait(10) == 0
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait(10)
        terminal.close()
    call = fake_sprite.calls(sprite_cli.parent)[0]
    assert call["argv"] == ["console", "-s", "s0000"] and call["token_ok"]
    assert TOKEN.encode() not in terminal.screen()


def test_a_console_that_fails_at_once_is_named_as_run(api, sprite_cli) -> None:
    api.set(sprites=fleet(1))
    (sprite_cli.parent / "fail").touch()
    terminal = Terminal(24, 80)
    env = {**os.environ, **env_for(api, sprite_cli), "PYTHONPATH": str(REPO)}
    child = terminal.spawn([sys.executable, "-m", "wreckit_tui", "attach", "s0000"], env=env)
    try:
        assert child.wait(30) == 1
        terminal.expect("`sprite console -s s0000` exited with status 1 after")
        terminal.expect("could not connect to the sprite")
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait(10)
        terminal.close()


def test_attach_to_a_missing_sprite_is_exit_5(api, sprite_cli) -> None:
    api.set(sprites=fleet(1))
    done = run_cli("attach", "nope", env=env_for(api, sprite_cli))
    assert done.returncode == 5


def test_the_token_is_in_no_output_of_any_command(api, sprite_cli) -> None:
    api.set(
        sprites=fleet(2),
        fault={"kind": "status", "code": 500, "body": {"error": f"bad token {TOKEN}"}, "times": 1},
    )
    env = env_for(api, sprite_cli)
    outputs = []
    for args in (
        ["--headless"],
        ["--headless"],
        ["list", "--json"],
        ["kill", "nope"],
        ["start", "new1", "--json"],
        ["exec", "s0000", "--", "env"],
        ["capture", "s0000"],
        ["wait", "s0000", "--until", "idle", "--timeout", "1"],
    ):
        done = run_cli(*args, env=env)
        outputs.append((args, done.returncode, done.stdout + done.stderr))
    assert "[token]" in outputs[0][2]  # the API's echo of it was blanked
    exec_out = outputs[5][2]
    assert f"SPRITE_TOKEN={TOKEN}" in exec_out  # the sprite got it, through its environment
    for args, _code, text in outputs:
        if args[0] != "exec":
            assert TOKEN not in text, args


def test_the_mcp_tools_list_spawn_exec_and_kill_on_sprites(api, sprite_cli, tmp_path) -> None:
    api.set(sprites=fleet(2))
    config = tmp_path / "mcp-config.toml"
    config.touch()
    env = env_for(api, sprite_cli, WRECKIT_TUI_CONFIG=str(config))
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    server = McpServer(tmp_path / "mcp", env)
    try:
        listed = server.ok("list_sprites")["sprites"]
        assert [s["name"] for s in listed] == ["s0000", "s0001"]
        assert listed[0]["cpu_percent"] is None
        spawned = server.ok("spawn_sprite", {"name": "fresh"})
        assert spawned["name"] == "fresh"
        done = server.ok("exec_in_sprite", {"name": "s0000", "command": ["sh", "-c", "exit 4"]})
        assert done["exit_code"] == 4
        refused = server.error("attach_sprite", {"name": "s0000"})
        assert "not supported by this backend" in refused
        assert server.ok("kill_sprite", {"name": "fresh"}) == {"name": "fresh", "killed": True}
    finally:
        server.close()
    assert TOKEN not in server.stderr()
    assert [s["name"] for s in json.loads(run_cli("list", "--json", env=env).stdout)] == [
        "s0000",
        "s0001",
    ]


def test_the_default_start_up_never_imports_httpx(fake_wisp) -> None:
    fake_wisp.set_fleet([{"name": "a", "state": "running"}])
    done = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "wreckit_tui",
            "--headless",
            "--wisp",
            str(fake_wisp.path),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()]
    assert "wreckit_tui.headless" in imported
    assert not [name for name in imported if name.split(".")[0] in ("httpx", "httpcore")]
    assert "wreckit_tui.sprites_backend" not in imported


def _cmdlines_of_tree(pid: int) -> list[str]:
    import psutil

    tree = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    return [" ".join(command_line(p)) for p in tree]
