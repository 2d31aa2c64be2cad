"""The provider's private tmux server: one socket per home, short enough for any home path.

Unix socket paths stop at 107 bytes, so the socket is not kept in the home but in a private
directory under /tmp, named by a hash of the home. Every tmux call runs without ``TMUX`` in its
environment (tmux refuses to nest otherwise) and without reading any tmux configuration.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import time

from wreckit_tui.contract import NESTING_VARIABLES
from wreckit_tui.errors import last_line
from wreckit_tui.pids import process_start
from wreckit_tui.sandbox.errors import SandboxError

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
        self.program = _which("tmux")

    def base_argv(self) -> list[str]:
        if not self.program:
            raise SandboxError("tmux not found on PATH; install tmux")
        return [self.program, "-f", "/dev/null", "-S", self.socket]

    def call(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.base_argv(), *args],
            env=without_tmux(dict(os.environ)),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=CALL_TIMEOUT,
            check=False,
            start_new_session=True,  # a signal to the caller's group never cuts a call short
            preexec_fn=_unblock_signals if _blocked_signals() else None,  # else a faster vfork
        )

    def new_session(
        self, name: str, cwd: str, argv: list[str], window_command: str, *, keep: bool = False
    ) -> int:
        """Start a detached session running ``argv``; returns the pid of its first pane.

        ``window_command`` becomes the session's ``default-command``, so that a window the user
        opens later runs inside the sandbox too. With ``keep`` the pane stays when its program
        ends, its screen and exit status readable until the session is killed (so it is the
        server's default before the session exists: a program may end at once).
        """
        _ensure_private_dir(socket_dir())
        target = ["-t", f"={name}:"]
        done = self.call(
            *("start-server", ";", "set-option", "-g", "remain-on-exit", "on", ";"),
            *("new-session", "-d", "-s", name, "-c", cwd, "-P", "-F", "#{pane_pid}"),
            *("--", *argv),
            *(";", "set-option", *target, "default-command", window_command),
            *(";", "set-option", *target, "remain-on-exit", "on" if keep else "off"),
        )
        if done.returncode != 0:
            raise SandboxError(
                f"tmux could not start the session: {last_line(done.stderr) or 'no message'}"
            )
        return int(done.stdout.split()[0])

    def sessions(self) -> dict[str, int]:
        """Session name -> tmux server pid; empty when no server runs on the socket."""
        return {name: pane.server_pid for name, pane in self.panes().items()}

    def panes(self, *, terminal: bool = True) -> dict[str, Pane]:
        """Session name -> its first pane (the sandbox's main program), from one tmux call;
        empty when no server runs on the socket. Without ``terminal``, tmux is not asked for
        when the pane last printed nor its title."""
        if not (self.program and os.path.exists(self.socket)):
            return {}
        done = self.call("list-panes", "-a", "-F", PANE_FORMAT if terminal else PANE_FORMAT_V1)
        if done.returncode != 0:
            return {}
        panes: dict[str, Pane] = {}
        for line in done.stdout.splitlines():
            pane = Pane.parse(line)
            if pane and (pane.name not in panes or pane.order < panes[pane.name].order):
                panes[pane.name] = pane
        return panes

    def capture(self, name: str, *, ansi: bool, history: bool) -> str:
        """The text of the session's first pane: its screen, or with ``history`` all the lines
        it keeps; with ``ansi`` its colours and attributes as escape sequences."""
        flags = ["-p", "-J", *(["-e"] if ansi else []), *(["-S", "-"] if history else [])]
        done = self.call("capture-pane", *flags, "-t", f"={name}:")
        if done.returncode != 0:
            raise SandboxError(f"tmux could not capture the screen: {last_line(done.stderr)}")
        return done.stdout

    def send(self, name: str, text: str, *, enter: bool) -> None:
        """Type ``text`` into the session's first pane as literal keys, then Enter."""
        target = ["-t", f"={name}:"]
        keys = [*(["send-keys", *target, "-l", "--", text] if text else [])]
        if enter:
            keys += [*([";"] if keys else []), "send-keys", *target, "Enter"]
        if not keys:
            return
        done = self.call(*keys)
        if done.returncode != 0:
            raise SandboxError(f"tmux could not send the keys: {last_line(done.stderr)}")

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

    def attach_argv(self, name: str, status: str) -> list[str]:
        """Attach to ``name``, its status line showing ``status`` on the right."""
        text = " " + status.replace("#", "##") + " "  # literal text, not a tmux format
        show = ["set-option", "-t", f"={name}:", "status-right", text]
        return [*self.base_argv(), *show, ";", "attach-session", "-t", f"={name}"]


_PANE_STATE = ["#{session_name}", "#{pid}", "#{window_index}", "#{pane_index}", "#{pane_dead}"]
PANE_FORMAT = "\t".join([*_PANE_STATE, "#{window_activity}", "#{pane_title}"])
PANE_FORMAT_V1 = "\t".join([*_PANE_STATE, "", ""])
"""What the state alone needs (contract v1): the terminal's fields left empty."""


class Pane:
    """What tmux says of a session's pane: whether its program ended (its terminal closed), when
    it last printed (seconds since the epoch) and the title it set. (tmux's own record of the
    exit status is not used: it sometimes never learns it.) A plain class: ``dataclasses``
    would cost ``capture`` more to import than it takes."""

    __slots__ = ("activity", "dead", "name", "order", "server_pid", "title")

    def __init__(
        self,
        *,
        name: str,
        server_pid: int,
        order: tuple[int, int],
        dead: bool,
        activity: int | None,
        title: str,
    ) -> None:
        self.name, self.server_pid, self.order = name, server_pid, order
        self.dead, self.activity, self.title = dead, activity, title

    @classmethod
    def parse(cls, line: str) -> Pane | None:
        fields = line.split("\t", 6)
        if len(fields) != 7 or not all(field.isdigit() for field in fields[1:4]):
            return None
        name, server, window, pane, dead, activity, title = fields
        return cls(
            name=name,
            server_pid=int(server),
            order=(int(window), int(pane)),
            dead=dead == "1",
            activity=int(activity) if activity.isdigit() else None,
            title=title,
        )


def _which(program: str) -> str | None:
    """``program`` on PATH, as ``shutil.which`` finds it (shutil costs ``capture`` more to
    import than this lookup takes)."""
    for directory in os.get_exec_path():
        path = os.path.join(directory or ".", program)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _blocked_signals() -> bool:
    """Whether this thread holds back any signal now."""
    return bool(signal.pthread_sigmask(signal.SIG_BLOCK, ()))


def _unblock_signals() -> None:
    """In tmux, before it runs: no signal blocked. The caller may hold stop signals back while
    it calls tmux, and a server tmux starts (and every pane) would inherit that."""
    signal.pthread_sigmask(signal.SIG_SETMASK, ())


def _ensure_private_dir(path: str) -> None:
    """Create ``path`` as a directory only this user can enter, or refuse one that is not."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise SandboxError(f"{path} must be a directory owned by this user with mode 0700")
