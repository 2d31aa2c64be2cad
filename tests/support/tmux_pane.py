"""A program in a tmux pane on a server of its own: keys in, screen text out.

Shared by the end-to-end tests (through the ``tmux_pane`` fixture) and the benchmarks; needs
tmux and psutil.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

import psutil

from tests.support.processes import command_line
from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]


class TmuxPane:
    """``command`` in a detached tmux session of ``size`` (columns, rows), with ``env`` added,
    on a tmux server of its own (its socket in a new temp dir). :meth:`stop` or :meth:`close`
    (or leaving a ``with`` block) ends its server by that socket, and by pid if need be."""

    def __init__(
        self,
        command: Sequence[str],
        env: Mapping[str, str] | None = None,
        size: tuple[int, int] = (120, 36),
        cwd: Path = REPO,
    ) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="wt-tmux-"))
        self.socket = self.dir / "s"
        self.tmux = ["tmux", "-S", str(self.socket), "-f", "/dev/null"]
        self.server: psutil.Process | None = None
        self._closed = False
        clean_env = {key: value for key, value in os.environ.items() if key != "TMUX"}
        launch = ["env", *(f"{key}={value}" for key, value in (env or {}).items()), *command]
        try:
            subprocess.run(
                [*self.tmux, "new-session", "-d", "-x", str(size[0]), "-y", str(size[1]), *launch],
                check=True,
                env=clean_env,
                cwd=cwd,
            )
            self.server = psutil.Process(int(self._display("#{pid}")))
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> TmuxPane:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def record(self, path: Path) -> None:
        """Append everything the program writes to its terminal from now on to ``path``."""
        subprocess.run([*self.tmux, "pipe-pane", "-o", f"cat >> {path}"], check=True)

    def send(self, *keys: str) -> None:
        """``tmux send-keys KEYS``: key names (``Enter``, ``C-c``), or text after ``-l``."""
        subprocess.run([*self.tmux, "send-keys", *keys], check=True)

    def text(self) -> str:
        """The screen as text, one line per row ("" once the pane is gone)."""
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

    def wait_for_text(self, text: str, timeout: float = 15.0) -> str:
        """The screen once it shows ``text``; fail after ``timeout`` seconds."""
        return self.wait_for(lambda screen: text in screen, timeout)

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
        (found,) = [p for p in psutil.Process(self.pid()).children() if word in command_line(p)]
        return found

    def stop(self, grace: float = 5.0) -> None:
        """End the program in the pane and all it started (SIGTERM, then SIGKILL for what is
        left after ``grace`` seconds), then :meth:`close`."""
        try:
            top = psutil.Process(self.pid())
            processes = [top, *top.children(recursive=True)]
        except (subprocess.CalledProcessError, ValueError, psutil.NoSuchProcess):
            processes = []  # it quit, and its pane went with it (or the server is gone)
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.terminate()
        deadline = time.monotonic() + grace
        while running := [process for process in processes if _running(process)]:
            if time.monotonic() > deadline:
                for process in running:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        process.kill()
                break
            time.sleep(0.02)
        self.close()

    def close(self) -> None:
        """``kill-server`` on this pane's own socket (SIGKILL to its server's pid should it
        linger), then remove the socket's directory. Safe to call again."""
        if self._closed:
            return
        self._closed = True
        subprocess.run([*self.tmux, "kill-server"], check=False, capture_output=True)
        if self.server is not None:
            try:
                self.server.wait(5)
            except psutil.TimeoutExpired:
                self.server.kill()  # psutil checks it is still the same process
            except psutil.NoSuchProcess:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


def _running(process: psutil.Process) -> bool:
    """Whether ``process`` still runs (a zombie has ended)."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
