"""A long-lived backend process that answers the read-only calls of a dashboard or a server.

Where the backend offers one (the built-in provider's private ``serve`` command), the adapter
keeps one helper process instead of starting a new program for every ``list`` and ``capture``:
the same answers (the bytes of standard output, the end of standard error and the exit status
the program itself gives for those arguments) at a fraction of the cost. The protocol is the
provider's (:mod:`wreckit_tui.sandbox.serve`): a JSON array of arguments per line, answered by a
line ``STATUS OUT_BYTES ERR_BYTES`` and the bytes.

The helper runs in a process group of its own, like every call (:mod:`wreckit_tui.processes`).
Calls go one at a time. A call that times out or is cancelled kills the helper's group (the next
call starts a new one) and fails as a call of the program would; a helper that cannot start,
dies or answers garbage is ``None`` to the caller, which then runs the program as usual. After
:data:`MAX_FAILURES` such failures in a row the helper is not started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess

from wreckit_tui.errors import WispBadOutput, WispError, WispTimeout
from wreckit_tui.orphans import ORPHANS, Call
from wreckit_tui.processes import STDERR_KEEP, Completed, launch

MAX_FAILURES = 3
READ_LIMIT = 1 << 16
"""Bytes read ahead of the caller, and the most an answer's first line may take."""


class Unavailable(Exception):
    """The helper could not answer: the caller runs the program itself."""


class Helper:
    """One long-lived helper process of a backend, started at its first call."""

    def __init__(self, argv: tuple[str, ...]) -> None:
        self.argv = argv
        self.failures = 0
        self.started = 0
        """How many helper processes were started: 1 while all goes well."""
        self._process: subprocess.Popen | None = None
        self._reader: asyncio.StreamReader | None = None
        self._transport: asyncio.ReadTransport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._call: Call | None = None
        self._lock: asyncio.Lock | None = None

    @property
    def usable(self) -> bool:
        return self.failures < MAX_FAILURES

    async def call(
        self, args: list[str], *, label: str, timeout: float, max_stdout: int
    ) -> Completed | None:
        """What the program would print and return for ``args``; ``None`` when the helper
        cannot say (the caller then runs the program). Past ``timeout`` (waiting for an
        earlier call included) :class:`WispTimeout`; more than ``max_stdout`` bytes of output
        :class:`WispBadOutput`."""
        if not self.usable:
            return None
        if self._loop is not asyncio.get_running_loop():
            self.close()  # its pipes belong to another event loop
            self._loop, self._lock = asyncio.get_running_loop(), asyncio.Lock()
        assert self._lock is not None
        try:
            async with asyncio.timeout(timeout), self._lock:
                done = await self._exchange(args, max_stdout, label)
        except TimeoutError:
            self.close()
            raise WispTimeout(label, timeout) from None
        except Unavailable:
            self.close()
            self.failures += 1
            return None
        except BaseException:  # cancelled, or over the cap: the pipe is mid-answer
            self.close()
            raise
        self.failures = 0
        return done

    async def _exchange(self, args: list[str], max_stdout: int, label: str) -> Completed:
        reader = await self._ensure_started()
        assert self._process is not None and self._process.stdin is not None
        try:
            self._process.stdin.write(json.dumps(args).encode() + b"\n")
            self._process.stdin.flush()
            header = await reader.readuntil(b"\n")
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            raise Unavailable(str(exc)) from None
        status, out_size, err_size = _parse_header(header)
        if out_size > max_stdout:
            raise WispBadOutput(f"`{label}` printed more than {max_stdout} bytes")
        try:
            out = await reader.readexactly(out_size)
            err = await reader.readexactly(err_size)
        except asyncio.IncompleteReadError as exc:
            raise Unavailable(str(exc)) from None
        stderr = err[-STDERR_KEEP:].decode("utf-8", errors="replace")
        return Completed(returncode=status, stdout=out, stderr=stderr)

    async def _ensure_started(self) -> asyncio.StreamReader:
        if self._reader is not None and self._process and self._process.poll() is None:
            return self._reader
        self.close()
        self._call = ORPHANS.begin()
        try:
            self._process = launch(
                list(self.argv),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                env=self._call.environment(),
            )
        except WispError as exc:
            raise Unavailable(exc.message) from None
        self.started += 1
        reader = asyncio.StreamReader(limit=READ_LIMIT)
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), self._process.stdout
        )
        self._reader = reader
        return reader

    def close(self) -> None:
        """End the helper (its whole group) and reap it; the next call starts a new one."""
        process, call, transport = self._process, self._call, self._transport
        self._process = self._reader = self._call = self._transport = None
        if process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            _close_pipes(process, transport)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=1)
        if call is not None:
            ORPHANS.end(call)


def _close_pipes(process: subprocess.Popen, transport: asyncio.ReadTransport | None) -> None:
    """Close both pipes; the read end through its transport while its event loop runs."""
    with contextlib.suppress(OSError):
        process.stdin and process.stdin.close()
    loop_open = transport is not None and not transport.get_extra_info("pipe").closed
    try:
        if transport is not None and loop_open:
            transport.close()
            return
    except RuntimeError:  # its event loop is closed
        pass
    with contextlib.suppress(OSError):
        process.stdout and process.stdout.close()


def _parse_header(line: bytes) -> tuple[int, int, int]:
    fields = line.split()
    if len(fields) != 3 or not all(field.lstrip(b"-").isdigit() for field in fields):
        raise Unavailable(f"not an answer: {line[:40]!r}")
    status, out_size, err_size = (int(field) for field in fields)
    if out_size < 0 or err_size < 0:
        raise Unavailable(f"not an answer: {line[:40]!r}")
    return status, out_size, err_size
