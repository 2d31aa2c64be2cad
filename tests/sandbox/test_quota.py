"""The quota and starts cut short on the built-in provider: real sandboxes, real processes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.conftest import REPO
from tests.support.waiting import wait_until

WRECKIT = [sys.executable, "-m", "wreckit_tui"]


def wreckit(home, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``wreckit-tui ARGS`` on the built-in provider of ``home`` (no wisp on PATH)."""
    env = {**home.env, "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [*WRECKIT, *args],
        env=env,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def not_stopped(home) -> list[str]:
    return [record["name"] for record in home.list() if record["state"] != "stopped"]


def test_twenty_concurrent_starts_leave_at_most_max_vms_sandboxes(sandboxes):
    def start(index: int):
        return wreckit(sandboxes, "start", f"e{index}", "--memory", "128MiB", "--set", "max_vms=5")

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(start, range(20)))
    started = [result for result in results if result.returncode == 0]
    assert len(not_stopped(sandboxes)) <= 5
    assert len(started) == len(not_stopped(sandboxes)) == 5, [r.stderr for r in results]
    for result in results:
        if result.returncode:
            assert (result.returncode, "quota reached" in result.stderr) == (2, True)


def test_a_start_timed_out_at_any_moment_never_leaves_a_sandbox_it_called_failed(sandboxes):
    chances = random.Random(int(os.environ.get("WRECKIT_TEST_SEED", "11")))
    for attempt in range(12):
        name = f"t{attempt}"
        timeout = f"{chances.uniform(0.0, 0.3):.3f}"
        done = wreckit(sandboxes, "start", name, "--set", f"timeout={timeout}")
        listed = {record["name"]: record["state"] for record in sandboxes.list()}
        if done.returncode == 0:
            assert listed.get(name) == "running"
            sandboxes.kill(name)
        else:
            assert done.returncode == 4, done.stderr
            assert "timed out" in done.stderr
            assert name not in listed, (timeout, done.stderr, listed)


ATTEMPTS = 16


def catches(pid: int, signum: int) -> bool:
    """Whether process ``pid`` has a handler of its own for ``signum`` (its start is under way)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True  # it has ended: nothing to wait for
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    if fields["State"].split()[0] == "Z":
        return True
    return bool(int(fields["SigCgt"], 16) >> (signum - 1) & 1)


def test_sigterm_to_wreckit_tui_at_any_moment_of_a_start(sandboxes):
    """From the moment the start is under way (the interpreter's own start-up, before it, is
    not what this is about) to its report: a SIGTERM either undoes the start or is reported
    after it."""
    chances = random.Random(int(os.environ.get("WRECKIT_TEST_SEED", "7")))
    length = max(start_length(sandboxes, f"calibration{index}") for index in range(2))
    outcomes = []
    for attempt in range(ATTEMPTS):  # one moment in each slice of the start and a bit after it
        name = f"s{attempt}"
        starting = under_way(sandboxes, name)
        time.sleep(length * 1.5 * (attempt + chances.random()) / ATTEMPTS)
        starting.send_signal(signal.SIGTERM)
        out, err = starting.communicate(timeout=30)
        names = {record["name"] for record in sandboxes.list()}
        outcomes.append(starting.returncode)
        if starting.returncode == 0:
            assert out.startswith(f"started {name}")
            assert name in names
            sandboxes.kill(name)
        else:
            assert starting.returncode in {128 + signal.SIGTERM, -signal.SIGTERM}, err
            assert name not in names, (starting.returncode, err)
            assert "Traceback" not in err
    assert 0 in outcomes and set(outcomes) - {0}, outcomes  # both ends were reached


def start_length(sandboxes, name: str) -> float:
    """How long ``wreckit-tui start NAME`` takes from the moment it is under way to its exit."""
    starting = under_way(sandboxes, name)
    started = time.monotonic()
    starting.communicate(timeout=30)
    length = time.monotonic() - started
    sandboxes.kill(name)
    return length


def under_way(sandboxes, name: str) -> subprocess.Popen[str]:
    """``wreckit-tui start NAME``, once its start is under way (it catches SIGTERM)."""
    starting = subprocess.Popen(
        [*WRECKIT, "start", name],
        env={**sandboxes.env, "PATH": "/usr/bin:/bin"},
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_until(lambda: catches(starting.pid, signal.SIGTERM), timeout=30)
    return starting
