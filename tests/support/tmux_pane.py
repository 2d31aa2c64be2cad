"""A program in a detached tmux pane of its own: keys in, screen text out.

Shared by the end-to-end tests and the benchmarks; needs tmux and psutil.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]


class Pane:
    """A detached tmux session of its own running one command; keys in, screen text out."""

    def __init__(self, command: list[str], env: dict[str, str], size: tuple[int, int] = (120, 36)):
        self.dir = Path(tempfile.mkdtemp(prefix="wt-e2e-"))
        self.tmux = ["tmux", "-S", str(self.dir / "s"), "-f", "/dev/null"]
        clean_env = {key: value for key, value in os.environ.items() if key != "TMUX"}
        launch = ["env", *(f"{key}={value}" for key, value in env.items()), *command]
        subprocess.run(
            [*self.tmux, "new-session", "-d", "-x", str(size[0]), "-y", str(size[1]), *launch],
            check=True,
            env=clean_env,
            cwd=REPO,
        )

    def record(self, path: Path) -> None:
        """Append everything the program writes to its terminal from now on to ``path``."""
        subprocess.run([*self.tmux, "pipe-pane", "-o", f"cat >> {path}"], check=True)

    def send(self, *keys: str) -> None:
        subprocess.run([*self.tmux, "send-keys", *keys], check=True)

    def text(self) -> str:
        done = subprocess.run(
            [*self.tmux, "capture-pane", "-p"], capture_output=True, text=True, check=False
        )
        return done.stdout

    def title(self) -> str:
        """The title the program in the pane set (tmux keeps one per pane)."""
        return self._display("#{pane_title}")

    def resize(self, columns: int, rows: int) -> None:
        """Resize the pane's window, as a terminal emulator would (SIGWINCH to the program)."""
        subprocess.run(
            [*self.tmux, "resize-window", "-x", str(columns), "-y", str(rows)], check=True
        )

    def wait_for(
        self, condition: Callable[[str], object], timeout: float = 15.0, interval: float = 0.05
    ) -> str:
        """The screen once ``condition(screen)`` holds; fail after ``timeout`` seconds."""
        last = ""

        def matched() -> tuple[str] | None:
            nonlocal last
            last = self.text()
            return (last,) if condition(last) else None

        try:
            (screen,) = wait_until(matched, timeout, interval, what="the screen to match")
        except AssertionError:
            raise AssertionError(f"the screen never matched; it shows:\n{last}") from None
        return screen

    def pid(self) -> int:
        """The pid of the program in the pane."""
        return int(self._display("#{pane_pid}"))

    def _display(self, form: str) -> str:
        done = subprocess.run(
            [*self.tmux, "display-message", "-p", form], capture_output=True, text=True, check=True
        )
        return done.stdout.rstrip("\n")

    def child(self, word: str) -> psutil.Process:
        """The one process the pane's shell started whose command line holds ``word``."""
        (found,) = [p for p in psutil.Process(self.pid()).children() if word in p.cmdline()]
        return found

    def stop(self, grace: float = 5.0) -> None:
        """End the program in the pane and all it started (SIGTERM, then SIGKILL for what is
        left after ``grace`` seconds), then close the pane."""
        try:
            top = psutil.Process(self.pid())
            processes = [top, *top.children(recursive=True)]
        except (subprocess.CalledProcessError, ValueError, psutil.NoSuchProcess):
            processes = []  # it quit, and its pane went with it
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.terminate()
        deadline = time.monotonic() + grace
        while running := [process for process in processes if _running(process)]:
            if time.monotonic() > deadline:
                for process in running:
                    process.kill()
                break
            time.sleep(0.02)
        self.close()

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], check=False, capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def _running(process: psutil.Process) -> bool:
    """Whether ``process`` still runs (a zombie has ended)."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
