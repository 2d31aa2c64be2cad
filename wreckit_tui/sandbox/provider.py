"""The provider's operations: start, list, kill, exec and attach, on one home."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from typing import NoReturn

from wreckit_tui.sandbox import STOP_SIGNALS, isolation, limits, metrics
from wreckit_tui.sandbox.errors import (
    CannotRun,
    InvalidRequest,
    NotFound,
    NotRunning,
    SandboxError,
)
from wreckit_tui.sandbox.spec import check_cpus, check_name, memory_mib
from wreckit_tui.sandbox.store import (
    BWRAP_INFO,
    ENV_FILE,
    EXECS,
    HOME_ENV,
    READY,
    Home,
    Meta,
    process_start,
    read_json,
)
from wreckit_tui.sandbox.tmux import Tmux, socket_path, without_tmux

READY_TIMEOUT = 10.0
RECORD_KEYS = (
    "name", "id", "state", "cpus", "memory", "cpu_percent", "memory_used", "pid",
    "created_at", "isolation", "network", "limits", "workspace",
)  # fmt: skip


class Provider:
    """Sandboxes under one home, each a session of the home's private tmux server."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self.tmux = Tmux(socket_path(home.key))

    # -- start ------------------------------------------------------------------------------

    def start(self, name: str, memory: str, cpus: str, *, network: bool = True) -> Meta:
        """Create and launch a sandbox; returns its metadata once its shell is isolated."""
        check_name(name)
        mib, count = memory_mib(memory), check_cpus(cpus)
        bwrap = isolation.find_bwrap()
        if not network and not bwrap:
            raise InvalidRequest("--no-network needs bubblewrap (bwrap), which is not installed")
        with _signals_held() as let_through, self.home.claim(name):
            try:
                with let_through():
                    return self._launch(
                        name, memory=memory, mib=mib, cpus=count, network=network, bwrap=bwrap
                    )
            except BaseException:
                self._teardown(name, self.home.read_meta(name))
                raise

    def _launch(
        self, name: str, *, memory: str, mib: int, cpus: int, network: bool, bwrap: str | None
    ) -> Meta:
        workspace = self.home.workspace(name)
        os.mkdir(workspace)
        meta = _new_meta(name, memory, mib, cpus, network=network, bwrap=bwrap)
        self.home.write_meta(name, meta)
        limited, cpu_list = self._limit(name, mib, cpus)
        meta.update(limits=limited.to_json(), cpu_list=cpu_list)
        self.home.write_meta(name, meta)
        shell = [isolation.find_shell(), "-i"]
        command = shell
        if bwrap:
            command = isolation.bwrap_argv(
                bwrap,
                name=name,
                home=self.home.path,
                workspace=workspace,
                network=network,
                command=shell,
            )
        env_file = self.home.file(name, ENV_FILE)
        try:
            launcher = self._launcher(name, limited, cpu_list, mib, command, bwrap=bool(bwrap))
            # held back here: a tmux server cut off while it starts comes up after the teardown
            # and leaves its socket behind; once the session exists, the teardown ends it all
            with self.home.server_lock(), _signals_held():
                pane = self.tmux.new_session(
                    name, workspace, launcher, self._window_command(name, shell)
                )
            meta.update(pid=pane, pid_start=process_start(pane))
            namespaces = self._wait_ready(name, pane, command if bwrap else None)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(env_file)
        meta.update(namespaces=namespaces)
        if namespaces:
            meta["ns_start"] = process_start(namespaces["child-pid"])
        self.home.write_meta(name, meta)
        return meta

    def _limit(self, name: str, mib: int, cpus: int) -> tuple[limits.Limits, list[int] | None]:
        """The sandbox's cgroups and limits, and the cores to pin it to where cgroups fail."""
        limited = limits.create(self.home.key, name, mib, cpus)
        cpu_list = limits.affinity(name, cpus) if limited.cpus == "affinity" else None
        if cpu_list and not shutil.which("taskset"):
            limited.cpus, cpu_list = "none", None
        return limited, cpu_list

    def _launcher(
        self,
        name: str,
        limited: limits.Limits,
        cpu_list: list[int] | None,
        mib: int,
        command: list[str],
        *,
        bwrap: bool,
    ) -> list[str]:
        """The pane's command, with the caller's environment written for it to read."""
        env_file = self.home.file(name, ENV_FILE)
        env = isolation.sandbox_env(dict(os.environ), name, self.home.workspace(name))
        isolation.write_env_file(env_file, env)
        return isolation.launcher_argv(
            env_file=env_file,
            cgroup_procs=[os.path.join(path, "cgroup.procs") for path in limited.dirs],
            rlimit_kib=limits.rlimit_kib(mib) if limited.memory == "rlimit" else None,
            cpu_list=cpu_list,
            ready_file=self.home.file(name, READY),
            bwrap_info=self.home.file(name, BWRAP_INFO) if bwrap else None,
            command=command,
        )

    def _window_command(self, name: str, shell: list[str]) -> str:
        """What a new tmux window of the session runs: a shell inside the same sandbox."""
        argv = [sys.executable, "-m", "wreckit_tui.sandbox", "exec", name, "--", *shell]
        return shlex.join(["exec", "env", f"{HOME_ENV}={self.home.path}", *argv])

    def _wait_ready(self, name: str, pane: int, bwrap_command: list[str] | None) -> dict:
        """Wait until the launcher joined the cgroups (and bubblewrap made the namespaces).

        Returns bubblewrap's report of the namespaces (empty without bubblewrap).
        """
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if bwrap_command:
                info = _read_info(self.home.file(name, BWRAP_INFO))
                if info:
                    return info
            elif os.path.exists(self.home.file(name, READY)):
                return {}
            if process_start(pane) is None:
                raise SandboxError(_start_failure(bwrap_command))
            if time.monotonic() > deadline:
                raise SandboxError(f"sandbox {name!r} was not ready after {READY_TIMEOUT:g}s")
            time.sleep(0.002)

    # -- list -------------------------------------------------------------------------------

    def list(self) -> list[Meta]:
        """Every sandbox as ``list --json`` prints it, with its current metrics."""
        names = self.home.names()
        if not names:
            return []
        metas = {name: self.home.read_meta(name) for name in names}
        sessions = self.tmux.sessions()  # after the metadata: a pid there has its session here
        usage = self._usage(metas)
        records = [self._record(name, metas[name] or {}, sessions, usage) for name in names]
        return [record for record in records if record]

    def _usage(self, metas: dict[str, Meta | None]) -> dict[str, tuple[float, int]]:
        """Sandbox id -> (cpu_percent, memory_used MiB), from one pass over the processes."""
        launched = [meta for meta in metas.values() if meta and "pid" in meta]
        if not launched:
            return {}
        untracked = any(not _tracking(meta) for meta in launched)
        table, marked = metrics.process_table(markers=untracked)
        now = time.monotonic()
        samples = metrics.Samples(self.home.samples_path())
        usage: dict[str, tuple[float, int]] = {}
        for meta in launched:
            tracking = _tracking(meta)
            if tracking:
                pids = set(limits.members(tracking))
            else:
                pids = self._untracked_pids(meta["name"], meta, table, marked)
            cpu = metrics.cgroup_cpu_seconds(tracking) if tracking else None
            cpu = cpu or metrics.cpu_seconds(pids, table)
            rate = samples.cpu_percent(meta["id"], meta["started"], now, cpu)
            usage[meta["id"]] = (rate, metrics.memory_used_mib(pids, table))
        samples.save()
        return usage

    def _untracked_pids(
        self, name: str, meta: Meta, table: metrics.ProcessTable, marked: metrics.Marked
    ) -> set[int]:
        """The pids of a sandbox no cgroup tracks: the process trees of its pane, of each exec
        and of each process carrying its marker (which finds those that left the other trees)."""
        marker = (name, self.home.workspace(name))
        return metrics.descendants([*self._live_roots(name, meta), *marked.get(marker, [])], table)

    def _live_roots(self, name: str, meta: Meta) -> list[int]:
        """The pane and every exec of an untracked sandbox that still run."""
        roots: list[tuple] = list(_pane(meta))
        try:
            with open(self.home.file(name, EXECS)) as execs:
                roots += [tuple(line.split()) for line in execs if len(line.split()) == 2]
        except OSError:
            pass
        return [int(pid) for pid, start in roots if process_start(int(pid)) == start]

    def _record(
        self, name: str, meta: Meta, sessions: dict[str, int], usage: dict[str, tuple[float, int]]
    ) -> Meta | None:
        """The sandbox's record, or ``None`` if it was killed since ``list`` began."""
        state, meta = self._state(name, meta, sessions)
        if state is None:
            return None
        cpu, memory = usage.get(meta.get("id", ""), (0.0, 0))
        limited = meta.get("limits") or {}
        record = {
            **{key: meta.get(key) for key in RECORD_KEYS},
            "name": name,
            "state": state,
            "cpu_percent": cpu,
            "memory_used": memory,
            "pid": meta.get("pid") if state == "running" else None,
            "limits": {"memory": limited.get("memory"), "cpus": limited.get("cpus")},
            "workspace": self.home.workspace(name),
        }
        return {key: record[key] for key in RECORD_KEYS}

    def _state(self, name: str, meta: Meta, sessions: dict[str, int]) -> tuple[str | None, Meta]:
        """The sandbox's state, and its metadata read again if ``meta`` may be out of date.

        Metadata without a pid is a start under way while the lock is held. Once the lock is free
        the start may have finished since ``meta`` was read, so the metadata is read again: still
        without a pid, the start died (``error``), unless the sandbox is gone (``None``).
        """
        if "pid" in meta:
            return ("running" if name in sessions else "stopped"), meta
        if self.home.is_locked(name):
            return "starting", meta
        meta = self.home.read_meta(name) or {}
        if "pid" in meta:
            pane_runs = process_start(meta["pid"]) == meta.get("pid_start")
            return ("running" if pane_runs else "stopped"), meta
        return ("error" if os.path.isdir(self.home.dir(name)) else None), meta

    # -- kill -------------------------------------------------------------------------------

    def kill(self, name: str) -> None:
        """End every process of the sandbox and its session, and delete its directory."""
        check_name(name)
        if not os.path.isdir(self.home.dir(name)):
            raise NotFound(name)
        with _signals_held(), self.home.sandbox_lock(name, exclusive=True):
            if not os.path.isdir(self.home.dir(name)):
                raise NotFound(name)
            self._teardown(name, self.home.read_meta(name))

    def _teardown(self, name: str, meta: Meta | None) -> None:
        """Kill, clean up and delete whatever a sandbox left, whole or half started."""
        meta = meta or {}
        recorded = limits.Limits.from_json(meta.get("limits") or {}).dirs
        dirs = list(dict.fromkeys([*recorded, *limits.existing_dirs(self.home.key, name)]))
        _kill_namespace(meta)
        limits.kill_members(dirs)
        if not dirs:
            self._kill_untracked(name, meta)
        _wait_gone(_pane(meta) + _namespace_init(meta))
        with self.home.server_lock():
            self.tmux.kill_session(name)
        stuck = limits.remove(dirs)
        self.home.remove(name)
        if stuck:
            raise SandboxError(f"could not remove cgroup {stuck[0]}: it still has processes")

    def _kill_untracked(self, name: str, meta: Meta) -> None:
        """SIGKILL every process of a sandbox no cgroup tracks until none is left."""
        limits.kill_until_gone(
            lambda: self._untracked_pids(name, meta, *metrics.process_table(markers=True))
        )

    # -- exec and attach --------------------------------------------------------------------

    def exec(self, name: str, command: list[str]) -> NoReturn:
        """Become ``command`` inside the sandbox: its namespaces, cgroups and fallback limits."""
        check_name(name)
        if not command:
            raise InvalidRequest("exec needs a command: wreckit-sandbox exec NAME -- CMD...")
        workspace = self.home.workspace(name)
        with self.home.sandbox_lock(name, exclusive=False):
            meta = self._running_meta(name)
            self._join(meta)
            env = isolation.sandbox_env(dict(os.environ), name, workspace)
            if meta.get("isolation") == isolation.ISOLATION_BWRAP:
                argv = isolation.enter_argv(meta.get("namespaces") or {}, workspace, command)
            else:
                os.chdir(workspace)
                argv = command
        sys.stdout.flush()
        try:
            os.execvpe(argv[0], argv, env)
        except OSError as exc:
            raise CannotRun(argv[0], exc) from None

    def _join(self, meta: Meta) -> None:
        """Make this process part of the sandbox before it becomes the command."""
        limited = limits.Limits.from_json(meta.get("limits") or {})
        limits.join(limited.dirs, os.getpid())
        if not limited.tracking:
            with open(self.home.file(meta["name"], EXECS), "a") as execs:
                execs.write(f"{os.getpid()} {process_start(os.getpid())}\n")
        if limited.memory == "rlimit":
            import resource

            size = limits.rlimit_kib(meta["memory_mib"]) * 1024
            resource.setrlimit(resource.RLIMIT_AS, (size, size))
        if meta.get("cpu_list"):
            os.sched_setaffinity(0, meta["cpu_list"])

    def attach(self, name: str) -> NoReturn:
        """Become ``tmux attach`` to the sandbox's session, on the caller's terminal."""
        check_name(name)
        self._running_meta(name)
        argv = self.tmux.attach_argv(name)
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


