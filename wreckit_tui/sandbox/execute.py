"""``exec``: running a command inside a running sandbox, as its own shell runs.

The command joins the sandbox's cgroups and limits, takes its user, enters its namespaces and
workspace, and runs without capabilities, in a child of a forked process (the only way into a
pid namespace); this process waits for it and passes signals on. It may fork, change its own
identity and limits, and exec; it never changes the sandbox's metadata.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Callable
from typing import NoReturn

from wreckit_tui.pids import process_start
from wreckit_tui.sandbox import PROG, isolation, limits, signals
from wreckit_tui.sandbox.errors import CannotRun, InvalidRequest, SandboxError
from wreckit_tui.sandbox.spec import check_name
from wreckit_tui.sandbox.store import EXECS, Home, Meta, machine_root, running_meta

EXEC_FAILED = 125
"""``exec``'s status when the provider itself could not run the command."""


def exec_in(home: Home, name: str, command: list[str], *, in_pane: bool = False) -> int:
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
    with home.sandbox_lock(name, exclusive=False) as lock:
        meta = running_meta(home, name)
        workspace = home.workspace(name)
        env = isolation.sandbox_env(
            dict(os.environ), meta["name"], workspace, own_user="uid" in meta
        )
        sys.stdout.flush()
        sys.stderr.flush()
        if in_pane:
            return _run_inside(home, meta, command, env, lock)
        child = os.fork()  # the child holds the lock too, until it is inside
        if child == 0:
            _in_child(lambda: _run_inside(home, meta, command, env, lock, new_session=True))
    signals.forward_to(child)
    return _wait(child)


def _run_inside(
    home: Home,
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
    _join(home, meta)
    libc = isolation.load_libc()
    if "uid" in meta and machine_root():
        os.setgroups([])
        os.setresgid(meta["gid"], meta["gid"], meta["gid"])
        os.setresuid(meta["uid"], meta["uid"], meta["uid"])
    workspace = home.workspace(meta["name"])
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


def _join(home: Home, meta: Meta) -> None:
    """Make this process part of the sandbox before it becomes the command."""
    import resource

    limited = limits.Limits.from_json(meta.get("limits") or {})
    limits.join(limited.dirs, os.getpid())
    if not limited.tracking:
        with open(home.file(meta["name"], EXECS), "a") as execs:
            execs.write(f"{os.getpid()} {process_start(os.getpid())}\n")
    if limited.memory == "rlimit":
        size = limits.rlimit_kib(meta["memory_mib"]) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    if "pids" in meta and ("uid" in meta or limited.pids == "rlimit"):
        resource.setrlimit(resource.RLIMIT_NPROC, (meta["pids"], meta["pids"]))
    if meta.get("cpu_list"):
        os.sched_setaffinity(0, meta["cpu_list"])


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
