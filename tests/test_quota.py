"""max_vms across processes, and starts cut short: never more sprites than the quota, never a
start reported failed that left a sprite running."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import REPO, run_cli
from tests.support.waiting import wait_until


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "wreckit_tui", *args]


def started_once(fake_wisp, *args: str, ready) -> subprocess.Popen[str]:
    """``wreckit-tui ARGS`` running, once ``ready()`` holds (the fake got that far)."""
    process = subprocess.Popen(
        cli(*args, "--wisp", str(fake_wisp.path)),
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_until(ready, timeout=20, what="the fake to get that far")
    return process


def test_concurrent_starts_in_separate_processes_never_pass_the_quota(fake_wisp):
    fake_wisp.set_scenario(start="slow", slow_seconds=0.3)
    wisp = str(fake_wisp.path)

    def start(index: int):
        return run_cli("start", f"q{index}", "--set", "max_vms=3", "--wisp", wisp)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(start, range(8)))
    started = [result for result in results if result.returncode == 0]
    refused = [result for result in results if result.returncode != 0]
    assert len(started) == 3, [result.stderr for result in results]
    assert all(result.returncode == 2 and "quota reached" in result.stderr for result in refused)
    assert len(fake_wisp.fleet()) == 3


def test_a_booking_of_a_process_that_died_does_not_count(fake_wisp, tmp_path):
    fake_wisp.set_scenario(start="hang")
    wisp = str(fake_wisp.path)
    hung = started_once(
        fake_wisp,
        *("start", "first", "--set", "max_vms=1"),
        ready=lambda: any(call[0] == "start" for call in fake_wisp.calls()),
    )
    refused = run_cli("start", "second", "--set", "max_vms=1", "--wisp", wisp)
    assert refused.returncode == 2
    assert "quota reached" in refused.stderr
    hung.kill()  # dies without a word: its booking must not hold the slot
    hung.wait()
    fake_wisp.kill_leftovers()
    fake_wisp.set_scenario()
    assert run_cli("start", "second", "--set", "max_vms=1", "--wisp", wisp).returncode == 0


def test_a_start_that_times_out_but_made_its_sprite_kills_it_and_says_so(fake_wisp):
    fake_wisp.set_scenario(start="linger")
    done = run_cli(
        "start", "stuck", "--set", "timeout=0.5", "--set", "kill_grace=0.2",
        "--wisp", str(fake_wisp.path),
    )  # fmt: skip
    assert done.returncode == 4
    assert "timed out" in done.stderr
    assert "'stuck' had started all the same and was killed" in done.stderr
    assert fake_wisp.fleet() == []


def test_sigterm_to_a_start_stops_it_and_leaves_no_sprite(fake_wisp):
    fake_wisp.set_scenario(start="linger")
    starting = started_once(
        fake_wisp,
        *("start", "halted", "--set", "kill_grace=0.2"),
        ready=lambda: any(sprite["name"] == "halted" for sprite in fake_wisp.fleet()),
    )
    starting.send_signal(signal.SIGTERM)
    out, err = starting.communicate(timeout=20)
    assert starting.returncode == 128 + signal.SIGTERM, err
    assert err.count("\n") == 1
    assert "was stopped before it finished" in err
    assert "had started all the same and was killed" in err
    assert fake_wisp.fleet() == []
    assert out == ""


def test_a_start_that_finishes_while_it_is_being_stopped_is_reported_done(fake_wisp):
    """SIGTERM reaches a start that then exits 0 in its grace: it is done, and says so."""
    fake_wisp.set_scenario(start="finish-on-term")
    starting = started_once(
        fake_wisp, "start", "late", ready=lambda: any(c[0] == "start" for c in fake_wisp.calls())
    )
    starting.send_signal(signal.SIGINT)
    out, err = starting.communicate(timeout=20)
    assert starting.returncode == 0, err
    assert out.startswith("started late")
    assert [sprite["name"] for sprite in fake_wisp.fleet()] == ["late"]
    assert json.loads((fake_wisp.home / "fleet.json").read_text())[0]["state"] == "running"
