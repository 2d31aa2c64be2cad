"""Starts in flight, shared by every wreckit-tui process of one user for one backend.

``max_vms`` must hold across processes: two ``wreckit-tui start`` run at once, or a dashboard
and a script, must never pass the quota with the same free slot. So a start checks the fleet
and books its name in a small ledger file while it holds the file's lock; the booking lasts
until the start ends, and one whose process died is not counted. The ledgers live in the user
state directory, one per backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

from wreckit_tui.pids import process_start

LOCK_POLL_SECONDS = 0.01
Booking = dict[str, object]


def default_directory() -> Path:
    from platformdirs import user_state_path

    return user_state_path("wreckit-tui") / "starts"


class Ledger:
    """The starts in flight on the backend named by ``key`` (any text that tells backends
    apart), in ``directory``."""

    def __init__(self, key: str, directory: Path | None = None) -> None:
        self.directory = directory or default_directory()
        digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:24]
        self.path = self.directory / f"{digest}.json"

    @contextlib.asynccontextmanager
    async def booked(
        self, name: str, check: Callable[[frozenset[str]], Awaitable[None]]
    ) -> AsyncIterator[None]:
        """Under the ledger's lock, ``await check(names)`` with the names other starts hold
        (it raises to refuse), then hold ``name`` until the block ends."""
        booking: Booking = {"name": name, "pid": os.getpid(), "token": os.urandom(8).hex()}
        booking["started"] = process_start(os.getpid())
        async with self._locked():
            bookings = self._live()
            await check(frozenset(str(entry["name"]) for entry in bookings))
            self._write([*bookings, booking])
        try:
            yield
        finally:
            with self._locked_now():
                self._write([entry for entry in self._live() if entry["token"] != booking["token"]])

    @contextlib.asynccontextmanager
    async def _locked(self) -> AsyncIterator[None]:
        """The ledger's lock, waited for without holding up the event loop."""
        fd = self._open_lock()
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    await asyncio.sleep(LOCK_POLL_SECONDS)
            yield
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def _locked_now(self) -> Iterator[None]:
        """The ledger's lock, waited for here: the critical sections are a few file reads."""
        fd = self._open_lock()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _open_lock(self) -> int:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        return os.open(self.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)

    def _live(self) -> list[Booking]:
        """The bookings whose process still runs (a pid reused since does not count)."""
        try:
            entries = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return []
        if not isinstance(entries, list):
            return []
        return [
            entry
            for entry in entries
            if isinstance(entry, dict)
            and isinstance(entry.get("pid"), int)
            and entry.get("started") is not None
            and process_start(entry["pid"]) == entry.get("started")
        ]

    def _write(self, bookings: list[Booking]) -> None:
        temporary = self.path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(bookings))
        os.replace(temporary, self.path)
