"""``attach`` on a real terminal: the shell of the sandbox answers, and detaching returns."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import termios
import time

from tests.sandbox.conftest import PROVIDER
from tests.support.attach_pty import read_until

DETACH = b"\x02d"  # tmux's default prefix, then d


def spawn_on_pty(argv: list[str], env: dict[str, str]) -> tuple[int, int]:
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    return pid, fd


def test_attach_reaches_the_sandbox_shell_even_from_inside_tmux_and_detaches(sandboxes):
    sandboxes.start("term")
    env = {**sandboxes.env, "TMUX": "/tmp/some-other-tmux,1,0", "TERM": "xterm"}
    pid, fd = spawn_on_pty([*PROVIDER, "attach", "term"], env)
    try:
        time.sleep(0.3)
        os.write(fd, b"echo answer-$((6*7)) from $(hostname)\r")
        assert b"answer-42 from term" in read_until(fd, b"answer-42 from term")
        os.write(fd, DETACH)
        assert b"detached" in read_until(fd, b"detached")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        os.close(fd)
    assert sandboxes.record("term")["state"] == "running"


def test_attach_returns_when_the_sandbox_shell_exits(sandboxes):
    sandboxes.start("brief")
    pid, fd = spawn_on_pty([*PROVIDER, "attach", "brief"], {**sandboxes.env, "TERM": "xterm"})
    try:
        time.sleep(0.3)
        os.write(fd, b"exit\r")
        read_until(fd, b"exited", timeout=5)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        os.close(fd)
    assert sandboxes.record("brief")["state"] == "stopped"


def test_the_status_line_names_the_key_that_detaches(sandboxes):
    """The caller says which key it watches for; without it, tmux's own detach is named."""
    sandboxes.start("hint")
    for env, shown in (({"WRECKIT_DETACH_LABEL": "Ctrl+]"}, b"detach: Ctrl+]"), ({}, b"Ctrl-b d")):
        argv = [*PROVIDER, "attach", "hint"]
        pid, fd = spawn_on_pty(argv, {**sandboxes.env, **env, "TERM": "xterm"})
        try:
            assert shown in read_until(fd, shown)
            detach_and_wait(pid, fd)
        finally:
            os.close(fd)


def detach_and_wait(pid: int, fd: int) -> None:
    """Detach the tmux client on ``fd`` and reap it; keys typed before the client set its
    terminal to raw mode may be thrown away, so the detach is typed until it lands."""
    for _attempt in range(10):
        os.write(fd, DETACH)
        if b"detached" in read_until(fd, b"detached", timeout=1):
            break
    for _attempt in range(50):
        if os.waitpid(pid, os.WNOHANG)[0]:
            return
        time.sleep(0.1)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    raise AssertionError("the attached tmux client never detached")
