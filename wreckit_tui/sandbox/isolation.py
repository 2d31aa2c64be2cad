"""How a sandbox is isolated: its identity, the bubblewrap command line, the launcher, entering it.

With bubblewrap the shell runs as an unprivileged user in user, pid, ipc, uts and cgroup
namespaces of its own (and network with ``--no-network``), with no capabilities and no way to
make further user namespaces. The host's root is read-only, and so are ``/proc/sys`` and ``/sys``;
``/tmp``, ``/dev`` and ``/proc`` are private; the provider's home is hidden under an empty tmpfs
except the sandbox's own workspace, bound writable as its working directory; it dies with its
parent. bubblewrap never runs as root: run by root, the provider gives each sandbox a uid and gid
of its own (:func:`pick_identity`), switches to them with ``setpriv`` before bubblewrap starts,
and makes the workspace theirs (which they must be able to reach: every directory down to it
lets others pass, see :func:`unreachable_ancestor`). Without bubblewrap the shell is a plain
process (isolation ``none``), which only an explicit ``WRECKIT_SANDBOX_BWRAP=none`` allows as
root.

A command run by ``exec`` enters the namespaces bubblewrap reported (:func:`enter`) and runs
exactly as the shell does: the same user, namespaces and (no) capabilities.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import shutil
import stat
import subprocess
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wreckit_tui.contract import NESTING_VARIABLES
from wreckit_tui.sandbox.errors import SandboxError
from wreckit_tui.sandbox.store import machine_root

BWRAP_ENV = "WRECKIT_SANDBOX_BWRAP"
MARKER_VAR = "WRECKIT_SANDBOX"
ISOLATION_BWRAP = "bwrap"
ISOLATION_NONE = "none"
LAUNCHER_NAME = "wreckit-sandbox-launch"
CLONE_NEWUSER = 0x10000000
NAMESPACE_FLAGS = {
    "ipc": 0x08000000,
    "uts": 0x04000000,
    "net": 0x40000000,
    "cgroup": 0x02000000,
    "pid": 0x20000000,
    "mnt": 0x00020000,
}
"""The namespaces entered after the first user namespace, in order (the mount one last)."""
NS_GET_PARENT = 0xB702
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
CAPABILITY_VERSION_3 = 0x20080522
INFO_FD = 3
USER_NAME = "sprite"
"""How a sandbox's own user is named inside it."""
UID_BASE = 2_000_000_000
UID_SPAN = 100_000_000
"""Sandboxes run by root get a uid (and gid) from this range, far above any account's."""


def find_bwrap() -> str | None:
    """``WRECKIT_SANDBOX_BWRAP`` (``none``: no isolation), else ``bwrap`` on PATH, else ``None``.

    Run by root, a missing bubblewrap is refused unless ``none`` was chosen explicitly: without it
    a sandbox's programs would run as root.
    """
    configured = os.environ.get(BWRAP_ENV)
    if configured is None:
        found = shutil.which("bwrap")
        if found is None and machine_root():
            raise SandboxError(
                "bubblewrap (bwrap) is not installed, and without it a sandbox's programs would "
                f"run as root; install bubblewrap, or set {BWRAP_ENV}=none to run sandboxes "
                "as plain processes, without isolation"
            )
        return found and _with_user_namespaces(found)
    if configured.strip().lower() in {"", ISOLATION_NONE}:
        return None
    found = shutil.which(configured)
    if not found:
        raise SandboxError(f"{BWRAP_ENV}={configured!r} is not an executable program")
    return _with_user_namespaces(found)


def _with_user_namespaces(bwrap: str) -> str:
    """``bwrap`` once it is clear user namespaces may be made here: bubblewrap needs them."""
    try:
        with open("/proc/sys/user/max_user_namespaces") as limit:
            allowed = limit.read().strip() != "0"
    except OSError:
        allowed = True
    if not allowed:
        raise SandboxError(
            "this machine allows no user namespaces (user.max_user_namespaces is 0), which "
            "bubblewrap needs to isolate sandboxes; allow them, or set "
            f"{BWRAP_ENV}=none to run sandboxes as plain processes, without isolation"
        )
    return bwrap


