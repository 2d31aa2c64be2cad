"""The provider's operations on one home: start (and start again), kill, exec and attach.

``list`` is :mod:`wreckit_tui.sandbox.listing`; which processes belong to a sandbox is
:mod:`wreckit_tui.sandbox.membership`; how a sandbox is isolated is
:mod:`wreckit_tui.sandbox.isolation`.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from wreckit_tui.pids import process_start
from wreckit_tui.sandbox import PROG, isolation, limits, membership, metrics, signals
from wreckit_tui.sandbox.errors import (
    AlreadyExists,
    CannotRun,
    InvalidRequest,
    NotFound,
    NotRunning,
    SandboxError,
)
from wreckit_tui.sandbox.listing import list_sandboxes
from wreckit_tui.sandbox.spec import (
    DEFAULT_CPUS,
    DEFAULT_MEMORY,
    DEFAULT_PIDS,
    check_cpus,
    check_name,
    check_pids,
    memory_mib,
)
from wreckit_tui.sandbox.store import (
    BWRAP_INFO,
    ENV_FILE,
    EXECS,
    EXIT_STATUS,
    HOME_ENV,
    READY,
    ROOT_HOME,
    Home,
    Meta,
    machine_root,
    read_json,
)
from wreckit_tui.sandbox.tmux import Tmux, socket_path, without_tmux

READY_TIMEOUT = 10.0
EXEC_FAILED = 125
"""``exec``'s status when the provider itself could not run the command."""
CAPABILITIES = {
    "contract": "1.1",
    "commands": ["exec", "capture", "send", "resume", "start-command"],
    "fields": ["command", "exit_code", "activity_at", "title"],
}
"""What ``capabilities --json`` announces: the wisp contract v1.1 commands the provider has."""
RUN_KEYS = ("pid", "pid_start", "namespaces", "ns_start", "limits", "cpu_list")
"""Metadata of one run of a sandbox, replaced when it starts again."""


@dataclass(frozen=True)
class Request:
    """What ``start`` was asked for; a flag left out is ``None``."""

    memory: str | None = None
    cpus: str | None = None
    pids: str | None = None
    network: bool | None = None
    command: list[str] | None = None
    """The sandbox's main program instead of a shell (an agent, say)."""