@contextlib.contextmanager
def _signals_held() -> Iterator:
    """Hold back SIGINT, SIGTERM and SIGHUP, so that they stop nothing half done.

    Yields ``let_through``, a context manager under which they arrive (and raise) at once: only
    where a failure is cleaned up. Held back signals arrive when the block ends.
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)

    @contextlib.contextmanager
    def let_through() -> Iterator[None]:
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)

    try:
        yield let_through
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _tracking(meta: Meta) -> str | None:
    return limits.Limits.from_json(meta.get("limits") or {}).tracking


Anchor = tuple[int, str | None]
"""A process as (pid, start time), so that a reused pid is never mistaken for it."""


def _pane(meta: Meta) -> list[Anchor]:
    return [(meta["pid"], meta.get("pid_start"))] if "pid" in meta else []


def _namespace_init(meta: Meta) -> list[Anchor]:
    namespaces = meta.get("namespaces") or {}
    if "child-pid" not in namespaces:
        return []
    return [(namespaces["child-pid"], meta.get("ns_start"))]


def _kill_namespace(meta: Meta) -> None:
    """SIGKILL the pid namespace's init, which ends every process inside it, and wait for it.

    This comes before the cgroup is killed so that an exec's nsenter, outside the namespace,
    is still there to reap its child; the init cannot finish exiting before that.
    """
    init = _namespace_init(meta)
    for pid, start in init:
        if start and process_start(pid) == start:
            limits.send_kill(pid)
    _wait_gone(init)


def _wait_gone(anchors: list[Anchor]) -> None:
    """Wait for processes killed already to be gone: a namespace's init takes a moment."""
    deadline = time.monotonic() + limits.KILL_TIMEOUT
    for pid, start in anchors:
        while start and process_start(pid) == start and time.monotonic() < deadline:
            time.sleep(0.002)


def _new_meta(
    name: str, memory: str, mib: int, cpus: int, *, network: bool, bwrap: str | None
) -> Meta:
    return {
        "id": os.urandom(6).hex(),
        "name": name,
        "memory": memory,
        "memory_mib": mib,
        "cpus": cpus,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "started": time.monotonic(),
        "isolation": isolation.ISOLATION_BWRAP if bwrap else isolation.ISOLATION_NONE,
        "network": network,
    }


def _read_info(path: str) -> dict | None:
    info = read_json(path, None)
    return info if isinstance(info, dict) and "child-pid" in info else None


def _start_failure(bwrap_command: list[str] | None) -> str:
    if not bwrap_command:
        return "the sandbox's shell exited during start-up"
    reason = isolation.diagnose_bwrap(bwrap_command) or "it exited during start-up"
    return (
        f"bubblewrap could not create the sandbox: {reason} "
        f"(set {isolation.BWRAP_ENV}=none to run sandboxes without isolation)"
    )