def find_shell() -> str:
    return shutil.which("bash") or "/bin/sh"


def util(program: str, purpose: str) -> str:
    """The path of a util-linux ``program``, or a :class:`SandboxError` naming the ``purpose``."""
    found = shutil.which(program)
    if not found:
        raise SandboxError(f"{program} (util-linux) is needed {purpose}; install util-linux")
    return found


# -- identity -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """The host uid and gid a sandbox's processes run as, when root runs the provider."""

    uid: int
    gid: int

    def setpriv_argv(self) -> list[str]:
        """``setpriv`` switching to this identity with no groups, no capabilities, no new ones."""
        return [
            util("setpriv", "to run sandboxes as an unprivileged user"),
            f"--reuid={self.uid}",
            f"--regid={self.gid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
            "--",
        ]


def pick_identity(seed: str, taken: set[int]) -> Identity:
    """A uid in ``[UID_BASE, UID_BASE + UID_SPAN)`` that no account of this machine has and no
    other sandbox holds (``taken``), picked by ``seed``; its gid is the same number."""
    import grp
    import pwd

    offset = zlib.crc32(seed.encode()) % UID_SPAN
    for step in range(UID_SPAN):
        uid = UID_BASE + (offset + step) % UID_SPAN
        if uid not in taken and not _known(pwd.getpwuid, uid) and not _known(grp.getgrgid, uid):
            return Identity(uid, uid)
    raise SandboxError("no free uid is left for a new sandbox")


def _known(lookup: Callable[[int], object], number: int) -> bool:
    try:
        lookup(number)
    except KeyError:
        return False
    return True


def unreachable_ancestor(path: str, identity: Identity | None) -> str | None:
    """The first directory down to ``path`` (itself included) that ``identity`` cannot pass
    through, if any: bubblewrap, run as the sandbox's user, must reach the workspace."""
    if identity is None:
        return None
    current = "/"
    for part in path.strip("/").split("/"):
        current = os.path.join(current, part)
        try:
            info = os.stat(current)
        except OSError:
            return None
        if not _enterable(info, identity):
            return current
    return None


def _enterable(info: os.stat_result, identity: Identity) -> bool:
    if info.st_uid == identity.uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid == identity.gid:
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


# -- the environment and bubblewrap ----------------------------------------------------------


def sandbox_env(
    base: dict[str, str], name: str, workspace: str, *, own_user: bool = False
) -> dict[str, str]:
    """The environment of the sandbox's processes: the caller's, at home in the workspace, and
    with ``own_user`` (a user of its own) named :data:`USER_NAME`.

    ``WRECKIT_SANDBOX`` and ``HOME`` are also the sandbox's marker: where no cgroup tracks its
    processes, they find those that left its process trees.
    """
    env = {key: value for key, value in base.items() if key not in NESTING_VARIABLES}
    env["HOME"] = workspace
    env[MARKER_VAR] = name
    if own_user:
        env["USER"] = env["LOGNAME"] = USER_NAME
    return env


def write_accounts(directory: str, identity: Identity, workspace: str, shell: str) -> list[str]:
    """The host's ``/etc/passwd`` and ``/etc/group`` with the sandbox's user added as
    :data:`USER_NAME`, written into ``directory``; returns the bubblewrap options that show them
    in the sandbox (so its shell and programs can name their user)."""
    options = []
    entries = {
        "passwd": f"{USER_NAME}:x:{identity.uid}:{identity.gid}:sandbox user:{workspace}:{shell}",
        "group": f"{USER_NAME}:x:{identity.gid}:",
    }
    for leaf, entry in entries.items():
        try:
            with open(f"/etc/{leaf}") as host:
                lines = [line for line in host.read().splitlines() if line.strip()]
        except OSError:
            lines = []
        path = os.path.join(directory, leaf)
        with open(path, "w") as copy:
            copy.write("\n".join([*lines, entry]) + "\n")
        os.chmod(path, 0o644)
        options += ["--ro-bind", path, f"/etc/{leaf}"]
    return options


