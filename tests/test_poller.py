"""When polls run: never two at once, one asked for during another runs after it, none while
paused. On a bare asyncio loop, so each test takes milliseconds."""

from __future__ import annotations

import asyncio

from wreckit_tui.poller import LoopScheduler, Poller


class Backend:
    """A poll that takes ``seconds`` and records how many ran at once."""

    def __init__(self, seconds: float = 0.0, fail: bool = False) -> None:
        self.seconds, self.fail = seconds, fail
        self.running = self.most = self.done = 0
        self.release = asyncio.Event()

    async def poll(self) -> None:
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(self.seconds)
            if self.fail:
                raise RuntimeError("backend bug")
        finally:
            self.running -= 1
            self.done += 1


async def settle(poller: Poller, scheduler: LoopScheduler) -> None:
    """Until no poll runs and none is about to start."""
    for _ in range(200):
        await asyncio.sleep(0.005)
        if not poller.running and not scheduler.tasks:
            return
    raise AssertionError("the polls never settled")


def manual(backend: Backend, interval: float = 60) -> tuple[Poller, LoopScheduler]:
    scheduler = LoopScheduler()
    return Poller(scheduler, backend.poll, interval, automatic=False), scheduler


async def test_polls_asked_for_during_a_poll_run_once_after_it_never_beside_it():
    backend = Backend(seconds=0.02)
    poller, scheduler = manual(backend)
    poller.resume(now=True)
    for _ in range(10):
        poller.now()
    await settle(poller, scheduler)
    assert backend.most == 1
    assert backend.done == poller.started == 2


async def test_no_poll_starts_while_paused_and_one_asked_for_runs_on_resume():
    backend = Backend()
    poller, scheduler = manual(backend)
    poller.now()  # paused from the start, as before the app mounts
    await settle(poller, scheduler)
    assert backend.done == 0
    poller.resume()
    await settle(poller, scheduler)
    assert backend.done == 1


async def test_pausing_lets_the_running_poll_end_and_starts_no_other():
    backend = Backend(seconds=0.02)
    poller, scheduler = manual(backend, interval=0.001)
    poller.automatic = True
    poller.resume(now=True)
    await asyncio.sleep(0.005)
    poller.pause()
    await settle(poller, scheduler)
    await asyncio.sleep(0.02)
    assert backend.done == poller.started == 1


async def test_automatic_polls_come_an_interval_after_the_last_ended():
    backend = Backend(seconds=0.01)
    scheduler = LoopScheduler()
    poller = Poller(scheduler, backend.poll, 0.03)
    poller.resume(now=True)
    await asyncio.sleep(0.2)
    poller.pause()
    await settle(poller, scheduler)
    # every 0.01 s poll is followed by 0.03 s of rest: about 5 in 0.2 s, never 20
    assert 2 <= backend.done <= 6
    assert backend.most == 1


async def test_a_poll_that_fails_does_not_stop_polling():
    backend = Backend(fail=True)
    scheduler = LoopScheduler()
    poller = Poller(scheduler, backend.poll, 0.01)
    poller.resume(now=True)
    await asyncio.sleep(0.08)
    poller.pause()
    await settle(poller, scheduler)
    assert backend.done >= 3
    assert not poller.running


async def test_resume_now_polls_at_once_however_recent_the_last_poll():
    backend = Backend()
    poller, scheduler = manual(backend)
    poller.resume(now=True)
    await settle(poller, scheduler)
    poller.pause()
    poller.resume(now=True)
    await settle(poller, scheduler)
    assert backend.done == 2
