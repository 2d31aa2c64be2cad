"""State on disk: one directory per sandbox under the provider's home, and the locks around it.

Layout of ``WRECKIT_SANDBOX_HOME``::

    .server.lock        held while the tmux server is started or stopped
    .samples.json       the last cpu samples of every sandbox (see ``metrics``)
    NAME/.lock          held exclusively by start and kill, shared by exec
    NAME/sandbox.json   metadata, replaced atomically
    NAME/workspace/     the sandbox's working directory, its only writable place
    NAME/bwrap.json     what bubblewrap reports once the namespaces exist
    NAME/env            the caller's environment for the launcher (0600), deleted once it is up
    NAME/ready          written by the launcher when there is no bubblewrap
    NAME/execs          ``pid starttime`` of each exec when no cgroup tracks the sandbox
    NAME/passwd, group  the host's, plus the sandbox's own user, shown in the sandbox
    NAME/exit_status    the exit status of the sandbox's own program, once it ended
    .NAME.XXXXXXXX/     a sandbox's directory while it is claimed, or removed (see ``claim``)
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
from collections.abc import Iterator

from wreckit_tui.pids import process_start
from wreckit_tui.sandbox.errors import AlreadyExists, NotFound, NotRunning
from wreckit_tui.sandbox.spec import is_name

HOME_ENV = "WRECKIT_SANDBOX_HOME"
META = "sandbox.json"
WORKSPACE = "workspace"
BWRAP_INFO = "bwrap.json"
READY = "ready"
ENV_FILE = "env"
EXECS = "execs"
EXIT_STATUS = "exit_status"
LOCK = ".lock"
SERVER_LOCK = ".server.lock"
SAMPLES = ".samples.json"

TYPE_CHECKING = False  # typing costs capture more to import than it takes
if TYPE_CHECKING:
    from typing import Any

Meta = dict[str, "Any"]


def machine_root() -> bool:
    """Whether this process is the machine's root: uid 0 of the initial user namespace, who may
    switch to any uid (root of a user namespace, in a rootless container say, may not)."""
    if os.geteuid() != 0:
        return False
    try:
        with open("/proc/self/uid_map") as uid_map:
            return uid_map.read().split() == ["0", "0", "4294967295"]
    except OSError:
        return True


ROOT_HOME = "/var/lib/wreckit-tui/sandboxes"
"""The default home when root runs the provider: one every sandbox's own user can pass through."""


def default_home() -> str:
    """:data:`ROOT_HOME` for root, else the platformdirs user state dir of wreckit-tui, plus
    ``sandboxes``."""
    if machine_root():
        return ROOT_HOME
    from platformdirs import user_state_dir

    return os.path.join(user_state_dir("wreckit-tui"), "sandboxes")


