"""Activity of real sandboxes of the built-in provider, told by the command line: an agent that
asks a yes/no question is ``waiting``, one that prints all the time ``working``, one that exited
3 ``exited 3``, through ``wait --until`` and ``--headless --json``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.conftest import run_cli

ASKS = "echo start; printf 'Do you want to proceed? (y/n) '; read answer"
PRINTS = "while :; do echo tick; sleep 0.2; done"
FAILS = "echo bye; exit 3"
PROVIDER = str(Path(sys.executable).parent / "wreckit-sandbox")


def cli(sandboxes, *args: str, timeout: float = 60):
    env = {"WRECKIT_SANDBOX_HOME": str(sandboxes.path), "WRECKIT_TUI_POLL_INTERVAL": "1"}
    return run_cli(*args, "--wisp", PROVIDER, env=env, timeout=timeout)


def listed(sandboxes) -> dict[str, dict]:
    done = cli(sandboxes, "--headless", "--json")
    assert done.returncode == 0, done.stderr
    return {sprite["name"]: sprite for sprite in json.loads(done.stdout)}


def test_waiting_working_and_exited_agents_are_told_apart(sandboxes):
    sandboxes.start("asks", "--", "sh", "-c", ASKS)
    sandboxes.start("prints", "--", "sh", "-c", PRINTS)
    sandboxes.start("fails", "--", "sh", "-c", FAILS)

    # quiet_after (3 s) after its question, then within two polls of 1 s
    waited = cli(sandboxes, "wait", "asks", "--until", "waiting", "--timeout", "6")
    assert (waited.returncode, waited.stderr) == (0, "")
    assert cli(sandboxes, "wait", "prints", "--until", "working", "--timeout", "5").returncode == 0
    assert cli(sandboxes, "wait", "fails", "--until", "exited", "--timeout", "5").returncode == 0

    sprites = listed(sandboxes)
    assert (sprites["asks"]["activity"], sprites["asks"]["attention"]) == ("waiting", "waiting")
    assert sprites["asks"]["activity_since"].endswith("Z")
    assert sprites["prints"]["activity"] == "working"
    assert sprites["fails"]["activity"] == "exited"
    assert sprites["fails"]["attention"] == "exited 3"

    table = cli(sandboxes, "--headless")
    rows = {line.split()[0]: line for line in table.stdout.splitlines() if line.strip()}
    assert "exited 3" in rows["fails"] and "waiting" in rows["asks"]
    assert "working" in rows["prints"]

    late = cli(sandboxes, "wait", "prints", "--until", "idle", "--timeout", "2")
    assert late.returncode == 4 and "prints is not idle" in late.stderr
    assert cli(sandboxes, "wait", "ghost", "--until", "idle").returncode == 5