class Provider:
    """Sandboxes under one home, each a session of the home's private tmux server."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self.tmux = Tmux(socket_path(home.key))

    def list(self) -> list[Meta]:
        return list_sandboxes(self.home, self.tmux)

    # -- start ------------------------------------------------------------------------------

    def start(self, name: str, request: Request) -> Meta:
        """Create and launch a sandbox, or start one that is not running again (its workspace
        kept); returns its metadata once its shell is isolated."""
        check_name(name)
        if os.path.isdir(self.home.dir(name)):
            return self._start_again(name, request)
        bwrap = isolation.find_bwrap()
        meta = self._new_meta(name, request, bwrap)
        with signals.held() as let_through, self.home.claim(name):
            try:
                with let_through():
                    self._make_workspace(meta)
                    self._launch(meta, bwrap)
                signals.commit(let_through)
            except BaseException:
                self._teardown(name, self.home.read_meta(name))
                raise
        return meta

    def _new_meta(self, name: str, request: Request, bwrap: str | None) -> Meta:
        """The metadata of a new sandbox, once its request is checked."""
        memory = request.memory or DEFAULT_MEMORY
        mib = memory_mib(memory)
        cpus = check_cpus(request.cpus or str(DEFAULT_CPUS))
        pids = check_pids(request.pids or str(DEFAULT_PIDS))
        network = request.network is not False
        if not network and not bwrap:
            raise InvalidRequest("--no-network needs bubblewrap (bwrap), which is not installed")
        meta: Meta = {
            "id": os.urandom(6).hex(),
            "name": name,
            "memory": memory,
            "memory_mib": mib,
            "cpus": cpus,
            "pids": pids,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "started": time.monotonic(),
            "isolation": isolation.ISOLATION_BWRAP if bwrap else isolation.ISOLATION_NONE,
            "network": network,
        }
        if request.command:
            meta["command"] = list(request.command)
        if bwrap and machine_root():
            identity = isolation.pick_identity(self.home.key + meta["id"], self._uids())
            _check_reachable(self.home.path, identity)
            meta.update(uid=identity.uid, gid=identity.gid)
        return meta

    def _uids(self) -> set[int]:
        """The uids the sandboxes of this home hold."""
        metas = (self.home.read_meta(name) or {} for name in self.home.names())
        return {meta["uid"] for meta in metas if isinstance(meta.get("uid"), int)}

    def _make_workspace(self, meta: Meta) -> None:
        """The sandbox's working directory, its own: only its identity may enter it."""
        workspace = self.home.workspace(meta["name"])
        os.mkdir(workspace, 0o700)
        if "uid" in meta:
            os.chown(workspace, meta["uid"], meta["gid"])

    def _start_again(self, name: str, request: Request) -> Meta:
        """Start a sandbox that is not running again, as it was, with its workspace."""
        with signals.held() as let_through, self.home.sandbox_lock(name, exclusive=True):
            meta = self.home.read_meta(name)
            if meta is None:
                raise NotRunning(name)
            pane = self.tmux.panes().get(name)
            if pane and not pane.dead:
                raise AlreadyExists(name)
            _refuse_changes(meta, request)
            meta.setdefault("pids", DEFAULT_PIDS)
            bwrap = isolation.find_bwrap() if meta.get("isolation") != "none" else None
            if meta.get("isolation") == isolation.ISOLATION_BWRAP and not bwrap:
                raise SandboxError(f"sandbox {name!r} needs bubblewrap, which is gone")
            last_run = {key: meta[key] for key in RUN_KEYS if key in meta}
            self._stop_remains(name, meta)
            for key in RUN_KEYS:
                meta.pop(key, None)
            for leaf in (BWRAP_INFO, READY, EXECS, ENV_FILE, EXIT_STATUS):  # the last run's
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.home.file(name, leaf))
            meta["started"] = time.monotonic()
            try:
                with let_through():
                    if not os.path.isdir(self.home.workspace(name)):
                        self._make_workspace(meta)
                    self._launch(meta, bwrap)
                signals.commit(let_through)
            except BaseException:
                self._stop_remains(name, self.home.read_meta(name) or meta)
                self.home.write_meta(name, {**meta, **_dead(last_run)})
                raise
        return meta

    def _launch(self, meta: Meta, bwrap: str | None) -> None:
        """Make the cgroups and the tmux session of ``meta``'s sandbox and wait until it is
        isolated; the metadata holds its pid once that is done."""
        name = meta["name"]
        self.home.write_meta(name, meta)
        limited, cpu_list = self._limit(meta)
        meta.update(limits=limited.to_json(), cpu_list=cpu_list)
        self.home.write_meta(name, meta)
        program = meta.get("command") or [isolation.find_shell(), "-i"]
        command = program if not bwrap else self._bwrap_argv(meta, bwrap, program)
        try:
            launcher = self._launcher(meta, limited, cpu_list, command, bwrap=bool(bwrap))
            with signals.held(), self.home.server_lock():  # a session is made whole or not
                pane = self.tmux.new_session(
                    name,
                    self.home.workspace(name),
                    launcher.argv(),
                    self._window_command(name),
                    keep="command" in meta,
                )
            started = {"pid": pane, "pid_start": process_start(pane)}
            trial = (launcher.prefix(), command) if bwrap else None
            namespaces = self._wait_ready(name, pane, trial)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.home.file(name, ENV_FILE))
        meta.update(started, namespaces=namespaces)
        if namespaces:
            meta["ns_start"] = process_start(namespaces["child-pid"])
        self.home.write_meta(name, meta)

    def _limit(self, meta: Meta) -> tuple[limits.Limits, list[int] | None]:
        """The sandbox's cgroups and limits, and the cores to pin it to where cgroups fail."""
        limited = limits.create(
            self.home.key, meta["name"], meta["memory_mib"], meta["cpus"], meta["pids"]
        )
        cpu_list = (
            limits.affinity(meta["name"], meta["cpus"]) if limited.cpus == "affinity" else None
        )
        if cpu_list and not shutil.which("taskset"):
            limited.cpus, cpu_list = "none", None
        return limited, cpu_list

    def _bwrap_argv(self, meta: Meta, bwrap: str, shell: list[str]) -> list[str]:
        name, identity = meta["name"], _identity(meta)
        workspace = self.home.workspace(name)
        binds = []
        if identity:
            binds = isolation.write_accounts(self.home.dir(name), identity, workspace, shell[0])
        return isolation.bwrap_argv(
            bwrap,
            name=name,
            home=self.home.path,
            workspace=workspace,
            network=meta.get("network", True),
            command=shell,
            binds=binds,
        )

    def _launcher(
        self,
        meta: Meta,
        limited: limits.Limits,
        cpu_list: list[int] | None,
        command: list[str],
        *,
        bwrap: bool,
    ) -> isolation.Launcher:
        """The pane's command, with the caller's environment written for it to read."""
        name = meta["name"]
        env_file = self.home.file(name, ENV_FILE)
        env = _env(meta, self.home.workspace(name))
        isolation.write_env_file(env_file, env)
        identity = _identity(meta)
        return isolation.Launcher(
            env_file=env_file,
            command=command,
            cgroup_procs=[os.path.join(path, "cgroup.procs") for path in limited.dirs],
            rlimit_kib=limits.rlimit_kib(meta["memory_mib"])
            if limited.memory == "rlimit"
            else None,
            nproc=meta["pids"] if identity or limited.pids == "rlimit" else None,
            cpu_list=cpu_list,
            identity=identity,
            ready_file=None if bwrap else self.home.file(name, READY),
            bwrap_info=self.home.file(name, BWRAP_INFO) if bwrap else None,
            status_file=self.home.file(name, EXIT_STATUS) if "command" in meta else None,
        )

    def _window_command(self, name: str) -> str:
        """What a new tmux window of the session runs: a shell inside the same sandbox."""
        shell = [isolation.find_shell(), "-i"]
        argv = [
            sys.executable,
            "-m",
            "wreckit_tui.sandbox",
            "exec",
            "--in-pane",
            name,
            "--",
            *shell,
        ]
        return shlex.join(["exec", "env", f"{HOME_ENV}={self.home.path}", *argv])

    def _wait_ready(self, name: str, pane: int, trial: tuple[list[str], list[str]] | None) -> dict:
        """Wait until the launcher joined the cgroups (and bubblewrap made the namespaces).

        Returns bubblewrap's report of the namespaces (empty without bubblewrap). ``trial`` is
        how bubblewrap was run, to find out why it failed.
        """
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if trial:
                info = _read_info(self.home.file(name, BWRAP_INFO))
                if info:
                    return info
            elif os.path.exists(self.home.file(name, READY)):
                return {}
            if process_start(pane) is None:
                raise SandboxError(_start_failure(trial))
            if time.monotonic() > deadline:
                raise SandboxError(f"sandbox {name!r} was not ready after {READY_TIMEOUT:g}s")
            time.sleep(0.002)

    # -- kill -------------------------------------------------------------------------------

    def kill(self, name: str) -> None:
        """End every process of the sandbox and its session, and delete its directory."""
        check_name(name)
        if not os.path.isdir(self.home.dir(name)):
            raise NotFound(name)
        with signals.held(), self.home.sandbox_lock(name, exclusive=True):
            if not os.path.isdir(self.home.dir(name)):
                raise NotFound(name)
            self._teardown(name, self.home.read_meta(name))

    def _teardown(self, name: str, meta: Meta | None) -> None:
        """Kill, clean up and delete whatever a sandbox left, whole or half started."""
        stuck = self._stop_remains(name, meta or {})
        self.home.remove(name)
        if stuck:
            raise SandboxError(f"could not remove cgroup {stuck[0]}: it still has processes")

    def _stop_remains(self, name: str, meta: Meta) -> list[str]:
        """End every process of a sandbox's last run, its session and its cgroups; returns the
        cgroups that could not be removed. Its directory stays."""
        recorded = limits.Limits.from_json(meta.get("limits") or {}).dirs
        dirs = list(dict.fromkeys([*recorded, *limits.existing_dirs(self.home.key, name)]))
        _kill_namespace(meta)
        limits.kill_members(dirs)
        if not dirs and meta:
            self._kill_untracked(meta)
        _wait_gone(membership.pane(meta) + membership.namespace_init(meta))
        with self.home.server_lock():
            self.tmux.kill_session(name)
        return limits.remove(dirs)

    def _kill_untracked(self, meta: Meta) -> None:
        """SIGKILL every process of a sandbox no cgroup tracks until none is left."""
        limits.kill_until_gone(
            lambda: membership.untracked_pids(
                self.home, meta, *metrics.process_table(markers="uid" not in meta)
            )
        )

    # -- exec and attach --------------------------------------------------------------------

    def exec(self, name: str, command: list[str], *, in_pane: bool = False) -> int:
        """Run ``command`` inside the sandbox as its shell runs: its namespaces, cgroups, limits
        and user, without capabilities. Returns its exit status (128 + N for signal N).

        The command runs in a session of its own, so it shares no controlling terminal with the
        caller (it cannot push keys into the caller's shell); this process waits for it and
        passes signals on. ``in_pane`` (a new window of the sandbox's own tmux session, whose
        terminal is the sandbox's) keeps the terminal and runs the command from this process.
        """
        check_name(name)
        if not command:
            raise InvalidRequest("exec needs a command: wreckit-sandbox exec NAME -- CMD...")
        with self.home.sandbox_lock(name, exclusive=False) as lock:
            meta = self._running_meta(name)
            env = _env(meta, self.home.workspace(name))
            sys.stdout.flush()
            sys.stderr.flush()
            if in_pane:
                return self._run_inside(meta, command, env, lock)
            child = os.fork()  # the child holds the lock too, until it is inside
            if child == 0:
                _in_child(lambda: self._run_inside(meta, command, env, lock, new_session=True))
        signals.forward_to(child)
        return _wait(child)

    def _run_inside(
        self,
        meta: Meta,
        command: list[str],
        env: dict[str, str],
        lock: int,
        *,
        new_session: bool = False,
    ) -> int:
        """Join the sandbox and take its user (root switches), enter it, run ``command`` in a
        child (the only way into a pid namespace) and return its status. Once inside, the
        sandbox's ``lock`` is let go: ``kill`` ends the command with the rest."""
        if new_session:
            os.setsid()
        self._join(meta)
        libc = isolation.load_libc()
        if "uid" in meta and machine_root():
            os.setgroups([])
            os.setresgid(meta["gid"], meta["gid"], meta["gid"])
            os.setresuid(meta["uid"], meta["uid"], meta["uid"])
        workspace = self.home.workspace(meta["name"])
        if meta.get("isolation") == isolation.ISOLATION_BWRAP:
            isolation.enter(libc, meta.get("namespaces") or {}, workspace)
        else:
            os.chdir(workspace)
        with contextlib.suppress(OSError):
            os.close(lock)
        program = os.fork()
        if program == 0:
            _in_child(lambda: _become(command, env))
        signals.ignore_forwarded()
        return _wait(program)

    def _join(self, meta: Meta) -> None:
        """Make this process part of the sandbox before it becomes the command."""
        import resource

        limited = limits.Limits.from_json(meta.get("limits") or {})
        limits.join(limited.dirs, os.getpid())
        if not limited.tracking:
            with open(self.home.file(meta["name"], EXECS), "a") as execs:
                execs.write(f"{os.getpid()} {process_start(os.getpid())}\n")
        if limited.memory == "rlimit":
            size = limits.rlimit_kib(meta["memory_mib"]) * 1024
            resource.setrlimit(resource.RLIMIT_AS, (size, size))
        if "pids" in meta and ("uid" in meta or limited.pids == "rlimit"):
            resource.setrlimit(resource.RLIMIT_NPROC, (meta["pids"], meta["pids"]))
        if meta.get("cpu_list"):
            os.sched_setaffinity(0, meta["cpu_list"])

    def capture(self, name: str, *, lines: int | None = None, ansi: bool = False) -> str:
        """The text on the sandbox's main terminal: its screen, or its last ``lines`` lines;
        with ``ansi`` its colours (SGR sequences) and nothing else. Readable as long as the
        sandbox's session is there, after its program ended too."""
        check_name(name)
        if lines is not None and lines < 1:
            raise InvalidRequest("--lines takes a whole number from 1")
        if name not in self.tmux.panes():
            if not os.path.isdir(self.home.dir(name)):
                raise NotFound(name)
            raise SandboxError(f"sandbox {name!r} has no terminal: it is not running")
        text = self.tmux.capture(name, ansi=ansi, history=lines is not None)
        kept = _screen_lines(text, ansi=ansi)
        return "".join(line + "\n" for line in (kept[-lines:] if lines else kept))

    def send(self, name: str, text: str, *, enter: bool = False) -> None:
        """Type ``text`` into the sandbox's main terminal as literal keys, then Enter."""
        check_name(name)
        self._running_meta(name)
        self.tmux.send(name, text, enter=enter)

    def attach(self, name: str) -> NoReturn:
        """Become ``tmux attach`` to the sandbox's session, on the caller's terminal.

        The session's status line names the key that detaches: ``WRECKIT_DETACH_LABEL`` when
        the caller says which one it watches for, else tmux's own.
        """
        check_name(name)
        self._running_meta(name)
        hint = os.environ.get("WRECKIT_DETACH_LABEL", "").strip() or "Ctrl-b d"
        argv = self.tmux.attach_argv(name, f"detach: {hint}")
        os.execve(argv[0], argv, without_tmux(dict(os.environ)))

    def _running_meta(self, name: str) -> Meta:
        meta = self.home.read_meta(name)
        if meta is None or "pid" not in meta:
            if not os.path.isdir(self.home.dir(name)):
                raise NotFound(name)
            raise NotRunning(name)
        if process_start(meta["pid"]) != meta.get("pid_start"):
            raise NotRunning(name)
        return meta


