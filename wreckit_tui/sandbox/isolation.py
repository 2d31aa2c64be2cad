"""How a sandbox is isolated: the bubblewrap command line, the launcher, and entering it.

With bubblewrap the shell runs with the host's root read-only, a private /tmp, /dev and /proc,
its own pid, ipc and uts namespaces (and network with ``--no-network``), no capabilities, and the
provider's home hidden under an empty tmpfs except for its own workspace, bound writable as its
working directory. It dies with its parent. Without bubblewrap it is a plain process
(isolation ``none``).

A command run by ``exec`` enters the namespaces bubblewrap reported, through ``nsenter``, and drops
every capability through ``setpriv`` before it runs, as the shell did.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import shutil
import subprocess

from wreckit_tui.contract import NESTING_VARIABLES
from wreckit_tui.sandbox.errors import SandboxError

BWRAP_ENV = "WRECKIT_SANDBOX_BWRAP"
MARKER_VAR = "WRECKIT_SANDBOX"
ISOLATION_BWRAP = "bwrap"
ISOLATION_NONE = "none"
LAUNCHER_NAME = "wreckit-sandbox-launch"
NSENTER_FLAGS = {
    "cgroup-namespace": "--cgroup",
    "ipc-namespace": "--ipc",
    "mnt-namespace": "--mount",
    "net-namespace": "--net",
    "pid-namespace": "--pid",
    "uts-namespace": "--uts",
}
NS_GET_PARENT = 0xB702


def find_bwrap() -> str | None:
    """``WRECKIT_SANDBOX_BWRAP`` (``none``: no isolation), else ``bwrap`` on PATH, else ``None``."""
    configured = os.environ.get(BWRAP_ENV)
    if configured is None:
        return shutil.which("bwrap")
    if configured.strip().lower() in {"", ISOLATION_NONE}:
        return None
    found = shutil.which(configured)
    if not found:
        raise SandboxError(f"{BWRAP_ENV}={configured!r} is not an executable program")
    return found


def find_shell() -> str:
    return shutil.which("bash") or "/bin/sh"


def sandbox_env(base: dict[str, str], name: str, workspace: str) -> dict[str, str]:
    """The environment of the sandbox's processes: the caller's, at home in the workspace.

    ``WRECKIT_SANDBOX`` and ``HOME`` are also the sandbox's marker: where no cgroup tracks its
    processes, they find those that left its process trees.
    """
    env = {key: value for key, value in base.items() if key not in NESTING_VARIABLES}
    env["HOME"] = workspace
    env[MARKER_VAR] = name
    return env


def bwrap_argv(
    bwrap: str, *, name: str, home: str, workspace: str, network: bool, command: list[str]
) -> list[str]:
    """bubblewrap around ``command``; it reports its namespaces as JSON on file descriptor 3."""
    argv = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    argv += ["--tmpfs", home, "--bind", workspace, workspace, "--chdir", workspace]
    argv += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--hostname", name]
    if not network:
        argv.append("--unshare-net")
    if os.geteuid() == 0:
        argv += ["--cap-drop", "ALL"]
    argv += ["--die-with-parent", "--info-fd", "3", *command]
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


def launcher_argv(
    *,
    env_file: str,
    cgroup_procs: list[str],
    rlimit_kib: int | None,
    cpu_list: list[int] | None,
    ready_file: str,
    bwrap_info: str | None,
    command: list[str],
) -> list[str]:
    """The pane's command: join the cgroups and apply the fallback limits, then exec ``command``.

    Joining happens in the pane's first process, before anything else is forked, so nothing of
    the sandbox ever runs outside its cgroups. The environment is the caller's, read from
    ``env_file``. ``ready_file`` is written once all that is done; with bubblewrap the signal
    is ``bwrap_info`` instead, which bubblewrap writes once the namespaces exist.
    """
    lines = [f"echo $$ > {shlex.quote(path)} || exit 1" for path in cgroup_procs]
    lines.append("unset TMUX TMUX_PANE")
    lines.append(f". {shlex.quote(env_file)} || exit 1")
    if rlimit_kib:
        lines.append(f"ulimit -v {rlimit_kib} || exit 1")
    if bwrap_info:
        lines.append(f"exec 3> {shlex.quote(bwrap_info)}")
    else:
        lines.append(f": > {shlex.quote(ready_file)}")
    lines.append('exec "$@"')
    prefix = _taskset(cpu_list)
    return ["/bin/sh", "-c", "\n".join(lines), LAUNCHER_NAME, *prefix, *command]


def _taskset(cpu_list: list[int] | None) -> list[str]:
    if not cpu_list:
        return []
    taskset = shutil.which("taskset")
    if not taskset:
        raise SandboxError("taskset (util-linux) is needed to limit cpus without cgroups")
    return [taskset, "--cpu-list", ",".join(map(str, cpu_list))]


def enter_argv(ns_info: dict, workspace: str, command: list[str]) -> list[str]:
    """``nsenter`` into a running sandbox's namespaces, then ``setpriv`` without capabilities."""
    nsenter, setpriv = shutil.which("nsenter"), shutil.which("setpriv")
    if not (nsenter and setpriv):
        raise SandboxError("nsenter and setpriv (util-linux) are needed to exec in a sandbox")
    pid = ns_info["child-pid"]
    user_flags, identity = _user_namespace(pid)
    flags = [flag for key, flag in NSENTER_FLAGS.items() if key in ns_info]
    enter = [nsenter, f"--target={pid}", *user_flags, *flags, "--root", f"--wd={workspace}", "--"]
    drop = [setpriv, *identity, "--bounding-set=-all", "--inh-caps=-all", "--no-new-privs", "--"]
    return [*enter, *drop, *command]


def _user_namespace(pid: int) -> tuple[list[str], list[str]]:
    """nsenter flags for the sandbox's user namespace, and the identity to take inside it.

    As root, bubblewrap makes no user namespace. Unprivileged, it makes one mapping the user to
    root (needed to mount /dev/pts) and nests a second one inside, mapping the user back; the
    other namespaces belong to the first, so that one is entered, as its root, through an
    inherited descriptor, since nsenter only enters the target's own.
    """
    mine = os.readlink("/proc/self/ns/user")
    theirs = f"/proc/{pid}/ns/user"
    if os.readlink(theirs) == mine:
        return [], []
    handle = os.open(theirs, os.O_RDONLY)
    try:
        parent = fcntl.ioctl(handle, NS_GET_PARENT)
    finally:
        os.close(handle)
    if os.readlink(f"/proc/self/fd/{parent}") == mine:
        os.close(parent)
        return ["--user", "--preserve-credentials"], []
    os.set_inheritable(parent, True)
    user = [f"--user=/proc/self/fd/{parent}", "--preserve-credentials"]
    return user, ["--reuid=0", "--regid=0", "--keep-groups"]


def diagnose_bwrap(argv: list[str]) -> str:
    """Why bubblewrap fails here: run its command line once with ``true`` and read stderr."""
    trial = [*argv[: argv.index("--info-fd")], "true"]
    try:
        done = subprocess.run(
            trial, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else ""
