"""The provider's private tmux server: one socket per home, short enough for any home path.

Unix socket paths stop at 107 bytes, so the socket is not kept in the home but in a private
directory under /tmp, named by a hash of the home. Every tmux call runs without ``TMUX`` in its
environment (tmux refuses to nest otherwise) and without reading any tmux configuration.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import subprocess
import time

from wreckit_tui.contract import NESTING_VARIABLES
from wreckit_tui.errors import last_line
from wreckit_tui.sandbox import STOP_SIGNALS
from wreckit_tui.sandbox.errors import SandboxError
from wreckit_tui.sandbox.store import process_start

SOCKET_ROOT = "/tmp"
CALL_TIMEOUT = 10.0
SERVER_EXIT_TIMEOUT = 2.0


def socket_dir() -> str:
    return os.path.join(SOCKET_ROOT, f"wreckit-sandbox-{os.getuid()}")


def socket_path(home_key: str) -> str:
    """The socket of the tmux server of the home whose key is ``home_key``."""
    return os.path.join(socket_dir(), home_key)


def without_tmux(env: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in env.items() if key not in NESTING_VARIABLES}


class Tmux:
    """The tmux client for one private socket."""

    def __init__(self, socket: str) -> None:
        self.socket = socket
        self.program = shutil.which("tmux")

    def base_argv(self) -> list[str]:
        if not self.program:
            raise SandboxError("tmux not found on PATH; install tmux")
        return [self.program, "-f", "/dev/null", "-S", self.socket]

    def call(self, *args: str, whole: bool = False) -> subprocess.CompletedProcess[str]:
        """Run tmux with ``args``. ``whole``: in a session of its own and with the stop signals
        unblocked, so that a signal to the caller's group (which may hold them back meanwhile)
        cannot cut it off halfway, and a server it starts reacts to them as usual."""
        return subprocess.run(
            [*self.base_argv(), *args],
            env=without_tmux(dict(os.environ)),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=CALL_TIMEOUT,
            check=False,
            start_new_session=whole,
            preexec_fn=_unblock_stop_signals if whole else None,
        )

    def new_session(self, name: str, cwd: str, argv: list[str], window_command: str) -> int:
        """Start a detached session running ``argv``; returns the pid of its first pane.

        ``window_command`` becomes the session's ``default-command``, so that a window the user
        opens later runs inside the sandbox too.
        """
        _ensure_private_dir(socket_dir())
        done = self.call(
            *("new-session", "-d", "-s", name, "-c", cwd, "-P", "-F", "#{pane_pid}"),
            *("--", *argv),
            ";",
            *("set-option", "-t", f"={name}:", "default-command", window_command),
            whole=True,
        )
        if done.returncode != 0:
            raise SandboxError(
                f"tmux could not start the session: {last_line(done.stderr) or 'no message'}"
            )
        return int(done.stdout.split()[0])

    def sessions(self) -> dict[str, int]:
        """Session name -> tmux server pid; empty when no server runs on the socket."""
        if not (self.program and os.path.exists(self.socket)):
            return {}
        done = self.call("list-sessions", "-F", "#{session_name}\t#{pid}")
        if done.returncode != 0:
            return {}
        pairs = (line.split("\t") for line in done.stdout.splitlines() if "\t" in line)
        return {name: int(pid) for name, pid in pairs}

    def kill_session(self, name: str) -> None:
        """Kill the session ``name`` if it exists; stop the server if no session is left."""
        if not self.program:
            return
        server_pid = self.sessions().get(name)
        self.call("kill-session", "-t", f"={name}")
        if not self.sessions():
            self.stop_server(server_pid)

    def stop_server(self, server_pid: int | None) -> None:
        """Stop the server, wait for it to exit and delete its socket (tmux leaves it behind)."""
        started = process_start(server_pid) if server_pid else None
        self.call("kill-server")
        deadline = time.monotonic() + SERVER_EXIT_TIMEOUT
        while started and process_start(server_pid) == started and time.monotonic() < deadline:
            time.sleep(0.005)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket)

    def attach_argv(self, name: str) -> list[str]:
        return [*self.base_argv(), "attach-session", "-t", f"={name}"]


def _unblock_stop_signals() -> None:
    """In the child, before tmux runs: the caller's held-back signals are not tmux's."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def _ensure_private_dir(path: str) -> None:
    """Create ``path`` as a directory only this user can enter, or refuse one that is not."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise SandboxError(f"{path} must be a directory owned by this user with mode 0700")