class Home:
    """The provider's state directory.

    Run by root, whose sandboxes run as users of their own, the home and each sandbox's
    directory let others pass through (mode 0711) but not list them, so that each sandbox's
    user reaches its own workspace (mode 0700, theirs) and nothing else.
    """

    def __init__(self, path: str) -> None:
        self.path = os.path.realpath(os.path.expanduser(path))
        self.key = hashlib.sha256(self.path.encode()).hexdigest()[:16]
        self.dir_mode = 0o711 if machine_root() else 0o700

    @classmethod
    def from_env(cls) -> Home:
        return cls(os.environ.get(HOME_ENV) or default_home())

    def ensure(self) -> None:
        os.makedirs(self.path, mode=self.dir_mode, exist_ok=True)
        if os.stat(self.path).st_mode & 0o777 != self.dir_mode:
            os.chmod(self.path, self.dir_mode)

    def dir(self, name: str) -> str:
        return os.path.join(self.path, name)

    def file(self, name: str, leaf: str) -> str:
        return os.path.join(self.path, name, leaf)

    def workspace(self, name: str) -> str:
        return self.file(name, WORKSPACE)

    def names(self) -> list[str]:
        """Every sandbox directory, by name."""
        try:
            entries = os.listdir(self.path)
        except FileNotFoundError:
            return []
        return sorted(
            entry for entry in entries if is_name(entry) and os.path.isdir(self.dir(entry))
        )

    @contextlib.contextmanager
    def claim(self, name: str) -> Iterator[None]:
        """Create the sandbox's directory and hold its lock exclusively.

        Of two concurrent claims exactly one succeeds. The directory is made under a hidden name
        and renamed once its lock is held, so it never shows without its lock: a sandbox whose
        lock is free is not being started or killed.
        """
        self.ensure()
        staging = self._hidden(name)
        fd = os.open(os.path.join(staging, LOCK), os.O_RDWR | os.O_CREAT, 0o600)
        with _locked(fd, exclusive=True):
            try:
                os.rename(staging, self.dir(name))
            except OSError as exc:
                _rmtree(staging)
                if exc.errno in {errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR}:
                    raise AlreadyExists(name) from None
                raise
            yield

    def remove(self, name: str) -> None:
        """Delete the sandbox's directory: the workspace first, then the rest, which disappears
        at once (metadata and lock together) and is deleted under a hidden name."""
        _rmtree(self.workspace(name))
        hidden = self._hidden(name)
        with contextlib.suppress(FileNotFoundError):
            os.rename(self.dir(name), hidden)
        _rmtree(hidden)

    def _hidden(self, name: str) -> str:
        """A new empty directory in the home that :meth:`names` does not list."""
        import tempfile

        path = tempfile.mkdtemp(prefix=f".{name}.", dir=self.path)
        os.chmod(path, self.dir_mode)
        return path

    def read_meta(self, name: str) -> Meta | None:
        """The metadata, or ``None`` while ``start`` has not written it (or it is unreadable)."""
        try:
            with open(self.file(name, META), "rb") as handle:
                meta = _json().load(handle)
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) else None

    def write_meta(self, name: str, meta: Meta) -> None:
        write_json_atomic(self.file(name, META), meta)

    @contextlib.contextmanager
    def sandbox_lock(self, name: str, *, exclusive: bool) -> Iterator[int]:
        """The sandbox's lock, held while the block runs; yields its descriptor, which a child
        forked meanwhile holds too until it closes it. :class:`NotFound` when the sandbox's
        directory does not exist."""
        try:
            fd = os.open(self.file(name, LOCK), os.O_RDWR | os.O_CREAT, 0o600)
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(name) from None
        with _locked(fd, exclusive):
            yield fd

    def is_locked(self, name: str) -> bool:
        """Whether ``start`` or ``kill`` holds the sandbox's lock right now (``False`` once the
        directory is gone)."""
        try:
            fd = os.open(self.file(name, LOCK), os.O_RDWR)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    @contextlib.contextmanager
    def server_lock(self) -> Iterator[None]:
        """Serializes starting and stopping the tmux server of this home."""
        self.ensure()
        fd = os.open(os.path.join(self.path, SERVER_LOCK), os.O_RDWR | os.O_CREAT, 0o600)
        with _locked(fd, exclusive=True):
            yield

    def samples_path(self) -> str:
        return os.path.join(self.path, SAMPLES)


@contextlib.contextmanager
def _locked(fd: int, exclusive: bool) -> Iterator[None]:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        with contextlib.suppress(OSError):  # let go of early by whoever holds it
            os.close(fd)


def write_json_atomic(path: str, data: Any) -> None:
    """Write JSON through a temporary file and a rename, so readers never see half of it."""
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        with open(temporary, "w") as handle:
            handle.write(_json().dumps(data, separators=(",", ":")))  # dump() is pure Python
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def read_json(path: str, default: Any) -> Any:
    try:
        with open(path, "rb") as handle:
            return _json().load(handle)
    except (OSError, ValueError):
        return default


def running_meta(home: Home, name: str) -> Meta:
    """The metadata of the running sandbox ``name``, or :class:`NotFound` /
    :class:`NotRunning`."""
    meta = home.read_meta(name)
    if meta is None or "pid" not in meta:
        if not os.path.isdir(home.dir(name)):
            raise NotFound(name)
        raise NotRunning(name)
    if process_start(meta["pid"]) != meta.get("pid_start"):
        raise NotRunning(name)
    return meta


def _json() -> Any:
    """The json module, imported at first use: ``capture`` reads no JSON."""
    import json

    return json


def _rmtree(path: str) -> None:
    """Remove ``path`` and all it holds (shutil is imported only here: ``list`` and ``capture``
    never need it)."""
    import shutil

    shutil.rmtree(path, ignore_errors=True)
