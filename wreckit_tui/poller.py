"""When the dashboard polls: one poll at a time, every interval, and never while paused.

The poller only decides *when*; it runs polls and timers through a :class:`Scheduler`, which
a Textual app is, and :class:`LoopScheduler` is on a bare asyncio loop. It imports no Textual.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol


class Stoppable(Protocol):
    def stop(self) -> Any: ...


class Scheduler(Protocol):
    """What the poller needs of its host: timers, and work run in the background."""

    def set_timer(self, delay: float, callback: Callable[[], Any]) -> Stoppable: ...

    def run_worker(
        self, work: Callable[[], Awaitable[None]], *, group: str, exit_on_error: bool
    ) -> Any: ...


class _Handle:
    def __init__(self, handle: asyncio.TimerHandle) -> None:
        self._handle = handle

    def stop(self) -> None:
        self._handle.cancel()


class LoopScheduler:
    """A :class:`Scheduler` on the running asyncio loop, for polling without an app."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task] = set()

    def set_timer(self, delay: float, callback: Callable[[], Any]) -> _Handle:
        return _Handle(asyncio.get_running_loop().call_later(delay, callback))

    def run_worker(
        self, work: Callable[[], Awaitable[None]], *, group: str, exit_on_error: bool
    ) -> asyncio.Task:
        task = asyncio.ensure_future(work())
        self.tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        """Forget the task; its error, like a worker's with ``exit_on_error=False``, is dropped."""
        self.tasks.discard(task)
        if not task.cancelled():
            task.exception()


class Poller:
    """Runs ``poll`` in a worker of ``app`` (a :class:`Scheduler`): never two at once,
    ``interval`` seconds after the last one ended, none while paused. A poll asked for while one
    runs, or while paused, runs as soon as it may. ``started`` counts the polls started."""

    def __init__(
        self,
        app: Scheduler,
        poll: Callable[[], Awaitable[None]],
        interval: float,
        *,
        automatic: bool = True,
    ) -> None:
        self._app = app
        self._poll = poll
        self.interval = interval
        self.automatic = automatic
        self.running = False
        self.started = 0
        self._paused = True
        self._due = False
        self._timer: Stoppable | None = None
        self._last_end = 0.0

    def pause(self) -> None:
        """No poll starts until :meth:`resume`; one in flight finishes."""
        self._paused = True
        self._cancel_timer()

    def resume(self, *, now: bool = False) -> None:
        """Poll ``now`` (or if one was asked for meanwhile), else when the next one falls due."""
        self._paused = False
        if now or self._due:
            self.now()
        elif self.automatic and not self.running and self._timer is None:
            self._schedule(self.interval - (time.monotonic() - self._last_end))

    def now(self) -> None:
        """Poll at once, or as soon as the running poll ends or the pause is over."""
        if self.running or self._paused:
            self._due = True
            return
        self._cancel_timer()
        self._start()

    def _schedule(self, delay: float) -> None:
        self._cancel_timer()
        if delay <= 0:
            self._start()
        else:
            self._timer = self._app.set_timer(delay, self._start)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _start(self) -> None:
        self._timer = None
        if self.running or self._paused:
            return
        self.running, self._due = True, False
        self.started += 1
        # the method, not a coroutine: a worker the app never runs (it is quitting) leaves no
        # coroutine behind that was never awaited
        self._app.run_worker(self._run, group="poll", exit_on_error=False)

    async def _run(self) -> None:
        cancelled = False
        try:
            await self._poll()
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            self.running = False
            self._last_end = time.monotonic()
            if not cancelled:
                self._next()

    def _next(self) -> None:
        """Whatever happened in the poll, arm the next one."""
        if self._paused:
            return
        if self._due:
            self._start()
        elif self.automatic:
            self._schedule(self.interval)