def bwrap_argv(
    bwrap: str,
    *,
    name: str,
    home: str,
    workspace: str,
    network: bool,
    command: list[str],
    binds: list[str] | None = None,
) -> list[str]:
    """bubblewrap around ``command``; it reports its namespaces as JSON on file descriptor 3.
    ``binds`` are more bubblewrap options that show files in the sandbox."""
    argv = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    argv += ["--ro-bind", "/proc/sys", "/proc/sys", *(binds or []), "--tmpfs", "/tmp"]
    argv += ["--tmpfs", home, "--bind", workspace, workspace, "--chdir", workspace]
    argv += ["--unshare-user", "--disable-userns", "--unshare-pid", "--unshare-ipc"]
    argv += ["--unshare-uts", "--unshare-cgroup-try", "--hostname", name]
    if not network:
        argv.append("--unshare-net")
    argv += ["--die-with-parent", "--info-fd", str(INFO_FD), *command]
    return argv


def write_env_file(path: str, env: dict[str, str]) -> None:
    """Write ``env`` as shell exports only this user can read, for the launcher to source.

    The environment travels through a file, not the command line, which anyone can read in ps.
    """
    lines = [
        f"export {key}={shlex.quote(value)}\n" for key, value in env.items() if _is_shell_name(key)
    ]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.writelines(lines)


def _is_shell_name(key: str) -> bool:
    return key.replace("_", "a").isalnum() and key.isascii() and not key[0].isdigit()


@dataclass
class Launcher:
    """The pane's command: join the cgroups and apply the fallback limits, then exec ``command``.

    Joining happens in the pane's first process, before anything else is forked, so nothing of
    the sandbox ever runs outside its cgroups. The environment is the caller's, read from
    ``env_file``. Then, in order: the pids rlimit (``nproc``), the switch to the sandbox's
    ``identity``, the cores (``cpu_list``), and ``command``. With bubblewrap the signal that all
    that is done is ``bwrap_info``, which bubblewrap writes once the namespaces exist; without,
    it is ``ready_file``.
    """

    env_file: str
    command: list[str]
    cgroup_procs: list[str] = field(default_factory=list)
    rlimit_kib: int | None = None
    nproc: int | None = None
    cpu_list: list[int] | None = None
    identity: Identity | None = None
    ready_file: str | None = None
    bwrap_info: str | None = None
    status_file: str | None = None
    """Where the exit status of ``command`` is written when it ends (else the launcher becomes
    it): a sandbox's own program, whose status must be known."""

    def argv(self) -> list[str]:
        lines = [f"echo $$ > {shlex.quote(path)} || exit 1" for path in self.cgroup_procs]
        lines.append("unset TMUX TMUX_PANE")
        lines.append(f". {shlex.quote(self.env_file)} || exit 1")
        if self.rlimit_kib:
            lines.append(f"ulimit -v {self.rlimit_kib} || exit 1")
        if self.bwrap_info:
            lines.append(f"exec {INFO_FD}> {shlex.quote(self.bwrap_info)}")
        elif self.ready_file:
            lines.append(f": > {shlex.quote(self.ready_file)}")
        if self.status_file:
            lines.append(f'"$@"; echo $? > {shlex.quote(self.status_file)}')
        else:
            lines.append('exec "$@"')
        return ["/bin/sh", "-c", "\n".join(lines), LAUNCHER_NAME, *self.prefix(), *self.command]

    def prefix(self) -> list[str]:
        """The programs ``command`` runs through: prlimit, setpriv and taskset, where needed."""
        prefix = []
        if self.nproc:
            limit = f"--nproc={self.nproc}:{self.nproc}"
            prefix += [util("prlimit", "to limit a sandbox's processes"), limit, "--"]
        if self.identity:
            prefix += self.identity.setpriv_argv()
        if self.cpu_list:
            cores = ",".join(map(str, self.cpu_list))
            prefix += [util("taskset", "to limit cpus without cgroups"), "--cpu-list", cores]
        return prefix