def _env(meta: Meta, workspace: str) -> dict[str, str]:
    own_user = "uid" in meta
    return isolation.sandbox_env(dict(os.environ), meta["name"], workspace, own_user=own_user)


DEAD_PANE = "Pane is dead ("
SGR = re.compile(r"\x1b\[[0-9;:]*m")
ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|.)")


def _screen_lines(text: str, *, ansi: bool) -> list[str]:
    """The lines of a captured screen without trailing blank ones or tmux's own note that the
    program ended; with ``ansi``, every escape sequence but colours and attributes removed."""
    lines = text.split("\n")
    if ansi:
        lines = [
            ESCAPE.sub(lambda seq: seq[0] if SGR.fullmatch(seq[0]) else "", line) for line in lines
        ]
    plain = [SGR.sub("", line) for line in lines]
    if plain and plain[-1] == "":
        lines, plain = lines[:-1], plain[:-1]
    if plain and plain[-1].startswith(DEAD_PANE):
        lines, plain = lines[:-1], plain[:-1]
    while plain and not plain[-1].strip():
        lines, plain = lines[:-1], plain[:-1]
    return lines


def _identity(meta: Meta) -> isolation.Identity | None:
    return isolation.Identity(meta["uid"], meta["gid"]) if "uid" in meta else None


