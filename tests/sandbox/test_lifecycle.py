"""Start, list and kill as a user sees them: real tmux, real bubblewrap, real processes."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.sandbox.conftest import SANDBOX_PYTHON, alive
from tests.support.waiting import wait_until
from wreckit_tui.sandbox import listing
from wreckit_tui.sandbox.store import Home
from wreckit_tui.sandbox.tmux import Tmux

LIST_FIELDS = {
    "name": str,
    "state": str,
    "cpus": int,
    "memory": str,
    "cpu_percent": float,
    "memory_used": int,
    "pid": int,
    "created_at": str,
    "isolation": str,
}


def test_a_started_sandbox_is_listed_running_with_every_field(sandboxes):
    started = sandboxes.start("alpha", "--memory", "256MiB", "--cpus", "2")
    record = sandboxes.record("alpha")
    for field, kind in LIST_FIELDS.items():
        assert isinstance(record[field], kind), (field, record[field])
    assert record["state"] == "running"
    assert (record["cpus"], record["memory"]) == (2, "256MiB")
    assert record["isolation"] == "bwrap"
    assert record["pid"] == started["pid"]
    assert alive(record["pid"])
    assert record["created_at"].endswith("Z")
    assert record["memory_used"] > 0
    assert record["limits"]["memory"] in {"cgroup2", "cgroup1", "rlimit"}
    assert record["limits"]["cpus"] in {"cgroup2", "cgroup1", "affinity"}


def test_start_of_an_existing_name_fails_and_says_it_exists(sandboxes):
    sandboxes.start("alpha")
    done = sandboxes.run("start", "alpha")
    assert done.returncode == 1
    assert "sandbox 'alpha' already exists" in done.stderr
    assert [record["name"] for record in sandboxes.list()] == ["alpha"]


def test_of_concurrent_starts_of_one_name_exactly_one_wins(sandboxes):
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: sandboxes.run("start", "race"), range(4)))
    winners = [result for result in results if result.returncode == 0]
    losers = [result for result in results if result.returncode != 0]
    assert len(winners) == 1, [result.stderr for result in results]
    assert all("already exists" in result.stderr for result in losers)
    assert [(r["name"], r["state"]) for r in sandboxes.list()] == [("race", "running")]


def test_concurrent_starts_of_different_names_share_one_tmux_server(sandboxes):
    names = ["one", "two", "three"]
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda name: sandboxes.run("start", name), names))
    assert [result.returncode for result in results] == [0, 0, 0], [r.stderr for r in results]
    assert {r["name"]: r["state"] for r in sandboxes.list()} == dict.fromkeys(names, "running")


@pytest.mark.parametrize("cgroups", ["on", "off"])
def test_kill_ends_every_process_and_leaves_nothing_behind(make_home, cgroups):
    home = make_home(WRECKIT_SANDBOX_CGROUPS=cgroups)
    home.start("doomed")
    server = home.server_pid()
    background = home.exec("doomed", "sh", "-c", "sleep 300 > /dev/null 2>&1 & echo started")
    assert background.stdout.strip() == "started"
    foreground = home.popen("exec", "doomed", "--", "sleep", "300")
    wait_until(lambda: len(home.sandbox_pids("doomed")) >= 6)
    pids = home.sandbox_pids("doomed")

    home.kill("doomed")

    assert foreground.wait(timeout=10) != 0
    assert [pid for pid in pids | {server} if alive(pid)] == []
    assert home.leftovers() == []
    assert home.list() == []


def test_killing_one_sandbox_leaves_the_others_running(sandboxes):
    sandboxes.start("keep")
    sandboxes.start("drop")
    sandboxes.kill("drop")
    assert [(r["name"], r["state"]) for r in sandboxes.list()] == [("keep", "running")]
    assert sandboxes.exec("keep", "true").returncode == 0
    assert os.path.exists(sandboxes.socket)


def test_a_session_killed_from_outside_shows_as_stopped_and_kill_cleans_it_up(sandboxes):
    sandboxes.start("victim")
    pid = sandboxes.record("victim")["pid"]
    env = {key: value for key, value in os.environ.items() if key != "TMUX"}
    subprocess.run(
        ["tmux", "-S", sandboxes.socket, "kill-session", "-t", "=victim"], env=env, check=True
    )
    wait_until(lambda: not alive(pid))
    record = sandboxes.record("victim")
    assert record["state"] == "stopped"
    assert record["pid"] is None
    for command in (["exec", "victim", "--", "true"], ["attach", "victim"]):
        done = sandboxes.run(*command)
        assert done.returncode != 0
        assert "is not running" in done.stderr
    sandboxes.kill("victim")
    assert sandboxes.list() == []


def test_a_dead_tmux_server_is_no_crash_and_the_next_start_brings_a_new_one(sandboxes):
    sandboxes.start("orphan")
    env = {key: value for key, value in os.environ.items() if key != "TMUX"}
    subprocess.run(["tmux", "-S", sandboxes.socket, "kill-server"], env=env, check=True)
    wait_until(lambda: sandboxes.record("orphan")["state"] == "stopped")
    sandboxes.start("successor")
    assert sandboxes.record("successor")["state"] == "running"
    sandboxes.kill("orphan")
    assert [(r["name"], r["state"]) for r in sandboxes.list()] == [("successor", "running")]


def test_a_home_too_deep_for_a_unix_socket_still_works(make_home):
    home = make_home("d" * 60 + "/" + "e" * 60 + "/home")
    assert len(str(home.path)) > 107
    home.start("deep")
    assert home.exec("deep", "pwd").stdout.strip() == str(home.path / "deep" / "workspace")
    assert len(home.socket) < 107


def test_start_prints_the_new_sandbox_as_json(sandboxes):
    done = sandboxes.run("start", "shown")
    assert done.returncode == 0
    printed = json.loads(done.stdout)
    assert printed["name"] == "shown"
    assert printed["state"] == "running"


def test_start_takes_well_under_a_second(sandboxes):
    began = time.monotonic()
    sandboxes.start("quick")
    assert time.monotonic() - began < 1.0


DETACHED = (
    "import os, time\n"
    "data = b'x' * (200 << 20)\n"
    "open('holder.tmp', 'w').write(str(os.getpid()))\n"
    "os.rename('holder.tmp', 'holder.pid')\n"
    "time.sleep(60)\n"
)


def test_without_bwrap_or_cgroups_a_detached_process_counts_and_dies_with_kill(make_home):
    home = make_home(WRECKIT_SANDBOX_BWRAP="none", WRECKIT_SANDBOX_CGROUPS="off")
    home.start("loose", "--memory", "1GiB")
    before = home.record("loose")["memory_used"]
    detach = 'setsid "$0" -c "$1" > /dev/null 2>&1 < /dev/null & echo detached'
    done = home.exec("loose", "sh", "-c", detach, SANDBOX_PYTHON, DETACHED)
    assert done.stdout == "detached\n"
    pid_file = home.path / "loose" / "workspace" / "holder.pid"
    wait_until(pid_file.exists, timeout=10)
    holder = int(pid_file.read_text())
    wait_until(lambda: holder not in home.sandbox_pids("loose"))

    during = home.record("loose")["memory_used"]
    home.kill("loose")

    assert before < 50
    assert during >= before + 200
    wait_until(lambda: not alive(holder))
    assert home.list() == []


def _sandbox_dir_shows(stage: str, path: Path) -> bool:
    if stage == "claimed":
        return path.is_dir()
    if stage == "environment written":
        return (path / "env").exists()
    return (path / "bwrap.json").exists() or (path / "ready").exists()


@pytest.mark.parametrize("plain", [False, True], ids=["bwrap-cgroups", "plain"])
@pytest.mark.parametrize("stage", ["claimed", "environment written", "shell starting"])
def test_a_start_stopped_by_sigterm_midway_leaves_nothing_half_started(make_home, plain, stage):
    env = {"WRECKIT_SANDBOX_BWRAP": "none", "WRECKIT_SANDBOX_CGROUPS": "off"} if plain else {}
    home = make_home(**env)
    landed = 0
    for attempt in range(20):
        name = f"cut{attempt}"
        starting = home.popen("start", name, new_session=True)
        while starting.poll() is None and not _sandbox_dir_shows(stage, home.path / name):
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(starting.pid, signal.SIGTERM)
        _out, err = starting.communicate(timeout=15)
        assert starting.returncode in {0, 128 + signal.SIGTERM}, err
        assert "Traceback" not in err
        landed += starting.returncode != 0

        states = {record["name"]: record["state"] for record in home.list()}
        assert states in ({}, {name: "running"})
        assert list(home.path.glob("*/env")) == []
        if states:
            assert home.exec(name, "true").returncode == 0
            home.kill(name)
        assert home.server_pid() is None
        assert home.leftovers() == []
        if landed:
            break
    assert landed, f"no SIGTERM landed while start was at {stage!r}"


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGINT], ids=["SIGHUP", "SIGINT"])
def test_sighup_and_sigint_stop_a_start_like_sigterm_and_exit_128_plus_it(sandboxes, signum):
    starting = sandboxes.popen("start", "hung", new_session=True)
    while starting.poll() is None and not (sandboxes.path / "hung" / "env").exists():
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(starting.pid, signum)
    _out, err = starting.communicate(timeout=15)
    assert starting.returncode in {0, 128 + signum}, err
    assert "Traceback" not in err
    if starting.returncode:
        assert sandboxes.list() == []
        assert sandboxes.leftovers() == []


def test_a_start_that_died_without_cleaning_up_shows_as_error_and_kill_removes_it(sandboxes):
    sandboxes.start("alive")
    dead = sandboxes.path / "dead"
    (dead / "workspace").mkdir(parents=True)
    (dead / "sandbox.json").write_text(json.dumps({"id": "0", "name": "dead"}))
    lock = os.open(dead / ".lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert sandboxes.record("dead")["state"] == "starting"
    finally:
        os.close(lock)
    assert sandboxes.record("dead")["state"] == "error"
    sandboxes.kill("dead")
    assert [(r["name"], r["state"]) for r in sandboxes.list()] == [("alive", "running")]


def test_a_start_killed_before_it_wrote_metadata_shows_as_error_and_kill_removes_it(sandboxes):
    code = (
        "import os, signal\n"
        "from wreckit_tui.sandbox import cli, store\n"
        "store.Home.write_meta = lambda *_: os.kill(os.getpid(), signal.SIGKILL)\n"
        "cli.main(['start', 'dead'])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=sandboxes.env, check=False)
    assert done.returncode == -signal.SIGKILL
    assert not (sandboxes.path / "dead" / "sandbox.json").exists()
    assert [(r["name"], r["state"]) for r in sandboxes.list()] == [("dead", "error")]
    sandboxes.kill("dead")
    assert sandboxes.list() == []


@pytest.mark.parametrize("read", ["before the first write", "before the pid"])
def test_a_start_that_ends_while_list_runs_is_listed_running_not_error(sandboxes, read):
    """List reads every sandbox's metadata first and looks at the locks later: a start that
    held its lock may have finished in between. Here it has (its metadata on disk has the pid,
    its lock is free) while what list read first was from before."""
    sandboxes.start("late")
    meta = sandboxes.meta("late")
    read_early = {} if read == "before the first write" else {"name": "late", "id": meta["id"]}
    home = Home(str(sandboxes.path))
    panes = Tmux(sandboxes.socket).panes()
    state, fresh = listing.state_of(home, "late", read_early, panes)
    assert (state, fresh["pid"]) == ("running", meta["pid"])


def test_concurrent_lists_never_show_a_start_that_succeeds_as_error(sandboxes):
    names = [f"busy{index}" for index in range(12)]
    starting = threading.Event()
    starting.set()

    def list_while_starting() -> set[str]:
        states: set[str] = set()
        while starting.is_set():
            states |= {record["state"] for record in sandboxes.list()}
        return states

    with ThreadPoolExecutor(max_workers=3) as listers, ThreadPoolExecutor(max_workers=4) as pool:
        listings = [listers.submit(list_while_starting) for _ in range(3)]
        results = list(pool.map(lambda name: sandboxes.run("start", name), names))
        starting.clear()
        seen = set().union(*(listing.result() for listing in listings))
    assert [result.returncode for result in results] == [0] * len(names)
    assert seen <= {"starting", "running"}, seen
    assert {record["state"] for record in sandboxes.list()} == {"running"}


def test_a_stopped_sandbox_starts_again_with_its_workspace_and_user(sandboxes):
    first = sandboxes.start("again", "--memory", "256MiB")
    sandboxes.exec("again", "sh", "-c", "echo kept > note.txt")
    sandboxes.in_shell_keys("again", "exit")
    wait_until(lambda: sandboxes.record("again")["state"] == "stopped", timeout=10)
    assert sandboxes.exec("again", "true").returncode == 125

    second = sandboxes.start("again")

    record = sandboxes.record("again")
    assert (record["state"], record["memory"], record["uid"]) == ("running", "256MiB", first["uid"])
    assert (second["id"], second["created_at"]) == (first["id"], first["created_at"])
    assert second["pid"] != first["pid"]
    assert sandboxes.exec("again", "cat", "note.txt").stdout == "kept\n"


def test_starting_a_running_sandbox_again_fails_and_changes_nothing(sandboxes):
    first = sandboxes.start("busy")
    done = sandboxes.run("start", "busy")
    assert done.returncode == 1
    assert "already exists" in done.stderr
    assert sandboxes.record("busy")["pid"] == first["pid"]


def test_a_stopped_sandbox_starts_again_as_it_was_or_not_at_all(sandboxes):
    sandboxes.start("same", "--cpus", "1")
    sandboxes.in_shell_keys("same", "exit")
    wait_until(lambda: sandboxes.record("same")["state"] == "stopped", timeout=10)
    refused = sandboxes.run("start", "same", "--cpus", "2", "--memory", "1GiB")
    assert refused.returncode == 2
    assert "leave out --memory, --cpus" in refused.stderr
    assert sandboxes.record("same")["state"] == "stopped"
    sandboxes.start("same", "--cpus", "1")
    assert sandboxes.record("same")["state"] == "running"


def test_a_start_again_cut_short_leaves_the_sandbox_stopped_with_its_workspace(sandboxes):
    sandboxes.start("fragile")
    sandboxes.exec("fragile", "sh", "-c", "echo kept > note.txt")
    landed = False
    for _attempt in range(10):
        sandboxes.in_shell_keys("fragile", "exit")
        wait_until(lambda: sandboxes.record("fragile")["state"] == "stopped", timeout=10)
        starting = sandboxes.popen("start", "fragile", new_session=True)
        while starting.poll() is None and not (sandboxes.path / "fragile" / "env").exists():
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(starting.pid, signal.SIGTERM)
        starting.communicate(timeout=15)
        state = sandboxes.record("fragile")["state"]
        if starting.returncode:
            assert state == "stopped"
            landed = True
            break
        assert state == "running"
    assert landed
    assert (sandboxes.path / "fragile" / "workspace" / "note.txt").read_text() == "kept\n"
    sandboxes.start("fragile")
    assert sandboxes.exec("fragile", "cat", "note.txt").stdout == "kept\n"
