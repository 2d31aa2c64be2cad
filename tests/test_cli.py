"""The command line as a user runs it: real processes, real fake wisp, exit codes and output."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO, run_cli
from tests.support.waiting import wait_until

FLEET = [
    {
        "name": "alpha",
        "id": "spr_1",
        "state": "running",
        "cpus": 2,
        "memory": "1GiB",
        "cpu_percent": 12.5,
        "memory_used": 300,
        "uptime_seconds": 3700,
        "created_at": "2026-11-25T10:00:00Z",
        "url": "https://alpha.sprites.test",
        "pid": 4242,
    },
    {"name": "evil[/b]-[red]x", "status": "cold"},
]


def test_headless_table_shows_every_column_backend_and_version(fake_wisp):
    fake_wisp.set_fleet(FLEET)
    result = run_cli("--headless", "--wisp", str(fake_wisp.path))
    assert result.returncode == 0, result.stderr
    header = next(line for line in result.stdout.splitlines() if "NAME" in line)
    columns = [column.strip() for column in header.strip("┃│ ").split("┃")]
    assert columns == [
        *("NAME", "STATE", "ACTIVITY", "CPUS", "CPU %"),
        *("MEMORY", "UPTIME", "COMMAND", "URL"),
    ]
    alpha = next(line for line in result.stdout.splitlines() if "alpha" in line)
    cells = [cell.strip() for cell in alpha.strip("│ ").split("│")]
    assert cells == [
        *("alpha", "running", "idle", "2", "12%"),
        *("300M/1G", "1h 1m", "—", "alpha.sprites.test"),
    ]
    assert f"wisp {fake_wisp.path} 0.3.1" in result.stdout
    assert "2 sprites, 1 running · VMs 1/5" in result.stdout


def test_headless_cells_are_capped_with_an_ellipsis_and_json_keeps_them(fake_wisp):
    name = "n" + "a" * 10_000
    fake_wisp.set_fleet([{"name": name, "state": "running", "url": "https://" + "u" * 500}])
    result = run_cli("--headless", "--wisp", str(fake_wisp.path))
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if "naaa" in line)
    assert "n" + "a" * 30 + "…" in row and "u" * 39 + "…" in row
    assert "running" in row and len(row) < 160
    done = run_cli("--headless", "--json", "--wisp", str(fake_wisp.path))
    assert json.loads(done.stdout)[0]["name"] == name


def test_an_empty_fleet_prints_a_hint_not_an_empty_box(fake_wisp):
    result = run_cli("list", "--wisp", str(fake_wisp.path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "No sprites yet. Start one with: wreckit-tui start NAME"
    assert "┃" not in result.stdout and "0 sprites, 0 running · VMs 0/5" in result.stdout


def test_markup_and_escape_sequences_print_literally_without_control_characters(fake_wisp):
    fake_wisp.set_fleet([{"name": "evil[/b]-[red]x", "state": "running\x1b[2J"}])
    result = run_cli("list", "--wisp", str(fake_wisp.path))
    assert result.returncode == 0, result.stderr
    assert "evil[/b]-[red]x" in result.stdout
    assert "running" in result.stdout
    assert "[2J" not in result.stdout  # the whole escape sequence is dropped, not just ESC
    assert "\x1b" not in result.stdout
    assert fake_wisp.alive_pids() == []


def test_a_lone_surrogate_in_a_name_prints_without_it(fake_wisp):
    fake_wisp.set_fleet('[{"name": "s\\ud800x", "state": "running"}]')
    result = run_cli("--headless", "--wisp", str(fake_wisp.path))
    assert result.returncode == 0, result.stderr
    assert "sx" in result.stdout
    assert "Traceback" not in result.stderr


def test_headless_json_has_exactly_the_documented_keys_in_wisp_order(fake_wisp):
    fake_wisp.set_fleet(FLEET)
    result = run_cli("--headless", "--json", "--wisp", str(fake_wisp.path))
    assert result.returncode == 0, result.stderr
    sprites = json.loads(result.stdout)
    assert [s["name"] for s in sprites] == ["alpha", "evil[/b]-[red]x"]
    keys = [
        "name", "id", "state", "cpus", "memory_mib", "cpu_percent",
        "memory_used_mib", "uptime_seconds", "created_at", "url",
        "command", "exit_code", "activity_at", "title",
        "activity", "activity_since", "attention",
    ]  # fmt: skip
    assert all(list(s) == keys for s in sprites)
    assert sprites[0]["memory_mib"] == 1024
    assert sprites[0]["created_at"] == "2026-11-25T10:00:00Z"
    assert sprites[1]["state"] == "stopped"
    assert sprites[1]["cpus"] is None
    assert (sprites[0]["activity"], sprites[0]["attention"]) == ("idle", None)
    assert sprites[1]["activity"] is None  # stopped, and no program that ended: unknown
    # one list; a capture only of the sprite whose screen tells its activity
    assert fake_wisp.calls() == [
        ["list", "--json"],
        ["capabilities", "--json"],
        ["capture", "alpha", "--lines", "40"],
    ]


def test_headless_shows_an_agent_s_command_and_exit_status_and_json_has_them(fake_wisp):
    agent = {
        "name": "agent",
        "state": "stopped",
        "command": "claude --dangerously-skip-permissions \x1b[31m-p 'fix the bug'",
        "exit_code": 3,
        "activity_at": "2026-11-25T11:58:00Z",
        "title": "✳ done",
    }
    fake_wisp.set_fleet([agent])
    table = run_cli("--headless", "--wisp", str(fake_wisp.path))
    assert table.returncode == 0, table.stderr
    row = next(line for line in table.stdout.splitlines() if "agent" in line)
    cells = [cell.strip() for cell in row.strip("│ ").split("│")]
    assert cells[1] == "exit 3" and cells[2] == "exited 3"
    assert cells[7] == "claude --dangerously-sk…"
    assert "\x1b" not in table.stdout
    done = run_cli("--headless", "--json", "--wisp", str(fake_wisp.path))
    (sprite,) = json.loads(done.stdout)
    assert sprite == {
        **dict.fromkeys(sprite),
        **agent,
        "activity": "exited",
        "activity_since": sprite["activity_since"],
        "attention": "exited 3",
    }
    assert sprite["activity_since"].endswith("Z")


def test_list_json_is_a_bare_array_even_when_wisp_wraps_it(fake_wisp):
    fake_wisp.set_fleet(FLEET)
    fake_wisp.set_scenario(list="wrapped")
    result = run_cli("list", "--json", "--wisp", str(fake_wisp.path))
    assert isinstance(json.loads(result.stdout), list)


def test_version_failure_is_only_a_warning(fake_wisp):
    fake_wisp.set_fleet(FLEET)
    fake_wisp.set_scenario(version="fail")
    result = run_cli("--headless", "--wisp", str(fake_wisp.path))
    assert result.returncode == 0
    assert "version unknown" in result.stdout
    assert "warning: could not read the backend version" in result.stderr


def test_wrong_typed_field_warns_on_stderr_and_keeps_the_row(fake_wisp):
    fake_wisp.set_fleet([{"name": "alpha", "cpus": "lots"}])
    result = run_cli("list", "--json", "--wisp", str(fake_wisp.path))
    assert result.returncode == 0
    assert json.loads(result.stdout)[0]["cpus"] is None
    assert "field 'cpus' has an invalid value" in result.stderr


@pytest.mark.parametrize(
    ("scenario", "code", "message"),
    [
        ("fail", 4, "exit code 3: error: sprites API unreachable (connection refused)"),
        ("garbage", 4, "not valid JSON"),
        ("truncated", 4, "not valid JSON"),
        ("empty", 4, "empty output"),
        ("hang", 4, "timed out after 1s"),
        ("hang-ignore-term", 4, "timed out after 1s"),
        ("huge", 4, "printed more than 1048576 bytes"),
        ("duplicate", 4, "two sprites are named 'alpha'"),
    ],
)
def test_list_errors_exit_codes_and_one_line_messages(fake_wisp, scenario, code, message):
    fake_wisp.set_fleet([*FLEET, FLEET[0]] if scenario == "duplicate" else FLEET)
    fake_wisp.set_scenario(list=scenario)
    limits = [
        "--set",
        "list_timeout=1",
        "--set",
        "kill_grace=0.3",
        "--set",
        "max_output_bytes=1048576",
    ]
    result = run_cli("list", "--wisp", str(fake_wisp.path), *limits)
    assert result.returncode == code
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert fake_wisp.alive_pids() == []


@pytest.mark.parametrize("scenario", ["ok", "wrapped", "slow", "grandchild", "badbytes"])
def test_list_scenarios_that_succeed_leave_nothing_running(fake_wisp, scenario):
    fake_wisp.set_fleet(FLEET)
    fake_wisp.set_scenario(list=scenario, slow_seconds=0.5)
    result = run_cli("list", "--json", "--wisp", str(fake_wisp.path))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["name"] in {"alpha", "bad-\ufffd\ufffd-bytes"}
    assert fake_wisp.alive_pids() == []


def test_not_executable_wisp_exits_3(fake_wisp):
    fake_wisp.path.chmod(0o644)
    result = run_cli("list", "--wisp", str(fake_wisp.path))
    assert result.returncode == 3
    assert "is not executable" in result.stderr
    assert str(fake_wisp.path) in result.stderr


def test_missing_wisp_exits_3_and_says_what_to_do(tmp_path):
    missing = tmp_path / "bin" / "wisp"
    result = run_cli("--headless", "--wisp", str(missing))
    assert result.returncode == 3
    assert str(missing) in result.stderr
    assert "wisp_path" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1  # no warning about the version too


def test_a_failed_list_does_not_wait_for_a_hanging_version(fake_wisp):
    fake_wisp.set_scenario(list="fail", version="hang")
    started = time.monotonic()
    result = run_cli("--headless", "--wisp", str(fake_wisp.path), "--set", "list_timeout=5")
    assert time.monotonic() - started < 4
    assert result.returncode == 4
    assert len(result.stderr.strip().splitlines()) == 1
    assert "sprites API unreachable" in result.stderr
    assert fake_wisp.alive_pids() == []


@pytest.mark.parametrize(("command", "scenario"), [("start", "hang-ignore-term"), ("kill", "hang")])
def test_start_and_kill_time_out_after_timeout_not_list_timeout(fake_wisp, command, scenario):
    fake_wisp.set_fleet([{"name": "alpha", "state": "running"}])
    fake_wisp.set_scenario(**{command: scenario})
    name = "bravo" if command == "start" else "alpha"
    limits = ["--set", "timeout=1", "--set", "list_timeout=30", "--set", "kill_grace=0.3"]
    started = time.monotonic()
    result = run_cli(command, name, "--wisp", str(fake_wisp.path), *limits)
    assert time.monotonic() - started < 1 + 0.3 + 2.5
    assert result.returncode == 4
    assert f"`wisp {command} {name}" in result.stderr
    assert "timed out after 1s" in result.stderr
    assert fake_wisp.alive_pids() == []


def test_global_options_work_before_or_after_the_subcommand(fake_wisp):
    before = run_cli("--wisp", str(fake_wisp.path), "start", "x")
    after = run_cli("start", "y", "--wisp", str(fake_wisp.path), "--memory", "1GiB", "--cpus", "2")
    assert (before.returncode, after.returncode) == (0, 0), before.stderr + after.stderr
    assert "started y (1GiB, 2 vCPU)" in after.stdout
    starts = [call for call in fake_wisp.calls() if call[0] == "start"]
    assert starts == [
        ["start", "x", "--memory", "512MiB", "--cpus", "1"],
        ["start", "y", "--memory", "1GiB", "--cpus", "2"],
    ]


def test_settings_and_config_given_on_both_sides_of_the_command_add_up(fake_wisp, tmp_path):
    fake_wisp.set_fleet([{"name": "a", "state": "running"}, {"name": "b", "state": "running"}])
    config = tmp_path / "strict.toml"
    config.write_text("max_vms = 1\n")
    for args in (
        ["--set", "max_vms=1", "start", "c", "--set", "timeout=5"],
        ["--config", str(config), "start", "c"],
        ["start", "c", "--config", str(config)],
    ):
        result = run_cli(*args, "--wisp", str(fake_wisp.path))
        assert result.returncode == 2, (args, result.stdout)
        assert "quota reached: 2 of max_vms 1" in result.stderr
    assert [call for call in fake_wisp.calls() if call[0] == "start"] == []


def test_json_before_the_list_command_prints_json(fake_wisp):
    fake_wisp.set_fleet(FLEET)
    result = run_cli("--json", "list", "--wisp", str(fake_wisp.path))
    assert result.returncode == 0, result.stderr
    assert [sprite["name"] for sprite in json.loads(result.stdout)] == ["alpha", "evil[/b]-[red]x"]


def test_start_json_prints_the_new_sprite(fake_wisp):
    result = run_cli("start", "zulu", "--json", "--wisp", str(fake_wisp.path))
    assert result.returncode == 0, result.stderr
    sprite = json.loads(result.stdout)
    assert (sprite["name"], sprite["memory_mib"], sprite["cpus"]) == ("zulu", 512, 1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["start", "Bad_Name"], "invalid name"),
        (["start", "ok", "--memory", "12"], "invalid memory size"),
        (["start", "ok", "--cpus", "0"], "invalid cpus"),
    ],
)
def test_invalid_start_exits_2_without_running_wisp(fake_wisp, args, message):
    result = run_cli(*args, "--wisp", str(fake_wisp.path))
    assert result.returncode == 2
    assert message in result.stderr
    assert fake_wisp.calls() == []


def test_quota_exits_2_and_never_runs_start(fake_wisp):
    fake_wisp.set_fleet([{"name": f"s{i}", "state": "running"} for i in range(5)])
    result = run_cli("start", "sixth", "--wisp", str(fake_wisp.path))
    assert result.returncode == 2
    assert "quota reached: 5 of max_vms 5" in result.stderr
    assert fake_wisp.calls() == [["list", "--json"]]


def test_kill_and_kill_json(fake_wisp):
    fake_wisp.set_fleet([{"name": "a"}, {"name": "b"}])
    assert run_cli("kill", "a", "--wisp", str(fake_wisp.path)).stdout == "killed a\n"
    result = run_cli("kill", "b", "--json", "--wisp", str(fake_wisp.path))
    assert json.loads(result.stdout) == {"name": "b", "killed": True}
    assert fake_wisp.fleet() == []


def test_kill_of_a_vanished_sprite_exits_5(fake_wisp):
    fake_wisp.set_fleet([{"name": "ghost", "state": "running"}])
    fake_wisp.set_scenario(kill="vanish")
    result = run_cli("kill", "ghost", "--wisp", str(fake_wisp.path))
    assert result.returncode == 5
    assert "sprite 'ghost' not found" in result.stderr
    assert fake_wisp.alive_pids() == []


def test_kill_failure_exits_4(fake_wisp):
    fake_wisp.set_fleet([{"name": "a"}])
    fake_wisp.set_scenario(kill="fail")
    result = run_cli("kill", "a", "--wisp", str(fake_wisp.path))
    assert result.returncode == 4
    assert "sprites API unreachable" in result.stderr


def test_usage_error_exits_2():
    assert run_cli("start").returncode == 2


def test_headless_path_never_imports_textual(fake_wisp):
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['wreckit-tui', '--headless', '--wisp', {str(fake_wisp.path)!r}]\n"
        "try:\n"
        "    runpy.run_module('wreckit_tui', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "assert 'textual' not in sys.modules, sorted(m for m in sys.modules if 'textual' in m)\n"
        "print('clean')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("clean")


def test_a_silent_failure_names_the_program_actually_run():
    done = run_cli("--headless", "--wisp", "/bin/false")
    assert done.returncode == 4
    assert done.stderr.strip() == (
        "wreckit-tui: error: `wisp list --json` failed with exit code 1 and printed no message: "
        "run `/bin/false list --json` in a shell to see what it does"
    )


def test_the_dashboard_without_a_terminal_exits_2_naming_headless(fake_wisp):
    started = time.monotonic()
    done = run_cli("--wisp", str(fake_wisp.path), timeout=20)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "wreckit-tui: error: the dashboard needs a terminal, but standard input is not one: "
        "use --headless (or --headless --json) to print the sprites\n"
    )
    assert time.monotonic() - started < 10
    assert fake_wisp.calls() == []


def test_the_dashboard_with_output_to_a_pipe_exits_2(fake_wisp):
    primary, secondary = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "wreckit_tui", "--wisp", str(fake_wisp.path)],
            stdin=secondary,
            capture_output=True,
            text=True,
            timeout=20,
            cwd=REPO,
            check=False,
        )
    finally:
        os.close(primary)
        os.close(secondary)
    assert done.returncode == 2
    assert "standard output is not one: use --headless" in done.stderr
    assert "\x1b" not in done.stdout


LOOK_ALIKES = [
    {"name": "zwp", "state": "running"},
    {"name": "zw\u200bp", "state": "running", "url": "https://x\u2028y.test"},
    {"name": "tag\U000e0041", "state": "o\u00adk"},  # fits the STATE column's 8 cells
]


def test_invisible_characters_show_as_escapes_in_the_table_but_json_keeps_them(fake_wisp):
    fake_wisp.set_fleet(LOOK_ALIKES)
    table = run_cli("list", "--wisp", str(fake_wisp.path))
    assert table.returncode == 0, table.stderr
    names = [line.split()[0] for line in table.stdout.splitlines() if "zw" in line or "tag" in line]
    assert names == ["zwp", "zw\\u200bp", "tag\\U000e0041"]
    assert "x\\u2028y.test" in table.stdout
    assert "o\\u00adk" in table.stdout
    for invisible in ("\u200b", "\u2028", "\u00ad", "\U000e0041"):
        assert invisible not in table.stdout
    as_json = run_cli("list", "--json", "--wisp", str(fake_wisp.path))
    assert [sprite["name"] for sprite in json.loads(as_json.stdout)] == [
        "zwp",
        "zw\u200bp",
        "tag\U000e0041",
    ]
    assert json.loads(as_json.stdout)[1]["url"] == "https://x\u2028y.test"


def test_an_error_about_a_look_alike_name_shows_its_escape(fake_wisp):
    fake_wisp.set_fleet([{"name": "zw\u200bp"}, {"name": "zw\u200bp"}])
    result = run_cli("list", "--wisp", str(fake_wisp.path))
    assert result.returncode == 4
    assert "two sprites are named 'zw\\u200bp'" in result.stderr
    assert "\u200b" not in result.stderr


def test_a_flood_of_warnings_prints_the_first_hundred_and_counts_the_rest(fake_wisp):
    fake_wisp.set_fleet([{"name": f"s{index}", "cpus": "lots"} for index in range(5000)])
    result = run_cli("list", "--json", "--wisp", str(fake_wisp.path))
    assert result.returncode == 0, result.stderr[-500:]
    assert len(json.loads(result.stdout)) == 5000
    lines = result.stderr.splitlines()
    assert len(lines) == 101
    assert lines[0] == (
        "wreckit-tui: warning: sprite 's0': field 'cpus' has an invalid value, shown as unknown"
    )
    assert lines[-1] == "wreckit-tui: warning: 4900 more warnings about wisp's output not shown"


def test_a_fleet_past_max_sprites_exits_4_with_one_line(fake_wisp):
    fake_wisp.set_fleet([{"name": f"s{index}"} for index in range(3)])
    for command in (["list"], ["list", "--json"], ["--headless"]):
        result = run_cli(*command, "--set", "max_sprites=2", "--wisp", str(fake_wisp.path))
        assert result.returncode == 4
        assert result.stderr == (
            "wreckit-tui: error: wisp gave bad output: too many sprites (3 > max_sprites 2). "
            "Raise max_sprites if the fleet is really that large.\n"
        )


MULTITUDE_ERROR = (
    "wreckit-tui: error: wisp gave bad output: too many sprites (200000 > max_sprites 20000). "
    "Raise max_sprites if the fleet is really that large.\n"
)
PEAK_RSS_LIMIT_MB = 110
"""Peak RSS of a refusal of 200,000 sprites (15 MB): 79 MB decoding entry by entry, 143 MB
when the whole list was decoded first (the cap allows 10 times the output, 168 MB)."""


def test_200000_sprites_are_refused_with_one_line_in_bounded_memory(fake_wisp):
    fake_wisp.set_scenario(list="multitude")
    for command in (["--headless"], ["list", "--json"]):
        result = run_cli(*command, "--wisp", str(fake_wisp.path))
        assert (result.returncode, result.stdout, result.stderr) == (4, "", MULTITUDE_ERROR)
    measure = (  # the peak RSS of the one child this interpreter waits for, in kB
        "import resource, subprocess, sys; "
        "subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    headless = [sys.executable, "-m", "wreckit_tui", "--headless", "--json"]
    argv = [sys.executable, "-c", measure, *headless, "--wisp", str(fake_wisp.path)]
    measured = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, check=True)
    peak_mb = int(measured.stdout) * 1024 / 1e6
    assert peak_mb < PEAK_RSS_LIMIT_MB, f"--headless --json peaked at {peak_mb:.0f} MB"


def wait_until_none_alive(fake, timeout: float = 2.0) -> None:
    """Fail unless every process of the fake has ended within ``timeout`` seconds."""
    wait_until(lambda: not fake.alive_pids(), timeout, what="every process of the fake to end")


@pytest.mark.parametrize(
    ("command", "scenario"),
    [
        (["list"], {"list": "daemon", "version": "daemon"}),
        (["list", "--json"], {"list": "daemon"}),
        (["kill", "alpha"], {"kill": "daemon"}),
        (["start", "bravo"], {"list": "daemon"}),  # the quota's list, before the start
    ],
)
def test_a_daemon_that_left_the_calls_session_ends_with_the_call(fake_wisp, command, scenario):
    fake_wisp.set_fleet([{"name": "alpha", "state": "running"}])
    fake_wisp.set_scenario(**scenario)
    result = run_cli(*command, "--wisp", str(fake_wisp.path))
    assert result.returncode == 0, result.stderr
    calls = fake_wisp.calls()
    daemons = [call for call in calls if (call[0].strip("-") in scenario)]
    assert len(fake_wisp.pids()) == len(calls) + 2 * len(daemons)
    wait_until_none_alive(fake_wisp)


def test_what_a_start_leaves_running_lives_on(fake_wisp):
    fake_wisp.set_scenario(start="daemon")
    result = run_cli("start", "bravo", "--json", "--wisp", str(fake_wisp.path))
    assert result.returncode == 0, result.stderr
    assert [call[0] for call in fake_wisp.calls()] == ["list", "start", "list"]
    assert len(fake_wisp.alive_pids()) == 2  # the daemon and its child: a server, say
