"""No setting, however hostile, makes wreckit-tui print a traceback.

Every command runs with every setting set to hostile values (a NUL byte, 10 kB of text,
negative, huge, tiny, not a number, the wrong TOML type) through each way a setting arrives
(the config file, a ``WRECKIT_TUI_*`` variable, ``--set`` and ``--wisp``). Each run must end
with a documented exit code and, unless it succeeded, exactly one line on stderr that starts
with ``wreckit-tui: error:``. The command lines run in a few real processes
(``tests/support/cli_harness.py``); the dashboard, which needs a terminal, runs in one of its own
for each set of hostile values it accepts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.sandbox.conftest import passable_dir
from tests.support.attach_pty import Terminal
from wreckit_tui.config import KEYS

DOCUMENTED_EXIT_CODES = {0, 2, 3, 4, 5}
COMMANDS = (
    ["--headless"],
    ["--headless", "--json"],
    ["list"],
    ["list", "--json"],
    ["start", "hostile-x"],
    ["kill", "alpha"],
    ["attach", "alpha"],
)
DASHBOARD: list[str] = []
TEXT_VALUES = {
    "nul": "a\x00b",
    "10kB": "x" * 10_000,
    "negative": "-1",
    "zero": "0",
    "huge": "9" * 5_000,
    "huge float": "1e308",
    "tiny": "1e-300",
    "infinity": "inf",
    "not a number": "nan",
    "word": "lots",
    "list": "[1, 2]",
    "boolean": "true",
    "empty": "",
    "newline": "5\n6",
    "unicode digit": "\uff15",
    "escape": "\x1b[2J\x1b]0;title\x07",
}
TOML_VALUES = {
    **{name: json.dumps(text, ensure_ascii=False) for name, text in TEXT_VALUES.items()},
    "toml negative": "-1",
    "toml huge int": str(2**63 - 1),
    "toml huge float": "1e308",
    "toml infinity": "inf",
    "toml nan": "nan",
    "toml boolean": "true",
    "toml array": "[1, 2]",
    "toml table": "{ a = 1 }",
    "toml datetime": "1979-05-27T07:32:00Z",
    "toml negative zero": "-0.0",
}
QUICK_WISP = """#!/bin/sh
case "$1" in
  --version) echo "wisp 0.3.1" ;;
  list) echo '[{"name": "alpha", "state": "running"}]' ;;
  start|kill) ;;
  *) echo "wisp: $1 is not a command here" >&2; exit 2 ;;
