"""The process plumbing on small real shells: output cap, group kill, exit watch, pty start."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time

import pytest

from tests.support.waiting import wait_until
from wreckit_tui.errors import WispBadOutput, WispInterrupted, WispNotFound, WispTimeout
from wreckit_tui.processes import (
    STDERR_KEEP,
    Completed,
    _watch_exit,
    launch,
    run_process,
    spawn_on_pty,
)


def run(argv: list[str], **limits) -> Completed:
    settings = {"label": "sh", "timeout": 5.0, "grace": 0.2, "max_stdout": 1024, **limits}
    return asyncio.run(run_process(argv, **settings))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def wait_dead(pid: int, timeout: float = 1.0) -> None:
    wait_until(lambda: not alive(pid), timeout, interval=0.01, what=f"pid {pid} to end")


def test_a_finished_call_gives_its_status_stdout_and_stderr():
    done = run(["sh", "-c", "printf out; printf err >&2; exit 3"])
    assert (done.returncode, bytes(done.stdout), done.stderr) == (3, b"out", "err")


def test_stdout_over_the_cap_is_bad_output_and_the_writer_is_killed(tmp_path):
    pid_file = tmp_path / "pid"
    script = f"echo $$ > {pid_file}; while :; do printf 0123456789; done"
    started = time.monotonic()
    with pytest.raises(WispBadOutput, match="more than 1024 bytes"):
        run(["sh", "-c", script])
    assert time.monotonic() - started < 2
    wait_dead(int(pid_file.read_text()))


def test_only_the_end_of_a_long_stderr_is_kept():
    size = 3 * STDERR_KEEP
    done = run(["sh", "-c", f"head -c {size} /dev/zero | tr '\\0' x >&2; printf END >&2"])
    assert done.stderr.endswith("xEND")
    assert len(done.stderr) <= 2 * STDERR_KEEP


def test_a_timeout_kills_the_whole_group_of_a_hung_child(tmp_path):
    pids = tmp_path / "pids"
    script = (
        "trap '' TERM; "
        f"sh -c 'trap \"\" TERM; echo $$ >> {pids}; sleep 30' & "
        f"sh -c 'echo $$ >> {pids}; sleep 30' & "
        f"echo $$ >> {pids}; wait"
    )
    started = time.monotonic()
    with pytest.raises(WispTimeout):
        run(["sh", "-c", script], timeout=0.3, grace=0.1)
    assert time.monotonic() - started < 2
    family = [int(pid) for pid in pids.read_text().split()]
    assert len(family) == 3
    for pid in family:
        wait_dead(pid)


def test_a_stop_interrupts_the_call_and_kills_its_group(tmp_path):
    pid_file = tmp_path / "pid"

    async def stopped_soon() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.1, stop.set)
        await run_process(
            ["sh", "-c", f"sleep 30 & echo $! > {pid_file}; wait"],
            label="sh",
            timeout=5,
            grace=0.2,
            max_stdout=1024,
            stop=stop,
        )

    with pytest.raises(WispInterrupted):
        asyncio.run(stopped_soon())
    wait_dead(int(pid_file.read_text()))


def test_a_grandchild_holding_stdout_does_not_hold_the_call_and_is_killed():
    started = time.monotonic()
    done = run(["sh", "-c", "sleep 30 & echo $!"])
    assert time.monotonic() - started < 2
    wait_dead(int(done.stdout))


def test_the_exit_watch_fires_when_the_child_exits():
    async def watch() -> float:
        loop = asyncio.get_running_loop()
        exited = asyncio.Event()
        proc = subprocess.Popen(["sh", "-c", "sleep 0.05"])
        started = loop.time()
        pidfd = _watch_exit(loop, proc.pid, exited.set)
        try:
            await asyncio.wait_for(exited.wait(), 2)
        finally:
            if pidfd is not None:
                loop.remove_reader(pidfd)
                os.close(pidfd)
            proc.wait()
        return loop.time() - started

    assert asyncio.run(watch()) < 1


def test_a_program_that_cannot_run_is_wisp_not_found(tmp_path):
    with pytest.raises(WispNotFound):
        launch([str(tmp_path / "missing")])
    with pytest.raises(WispNotFound):
        run([str(tmp_path)])


def test_spawn_on_pty_gives_the_child_the_pty_as_its_terminal():
    child = spawn_on_pty(
        [
            "sh",
            "-c",
            "echo $$; cut -d' ' -f6 /proc/$$/stat; stty size; echo $EXTRA ${DROPPED:-gone}",
        ],
        (7, 33),
        extra_env={"EXTRA": "here", "DROPPED": "kept"},
        drop_env={"DROPPED"},
    )
    try:
        assert child.process.wait(timeout=5) == 0
        output = b""
        while chunk := _read(child.master_fd):
            output += chunk
    finally:
        os.close(child.master_fd)
        child.ended()
    pid, session, *rest = output.split()
    assert int(pid) == int(session) == child.pid  # a session of its own
    assert rest == [b"7", b"33", b"here", b"gone"]


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 4096)
    except OSError:  # EIO once the child's side is closed
        return b""