def _check_reachable(home: str, identity: isolation.Identity) -> None:
    """Refuse a home the sandbox's own user could not pass through to its workspace."""
    blocked = isolation.unreachable_ancestor(os.path.dirname(home), identity)
    if blocked:
        raise SandboxError(
            f"sandboxes run as users of their own, who cannot pass through {blocked} to reach "
            f"their workspace in {home}; set {HOME_ENV} to a directory under ones anyone may "
            f"enter, such as {ROOT_HOME} (the default for root)"
        )


def _refuse_changes(meta: Meta, request: Request) -> None:
    """A sandbox starts again as it was: a flag that asks for something else is refused."""
    asked = {
        "--memory": (request.memory, meta.get("memory")),
        "--cpus": (request.cpus, str(meta.get("cpus"))),
        "--pids": (request.pids, str(meta.get("pids", DEFAULT_PIDS))),
        "--no-network": (request.network, meta.get("network", True)),
        "-- CMD": (request.command or None, meta.get("command")),
    }
    changed = [flag for flag, (given, kept) in asked.items() if given is not None and given != kept]
    if changed:
        raise InvalidRequest(
            f"sandbox {meta['name']!r} exists and starts again as it was: leave out "
            f"{', '.join(changed)}, or kill it first to start a new one"
        )