esac
"""


@pytest.fixture
def quick_wisp(tmp_path: Path) -> str:
    """A real wisp that answers at once: a shell script with a one-sprite fleet."""
    path = tmp_path / "wisp"
    path.write_text(QUICK_WISP)
    path.chmod(0o755)
    return str(path)


def hostile_cases(wisp: str) -> list[tuple[str, dict]]:
    """(what, case) for every setting, hostile value, way in and command."""
    cases = []
    for key in KEYS:
        ways = {
            f"file {name}": {"config": f"{key} = {value}\n"} for name, value in TOML_VALUES.items()
        }
        for name, text in TEXT_VALUES.items():
            ways[f"--set {name}"] = {"flags": ["--set", f"{key}={text}"]}
            if "\x00" not in text:  # no environment variable can hold a NUL byte
                ways[f"env {name}"] = {"env": {f"WRECKIT_TUI_{key.upper()}": text}}
            if key == "wisp_path":
                ways[f"--wisp {name}"] = {"flags": ["--wisp", text]}
        for way, given in ways.items():
            flags = given.get("flags", [])
            if key != "wisp_path":
                flags = ["--wisp", wisp, *flags]
            for command in COMMANDS:
                case = {"argv": [*command, *flags], "env": given.get("env", {})}
                case["config"] = given.get("config", "")
                cases.append((f"{key} {way}: {' '.join(command)}", case))
    return cases


def run_in_harness(cases: list[dict], processes: int = 2) -> list[dict]:
    """Run ``cases`` in ``processes`` harness processes at once; their results, in order.

    A setting that leaves no wisp (an empty ``wisp_path``, say) starts the built-in provider:
    it runs with a home of its own, whose sandboxes are killed and removed afterwards."""
    home = passable_dir(tempfile.gettempdir())
    env = {**os.environ, "WRECKIT_SANDBOX_HOME": str(home)}
    chunks = [cases[index::processes] for index in range(processes)]
    try:
        outputs = _harness_outputs(chunks, env)
    finally:
        _kill_sandboxes(env)
        shutil.rmtree(home, ignore_errors=True)
    results: list[dict] = [{}] * len(cases)
    for index, stdout in enumerate(outputs):
        results[index::processes] = json.loads(stdout)
    return results


def _harness_outputs(chunks: list[list[dict]], env: dict[str, str]) -> list[str]:
    """What each harness process printed, one per chunk of cases."""
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.cli_harness"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=env,
        )
        for _ in chunks
    ]
    outputs = [
        run.communicate(json.dumps(chunk), timeout=600)
        for run, chunk in zip(runs, chunks, strict=True)
    ]
    for run, (_, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, stderr[-3000:]
    return [stdout for stdout, _ in outputs]


def _kill_sandboxes(env: dict[str, str]) -> None:
    """Kill every sandbox of the provider home ``env`` names."""
    provider = [sys.executable, "-m", "wreckit_tui.sandbox"]
    listed = [*provider, "list", "--json"]
    done = subprocess.run(listed, env=env, capture_output=True, text=True, check=True)
    for sandbox in json.loads(done.stdout):
        kill = [*provider, "kill", sandbox["name"]]
        subprocess.run(kill, env=env, capture_output=True, check=True)


def problem(result: dict) -> str | None:
    """What is wrong with how a run ended, or None when it ended as documented."""
    if result["traceback"] or "Traceback" in result["stderr"]:
        return f"traceback: {(result['traceback'] or result['stderr'])[-600:]}"
    if result["code"] not in DOCUMENTED_EXIT_CODES:
        return f"exit code {result['code']}"
    lines = result["stderr"].splitlines()
    if result["code"] == 0:
        stray = [line for line in lines if not line.startswith("wreckit-tui: warning: ")]
        return f"stderr: {stray!r}" if stray else None
    if len(lines) != 1 or not lines[0].startswith("wreckit-tui: error: "):
        return f"stderr is not one error line: {result['stderr'][:600]!r}"
    return None


def config_refused(result: dict) -> bool:
    """Whether a run ended at the configuration, before any command ran."""
    return result["code"] == 2 and any(
        result["stderr"].startswith(f"wreckit-tui: error: {origin}")
        for origin in ("config file", "environment variable", "command-line option", "--set")
    )


def test_every_command_with_every_hostile_setting_ends_as_documented(quick_wisp):
    named = hostile_cases(quick_wisp)
    results = run_in_harness([case for _, case in named])
    # the dashboard reads its settings exactly as the commands do: where they refused the
    # settings, so must it (where they took them, the next test runs it on a terminal)
    dashboard = [
        (f"{what.rsplit(':', 1)[0]}: dashboard", {**case, "argv": DASHBOARD + case["argv"][1:]})
        for (what, case), result in zip(named, results, strict=True)
        if case["argv"][:1] == ["list"] and case["argv"][1:2] != ["--json"]
        and config_refused(result)
    ]  # fmt: skip
    named += dashboard
    results += run_in_harness([case for _, case in dashboard])
    failures = {what: problem(result) for (what, _), result in zip(named, results, strict=True)}
    failures = {what: why for what, why in failures.items() if why}
    assert failures == {}
    assert len(named) > 3000
    assert sum(config_refused(result) for result in results) > 1000  # most values are refused


ACCEPTED = {
    "huge": {
        "timeout": "1e300",
        "list_timeout": "1e300",
        "kill_grace": "1e300",
        "poll_interval": "1e300",
        "max_vms": str(10**30),
        "max_output_bytes": str(10**30),
        "max_sprites": str(10**30),
        "default_cpus": "64",
        "default_memory": "999999999GiB",
        "theme": "x" * 10_000,
        "detach_key": "ctrl+_",
        "record_dir": "d" * 250,
        "record_input": "yes",
    },
    "tiny": {
        "timeout": "1e-300",
        "list_timeout": "1e-300",
        "kill_grace": "0",
        "poll_interval": "1e-300",
        "max_vms": "1",
        "max_output_bytes": "1024",
        "max_sprites": "1",
        "default_memory": "1MiB",
        "theme": "\x1b[2J",
        "record_dir": "\x1b[2J",
        "record_input": "off",
    },
    "wisp path": {"wisp_path": "w" * 10_000},
}
"""Hostile values the settings accept, as one set for each way the dashboard can go."""


@pytest.mark.parametrize("values", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_the_dashboard_runs_and_quits_cleanly_with_hostile_settings_it_accepts(quick_wisp, values):
    env = {f"WRECKIT_TUI_{key.upper()}": value for key, value in values.items()}
    env.setdefault("WRECKIT_TUI_WISP_PATH", quick_wisp)
    terminal = Terminal(rows=30, cols=100)
    try:
        process = terminal.spawn(
            [sys.executable, "-m", "wreckit_tui"], env={**os.environ, **env}, cwd=str(REPO)
        )
        try:
            terminal.expect("wreckit", timeout=30)
            terminal.expect("sprite", timeout=30)  # the header's count: it polled once
            terminal.type("q")
            assert process.wait(30) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        screen = terminal.settle()
    finally:
        terminal.close()
    assert b"Traceback" not in screen


ACTIVITY_VALUES = {
    "quiet_after": [*TOML_VALUES.values(), "0", "86401"],
    "spinner": [*TOML_VALUES.values(), json.dumps("x" * 201)],
    "agents": ["[1, 2]", '"claude"', "{ claude = 1 }", "{ claude = { busy = 1 } }"],
    "agents.claude": [
        '{ waiting = ["("] }',
        '{ busy = ["' + "a" * 1001 + '"] }',
        '{ command = "[" }',
        "{ command = 1 }",
        '{ waiting = "Do you want" }',
        "{ waiting = [1] }",
        '{ waiting = ["a\\u0000b"] }',
        "{ other = 1 }",
    ],
    "unknown": ["1"],
}
"""Hostile values of the keys inside the ``[activity]`` table (beyond those of ``activity``
itself, which the test above covers with every other setting)."""


def activity_cases(wisp: str) -> list[tuple[str, dict]]:
    cases = []
    for key, values in ACTIVITY_VALUES.items():
        for value in values:
            table, _, leaf = f"activity.{key}".rpartition(".")
            config = f"[{table}]\n{leaf} = {value}\n"
            for command in (
                ["--headless", "--json"],
                ["list"],
                ["wait", "alpha", "--until", "idle", "--timeout", "1"],
            ):
                argv = [*command, "--wisp", wisp]
                cases.append(
                    (f"{key} = {value[:30]}: {command[0]}", {"argv": argv, "config": config})
                )
            inline = {"argv": ["list", "--wisp", wisp, "--set", f"activity={{{key} = {value}}}"]}
            cases.append((f"--set activity {key} = {value[:30]}", {**inline, "config": ""}))
    return cases


def test_every_hostile_activity_pattern_and_time_is_one_line_and_exit_2(quick_wisp):
    named = activity_cases(quick_wisp)
    results = run_in_harness([{"env": {}, **case} for _, case in named])
    failures = {what: problem(result) for (what, _), result in zip(named, results, strict=True)}
    assert {what: why for what, why in failures.items() if why} == {}
    refused = [what for (what, _), result in zip(named, results, strict=True)
               if not config_refused(result)]  # fmt: skip
    # only the values that are valid (a spinner of text, a number of seconds) may run
    assert all(what.startswith(("quiet_after", "spinner", "--set")) for what in refused), refused
