"""A sandbox's life: ``start`` (a new one, or one that is not running again) and ``kill``.

This module decides whether a request may start a sandbox (its sizes, its name, what a sandbox
that exists already was started with), claims its directory under the home's locks, has
:mod:`wreckit_tui.sandbox.launch` start its run, and undoes a start that failed or was cut
short. ``kill`` ends every process of a sandbox, its session and its cgroups, and deletes its
directory. Which processes belong to a sandbox is :mod:`wreckit_tui.sandbox.membership`.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass

from wreckit_tui.pids import process_start
from wreckit_tui.sandbox import isolation, limits, membership, metrics, signals
from wreckit_tui.sandbox.errors import (
    AlreadyExists,
    InvalidRequest,
    NotFound,
    NotRunning,
    SandboxError,
)
from wreckit_tui.sandbox.launch import launch
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
)
from wreckit_tui.sandbox.tmux import Tmux

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


# -- start ------------------------------------------------------------------------------------


def start(home: Home, tmux: Tmux, name: str, request: Request) -> Meta:
    """Create and launch a sandbox, or start one that is not running again (its workspace
    kept); returns its metadata once its shell is isolated."""
    check_name(name)
    if os.path.isdir(home.dir(name)):
        return _start_again(home, tmux, name, request)
    bwrap = isolation.find_bwrap()
    meta = _new_meta(home, name, request, bwrap)
    with signals.held() as let_through, home.claim(name):
        try:
            with let_through():
                _make_workspace(home, meta)
                launch(home, tmux, meta, bwrap)
            signals.commit(let_through)
        except BaseException:
            _teardown(home, tmux, name, home.read_meta(name))
            raise
    return meta


def _new_meta(home: Home, name: str, request: Request, bwrap: str | None) -> Meta:
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
        identity = isolation.pick_identity(home.key + meta["id"], _uids(home))
        _check_reachable(home.path, identity)
        meta.update(uid=identity.uid, gid=identity.gid)
    return meta


def _uids(home: Home) -> set[int]:
    """The uids the sandboxes of this home hold."""
    metas = (home.read_meta(name) or {} for name in home.names())
    return {meta["uid"] for meta in metas if isinstance(meta.get("uid"), int)}


def _make_workspace(home: Home, meta: Meta) -> None:
    """The sandbox's working directory, its own: only its identity may enter it."""
    workspace = home.workspace(meta["name"])
    os.mkdir(workspace, 0o700)
    if "uid" in meta:
        os.chown(workspace, meta["uid"], meta["gid"])


def _start_again(home: Home, tmux: Tmux, name: str, request: Request) -> Meta:
    """Start a sandbox that is not running again, as it was, with its workspace."""
    with signals.held() as let_through, home.sandbox_lock(name, exclusive=True):
        meta = home.read_meta(name)
        if meta is None:
            raise NotRunning(name)
        pane = tmux.panes().get(name)
        if pane and not pane.dead:
            raise AlreadyExists(name)
        _refuse_changes(meta, request)
        meta.setdefault("pids", DEFAULT_PIDS)
        bwrap = isolation.find_bwrap() if meta.get("isolation") != "none" else None
        if meta.get("isolation") == isolation.ISOLATION_BWRAP and not bwrap:
            raise SandboxError(f"sandbox {name!r} needs bubblewrap, which is gone")
        last_run = {key: meta[key] for key in RUN_KEYS if key in meta}
        _stop_remains(home, tmux, name, meta)
        for key in RUN_KEYS:
            meta.pop(key, None)
        for leaf in (BWRAP_INFO, READY, EXECS, ENV_FILE, EXIT_STATUS):  # the last run's
            with contextlib.suppress(FileNotFoundError):
                os.unlink(home.file(name, leaf))
        meta["started"] = time.monotonic()
        try:
            with let_through():
                if not os.path.isdir(home.workspace(name)):
                    _make_workspace(home, meta)
                launch(home, tmux, meta, bwrap)
            signals.commit(let_through)
        except BaseException:
            _stop_remains(home, tmux, name, home.read_meta(name) or meta)
            home.write_meta(name, {**meta, **_dead(last_run)})
            raise
    return meta


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


# -- kill -------------------------------------------------------------------------------------


def kill(home: Home, tmux: Tmux, name: str) -> None:
    """End every process of the sandbox and its session, and delete its directory."""
    check_name(name)
    if not os.path.isdir(home.dir(name)):
        raise NotFound(name)
    with signals.held(), home.sandbox_lock(name, exclusive=True):
        if not os.path.isdir(home.dir(name)):
            raise NotFound(name)
        _teardown(home, tmux, name, home.read_meta(name))


def _teardown(home: Home, tmux: Tmux, name: str, meta: Meta | None) -> None:
    """Kill, clean up and delete whatever a sandbox left, whole or half started."""
    stuck = _stop_remains(home, tmux, name, meta or {})
    home.remove(name)
    if stuck:
        raise SandboxError(f"could not remove cgroup {stuck[0]}: it still has processes")


def _stop_remains(home: Home, tmux: Tmux, name: str, meta: Meta) -> list[str]:
    """End every process of a sandbox's last run, its session and its cgroups; returns the
    cgroups that could not be removed. Its directory stays."""
    recorded = limits.Limits.from_json(meta.get("limits") or {}).dirs
    dirs = list(dict.fromkeys([*recorded, *limits.existing_dirs(home.key, name)]))
    _kill_namespace(meta)
    limits.kill_members(dirs)
    if not dirs and meta:
        _kill_untracked(home, meta)
    _wait_gone(membership.pane(meta) + membership.namespace_init(meta))
    with home.server_lock():
        tmux.kill_session(name)
    return limits.remove(dirs)


def _kill_untracked(home: Home, meta: Meta) -> None:
    """SIGKILL every process of a sandbox no cgroup tracks until none is left."""
    limits.kill_until_gone(
        lambda: membership.untracked_pids(
            home, meta, *metrics.process_table(markers="uid" not in meta)
        )
    )


def _kill_namespace(meta: Meta) -> None:
    """SIGKILL the pid namespace's init, which ends every process inside it, and wait for it.

    This comes before the cgroup is killed so that an exec's nsenter, outside the namespace,
    is still there to reap its child; the init cannot finish exiting before that.
    """
    init = membership.namespace_init(meta)
    for pid, started in init:
        if started and process_start(pid) == started:
            limits.send_kill(pid)
    _wait_gone(init)


def _wait_gone(anchors: list[membership.Anchor]) -> None:
    """Wait for processes killed already to be gone: a namespace's init takes a moment."""
    deadline = time.monotonic() + limits.KILL_TIMEOUT
    for pid, started in anchors:
        while started and process_start(pid) == started and time.monotonic() < deadline:
            time.sleep(0.002)