def _dead(last_run: Meta) -> Meta:
    """The metadata of a run that ended, for a start again that failed: it lists as stopped."""
    return {key: value for key, value in last_run.items() if key in {"pid", "pid_start"}}


def _become(command: list[str], env: dict[str, str]) -> NoReturn:
    """Become ``command``, looked up on the sandbox's PATH as a shell would: a directory the
    sandbox may not enter is skipped, so a command found nowhere is not found (127)."""
    program = command[0]
    if os.sep not in program:
        found = shutil.which(program, path=env.get("PATH", os.defpath))
        if found is None:
            raise CannotRun(program, FileNotFoundError(2, "command not found"))
        program = found
    try:
        os.execve(program, command, env)
    except OSError as exc:
        raise CannotRun(command[0], exc) from None


def _in_child(work: Callable[[], object]) -> NoReturn:
    """Run ``work`` in a forked child that must never return into the parent's code."""
    code = EXEC_FAILED
    try:
        code = work()  # type: ignore[assignment]
    except CannotRun as exc:
        code = exc.exit_code
        os.write(2, f"{PROG}: {exc.message}\n".encode())
    except (SandboxError, OSError) as exc:
        message = exc.message if isinstance(exc, SandboxError) else str(exc)
        os.write(2, f"{PROG}: {message}\n".encode())
    except BaseException as exc:  # never back into the parent's code
        os.write(2, f"{PROG}: {type(exc).__name__}: {exc}\n".encode())
    finally:
        os._exit(code)