def load_libc() -> Any:
    """The C library, for :func:`enter`; load it before switching users (the interpreter's
    own files may be out of the new user's reach)."""
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def enter(libc: Any, ns_info: dict, workspace: str) -> None:
    """Move this process into a running sandbox, as its shell runs there, and into its
    workspace; the processes it forks from then on are in the sandbox's pid namespace.

    Call it as the sandbox's own user (root switches first), single-threaded, with ``libc`` from
    :func:`load_libc`. bubblewrap makes
    one user namespace mapping the sandbox's user to root, which owns the other namespaces, and
    nests a second one inside it, mapping the user back, which can make no further ones: the
    shell runs there. So the first is entered, then the others, then the second, and the
    capability bounding set is emptied and new privileges are barred, as bubblewrap does.
    A namespace whose inode differs from what bubblewrap reported is refused: the pid was reused.
    """
    import ctypes

    def setns(fd: int, kind: int) -> None:
        if libc.setns(fd, kind) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"cannot enter the sandbox: {os.strerror(error)}")

    pid = ns_info["child-pid"]
    opened = _open_namespaces(pid, ns_info)
    try:
        inner = opened.pop("user")
        if os.readlink(f"/proc/{pid}/ns/user") != os.readlink("/proc/self/ns/user"):
            outer = fcntl.ioctl(inner, NS_GET_PARENT)
            opened["outer"] = outer
            setns(outer, CLONE_NEWUSER)
        for kind, flag in NAMESPACE_FLAGS.items():
            if kind in opened:
                setns(opened[kind], flag)
        os.chdir(workspace)
        if "outer" in opened:
            setns(inner, CLONE_NEWUSER)
        _drop_privileges(libc)
    finally:
        for fd in opened.values():
            os.close(fd)


def _open_namespaces(pid: int, ns_info: dict) -> dict[str, int]:
    """Descriptors of the target's namespaces, by kind, each checked against ``ns_info``."""
    opened: dict[str, int] = {}
    try:
        opened["user"] = os.open(f"/proc/{pid}/ns/user", os.O_RDONLY)
        for kind in NAMESPACE_FLAGS:
            reported = ns_info.get(f"{kind}-namespace")
            if reported is None:
                continue
            opened[kind] = os.open(f"/proc/{pid}/ns/{kind}", os.O_RDONLY)
            if os.fstat(opened[kind]).st_ino != reported:
                raise SandboxError("the sandbox is gone: its namespaces are not what they were")
    except BaseException:
        for fd in opened.values():
            os.close(fd)
        raise
    return opened


def _drop_privileges(libc: Any) -> None:
    """Empty the capability bounding set and every capability set, and bar new privileges."""
    import ctypes

    with open("/proc/sys/kernel/cap_last_cap") as last:
        highest = int(last.read())
    for capability in range(highest + 1):
        libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(CAPABILITY_VERSION_3, 0)
    nothing = (ctypes.c_uint32 * 6)()
    if libc.capset(header, nothing) != 0 or libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise SandboxError("cannot drop every privilege in the sandbox")


def diagnose_bwrap(prefix: list[str], argv: list[str]) -> str:
    """Why bubblewrap fails here: run it once more as it was run, with ``true``, and read its
    last line on stderr."""
    trial = [*prefix, *argv[: argv.index("--info-fd")], "true"]
    try:
        done = subprocess.run(
            trial, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else ""
