"""Launching one run of a sandbox: its limits, its tmux session, and the wait until it is isolated.

:func:`launch` makes the sandbox's cgroups (else rlimits and CPU affinity), writes the caller's
environment for the launcher, starts the session's pane on the home's tmux server (inside
bubblewrap where there is one) and waits until the pane joined its cgroups and namespaces. It
writes the sandbox's metadata and files under its directory; deciding whether a sandbox may start,
and undoing a start that failed, is :mod:`wreckit_tui.sandbox.lifecycle`.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import sys
import time

from wreckit_tui.pids import process_start
from wreckit_tui.sandbox import isolation, limits, signals
from wreckit_tui.sandbox.errors import SandboxError
from wreckit_tui.sandbox.store import (
    BWRAP_INFO,
    ENV_FILE,
    EXIT_STATUS,
    HOME_ENV,
    READY,
    Home,
    Meta,
    read_json,
)
from wreckit_tui.sandbox.tmux import Tmux

READY_TIMEOUT = 10.0


def launch(home: Home, tmux: Tmux, meta: Meta, bwrap: str | None) -> None:
    """Make the cgroups and the tmux session of ``meta``'s sandbox and wait until it is
    isolated; the metadata holds its pid once that is done."""
    name = meta["name"]
    home.write_meta(name, meta)
    limited, cpu_list = _limit(home, meta)
    meta.update(limits=limited.to_json(), cpu_list=cpu_list)
    home.write_meta(name, meta)
    program = meta.get("command") or [isolation.find_shell(), "-i"]
    command = program if not bwrap else _bwrap_argv(home, meta, bwrap, program)
    try:
        launcher = _launcher(home, meta, limited, cpu_list, command, bwrap=bool(bwrap))
        with signals.held(), home.server_lock():  # a session is made whole or not
            pane = tmux.new_session(
                name,
                home.workspace(name),
                launcher.argv(),
                _window_command(home, name),
                keep="command" in meta,
            )
        started = {"pid": pane, "pid_start": process_start(pane)}
        trial = (launcher.prefix(), command) if bwrap else None
        namespaces = _wait_ready(home, name, pane, trial)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(home.file(name, ENV_FILE))
    meta.update(started, namespaces=namespaces)
    if namespaces:
        meta["ns_start"] = process_start(namespaces["child-pid"])
    home.write_meta(name, meta)


def _limit(home: Home, meta: Meta) -> tuple[limits.Limits, list[int] | None]:
    """The sandbox's cgroups and limits, and the cores to pin it to where cgroups fail."""
    limited = limits.create(home.key, meta["name"], meta["memory_mib"], meta["cpus"], meta["pids"])
    cpu_list = limits.affinity(meta["name"], meta["cpus"]) if limited.cpus == "affinity" else None
    if cpu_list and not shutil.which("taskset"):
        limited.cpus, cpu_list = "none", None
    return limited, cpu_list


def _bwrap_argv(home: Home, meta: Meta, bwrap: str, shell: list[str]) -> list[str]:
    name, identity = meta["name"], _identity(meta)
    workspace = home.workspace(name)
    binds = []
    if identity:
        binds = isolation.write_accounts(home.dir(name), identity, workspace, shell[0])
    return isolation.bwrap_argv(
        bwrap,
        name=name,
        home=home.path,
        workspace=workspace,
        network=meta.get("network", True),
        command=shell,
        binds=binds,
    )


def _launcher(
    home: Home,
    meta: Meta,
    limited: limits.Limits,
    cpu_list: list[int] | None,
    command: list[str],
    *,
    bwrap: bool,
) -> isolation.Launcher:
    """The pane's command, with the caller's environment written for it to read."""
    name = meta["name"]
    env_file = home.file(name, ENV_FILE)
    env = isolation.sandbox_env(
        dict(os.environ), name, home.workspace(name), own_user="uid" in meta
    )
    isolation.write_env_file(env_file, env)
    identity = _identity(meta)
    return isolation.Launcher(
        env_file=env_file,
        command=command,
        cgroup_procs=[os.path.join(path, "cgroup.procs") for path in limited.dirs],
        rlimit_kib=limits.rlimit_kib(meta["memory_mib"]) if limited.memory == "rlimit" else None,
        nproc=meta["pids"] if identity or limited.pids == "rlimit" else None,
        cpu_list=cpu_list,
        identity=identity,
        ready_file=None if bwrap else home.file(name, READY),
        bwrap_info=home.file(name, BWRAP_INFO) if bwrap else None,
        status_file=home.file(name, EXIT_STATUS) if "command" in meta else None,
    )


def _window_command(home: Home, name: str) -> str:
    """What a new tmux window of the session runs: a shell inside the same sandbox."""
    shell = [isolation.find_shell(), "-i"]
    argv = [sys.executable, "-m", "wreckit_tui.sandbox", "exec", "--in-pane", name, "--", *shell]
    return shlex.join(["exec", "env", f"{HOME_ENV}={home.path}", *argv])


def _wait_ready(
    home: Home, name: str, pane: int, trial: tuple[list[str], list[str]] | None
) -> dict:
    """Wait until the launcher joined the cgroups (and bubblewrap made the namespaces).

    Returns bubblewrap's report of the namespaces (empty without bubblewrap). ``trial`` is
    how bubblewrap was run, to find out why it failed.
    """
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if trial:
            info = _read_info(home.file(name, BWRAP_INFO))
            if info:
                return info
        elif os.path.exists(home.file(name, READY)):
            return {}
        if process_start(pane) is None:
            raise SandboxError(_start_failure(trial))
        if time.monotonic() > deadline:
            raise SandboxError(f"sandbox {name!r} was not ready after {READY_TIMEOUT:g}s")
        time.sleep(0.002)


def _identity(meta: Meta) -> isolation.Identity | None:
    return isolation.Identity(meta["uid"], meta["gid"]) if "uid" in meta else None


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