def _wait(child: int) -> int:
    """The exit status of ``child``: its code, or 128 + the signal that ended it."""
    try:
        _pid, status = os.waitpid(child, 0)
    except ChildProcessError:
        return EXEC_FAILED
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _kill_namespace(meta: Meta) -> None:
    """SIGKILL the pid namespace's init, which ends every process inside it, and wait for it.

    This comes before the cgroup is killed so that an exec's nsenter, outside the namespace,
    is still there to reap its child; the init cannot finish exiting before that.
    """
    init = membership.namespace_init(meta)
    for pid, start in init:
        if start and process_start(pid) == start:
            limits.send_kill(pid)
    _wait_gone(init)


def _wait_gone(anchors: list[membership.Anchor]) -> None:
    """Wait for processes killed already to be gone: a namespace's init takes a moment."""
    deadline = time.monotonic() + limits.KILL_TIMEOUT
    for pid, start in anchors:
        while start and process_start(pid) == start and time.monotonic() < deadline:
            time.sleep(0.002)


def _read_info(path: str) -> dict | None:
    info = read_json(path, None)
    return info if isinstance(info, dict) and "child-pid" in info else None


def _start_failure(trial: tuple[list[str], list[str]] | None) -> str:
    if not trial:
        return "the sandbox's shell exited during start-up"
    reason = isolation.diagnose_bwrap(*trial) or "it exited during start-up"
    return (
        f"bubblewrap could not create the sandbox: {reason} "
        f"(set {isolation.BWRAP_ENV}=none to run sandboxes without isolation)"
    )
